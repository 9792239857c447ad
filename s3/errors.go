package s3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lambdahost/lambdahost"
)

// errTimeout is the cause with which Fetch cancels a request that S3 does
// not answer in time, telling it apart from the caller's cancellation.
var errTimeout = errors.New("s3 did not answer in time")

// getObjectFormat is the message AWS Lambda answers when GetObject fails.
const getObjectFormat = "Error occurred while GetObject. S3 Error Code: %s. S3 Error Message: %s"

// canonicalMessages are Amazon S3's messages for the codes that say the
// caller named something that does not exist. S3-compatible servers word
// them differently (versitygw ends NoSuchBucket's with a period, S3 does
// not); Fetch answers S3's text so that clients see AWS's message.
var canonicalMessages = map[string]string{
	"NoSuchBucket":  "The specified bucket does not exist",
	"NoSuchKey":     "The specified key does not exist.",
	"NoSuchVersion": "The specified version does not exist.",
}

// callerCodes are the S3 error codes that point at the caller's request
// rather than at lambdahost's configuration or S3's health. Fetch logs the
// others as warnings; see getObjectError.
var callerCodes = map[string]bool{
	"NoSuchBucket":      true,
	"NoSuchKey":         true,
	"NoSuchVersion":     true,
	"InvalidArgument":   true, // a malformed version ID
	"InvalidBucketName": true,
	"KeyTooLongError":   true,
}

// Unavailable S3: AWS documents no wording, so Fetch answers with S3's own
// code and message for a 503 Service Unavailable.
const (
	unavailableCode    = "ServiceUnavailable"
	unavailableMessage = "Service is unable to handle request."
)

// getObjectError turns GetObject's error into the error Fetch returns.
// parent is Fetch's context; ctx is the one the request ran under.
//
// Errors that come from lambdahost's side (wrong credentials, a server
// error, an unreachable endpoint) are logged as warnings here although they
// are also returned: they reach the caller as 400s, which the HTTP edge
// logs only at debug level, and the operator has to see them.
func (s *CodeSource) getObjectError(parent, ctx context.Context, loc lambdahost.CodeLocation, err error) error {
	op := "get " + objectURL(loc)
	if parent.Err() != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if errors.Is(context.Cause(ctx), errTimeout) {
		return s.unavailable(parent, loc, fmt.Errorf("%s: no response headers within %s: %w", op, s.timeout, err))
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg := ae.ErrorCode(), ae.ErrorMessage()
		if m, ok := canonicalMessages[code]; ok {
			msg = m
		}
		e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, getObjectFormat, code, msg)
		e.Err = fmt.Errorf("%s: %w", op, err)
		if !callerCodes[code] {
			status := 0
			var re *awshttp.ResponseError
			if errors.As(err, &re) {
				status = re.HTTPStatusCode()
			}
			s.logger.LogAttrs(parent, slog.LevelWarn, "S3 refused GetObject",
				slog.String(logKeyBucket, loc.S3Bucket), slog.String(logKeyKey, loc.S3Key),
				slog.Int("status", status), slog.String("s3_error_code", code),
				slog.Any(lambdahost.LogKeyError, err))
		}
		return e
	}
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		return s.unavailable(parent, loc, fmt.Errorf("%s: %w", op, err))
	}
	// Credentials that cannot be retrieved, a request that cannot be built:
	// lambdahost's fault, a ServiceException.
	return fmt.Errorf("%s: %w", op, err)
}

// readBodyError turns an error reading the object's body, after n bytes,
// into the error Fetch returns.
func (s *CodeSource) readBodyError(parent, ctx context.Context, loc lambdahost.CodeLocation, n int64, err error) error {
	op := fmt.Sprintf("read %s after %d bytes", objectURL(loc), n)
	if parent.Err() != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if errors.Is(context.Cause(ctx), errTimeout) {
		err = fmt.Errorf("nothing received for %s: %w", s.stall, err)
	}
	// A reset connection, a stall, a checksum that does not match: S3 failed
	// to deliver the object.
	return s.unavailable(parent, loc, fmt.Errorf("%s: %w", op, err))
}

// unavailable returns the API error for an S3 that cannot be reached or
// fails to deliver, with cause as its internal error, and logs cause.
func (s *CodeSource) unavailable(ctx context.Context, loc lambdahost.CodeLocation, cause error) error {
	s.logger.LogAttrs(ctx, slog.LevelWarn, "S3 unavailable",
		slog.String(logKeyBucket, loc.S3Bucket), slog.String(logKeyKey, loc.S3Key),
		slog.Any(lambdahost.LogKeyError, cause))
	e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, getObjectFormat, unavailableCode, unavailableMessage)
	e.Err = cause
	return e
}

// objectURL names the object at loc for error messages: s3://bucket/key,
// with ?versionId=... if loc names a version.
func objectURL(loc lambdahost.CodeLocation) string {
	u := url.URL{Scheme: "s3", Host: loc.S3Bucket, Path: "/" + loc.S3Key}
	if loc.S3ObjectVersion != "" {
		u.RawQuery = url.Values{"versionId": {loc.S3ObjectVersion}}.Encode()
	}
	return u.String()
}

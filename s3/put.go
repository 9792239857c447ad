package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lambdahost/lambdahost"
)

var _ lambdahost.ObjectStore = (*CodeSource)(nil)

// putObjectFormat words PutObject's refusals as Fetch words GetObject's.
const putObjectFormat = "Error occurred while PutObject. S3 Error Code: %s. S3 Error Message: %s"

// PutObject writes body (size bytes) as bucket/key, for AWS Signer's
// signing jobs. S3's refusals and an unreachable S3 are
// ValidationExceptions whose message carries S3's code and message, as
// Fetch's do; a cancelled ctx gives an error that is not a *lambdahost.Error.
func (s *CodeSource) PutObject(ctx context.Context, account, bucket, key string, body io.ReadSeeker, size int64) error {
	start := time.Now()
	_, err := s.s3Client(ctx).PutObject(ctx, &awss3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String("application/zip"),
	})
	if err != nil {
		return s.putObjectError(ctx, bucket, key, err)
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "put object to S3",
		slog.String(lambdahost.LogKeyAccount, account),
		slog.String(logKeyBucket, bucket), slog.String(logKeyKey, key),
		slog.Int64(logKeyBytes, size), slog.Duration(logKeyDuration, time.Since(start)))
	return nil
}

func (s *CodeSource) putObjectError(ctx context.Context, bucket, key string, err error) error {
	op := "put " + (&url.URL{Scheme: "s3", Host: bucket, Path: "/" + key}).String()
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	code, msg := "", ""
	var ae smithy.APIError
	var se *smithyhttp.RequestSendError
	switch {
	case errors.As(err, &ae):
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
		if m, ok := canonicalMessages[code]; ok {
			msg = m
		}
	case errors.As(err, &se):
		code, msg = unavailableCode, unavailableMessage
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
	if !callerCodes[code] {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "S3 refused PutObject",
			slog.String(logKeyBucket, bucket), slog.String(logKeyKey, key),
			slog.String("s3_error_code", code), slog.Any(lambdahost.LogKeyError, err))
	}
	e := lambdahost.Errorf(lambdahost.ValidationException, putObjectFormat, code, msg)
	e.Err = fmt.Errorf("%s: %w", op, err)
	return e
}

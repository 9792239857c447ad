package sigv4

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Kind is the AWS error type of a verification failure, sent in
// X-Amzn-ErrorType. The names are spelled exactly as AWS spells them; the
// HTTP layer maps each to its status (403 for all of them).
type Kind string

// The kinds of verification failure.
const (
	// MissingAuthenticationTokenException means the request carries no
	// Authorization header and no presigned query string.
	MissingAuthenticationTokenException Kind = "MissingAuthenticationTokenException"
	// IncompleteSignatureException means the Authorization header or the
	// presigned query string is malformed or lacks a required part.
	IncompleteSignatureException Kind = "IncompleteSignatureException"
	// InvalidSignatureException means the signature is well formed but
	// wrong: it does not match, it has expired, or its scope is wrong.
	InvalidSignatureException Kind = "InvalidSignatureException"
	// UnrecognizedClientException means the access key is not known, or
	// its session token is not valid with it.
	UnrecognizedClientException Kind = "UnrecognizedClientException"
	// ExpiredTokenException means temporary credentials have expired.
	ExpiredTokenException Kind = "ExpiredTokenException"
)

// ErrTokenExpired is what Verifier.LookupSession returns, wrapped, for
// temporary credentials past their expiry.
var ErrTokenExpired = errors.New("session token expired")

// Error is a verification failure. Message is safe to send to the caller
// and, like Code, is wire API: it reproduces AWS's wording, so clients and
// scripts that match on it keep working. Due to Hyrum's law, this text
// cannot be changed.
type Error struct {
	Code    Kind
	Message string
}

// Error returns the code and the message.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Messages with no parameters. Most are AWS's words, found in AWS answers
// quoted in SDK and tool issue trackers; the comment says where a message
// is lambdahost's own or borrowed from another service.
const (
	// MessageMissingAuthenticationToken is what AWS Lambda answers to a
	// request with no Authorization header.
	MessageMissingAuthenticationToken = "Missing Authentication Token"
	// MessageUnrecognizedClient is the message for an unknown access key.
	MessageUnrecognizedClient = "The security token included in the request is invalid."
	// MessageExpiredToken is the message for expired temporary credentials.
	MessageExpiredToken = "The security token included in the request is expired"
	// MessageSignatureMismatch is the message for a signature that does not
	// match the request, including a body whose hash does not match
	// X-Amz-Content-Sha256.
	MessageSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	// MessageHostNotSigned is the message when SignedHeaders lacks host.
	MessageHostNotSigned = "'Host' must be a 'SignedHeader' in the AWS Authorization."
	// MessageDateNotSigned is the message when the X-Amz-Date header is used
	// but not listed in SignedHeaders. The wording is lambdahost's, after
	// MessageHostNotSigned.
	MessageDateNotSigned = "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."
	// MessageHTTPDateNotSigned is the message when the Date header is used
	// but not listed in SignedHeaders. The wording is lambdahost's.
	MessageHTTPDateNotSigned = "'Date' must be a 'SignedHeader' in the AWS Authorization."
	// MessageBothAuthorizations is the message for a request that carries
	// both an Authorization header and a presigned query string.
	MessageBothAuthorizations = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
	// MessageStreamingUnsupported is the message for a chunked
	// (STREAMING-*) payload signature, which lambdahost does not support.
	// The wording is lambdahost's; Lambda clients never send one.
	MessageStreamingUnsupported = "Streaming payload signing (X-Amz-Content-Sha256: STREAMING-*) is not supported; sign the whole payload."
	// MessagePresignExpired is the message for a presigned URL used after
	// its X-Amz-Expires lifetime, as S3 words it.
	MessagePresignExpired = "Request has expired"
	// MessageExpiresTooLarge is the message for an X-Amz-Expires beyond
	// the seven days AWS allows, as S3 words it.
	MessageExpiresTooLarge = "X-Amz-Expires must be less than a week (in seconds) that is 604800"
	// MessageExpiresNotNumber is the message for an X-Amz-Expires that is
	// not a non-negative integer, as S3 words it.
	MessageExpiresNotNumber = "X-Amz-Expires should be a number"
)

// Parts of messages that take parameters, as AWS words them (the
// duplicate-parameter one is lambdahost's). Each is a fmt format.
const (
	fmtRequiresParameter  = "Authorization header requires '%s' parameter. "
	fmtRequiresDate       = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
	fmtAuthorizationEcho  = "Authorization=%s"
	fmtQueryRequires      = "AWS query-string parameters must include '%s'. "
	fmtQueryReexamine     = "Re-examine the query-string parameters."
	fmtMissingEqualSign   = "'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'."
	fmtDuplicateParameter = "Authorization header has duplicate '%s' parameter: '%s'."
	fmtUnsupportedAlg     = "Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now)."
	fmtBadDate            = "Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601"
	fmtCredentialElements = "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'"
	fmtScopeRegion        = "Credential should be scoped to a valid region, not '%s'."
	fmtScopeService       = "Credential should be scoped to correct service: '%s'."
	fmtScopeTerminator    = "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'."
	fmtScopeDate          = "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'."
	fmtExpired            = "Signature expired: %s is now earlier than %s (%s - %s min.)"
	fmtNotYetCurrent      = "Signature not yet current: %s is still later than %s (%s + %s min.)"
)

func errorf(code Kind, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// skewError returns the InvalidSignatureException AWS sends for a request
// dated outside now±skew, or nil if date is inside the window.
func skewError(date, now time.Time, skew time.Duration) *Error {
	minutes := strconv.FormatFloat(skew.Minutes(), 'f', -1, 64)
	switch {
	case date.Before(now.Add(-skew)):
		return errorf(InvalidSignatureException, fmtExpired,
			date.Format(amzDateLayout), now.Add(-skew).Format(amzDateLayout), now.Format(amzDateLayout), minutes)
	case date.After(now.Add(skew)):
		return errorf(InvalidSignatureException, fmtNotYetCurrent,
			date.Format(amzDateLayout), now.Add(skew).Format(amzDateLayout), now.Format(amzDateLayout), minutes)
	}
	return nil
}

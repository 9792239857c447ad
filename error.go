package lambdahost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrorType is an AWS Lambda error type name, sent in X-Amzn-ErrorType.
type ErrorType string

// The error types lambdahost answers. Names are spelled exactly as AWS does.
const (
	ResourceNotFoundException          ErrorType = "ResourceNotFoundException"
	ResourceConflictException          ErrorType = "ResourceConflictException"
	InvalidParameterValueException     ErrorType = "InvalidParameterValueException"
	InvalidRequestContentException     ErrorType = "InvalidRequestContentException"
	ValidationException                ErrorType = "ValidationException"
	PreconditionFailedException        ErrorType = "PreconditionFailedException"
	RequestEntityTooLargeException     ErrorType = "RequestEntityTooLargeException"
	UnsupportedMediaTypeException      ErrorType = "UnsupportedMediaTypeException"
	TooManyRequestsException           ErrorType = "TooManyRequestsException"
	CodeStorageExceededException       ErrorType = "CodeStorageExceededException"
	CodeVerificationFailedException    ErrorType = "CodeVerificationFailedException"
	InvalidCodeSignatureException      ErrorType = "InvalidCodeSignatureException"
	CodeSigningConfigNotFoundException ErrorType = "CodeSigningConfigNotFoundException"
	InvalidSignatureException          ErrorType = "InvalidSignatureException"
	UnrecognizedClientException        ErrorType = "UnrecognizedClientException"
	MissingAuthenticationToken         ErrorType = "MissingAuthenticationTokenException"
	IncompleteSignatureException       ErrorType = "IncompleteSignatureException"
	// ExpiredTokenException refuses temporary credentials past their
	// expiry (403, as AWS's front door answers it).
	ExpiredTokenException     ErrorType = "ExpiredTokenException"
	AccessDeniedException     ErrorType = "AccessDeniedException"
	UnknownOperationException ErrorType = "UnknownOperationException"
	ServiceException          ErrorType = "ServiceException"
	RequestTooLargeException  ErrorType = "RequestTooLargeException"
	InvalidRuntimeException   ErrorType = "InvalidRuntimeException"
	InvalidZipFileException   ErrorType = "InvalidZipFileException"
	ResourceNotReadyException ErrorType = "ResourceNotReadyException"
	// ProvisionedConcurrencyConfigNotFoundException is GetProvisionedConcurrencyConfig's
	// answer for a version or alias without a config (404, "message").
	ProvisionedConcurrencyConfigNotFoundException ErrorType = "ProvisionedConcurrencyConfigNotFoundException"
	// ResourceInUseException refuses a change to an event source mapping
	// that is being created, updated or deleted (400, "Message").
	ResourceInUseException ErrorType = "ResourceInUseException"
	// RecursiveInvocationException stops an invocation that is part of a
	// recursive loop (400, "Message").
	RecursiveInvocationException ErrorType = "RecursiveInvocationException"
	// PolicyLengthExceededException refuses an AddPermission that would
	// make a resource-based policy larger than AWS's 20480 bytes.
	PolicyLengthExceededException ErrorType = "PolicyLengthExceededException"
	// CodeArtifactUserPendingException is what Invoke answers for an
	// Inactive function while Lambda readies it again (409 in the model
	// aws-sdk-go-v2 ships; its member is "message").
	CodeArtifactUserPendingException ErrorType = "CodeArtifactUserPendingException"
	// Invoke's errors for code whose KMS key cannot be used (502, "Message").
	KMSDisabledException     ErrorType = "KMSDisabledException"
	KMSNotFoundException     ErrorType = "KMSNotFoundException"
	KMSAccessDeniedException ErrorType = "KMSAccessDeniedException"
	KMSInvalidStateException ErrorType = "KMSInvalidStateException"
	// The local key service's (KMS) errors, answered in JSON 1.1 with 400.
	NotFoundException             ErrorType = "NotFoundException"
	DisabledException             ErrorType = "DisabledException"
	InvalidArnException           ErrorType = "InvalidArnException"
	InvalidMarkerException        ErrorType = "InvalidMarkerException"
	KMSInternalException          ErrorType = "KMSInternalException"
	SerializationException        ErrorType = "SerializationException"
	UnsupportedOperationException ErrorType = "UnsupportedOperationException"
	// AWS Signer's errors besides the shared ones (ValidationException,
	// ResourceNotFoundException, AccessDeniedException, TooManyRequestsException).
	ConflictException             ErrorType = "ConflictException"
	InternalServiceErrorException ErrorType = "InternalServiceErrorException"
	// CloudWatch Logs' errors besides the shared ones, answered in JSON
	// 1.1 with 400.
	InvalidParameterException      ErrorType = "InvalidParameterException"
	ResourceAlreadyExistsException ErrorType = "ResourceAlreadyExistsException"
	LimitExceededException         ErrorType = "LimitExceededException"
	InvalidOperationException      ErrorType = "InvalidOperationException"
	ServiceUnavailableException    ErrorType = "ServiceUnavailableException"
)

// statusByType is the one table of HTTP statuses, as the Lambda API
// reference lists them for each error.
var statusByType = map[ErrorType]int{
	ResourceNotFoundException:                     http.StatusNotFound,
	ResourceConflictException:                     http.StatusConflict,
	InvalidParameterValueException:                http.StatusBadRequest,
	InvalidRequestContentException:                http.StatusBadRequest,
	ValidationException:                           http.StatusBadRequest,
	PreconditionFailedException:                   http.StatusPreconditionFailed,
	RequestEntityTooLargeException:                http.StatusRequestEntityTooLarge,
	UnsupportedMediaTypeException:                 http.StatusUnsupportedMediaType,
	TooManyRequestsException:                      http.StatusTooManyRequests,
	CodeStorageExceededException:                  http.StatusBadRequest,
	CodeVerificationFailedException:               http.StatusBadRequest,
	InvalidCodeSignatureException:                 http.StatusBadRequest,
	CodeSigningConfigNotFoundException:            http.StatusNotFound,
	InvalidSignatureException:                     http.StatusForbidden,
	UnrecognizedClientException:                   http.StatusForbidden,
	MissingAuthenticationToken:                    http.StatusForbidden,
	IncompleteSignatureException:                  http.StatusForbidden,
	ExpiredTokenException:                         http.StatusForbidden,
	AccessDeniedException:                         http.StatusForbidden,
	UnknownOperationException:                     http.StatusNotFound,
	ServiceException:                              http.StatusInternalServerError,
	RequestTooLargeException:                      http.StatusRequestEntityTooLarge,
	InvalidRuntimeException:                       http.StatusBadGateway,
	InvalidZipFileException:                       http.StatusBadGateway,
	ResourceNotReadyException:                     http.StatusBadGateway,
	ProvisionedConcurrencyConfigNotFoundException: http.StatusNotFound,
	ResourceInUseException:                        http.StatusBadRequest,
	RecursiveInvocationException:                  http.StatusBadRequest,
	PolicyLengthExceededException:                 http.StatusBadRequest,
	CodeArtifactUserPendingException:              http.StatusConflict,
	KMSDisabledException:                          http.StatusBadGateway,
	KMSNotFoundException:                          http.StatusBadGateway,
	KMSAccessDeniedException:                      http.StatusBadGateway,
	KMSInvalidStateException:                      http.StatusBadGateway,
	NotFoundException:                             http.StatusBadRequest,
	DisabledException:                             http.StatusBadRequest,
	InvalidArnException:                           http.StatusBadRequest,
	InvalidMarkerException:                        http.StatusBadRequest,
	KMSInternalException:                          http.StatusInternalServerError,
	SerializationException:                        http.StatusBadRequest,
	UnsupportedOperationException:                 http.StatusBadRequest,
	ConflictException:                             http.StatusConflict,
	InternalServiceErrorException:                 http.StatusInternalServerError,
	InvalidParameterException:                     http.StatusBadRequest,
	ResourceAlreadyExistsException:                http.StatusBadRequest,
	LimitExceededException:                        http.StatusBadRequest,
	InvalidOperationException:                     http.StatusBadRequest,
	ServiceUnavailableException:                   http.StatusServiceUnavailable,
}

// Status returns the HTTP status AWS sends with errors of type t,
// or 500 for a type lambdahost does not know.
func (t ErrorType) Status() int {
	if s, ok := statusByType[t]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is an API error whose Message is safe to send to the caller.
// Err is the internal cause: it is logged, never sent.
type Error struct {
	Type    ErrorType
	Status  int
	Message string
	// Reason is the ThrottleReason of a TooManyRequestsException.
	Reason string
	// RetryAfter, in seconds, is sent in the Retry-After header if not zero.
	RetryAfter int
	// NoType leaves out Lambda's "Type" member, as AWS does for a few
	// errors (the concurrency limits' InvalidParameterValueExceptions).
	NoType bool
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Type) + ": " + e.Message + ": " + e.Err.Error()
	}
	return string(e.Type) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of type t whose Status comes from the status table.
func Errorf(t ErrorType, format string, args ...any) *Error {
	return &Error{Type: t, Status: t.Status(), Message: fmt.Sprintf(format, args...)}
}

// ErrorTypeOf returns the API error type of err, or "" if err is not an *Error.
func ErrorTypeOf(err error) ErrorType {
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}

// Internal returns err unchanged if it is an API error (or a cancellation),
// and otherwise a ServiceException whose cause, named after op, is only
// logged: how a service reports a failure the caller cannot act on.
func Internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr *Error
	if errors.As(err, &apiErr) || errors.Is(err, context.Canceled) {
		return err
	}
	e := Errorf(ServiceException, "An internal error occurred.")
	e.Err = fmt.Errorf("%s: %w", op, err)
	return e
}

// AccessDenied is AWS's answer to caller c naming another account's
// resource, which no resource-based policy lets it use.
func AccessDenied(c Caller, resource string) *Error {
	return Errorf(AccessDeniedException,
		"User: %s is not authorized to perform this action on resource: %s because no resource-based policy allows it",
		c.PrincipalARN(), resource)
}

// Sentinels that adapters wrap; control/ turns them into API errors.
var (
	// ErrNotFound means the function, version or alias does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a record with the same key already exists.
	ErrExists = errors.New("already exists")
	// ErrConflict means a compare-and-swap lost: the record changed since it was read.
	ErrConflict = errors.New("revision conflict")
	// ErrExpired means a stream's shard iterator expired: get another.
	ErrExpired = errors.New("expired")
	// ErrBlobNotFound means the code store has no blob with that digest.
	ErrBlobNotFound = errors.New("blob not found")
)

// Validation collects failures of the model's constraints and turns them
// into AWS's "N validation error(s) detected: ..." message.
type Validation struct {
	msgs []string
	// Type is the error type to answer; ValidationException if empty.
	Type ErrorType
}

// Add records that value at member failed constraint.
// value is printed as AWS prints it: quoted unless it is the literal null;
// an empty value is left out, as AWS does for sensitive members.
func (v *Validation) Add(member, value, constraint string) {
	if value == "" {
		// Sensitive members (environment variables) are not printed.
		v.msgs = append(v.msgs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", member, constraint))
		return
	}
	v.msgs = append(v.msgs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", value, member, constraint))
}

// Failed reports whether any constraint failed.
func (v *Validation) Failed() bool { return len(v.msgs) > 0 }

// Err returns the collected failures as one API error, or nil.
func (v *Validation) Err() error {
	if len(v.msgs) == 0 {
		return nil
	}
	t := v.Type
	if t == "" {
		t = ValidationException
	}
	noun := "error"
	if len(v.msgs) > 1 {
		noun = "errors"
	}
	return Errorf(t, "%d validation %s detected: %s", len(v.msgs), noun, strings.Join(v.msgs, "; "))
}

// Quote formats a string value as AWS's validation messages print it.
func Quote(s string) string { return "'" + s + "'" }

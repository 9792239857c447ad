package lambdahost_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/lambdahost/lambdahost"
)

// TestErrorStatus pins every error type's HTTP status to the Lambda API
// reference; an error type without a status would answer 500.
func TestErrorStatus(t *testing.T) {
	tests := []struct {
		typ  lambdahost.ErrorType
		want int
	}{
		{lambdahost.ResourceNotFoundException, http.StatusNotFound},
		{lambdahost.ResourceConflictException, http.StatusConflict},
		{lambdahost.InvalidParameterValueException, http.StatusBadRequest},
		{lambdahost.InvalidRequestContentException, http.StatusBadRequest},
		{lambdahost.ValidationException, http.StatusBadRequest},
		{lambdahost.PreconditionFailedException, http.StatusPreconditionFailed},
		{lambdahost.RequestEntityTooLargeException, http.StatusRequestEntityTooLarge},
		{lambdahost.UnsupportedMediaTypeException, http.StatusUnsupportedMediaType},
		{lambdahost.TooManyRequestsException, http.StatusTooManyRequests},
		{lambdahost.CodeStorageExceededException, http.StatusBadRequest},
		{lambdahost.CodeVerificationFailedException, http.StatusBadRequest},
		{lambdahost.InvalidCodeSignatureException, http.StatusBadRequest},
		{lambdahost.CodeSigningConfigNotFoundException, http.StatusNotFound},
		{lambdahost.InvalidSignatureException, http.StatusForbidden},
		{lambdahost.UnrecognizedClientException, http.StatusForbidden},
		{lambdahost.MissingAuthenticationToken, http.StatusForbidden},
		{lambdahost.IncompleteSignatureException, http.StatusForbidden},
		{lambdahost.AccessDeniedException, http.StatusForbidden},
		{lambdahost.UnknownOperationException, http.StatusNotFound},
		{lambdahost.ServiceException, http.StatusInternalServerError},
		{lambdahost.CodeArtifactUserPendingException, http.StatusConflict},
		{lambdahost.PolicyLengthExceededException, http.StatusBadRequest},
		{lambdahost.KMSDisabledException, http.StatusBadGateway},
		{lambdahost.KMSNotFoundException, http.StatusBadGateway},
		{lambdahost.KMSAccessDeniedException, http.StatusBadGateway},
		{lambdahost.KMSInvalidStateException, http.StatusBadGateway},
		{lambdahost.NotFoundException, http.StatusBadRequest},
		{lambdahost.DisabledException, http.StatusBadRequest},
		{lambdahost.InvalidArnException, http.StatusBadRequest},
		{lambdahost.InvalidMarkerException, http.StatusBadRequest},
		{lambdahost.KMSInternalException, http.StatusInternalServerError},
		{lambdahost.SerializationException, http.StatusBadRequest},
		{lambdahost.UnsupportedOperationException, http.StatusBadRequest},
		{lambdahost.ConflictException, http.StatusConflict},
		{lambdahost.InternalServiceErrorException, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			if got := tt.typ.Status(); got != tt.want {
				t.Errorf("Status() = %d, want %d", got, tt.want)
			}
			if got := lambdahost.Errorf(tt.typ, "x").Status; got != tt.want {
				t.Errorf("Errorf().Status = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestErrorWrapping(t *testing.T) {
	cause := errors.New("disk on fire")
	e := lambdahost.Errorf(lambdahost.ServiceException, "An internal error occurred.")
	e.Err = cause
	if !errors.Is(e, cause) {
		t.Error("errors.Is does not find the cause")
	}
	if got := lambdahost.ErrorTypeOf(wrap{e}); got != lambdahost.ServiceException {
		t.Errorf("ErrorTypeOf(wrapped) = %q", got)
	}
}

type wrap struct{ error }

func (w wrap) Unwrap() error { return w.error }

func TestValidationMessages(t *testing.T) {
	var v lambdahost.Validation
	if v.Err() != nil {
		t.Fatal("empty validation has an error")
	}
	v.Add("timeout", "'0'", "Member must have value greater than or equal to 1")
	v.Add("environment.variables", "", "Map keys must satisfy constraint: [x]")
	err := v.Err()
	want := "2 validation errors detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1; Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [x]"
	var e *lambdahost.Error
	if !errors.As(err, &e) || e.Message != want || e.Type != lambdahost.ValidationException {
		t.Errorf("got %v\nwant ValidationException: %s", err, want)
	}
}

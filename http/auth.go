package http

import (
	"context"
	"net/http"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
)

// authed wraps h so that it runs only for a request whose signature
// verifies. The body is read (up to awsapi.DefaultMaxBody, 6 MB: Invoke's
// payload is the largest body besides code) and verified before h runs; h
// finds the caller in the request context.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return s.auth.Buffered(h)
}

// streamed wraps h for operations whose body carries code: the body is
// verified as h reads it, and h must call verifiedContext after reading
// the whole body and before acting on the request. Past MaxCodeUploads
// such requests at once, it answers TooManyRequestsException.
func (s *Server) streamed(h http.HandlerFunc) http.HandlerFunc {
	return s.auth.Streamed(func(w http.ResponseWriter, r *http.Request) {
		release, err := s.acquireUpload()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer release()
		h(w, r)
	})
}

// verifiedContext returns r's context with its verified caller, or the
// authentication error. It is only valid after r.Body has been read to EOF.
func verifiedContext(r *http.Request) (context.Context, error) {
	return awsapi.VerifiedContext(r)
}

// tooLarge is the answer to a body over limit bytes. Invoke answers with
// its own error type and names itself InvokeFunction, as AWS does.
func tooLarge(r *http.Request, limit int) error {
	switch op := operationOf(r); op {
	case "Invoke", "InvokeWithResponseStream":
		return lambdahost.Errorf(lambdahost.RequestTooLargeException, "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	default:
		return lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Request must be smaller than %d bytes for the %s operation", limit, op)
	}
}

// bodyBytes returns the body authed read for r.
func bodyBytes(r *http.Request) []byte { return awsapi.Body(r) }

package sts

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/sigv4"
)

// Server serves STS's API on lambdahost's listener: the query protocol,
// POST / with a form body (or GET / with an Action parameter), signed for
// the service "sts". It shares that shape with every query protocol
// service; the router tells them apart by the credential scope.
type Server struct {
	authed http.HandlerFunc

	// Logger receives request logs. If nil, slog.Default is used.
	Logger *slog.Logger
	// NewRequestID returns a request ID. If nil, a random UUID is used.
	NewRequestID func() string
}

// NewServer returns a Server authenticating with verifier, whose
// LookupSession should know the sessions a Service issues, so that an
// execution environment's credentials answer as its role.
func NewServer(verifier *sigv4.Verifier) *Server {
	s := &Server{}
	auth := &awsapi.Auth{Verifier: verifier, Service: "sts", WriteError: s.writeError, TooLarge: tooLarge}
	s.authed = auth.Buffered(s.dispatch)
	return s
}

// SigningName is "sts".
func (s *Server) SigningName() string { return "sts" }

// Serves reports whether r has the shape of a query protocol request.
func (s *Server) Serves(r *http.Request) bool { return awsapi.IsQuery(r) }

// ServeHTTP authenticates r, then answers its action.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = awsapi.StartRequest(w, r, s.NewRequestID)
	// The action of a form body is known only once the body is verified.
	s.authed(w, awsapi.WithOperation(r, r.URL.Query().Get("Action")))
}

// dispatch answers an authenticated request.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if err := handle(w, r, awsapi.Body(r)); err != nil {
		s.writeError(w, r, err)
	}
}

// tooLarge answers a body over the bound, which no STS request comes near.
func tooLarge(_ *http.Request, limit int) error {
	return errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request must be smaller than %d bytes", limit)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// frontDoor maps the error types of lambdahost's signature check to the
// codes and statuses STS answers them with.
var frontDoor = map[lambdahost.ErrorType]struct {
	code   string
	status int
}{
	lambdahost.InvalidSignatureException:    {"SignatureDoesNotMatch", http.StatusForbidden},
	lambdahost.UnrecognizedClientException:  {"InvalidClientTokenId", http.StatusForbidden},
	lambdahost.MissingAuthenticationToken:   {"MissingAuthenticationToken", http.StatusForbidden},
	lambdahost.IncompleteSignatureException: {"IncompleteSignature", http.StatusBadRequest},
	lambdahost.ExpiredTokenException:        {"ExpiredToken", http.StatusBadRequest},
}

// writeError is the one writer of STS's errors: the query protocol's XML
// ErrorResponse, with the signature check's errors named as STS names
// them and its internal error InternalFailure.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *lambdahost.Error
	if errors.As(err, &apiErr) {
		if c, ok := frontDoor[apiErr.Type]; ok {
			e := *apiErr
			e.Type, e.Status = lambdahost.ErrorType(c.code), c.status
			err = &e
		}
	}
	awsapi.Query{Logger: s.logger(), Namespace: xmlNamespace, Internal: "InternalFailure"}.WriteError(w, r, err)
}

package http

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/sigv4"
)

// Server is the Lambda API as an http.Handler, and the Router's home
// Service.
//
// It depends on control.Service directly rather than on an interface in the
// root package: control's input types are the operation contract, and an
// interface restating them would have no second implementation.
type Server struct {
	service *control.Service
	blobs   lambdahost.BlobStore
	auth    *awsapi.Auth
	mux     *http.ServeMux
	// routeByPattern holds what handle registered on each mux pattern.
	routeByPattern map[string]*route

	// URLKey signs the code download URLs GetFunction answers. It must be
	// set before serving; it should persist across restarts.
	URLKey []byte
	// URLTTL is how long a code download URL stays valid. If zero, 10 minutes.
	URLTTL time.Duration
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
	// NewRequestID returns a request ID. If nil, a random UUID is used.
	NewRequestID func() string
	// Logger receives request logs. If nil, slog.Default is used.
	Logger *slog.Logger
	// MaxCodeUploads bounds the requests carrying code (CreateFunction,
	// UpdateFunctionCode) handled at once; each holds a staged file and a
	// core's worth of hashing. Past it, callers get TooManyRequestsException
	// with Retry-After, which the AWS SDKs retry with backoff. If zero,
	// DefaultMaxCodeUploads.
	MaxCodeUploads int
	// Invoker runs Invoke and InvokeWithResponseStream. If nil, they
	// answer ServiceException.
	Invoker Invoker

	uploadsOnce sync.Once
	uploads     chan struct{}
}

// DefaultMaxCodeUploads is the default of Server.MaxCodeUploads.
const DefaultMaxCodeUploads = 32

// acquireUpload takes an upload slot, or answers the throttling error.
func (s *Server) acquireUpload() (release func(), err error) {
	s.uploadsOnce.Do(func() {
		n := s.MaxCodeUploads
		if n <= 0 {
			n = DefaultMaxCodeUploads
		}
		s.uploads = make(chan struct{}, n)
	})
	select {
	case s.uploads <- struct{}{}:
		return func() { <-s.uploads }, nil
	default:
		e := lambdahost.Errorf(lambdahost.TooManyRequestsException, "Rate exceeded")
		e.Reason = "CallerRateLimitExceeded"
		e.RetryAfter = 1
		return nil, e
	}
}

// NewServer returns a Server for service, storing code in blobs and
// authenticating with verifier.
func NewServer(service *control.Service, blobs lambdahost.BlobStore, verifier *sigv4.Verifier) *Server {
	s := &Server{service: service, blobs: blobs, mux: http.NewServeMux()}
	s.auth = &awsapi.Auth{Verifier: verifier, Service: "lambda", WriteError: s.writeError, TooLarge: tooLarge}
	s.routes()
	return s
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// SigningName is "lambda", the Lambda API's signing name.
func (s *Server) SigningName() string { return "lambda" }

// Serves reports whether r is a Lambda API operation (or a code download
// URL): a request that routes.go registers; or a request to a function
// URL (urlserve.go).
func (s *Server) Serves(r *http.Request) bool {
	if isFunctionURL(r) {
		// A function URL's traffic, whatever its path or signature.
		return true
	}
	_, pattern := s.mux.Handler(withoutTrailingSlash(r))
	return pattern != "" && pattern != catchAll
}

// ServeHTTP gives every request an ID, then routes it. Requests addressed
// to a function URL (urlserve.go) are that URL's traffic, not API calls.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveFunctionURL(w, r) {
		return
	}
	s.mux.ServeHTTP(w, awsapi.StartRequest(w, withoutTrailingSlash(r), s.NewRequestID))
}

// withoutTrailingSlash returns r, or a copy of it without the trailing
// slash of its path. Older SDKs' models (botocore before 1.31, as in
// Debian 12) give some API operations one ("GET /2015-03-31/functions/"),
// which Lambda accepts: they are routed without it. The signature still
// covers the path as sent (sigv4 reads RequestURI). Function URL traffic
// keeps its path as sent.
func withoutTrailingSlash(r *http.Request) *http.Request {
	p := r.URL.Path
	if len(p) <= 1 || !strings.HasSuffix(p, "/") {
		return r
	}
	u := *r.URL
	u.Path = strings.TrimSuffix(p, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	c := *r
	c.URL = &u
	return &c
}

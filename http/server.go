package http

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/sigv4"
)

// Server is the Lambda API as an http.Handler.
//
// It depends on control.Service directly rather than on an interface in the
// root package: control's input types are the operation contract, and an
// interface restating them would have no second implementation.
type Server struct {
	service  *control.Service
	blobs    lambdahost.BlobStore
	verifier *sigv4.Verifier
	mux      *http.ServeMux

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
	s := &Server{service: service, blobs: blobs, verifier: verifier, mux: http.NewServeMux()}
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

func (s *Server) requestID() string {
	if s.NewRequestID != nil {
		return s.NewRequestID()
	}
	return lambdahost.NewID()
}

// ServeHTTP gives every request an ID, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := s.requestID()
	w.Header().Set("X-Amzn-Requestid", id)
	r = r.WithContext(lambdahost.WithRequestID(r.Context(), id))
	// Older SDKs' models (botocore before 1.31, as in Debian 12) give some
	// operations a trailing slash ("GET /2015-03-31/functions/"), which
	// Lambda accepts: route them without it. The signature still covers
	// the path as sent.
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		r.URL.Path = strings.TrimSuffix(p, "/")
		r.URL.RawPath = strings.TrimSuffix(r.URL.RawPath, "/")
	}
	s.mux.ServeHTTP(w, r)
}

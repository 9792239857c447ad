package http

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/sigv4"
)

// Service is one AWS service on lambdahost's listener: Lambda (Server),
// and the packages of the other services (kms.Server, signer.Server).
// A service authenticates its own requests (internal/awsapi.Auth) and
// answers their errors in its own protocol (awsapi.RESTJSON, JSON11 or
// Query). Its package implements Service without importing this one:
//
//	func (s *Server) SigningName() string         { return "logs" }
//	func (s *Server) Serves(r *http.Request) bool { return awsapi.IsJSONTarget(r, "Logs_20140328.") }
//
// and a query protocol service (STS) serves awsapi.IsQuery; a REST one
// (Signer) its path prefixes.
type Service interface {
	http.Handler
	// SigningName is the service that the SigV4 credential scopes of its
	// requests name: "lambda", "kms", "signer", "sts", "logs".
	SigningName() string
	// Serves reports whether r has the shape of one of the service's
	// requests, whoever signed it: one of its REST paths, its X-Amz-Target
	// prefix on "POST /" (JSON protocols), its form on "POST /" (query
	// protocol). It must not read the body.
	Serves(r *http.Request) bool
}

// Router serves several AWS services on one listener, as one endpoint
// URL serves them all for the aws CLI and the SDKs. It picks the service
// of a request in this order:
//
//  1. the service whose credential scope the request names, if it
//     Serves the request (several query protocol services all serve
//     "POST /": only the scope tells them apart);
//  2. otherwise the first service that Serves it, which refuses a
//     scope naming another service in its own protocol, as that
//     service's endpoint on AWS does;
//  3. otherwise the service the scope names, which answers an unknown
//     operation in its own protocol;
//  4. otherwise the home service (Lambda).
//
// Register services before serving; Router is not safe for concurrent
// Register and ServeHTTP.
type Router struct {
	home     Service
	services []Service
	mounts   []mount
	// Meter counts the requests each service answers, by operation and
	// status, with their latency. If nil, nothing is counted.
	Meter lambdahost.Meter
}

// mount is a handler of a path prefix that is no AWS service (see Mount).
type mount struct {
	prefix string
	h      http.Handler
}

// Mount serves the requests whose path starts with prefix, and that no
// service Serves, with h: lambdahost's own pages and endpoints that are no
// AWS API (the console, /metrics). A function URL addressed by its host
// is its function's traffic whatever its path, so it never reaches h. The
// prefixes must not be paths of a service.
func (rt *Router) Mount(prefix string, h http.Handler) {
	rt.mounts = append(rt.mounts, mount{prefix: prefix, h: h})
}

// NewRouter returns a Router whose home service is home: it answers
// requests that no service claims.
func NewRouter(home Service) *Router {
	return &Router{home: home, services: []Service{home}}
}

// Register adds service s. Adding a service to lambdahost is one call:
// router.Register(logs.NewServer(...)).
func (rt *Router) Register(s Service) { rt.services = append(rt.services, s) }

// Route returns the service that answers r.
func (rt *Router) Route(r *http.Request) Service {
	scope := sigv4.ScopedService(r)
	var first, scoped Service
	for _, s := range rt.services {
		named := scope != "" && s.SigningName() == scope
		if s.Serves(r) {
			if named {
				return s
			}
			if first == nil {
				first = s
			}
		}
		if named && scoped == nil {
			scoped = s
		}
	}
	switch {
	case first != nil:
		return first
	case scoped != nil:
		return scoped
	}
	return rt.home
}

// mounted returns the handler Mount gave r's path, if no service Serves r.
func (rt *Router) mounted(r *http.Request) http.Handler {
	for _, m := range rt.mounts {
		if !strings.HasPrefix(r.URL.Path, m.prefix) {
			continue
		}
		for _, s := range rt.services {
			if s.Serves(r) {
				return nil
			}
		}
		return m.h
	}
	return nil
}

// ServeHTTP hands r to the service that answers it, or to a mounted
// handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := rt.mounted(r); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	s := rt.Route(r)
	if rt.Meter == nil {
		s.ServeHTTP(w, r)
		return
	}
	began := time.Now()
	r, tr := awsapi.Track(r)
	sw := &statusWriter{ResponseWriter: w}
	s.ServeHTTP(sw, r)
	rt.Meter.APIRequest(s.SigningName(), tr.Operation, sw.status(), time.Since(began))
}

// statusWriter remembers the status a handler answered. It passes on
// what the http.ResponseWriter it wraps can do: Flush and ReadFrom, and
// the rest through Unwrap (for http.ResponseController).
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return io.Copy(w.ResponseWriter, r)
}

func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the status answered; a handler that wrote nothing answered
// 200.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

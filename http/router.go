package http

import (
	"net/http"

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

// ServeHTTP hands r to the service that answers it.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.Route(r).ServeHTTP(w, r)
}

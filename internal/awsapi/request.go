package awsapi

import (
	"context"
	"net"
	"net/http"

	"github.com/lambdahost/lambdahost"
)

// RequestIDHeader is the response header that carries a request's ID.
const RequestIDHeader = "X-Amzn-Requestid"

// StartRequest gives r the request ID newID returns (a random UUID if
// newID is nil): it is sent in the X-Amzn-Requestid header and found in
// the returned request's context by lambdahost.RequestIDFrom.
func StartRequest(w http.ResponseWriter, r *http.Request, newID func() string) *http.Request {
	id := ""
	if newID != nil {
		id = newID()
	} else {
		id = lambdahost.NewID()
	}
	w.Header().Set(RequestIDHeader, id)
	ctx := lambdahost.WithRequestID(r.Context(), id)
	ctx = lambdahost.WithClient(ctx, ClientOf(r))
	return r.WithContext(ctx)
}

// ClientOf returns where r came from: its peer's address and its
// User-Agent.
func ClientOf(r *http.Request) lambdahost.Client {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return lambdahost.Client{SourceIP: ip, UserAgent: r.Header.Get("User-Agent")}
}

// Tracked is what a request's handling tells whoever started it (see
// Track): the operation the service found it calls.
type Tracked struct {
	Operation string
}

type trackedKey struct{}

// Track returns r carrying a Tracked that WithOperation fills in, so that
// the router that hands r to a service can count it by operation.
func Track(r *http.Request) (*http.Request, *Tracked) {
	t := &Tracked{}
	return r.WithContext(context.WithValue(r.Context(), trackedKey{}, t)), t
}

type operationKey struct{}

// WithOperation returns r carrying the name of the AWS operation it calls,
// as AWS names it (CreateFunction, DescribeKey).
func WithOperation(r *http.Request, op string) *http.Request {
	if t, ok := r.Context().Value(trackedKey{}).(*Tracked); ok {
		t.Operation = op
	}
	return r.WithContext(context.WithValue(r.Context(), operationKey{}, op))
}

// Operation returns the operation name WithOperation gave r, or "".
func Operation(r *http.Request) string {
	op, _ := r.Context().Value(operationKey{}).(string)
	return op
}

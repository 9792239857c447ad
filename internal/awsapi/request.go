package awsapi

import (
	"context"
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
	return r.WithContext(lambdahost.WithRequestID(r.Context(), id))
}

type operationKey struct{}

// WithOperation returns r carrying the name of the AWS operation it calls,
// as AWS names it (CreateFunction, DescribeKey).
func WithOperation(r *http.Request, op string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), operationKey{}, op))
}

// Operation returns the operation name WithOperation gave r, or "".
func Operation(r *http.Request) string {
	op, _ := r.Context().Value(operationKey{}).(string)
	return op
}

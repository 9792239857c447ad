package awsapi

import (
	"net/http"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// DispatchJSON runs the operation of ops that r's X-Amz-Target names after
// prefix (a JSON protocol service's, see IsJSONTarget), with the body an
// Auth.Buffered handler read. A request of another shape, or naming an
// operation ops lacks, is answered UnknownOperationException through
// writeError.
func DispatchJSON(w http.ResponseWriter, r *http.Request, prefix string,
	ops map[string]func(w http.ResponseWriter, r *http.Request, body []byte),
	writeError func(w http.ResponseWriter, r *http.Request, err error)) {
	target := r.Header.Get("X-Amz-Target")
	h := ops[strings.TrimPrefix(target, prefix)]
	if h == nil || !IsJSONTarget(r, prefix) {
		unknown := target
		if target == "" {
			unknown = r.Method + " " + r.URL.EscapedPath()
		}
		writeError(w, r, lambdahost.Errorf(lambdahost.UnknownOperationException, "Unknown operation %s", unknown))
		return
	}
	h(w, r, Body(r))
}

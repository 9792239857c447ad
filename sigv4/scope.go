package sigv4

import (
	"net/http"
	"net/url"
	"strings"
)

// Scope returns the service and region that r's credential scope names,
// from its Authorization header or, failing that, the X-Amz-Credential of a
// presigned query string. It verifies nothing: it tells the HTTP layer
// which service a request was signed for, so that the request can be routed
// to that service, which verifies it. ok is false if r has no credential
// scope of five non-empty elements.
func Scope(r *http.Request) (service, region string, ok bool) {
	var credential string
	if h := r.Header.Get("Authorization"); strings.TrimSpace(h) != "" {
		a, err := parseAuthorization(h)
		if err != nil {
			return "", "", false
		}
		credential = a.Credential
	} else if q, err := url.ParseQuery(r.URL.RawQuery); err == nil {
		credential = q.Get("X-Amz-Credential")
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 {
		return "", "", false
	}
	for _, s := range scope {
		if s == "" {
			return "", "", false
		}
	}
	return scope[3], scope[2], true
}

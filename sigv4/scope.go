package sigv4

import (
	"net/http"
	"net/url"
	"strings"
)

// ScopedService returns the service that r's credential scope names (the
// fourth element of Credential in the Authorization header, or of a
// presigned URL's X-Amz-Credential), or "" if r carries no readable scope.
// It verifies nothing: a router uses it to pick the service whose
// Verifier then checks r, so a wrong or forged scope only picks which
// service refuses the request.
func ScopedService(r *http.Request) string {
	var credential string
	if h := r.Header.Get("Authorization"); strings.TrimSpace(h) != "" {
		a, err := parseAuthorization(h)
		if err != nil {
			return ""
		}
		credential = a.Credential
	} else {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return ""
		}
		credential = q.Get("X-Amz-Credential")
	}
	// AccessKey/Date/Region/Service/aws4_request, as Verifier.Start splits it.
	scope := strings.Split(strings.TrimRight(credential, "/"), "/")
	if len(scope) != 5 {
		return ""
	}
	return scope[3]
}

package awsapi

import (
	"mime"
	"net/http"
	"strings"
)

// The shapes of requests that services share "POST /" with, for their
// Serves methods (see http.Service). Neither reads the body.

// IsJSONTarget reports whether r is an AWS JSON protocol request of the
// service whose X-Amz-Target operations start with prefix ("TrentService."
// for KMS, "Logs_20140328." for CloudWatch Logs): POST / with such a
// target.
func IsJSONTarget(r *http.Request, prefix string) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" && strings.HasPrefix(r.Header.Get("X-Amz-Target"), prefix)
}

// IsQuery reports whether r has the shape of an AWS query protocol
// request (STS): POST / with a form body and no X-Amz-Target, or GET /
// with an Action parameter. Every query service's requests have this
// shape; the credential scope tells them apart.
func IsQuery(r *http.Request) bool {
	if r.URL.Path != "/" || r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	switch r.Method {
	case http.MethodPost:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return err == nil && mt == "application/x-www-form-urlencoded"
	case http.MethodGet:
		return r.URL.Query().Has("Action")
	}
	return false
}

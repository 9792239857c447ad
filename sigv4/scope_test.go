package sigv4_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost/sigv4"
)

func TestScopedService(t *testing.T) {
	const cred = "Credential=AKID/20240101/us-east-1/kms/aws4_request"
	tests := []struct {
		name   string
		header string
		query  string
		want   string
	}{
		{name: "header", header: "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date, Signature=00", want: "kms"},
		{name: "header-no-commas", header: "AWS4-HMAC-SHA256 " + cred + " SignedHeaders=host Signature=00", want: "kms"},
		{name: "trailing-slash", header: "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/signer/aws4_request/", want: "signer"},
		{name: "presigned", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fsts%2Faws4_request", want: "sts"},
		{name: "header-wins", header: "AWS4-HMAC-SHA256 " + cred, query: "X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fsts%2Faws4_request", want: "kms"},
		{name: "unsigned"},
		{name: "other-scheme", header: "Bearer eyJhbGciOi"},
		{name: "short-scope", header: "AWS4-HMAC-SHA256 Credential=AKID/20240101/kms/aws4_request"},
		{name: "empty-service", header: "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1//aws4_request"},
		{name: "no-credential-value", header: "AWS4-HMAC-SHA256 Credential"},
		{name: "duplicate-credential", header: "AWS4-HMAC-SHA256 " + cred + ", " + cred},
		{name: "bad-query", query: "X-Amz-Credential=%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "http://lambdahost.test/?"+tt.query, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if got := sigv4.ScopedService(r); got != tt.want {
				t.Errorf("ScopedService = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzScopedService: whatever the Authorization header and query, the
// service ScopedService names is the one a Verifier finds in the scope. A
// Verifier for that service never refuses the request for naming another,
// and one for any other service never accepts its scope.
func FuzzScopedService(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=a//b/c/d/", "")
	f.Add("AWS4-HMAC-SHA256\tCredential=AKIDEXAMPLE/20240101/us-east-1//aws4_request", "")
	f.Fuzz(func(t *testing.T, header, query string) {
		r, err := http.NewRequest("POST", "http://lambdahost.test/", nil)
		if err != nil {
			return
		}
		r.URL.RawQuery = query
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		r.Header.Set("X-Amz-Date", "20240101T000000Z")
		svc := sigv4.ScopedService(r)
		if svc == "" {
			return
		}
		start := func(service string) error {
			v := newVerifier(testTime)
			v.Service = service
			_, err := v.Start(r)
			return err
		}
		scopeErr := func(err error) bool {
			var se *sigv4.Error
			return errors.As(err, &se) && strings.Contains(se.Message, "Credential should be scoped to correct service")
		}
		if scopeErr(start(svc)) {
			t.Fatalf("ScopedService = %q, but a Verifier for it refuses the scope", svc)
		}
		// Past the scope check, a Verifier for another service must refuse it.
		var se *sigv4.Error
		if err := start(""); (err == nil || errors.As(err, &se) && se.Code == sigv4.UnrecognizedClientException) && !scopeErr(start(svc+"x")) {
			t.Fatalf("ScopedService = %q, but a Verifier for %q accepts the scope", svc, svc+"x")
		}
	})
}

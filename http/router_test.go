package http_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	fnhttp "github.com/lambdahost/lambdahost/http"
)

// fakeService is a Service that answers with its name.
type fakeService struct {
	name   string
	serves func(r *http.Request) bool
}

func (f *fakeService) SigningName() string                              { return f.name }
func (f *fakeService) Serves(r *http.Request) bool                      { return f.serves(r) }
func (f *fakeService) ServeHTTP(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(f.name)) }

func target(prefix string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == "POST" && r.URL.Path == "/" && strings.HasPrefix(r.Header.Get("X-Amz-Target"), prefix)
	}
}

func query(r *http.Request) bool {
	return r.Method == "POST" && r.URL.Path == "/" && r.Header.Get("X-Amz-Target") == "" &&
		r.Header.Get("Content-Type") == "application/x-www-form-urlencoded"
}

// TestRouter: a request goes to the service its scope names if that
// service serves it, else to the first that serves it, else to the one
// its scope names, else to the home service.
func TestRouter(t *testing.T) {
	rt := fnhttp.NewRouter(&fakeService{"lambda", func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/2015-03-31/") }})
	rt.Register(&fakeService{"signer", func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/signing-") }})
	rt.Register(&fakeService{"kms", target("TrentService.")})
	rt.Register(&fakeService{"logs", target("Logs_20140328.")})
	rt.Register(&fakeService{"sts", query})
	rt.Register(&fakeService{"sqs", query})
	tests := []struct {
		name, method, path, scope, target, contentType, query string
		want                                                  string
	}{
		{name: "lambda", method: "GET", path: "/2015-03-31/functions", scope: "lambda", want: "lambda"},
		{name: "kms-target", method: "POST", path: "/", scope: "kms", target: "TrentService.CreateKey", want: "kms"},
		{name: "logs-target", method: "POST", path: "/", scope: "logs", target: "Logs_20140328.GetLogEvents", want: "logs"},
		// The service whose shape the request has refuses another scope
		// in its own protocol.
		{name: "kms-target-signed-for-lambda", method: "POST", path: "/", scope: "lambda", target: "TrentService.CreateKey", want: "kms"},
		{name: "signer-path-signed-for-lambda", method: "PUT", path: "/signing-profiles/p", scope: "lambda", want: "signer"},
		{name: "lambda-path-signed-for-kms", method: "GET", path: "/2015-03-31/functions", scope: "kms", want: "lambda"},
		{name: "lambda-path-unsigned", method: "GET", path: "/2015-03-31/functions", want: "lambda"},
		// Several query services serve POST /: the scope picks.
		{name: "query-signed-for-sts", method: "POST", path: "/", scope: "sts", contentType: "application/x-www-form-urlencoded", want: "sts"},
		{name: "query-signed-for-sqs", method: "POST", path: "/", scope: "sqs", contentType: "application/x-www-form-urlencoded", want: "sqs"},
		{name: "query-presigned-for-sqs", method: "POST", path: "/", contentType: "application/x-www-form-urlencoded",
			query: "X-Amz-Credential=AKID%2F20260102%2Fus-east-1%2Fsqs%2Faws4_request", want: "sqs"},
		{name: "query-unsigned", method: "POST", path: "/", contentType: "application/x-www-form-urlencoded", want: "sts"},
		// Nobody serves it: the scope's service answers in its protocol.
		{name: "unknown-path-signed-for-signer", method: "GET", path: "/nothing", scope: "signer", want: "signer"},
		{name: "unknown-target-signed-for-kms", method: "POST", path: "/", scope: "kms", target: "Nope.Op", want: "kms"},
		{name: "unknown-path-signed-for-unknown-service", method: "GET", path: "/nothing", scope: "s3", want: "lambda"},
		{name: "unknown-path-unsigned", method: "GET", path: "/nothing", want: "lambda"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://lambdahost.test"+tt.path, nil)
			r.URL.RawQuery = tt.query
			if tt.scope != "" {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260102/us-east-1/"+tt.scope+"/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
			}
			if tt.target != "" {
				r.Header.Set("X-Amz-Target", tt.target)
			}
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			if got := rt.Route(r).SigningName(); got != tt.want {
				t.Errorf("Route = %s, want %s", got, tt.want)
			}
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, r)
			if got := w.Body.String(); got != tt.want {
				t.Errorf("ServeHTTP answered from %s, want %s", got, tt.want)
			}
		})
	}
}

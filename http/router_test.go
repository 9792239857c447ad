package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lambdahost/lambdahost"
	fnhttp "github.com/lambdahost/lambdahost/http"
	"github.com/lambdahost/lambdahost/internal/apitest"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/signer"
	"github.com/lambdahost/lambdahost/sts"
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
	return func(r *http.Request) bool { return awsapi.IsJSONTarget(r, prefix) }
}

// TestRouter: a request goes to the service its scope names if that
// service serves it, else to the first that serves it, else to the one
// its scope names, else to the home service.
func TestRouter(t *testing.T) {
	rt := fnhttp.NewRouter(&fakeService{"lambda", func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/2015-03-31/") }})
	rt.Register(&fakeService{"signer", func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/signing-") }})
	rt.Register(&fakeService{"kms", target("TrentService.")})
	rt.Register(&fakeService{"logs", target("Logs_20140328.")})
	rt.Register(&fakeService{"sts", awsapi.IsQuery})
	rt.Register(&fakeService{"sqs", awsapi.IsQuery})
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

// newRouter returns e's Lambda API behind a Router with the real Signer,
// KMS and STS over e's store, as cmd/lambdahost wires them.
func newRouter(e *env) *fnhttp.Router {
	sg := signer.New(e.store, e.blobs, bytes.Repeat([]byte{7}, lambdahost.MasterKeySize))
	if err := sg.Start(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	rt := fnhttp.NewRouter(e.api)
	rt.Register(signer.NewServer(sg, apitest.Verifier("signer")))
	rt.Register(kms.NewServer(e.keys, apitest.Verifier("kms")))
	rt.Register(sts.NewServer(apitest.Verifier("sts")))
	return rt
}

// TestRouterServices: through the router, each service answers its own
// requests, and errors in its own protocol: Lambda's REST-JSON with a
// Type member, Signer's without, KMS's JSON 1.1, STS's query XML.
func TestRouterServices(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(newRouter(e))
	defer srv.Close()
	json11 := http.Header{"Content-Type": {"application/x-amz-json-1.1"}}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	target := func(op string) http.Header {
		h := json11.Clone()
		h.Set("X-Amz-Target", "TrentService."+op)
		return h
	}
	tests := []struct {
		name    string
		req     apitest.Request
		status  int
		ctype   string
		errType string
		body    string // a part of the body
	}{
		{name: "lambda", req: apitest.Request{Service: "lambda", Method: "GET", Path: "/2015-03-31/functions"}, status: 200, ctype: "application/json", body: `"Functions"`},
		{name: "signer", req: apitest.Request{Service: "signer", Method: "GET", Path: "/signing-platforms"}, status: 200, ctype: "application/json", body: `"platforms"`},
		{name: "kms", req: apitest.Request{Service: "kms", Method: "POST", Path: "/", Body: "{}", Header: target("ListKeys")}, status: 200, ctype: "application/x-amz-json-1.1", body: `"Keys"`},
		{name: "sts", req: apitest.Request{Service: "sts", Method: "POST", Path: "/", Body: "Action=GetCallerIdentity&Version=2011-06-15", Header: form},
			status: 200, ctype: "text/xml", body: `<Account>000000000000</Account>`},
		{name: "sts-session", req: apitest.Request{Service: "sts", Method: "POST", Path: "/", Body: "Action=GetCallerIdentity&Version=2011-06-15", Header: form, Creds: apitest.Session},
			status: 200, ctype: "text/xml", body: `<Arn>` + apitest.SessionARN + `</Arn>`},
		{name: "sts-signed-for-kms", req: apitest.Request{Service: "kms", Method: "POST", Path: "/", Body: "Action=GetCallerIdentity&Version=2011-06-15", Header: form},
			status: 403, ctype: "text/xml", body: `<Code>SignatureDoesNotMatch</Code>`},
		{name: "lambda-session", req: apitest.Request{Service: "lambda", Method: "GET", Path: "/2015-03-31/functions", Creds: apitest.Session}, status: 200, ctype: "application/json", body: `"Functions"`},
		{name: "kms-signed-for-lambda", req: apitest.Request{Service: "lambda", Method: "POST", Path: "/", Body: "{}", Header: target("CreateKey")},
			status: 400, ctype: "application/x-amz-json-1.1", errType: "InvalidSignatureException", body: `"__type"`},
		{name: "signer-signed-for-lambda", req: apitest.Request{Service: "lambda", Method: "GET", Path: "/signing-profiles"},
			status: 403, ctype: "application/json", errType: "InvalidSignatureException", body: `'signer'`},
		{name: "lambda-signed-for-kms", req: apitest.Request{Service: "kms", Method: "GET", Path: "/2015-03-31/functions"},
			status: 403, ctype: "application/json", errType: "InvalidSignatureException", body: `'lambda'`},
		{name: "unknown-path-signed-for-signer", req: apitest.Request{Service: "signer", Method: "GET", Path: "/nothing"},
			status: 404, ctype: "application/json", errType: "UnknownOperationException", body: `"message": "Unknown operation GET /nothing"`},
		{name: "unknown-signer-method", req: apitest.Request{Service: "signer", Method: "POST", Path: "/signing-profiles/p"},
			status: 404, ctype: "application/json", errType: "UnknownOperationException", body: `"message"`},
		{name: "no-target-signed-for-kms", req: apitest.Request{Service: "kms", Method: "POST", Path: "/", Body: "{}", Header: json11},
			status: 400, ctype: "application/x-amz-json-1.1", errType: "UnknownOperationException", body: `"__type"`},
		{name: "unknown-path-signed-for-lambda", req: apitest.Request{Service: "lambda", Method: "GET", Path: "/nothing"},
			status: 404, ctype: "application/json", errType: "UnknownOperationException", body: `"Type": "User"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Creds.AccessKeyID == "" {
				tt.req.Creds = apitest.Test
			}
			got := apitest.Send(t, srv.URL, tt.req)
			body := string(got.Body)
			var text string
			if json.Unmarshal(got.Body, &text) == nil {
				body = text // XML, which Send quotes as a JSON string
			}
			if got.Status != tt.status || got.Headers["Content-Type"] != tt.ctype || got.Headers["X-Amzn-Errortype"] != tt.errType || !strings.Contains(body, tt.body) {
				t.Errorf("got %d %v %s, want %d %s %q with %s", got.Status, got.Headers, body, tt.status, tt.ctype, tt.errType, tt.body)
			}
			if tt.errType != "" && tt.ctype == "application/json" && strings.Contains(string(got.Body), `"Type"`) != strings.Contains(tt.body, `"Type"`) {
				t.Errorf("Type member: %s", got.Body)
			}
		})
	}
}

// FuzzRouter sends any method, path, X-Amz-Target and credential scope
// to the router in front of every service: whatever it is, some service
// answers it with a success or an AWS-shaped client error.
func FuzzRouter(f *testing.F) {
	e := newEnv(f)
	rt := newRouter(e)
	f.Add("GET", "/2015-03-31/functions", "", "lambda")
	f.Add("POST", "/", "TrentService.CreateKey", "lambda")
	f.Add("POST", "/", "TrentService.ListKeys", "kms")
	f.Add("POST", "/", "", "sts")
	f.Add("PUT", "/signing-profiles/p", "", "kms")
	f.Add("DELETE", "/signing-jobs/x/revoke", "Logs_20140328.GetLogEvents", "signer")
	f.Add("GET", "/nothing/../2015-03-31/functions", "", "")
	f.Fuzz(func(t *testing.T, method, path, target, service string) {
		req, err := http.NewRequestWithContext(context.Background(), method, "http://"+apitest.Host+path, strings.NewReader("{}"))
		if err != nil || req.URL.Path == "" || strings.HasPrefix(req.URL.Path, "/_lambdahost/code/") {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		apitest.ServeFuzzed(t, rt, req, "{}", service, true)
	})
}

// apiMeter records the requests a Router counts.
type apiMeter struct {
	lambdahost.NopMeter
	got []string
}

func (m *apiMeter) APIRequest(service, op string, status int, elapsed time.Duration) {
	m.got = append(m.got, fmt.Sprintf("%s %s %d", service, op, status))
}

// TestRouterMount: a mounted handler answers its paths unless a service
// serves the request (a function URL's host, a service's path); the
// Meter counts API requests by service, operation and status, and not
// the mounted handlers' requests.
func TestRouterMount(t *testing.T) {
	e := newEnv(t)
	rt := newRouter(e)
	m := &apiMeter{}
	rt.Meter = m
	rt.Mount("/_lambdahost/console/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "console") }))
	rt.Mount("/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics") }))
	srv := httptest.NewServer(rt)
	defer srv.Close()
	for _, tt := range []struct {
		name, host, path string
		want             string
	}{
		{name: "console", path: "/_lambdahost/console/functions", want: "console"},
		{name: "metrics", path: "/metrics", want: "metrics"},
		{name: "function-url-host", host: "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.localhost", path: "/metrics", want: "AccessDeniedException"},
		{name: "code-download", path: "/_lambdahost/code/00", want: "AccessDenied"},
		{name: "api-unsigned", path: "/2015-03-31/functions", want: "MissingAuthenticationTokenException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b)+resp.Header.Get("X-Amzn-Errortype"), tt.want) {
				t.Errorf("answered %d %s %s, want %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), b, tt.want)
			}
		})
	}
	apitest.Send(t, srv.URL, apitest.Request{Service: "lambda", Method: "GET", Path: "/2015-03-31/functions", Creds: apitest.Test})
	apitest.Send(t, srv.URL, apitest.Request{Service: "lambda", Method: "GET", Path: "/2015-03-31/functions/nope", Creds: apitest.Test})
	want := []string{
		"lambda InvokeFunctionUrl 403",
		"lambda GetCode 403",
		"lambda ListFunctions 403",
		"lambda ListFunctions 200",
		"lambda GetFunction 404",
	}
	if diff := cmp.Diff(want, m.got); diff != "" {
		t.Errorf("counted requests (-want +got):\n%s", diff)
	}
}

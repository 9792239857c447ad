package http_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/apitest"
	"github.com/lambdahost/lambdahost/invoke"
)

// scriptedInvoker answers invocations with respond, and keeps the last
// request.
type scriptedInvoker struct {
	mu      sync.Mutex
	last    *invoke.Request
	respond func(req *invoke.Request) (*invoke.Result, error)
}

func (s *scriptedInvoker) Invoke(ctx context.Context, req *invoke.Request) (*invoke.Result, error) {
	s.mu.Lock()
	s.last = req
	respond := s.respond
	s.mu.Unlock()
	return respond(req)
}

func (s *scriptedInvoker) InvokeAsync(req *invoke.Request) {}

// event returns the event of the last invocation.
func (s *scriptedInvoker) event(t testing.TB) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		t.Fatal("the function was not invoked")
	}
	var ev map[string]any
	if err := json.Unmarshal(s.last.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// answer makes the invoker return payload.
func answer(payload string) func(*invoke.Request) (*invoke.Result, error) {
	return func(*invoke.Request) (*invoke.Result, error) { return &invoke.Result{Payload: []byte(payload)}, nil }
}

// urlEnv is an env with function f, a URL of authType (and extra config
// members) and a policy letting everyone invoke a NONE URL.
func urlEnv(t *testing.T, authType, extra string) (*env, *scriptedInvoker) {
	t.Helper()
	e := newEnv(t)
	inv := &scriptedInvoker{respond: answer(`{"statusCode":200,"body":"ok"}`)}
	e.api.Invoker = inv
	withFunction("f")(e)
	e.must("POST", urlPath+"f/url", `{"AuthType":"`+authType+`"`+extra+`}`)
	e.must("POST", policyPath("f"), `{"StatementId":"public","Action":"lambda:InvokeFunctionUrl","Principal":"*","FunctionUrlAuthType":"NONE"}`)
	return e, inv
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestURLEvent: the event a function gets, field by field.
func TestURLEvent(t *testing.T) {
	e, inv := urlEnv(t, "NONE", "")
	header := http.Header{
		"Content-Type":    {"application/json"},
		"ExTrA-HeadErs":   {"With WeiRd CapS"},
		"X-Multi":         {"a", "b"},
		"User-Agent":      {"test/echo"},
		"Cookie":          {"a=1; b=2", "c=3"},
		"X-Forwarded-For": {"10.9.8.7"},
	}
	resp := e.urlRequest("POST", firstHost+":9999", "/pa2%2Fth/1?q=query&multiQuery=foo&multiQuery=%2Fbar&plus=a+b&empty=&bare", `{"foo": "bar"}`, header, aws.Credentials{})
	if got := readAll(t, resp); resp.StatusCode != 200 || got != "ok" {
		t.Fatalf("status %d body %q", resp.StatusCode, got)
	}
	ev := inv.event(t)
	ctx := ev["requestContext"].(map[string]any)
	reqID := resp.Header.Get("X-Amzn-Requestid")
	if reqID == "" || ctx["requestId"] != reqID || inv.last.RequestID != reqID {
		t.Errorf("x-amzn-RequestId %q, requestContext.requestId %v, invocation %s", reqID, ctx["requestId"], inv.last.RequestID)
	}
	headers := ev["headers"].(map[string]any)
	want := map[string]any{
		"version": "2.0", "routeKey": "$default", "rawPath": "/pa2%2Fth/1",
		"rawQueryString": "q=query&multiQuery=foo&multiQuery=%2Fbar&plus=a+b&empty=&bare",
		"cookies":        []any{"a=1", "b=2", "c=3"},
		"queryStringParameters": map[string]any{
			"q": "query", "multiQuery": "foo,/bar", "plus": "a b", "empty": "", "bare": "",
		},
		"body": `{"foo": "bar"}`, "isBase64Encoded": false,
	}
	for k, v := range want {
		if diff := cmp.Diff(v, ev[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	for k, v := range map[string]string{
		"content-type": "application/json", "extra-headers": "With WeiRd CapS", "x-multi": "a,b", "user-agent": "test/echo",
		"host": firstHost + ":9999", "x-forwarded-for": "10.9.8.7, 127.0.0.1", "x-forwarded-proto": "http", "content-length": "14",
	} {
		if headers[k] != v {
			t.Errorf("headers[%s] = %v, want %q", k, headers[k], v)
		}
	}
	if _, ok := headers["cookie"]; ok {
		t.Error("the cookie header stays among the headers")
	}
	if tr, _ := headers["x-amzn-trace-id"].(string); !strings.HasPrefix(tr, "Root=1-") || tr != resp.Header.Get("X-Amzn-Trace-Id") {
		t.Errorf("x-amzn-trace-id %q, response's %q", tr, resp.Header.Get("X-Amzn-Trace-Id"))
	}
	if headers["x-forwarded-port"] == "" || headers["x-forwarded-port"] == nil {
		t.Error("no x-forwarded-port")
	}
	wantCtx := map[string]any{
		"accountId": "anonymous", "apiId": firstURL, "domainName": firstHost, "domainPrefix": firstURL,
		"routeKey": "$default", "stage": "$default", "time": "02/Jan/2026:03:04:05 +0000", "timeEpoch": float64(clock.UnixMilli()),
		"http": map[string]any{"method": "POST", "path": "/pa2%2Fth/1", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test/echo"},
	}
	for k, v := range wantCtx {
		if diff := cmp.Diff(v, ctx[k]); diff != "" {
			t.Errorf("requestContext.%s (-want +got):\n%s", k, diff)
		}
	}
	if _, ok := ctx["authorizer"]; ok {
		t.Error("a NONE URL's event has an authorizer")
	}
	// The invocation runs $LATEST, named by the unqualified ARN.
	if inv.last.Target.InvokedARN != "arn:aws:lambda:us-east-1:000000000000:function:f" || inv.last.Target.ExecutedVersion != "$LATEST" {
		t.Errorf("invoked %s version %s", inv.last.Target.InvokedARN, inv.last.Target.ExecutedVersion)
	}

	// Without a query or a body, neither is in the event; a binary body is
	// base64; the path form gives the path after the URL ID.
	resp = e.urlRequest("GET", "", "/lambda-url/"+firstURL, "", nil, aws.Credentials{})
	readAll(t, resp)
	ev = inv.event(t)
	for _, k := range []string{"queryStringParameters", "body", "cookies"} {
		if _, ok := ev[k]; ok {
			t.Errorf("%s present without a query, a body or cookies", k)
		}
	}
	if ev["rawPath"] != "/" || ev["requestContext"].(map[string]any)["domainName"] != firstHost {
		t.Errorf("by path: rawPath %v, domainName %v", ev["rawPath"], ev["requestContext"].(map[string]any)["domainName"])
	}
	bin := string([]byte{0, 1, 2, 0xff, 0xfe})
	for _, ct := range []string{"application/octet-stream", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain"} {
		resp = e.urlRequest("PUT", "", "/lambda-url/"+firstURL+"/upload/x", bin, http.Header{"Content-Type": {ct}}, aws.Credentials{})
		readAll(t, resp)
		ev = inv.event(t)
		if ev["rawPath"] != "/upload/x" || ev["isBase64Encoded"] != true || ev["body"] != base64.StdEncoding.EncodeToString([]byte(bin)) {
			t.Errorf("%s body: rawPath %v isBase64Encoded %v body %v", ct, ev["rawPath"], ev["isBase64Encoded"], ev["body"])
		}
	}
	resp = e.urlRequest("POST", firstHost, "/", "a=1&b=2", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, aws.Credentials{})
	readAll(t, resp)
	if ev = inv.event(t); ev["isBase64Encoded"] != true {
		t.Error("a form body is not base64-encoded")
	}
	resp = e.urlRequest("POST", firstHost, "/", "héllo", http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, aws.Credentials{})
	readAll(t, resp)
	if ev = inv.event(t); ev["isBase64Encoded"] != false || ev["body"] != "héllo" {
		t.Errorf("a text body: %v %v", ev["isBase64Encoded"], ev["body"])
	}
}

// TestURLResponseMapping: what the function returns → the HTTP response,
// the cases recorded from AWS.
func TestURLResponseMapping(t *testing.T) {
	e, inv := urlEnv(t, "NONE", "")
	tests := []struct {
		name, payload string
		status        int
		ctype, body   string
		header        map[string]string
		cookies       []string
	}{
		{"object", `{"hello": "world"}`, 200, "application/json", `{"hello":"world"}`, nil, nil},
		{"status-and-body", `{"statusCode": 200, "body": "body123"}`, 200, "application/json", "body123", nil, nil},
		{"json-body-verbatim", `{"statusCode": 200, "body": "{\"hello\": \"world\"}"}`, 200, "application/json", `{"hello": "world"}`, nil, nil},
		{"list", `["hello", 3, true]`, 200, "application/json", `["hello",3,true]`, nil, nil},
		{"string", `"hello"`, 200, "application/json", "hello", nil, nil},
		{"int", `3`, 200, "application/json", "3", nil, nil},
		{"float", `3.1`, 200, "application/json", "3.1", nil, nil},
		{"bool", `true`, 200, "application/json", "true", nil, nil},
		{"custom", `{"statusCode": 201, "headers": {"Content-Type": "application/json", "My-Custom-Header": "Custom Value"}, "body": "{\"message\": \"hello-world\"}", "isBase64Encoded": false}`,
			201, "application/json", `{"message": "hello-world"}`, map[string]string{"my-custom-header": "Custom Value"}, nil},
		{"string-status", `{"statusCode": "418", "body": "i'm a teapot", "isBase64Encoded": false}`, 418, "application/json", "i'm a teapot", nil, nil},
		{"object-body", `{"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": {"a": 1}}`, 200, "application/json", `{"a":1}`, nil, nil},
		{"cookies", `{"statusCode": 200, "cookies": ["a=1; Path=/", "b=2; Max-Age=60"], "headers": {"content-type": "text/plain"}, "body": "c"}`,
			200, "text/plain", "c", nil, []string{"a=1; Path=/", "b=2; Max-Age=60"}},
		{"base64", `{"statusCode": 200, "headers": {"Content-Type": "image/png"}, "body": "AAEC/w==", "isBase64Encoded": true}`, 200, "image/png", "\x00\x01\x02\xff", nil, nil},
		{"number-header", `{"statusCode": 200, "headers": {"X-N": 5}}`, 200, "application/json", "", map[string]string{"x-n": "5"}, nil},
		{"bad-status", `{"statusCode": "teapot"}`, 502, "application/json", "Internal Server Error", nil, nil},
		{"bad-base64", `{"statusCode": 200, "body": "!!", "isBase64Encoded": true}`, 502, "application/json", "Internal Server Error", nil, nil},
		{"header-injection", `{"statusCode": 200, "headers": {"X-A": "a\r\nX-B: b"}}`, 502, "application/json", "Internal Server Error", nil, nil},
		{"not-json", `hello`, 502, "application/json", "Internal Server Error", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv.mu.Lock()
			inv.respond = answer(tt.payload)
			inv.mu.Unlock()
			resp := e.urlRequest("POST", firstHost, "/", `{"key":"value"}`, nil, aws.Credentials{})
			body := readAll(t, resp)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.ctype || body != tt.body {
				t.Errorf("got %d %q %q, want %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status, tt.ctype, tt.body)
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if diff := cmp.Diff(tt.cookies, resp.Header.Values("Set-Cookie")); tt.cookies != nil && diff != "" {
				t.Errorf("Set-Cookie (-want +got):\n%s", diff)
			}
		})
	}
}

// TestURLInvocationErrors: function errors, throttles and limits answer
// the statuses AWS's URLs answer.
func TestURLInvocationErrors(t *testing.T) {
	e, inv := urlEnv(t, "NONE", "")
	set := func(f func(*invoke.Request) (*invoke.Result, error)) {
		inv.mu.Lock()
		inv.respond = f
		inv.mu.Unlock()
	}
	set(func(*invoke.Request) (*invoke.Result, error) {
		return &invoke.Result{Payload: []byte(`{"errorMessage":"RequestId: x Error: Task timed out after 3.00 seconds","errorType":"Sandbox.Timedout"}`), FunctionError: "Unhandled", ErrorType: "Sandbox.Timedout"}, nil
	})
	resp := e.urlRequest("GET", firstHost, "/", "", nil, aws.Credentials{})
	if body := readAll(t, resp); resp.StatusCode != 502 || body != "Internal Server Error" {
		t.Errorf("timeout: %d %q", resp.StatusCode, body)
	}
	set(func(*invoke.Request) (*invoke.Result, error) {
		err := lambdahost.Errorf(lambdahost.TooManyRequestsException, "Rate Exceeded.")
		err.Reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
		return nil, err
	})
	resp = e.urlRequest("GET", firstHost, "/", "", nil, aws.Credentials{})
	if body := readAll(t, resp); resp.StatusCode != 429 || body != `{"Message":"Rate Exceeded."}` || resp.Header.Get("X-Amzn-Errortype") != "TooManyRequestsException" {
		t.Errorf("throttled: %d %q %q", resp.StatusCode, body, resp.Header.Get("X-Amzn-Errortype"))
	}
	set(answer(`{}`))
	big := strings.Repeat("x", 6<<20+1)
	resp = e.urlRequest("POST", firstHost, "/", big, nil, aws.Credentials{})
	if body := readAll(t, resp); resp.StatusCode != 413 || !strings.Contains(body, "Request must be smaller than 6291456 bytes") {
		t.Errorf("6 MB + 1 body: %d %q", resp.StatusCode, body)
	}
	// The base64 of a binary body counts against the limit.
	resp = e.urlRequest("POST", firstHost, "/", strings.Repeat("\xff", 5<<20), http.Header{"Content-Type": {"application/octet-stream"}}, aws.Credentials{})
	if readAll(t, resp); resp.StatusCode != 413 {
		t.Errorf("5 MB binary body (6.7 MB as base64): %d", resp.StatusCode)
	}
	resp = e.urlRequest("HEAD", firstHost, "/", "", nil, aws.Credentials{})
	if body := readAll(t, resp); resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD: %d %q", resp.StatusCode, body)
	}
}

// TestURLCORS: the URL's CORS configuration answers preflights without
// the function and replaces the function's own CORS headers.
func TestURLCORS(t *testing.T) {
	e, inv := urlEnv(t, "NONE", `,"Cors":{"AllowOrigins":["https://app.example"],"AllowMethods":["*"],"AllowHeaders":["*"],"ExposeHeaders":["x-echo","x-other"],"AllowCredentials":true,"MaxAge":60}`)
	inv.respond = answer(`{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"*","X-Echo":"1"},"body":"ok"}`)
	resp := e.urlRequest("OPTIONS", firstHost, "/", "", http.Header{
		"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"PUT"}, "Access-Control-Request-Headers": {"x-custom, content-type"},
	}, aws.Credentials{})
	readAll(t, resp)
	inv.mu.Lock()
	invoked := inv.last != nil
	inv.mu.Unlock()
	if invoked {
		t.Error("a preflight invoked the function")
	}
	for k, v := range map[string]string{
		"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "PUT",
		"Access-Control-Allow-Headers": "x-custom, content-type", "Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "60",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	resp = e.urlRequest("GET", firstHost, "/", "", http.Header{"Origin": {"https://app.example"}}, aws.Credentials{})
	readAll(t, resp)
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp.Header.Get("Access-Control-Expose-Headers") != "x-echo,x-other" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("X-Echo") != "1" {
		t.Errorf("response headers %v", resp.Header)
	}
	resp = e.urlRequest("GET", firstHost, "/", "", http.Header{"Origin": {"https://other.example"}}, aws.Credentials{})
	readAll(t, resp)
	if v := resp.Header.Values("Access-Control-Allow-Origin"); len(v) != 0 {
		t.Errorf("another origin gets Access-Control-Allow-Origin %v (the function's must go too)", v)
	}
	// Without a CORS configuration, an OPTIONS request is the function's.
	e2, inv2 := urlEnv(t, "NONE", "")
	resp = e2.urlRequest("OPTIONS", firstHost, "/", "", http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"PUT"}}, aws.Credentials{})
	readAll(t, resp)
	if ev := inv2.event(t); ev["requestContext"].(map[string]any)["http"].(map[string]any)["method"] != "OPTIONS" {
		t.Error("OPTIONS did not reach the function")
	}
}

// TestURLIAM: an AWS_IAM URL takes SigV4-signed requests of its own
// account, and tells the function who signed.
func TestURLIAM(t *testing.T) {
	e, inv := urlEnv(t, "AWS_IAM", "")
	resp := e.urlRequest("POST", firstHost, "/x?a=1", "hello", http.Header{"Content-Type": {"text/plain"}}, e.creds)
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("signed: %d %s", resp.StatusCode, body)
	}
	ctx := inv.event(t)["requestContext"].(map[string]any)
	want := map[string]any{"iam": map[string]any{
		"accessKey": "test", "accountId": "000000000000", "callerId": "test", "cognitoIdentity": nil, "principalOrgId": nil,
		"userArn": "arn:aws:iam::000000000000:user/test", "userId": "test",
	}}
	if diff := cmp.Diff(want, ctx["authorizer"]); diff != "" || ctx["accountId"] != "000000000000" {
		t.Errorf("authorizer (-want +got):\n%s\naccountId %v", diff, ctx["accountId"])
	}
	// By path too: the signature covers the path the client used.
	resp = e.urlRequest("GET", "", "/lambda-url/"+firstURL+"/y", "", nil, e.creds)
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Errorf("signed, by path: %d %s", resp.StatusCode, body)
	}
	// Unsigned.
	resp = e.urlRequest("GET", firstHost, "/", "", nil, aws.Credentials{})
	if readAll(t, resp); resp.StatusCode != 403 {
		t.Errorf("unsigned: %d", resp.StatusCode)
	}
	// Another account, once the policy lets it in.
	other := aws.Credentials{AccessKeyID: "other", SecretAccessKey: "other"}
	resp = e.urlRequest("GET", firstHost, "/", "", nil, other)
	if readAll(t, resp); resp.StatusCode != 403 {
		t.Errorf("other account without a grant: %d", resp.StatusCode)
	}
	e.must("POST", policyPath("f"), `{"StatementId":"other","Action":"lambda:InvokeFunctionUrl","Principal":"111111111111","FunctionUrlAuthType":"AWS_IAM"}`)
	resp = e.urlRequest("GET", firstHost, "/", "", nil, other)
	if readAll(t, resp); resp.StatusCode != 200 {
		t.Errorf("other account with a grant: %d", resp.StatusCode)
	}
	// An execution environment's session of that account: the function
	// is told the assumed role.
	resp = e.urlRequest("GET", firstHost, "/", "", nil, apitest.Session)
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("session of a granted account: %d %s", resp.StatusCode, body)
	}
	want = map[string]any{"iam": map[string]any{
		"accessKey": apitest.Session.AccessKeyID, "accountId": "111111111111", "callerId": apitest.SessionUserID, "cognitoIdentity": nil, "principalOrgId": nil,
		"userArn": apitest.SessionARN, "userId": apitest.SessionUserID,
	}}
	if diff := cmp.Diff(want, inv.event(t)["requestContext"].(map[string]any)["authorizer"]); diff != "" {
		t.Errorf("session's authorizer (-want +got):\n%s", diff)
	}
}

// streamer writes chunks to the invocation's stream as a streaming
// runtime does.
func streamer(contentType string, chunks ...string) func(*invoke.Request) (*invoke.Result, error) {
	return func(req *invoke.Request) (*invoke.Result, error) {
		if ct, ok := req.Stream.(invoke.StreamContentTyper); ok {
			ct.StreamContentType(contentType)
		}
		for _, c := range chunks {
			req.Stream.Write([]byte(c))
			req.Stream.Flush()
		}
		return &invoke.Result{Streamed: true}, nil
	}
}

// TestURLStream: a RESPONSE_STREAM URL sends what the function streams,
// with the status and headers of its prelude.
func TestURLStream(t *testing.T) {
	e, inv := urlEnv(t, "NONE", `,"InvokeMode":"RESPONSE_STREAM","Cors":{"AllowOrigins":["*"]}`)
	prelude := `{"statusCode":201,"headers":{"Content-Type":"text/plain","X-Stream":"yes"},"cookies":["s=1"]}` + "\x00\x00\x00\x00\x00\x00\x00\x00"
	inv.respond = streamer("application/vnd.awslambda.http-integration-response", prelude[:20], prelude[20:]+"part 0;", "part 1;")
	resp := e.urlRequest("GET", firstHost, "/", "", http.Header{"Origin": {"https://x.example"}}, aws.Credentials{})
	body := readAll(t, resp)
	if resp.StatusCode != 201 || body != "part 0;part 1;" || resp.Header.Get("X-Stream") != "yes" || resp.Header.Get("Set-Cookie") != "s=1" ||
		resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("streamed: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	inv.respond = streamer("text/plain", "hello, ", "world")
	resp = e.urlRequest("GET", firstHost, "/", "", nil, aws.Credentials{})
	if body := readAll(t, resp); resp.StatusCode != 200 || body != "hello, world" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("raw stream: %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	// What a function that does not stream answers is the stream, as it
	// is; with a prelude, the prelude sets the status.
	inv.respond = func(*invoke.Request) (*invoke.Result, error) {
		return &invoke.Result{Payload: []byte(`{"statusCode":202,"body":"buffered"}`), ContentType: "application/json"}, nil
	}
	resp = e.urlRequest("GET", firstHost, "/", "", nil, aws.Credentials{})
	if body := readAll(t, resp); resp.StatusCode != 200 || body != `{"statusCode":202,"body":"buffered"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("buffered answer: %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	inv.respond = func(*invoke.Request) (*invoke.Result, error) {
		return &invoke.Result{Payload: []byte(prelude + "body"), ContentType: "application/vnd.awslambda.http-integration-response"}, nil
	}
	resp = e.urlRequest("GET", firstHost, "/", "", nil, aws.Credentials{})
	if body := readAll(t, resp); resp.StatusCode != 201 || body != "body" {
		t.Errorf("buffered answer with a prelude: %d %q", resp.StatusCode, body)
	}
	// A failure before the first byte is a 502; after it, the response is
	// cut short.
	inv.respond = func(req *invoke.Request) (*invoke.Result, error) {
		return &invoke.Result{Payload: []byte(`{"errorType":"Error"}`), FunctionError: "Unhandled", Streamed: true}, nil
	}
	resp = e.urlRequest("GET", firstHost, "/", "", nil, aws.Credentials{})
	if body := readAll(t, resp); resp.StatusCode != 502 || body != "Internal Server Error" {
		t.Errorf("failed stream: %d %q", resp.StatusCode, body)
	}
	inv.respond = func(req *invoke.Request) (*invoke.Result, error) {
		streamer("text/plain", "part 0;")(req)
		return &invoke.Result{Payload: []byte(`{"errorType":"Error"}`), FunctionError: "Unhandled", Streamed: true}, nil
	}
	resp = e.urlRequest("GET", firstHost, "/", "", nil, aws.Credentials{})
	defer resp.Body.Close()
	b, err := io.ReadAll(bufio.NewReader(resp.Body))
	if err == nil || string(b) != "part 0;" {
		t.Errorf("a stream broken after its first byte read %q, %v; want the bytes sent and an error", b, err)
	}
}

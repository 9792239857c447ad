//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// reFunctionURL is the form of the URLs lambdahost hands out.
var reFunctionURL = regexp.MustCompile(`^http://([a-z0-9]{32})\.lambda-url\.us-east-1\.localhost:\d+/$`)

// TestFunctionURLConfigs: the five URL config operations, their answers'
// shapes and their errors, through each client.
func TestFunctionURLConfigs(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "urls-" + d.Name()
		arn := functionARN("us-east-1", TestCredentials.AccountID, name)
		mustCreate(t, d, name, handlerZip(t, "urls"))
		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "$LATEST"}).OK(t)

		c := d.Call(t, "CreateFunctionUrlConfig", Params{"FunctionName": name, "AuthType": "NONE"})
		c.OK(t).WantStatus(t, 201)
		if !reFunctionURL.MatchString(c.Str("FunctionUrl")) || c.Str("CreationTime") == "" {
			t.Errorf("%s created %v", d.Name(), c.Body)
		}
		wantStr(t, c, "FunctionArn", arn)
		wantStr(t, c, "AuthType", "NONE")
		wantAbsent(t, c, "LastModifiedTime")
		wantAbsent(t, c, "InvokeMode")
		wantAbsent(t, c, "Cors")
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z", c.Str("CreationTime")); err != nil {
			t.Errorf("%s CreationTime %q", d.Name(), c.Str("CreationTime"))
		}

		cors := Params{"AllowOrigins": []string{"https://app.example"}, "AllowMethods": []string{"GET", "POST"}, "AllowHeaders": []string{"x-custom"},
			"ExposeHeaders": []string{"x-echo"}, "MaxAge": 300, "AllowCredentials": true}
		a := d.Call(t, "CreateFunctionUrlConfig", Params{"FunctionName": name, "Qualifier": "live", "AuthType": "AWS_IAM", "InvokeMode": "RESPONSE_STREAM", "Cors": cors}).OK(t)
		wantStr(t, a, "FunctionArn", arn+":live")
		wantStr(t, a, "InvokeMode", "RESPONSE_STREAM")
		if a.Get("Cors.MaxAge") != float64(300) || a.Get("Cors.AllowCredentials") != true || fmt.Sprint(a.Get("Cors.AllowMethods")) != "[GET POST]" {
			t.Errorf("%s Cors %v", d.Name(), a.Get("Cors"))
		}
		if a.Str("FunctionUrl") == c.Str("FunctionUrl") {
			t.Errorf("%s the alias has $LATEST's URL", d.Name())
		}

		g := d.Call(t, "GetFunctionUrlConfig", Params{"FunctionName": name}).OK(t)
		wantStr(t, g, "FunctionUrl", c.Str("FunctionUrl"))
		wantStr(t, g, "InvokeMode", "BUFFERED")
		wantStr(t, g, "CreationTime", c.Str("CreationTime"))
		if g.Str("LastModifiedTime") == "" {
			t.Errorf("%s Get has no LastModifiedTime", d.Name())
		}

		u := d.Call(t, "UpdateFunctionUrlConfig", Params{"FunctionName": name, "AuthType": "AWS_IAM"}).OK(t)
		wantStr(t, u, "AuthType", "AWS_IAM")
		wantStr(t, u, "FunctionUrl", c.Str("FunctionUrl"))
		wantAbsent(t, u, "InvokeMode")
		u = d.Call(t, "UpdateFunctionUrlConfig", Params{"FunctionName": name, "InvokeMode": "RESPONSE_STREAM"}).OK(t)
		wantStr(t, u, "InvokeMode", "RESPONSE_STREAM")
		wantStr(t, u, "AuthType", "AWS_IAM")
		u = d.Call(t, "UpdateFunctionUrlConfig", Params{"FunctionName": name}).OK(t)
		wantStr(t, u, "InvokeMode", "RESPONSE_STREAM")

		page := d.Call(t, "ListFunctionUrlConfigs", Params{"FunctionName": name, "MaxItems": 1}).OK(t)
		if items := page.Get("FunctionUrlConfigs").([]any); len(items) != 1 || page.Str("NextMarker") == "" {
			t.Errorf("%s first page %v", d.Name(), page.Body)
		}
		all := d.Paginate(t, "ListFunctionUrlConfigs", Params{"FunctionName": name}, 1)
		if len(all) != 2 || str(all[0], "FunctionArn") != arn || str(all[1], "FunctionArn") != arn+":live" {
			t.Errorf("%s listed %v", d.Name(), all)
		}

		d.Call(t, "CreateFunctionUrlConfig", Params{"FunctionName": name, "AuthType": "NONE"}).WantError(t, 409, "ResourceConflictException",
			"Failed to create function url config for [functionArn = "+arn+"]. Error message:  FunctionUrlConfig exists for this Lambda function")
		d.Call(t, "CreateFunctionUrlConfig", Params{"FunctionName": name, "Qualifier": "1", "AuthType": "NONE"}).WantError(t, 400, "ValidationException",
			`1 validation error detected: Value '1' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)`)
		d.Call(t, "CreateFunctionUrlConfig", Params{"FunctionName": "doesnotexist", "AuthType": "NONE"}).WantError(t, 404, "ResourceNotFoundException", "Function does not exist")
		d.Call(t, "GetFunctionUrlConfig", Params{"FunctionName": name, "Qualifier": "v1"}).WantError(t, 404, "ResourceNotFoundException", "The resource you requested does not exist.")

		d.Call(t, "DeleteFunctionUrlConfig", Params{"FunctionName": name}).OK(t).WantStatus(t, 204)
		d.Call(t, "GetFunctionUrlConfig", Params{"FunctionName": name}).WantError(t, 404, "ResourceNotFoundException", "The resource you requested does not exist.")
		d.Call(t, "GetFunctionUrlConfig", Params{"FunctionName": name, "Qualifier": "live"}).OK(t)
		d.Call(t, "DeleteAlias", Params{"FunctionName": name, "Name": "live"}).OK(t)
		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "$LATEST"}).OK(t)
		d.Call(t, "GetFunctionUrlConfig", Params{"FunctionName": name, "Qualifier": "live"}).WantError(t, 404, "ResourceNotFoundException", "")
	})
}

// urlClient is an HTTP client that reaches <anything>.localhost on srv's
// port, as browsers and curl do: Go's resolver does not resolve the
// *.localhost names by itself.
func urlClient(srv *Server) *http.Client {
	addr := strings.TrimPrefix(srv.Endpoint, "http://")
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, hostport string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(hostport); err == nil && strings.HasSuffix(host, ".localhost") {
			hostport = addr
		}
		return dialer.DialContext(ctx, network, hostport)
	}, DisableCompression: true}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// fetch sends one request with the Go client and returns the response and
// its body.
func fetch(t testing.TB, c *http.Client, method, u, body string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return resp, b
}

// echoEvent decodes the event the test function echoed.
func echoEvent(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("the function did not echo an event: %v: %q", err, body)
	}
	return ev
}

// curlResult is what curl received.
type curlResult struct {
	status int
	header http.Header
	body   []byte
}

var curlPath string

// runCurl runs curl with args, adding the flags that make it report the
// response headers and body separately.
func runCurl(t testing.TB, args ...string) *curlResult {
	t.Helper()
	if curlPath == "" {
		p, err := exec.LookPath("curl")
		if err != nil {
			requireTool(t, "curl is not installed")
		}
		curlPath = p
	}
	dir := t.TempDir()
	headers, body := filepath.Join(dir, "headers"), filepath.Join(dir, "body")
	cmd := exec.CommandContext(t.Context(), curlPath, append([]string{"-sS", "--max-time", "300", "-D", headers, "-o", body}, args...)...)
	dieWithTest(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	hb, _ := os.ReadFile(headers)
	b, _ := os.ReadFile(body)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(hb)), nil)
	if err != nil {
		t.Fatalf("curl %s: headers %q: %v", strings.Join(args, " "), hb, err)
	}
	return &curlResult{status: resp.StatusCode, header: resp.Header, body: b}
}

// webFunction creates function name running the Go test function (an HTTP
// app for URL events, see internal/testfn/gofn/url.go), with a Timeout
// that no test reaches, and a URL of authType (and extra config) that
// anyone may invoke when it is NONE, and returns the URL.
func webFunction(t testing.TB, d Driver, name, authType string, extra Params) string {
	t.Helper()
	createFunction(t, d, name, goFn, "web", Params{"Timeout": 300})
	p := Params{"FunctionName": name, "AuthType": authType}
	for k, v := range extra {
		p[k] = v
	}
	u := d.Call(t, "CreateFunctionUrlConfig", p).OK(t).Str("FunctionUrl")
	if authType == "NONE" {
		d.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "public", "Action": "lambda:InvokeFunctionUrl",
			"Principal": "*", "FunctionUrlAuthType": "NONE"}).OK(t)
	}
	return u
}

// pathForm is u in the form served under /lambda-url/ on the listener.
func pathForm(srv *Server, u string) string {
	id := reFunctionURL.FindStringSubmatch(u)[1]
	return srv.Endpoint + "/lambda-url/" + id + "/"
}

// TestFunctionURLTraffic: a function URL called with curl and Go's
// net/http, by host and by path: query strings, cookies, text and binary
// bodies, the response mappings, function errors, and who may call.
func TestFunctionURLTraffic(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	u := webFunction(t, d, "web", "NONE", nil)
	client := urlClient(srv)

	t.Run("go", func(t *testing.T) {
		resp, body := fetch(t, client, "GET", u+"some/path?q=query&multi=foo&multi=%2Fbar", "", http.Header{
			"Cookie": {"a=1; b=2"}, "ExTrA-HeadErs": {"With WeiRd CapS"}, "User-Agent": {"lambdahost-e2e"},
		})
		if resp.StatusCode != 200 || resp.Header.Get("X-Echo") != "1" || resp.Header.Get("Set-Cookie") != "served=web; Path=/" ||
			resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("GET: %d %v", resp.StatusCode, resp.Header)
		}
		ev := echoEvent(t, body)
		ctx := ev["requestContext"].(map[string]any)
		httpCtx := ctx["http"].(map[string]any)
		host := strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/")
		checks := map[string][2]any{
			"rawPath":          {ev["rawPath"], "/some/path"},
			"rawQueryString":   {ev["rawQueryString"], "q=query&multi=foo&multi=%2Fbar"},
			"cookies":          {fmt.Sprint(ev["cookies"]), "[a=1 b=2]"},
			"query":            {fmt.Sprint(ev["queryStringParameters"]), "map[multi:foo,/bar q:query]"},
			"extra-headers":    {ev["headers"].(map[string]any)["extra-headers"], "With WeiRd CapS"},
			"host":             {ev["headers"].(map[string]any)["host"], host},
			"method":           {httpCtx["method"], "GET"},
			"userAgent":        {httpCtx["userAgent"], "lambdahost-e2e"},
			"accountId":        {ctx["accountId"], "anonymous"},
			"requestId":        {ctx["requestId"], resp.Header.Get("X-Amzn-Requestid")},
			"domainName":       {ctx["domainName"], strings.Split(host, ":")[0]},
			"no body":          {ev["body"], nil},
			"isBase64Encoded":  {ev["isBase64Encoded"], false},
			"x-forwarded-for":  {ev["headers"].(map[string]any)["x-forwarded-for"], "127.0.0.1"},
			"x-forwarded-port": {ev["headers"].(map[string]any)["x-forwarded-port"], strings.Split(host, ":")[1]},
		}
		for what, c := range checks {
			if c[0] != c[1] {
				t.Errorf("%s = %v, want %v", what, c[0], c[1])
			}
		}

		bin := make([]byte, 300)
		for i := range bin {
			bin[i] = byte(i * 7)
		}
		_, body = fetch(t, client, "POST", u, string(bin), http.Header{"Content-Type": {"application/octet-stream"}})
		ev = echoEvent(t, body)
		if got, _ := base64.StdEncoding.DecodeString(str(ev, "body")); ev["isBase64Encoded"] != true || !bytes.Equal(got, bin) {
			t.Errorf("binary POST arrives as %v %q", ev["isBase64Encoded"], ev["body"])
		}
		_, body = fetch(t, client, "POST", u, `{"k":"v"}`, http.Header{"Content-Type": {"application/json"}})
		if ev = echoEvent(t, body); ev["body"] != `{"k":"v"}` || ev["isBase64Encoded"] != false {
			t.Errorf("JSON POST arrives as %v %v", ev["isBase64Encoded"], ev["body"])
		}

		resp, body = fetch(t, client, "GET", u+"binary", "", nil)
		want := make([]byte, 256)
		for i := range want {
			want[i] = byte(i)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(body, want) {
			t.Errorf("binary response: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		resp, body = fetch(t, client, "GET", u+"status/418", "", nil)
		if resp.StatusCode != 418 || string(body) != "status 418" {
			t.Errorf("status: %d %q", resp.StatusCode, body)
		}
		resp, body = fetch(t, client, "GET", u+"string", "", nil)
		if resp.StatusCode != 200 || string(body) != "hello" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("string: %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
		}
		resp, body = fetch(t, client, "GET", u+"fail", "", nil)
		if resp.StatusCode != 502 || string(body) != "Internal Server Error" {
			t.Errorf("function error: %d %q", resp.StatusCode, body)
		}
		// The same URL by path.
		resp, body = fetch(t, http.DefaultClient, "GET", pathForm(srv, u)+"by/path?x=1", "", nil)
		if ev = echoEvent(t, body); resp.StatusCode != 200 || ev["rawPath"] != "/by/path" || ev["rawQueryString"] != "x=1" {
			t.Errorf("by path: %d %v %v", resp.StatusCode, ev["rawPath"], ev["rawQueryString"])
		}
	})

	t.Run("curl", func(t *testing.T) {
		// curl resolves *.localhost to the loopback address itself.
		r := runCurl(t, "--cookie", "c=3; d=4", "-H", "X-Custom: yes", u+"curl/path?x=1&x=2&y=%20z")
		if r.status != 200 || r.header.Get("Set-Cookie") != "served=web; Path=/" {
			t.Fatalf("curl GET: %d %v", r.status, r.header)
		}
		ev := echoEvent(t, r.body)
		if ev["rawPath"] != "/curl/path" || fmt.Sprint(ev["cookies"]) != "[c=3 d=4]" || fmt.Sprint(ev["queryStringParameters"]) != "map[x:1,2 y: z]" ||
			ev["headers"].(map[string]any)["x-custom"] != "yes" || !strings.HasPrefix(str(ev["headers"].(map[string]any), "user-agent"), "curl/") {
			t.Errorf("curl event %v", ev)
		}
		file := filepath.Join(t.TempDir(), "upload.bin")
		data := []byte{0, 1, 2, 3, 0xff, 0xfe, 0xfd}
		os.WriteFile(file, data, 0o600)
		r = runCurl(t, "-X", "PUT", "-H", "Content-Type: image/png", "--data-binary", "@"+file, pathForm(srv, u)+"upload")
		ev = echoEvent(t, r.body)
		if got, _ := base64.StdEncoding.DecodeString(str(ev, "body")); ev["isBase64Encoded"] != true || !bytes.Equal(got, data) || ev["rawPath"] != "/upload" {
			t.Errorf("curl binary upload by path: %v", ev)
		}
		r = runCurl(t, "-d", "a=1&b=2", u)
		if ev = echoEvent(t, r.body); ev["isBase64Encoded"] != true || str(ev, "body") != base64.StdEncoding.EncodeToString([]byte("a=1&b=2")) {
			t.Errorf("a form arrives as %v %v", ev["isBase64Encoded"], ev["body"])
		}
		r = runCurl(t, u+"fail")
		if r.status != 502 || string(r.body) != "Internal Server Error" {
			t.Errorf("curl function error: %d %q", r.status, r.body)
		}
	})

	t.Run("auth", func(t *testing.T) {
		// Without the public statement, a NONE URL is forbidden.
		d.Call(t, "RemovePermission", Params{"FunctionName": "web", "StatementId": "public"}).OK(t)
		r := runCurl(t, u)
		if r.status != 403 || string(r.body) != `{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}` {
			t.Errorf("NONE without permission: %d %q", r.status, r.body)
		}
		d.Call(t, "AddPermission", Params{"FunctionName": "web", "StatementId": "public", "Action": "lambda:InvokeFunctionUrl",
			"Principal": "*", "FunctionUrlAuthType": "NONE"}).OK(t)
		if r = runCurl(t, u); r.status != 200 {
			t.Errorf("NONE with permission again: %d", r.status)
		}

		// AWS_IAM: an alias with its own URL.
		d.Call(t, "CreateAlias", Params{"FunctionName": "web", "Name": "iam", "FunctionVersion": "$LATEST"}).OK(t)
		iam := d.Call(t, "CreateFunctionUrlConfig", Params{"FunctionName": "web", "Qualifier": "iam", "AuthType": "AWS_IAM"}).OK(t).Str("FunctionUrl")
		r = runCurl(t, iam)
		if r.status != 403 || string(r.body) != `{"Message":"Forbidden"}` {
			t.Errorf("AWS_IAM unsigned: %d %q", r.status, r.body)
		}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", iam+"signed?x=1", strings.NewReader("signed body"))
		req.Header.Set("Content-Type", "text/plain")
		sum := sha256.Sum256([]byte("signed body"))
		creds := aws.Credentials{AccessKeyID: TestCredentials.AccessKeyID, SecretAccessKey: TestCredentials.SecretAccessKey}
		if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("AWS_IAM signed: %d %s", resp.StatusCode, body)
		}
		ev := echoEvent(t, body)
		iamCtx := ev["requestContext"].(map[string]any)["authorizer"].(map[string]any)["iam"].(map[string]any)
		if iamCtx["accessKey"] != "test" || iamCtx["accountId"] != "000000000000" || iamCtx["userArn"] != "arn:aws:iam::000000000000:user/test" ||
			ev["body"] != "signed body" {
			t.Errorf("AWS_IAM event: %v", ev)
		}
		// A deleted URL is unknown.
		d.Call(t, "DeleteFunctionUrlConfig", Params{"FunctionName": "web", "Qualifier": "iam"}).OK(t)
		if r = runCurl(t, iam); r.status != 403 || string(r.body) != `{"Message":null}` || r.header.Get("X-Amzn-Errortype") != "AccessDeniedException" {
			t.Errorf("deleted URL: %d %q %v", r.status, r.body, r.header)
		}
	})
}

// streamGap is how long the streaming test function waits between its
// two parts. Only a reader that got the first part while the function was
// still running can see the function busy; the gap is that window, and
// nothing is asserted about how long delivery takes within it.
const streamGap = 15 * time.Second

// streamTimeout bounds how long a streaming test waits for the first part.
const streamTimeout = 2 * time.Minute

// streamingFunction creates function name with a RESPONSE_STREAM URL that
// anyone may invoke and a reserved concurrency of 1, and returns the URL.
func streamingFunction(t testing.TB, d Driver, name string) string {
	t.Helper()
	u := webFunction(t, d, name, "NONE", Params{"InvokeMode": "RESPONSE_STREAM"})
	d.Call(t, "PutFunctionConcurrency", Params{"FunctionName": name, "ReservedConcurrentExecutions": 1}).OK(t)
	return u
}

// wantBusy checks that function name is still running its one allowed
// invocation: another is throttled. A reader that has the stream's first
// part while this holds got it as it was written, not when the function
// was done.
func wantBusy(t testing.TB, d Driver, name string) {
	t.Helper()
	r := invoke(t, d, name, map[string]any{})
	r.WantError(t, 429, "TooManyRequestsException", "")
}

// readFirst reads the first part of a stream, "chunk 0;", from r within
// streamTimeout.
func readFirst(t testing.TB, r io.Reader) {
	t.Helper()
	first := make([]byte, len("chunk 0;"))
	got := make(chan error, 1)
	go func() { _, err := io.ReadFull(r, first); got <- err }()
	select {
	case err := <-got:
		if err != nil || string(first) != "chunk 0;" {
			t.Fatalf("first part %q, %v", first, err)
		}
	case <-time.After(streamTimeout):
		t.Fatalf("the first part did not arrive in %v", streamTimeout)
	}
}

// TestFunctionURLStreaming: a RESPONSE_STREAM URL passes on what the
// function writes as it writes it. The function writes "chunk 0;", then
// "chunk 1;" streamGap later; the reader, once it has chunk 0, finds the
// function still busy (its one allowed invocation throttles another), so
// chunk 0 reached it before the function was done.
func TestFunctionURLStreaming(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	client := urlClient(srv)

	t.Run("go", func(t *testing.T) {
		t.Parallel()
		u := streamingFunction(t, d, "stream-go")
		req, _ := http.NewRequestWithContext(t.Context(), "GET", u+"stream?gap_ms="+fmt.Sprint(streamGap.Milliseconds()), nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 201 || resp.Header.Get("X-Stream") != "yes" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
		}
		readFirst(t, resp.Body)
		wantBusy(t, d, "stream-go")
		rest, err := io.ReadAll(resp.Body)
		if err != nil || string(rest) != "chunk 1;" {
			t.Errorf("rest %q, %v", rest, err)
		}
	})

	t.Run("curl", func(t *testing.T) {
		t.Parallel()
		if _, err := exec.LookPath("curl"); err != nil {
			requireTool(t, "curl is not installed")
		}
		u := streamingFunction(t, d, "stream-curl")
		cmd := exec.CommandContext(t.Context(), "curl", "-sS", "-N", "--max-time", "300", u+"stream?gap_ms="+fmt.Sprint(streamGap.Milliseconds()))
		dieWithTest(cmd)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		readFirst(t, out)
		wantBusy(t, d, "stream-curl")
		rest, _ := io.ReadAll(out)
		if err := cmd.Wait(); err != nil || string(rest) != "chunk 1;" {
			t.Errorf("curl: rest %q, %v", rest, err)
		}
	})

	t.Run("chunks", func(t *testing.T) {
		t.Parallel()
		u := webFunction(t, d, "stream-chunks", "NONE", Params{"InvokeMode": "RESPONSE_STREAM"})
		resp, body := fetch(t, client, "GET", u+"stream?chunks=5", "", nil)
		if resp.StatusCode != 201 || string(body) != "chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;" {
			t.Errorf("streamed %d %q", resp.StatusCode, body)
		}
		// What the function answers without streaming is streamed as it
		// is: a response object is not mapped, as on AWS.
		resp, body = fetch(t, client, "GET", u+"status/202", "", nil)
		if ev := echoEvent(t, body); resp.StatusCode != 200 || ev["statusCode"] != float64(202) || ev["body"] != "status 202" {
			t.Errorf("buffered answer on a streaming URL: %d %q", resp.StatusCode, body)
		}
		resp, body = fetch(t, client, "GET", u+"fail", "", nil)
		if resp.StatusCode != 502 || string(body) != "Internal Server Error" {
			t.Errorf("failure on a streaming URL: %d %q", resp.StatusCode, body)
		}
	})
}

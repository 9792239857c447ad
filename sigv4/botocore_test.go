package sigv4_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lambdahost/lambdahost/sigv4"
)

// botocoreCase is one request for testdata/botocore_sign.py to sign.
type botocoreCase struct {
	Kind      string            `json:"kind"`
	Operation string            `json:"operation,omitempty"`
	Params    map[string]any    `json:"params,omitempty"`
	Method    string            `json:"method,omitempty"`
	URL       string            `json:"url,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body,omitempty"`
	Expires   int               `json:"expires,omitempty"`
}

// botocoreRequest is a request as botocore would send it.
type botocoreRequest struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers"`
	BodyB64 string      `json:"body_b64"`
}

// wire returns the bytes urllib3 would send for r.
func (r botocoreRequest) wire(tb testing.TB) []byte {
	tb.Helper()
	u, err := url.Parse(r.URL)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := base64.StdEncoding.DecodeString(r.BodyB64)
	if err != nil {
		tb.Fatal(err)
	}
	target := u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, target, u.Host)
	hasLength := false
	for _, h := range r.Headers {
		hasLength = hasLength || strings.EqualFold(h[0], "Content-Length")
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if !hasLength && len(body) > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// date returns the time botocore signed r at.
func (r botocoreRequest) date(tb testing.TB) time.Time {
	tb.Helper()
	for _, h := range r.Headers {
		switch strings.ToLower(h[0]) {
		case "x-amz-date":
			t, err := time.Parse("20060102T150405Z", h[1])
			if err != nil {
				tb.Fatal(err)
			}
			return t
		case "date":
			t, err := time.Parse(time.RFC1123Z, h[1])
			if err != nil {
				tb.Fatal(err)
			}
			return t
		}
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
	if err != nil {
		tb.Fatalf("no date in %+v", r)
	}
	return t
}

// signBotocore runs testdata/botocore_sign.py on cases. It skips the test
// if python3 or botocore is missing, unless LAMBDAHOST_E2E_REQUIRE=1.
func signBotocore(t *testing.T, cases []botocoreCase) []botocoreRequest {
	t.Helper()
	missing := func(reason string) {
		t.Helper()
		if os.Getenv("LAMBDAHOST_E2E_REQUIRE") == "1" {
			t.Fatalf("%s, and LAMBDAHOST_E2E_REQUIRE=1", reason)
		}
		t.Skipf("skipping botocore signatures: %s (set LAMBDAHOST_E2E_REQUIRE=1 to fail instead)", reason)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		missing("python3 not found in PATH")
	}
	if out, err := exec.CommandContext(t.Context(), python, "-c", "import botocore").CombinedOutput(); err != nil {
		missing(fmt.Sprintf("python3 cannot import botocore: %v: %s", err, out))
	}

	spec, err := json.Marshal(map[string]any{
		"access_key": testCred.AccessKey,
		"secret":     testCred.Secret,
		"region":     testRegion,
		"endpoint":   "http://" + host,
		"cases":      cases,
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), python, "testdata/botocore_sign.py")
	cmd.Stdin = bytes.NewReader(spec)
	// Keep the developer's AWS configuration out of it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore_sign.py: %v\n%s", err, stderr.String())
	}
	var reqs []botocoreRequest
	if err := json.Unmarshal(out, &reqs); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != len(cases) {
		t.Fatalf("botocore_sign.py returned %d requests for %d cases", len(reqs), len(cases))
	}
	return reqs
}

// TestVerifyBotocore verifies requests signed by botocore, the signer of
// the aws CLI and boto3: real Lambda client calls, and raw SigV4Auth and
// SigV4QueryAuth signatures for the corners (Date header, dot segments,
// presigning).
func TestVerifyBotocore(t *testing.T) {
	tests := []struct {
		name string
		c    botocoreCase
	}{
		{name: "get-function-arn-latest", c: botocoreCase{Kind: "client", Operation: "get_function", Params: map[string]any{"FunctionName": fnARN, "Qualifier": "$LATEST"}}},
		{name: "get-function-configuration-partial-arn", c: botocoreCase{Kind: "client", Operation: "get_function_configuration", Params: map[string]any{"FunctionName": "000000000000:function:my-fn:live"}}},
		{name: "list-functions-marker", c: botocoreCase{Kind: "client", Operation: "list_functions", Params: map[string]any{"Marker": "a b+c/d=é", "MaxItems": 5, "FunctionVersion": "ALL"}}},
		{name: "invoke-payload", c: botocoreCase{Kind: "client", Operation: "invoke", Params: map[string]any{"FunctionName": fnARN, "Qualifier": "$LATEST", "Payload": `{"key": "value"}`, "LogType": "Tail", "InvocationType": "RequestResponse"}}},
		{name: "invoke-empty-payload", c: botocoreCase{Kind: "client", Operation: "invoke", Params: map[string]any{"FunctionName": "my-fn"}}},
		{name: "update-function-code", c: botocoreCase{Kind: "client", Operation: "update_function_code", Params: map[string]any{"FunctionName": "my-fn", "ImageUri": "registry.test/fn:latest", "Publish": true}}},
		{name: "delete-function-qualifier", c: botocoreCase{Kind: "client", Operation: "delete_function", Params: map[string]any{"FunctionName": "my-fn", "Qualifier": "3"}}},
		{name: "add-permission", c: botocoreCase{Kind: "client", Operation: "add_permission", Params: map[string]any{"FunctionName": fnARN, "StatementId": "s1", "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com", "Qualifier": "live"}}},
		{name: "list-tags-arn-in-path", c: botocoreCase{Kind: "client", Operation: "list_tags", Params: map[string]any{"Resource": fnARN}}},
		{name: "raw-date-header", c: botocoreCase{Kind: "raw", Method: "GET", URL: "http://" + host + "/2015-03-31/functions/x?b=2&a=1", Headers: map[string]string{"Date": "x"}}},
		{name: "raw-dot-segments", c: botocoreCase{Kind: "raw", Method: "GET", URL: "http://" + host + "/2015-03-31//functions/./x/../y/"}},
		{name: "raw-post-content-type", c: botocoreCase{Kind: "raw", Method: "POST", URL: "http://" + host + "/2015-03-31/functions", Headers: map[string]string{"Content-Type": "application/json", "X-Custom": "a   b"}, Body: `{"FunctionName":"f"}`}},
		{name: "presign-get", c: botocoreCase{Kind: "presign", Method: "GET", URL: "http://" + host + "/2015-03-31/functions/" + escARN + "?Qualifier=%24LATEST", Expires: 300}},
	}
	cases := make([]botocoreCase, len(tests))
	for i, tt := range tests {
		cases[i] = tt.c
	}
	reqs := signBotocore(t, cases)
	for i, tt := range tests {
		r := reqs[i]
		t.Run(tt.name, func(t *testing.T) {
			wire := r.wire(t)
			date := r.date(t)
			got, err := verifyWire(t, newVerifier(date), wire)
			if err != nil {
				t.Fatalf("verify: %v\n%s", err, wire)
			}
			want := sigv4.Result{AccessKey: testCred.AccessKey, Account: testCred.Account, Region: testRegion, Service: "lambda", Date: date}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Result mismatch (-want +got):\n%s", diff)
			}

			// And tampered, it fails.
			for _, mutate := range []func(string) string{addQuery("x=1"), changeBody, changePath} {
				tampered := mutate(string(wire))
				if _, err := verifyWire(t, newVerifier(date), []byte(tampered)); errorCode(err) != sigv4.InvalidSignatureException {
					t.Errorf("tampered request: error = %v, want %s\n%s", err, sigv4.InvalidSignatureException, tampered)
				}
			}
		})
	}
}

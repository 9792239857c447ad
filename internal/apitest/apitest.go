// Package apitest is the wire test harness every service's package shares
// (http for Lambda, kms, signer, ...): requests signed as the aws CLI
// signs them, at a fixed clock, for the test accounts; and golden files
// that pin a response's status, chosen headers and body, rewritten with
// go test -update.
package apitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/lambdahost/lambdahost/sigv4"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Clock is the fixed time of golden tests: requests are signed at it and
// services stamp times with it.
var Clock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Host is the Host of test requests.
const Host = "lambdahost.test"

// Region is the region test requests are signed for.
const Region = "us-east-1"

// The test accounts' credentials, which Verifier knows.
var (
	// Test is account 000000000000's.
	Test = aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	// Other is account 111111111111's.
	Other = aws.Credentials{AccessKeyID: "other", SecretAccessKey: "other"}
	// Session is an execution environment's temporary credentials, for
	// role SessionARN in account 111111111111.
	Session = aws.Credentials{AccessKeyID: "ASIAEXAMPLESESSION01", SecretAccessKey: "session-secret", SessionToken: "good-token"}
	// ExpiredSession is Session with the token of a session that has
	// expired.
	ExpiredSession = aws.Credentials{AccessKeyID: Session.AccessKeyID, SecretAccessKey: Session.SecretAccessKey, SessionToken: "expired-token"}
)

// SessionARN and SessionUserID identify Session's caller, as STS
// GetCallerIdentity answers.
const (
	SessionARN    = "arn:aws:sts::111111111111:assumed-role/lambda-role/f"
	SessionUserID = "AROAEXAMPLEROLEID:f"
)

// Verifier returns a verifier for service that knows Test, Other and
// Session (and ExpiredSession as expired), with its clock at Clock.
func Verifier(service string) *sigv4.Verifier {
	return &sigv4.Verifier{Service: service, Now: func() time.Time { return Clock }, Lookup: func(k string) (sigv4.Credential, bool) {
		switch k {
		case Test.AccessKeyID:
			return sigv4.Credential{AccessKey: "test", Secret: "test", Account: "000000000000"}, true
		case Other.AccessKeyID:
			return sigv4.Credential{AccessKey: "other", Secret: "other", Account: "111111111111"}, true
		}
		return sigv4.Credential{}, false
	}, LookupSession: func(k, token string) (sigv4.Credential, error) {
		switch {
		case k == Session.AccessKeyID && token == Session.SessionToken:
			return sigv4.Credential{AccessKey: k, Secret: Session.SecretAccessKey, Account: "111111111111",
				Principal: SessionARN, UserID: SessionUserID}, nil
		case k == ExpiredSession.AccessKeyID && token == ExpiredSession.SessionToken:
			return sigv4.Credential{}, fmt.Errorf("session of %s: %w", k, sigv4.ErrTokenExpired)
		}
		return sigv4.Credential{}, errors.New("no such session")
	}}
}

// Counter returns a function that formats 1, 2, 3... with format, safe
// for concurrent use: deterministic IDs for golden files.
func Counter(format string) func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf(format, n)
	}
}

// Sign signs req, whose body is body, for service as creds in region at
// Clock, as the aws CLI signs it.
func Sign(req *http.Request, body, service string, creds aws.Credentials, region string) error {
	sum := sha256.Sum256([]byte(body))
	return v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, Clock)
}

// Response is what a golden file pins.
type Response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// pinnedHeaders are the response headers a golden file compares.
var pinnedHeaders = []string{"Content-Type", "X-Amzn-Errortype", "Retry-After", "X-Amz-Function-Error", "X-Amz-Executed-Version", "X-Amz-Log-Result"}

// Request is a request for Send.
type Request struct {
	// Service is the signing name the request is signed for.
	Service      string
	Method, Path string
	Body         string
	// Creds signs the request; unsigned if it has no access key.
	Creds aws.Credentials
	// Region is the scope's region; Region if empty.
	Region string
	// Header is set before signing. Content-Type is application/json for
	// a request with a body, unless Header sets it.
	Header http.Header
	// Mutate, if set, changes the request after signing.
	Mutate func(*http.Request)
}

// Send sends req to the server at base (an httptest.Server's URL) and
// returns its status, the pinned headers and the indented JSON body (or
// the body as a JSON string if it is not JSON).
func Send(tb testing.TB, base string, req Request) Response {
	tb.Helper()
	r, err := http.NewRequest(req.Method, base+req.Path, strings.NewReader(req.Body))
	if err != nil {
		tb.Fatal(err)
	}
	r.Host = Host
	if req.Body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.Header {
		r.Header[k] = v
	}
	region := req.Region
	if region == "" {
		region = Region
	}
	if req.Creds.AccessKeyID != "" {
		if err := Sign(r, req.Body, req.Service, req.Creds, region); err != nil {
			tb.Fatal(err)
		}
	}
	if req.Mutate != nil {
		req.Mutate(r)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := Response{Status: resp.StatusCode, Headers: map[string]string{}}
	for _, h := range pinnedHeaders {
		if v := resp.Header.Get(h); v != "" {
			out.Headers[h] = v
		}
	}
	if len(b) > 0 {
		var buf bytes.Buffer
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			out.Body, _ = json.Marshal(string(b))
		} else {
			out.Body = buf.Bytes()
		}
	}
	return out
}

// CheckGolden compares got with testdata/golden/<op>/<name>.json of the
// package under test, after JSON normalization; with -update it writes it.
func CheckGolden(t *testing.T, op, name string, got Response) {
	t.Helper()
	path := filepath.Join("testdata", "golden", op, name+".json")
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if !jsonEqual(want, b) {
		t.Errorf("%s differs from golden file:\n--- want\n%s\n--- got\n%s", path, want, b)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// ServeFuzzed signs req (with body) for service as Test, serves it with h
// and fails t if h answers a 5xx or, when awsErrors, a client error that
// is not AWS-shaped (an X-Amzn-Errortype header and a JSON body, or a
// query protocol's XML ErrorResponse): whatever a fuzzer sends, a service
// answers success or a client error.
func ServeFuzzed(t *testing.T, h http.Handler, req *http.Request, body, service string, awsErrors bool) {
	t.Helper()
	if err := Sign(req, body, service, Test, Region); err != nil {
		return
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code >= 500 {
		t.Fatalf("%s %s?%s %s with %q: HTTP %d %s %s", req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Get("X-Amz-Target"), truncate(body), w.Code, w.Header().Get("X-Amzn-Errortype"), w.Body)
	}
	if w.Code >= 400 && awsErrors && !queryError(w) && (w.Header().Get("X-Amzn-Errortype") == "" || !json.Valid(w.Body.Bytes())) {
		t.Fatalf("%s %s: HTTP %d, X-Amzn-Errortype %q, body %q", req.Method, req.URL.Path, w.Code, w.Header().Get("X-Amzn-Errortype"), w.Body)
	}
}

// queryError reports whether w holds a query protocol error: an XML
// ErrorResponse naming its code.
func queryError(w *httptest.ResponseRecorder) bool {
	if w.Header().Get("Content-Type") != "text/xml" {
		return false
	}
	var doc struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Code    string   `xml:"Error>Code"`
	}
	return xml.Unmarshal(w.Body.Bytes(), &doc) == nil && doc.Code != ""
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

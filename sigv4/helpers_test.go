package sigv4_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambdahost/lambdahost/sigv4"
)

// Fixed test credentials and clock.
var (
	testCred = sigv4.Credential{
		AccessKey: "AKIDEXAMPLE",
		Secret:    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		Account:   "000000000000",
	}
	testTime   = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	testRegion = "us-east-1"
)

// newVerifier returns a Verifier for service lambda that knows testCred
// and whose clock stands at now.
func newVerifier(now time.Time) *sigv4.Verifier {
	return &sigv4.Verifier{
		Lookup:  lookup(testCred),
		Service: "lambda",
		Now:     func() time.Time { return now },
	}
}

func lookup(creds ...sigv4.Credential) func(string) (sigv4.Credential, bool) {
	return func(key string) (sigv4.Credential, bool) {
		for _, c := range creds {
			if c.AccessKey == key {
				return c, true
			}
		}
		return sigv4.Credential{}, false
	}
}

// request describes a client request before signing.
type request struct {
	method string
	url    string
	header http.Header
	body   string
}

// signSDK signs req with aws-sdk-go-v2's v4.Signer at testTime and returns
// the bytes a Go client puts on the wire. payloadHash defaults to the
// SHA-256 of the body.
func signSDK(tb testing.TB, req request, payloadHash string, opts ...func(*v4.SignerOptions)) []byte {
	tb.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r, err := http.NewRequest(req.method, req.url, body)
	if err != nil {
		tb.Fatal(err)
	}
	for k, vs := range req.header {
		r.Header[k] = append([]string(nil), vs...)
	}
	if payloadHash == "" {
		payloadHash = sha256Hex(req.body)
	}
	creds := aws.Credentials{AccessKeyID: testCred.AccessKey, SecretAccessKey: testCred.Secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadHash, "lambda", testRegion, testTime, opts...); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// parseWire reads a request from wire bytes as the HTTP server would.
func parseWire(tb testing.TB, wire []byte) *http.Request {
	tb.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		tb.Fatalf("read request: %v\n%s", err, wire)
	}
	return r
}

// verify runs Start, hashes the body as the HTTP layer does and runs
// Finish.
func verify(v *sigv4.Verifier, r *http.Request) (sigv4.Result, error) {
	p, err := v.Start(r)
	if err != nil {
		return sigv4.Result{}, err
	}
	h := sha256.New()
	if r.Body != nil {
		if _, err := io.Copy(h, r.Body); err != nil {
			return sigv4.Result{}, err
		}
	}
	return p.Finish(hex.EncodeToString(h.Sum(nil)))
}

// verifyWire parses wire and verifies it.
func verifyWire(tb testing.TB, v *sigv4.Verifier, wire []byte) (sigv4.Result, error) {
	tb.Helper()
	return verify(v, parseWire(tb, wire))
}

// errorCode returns the Code of err if it is a *sigv4.Error, or "" if err
// is nil, or "not-a-sigv4-error".
func errorCode(err error) sigv4.Kind {
	if err == nil {
		return ""
	}
	var e *sigv4.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "not-a-sigv4-error"
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// rawRequest builds a request by hand. With creds, it is signed with
// SigV4 as the SDK signs, over the payload signed; body is what is sent
// (tests pass a different body to tamper with a signed request). Without
// creds it is not signed.
func rawRequest(t testing.TB, method, url string, creds *Credentials, region string, signed, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if creds == nil {
		return req
	}
	sum := sha256.Sum256(signed)
	c := aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(t.Context(), c, req, hex.EncodeToString(sum[:]), "lambda", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// rawResponse is an answer to a hand-made request.
type rawResponse struct {
	Status    int
	ErrorType string // X-Amzn-ErrorType, without any ":..." suffix
	Body      map[string]any
}

// message returns the error message, whichever case the member has.
func (r *rawResponse) message() string {
	if m, ok := r.Body["message"].(string); ok {
		return m
	}
	m, _ := r.Body["Message"].(string)
	return m
}

// doRaw sends req and reads the JSON answer.
func doRaw(t testing.TB, client *http.Client, req *http.Request) *rawResponse {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	r := &rawResponse{Status: resp.StatusCode, ErrorType: resp.Header.Get("X-Amzn-ErrorType")}
	r.ErrorType, _, _ = strings.Cut(r.ErrorType, ":")
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &r.Body); err != nil {
			t.Fatalf("%s %s: HTTP %d: body is not JSON: %q", req.Method, req.URL.Path, resp.StatusCode, b)
		}
	}
	return r
}

// wantRawError checks a hand-made request's error answer.
func (r *rawResponse) wantError(t testing.TB, status int, errType, message string) {
	t.Helper()
	if r.Status != status || r.ErrorType != errType {
		t.Errorf("HTTP %d %s (%v), want %d %s", r.Status, r.ErrorType, r.Body, status, errType)
	}
	if message != "" && r.message() != message {
		t.Errorf("message %q, want %q", r.message(), message)
	}
}

// updateCodeBody is UpdateFunctionCode's JSON body carrying zip.
func updateCodeBody(t testing.TB, zip []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"ZipFile": zip})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package awsapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/sigv4"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newAuth(service string, maxBody int) *awsapi.Auth {
	return &awsapi.Auth{
		Verifier: &sigv4.Verifier{Service: "lambda", Now: func() time.Time { return now }, Lookup: func(k string) (sigv4.Credential, bool) {
			return sigv4.Credential{AccessKey: "test", Secret: "test", Account: "000000000000"}, k == "test"
		}},
		Service:    service,
		MaxBody:    maxBody,
		WriteError: awsapi.JSON11{Logger: discard}.WriteError,
	}
}

// signed returns a request with body signed for service; tamper, if set,
// changes it after signing.
func signed(t *testing.T, service, body string, tamper func(*http.Request)) *http.Request {
	t.Helper()
	r := httptest.NewRequest("POST", "http://lambdahost.test/", strings.NewReader(body))
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, hex.EncodeToString(sum[:]), service, "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(r)
	}
	return awsapi.WithOperation(r, "CreateKey")
}

func TestBuffered(t *testing.T) {
	tests := []struct {
		name     string
		service  string
		body     string
		tamper   func(*http.Request)
		wantType lambdahost.ErrorType
	}{
		{name: "verified", service: "kms", body: `{"Description":"d"}`},
		{name: "wrong-scope", service: "lambda", body: `{}`, wantType: lambdahost.InvalidSignatureException},
		{name: "tampered-body", service: "kms", body: `{}`, tamper: func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(`{"a":1}`)) }, wantType: lambdahost.InvalidSignatureException},
		{name: "unsigned", service: "kms", body: `{}`, tamper: func(r *http.Request) { r.Header.Del("Authorization") }, wantType: lambdahost.MissingAuthenticationToken},
		{name: "too-large", service: "kms", body: strings.Repeat("x", 33), wantType: lambdahost.RequestEntityTooLargeException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var caller lambdahost.Caller
			h := newAuth("kms", 32).Buffered(func(w http.ResponseWriter, r *http.Request) {
				got = awsapi.Body(r)
				caller, _ = lambdahost.CallerFrom(r.Context())
			})
			w := httptest.NewRecorder()
			h(w, signed(t, tt.service, tt.body, tt.tamper))
			if typ := w.Header().Get("X-Amzn-Errortype"); typ != string(tt.wantType) {
				t.Fatalf("X-Amzn-Errortype = %q, want %q (%s)", typ, tt.wantType, w.Body)
			}
			if tt.wantType != "" {
				if got != nil {
					t.Error("the handler ran")
				}
				return
			}
			if string(got) != tt.body || caller.Account != "000000000000" || caller.Region != "us-east-1" {
				t.Errorf("body %q, caller %+v", got, caller)
			}
		})
	}
}

// TestBufferedSession: the caller of temporary credentials is the
// principal they act as, in their account.
func TestBufferedSession(t *testing.T) {
	a := newAuth("kms", 0)
	a.Verifier.LookupSession = func(k, token string) (sigv4.Credential, error) {
		if k != "ASIATEST" || token != "token" {
			return sigv4.Credential{}, errors.New("no such session")
		}
		return sigv4.Credential{AccessKey: k, Secret: "session-secret", Account: "111111111111",
			Principal: "arn:aws:sts::111111111111:assumed-role/r/f", UserID: "AROAROLE:f"}, nil
	}
	var caller lambdahost.Caller
	h := a.Buffered(func(w http.ResponseWriter, r *http.Request) { caller, _ = lambdahost.CallerFrom(r.Context()) })
	r := httptest.NewRequest("POST", "http://lambdahost.test/", strings.NewReader("{}"))
	sum := sha256.Sum256([]byte("{}"))
	creds := aws.Credentials{AccessKeyID: "ASIATEST", SecretAccessKey: "session-secret", SessionToken: "token"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "kms", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h(w, r)
	want := lambdahost.Caller{AccessKey: "ASIATEST", Account: "111111111111", Region: "us-east-1",
		ARN: "arn:aws:sts::111111111111:assumed-role/r/f", UserID: "AROAROLE:f"}
	if w.Code != http.StatusOK || caller != want {
		t.Errorf("HTTP %d %s, caller %+v, want %+v", w.Code, w.Body, caller, want)
	}
}

func TestTooLargeNamesOperation(t *testing.T) {
	w := httptest.NewRecorder()
	newAuth("kms", 1).Buffered(func(http.ResponseWriter, *http.Request) {})(w, signed(t, "kms", "{}", nil))
	if want := "Request must be smaller than 1 bytes for the CreateKey operation"; !strings.Contains(w.Body.String(), want) {
		t.Errorf("body %s, want %q", w.Body, want)
	}
}

func TestStreamed(t *testing.T) {
	for _, tt := range []struct {
		name    string
		tamper  func(*http.Request)
		readAll bool
		wantErr bool
	}{
		{name: "verified", readAll: true},
		{name: "not-read-to-end", wantErr: true},
		{name: "tampered-body", readAll: true, tamper: func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("other")) }, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			h := newAuth("lambda", 0).Streamed(func(w http.ResponseWriter, r *http.Request) {
				ran = true
				if tt.readAll {
					io.Copy(io.Discard, r.Body)
				}
				ctx, err := awsapi.VerifiedContext(r)
				if (err != nil) != tt.wantErr {
					t.Fatalf("VerifiedContext: %v, want error %v", err, tt.wantErr)
				}
				if _, ok := lambdahost.CallerFrom(ctx); ok == tt.wantErr {
					t.Errorf("caller in context: %v", ok)
				}
			})
			h(httptest.NewRecorder(), signed(t, "lambda", "code", tt.tamper))
			if !ran {
				t.Error("the handler did not run")
			}
		})
	}
}

func TestStartRequest(t *testing.T) {
	w := httptest.NewRecorder()
	r := awsapi.StartRequest(w, httptest.NewRequest("GET", "/", nil), func() string { return "req-7" })
	if got := lambdahost.RequestIDFrom(r.Context()); got != "req-7" || w.Header().Get("X-Amzn-Requestid") != "req-7" {
		t.Errorf("request ID %q, header %q", got, w.Header().Get("X-Amzn-Requestid"))
	}
}

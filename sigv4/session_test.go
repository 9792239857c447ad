package sigv4_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/lambdahost/lambdahost/sigv4"
)

// Temporary credentials of the session tests.
var (
	sessionCred = sigv4.Credential{
		AccessKey: "ASIAEXAMPLE",
		Secret:    "session-secret",
		Account:   "111111111111",
		Principal: "arn:aws:sts::111111111111:assumed-role/r/fn",
		UserID:    "AROAEXAMPLE:fn",
	}
	sessionToken = "token-of-ASIAEXAMPLE"
)

// sessionVerifier knows testCred as a permanent key and sessionCred with
// sessionToken; "expired-token" is an expired session of the same key.
func sessionVerifier() *sigv4.Verifier {
	v := newVerifier(testTime)
	v.LookupSession = func(key, token string) (sigv4.Credential, error) {
		switch {
		case key == sessionCred.AccessKey && token == sessionToken:
			return sessionCred, nil
		case key == sessionCred.AccessKey && token == "expired-token":
			return sigv4.Credential{}, fmt.Errorf("session of %s: %w", key, sigv4.ErrTokenExpired)
		}
		return sigv4.Credential{}, errors.New("no such session")
	}
	return v
}

// TestSessionToken signs requests with temporary and permanent credentials
// and session tokens in every combination.
func TestSessionToken(t *testing.T) {
	tests := []struct {
		name      string
		key       sigv4.Credential
		token     string
		presigned bool
		verifier  *sigv4.Verifier
		want      sigv4.Kind
	}{
		{name: "session-header", key: sessionCred, token: sessionToken},
		{name: "session-presigned", key: sessionCred, token: sessionToken, presigned: true},
		{name: "permanent-key", key: testCred},
		{name: "session-without-token", key: sessionCred, want: sigv4.UnrecognizedClientException},
		{name: "permanent-key-with-token", key: testCred, token: sessionToken, want: sigv4.UnrecognizedClientException},
		{name: "wrong-token", key: sessionCred, token: "token-of-someone-else", want: sigv4.UnrecognizedClientException},
		{name: "expired-token", key: sessionCred, token: "expired-token", want: sigv4.ExpiredTokenException},
		{name: "expired-token-presigned", key: sessionCred, token: "expired-token", presigned: true, want: sigv4.ExpiredTokenException},
		{name: "no-session-lookup", key: sessionCred, token: sessionToken, verifier: newVerifier(testTime), want: sigv4.UnrecognizedClientException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.verifier
			if v == nil {
				v = sessionVerifier()
			}
			r, err := http.NewRequest("GET", "http://"+host+"/2015-03-31/functions", nil)
			if err != nil {
				t.Fatal(err)
			}
			creds := aws.Credentials{AccessKeyID: tt.key.AccessKey, SecretAccessKey: tt.key.Secret, SessionToken: tt.token}
			if tt.presigned {
				u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, sha256Hex(""), "lambda", testRegion, testTime)
				if err != nil {
					t.Fatal(err)
				}
				if r.URL, err = url.Parse(u); err != nil {
					t.Fatal(err)
				}
			} else if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex(""), "lambda", testRegion, testTime); err != nil {
				t.Fatal(err)
			}
			res, err := verify(v, r)
			if got := errorCode(err); got != tt.want {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if err != nil {
				return
			}
			want := sigv4.Result{AccessKey: tt.key.AccessKey, Account: tt.key.Account, Principal: tt.key.Principal, UserID: tt.key.UserID,
				Region: testRegion, Service: "lambda", Date: testTime}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSessionTokenTampered checks that the session token of a signed
// request cannot be replaced: the SDKs sign the header.
func TestSessionTokenTampered(t *testing.T) {
	v := sessionVerifier()
	r, err := http.NewRequest("GET", "http://"+host+"/2015-03-31/functions", nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: sessionCred.AccessKey, SecretAccessKey: sessionCred.Secret, SessionToken: "expired-token"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex(""), "lambda", testRegion, testTime); err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Amz-Security-Token", sessionToken)
	if _, err := verify(v, r); errorCode(err) != sigv4.InvalidSignatureException {
		t.Errorf("error %v, want %s", err, sigv4.InvalidSignatureException)
	}
}

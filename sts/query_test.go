package sts_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sts"
)

// TestHandle answers GetCallerIdentity for callers of both kinds, and
// refuses malformed requests.
func TestHandle(t *testing.T) {
	root := lambdahost.Caller{AccessKey: "test", Account: "000000000000", Region: "us-east-1"}
	role := lambdahost.Caller{AccessKey: "ASIAXXX", Account: "111111111111", Region: "us-east-1",
		ARN: "arn:aws:sts::111111111111:assumed-role/r/fn", UserID: "AROAXXX:fn"}
	form := "application/x-www-form-urlencoded; charset=utf-8"
	tests := []struct {
		name        string
		caller      lambdahost.Caller
		query, body string
		contentType string
		status      int
		want        string
	}{
		{
			name: "root", caller: root, body: "Action=GetCallerIdentity&Version=2011-06-15", contentType: form, status: 200,
			want: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:root</Arn><UserId>000000000000</UserId><Account>000000000000</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
		},
		{
			name: "assumed-role", caller: role, body: "Action=GetCallerIdentity&Version=2011-06-15", contentType: form, status: 200,
			want: `<Arn>arn:aws:sts::111111111111:assumed-role/r/fn</Arn><UserId>AROAXXX:fn</UserId><Account>111111111111</Account>`,
		},
		{
			name: "query-string", caller: root, query: "Action=GetCallerIdentity&Version=2011-06-15", status: 200,
			want: `<Account>000000000000</Account>`,
		},
		{
			name: "body-wins", caller: root, query: "Action=AssumeRole&Version=2011-06-15", body: "Action=GetCallerIdentity", contentType: form, status: 200,
			want: `<Account>000000000000</Account>`,
		},
		{
			name: "missing-action", caller: root, body: "Version=2011-06-15", contentType: form, status: 400,
			want: `<Code>MissingAction</Code>`,
		},
		{
			name: "unknown-action", caller: root, body: "Action=AssumeRole&Version=2011-06-15", contentType: form, status: 400,
			want: `<Code>InvalidAction</Code><Message>Could not find operation AssumeRole for version 2011-06-15</Message>`,
		},
		{
			name: "no-version", caller: root, body: "Action=GetCallerIdentity", contentType: form, status: 400,
			want: `<Message>Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED</Message>`,
		},
		{
			name: "other-version", caller: root, body: "Action=GetCallerIdentity&Version=2010-01-01", contentType: form, status: 400,
			want: `<Message>Could not find operation GetCallerIdentity for version 2010-01-01</Message>`,
		},
		{
			name: "malformed-body", caller: root, body: "Action=%zz", contentType: form, status: 400,
			want: `<Type>Sender</Type><Code>MalformedQueryString</Code>`,
		},
		{
			name: "json-body", caller: root, body: `{"Action":"GetCallerIdentity"}`, contentType: "application/json", status: 400,
			want: `<Code>UnsupportedMediaType</Code>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/?"+tt.query, strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			ctx := lambdahost.WithRequestID(lambdahost.WithCaller(r.Context(), tt.caller), "req-1")
			r = r.WithContext(ctx)
			w := httptest.NewRecorder()
			if err := sts.Handle(w, r, []byte(tt.body)); err != nil {
				var apiErr *lambdahost.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %v is not an API error", err)
				}
				sts.WriteError(w, "req-1", apiErr)
			}
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/xml" {
				t.Errorf("Content-Type %q", ct)
			}
			if body := w.Body.String(); !strings.HasPrefix(body, "<?xml") || !strings.Contains(body, tt.want) {
				t.Errorf("body\n%s\nlacks\n%s", body, tt.want)
			}
		})
	}
}

// TestWriteError renames the signature check's errors as STS does.
func TestWriteError(t *testing.T) {
	tests := []struct {
		typ    lambdahost.ErrorType
		status int
		want   string
	}{
		{lambdahost.InvalidSignatureException, 403, `<Type>Sender</Type><Code>SignatureDoesNotMatch</Code>`},
		{lambdahost.UnrecognizedClientException, 403, `<Code>InvalidClientTokenId</Code><Message>m</Message>`},
		{lambdahost.ExpiredTokenException, 400, `<Code>ExpiredToken</Code>`},
		{lambdahost.IncompleteSignatureException, 400, `<Code>IncompleteSignature</Code>`},
		{lambdahost.MissingAuthenticationToken, 403, `<Code>MissingAuthenticationToken</Code>`},
		{lambdahost.ServiceException, 500, `<Type>Receiver</Type><Code>InternalFailure</Code>`},
		{lambdahost.RequestEntityTooLargeException, 413, `<Code>RequestEntityTooLargeException</Code>`},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			w := httptest.NewRecorder()
			sts.WriteError(w, "req-2", lambdahost.Errorf(tt.typ, "m"))
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if body := w.Body.String(); !strings.Contains(body, tt.want) || !strings.Contains(body, "<RequestId>req-2</RequestId>") {
				t.Errorf("body %s lacks %s", body, tt.want)
			}
		})
	}
}

// FuzzParseRequest checks that parsing never panics, that it accepts only
// GetCallerIdentity of this version, and that it refuses with a 400 API
// error.
func FuzzParseRequest(f *testing.F) {
	f.Add("", "Action=GetCallerIdentity&Version=2011-06-15", "application/x-www-form-urlencoded; charset=utf-8")
	f.Add("Action=GetCallerIdentity&Version=2011-06-15", "", "")
	f.Add("Action=AssumeRole", "Version=2011-06-15&Action=GetCallerIdentity", "application/x-www-form-urlencoded")
	f.Add("", "Action=%zz", "text/plain")
	f.Add("Action=GetCallerIdentity;Version=2011-06-15", "", "")
	f.Fuzz(func(t *testing.T, query, body, contentType string) {
		r, err := http.NewRequest("POST", "http://sts.test/", strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", contentType)
		req, err := sts.ParseRequest(r, []byte(body))
		if err != nil {
			var apiErr *lambdahost.Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400 API error", err)
			}
			return
		}
		if req.Action != "GetCallerIdentity" || req.Version != sts.APIVersion {
			t.Fatalf("accepted %q version %q", req.Action, req.Version)
		}
	})
}

// FuzzVerify checks that no token but the one issued verifies for an
// access key, and that Verify never panics on what clients send.
func FuzzVerify(f *testing.F) {
	c := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := sts.New(nil, masterKey)
	if err != nil {
		f.Fatal(err)
	}
	s.Now = c.Now
	f.Add("ASIAAAAAAAAAAAAAAAAA", "")
	f.Add("ASIAAAAAAAAAAAAAAAAA", "AQ")
	f.Add("ASIAAAAAAAAAAAAAAAAA", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("", "Ag==")
	f.Fuzz(func(t *testing.T, key, token string) {
		// The store is nil: a token that opened would be checked in it
		// and panic, which is the failure looked for.
		if _, err := s.Verify(t.Context(), key, token); !errors.Is(err, sts.ErrInvalid) {
			t.Fatalf("Verify(%q, %q)=%v, want ErrInvalid", key, token, err)
		}
	})
}

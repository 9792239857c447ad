package sts_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/apitest"
	"github.com/lambdahost/lambdahost/sts"
)

const getCallerIdentity = "Action=GetCallerIdentity&Version=2011-06-15"

// newServer serves STS in process, with apitest's credentials and
// sessions.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	api := sts.NewServer(apitest.Verifier("sts"))
	api.NewRequestID = apitest.Counter("req-%04d")
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

// form is a query protocol request signed for service with creds.
func form(service, body string, creds aws.Credentials) apitest.Request {
	return apitest.Request{Service: service, Method: "POST", Path: "/", Body: body, Creds: creds,
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}}
}

func TestGolden(t *testing.T) {
	forged := apitest.Session
	forged.SessionToken = "forged-token"
	tests := []struct {
		op, name string
		req      apitest.Request
	}{
		{op: "GetCallerIdentity", name: "account-credentials", req: form("sts", getCallerIdentity, apitest.Test)},
		{op: "GetCallerIdentity", name: "session-credentials", req: form("sts", getCallerIdentity, apitest.Session)},
		{op: "GetCallerIdentity", name: "expired-session", req: form("sts", getCallerIdentity, apitest.ExpiredSession)},
		{op: "GetCallerIdentity", name: "forged-session", req: form("sts", getCallerIdentity, forged)},
		{op: "GetCallerIdentity", name: "unknown-key", req: form("sts", getCallerIdentity, aws.Credentials{AccessKeyID: "nobody", SecretAccessKey: "x"})},
		{op: "GetCallerIdentity", name: "signature-mismatch", req: form("sts", getCallerIdentity, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "wrong"})},
		{op: "GetCallerIdentity", name: "unknown-action", req: form("sts", "Action=AssumeRole&Version=2011-06-15", apitest.Session)},
		{op: "GetCallerIdentity", name: "no-version", req: form("sts", "Action=GetCallerIdentity", apitest.Session)},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			apitest.CheckGolden(t, tt.op, tt.name, apitest.Send(t, newServer(t).URL, tt.req))
		})
	}
}

// TestServer answers GetCallerIdentity for callers of both kinds and in
// both of the query protocol's forms, and refuses malformed requests.
func TestServer(t *testing.T) {
	jsonBody := form("sts", `{"Action":"GetCallerIdentity"}`, apitest.Test)
	jsonBody.Header = http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		req    apitest.Request
		status int
		want   string
	}{
		{name: "root", req: form("sts", getCallerIdentity, apitest.Test), status: 200,
			want: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:user/test</Arn><UserId>test</UserId><Account>000000000000</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-0001</RequestId></ResponseMetadata></GetCallerIdentityResponse>`},
		{name: "assumed-role", req: form("sts", getCallerIdentity, apitest.Session), status: 200,
			want: `<Arn>` + apitest.SessionARN + `</Arn><UserId>` + apitest.SessionUserID + `</UserId><Account>111111111111</Account>`},
		{name: "query-string", req: apitest.Request{Service: "sts", Method: "GET", Path: "/?" + getCallerIdentity, Creds: apitest.Test}, status: 200,
			want: `<Account>000000000000</Account>`},
		{name: "body-wins", req: func() apitest.Request {
			r := form("sts", "Action=GetCallerIdentity", apitest.Test)
			r.Path = "/?Action=AssumeRole&Version=2011-06-15"
			return r
		}(), status: 200, want: `<Account>000000000000</Account>`},
		{name: "missing-action", req: form("sts", "Version=2011-06-15", apitest.Test), status: 400, want: `<Code>MissingAction</Code>`},
		{name: "other-version", req: form("sts", "Action=GetCallerIdentity&Version=2010-01-01", apitest.Test), status: 400,
			want: `<Message>Could not find operation GetCallerIdentity for version 2010-01-01</Message>`},
		{name: "malformed-body", req: form("sts", "Action=%zz", apitest.Test), status: 400, want: `<Type>Sender</Type><Code>MalformedQueryString</Code>`},
		{name: "json-body", req: jsonBody, status: 400, want: `<Code>UnsupportedMediaType</Code>`},
		{name: "signed-for-kms", req: form("kms", getCallerIdentity, apitest.Test), status: 403,
			want: `<Code>SignatureDoesNotMatch</Code><Message>Credential should be scoped to correct service: &#39;sts&#39;.</Message>`},
		{name: "unsigned", req: form("sts", getCallerIdentity, aws.Credentials{}), status: 403, want: `<Code>MissingAuthenticationToken</Code>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := apitest.Send(t, newServer(t).URL, tt.req)
			var body string
			// apitest.Send makes a JSON string of a body that is not JSON.
			if err := json.Unmarshal(got.Body, &body); err != nil {
				t.Fatalf("body %s: %v", got.Body, err)
			}
			if got.Status != tt.status || got.Headers["Content-Type"] != "text/xml" || !strings.HasPrefix(body, "<?xml") || !strings.Contains(body, tt.want) {
				t.Errorf("HTTP %d %v\n%s\nwant %d with\n%s", got.Status, got.Headers, body, tt.status, tt.want)
			}
		})
	}
}

// TestWriteError names the signature check's errors, and the internal
// error, as STS does.
func TestWriteError(t *testing.T) {
	tests := []struct {
		err    error
		status int
		want   string
	}{
		{lambdahost.Errorf(lambdahost.InvalidSignatureException, "m"), 403, `<Type>Sender</Type><Code>SignatureDoesNotMatch</Code>`},
		{lambdahost.Errorf(lambdahost.UnrecognizedClientException, "m"), 403, `<Code>InvalidClientTokenId</Code><Message>m</Message>`},
		{lambdahost.Errorf(lambdahost.ExpiredTokenException, "m"), 400, `<Code>ExpiredToken</Code>`},
		{lambdahost.Errorf(lambdahost.IncompleteSignatureException, "m"), 400, `<Code>IncompleteSignature</Code>`},
		{lambdahost.Errorf(lambdahost.MissingAuthenticationToken, "m"), 403, `<Code>MissingAuthenticationToken</Code>`},
		{lambdahost.Errorf(lambdahost.ServiceException, "m"), 500, `<Type>Receiver</Type><Code>InternalFailure</Code>`},
		{errors.New("disk on fire"), 500, `<Type>Receiver</Type><Code>InternalFailure</Code><Message>An internal error occurred.</Message>`},
		{lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "m"), 413, `<Code>RequestEntityTooLargeException</Code>`},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r = r.WithContext(lambdahost.WithRequestID(r.Context(), "req-2"))
			w := httptest.NewRecorder()
			api := sts.NewServer(apitest.Verifier("sts"))
			api.Logger = slog.New(slog.DiscardHandler)
			api.WriteError(w, r, tt.err)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if body := w.Body.String(); !strings.Contains(body, tt.want) || !strings.Contains(body, "<RequestId>req-2</RequestId>") {
				t.Errorf("body %s lacks %s", body, tt.want)
			}
		})
	}
}

package kms_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/apitest"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/sqlite"
)

// env is the key service over a real SQLite store, served in process.
type env struct {
	t   testing.TB
	svc *kms.Service
	api *kms.Server
	srv *httptest.Server
}

func newEnv(t testing.TB) *env {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	svc := kms.New(store, bytes.Repeat([]byte{1}, lambdahost.MasterKeySize))
	svc.Now = func() time.Time { return apitest.Clock }
	svc.NewKeyID = apitest.Counter("11111111-1111-4111-8111-%012d")
	api := kms.NewServer(svc, apitest.Verifier("kms"))
	api.NewRequestID = apitest.Counter("req-%04d")
	e := &env{t: t, svc: svc, api: api, srv: httptest.NewServer(api)}
	t.Cleanup(func() {
		e.srv.Close()
		store.Close()
	})
	return e
}

// kmsAs sends a KMS operation (AWS JSON 1.1) signed for the service "kms"
// (or service, if not empty) with creds.
func (e *env) kmsAs(creds aws.Credentials, service, op, body string) apitest.Response {
	e.t.Helper()
	if service == "" {
		service = "kms"
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"TrentService." + op}}
	return apitest.Send(e.t, e.srv.URL, apitest.Request{Service: service, Method: "POST", Path: "/", Body: body, Creds: creds, Header: h})
}

func (e *env) kms(op, body string) apitest.Response {
	e.t.Helper()
	return e.kmsAs(apitest.Test, "", op, body)
}

// The first key a test creates has this ID (see newEnv).
const (
	firstKey    = "11111111-1111-4111-8111-000000000001"
	firstKeyARN = "arn:aws:kms:us-east-1:000000000000:key/" + firstKey
)

func withKey(e *env) {
	if r := e.kms("CreateKey", `{"Description":"code key"}`); r.Status != http.StatusOK {
		e.t.Fatalf("CreateKey: %d %s", r.Status, r.Body)
	}
}

// goldenCase is one request whose response a golden file pins.
type goldenCase struct {
	op, name string
	setup    func(e *env)
	req      func(e *env) apitest.Response
}

func kmsGoldenCases() []goldenCase {
	other := apitest.Other
	kreq := func(op, body string) func(e *env) apitest.Response {
		return func(e *env) apitest.Response { return e.kms(op, body) }
	}
	return []goldenCase{
		{op: "CreateKey", name: "created", req: kreq("CreateKey", `{"Description":"code key"}`)},
		{op: "CreateKey", name: "asymmetric-unsupported", req: kreq("CreateKey", `{"KeySpec":"RSA_2048","KeyUsage":"SIGN_VERIFY"}`)},
		{op: "CreateKey", name: "malformed-json", req: kreq("CreateKey", `{"Description":`)},
		{op: "CreateKey", name: "wrong-service-scope", req: func(e *env) apitest.Response {
			return e.kmsAs(apitest.Test, "lambda", "CreateKey", `{}`)
		}},
		{op: "DescribeKey", name: "by-id", setup: withKey, req: kreq("DescribeKey", `{"KeyId":"`+firstKey+`"}`)},
		{op: "DescribeKey", name: "by-arn", setup: withKey, req: kreq("DescribeKey", `{"KeyId":"`+firstKeyARN+`"}`)},
		{op: "DescribeKey", name: "not-found", req: kreq("DescribeKey", `{"KeyId":"`+firstKey+`"}`)},
		{op: "DescribeKey", name: "invalid-key-id", req: kreq("DescribeKey", `{"KeyId":"nope"}`)},
		{op: "DescribeKey", name: "missing-key-id", req: kreq("DescribeKey", `{}`)},
		// Another account's key is answered as missing, by ID and by ARN.
		{op: "DescribeKey", name: "other-account-by-id", setup: withKey, req: func(e *env) apitest.Response {
			return e.kmsAs(other, "", "DescribeKey", `{"KeyId":"`+firstKey+`"}`)
		}},
		{op: "DescribeKey", name: "other-account-by-arn", setup: withKey, req: func(e *env) apitest.Response {
			return e.kmsAs(other, "", "DescribeKey", `{"KeyId":"`+firstKeyARN+`"}`)
		}},
		// The predefined alias of Lambda's AWS managed key: created on first use.
		{op: "DescribeKey", name: "aws-lambda-alias", req: kreq("DescribeKey", `{"KeyId":"alias/aws/lambda"}`)},
		{op: "DescribeKey", name: "unknown-alias", req: kreq("DescribeKey", `{"KeyId":"alias/mine"}`)},
		{op: "DisableKey", name: "disabled", setup: withKey, req: func(e *env) apitest.Response {
			if r := e.kms("DisableKey", `{"KeyId":"`+firstKey+`"}`); r.Status != http.StatusOK {
				e.t.Fatalf("DisableKey: %d %s", r.Status, r.Body)
			}
			return e.kms("DescribeKey", `{"KeyId":"`+firstKey+`"}`)
		}},
		{op: "EnableKey", name: "not-found", req: kreq("EnableKey", `{"KeyId":"`+firstKey+`"}`)},
		{op: "ListKeys", name: "paged", setup: func(e *env) { withKey(e); withKey(e) }, req: kreq("ListKeys", `{"Limit":1}`)},
		{op: "ListKeys", name: "other-account-sees-none", setup: withKey, req: func(e *env) apitest.Response {
			return e.kmsAs(other, "", "ListKeys", `{}`)
		}},
		{op: "KMS", name: "unknown-operation", req: kreq("Encrypt", `{}`)},
	}
}

func TestKMSGolden(t *testing.T) {
	for _, tc := range kmsGoldenCases() {
		t.Run(tc.op+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			apitest.CheckGolden(t, tc.op, tc.name, tc.req(e))
		})
	}
}

// fuzzOps are the KMS operations FuzzKMS sends its bodies to, and one that
// does not exist.
var fuzzOps = []string{"CreateKey", "DescribeKey", "ListKeys", "EnableKey", "DisableKey", "Encrypt"}

// FuzzKMS sends hostile targets and bodies to the key service (AWS JSON
// 1.1): whatever it sends, a success or an AWS-shaped client error.
func FuzzKMS(f *testing.F) {
	e := newEnv(f)
	f.Add(uint8(0), `{"Description":"d","KeyUsage":"ENCRYPT_DECRYPT","KeySpec":"SYMMETRIC_DEFAULT","Tags":[{"TagKey":"a","TagValue":"b"}]}`)
	f.Add(uint8(0), `{"KeySpec":"RSA_2048","Origin":"EXTERNAL","MultiRegion":true}`)
	f.Add(uint8(1), `{"KeyId":"alias/aws/lambda"}`)
	f.Add(uint8(1), `{"KeyId":"arn:aws:kms:us-east-1:111111111111:key/11111111-1111-4111-8111-000000000001"}`)
	f.Add(uint8(1), `{"KeyId":"../../etc"}`)
	f.Add(uint8(2), `{"Limit":0,"Marker":"\u0000"}`)
	f.Add(uint8(3), `{"KeyId":"11111111-1111-4111-8111-000000000001"}`)
	f.Add(uint8(4), `{"KeyId":`+strings.Repeat("[", 5000)+`}`)
	f.Add(uint8(5), `{}`)
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		req, err := http.NewRequestWithContext(context.Background(), "POST", "http://"+apitest.Host+"/", strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "TrentService."+fuzzOps[int(op)%len(fuzzOps)])
		apitest.ServeFuzzed(t, e.api, req, body, "kms", true)
	})
}

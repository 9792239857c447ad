package http_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// kmsAs sends a KMS operation (AWS JSON 1.1) signed for the service "kms"
// (or service, if not empty) with creds.
func (e *env) kmsAs(creds aws.Credentials, service, op, body string) response {
	e.t.Helper()
	if service == "" {
		service = "kms"
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"TrentService." + op}}
	return e.send(service, "POST", "/", body, creds, e.region, h, nil)
}

func (e *env) kms(op, body string) response {
	e.t.Helper()
	return e.kmsAs(e.creds, "", op, body)
}

// The first key a test creates has this ID (see newEnv's NewKeyID).
const (
	firstKey    = "11111111-1111-4111-8111-000000000001"
	firstKeyARN = "arn:aws:kms:us-east-1:000000000000:key/" + firstKey
)

func withKey(e *env) {
	if r := e.kms("CreateKey", `{"Description":"code key"}`); r.Status != http.StatusOK {
		e.t.Fatalf("CreateKey: %d %s", r.Status, r.Body)
	}
}

func kmsGoldenCases() []goldenCase {
	other := aws.Credentials{AccessKeyID: "other", SecretAccessKey: "other"}
	kreq := func(op, body string) func(e *env) response {
		return func(e *env) response { return e.kms(op, body) }
	}
	return []goldenCase{
		{op: "CreateKey", name: "created", req: kreq("CreateKey", `{"Description":"code key"}`)},
		{op: "CreateKey", name: "asymmetric-unsupported", req: kreq("CreateKey", `{"KeySpec":"RSA_2048","KeyUsage":"SIGN_VERIFY"}`)},
		{op: "CreateKey", name: "malformed-json", req: kreq("CreateKey", `{"Description":`)},
		{op: "CreateKey", name: "wrong-service-scope", req: func(e *env) response {
			return e.kmsAs(e.creds, "lambda", "CreateKey", `{}`)
		}},
		{op: "DescribeKey", name: "by-id", setup: withKey, req: kreq("DescribeKey", `{"KeyId":"`+firstKey+`"}`)},
		{op: "DescribeKey", name: "by-arn", setup: withKey, req: kreq("DescribeKey", `{"KeyId":"`+firstKeyARN+`"}`)},
		{op: "DescribeKey", name: "not-found", req: kreq("DescribeKey", `{"KeyId":"`+firstKey+`"}`)},
		{op: "DescribeKey", name: "invalid-key-id", req: kreq("DescribeKey", `{"KeyId":"nope"}`)},
		{op: "DescribeKey", name: "missing-key-id", req: kreq("DescribeKey", `{}`)},
		// Another account's key is answered as missing, by ID and by ARN.
		{op: "DescribeKey", name: "other-account-by-id", setup: withKey, req: func(e *env) response {
			return e.kmsAs(other, "", "DescribeKey", `{"KeyId":"`+firstKey+`"}`)
		}},
		{op: "DescribeKey", name: "other-account-by-arn", setup: withKey, req: func(e *env) response {
			return e.kmsAs(other, "", "DescribeKey", `{"KeyId":"`+firstKeyARN+`"}`)
		}},
		// The predefined alias of Lambda's AWS managed key: created on first use.
		{op: "DescribeKey", name: "aws-lambda-alias", req: kreq("DescribeKey", `{"KeyId":"alias/aws/lambda"}`)},
		{op: "DescribeKey", name: "unknown-alias", req: kreq("DescribeKey", `{"KeyId":"alias/mine"}`)},
		{op: "DisableKey", name: "disabled", setup: withKey, req: func(e *env) response {
			if r := e.kms("DisableKey", `{"KeyId":"`+firstKey+`"}`); r.Status != http.StatusOK {
				e.t.Fatalf("DisableKey: %d %s", r.Status, r.Body)
			}
			return e.kms("DescribeKey", `{"KeyId":"`+firstKey+`"}`)
		}},
		{op: "EnableKey", name: "not-found", req: kreq("EnableKey", `{"KeyId":"`+firstKey+`"}`)},
		{op: "ListKeys", name: "paged", setup: func(e *env) { withKey(e); withKey(e) }, req: kreq("ListKeys", `{"Limit":1}`)},
		{op: "ListKeys", name: "other-account-sees-none", setup: withKey, req: func(e *env) response {
			return e.kmsAs(other, "", "ListKeys", `{}`)
		}},
		{op: "KMS", name: "unknown-operation", req: kreq("Encrypt", `{}`)},
	}
}

func TestKMSGolden(t *testing.T) {
	for _, tc := range kmsGoldenCases() {
		t.Run(tc.op+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts...)
			if tc.setup != nil {
				tc.setup(e)
			}
			checkGolden(t, tc.op, tc.name, tc.req(e))
		})
	}
}

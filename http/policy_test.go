package http_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	urlPath  = "/2021-10-31/functions/"
	firstURL = "url00000000000000000000000000001"
	// firstHost is the host of the first function URL an env creates.
	firstHost = firstURL + ".lambda-url.us-east-1.localhost"
)

func policyPath(name string) string { return fnPath + name + "/policy" }

// withAlias makes function f with version 1 and alias live → 1.
func withAlias(e *env) {
	withFunction("f")(e)
	e.must("POST", fnPath+"f/versions", "{}")
	e.must("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1"}`)
}

// withURL makes function f with a NONE URL that everyone may invoke.
func withURL(extra string) func(e *env) {
	return func(e *env) {
		withFunction("f")(e)
		e.must("POST", urlPath+"f/url", `{"AuthType":"NONE"`+extra+`}`)
		e.must("POST", policyPath("f"), `{"StatementId":"public","Action":"lambda:InvokeFunctionUrl","Principal":"*","FunctionUrlAuthType":"NONE"}`)
	}
}

// urlRequest sends a request to a function URL: to host, or, if host is
// "", to the listener's address. creds signs it when it has a key.
func (e *env) urlRequest(method, host, path, body string, header http.Header, creds aws.Credentials) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if creds.AccessKeyID != "" {
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", clock); err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// urlGolden is a function URL response as a golden file pins it.
func (e *env) urlGolden(resp *http.Response) response {
	e.t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Headers: map[string]string{}}
	for _, h := range []string{"Content-Type", "X-Amzn-Errortype", "Set-Cookie", "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Access-Control-Expose-Headers", "Access-Control-Allow-Credentials"} {
		if v := resp.Header.Values(h); len(v) > 0 {
			out.Headers[h] = strings.Join(v, " | ")
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

func urlCase(method, host, path, body string, header http.Header, creds aws.Credentials) func(e *env) response {
	return func(e *env) response { return e.urlGolden(e.urlRequest(method, host, path, body, header, creds)) }
}

func policyGoldenCases() []goldenCase {
	arn := "arn:aws:lambda:us-east-1:000000000000:function:f"
	s3 := `{"StatementId":"s3","Action":"lambda:InvokeFunction","Principal":"s3.amazonaws.com","SourceArn":"arn:aws:s3:::bucket"}`
	withS3 := func(e *env) { withFunction("f")(e); e.must("POST", policyPath("f"), s3) }
	none := aws.Credentials{}
	return []goldenCase{
		// AddPermission
		{op: "AddPermission", name: "service-source-arn", setup: withFunction("f"), req: req("POST", policyPath("f"), s3)},
		{op: "AddPermission", name: "all-conditions", setup: withFunction("f"), req: req("POST", policyPath("f"),
			`{"StatementId":"url","Action":"lambda:InvokeFunctionUrl","Principal":"*","SourceArn":"arn:aws:s3:::b","SourceAccount":"111111111111","PrincipalOrgID":"o-1234567890","FunctionUrlAuthType":"NONE"}`)},
		{op: "AddPermission", name: "account", setup: withFunction("f"), req: req("POST", policyPath("f"),
			`{"StatementId":"b","Action":"lambda:GetFunction","Principal":"111111111111"}`)},
		{op: "AddPermission", name: "alexa", setup: withFunction("f"), req: req("POST", policyPath("f"),
			`{"StatementId":"alexa","Action":"lambda:InvokeFunction","Principal":"alexa-connectedhome.amazon.com","EventSourceToken":"amzn1.ask.skill.xyz"}`)},
		{op: "AddPermission", name: "invoked-via-url", setup: withFunction("f"), req: req("POST", policyPath("f"),
			`{"StatementId":"v","Action":"lambda:InvokeFunction","Principal":"*","InvokedViaFunctionUrl":true}`)},
		{op: "AddPermission", name: "alias", setup: withAlias, req: req("POST", policyPath("f")+"?Qualifier=live", s3)},
		{op: "AddPermission", name: "version-in-arn", setup: withAlias, req: req("POST", policyPath(url.PathEscape(arn+":1")), s3)},
		{op: "AddPermission", name: "duplicate-sid", setup: withS3, req: req("POST", policyPath("f"), s3)},
		{op: "AddPermission", name: "bad-statement-id", setup: withFunction("f"), req: req("POST", policyPath("f"),
			`{"StatementId":"example.com","Action":"lambda:InvokeFunction","Principal":"s3.amazonaws.com"}`)},
		{op: "AddPermission", name: "missing-members", setup: withFunction("f"), req: req("POST", policyPath("f"), `{}`)},
		{op: "AddPermission", name: "bad-members", setup: withFunction("f"), req: req("POST", policyPath("f"),
			`{"StatementId":"a","Action":"s3:*","Principal":"*","SourceAccount":"123","PrincipalOrgID":"org","FunctionUrlAuthType":"BASIC"}`)},
		{op: "AddPermission", name: "latest", setup: withFunction("f"), req: req("POST", policyPath("f:$LATEST")+"?Qualifier=%24LATEST", s3)},
		{op: "AddPermission", name: "qualifier-mismatch", setup: withFunction("f"), req: req("POST", policyPath("f:alias-not-42")+"?Qualifier=42", s3)},
		{op: "AddPermission", name: "bad-principal", setup: withFunction("f"), req: req("POST", policyPath("f"),
			`{"StatementId":"x","Action":"lambda:InvokeFunction","Principal":"invalid.nonaws.com"}`)},
		{op: "AddPermission", name: "no-function", req: req("POST", policyPath("doesnotexist"), s3)},
		{op: "AddPermission", name: "no-version", setup: withFunction("f"), req: req("POST", policyPath("f")+"?Qualifier=42", s3)},
		{op: "AddPermission", name: "no-alias", setup: withFunction("f"), req: req("POST", policyPath("f:alias-doesnotexist"), s3)},
		{op: "AddPermission", name: "bad-qualifier", setup: withFunction("f"), req: req("POST", policyPath("f")+"?Qualifier=invalid-qualifier-with-%3F-char", s3)},
		{op: "AddPermission", name: "stale-revision", setup: withFunction("f"), req: req("POST", policyPath("f"),
			`{"StatementId":"a","Action":"lambda:InvokeFunction","Principal":"*","RevisionId":"wrong"}`)},
		{op: "AddPermission", name: "other-account", setup: withFunction("f"), req: req("POST", policyPath(url.PathEscape("arn:aws:lambda:us-east-1:111111111111:function:f")), s3)},

		// GetPolicy
		{op: "GetPolicy", name: "policy", setup: func(e *env) {
			withS3(e)
			e.must("POST", policyPath("f"), `{"StatementId":"sqs","Action":"lambda:InvokeFunction","Principal":"sqs.amazonaws.com"}`)
		}, req: req("GET", policyPath("f"), "")},
		{op: "GetPolicy", name: "no-policy", setup: withFunction("f"), req: req("GET", policyPath("f"), "")},
		{op: "GetPolicy", name: "not-found", req: req("GET", policyPath("doesnotexist"), "")},
		{op: "GetPolicy", name: "no-version", setup: withS3, req: req("GET", policyPath("f")+"?Qualifier=77", "")},

		// RemovePermission
		{op: "RemovePermission", name: "removed", setup: withS3, req: req("DELETE", policyPath("f")+"/s3", "")},
		{op: "RemovePermission", name: "no-policy", setup: withFunction("f"), req: req("DELETE", policyPath("f")+"/s3", "")},
		{op: "RemovePermission", name: "no-function", req: req("DELETE", policyPath("doesnotexist")+"/s3", "")},
		{op: "RemovePermission", name: "no-alias", setup: withFunction("f"), req: req("DELETE", policyPath("f")+"/s3?Qualifier=alias-doesnotexist", "")},
		{op: "RemovePermission", name: "unknown-statement", setup: withS3, req: req("DELETE", policyPath("f")+"/non-existent", "")},
		{op: "RemovePermission", name: "stale-revision", setup: withS3, req: req("DELETE", policyPath("f")+"/s3?RevisionId=wrong", "")},

		// CreateFunctionUrlConfig
		{op: "CreateFunctionUrlConfig", name: "none", setup: withFunction("f"), req: req("POST", urlPath+"f/url", `{"AuthType":"NONE"}`)},
		{op: "CreateFunctionUrlConfig", name: "alias-stream-cors", setup: withAlias, req: req("POST", urlPath+"f/url?Qualifier=live",
			`{"AuthType":"AWS_IAM","InvokeMode":"RESPONSE_STREAM","Cors":{"AllowOrigins":["https://example.com"],"AllowMethods":["GET","POST"],"AllowHeaders":["x-custom"],"ExposeHeaders":["x-echo"],"MaxAge":300,"AllowCredentials":true}}`)},
		{op: "CreateFunctionUrlConfig", name: "exists", setup: withURL(""), req: req("POST", urlPath+"f/url", `{"AuthType":"NONE"}`)},
		{op: "CreateFunctionUrlConfig", name: "version", setup: withFunction("f"), req: req("POST", urlPath+"f/url?Qualifier=1", `{"AuthType":"NONE"}`)},
		{op: "CreateFunctionUrlConfig", name: "latest", setup: withFunction("f"), req: req("POST", urlPath+"f/url?Qualifier=%24LATEST", `{"AuthType":"NONE"}`)},
		{op: "CreateFunctionUrlConfig", name: "no-function", req: req("POST", urlPath+"doesnotexist/url", `{"AuthType":"NONE"}`)},
		{op: "CreateFunctionUrlConfig", name: "no-alias", setup: withFunction("f"), req: req("POST", urlPath+"f/url?Qualifier=v1", `{"AuthType":"NONE"}`)},
		{op: "CreateFunctionUrlConfig", name: "qualifier-mismatch", setup: withAlias, req: req("POST", urlPath+"f:live-doesnotmatch/url?Qualifier=live", `{"AuthType":"NONE"}`)},
		{op: "CreateFunctionUrlConfig", name: "unknown-invoke-mode", setup: withFunction("f"), req: req("POST", urlPath+"f/url", `{"AuthType":"NONE","InvokeMode":"UNKNOWN"}`)},
		{op: "CreateFunctionUrlConfig", name: "missing-auth-type", setup: withFunction("f"), req: req("POST", urlPath+"f/url", `{}`)},
		{op: "CreateFunctionUrlConfig", name: "bad-cors", setup: withFunction("f"), req: req("POST", urlPath+"f/url",
			`{"AuthType":"NONE","Cors":{"AllowMethods":["GET","POST","PUT","PATCH","DELETE","HEAD","OPTIONS"],"AllowOrigins":[""],"MaxAge":86401}}`)},

		// GetFunctionUrlConfig
		{op: "GetFunctionUrlConfig", name: "config", setup: withURL(`,"Cors":{"AllowOrigins":["*"]}`), req: req("GET", urlPath+"f/url", "")},
		{op: "GetFunctionUrlConfig", name: "no-config", setup: withFunction("f"), req: req("GET", urlPath+"f/url", "")},
		{op: "GetFunctionUrlConfig", name: "no-function", req: req("GET", urlPath+"doesnotexist/url", "")},
		{op: "GetFunctionUrlConfig", name: "version", setup: withFunction("f"), req: req("GET", urlPath+"f/url?Qualifier=1", "")},

		// UpdateFunctionUrlConfig
		{op: "UpdateFunctionUrlConfig", name: "auth-type", setup: withURL(""), req: req("PUT", urlPath+"f/url", `{"AuthType":"AWS_IAM"}`)},
		{op: "UpdateFunctionUrlConfig", name: "invoke-mode", setup: withURL(""), req: req("PUT", urlPath+"f/url", `{"InvokeMode":"RESPONSE_STREAM"}`)},
		{op: "UpdateFunctionUrlConfig", name: "keeps-invoke-mode", setup: func(e *env) {
			withURL(`,"InvokeMode":"RESPONSE_STREAM"`)(e)
		}, req: req("PUT", urlPath+"f/url", `{}`)},
		{op: "UpdateFunctionUrlConfig", name: "no-config", setup: withFunction("f"), req: req("PUT", urlPath+"f/url", `{"AuthType":"NONE"}`)},
		{op: "UpdateFunctionUrlConfig", name: "no-function", req: req("PUT", urlPath+"doesnotexist/url", `{"AuthType":"NONE"}`)},

		// DeleteFunctionUrlConfig
		{op: "DeleteFunctionUrlConfig", name: "deleted", setup: withURL(""), req: req("DELETE", urlPath+"f/url", "")},
		{op: "DeleteFunctionUrlConfig", name: "no-config", setup: withFunction("f"), req: req("DELETE", urlPath+"f/url", "")},
		{op: "DeleteFunctionUrlConfig", name: "no-function", req: req("DELETE", urlPath+"doesnotexist/url", "")},

		// ListFunctionUrlConfigs
		{op: "ListFunctionUrlConfigs", name: "page", setup: func(e *env) {
			withAlias(e)
			e.must("POST", urlPath+"f/url", `{"AuthType":"NONE"}`)
			e.must("POST", urlPath+"f/url?Qualifier=live", `{"AuthType":"AWS_IAM"}`)
		}, req: req("GET", urlPath+"f/urls?MaxItems=1", "")},
		{op: "ListFunctionUrlConfigs", name: "empty", setup: withFunction("f"), req: req("GET", urlPath+"f/urls", "")},
		{op: "ListFunctionUrlConfigs", name: "no-function", req: req("GET", urlPath+"doesnotexist/urls", "")},
		{op: "ListFunctionUrlConfigs", name: "bad-max-items", setup: withFunction("f"), req: req("GET", urlPath+"f/urls?MaxItems=51", "")},

		// A function URL's own answers.
		{op: "FunctionURL", name: "unknown-url", req: urlCase("GET", "0123456789abcdefghijklmnopqrstuv.lambda-url.us-east-1.localhost", "/", "", nil, none)},
		{op: "FunctionURL", name: "other-region", setup: withURL(""), req: urlCase("GET", firstURL+".lambda-url.eu-west-1.localhost", "/", "", nil, none)},
		{op: "FunctionURL", name: "no-permission", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", urlPath+"f/url", `{"AuthType":"NONE"}`)
		}, req: urlCase("GET", firstHost, "/", "", nil, none)},
		{op: "FunctionURL", name: "unsigned-iam", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", urlPath+"f/url", `{"AuthType":"AWS_IAM"}`)
		}, req: urlCase("GET", firstHost, "/", "", nil, none)},
		{op: "FunctionURL", name: "bad-signature-iam", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", urlPath+"f/url", `{"AuthType":"AWS_IAM"}`)
		}, req: urlCase("GET", firstHost, "/", "", nil, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "wrong"})},
		{op: "FunctionURL", name: "other-account-iam", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", urlPath+"f/url", `{"AuthType":"AWS_IAM"}`)
		}, req: urlCase("GET", firstHost, "/", "", nil, aws.Credentials{AccessKeyID: "other", SecretAccessKey: "other"})},
		{op: "FunctionURL", name: "function-error", setup: withURL(""), req: urlCase("POST", firstHost, "/", `{"fail":true}`, http.Header{"Content-Type": {"application/json"}}, none)},
		{op: "FunctionURL", name: "headers-too-large", setup: withURL(""), req: urlCase("GET", firstHost, "/", "",
			http.Header{"Cookie": {"a=" + strings.Repeat("x", 12000)}}, none)},
		{op: "FunctionURL", name: "preflight", setup: withURL(`,"Cors":{"AllowOrigins":["https://example.com"],"AllowMethods":["GET","POST"],"AllowHeaders":["x-custom"],"MaxAge":300}`),
			req: urlCase("OPTIONS", firstHost, "/", "", http.Header{"Origin": {"https://example.com"}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"x-custom"}}, none)},
		{op: "FunctionURL", name: "preflight-other-origin", setup: withURL(`,"Cors":{"AllowOrigins":["https://example.com"]}`),
			req: urlCase("OPTIONS", firstHost, "/", "", http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"POST"}}, none)},
		{op: "FunctionURL", name: "deleted", setup: func(e *env) {
			withURL("")(e)
			e.must("DELETE", urlPath+"f/url", "")
		}, req: urlCase("GET", firstHost, "/", "", nil, none)},
	}
}

package http_test

import (
	"context"
	"net/http"
	"net/url"

	"strings"
	"testing"

	"github.com/lambdahost/lambdahost/internal/apitest"
)

// fuzzRoutes are the operations FuzzAPI sends its bodies to; the fuzzer
// picks one by index. "{f}" is replaced by the fuzzed function name.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/2015-03-31/functions"},
	{"PUT", "/2015-03-31/functions/{f}/code"},
	{"PUT", "/2015-03-31/functions/{f}/configuration"},
	{"POST", "/2015-03-31/functions/{f}/invocations"},
	{"POST", "/2021-11-15/functions/{f}/response-streaming-invocations"},
	{"POST", "/2015-03-31/functions/{f}/versions"},
	{"POST", "/2015-03-31/functions/{f}/aliases"},
	{"PUT", "/2015-03-31/functions/{f}/aliases/live"},
	{"POST", "/2017-03-31/tags/{f}"},
	{"PUT", "/2017-10-31/functions/{f}/concurrency"},
	{"GET", "/2015-03-31/functions/{f}"},
	{"DELETE", "/2015-03-31/functions/{f}"},
	{"GET", "/2015-03-31/functions"},
	{"GET", "/2015-03-31/functions/{f}/code"},
	{"POST", "/2020-04-22/code-signing-configs"},
	{"PUT", "/2020-04-22/code-signing-configs/{f}"},
	{"PUT", "/2020-06-30/functions/{f}/code-signing-config"},
	{"GET", "/2020-04-22/code-signing-configs/{f}/functions"},
	{"POST", "/2015-03-31/functions/{f}/policy"},
	{"DELETE", "/2015-03-31/functions/{f}/policy/s"},
	{"POST", "/2021-10-31/functions/{f}/url"},
	{"PUT", "/2021-10-31/functions/{f}/url"},
	{"GET", "/2021-10-31/functions/{f}/urls"},
}

// FuzzAPI sends signed requests with hostile bodies, names, query
// strings and invocation headers to every operation that parses them
// (the JSON request decoders, the streaming ZipFile decoder, Invoke's
// payload and header checks, name and ARN parsing). Whatever it sends,
// the server must not panic and must answer a client error or success:
// a 5xx would mean input reached a path the API does not expect. Errors
// must be AWS-shaped: X-Amzn-Errortype and a JSON body.
func FuzzAPI(f *testing.F) {
	e := newEnv(f)
	e.must("POST", "/2015-03-31/functions", createBody(f, "f", ""))
	zipBody := `{"ZipFile":"` + b64(testZip(f, "v2")) + `"}`
	f.Add(uint8(0), "f", "", createBody(f, "g", `"Publish":true`), "", "")
	f.Add(uint8(1), "f", "", zipBody, "", "")
	f.Add(uint8(1), "f", "", `{"ZipFile":"QUJD\/"}`, "", "")
	f.Add(uint8(2), "f", "", `{"Timeout":7,"Environment":{"Variables":{"A":"b"}}}`, "", "")
	f.Add(uint8(3), "f", "Qualifier=$LATEST", `{"k":[1,2,{"x":null}]}`, "Tail", "eyJjdXN0b20iOnt9fQ==")
	f.Add(uint8(3), "f:1", "", strings.Repeat("[", 20000), "", "")
	f.Add(uint8(3), "..%2f..%2fetc", "", `{}`, "None", "")
	f.Add(uint8(4), "arn:aws:lambda:us-east-1:111111111111:function:f", "", `{}`, "", "")
	f.Add(uint8(5), "f", "", `{"RevisionId":"x"}`, "", "")
	f.Add(uint8(6), "f", "", `{"Name":"live","FunctionVersion":"$LATEST","RoutingConfig":{"AdditionalVersionWeights":{"1":0.5}}}`, "", "")
	f.Add(uint8(8), "arn:aws:lambda:us-east-1:000000000000:function:f", "", `{"Tags":{"a":"b"}}`, "", "")
	f.Add(uint8(9), "f", "", `{"ReservedConcurrentExecutions":1}`, "", "")
	f.Add(uint8(12), "", "MaxItems=1&Marker=%00&FunctionVersion=ALL", ``, "", "")
	f.Add(uint8(13), "f", "Expires=1&Signature=x", ``, "", "")
	csc := "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-00000000000000001"
	f.Add(uint8(14), "", "", `{"AllowedPublishers":{"SigningProfileVersionArns":["arn:aws:signer:us-east-1:000000000000:/signing-profiles/p/abcdefghij"]},"CodeSigningPolicies":{"UntrustedArtifactOnDeployment":"Enforce"},"Tags":{"a":"b"}}`, "", "")
	f.Add(uint8(15), url.PathEscape(csc), "", `{"AllowedPublishers":{"SigningProfileVersionArns":[]}}`, "", "")
	f.Add(uint8(16), "f", "", `{"CodeSigningConfigArn":"`+csc+`"}`, "", "")
	f.Add(uint8(17), url.PathEscape(csc), "MaxItems=1&Marker=eA", ``, "", "")
	f.Add(uint8(18), "f", "Qualifier=live", `{"StatementId":"s","Action":"lambda:InvokeFunction","Principal":"s3.amazonaws.com","SourceArn":"arn:aws:s3:::b","SourceAccount":"111111111111","PrincipalOrgID":"o-1234567890","FunctionUrlAuthType":"NONE","InvokedViaFunctionUrl":true,"RevisionId":"x"}`, "", "")
	f.Add(uint8(19), "f", "RevisionId=x&Qualifier=1", ``, "", "")
	f.Add(uint8(20), "f", "Qualifier=live", `{"AuthType":"NONE","InvokeMode":"RESPONSE_STREAM","Cors":{"AllowOrigins":["*"],"AllowMethods":["GET"],"MaxAge":-1,"AllowCredentials":true}}`, "", "")
	f.Add(uint8(21), "f:live", "", `{"Cors":{"AllowHeaders":[""]}}`, "", "")
	f.Add(uint8(22), "f", "MaxItems=0&Marker=%00", ``, "", "")
	f.Fuzz(func(t *testing.T, route uint8, name, query, body, logType, clientContext string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := strings.ReplaceAll(rt.path, "{f}", name)
		if strings.HasSuffix(path, "/code") && rt.method == "GET" {
			path = "/_lambdahost/code/" + name // the unauthenticated download route
		}
		req, err := http.NewRequestWithContext(context.Background(), rt.method, "http://"+testHost+path, strings.NewReader(body))
		if err != nil || req.URL.Path == "" {
			return
		}
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Amz-Log-Type", logType)
		req.Header.Set("X-Amz-Client-Context", clientContext)
		// The code download route answers plain HTTP errors.
		serveFuzzed(t, e, req, body, "lambda", !strings.HasPrefix(path, "/_lambdahost/code/"))
	})
}

// serveFuzzed signs req (with body) for service, serves it and fails t if
// the server answers a 5xx or, when awsErrors, a client error that is not
// AWS-shaped (see apitest.ServeFuzzed).
func serveFuzzed(t *testing.T, e *env, req *http.Request, body, service string, awsErrors bool) {
	t.Helper()
	apitest.ServeFuzzed(t, e.api, req, body, service, awsErrors)
}

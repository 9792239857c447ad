package sigv4_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/lambdahost/lambdahost/sigv4"
)

const (
	host   = "lambda.test:8080"
	fnARN  = "arn:aws:lambda:us-east-1:000000000000:function:my-fn"
	escARN = "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Amy-fn"
)

// sdkRequests are Lambda API calls as aws-sdk-go-v2 shapes them, each
// signed with its v4.Signer in signedSDKRequests.
var sdkRequests = []struct {
	name        string
	req         request
	payloadHash string // "" means the SHA-256 of the body
}{
	{
		name: "get-function-arn-latest",
		req:  request{method: "GET", url: "http://" + host + "/2015-03-31/functions/" + escARN + "?Qualifier=%24LATEST"},
	},
	{
		name: "get-function-qualified-arn-in-path",
		req:  request{method: "GET", url: "http://" + host + "/2015-03-31/functions/" + escARN + "%3A%24LATEST/configuration"},
	},
	{
		name: "list-functions-marker-max-items",
		req:  request{method: "GET", url: "http://" + host + "/2015-03-31/functions/?Marker=abc%2Fdef%3D%3D%20x&MaxItems=10&FunctionVersion=ALL"},
	},
	{
		name: "query-repeated-and-empty-values",
		req:  request{method: "GET", url: "http://" + host + "/2015-03-31/functions?b=2&a=&a=1&a=0&c=x%20y&d"},
	},
	{
		name: "put-function-code",
		req: request{
			method: "PUT",
			url:    "http://" + host + "/2015-03-31/functions/my-fn/code",
			header: http.Header{"Content-Type": {"application/json"}},
			body:   `{"ZipFile":"UEsDBBQAAAAIAA==","Publish":true}`,
		},
	},
	{
		name: "invoke-arn-qualifier",
		req: request{
			method: "POST",
			url:    "http://" + host + "/2015-03-31/functions/" + escARN + "/invocations?Qualifier=%24LATEST",
			header: http.Header{
				"Content-Type":          {"application/octet-stream"},
				"X-Amz-Invocation-Type": {"RequestResponse"},
				"X-Amz-Log-Type":        {"Tail"},
				"X-Amz-Client-Context":  {"eyJjdXN0b20iOnt9fQ=="},
			},
			body: `{"key": "value", "n": 1}`,
		},
	},
	{
		name: "delete-function-version",
		req:  request{method: "DELETE", url: "http://" + host + "/2015-03-31/functions/my-fn?Qualifier=1"},
	},
	{
		name: "post-alias-tilde-and-escaped-tilde",
		req: request{
			method: "POST",
			url:    "http://" + host + "/2015-03-31/functions/my-fn/aliases/a~b%7Ec",
			header: http.Header{"Content-Type": {"application/json"}},
			body:   `{"Name":"live","FunctionVersion":"1"}`,
		},
	},
	{
		name: "header-spaces-and-repeated-values",
		req: request{
			method: "GET",
			url:    "http://" + host + "/2015-03-31/functions",
			header: http.Header{"X-Custom": {"  a   b  c ", "second  value"}},
		},
	},
	{
		name: "content-sha256-header",
		req: request{
			method: "PUT",
			url:    "http://" + host + "/2015-03-31/functions/my-fn/configuration",
			header: http.Header{"X-Amz-Content-Sha256": {sha256Hex(`{"Timeout":30}`)}},
			body:   `{"Timeout":30}`,
		},
	},
	{
		name:        "unsigned-payload",
		req:         request{method: "PUT", url: "http://" + host + "/2015-03-31/functions/my-fn/code", header: http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, body: `{"ZipFile":"AA=="}`},
		payloadHash: "UNSIGNED-PAYLOAD",
	},
	{
		name: "unicode-in-query",
		req:  request{method: "GET", url: "http://" + host + "/2015-03-31/functions?Marker=" + url.QueryEscape("é 漢字+/")},
	},
}

func signedSDKRequests(tb testing.TB) map[string][]byte {
	tb.Helper()
	m := make(map[string][]byte)
	for _, tt := range sdkRequests {
		m[tt.name] = signSDK(tb, tt.req, tt.payloadHash)
	}
	return m
}

func TestVerifySDK(t *testing.T) {
	signed := signedSDKRequests(t)
	for _, tt := range sdkRequests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verifyWire(t, newVerifier(testTime), signed[tt.name])
			if err != nil {
				t.Fatalf("verify: %v\n%s", err, signed[tt.name])
			}
			want := sigv4.Result{AccessKey: testCred.AccessKey, Account: testCred.Account, Region: testRegion, Service: "lambda", Date: testTime}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Result mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerifySDKTampered changes one part of each signed request and checks
// that it no longer verifies, with the error AWS would give.
func TestVerifySDKTampered(t *testing.T) {
	other := testCred
	other.Secret = "not-the-secret"
	tampers := []struct {
		name     string
		mutate   func(wire string) string
		verifier *sigv4.Verifier
		want     sigv4.Kind
	}{
		{name: "method", mutate: func(w string) string { return "PATCH" + w[strings.IndexByte(w, ' '):] }, want: sigv4.InvalidSignatureException},
		{name: "path", mutate: replaceOnce("/2015-03-31/", "/2015-03-30/"), want: sigv4.InvalidSignatureException},
		{name: "path-encoding", mutate: replaceOnce("/functions", "/%66unctions"), want: sigv4.InvalidSignatureException},
		{name: "query-added", mutate: addQuery("Qualifier=2"), want: sigv4.InvalidSignatureException},
		{name: "host", mutate: replaceOnce("Host: lambda.test", "Host: lambdb.test"), want: sigv4.InvalidSignatureException},
		{name: "date-one-second", mutate: shiftDate(time.Second), want: sigv4.InvalidSignatureException},
		{name: "date-removed", mutate: removeHeader("X-Amz-Date"), want: sigv4.IncompleteSignatureException},
		{name: "body", mutate: changeBody, want: sigv4.InvalidSignatureException},
		{name: "region", mutate: replaceOnce("/us-east-1/lambda/", "/us-west-2/lambda/"), want: sigv4.InvalidSignatureException},
		{name: "service", mutate: replaceOnce("/us-east-1/lambda/", "/us-east-1/lambdb/"), want: sigv4.InvalidSignatureException},
		{name: "access-key", mutate: replaceOnce("Credential=AKIDEXAMPLE/", "Credential=AKIDEXAMPLF/"), want: sigv4.UnrecognizedClientException},
		{name: "signature", mutate: flipSignature, want: sigv4.InvalidSignatureException},
		{name: "secret", mutate: func(w string) string { return w }, verifier: &sigv4.Verifier{Lookup: lookup(other), Now: func() time.Time { return testTime }}, want: sigv4.InvalidSignatureException},
	}
	signed := signedSDKRequests(t)
	for _, rt := range sdkRequests {
		for _, tt := range tampers {
			t.Run(rt.name+"/"+tt.name, func(t *testing.T) {
				wire := tt.mutate(string(signed[rt.name]))
				v := tt.verifier
				if v == nil {
					v = newVerifier(testTime)
				}
				want := tt.want
				if rt.payloadHash == "UNSIGNED-PAYLOAD" && tt.name == "body" {
					want = "" // The body is not signed.
				}
				_, err := verifyWire(t, v, []byte(wire))
				if got := errorCode(err); got != want {
					t.Errorf("error = %v, want code %q\n%s", err, want, wire)
				}
			})
		}
	}
}

// changePath inserts a byte at the start of the request path.
func changePath(w string) string {
	return strings.Replace(w, " /", " /x", 1)
}

func replaceOnce(old, new string) func(string) string {
	return func(w string) string { return strings.Replace(w, old, new, 1) }
}

// addQuery appends a parameter to the request line.
func addQuery(kv string) func(string) string {
	return func(w string) string {
		line, rest, _ := strings.Cut(w, " HTTP/1.1\r\n")
		sep := "?"
		if strings.Contains(line, "?") {
			sep = "&"
		}
		return line + sep + kv + " HTTP/1.1\r\n" + rest
	}
}

var amzDateRE = regexp.MustCompile(`X-Amz-Date: (\d{8}T\d{6}Z)`)

func shiftDate(d time.Duration) func(string) string {
	return func(w string) string {
		m := amzDateRE.FindStringSubmatch(w)
		t, _ := time.Parse("20060102T150405Z", m[1])
		return strings.Replace(w, m[0], "X-Amz-Date: "+t.Add(d).Format("20060102T150405Z"), 1)
	}
}

func removeHeader(name string) func(string) string {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `: [^\r]*\r\n`)
	return func(w string) string { return re.ReplaceAllString(w, "") }
}

// changeBody flips the first byte of the body, or adds a one-byte body to
// a request without one.
func changeBody(w string) string {
	head, body, _ := strings.Cut(w, "\r\n\r\n")
	if body == "" {
		return removeHeader("Content-Length")(head+"\r\n") + "Content-Length: 1\r\n\r\nx"
	}
	return head + "\r\n\r\n" + string(body[0]^1) + body[1:]
}

var signatureRE = regexp.MustCompile(`Signature=([0-9a-f]+)`)

func flipSignature(w string) string {
	m := signatureRE.FindStringSubmatch(w)
	sig := []byte(m[1])
	if sig[0] == '0' {
		sig[0] = '1'
	} else {
		sig[0] = '0'
	}
	return strings.Replace(w, m[0], "Signature="+string(sig), 1)
}

// TestVerifySingleEncodedPath checks that a path signed without the second
// URI encoding (v4.SignerOptions.DisableURIPathEscaping, the S3 rule) does
// not verify when it contains reserved characters: Lambda, like every AWS
// service but S3, double-encodes.
func TestVerifySingleEncodedPath(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want sigv4.Kind
	}{
		{name: "plain-path-verifies", url: "http://" + host + "/2015-03-31/functions/my-fn", want: ""},
		{name: "arn-path-fails", url: "http://" + host + "/2015-03-31/functions/" + escARN, want: sigv4.InvalidSignatureException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := signSDK(t, request{method: "GET", url: tt.url}, "", func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
			_, err := verifyWire(t, newVerifier(testTime), wire)
			if got := errorCode(err); got != tt.want {
				t.Errorf("error = %v, want code %q", err, tt.want)
			}
		})
	}
}

// TestVerifyErrors pins the code and message of each early failure.
func TestVerifyErrors(t *testing.T) {
	const (
		date    = "20240101T000000Z"
		cred    = "AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request"
		sig     = "0000000000000000000000000000000000000000000000000000000000000000"
		goodHdr = "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=host;x-amz-date, Signature=" + sig
	)
	tests := []struct {
		name   string
		target string
		header http.Header
		want   *sigv4.Error
	}{
		{
			name: "no-authorization",
			want: &sigv4.Error{Code: sigv4.MissingAuthenticationTokenException, Message: "Missing Authentication Token"},
		},
		{
			name:   "blank-authorization",
			header: http.Header{"Authorization": {"  "}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.MissingAuthenticationTokenException, Message: "Missing Authentication Token"},
		},
		{
			name:   "presign-params-without-algorithm",
			target: "/?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d",
			want:   &sigv4.Error{Code: sigv4.MissingAuthenticationTokenException, Message: "Missing Authentication Token"},
		},
		{
			name:   "bearer-token",
			header: http.Header{"Authorization": {"Bearer eyJhbGciOi"}},
			want: &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "Authorization header requires 'Credential' parameter. " +
				"Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
				"Authorization=Bearer eyJhbGciOi"},
		},
		{
			name:   "missing-signed-headers",
			header: http.Header{"Authorization": {"AWS4- Signature=b, Credential=a"}, "Date": {"a"}},
			want: &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization=AWS4- Signature=b, Credential=a"},
		},
		{
			name:   "no-date",
			header: http.Header{"Authorization": {goodHdr}},
			want: &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
				"Authorization=" + goodHdr},
		},
		{
			name:   "missing-equal-sign",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders"}, "X-Amz-Date": {date}},
			want: &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: " +
				"'AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders'."},
		},
		{
			name:   "duplicate-parameter",
			header: http.Header{"Authorization": {goodHdr + ", Signature=" + sig}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "Authorization header has duplicate 'Signature' parameter: '" + goodHdr + ", Signature=" + sig + "'."},
		},
		{
			name:   "bad-amz-date",
			header: http.Header{"Authorization": {goodHdr}, "X-Amz-Date": {"2024-01-01T00:00:00Z"}},
			want:   &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		},
		{
			name:   "bad-http-date",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=date;host, Signature=" + sig}, "Date": {"yesterday"}},
			want:   &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601"},
		},
		{
			name:   "host-not-signed",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=x-amz-date, Signature=" + sig}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "'Host' must be a 'SignedHeader' in the AWS Authorization."},
		},
		{
			name:   "amz-date-not-signed",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=host, Signature=" + sig}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."},
		},
		{
			name:   "http-date-not-signed",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=host, Signature=" + sig}, "Date": {"Mon, 01 Jan 2024 00:00:00 GMT"}},
			want:   &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "'Date' must be a 'SignedHeader' in the AWS Authorization."},
		},
		{
			name:   "unsupported-algorithm",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA512 Credential=" + cred + ", SignedHeaders=host;x-amz-date, Signature=" + sig}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now)."},
		},
		{
			name:   "credential-four-elements",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host;x-amz-date, Signature=" + sig}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'"},
		},
		{
			name:   "scope-all-wrong",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/b//d/e, SignedHeaders=host;x-amz-date, Signature=" + sig}, "X-Amz-Date": {date}},
			want: &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Credential should be scoped to a valid region, not ''. " +
				"Credential should be scoped to correct service: 'lambda'. " +
				"Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. " +
				"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: 'b' != '20240101', from '20240101T000000Z'."},
		},
		{
			name:   "scope-other-service",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Credential should be scoped to correct service: 'lambda'."},
		},
		{
			name:   "unknown-access-key",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.UnrecognizedClientException, Message: "The security token included in the request is invalid."},
		},
		{
			name:   "streaming-payload",
			header: http.Header{"Authorization": {goodHdr}, "X-Amz-Date": {date}, "X-Amz-Content-Sha256": {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}},
			want:   &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: sigv4.MessageStreamingUnsupported},
		},
		{
			name:   "both-header-and-query",
			target: "/?X-Amz-Algorithm",
			header: http.Header{"Authorization": {"X"}},
			want:   &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},
		},
		{
			name:   "presign-all-missing",
			target: "/?X-Amz-Algorithm",
			want: &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "AWS query-string parameters must include 'X-Amz-Algorithm'. " +
				"AWS query-string parameters must include 'X-Amz-Credential'. " +
				"AWS query-string parameters must include 'X-Amz-Signature'. " +
				"AWS query-string parameters must include 'X-Amz-SignedHeaders'. " +
				"AWS query-string parameters must include 'X-Amz-Date'. " +
				"Re-examine the query-string parameters."},
		},
		{
			name:   "presign-missing-signed-headers",
			target: "/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d",
			want: &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "AWS query-string parameters must include 'X-Amz-SignedHeaders'. " +
				"Re-examine the query-string parameters."},
		},
		{
			name:   "presign-expires-not-number",
			target: "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + cred + "&X-Amz-Signature=" + sig + "&X-Amz-SignedHeaders=host&X-Amz-Date=" + date + "&X-Amz-Expires=soon",
			want:   &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "X-Amz-Expires should be a number"},
		},
		{
			name:   "presign-expires-too-large",
			target: "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + cred + "&X-Amz-Signature=" + sig + "&X-Amz-SignedHeaders=host&X-Amz-Date=" + date + "&X-Amz-Expires=604801",
			want:   &sigv4.Error{Code: sigv4.IncompleteSignatureException, Message: "X-Amz-Expires must be less than a week (in seconds) that is 604800"},
		},
		{
			name:   "undecodable-query",
			target: "/2015-03-31/functions?Marker=%zz",
			header: http.Header{"Authorization": {goodHdr}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: sigv4.MessageSignatureMismatch},
		},
		{
			name:   "semicolon-query",
			target: "/2015-03-31/functions?a=1;b=2",
			header: http.Header{"Authorization": {goodHdr}, "X-Amz-Date": {date}},
			want:   &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: sigv4.MessageSignatureMismatch},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.target
			if target == "" {
				target = "/2015-03-31/functions"
			}
			var b strings.Builder
			fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", target, host)
			for k, vs := range tt.header {
				for _, v := range vs {
					fmt.Fprintf(&b, "%s: %s\r\n", k, v)
				}
			}
			b.WriteString("\r\n")
			_, err := verifyWire(t, newVerifier(testTime), []byte(b.String()))
			var got *sigv4.Error
			if err != nil {
				got, _ = err.(*sigv4.Error)
				if got == nil {
					t.Fatalf("error %v (%T) is not a *sigv4.Error", err, err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClockSkew signs at testTime and verifies with the clock elsewhere.
func TestClockSkew(t *testing.T) {
	tests := []struct {
		name    string
		now     time.Time
		maxSkew time.Duration
		want    *sigv4.Error
	}{
		{name: "same-time", now: testTime},
		{name: "15-min-later-is-inside", now: testTime.Add(15 * time.Minute)},
		{name: "15-min-earlier-is-inside", now: testTime.Add(-15 * time.Minute)},
		{
			name: "20-min-later-expired",
			now:  testTime.Add(20 * time.Minute),
			want: &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z (20240101T002000Z - 15 min.)"},
		},
		{
			name: "15-min-1-sec-later-expired",
			now:  testTime.Add(15*time.Minute + time.Second),
			want: &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Signature expired: 20240101T000000Z is now earlier than 20240101T000001Z (20240101T001501Z - 15 min.)"},
		},
		{
			name: "20-min-earlier-not-yet-current",
			now:  testTime.Add(-20 * time.Minute),
			want: &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Signature not yet current: 20240101T000000Z is still later than 20231231T235500Z (20231231T234000Z + 15 min.)"},
		},
		{
			name:    "custom-5-min",
			now:     testTime.Add(6 * time.Minute),
			maxSkew: 5 * time.Minute,
			want:    &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Signature expired: 20240101T000000Z is now earlier than 20240101T000100Z (20240101T000600Z - 5 min.)"},
		},
		{
			name:    "custom-90-sec",
			now:     testTime.Add(2 * time.Minute),
			maxSkew: 90 * time.Second,
			want:    &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Signature expired: 20240101T000000Z is now earlier than 20240101T000030Z (20240101T000200Z - 1.5 min.)"},
		},
		{
			name: "now-in-other-zone",
			now:  testTime.In(time.FixedZone("UTC+5", 5*3600)).Add(time.Minute),
		},
	}
	wire := signSDK(t, request{method: "GET", url: "http://" + host + "/2015-03-31/functions"}, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(tt.now)
			v.MaxSkew = tt.maxSkew
			_, err := verifyWire(t, v, wire)
			var got *sigv4.Error
			if err != nil {
				got = err.(*sigv4.Error)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFinishPayloadHash covers what Finish does with the hash it is given.
func TestFinishPayloadHash(t *testing.T) {
	const body = `{"Timeout":30}`
	tests := []struct {
		name        string
		header      http.Header
		signHash    string // payload hash the client signs
		finishHash  string // payload hash the server passes to Finish
		wantClaimed string
		want        sigv4.Kind
		wantPlain   bool // want an error that is not a *sigv4.Error
	}{
		{name: "no-header-body-hash", finishHash: sha256Hex(body)},
		{name: "no-header-other-body", finishHash: sha256Hex("other"), want: sigv4.InvalidSignatureException},
		{name: "no-header-unsigned-literal", finishHash: "UNSIGNED-PAYLOAD", want: sigv4.InvalidSignatureException},
		{name: "no-header-uppercase-hash", finishHash: strings.ToUpper(sha256Hex(body)), wantPlain: true},
		{name: "no-header-not-hex", finishHash: "abc", wantPlain: true},
		{
			name:        "header-matches",
			header:      http.Header{"X-Amz-Content-Sha256": {sha256Hex(body)}},
			finishHash:  sha256Hex(body),
			wantClaimed: sha256Hex(body),
		},
		{
			name:        "header-claims-other-hash",
			header:      http.Header{"X-Amz-Content-Sha256": {sha256Hex("claimed")}},
			signHash:    sha256Hex("claimed"),
			finishHash:  sha256Hex(body),
			wantClaimed: sha256Hex("claimed"),
			want:        sigv4.InvalidSignatureException,
		},
		{
			name:        "unsigned-payload-with-body-hash",
			header:      http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}},
			signHash:    "UNSIGNED-PAYLOAD",
			finishHash:  sha256Hex(body),
			wantClaimed: "UNSIGNED-PAYLOAD",
		},
		{
			name:        "unsigned-payload-with-literal",
			header:      http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}},
			signHash:    "UNSIGNED-PAYLOAD",
			finishHash:  "UNSIGNED-PAYLOAD",
			wantClaimed: "UNSIGNED-PAYLOAD",
		},
		{
			name:        "unsigned-payload-header-but-hash-signed",
			header:      http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}},
			finishHash:  sha256Hex(body),
			wantClaimed: "UNSIGNED-PAYLOAD",
			want:        sigv4.InvalidSignatureException,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := signSDK(t, request{method: "PUT", url: "http://" + host + "/2015-03-31/functions/f/configuration", header: tt.header, body: body}, tt.signHash)
			p, err := newVerifier(testTime).Start(parseWire(t, wire))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.ClaimedPayloadHash(); got != tt.wantClaimed {
				t.Errorf("ClaimedPayloadHash() = %q, want %q", got, tt.wantClaimed)
			}
			_, err = p.Finish(tt.finishHash)
			if tt.wantPlain {
				if err == nil || errorCode(err) != "not-a-sigv4-error" {
					t.Errorf("error = %v, want a plain error", err)
				}
				return
			}
			if got := errorCode(err); got != tt.want {
				t.Errorf("error = %v, want code %q", err, tt.want)
			}
			// Finish may be called again with the same outcome.
			if _, err2 := p.Finish(tt.finishHash); errorCode(err2) != errorCode(err) {
				t.Errorf("second Finish error = %v, want %v", err2, err)
			}
		})
	}
}

// TestPresigned verifies URLs presigned by aws-sdk-go-v2.
func TestPresigned(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		expires     int // X-Amz-Expires in seconds, 0 for none
		payloadHash string
		now         time.Time
		mutate      func(string) string
		want        *sigv4.Error
	}{
		{name: "get-arn", url: "http://" + host + "/2015-03-31/functions/" + escARN + "?Qualifier=%24LATEST", now: testTime},
		{name: "unsigned-payload", url: "http://" + host + "/2015-03-31/functions/my-fn", payloadHash: "UNSIGNED-PAYLOAD", now: testTime},
		{name: "expires-inside", url: "http://" + host + "/2015-03-31/functions/my-fn", expires: 3600, now: testTime.Add(59 * time.Minute)},
		{
			name: "expires-passed", url: "http://" + host + "/2015-03-31/functions/my-fn", expires: 60, now: testTime.Add(61 * time.Second),
			want: &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Request has expired"},
		},
		{
			name: "no-expires-skew-applies", url: "http://" + host + "/2015-03-31/functions/my-fn", now: testTime.Add(16 * time.Minute),
			want: &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: "Signature expired: 20240101T000000Z is now earlier than 20240101T000100Z (20240101T001600Z - 15 min.)"},
		},
		{
			name: "tampered-query", url: "http://" + host + "/2015-03-31/functions/my-fn?Qualifier=1", now: testTime,
			mutate: replaceOnce("Qualifier=1", "Qualifier=2"),
			want:   &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: sigv4.MessageSignatureMismatch},
		},
		{
			name: "tampered-expires", url: "http://" + host + "/2015-03-31/functions/my-fn", expires: 60, now: testTime,
			mutate: replaceOnce("X-Amz-Expires=60", "X-Amz-Expires=61"),
			want:   &sigv4.Error{Code: sigv4.InvalidSignatureException, Message: sigv4.MessageSignatureMismatch},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest("GET", tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.expires != 0 {
				q := r.URL.Query()
				q.Set("X-Amz-Expires", strconv.Itoa(tt.expires))
				r.URL.RawQuery = q.Encode()
			}
			hash := tt.payloadHash
			if hash == "" {
				hash = sha256Hex("")
			}
			creds := aws.Credentials{AccessKeyID: testCred.AccessKey, SecretAccessKey: testCred.Secret}
			signedURL, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, hash, "lambda", testRegion, testTime)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(signedURL)
			if err != nil {
				t.Fatal(err)
			}
			wire := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n\r\n"
			if tt.mutate != nil {
				wire = tt.mutate(wire)
			}
			_, err = verifyWire(t, newVerifier(tt.now), []byte(wire))
			var got *sigv4.Error
			if err != nil {
				got = err.(*sigv4.Error)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s\n%s", diff, wire)
			}
		})
	}
}

// TestNilLookup checks that a Verifier without Lookup knows no keys.
func TestNilLookup(t *testing.T) {
	wire := signSDK(t, request{method: "GET", url: "http://" + host + "/2015-03-31/functions"}, "")
	v := &sigv4.Verifier{Now: func() time.Time { return testTime }}
	if _, err := verifyWire(t, v, wire); errorCode(err) != sigv4.UnrecognizedClientException {
		t.Errorf("error = %v, want %s", err, sigv4.UnrecognizedClientException)
	}
}

// TestServiceAny checks that an empty Verifier.Service accepts any scope.
func TestServiceAny(t *testing.T) {
	r, err := http.NewRequest("GET", "http://"+host+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: testCred.AccessKey, SecretAccessKey: testCred.Secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex(""), "execute-api", "eu-west-1", testTime); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	v := newVerifier(testTime)
	v.Service = ""
	got, err := verifyWire(t, v, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got.Service != "execute-api" || got.Region != "eu-west-1" {
		t.Errorf("Service, Region = %q, %q, want execute-api, eu-west-1", got.Service, got.Region)
	}
}

// TestInProcessRequest verifies a request that never went through the
// wire (no RequestURI, Host only in Request.Host), as a handler test might
// build it.
func TestInProcessRequest(t *testing.T) {
	r, err := http.NewRequest("PUT", "http://"+host+"/2015-03-31/functions/"+escARN+"/code", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: testCred.AccessKey, SecretAccessKey: testCred.Secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex("{}"), "lambda", testRegion, testTime); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(newVerifier(testTime), r); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialRedaction checks that the secret never reaches a log line
// or a formatted string.
func TestCredentialRedaction(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("lookup", "cred", testCred)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("lookup", "cred", testCred)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		fmt.Fprintf(&buf, verb+"\n", testCred)
		fmt.Fprintf(&buf, verb+"\n", &testCred)
	}
	out := buf.String()
	if strings.Contains(out, testCred.Secret) || strings.Contains(out, "EXAMPLEKEY") {
		t.Errorf("secret in output:\n%s", out)
	}
	if !strings.Contains(out, testCred.AccessKey) {
		t.Errorf("access key missing from output:\n%s", out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"access_key": testCred.AccessKey, "account": testCred.Account}
	if diff := cmp.Diff(want, rec["cred"]); diff != "" {
		t.Errorf("logged cred mismatch (-want +got):\n%s", diff)
	}
}

func BenchmarkStartFinish(b *testing.B) {
	body := strings.Repeat("x", 1024)
	wire := signSDK(b, request{
		method: "POST",
		url:    "http://" + host + "/2015-03-31/functions/" + escARN + "/invocations?Qualifier=%24LATEST",
		header: http.Header{"Content-Type": {"application/json"}, "X-Amz-Invocation-Type": {"RequestResponse"}},
		body:   body,
	}, "")
	r := parseWire(b, wire)
	hash := sha256Hex(body)
	v := newVerifier(testTime)
	b.ReportAllocs()
	for b.Loop() {
		p, err := v.Start(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Finish(hash); err != nil {
			b.Fatal(err)
		}
	}
}

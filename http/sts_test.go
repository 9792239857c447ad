package http_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// sessionCreds are the temporary credentials newEnv's verifier knows.
var sessionCreds = aws.Credentials{AccessKeyID: "ASIAEXAMPLESESSION01", SecretAccessKey: "session-secret", SessionToken: "good-token"}

// stsAs sends an STS query request signed for service with creds.
func (e *env) stsAs(creds aws.Credentials, service, body string) response {
	e.t.Helper()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	return e.send(service, "POST", "/", body, creds, e.region, h, nil)
}

const getCallerIdentity = "Action=GetCallerIdentity&Version=2011-06-15"

func stsGoldenCases() []goldenCase {
	expired := sessionCreds
	expired.SessionToken = "expired-token"
	forged := sessionCreds
	forged.SessionToken = "forged-token"
	sreq := func(creds aws.Credentials, body string) func(e *env) response {
		return func(e *env) response { return e.stsAs(creds, "sts", body) }
	}
	return []goldenCase{
		{op: "GetCallerIdentity", name: "account-credentials", req: func(e *env) response { return e.stsAs(e.creds, "sts", getCallerIdentity) }},
		{op: "GetCallerIdentity", name: "session-credentials", req: sreq(sessionCreds, getCallerIdentity)},
		{op: "GetCallerIdentity", name: "expired-session", req: sreq(expired, getCallerIdentity)},
		{op: "GetCallerIdentity", name: "forged-session", req: sreq(forged, getCallerIdentity)},
		{op: "GetCallerIdentity", name: "unknown-key", req: sreq(aws.Credentials{AccessKeyID: "nobody", SecretAccessKey: "x"}, getCallerIdentity)},
		{op: "GetCallerIdentity", name: "signature-mismatch", req: sreq(aws.Credentials{AccessKeyID: "test", SecretAccessKey: "wrong"}, getCallerIdentity)},
		{op: "GetCallerIdentity", name: "unknown-action", req: sreq(sessionCreds, "Action=AssumeRole&Version=2011-06-15")},
		{op: "GetCallerIdentity", name: "no-version", req: sreq(sessionCreds, "Action=GetCallerIdentity")},
		// The Lambda API takes the same session credentials, and refuses
		// them in its own words once they expire.
		{op: "ListFunctions", name: "session-credentials", req: func(e *env) response {
			return e.send("lambda", "GET", "/2015-03-31/functions", "", sessionCreds, e.region, nil, nil)
		}},
		// The path older SDKs send.
		{op: "ListFunctions", name: "trailing-slash", req: func(e *env) response {
			return e.send("lambda", "GET", "/2015-03-31/functions/", "", sessionCreds, e.region, nil, nil)
		}},
		{op: "ListFunctions", name: "expired-session", req: func(e *env) response {
			return e.send("lambda", "GET", "/2015-03-31/functions", "", expired, e.region, nil, nil)
		}},
	}
}

func TestSTSGolden(t *testing.T) {
	for _, tc := range stsGoldenCases() {
		t.Run(tc.op+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts...)
			checkGolden(t, tc.op, tc.name, tc.req(e))
		})
	}
}

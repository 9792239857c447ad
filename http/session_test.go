package http_test

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambdahost/lambdahost/internal/apitest"
)

// sessionGoldenCases (run by TestGolden) are requests signed with an execution environment's
// temporary credentials (apitest.Session).
func sessionGoldenCases() []goldenCase {
	listAs := func(path string, creds aws.Credentials) func(e *env) response {
		return func(e *env) response { return e.send("lambda", "GET", path, "", creds, e.region, nil, nil) }
	}
	return []goldenCase{
		{op: "ListFunctions", name: "session-credentials", req: listAs("/2015-03-31/functions", apitest.Session)},
		// The path older SDKs send.
		{op: "ListFunctions", name: "trailing-slash", req: listAs("/2015-03-31/functions/", apitest.Session)},
		// Refused in the Lambda API's own words once they expire.
		{op: "ListFunctions", name: "expired-session", req: listAs("/2015-03-31/functions", apitest.ExpiredSession)},
	}
}

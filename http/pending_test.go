package http_test

import "net/url"

// pendingGoldenCases pin what the operations of pending.go answer: AWS's
// answers for a function without the resource. An issue that implements
// a resource replaces its cases here with its own (policy_test.go has
// those of resource-based policies and function URLs).
func pendingGoldenCases() []goldenCase {
	withVersion := steps(withFunction("f"), func(e *env) {
		e.must("POST", fnPath+"f/versions", "{}")
	})
	const scPath = "/2025-11-30/functions/"
	return []goldenCase{
		{op: "GetFunctionScalingConfig", name: "version", setup: withVersion, req: req("GET", scPath+"f/function-scaling-config?Qualifier=1", "")},
		{op: "GetFunctionScalingConfig", name: "unknown-version", setup: withFunction("f"), req: req("GET", scPath+"f/function-scaling-config?Qualifier=3", "")},
		{op: "PutFunctionScalingConfig", name: "not-supported", setup: withVersion, req: req("PUT", scPath+"f/function-scaling-config?Qualifier=1", `{"FunctionScalingConfig":{"MinExecutionEnvironments":1}}`)},
		{op: "ListCapacityProviders", name: "none", req: req("GET", "/2025-11-30/capacity-providers", "")},
		{op: "GetDurableExecution", name: "unknown", req: req("GET", "/2025-12-01/durable-executions/"+url.PathEscape("arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST/durable-execution/run/abc"), "")},
		{op: "ListDurableExecutionsByFunction", name: "none", setup: withFunction("f"), req: req("GET", "/2025-12-01/functions/f/durable-executions", "")},
	}
}

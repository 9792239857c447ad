package http_test

import "net/url"

// pendingGoldenCases pin what the operations of pending.go answer: AWS's
// answers for a function without the resource. An issue that implements
// a resource replaces its cases here with its own (policy_test.go has
// those of resource-based policies and function URLs).
func pendingGoldenCases() []goldenCase {
	withVersion := steps(withFunction("f"), func(e *env) {
		e.must("POST", fnPath+"f/versions", "{}")
		e.must("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1"}`)
	})
	const (
		eicPath = "/2019-09-25/functions/"
		esmPath = "/2015-03-31/event-source-mappings"
		pcPath  = "/2019-09-30/functions/"
		recPath = "/2024-08-31/functions/"
		rtPath  = "/2021-07-20/functions/"
	)
	return []goldenCase{
		// Event invoke configs
		{op: "GetFunctionEventInvokeConfig", name: "none", setup: withFunction("f"), req: req("GET", eicPath+"f/event-invoke-config", "")},
		{op: "GetFunctionEventInvokeConfig", name: "alias", setup: withVersion, req: req("GET", eicPath+"f/event-invoke-config?Qualifier=live", "")},
		{op: "PutFunctionEventInvokeConfig", name: "nothing-set", req: req("PUT", eicPath+"nope/event-invoke-config", `{}`)},
		{op: "PutFunctionEventInvokeConfig", name: "unknown-function", req: req("PUT", eicPath+"nope/event-invoke-config", `{"MaximumRetryAttempts":1}`)},
		{op: "PutFunctionEventInvokeConfig", name: "not-supported", setup: withFunction("f"), req: req("PUT", eicPath+"f/event-invoke-config", `{"MaximumRetryAttempts":1}`)},
		{op: "PutFunctionEventInvokeConfig", name: "too-many-retries", setup: withFunction("f"), req: req("PUT", eicPath+"f/event-invoke-config", `{"MaximumRetryAttempts":3}`)},
		{op: "UpdateFunctionEventInvokeConfig", name: "none", setup: withFunction("f"), req: req("POST", eicPath+"f/event-invoke-config", `{"MaximumRetryAttempts":0}`)},
		{op: "ListFunctionEventInvokeConfigs", name: "none", setup: withFunction("f"), req: req("GET", eicPath+"f/event-invoke-config/list", "")},

		// Event source mappings
		{op: "ListEventSourceMappings", name: "none", req: req("GET", esmPath+"?FunctionName=doesnotexist", "")},
		{op: "GetEventSourceMapping", name: "unknown", req: req("GET", esmPath+"/14e0db71-5d35-4eb5-b481-8945cf9d10c2", "")},
		{op: "CreateEventSourceMapping", name: "no-event-source", setup: withFunction("f"), req: req("POST", esmPath, `{"FunctionName":"f"}`)},
		{op: "CreateEventSourceMapping", name: "unknown-function", req: req("POST", esmPath, `{"FunctionName":"nope","EventSourceArn":"arn:aws:sqs:us-east-1:000000000000:q"}`)},
		{op: "CreateEventSourceMapping", name: "not-supported", setup: withFunction("f"), req: req("POST", esmPath, `{"FunctionName":"f","EventSourceArn":"arn:aws:sqs:us-east-1:000000000000:q"}`)},

		// Provisioned concurrency
		{op: "GetProvisionedConcurrencyConfig", name: "none", setup: withVersion, req: req("GET", pcPath+"f/provisioned-concurrency?Qualifier=1", "")},
		{op: "GetProvisionedConcurrencyConfig", name: "latest", setup: withFunction("f"), req: req("GET", pcPath+"f/provisioned-concurrency?Qualifier=%24LATEST", "")},
		{op: "GetProvisionedConcurrencyConfig", name: "unknown-alias", setup: withFunction("f"), req: req("GET", pcPath+"f/provisioned-concurrency?Qualifier=noalias", "")},
		{op: "GetProvisionedConcurrencyConfig", name: "unknown-version", setup: withFunction("f"), req: req("GET", pcPath+"f/provisioned-concurrency?Qualifier=10", "")},
		{op: "DeleteProvisionedConcurrencyConfig", name: "none", setup: withVersion, req: req("DELETE", pcPath+"f/provisioned-concurrency?Qualifier=live", "")},
		{op: "PutProvisionedConcurrencyConfig", name: "zero", setup: withVersion, req: req("PUT", pcPath+"f/provisioned-concurrency?Qualifier=1", `{"ProvisionedConcurrentExecutions":0}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "latest", setup: withFunction("f"), req: req("PUT", pcPath+"f/provisioned-concurrency?Qualifier=%24LATEST", `{"ProvisionedConcurrentExecutions":1}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "not-supported", setup: withVersion, req: req("PUT", pcPath+"f/provisioned-concurrency?Qualifier=1", `{"ProvisionedConcurrentExecutions":1}`)},
		{op: "ListProvisionedConcurrencyConfigs", name: "none", setup: withFunction("f"), req: req("GET", pcPath+"f/provisioned-concurrency?List=ALL", "")},
		{op: "ListProvisionedConcurrencyConfigs", name: "unknown-function", req: req("GET", pcPath+"doesnotexist/provisioned-concurrency?List=ALL", "")},

		// Recursion and runtime management
		{op: "GetFunctionRecursionConfig", name: "default", setup: withFunction("f"), req: req("GET", recPath+"f/recursion-config", "")},
		{op: "GetFunctionRecursionConfig", name: "unknown-function", req: req("GET", recPath+"nope/recursion-config", "")},
		{op: "PutFunctionRecursionConfig", name: "terminate", setup: withFunction("f"), req: req("PUT", recPath+"f/recursion-config", `{"RecursiveLoop":"Terminate"}`)},
		{op: "PutFunctionRecursionConfig", name: "allow", setup: withFunction("f"), req: req("PUT", recPath+"f/recursion-config", `{"RecursiveLoop":"Allow"}`)},
		{op: "PutFunctionRecursionConfig", name: "invalid", setup: withFunction("f"), req: req("PUT", recPath+"f/recursion-config", `{"RecursiveLoop":"InvalidValue"}`)},
		{op: "GetRuntimeManagementConfig", name: "auto", setup: withFunction("f"), req: req("GET", rtPath+"f/runtime-management-config", "")},
		{op: "GetRuntimeManagementConfig", name: "version", setup: withVersion, req: req("GET", rtPath+"f/runtime-management-config?Qualifier=1", "")},
		{op: "PutRuntimeManagementConfig", name: "auto", setup: withFunction("f"), req: req("PUT", rtPath+"f/runtime-management-config", `{"UpdateRuntimeOn":"Auto"}`)},
		{op: "PutRuntimeManagementConfig", name: "manual", setup: withFunction("f"), req: req("PUT", rtPath+"f/runtime-management-config",
			`{"UpdateRuntimeOn":"Manual","RuntimeVersionArn":"arn:aws:lambda:us-east-1::runtime:0123456789abcdef"}`)},

		// The rest
		{op: "InvokeAsync", name: "not-supported", setup: withFunction("f"), req: req("POST", "/2014-11-13/functions/f/invoke-async", `{}`)},
		{op: "ListCapacityProviders", name: "none", req: req("GET", "/2025-11-30/capacity-providers", "")},
		{op: "GetDurableExecution", name: "unknown", req: req("GET", "/2025-12-01/durable-executions/"+url.PathEscape("arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST/durable-execution/run/abc"), "")},
		{op: "ListDurableExecutionsByFunction", name: "none", setup: withFunction("f"), req: req("GET", "/2025-12-01/functions/f/durable-executions", "")},
	}
}

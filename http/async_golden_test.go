package http_test

import "net/url"

// The paths of the asynchronous-invocation and per-function config operations.
const (
	eicPath       = "/2019-09-25/functions/"
	recursionPath = "/2024-08-31/functions/"
	runtimePath   = "/2021-07-20/functions/"
	pcPath        = "/2019-09-30/functions/"
	destQueue     = "arn:aws:sqs:us-east-1:000000000000:dest"
)

func eic(name string) string { return eicPath + name + "/event-invoke-config" }

func pc(name string) string { return pcPath + name + "/provisioned-concurrency" }

// withPublished creates function f with version 1 and alias live → 1.
func withPublished(e *env) {
	withFunction("f")(e)
	e.must("POST", fnPath+"f/versions", "{}")
	e.must("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1"}`)
}

func asyncGoldenCases() []goldenCase {
	fnARN := "arn:aws:lambda:us-east-1:000000000000:function:f"
	return []goldenCase{
		// Event invoke configs.
		{op: "PutFunctionEventInvokeConfig", name: "latest", setup: func(e *env) {
			withFunction("f")(e)
			withFunction("other")(e)
		}, req: req("PUT", eic("f"), `{"MaximumRetryAttempts":1,"MaximumEventAgeInSeconds":60,"DestinationConfig":{"OnSuccess":{"Destination":"arn:aws:lambda:us-east-1:000000000000:function:other"}}}`)},
		{op: "PutFunctionEventInvokeConfig", name: "alias", setup: withPublished, req: req("PUT", eic("f")+"?Qualifier=live", `{"DestinationConfig":{"OnFailure":{"Destination":"`+destQueue+`"}}}`)},
		{op: "PutFunctionEventInvokeConfig", name: "replaces", setup: func(e *env) {
			withFunction("f")(e)
			e.must("PUT", eic("f"), `{"MaximumRetryAttempts":2,"MaximumEventAgeInSeconds":60}`)
		}, req: req("PUT", eic("f"), `{"MaximumRetryAttempts":0}`)},
		{op: "PutFunctionEventInvokeConfig", name: "nothing-set", req: req("PUT", eic("doesnotexist"), `{}`)},
		{op: "PutFunctionEventInvokeConfig", name: "unknown-function", req: req("PUT", eic("doesnotexist"), `{"MaximumRetryAttempts":1}`)},
		{op: "PutFunctionEventInvokeConfig", name: "unknown-alias", setup: withFunction("f"), req: req("PUT", eic("f")+"?Qualifier=nope", `{"MaximumRetryAttempts":1}`)},
		{op: "PutFunctionEventInvokeConfig", name: "out-of-range", setup: withFunction("f"), req: req("PUT", eic("f"), `{"MaximumRetryAttempts":3,"MaximumEventAgeInSeconds":59}`)},
		{op: "PutFunctionEventInvokeConfig", name: "destination-unknown-function", setup: withFunction("f"), req: req("PUT", eic("f"), `{"DestinationConfig":{"OnSuccess":{"Destination":"arn:aws:lambda:us-east-1:000000000000:function:doesnotexist"}}}`)},
		{op: "PutFunctionEventInvokeConfig", name: "destination-itself", setup: withFunction("f"), req: req("PUT", eic("f"), `{"DestinationConfig":{"OnSuccess":{"Destination":"`+fnARN+`"}}}`)},
		{op: "PutFunctionEventInvokeConfig", name: "destination-unsupported", setup: withFunction("f"), req: req("PUT", eic("f"), `{"DestinationConfig":{"OnSuccess":{"Destination":"arn:aws:iam:us-east-1:000000000000:function:f"}}}`)},
		{op: "PutFunctionEventInvokeConfig", name: "destination-pattern", setup: withFunction("f"), req: req("PUT", eic("f"), `{"DestinationConfig":{"OnFailure":{"Destination":"arn:aws:_-/!lambda:us-east-1:000000000000:function:f"}}}`)},
		{op: "PutFunctionEventInvokeConfig", name: "qualifier-mismatch", setup: withPublished, req: req("PUT", eic("f:1")+"?Qualifier=%24LATEST", `{"MaximumRetryAttempts":1}`)},
		{op: "UpdateFunctionEventInvokeConfig", name: "merges", setup: func(e *env) {
			withFunction("f")(e)
			e.must("PUT", eic("f"), `{"MaximumRetryAttempts":2,"MaximumEventAgeInSeconds":60}`)
		}, req: req("POST", eic("f"), `{"MaximumRetryAttempts":0}`)},
		{op: "UpdateFunctionEventInvokeConfig", name: "none", setup: withFunction("f"), req: req("POST", eic("f"), `{"MaximumRetryAttempts":0}`)},
		{op: "UpdateFunctionEventInvokeConfig", name: "unknown-function", req: req("POST", eic("doesnotexist"), `{"MaximumRetryAttempts":0}`)},
		{op: "GetFunctionEventInvokeConfig", name: "version", setup: func(e *env) {
			withPublished(e)
			e.must("PUT", eic("f")+"?Qualifier=1", `{"MaximumEventAgeInSeconds":21600}`)
		}, req: req("GET", eic("f")+"?Qualifier=1", "")},
		{op: "GetFunctionEventInvokeConfig", name: "none", setup: withFunction("f"), req: req("GET", eic("f"), "")},
		{op: "GetFunctionEventInvokeConfig", name: "unknown-function", req: req("GET", eic("doesnotexist"), "")},
		{op: "GetFunctionEventInvokeConfig", name: "other-region", setup: withFunction("f"), req: req("GET", eic(url.PathEscape("arn:aws:lambda:eu-west-1:000000000000:function:f")), "")},
		{op: "DeleteFunctionEventInvokeConfig", name: "deleted", setup: func(e *env) {
			withFunction("f")(e)
			e.must("PUT", eic("f"), `{"MaximumRetryAttempts":1}`)
		}, req: req("DELETE", eic("f"), "")},
		{op: "DeleteFunctionEventInvokeConfig", name: "none", setup: withFunction("f"), req: req("DELETE", eic("f"), "")},
		{op: "ListFunctionEventInvokeConfigs", name: "page", setup: func(e *env) {
			withPublished(e)
			e.must("PUT", eic("f"), `{"MaximumRetryAttempts":0}`)
			e.must("PUT", eic("f")+"?Qualifier=1", `{"MaximumRetryAttempts":0}`)
			e.must("PUT", eic("f")+"?Qualifier=live", `{"MaximumRetryAttempts":0}`)
		}, req: req("GET", eic("f")+"/list?MaxItems=2", "")},
		{op: "ListFunctionEventInvokeConfigs", name: "empty", setup: withFunction("f"), req: req("GET", eic("f")+"/list", "")},
		{op: "ListFunctionEventInvokeConfigs", name: "unknown-function", req: req("GET", eic("doesnotexist")+"/list", "")},
		{op: "ListFunctionEventInvokeConfigs", name: "bad-max-items", setup: withFunction("f"), req: req("GET", eic("f")+"/list?MaxItems=51", "")},

		// InvokeAsync.
		{op: "InvokeAsync", name: "accepted", setup: withFunction("f"), req: req("POST", "/2014-11-13/functions/f/invoke-async/", `{"k":"v"}`)},
		{op: "InvokeAsync", name: "unknown-function", req: req("POST", "/2014-11-13/functions/doesnotexist/invoke-async/", `{}`)},
		{op: "InvokeAsync", name: "not-json", setup: withFunction("f"), req: req("POST", "/2014-11-13/functions/f/invoke-async/", `hello`)},

		// Recursion and runtime management configs.
		{op: "GetFunctionRecursionConfig", name: "default", setup: withFunction("f"), req: req("GET", recursionPath+"f/recursion-config", "")},
		{op: "GetFunctionRecursionConfig", name: "unknown-function", req: req("GET", recursionPath+"doesnotexist/recursion-config", "")},
		{op: "GetFunctionRecursionConfig", name: "qualified", setup: withFunction("f"), req: req("GET", recursionPath+"f:1/recursion-config", "")},
		{op: "PutFunctionRecursionConfig", name: "allow", setup: withFunction("f"), req: req("PUT", recursionPath+"f/recursion-config", `{"RecursiveLoop":"Allow"}`)},
		{op: "PutFunctionRecursionConfig", name: "invalid", setup: withFunction("f"), req: req("PUT", recursionPath+"f/recursion-config", `{"RecursiveLoop":"InvalidValue"}`)},
		{op: "GetRuntimeManagementConfig", name: "default", setup: withFunction("f"), req: req("GET", runtimePath+"f/runtime-management-config", "")},
		{op: "GetRuntimeManagementConfig", name: "unknown-version", setup: withFunction("f"), req: req("GET", runtimePath+"f/runtime-management-config?Qualifier=9", "")},
		{op: "PutRuntimeManagementConfig", name: "manual", setup: withPublished, req: req("PUT", runtimePath+"f/runtime-management-config?Qualifier=1",
			`{"UpdateRuntimeOn":"Manual","RuntimeVersionArn":"arn:aws:lambda:us-east-1::runtime:0123456789abcdef"}`)},
		{op: "PutRuntimeManagementConfig", name: "manual-without-arn", setup: withFunction("f"), req: req("PUT", runtimePath+"f/runtime-management-config", `{"UpdateRuntimeOn":"Manual"}`)},
		{op: "PutRuntimeManagementConfig", name: "bad-mode", setup: withFunction("f"), req: req("PUT", runtimePath+"f/runtime-management-config", `{"UpdateRuntimeOn":"Never"}`)},

		// Provisioned concurrency configs.
		{op: "PutProvisionedConcurrencyConfig", name: "version", setup: withPublished, req: req("PUT", pc("f")+"?Qualifier=1", `{"ProvisionedConcurrentExecutions":5}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "latest", setup: withFunction("f"), req: req("PUT", pc("f")+"?Qualifier=%24LATEST", `{"ProvisionedConcurrentExecutions":1}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "zero", setup: withPublished, req: req("PUT", pc("f")+"?Qualifier=1", `{"ProvisionedConcurrentExecutions":0}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "unknown-alias", setup: withFunction("f"), req: req("PUT", pc("f")+"?Qualifier=noalias", `{"ProvisionedConcurrentExecutions":1}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "unknown-version", setup: withFunction("f"), req: req("PUT", pc("f")+"?Qualifier=10", `{"ProvisionedConcurrentExecutions":1}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "alias-of-provisioned-version", setup: func(e *env) {
			withPublished(e)
			e.must("PUT", pc("f")+"?Qualifier=1", `{"ProvisionedConcurrentExecutions":1}`)
		}, req: req("PUT", pc("f")+"?Qualifier=live", `{"ProvisionedConcurrentExecutions":1}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "version-of-provisioned-alias", setup: func(e *env) {
			withPublished(e)
			e.must("PUT", pc("f")+"?Qualifier=live", `{"ProvisionedConcurrentExecutions":1}`)
		}, req: req("PUT", pc("f")+"?Qualifier=1", `{"ProvisionedConcurrentExecutions":1}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "over-reserved", setup: func(e *env) {
			withPublished(e)
			e.must("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":1}`)
		}, req: req("PUT", pc("f")+"?Qualifier=1", `{"ProvisionedConcurrentExecutions":2}`)},
		{op: "PutProvisionedConcurrencyConfig", name: "over-unreserved", setup: withPublished, req: req("PUT", pc("f")+"?Qualifier=1", `{"ProvisionedConcurrentExecutions":901}`)},
		{op: "GetProvisionedConcurrencyConfig", name: "in-progress", setup: func(e *env) {
			withPublished(e)
			e.must("PUT", pc("f")+"?Qualifier=live", `{"ProvisionedConcurrentExecutions":2}`)
		}, req: req("GET", pc("f")+"?Qualifier=live", "")},
		{op: "GetProvisionedConcurrencyConfig", name: "none", setup: withPublished, req: req("GET", pc("f")+"?Qualifier=1", "")},
		{op: "GetProvisionedConcurrencyConfig", name: "latest", setup: withFunction("f"), req: req("GET", pc("f")+"?Qualifier=%24LATEST", "")},
		{op: "GetProvisionedConcurrencyConfig", name: "unknown-function-alias", req: req("GET", pc("doesnotexist")+"?Qualifier=noalias", "")},
		{op: "DeleteProvisionedConcurrencyConfig", name: "none", setup: withPublished, req: req("DELETE", pc("f")+"?Qualifier=1", "")},
		{op: "DeleteProvisionedConcurrencyConfig", name: "unknown-function-version", req: req("DELETE", pc("doesnotexist")+"?Qualifier=1", "")},
		{op: "ListProvisionedConcurrencyConfigs", name: "configs", setup: func(e *env) {
			withPublished(e)
			e.must("PUT", pc("f")+"?Qualifier=live", `{"ProvisionedConcurrentExecutions":2}`)
		}, req: req("GET", pc("f")+"?List=ALL", "")},
		{op: "ListProvisionedConcurrencyConfigs", name: "none", setup: withFunction("f"), req: req("GET", pc("f")+"?List=ALL", "")},
		{op: "ListProvisionedConcurrencyConfigs", name: "unknown-function", req: req("GET", pc("doesnotexist")+"?List=ALL", "")},
		{op: "PutFunctionConcurrency", name: "below-provisioned", setup: func(e *env) {
			withPublished(e)
			e.must("PUT", pc("f")+"?Qualifier=1", `{"ProvisionedConcurrentExecutions":2}`)
		}, req: req("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":1}`)},
	}
}

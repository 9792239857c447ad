package http_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const fnPath = "/2015-03-31/functions/"

// The concurrency operations live under two API versions: Put and Delete
// under 2017-10-31, Get under 2019-09-30.
const (
	putConcurrency = "/2017-10-31/functions/"
	getConcurrency = "/2019-09-30/functions/"
)

// goldenCase is one request whose response a golden file pins.
type goldenCase struct {
	op, name string
	opts     []envOption
	setup    func(e *env)
	req      func(e *env) response
}

func withFunction(name string) func(e *env) {
	return func(e *env) { e.must("POST", "/2015-03-31/functions", createBody(e.t, name, "")) }
}

func req(method, path, body string) func(e *env) response {
	return func(e *env) response { return e.do(method, path, body) }
}

func updateZip(e *env, content, extra string) string {
	body := `{"ZipFile":"` + b64(testZip(e.t, content)) + `"`
	if extra != "" {
		body += "," + extra
	}
	return body + "}"
}

const (
	cscPath           = "/2020-04-22/code-signing-configs"
	profileVersionARN = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/release/abcdefghij"
	cscBody           = `{"Description":"release builds","AllowedPublishers":{"SigningProfileVersionArns":["` + profileVersionARN + `"]},"CodeSigningPolicies":{"UntrustedArtifactOnDeployment":"Warn"}}`
	// firstCSC is the ARN of the first config an env creates.
	firstCSC = "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-00000000000000001"
)

func withCSC(e *env) { e.must("POST", cscPath, cscBody) }

func fnCSCPath(name string) string { return "/2020-06-30/functions/" + name + "/code-signing-config" }

func goldenCases() []goldenCase {
	arn := "arn:aws:lambda:us-east-1:000000000000:function:f"
	return []goldenCase{
		// CreateFunction
		{op: "CreateFunction", name: "zip", req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", `"Description":"d","Timeout":30,"MemorySize":256,"Environment":{"Variables":{"STAGE":"prod"}},"Tags":{"team":"x"}`))
		}},
		{op: "CreateFunction", name: "publish", req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", `"Publish":true,"Architectures":["arm64"]`))
		}},
		{op: "CreateFunction", name: "duplicate", setup: withFunction("f"), req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", ""))
		}},
		{op: "CreateFunction", name: "bad-role", req: req("POST", "/2015-03-31/functions", `{"FunctionName":"f","Runtime":"python3.12","Role":"r1","Handler":"a.b","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`)},
		{op: "CreateFunction", name: "missing-handler", req: req("POST", "/2015-03-31/functions", `{"FunctionName":"f","Runtime":"python3.12","Role":"arn:aws:iam::000000000000:role/r","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`)},
		{op: "CreateFunction", name: "invalid-runtime", req: req("POST", "/2015-03-31/functions", `{"FunctionName":"f","Runtime":"PYTHON3.9","Role":"arn:aws:iam::000000000000:role/r","Handler":"a.b","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`)},
		{op: "CreateFunction", name: "deprecated-runtime", req: req("POST", "/2015-03-31/functions", `{"FunctionName":"f","Runtime":"go1.x","Role":"arn:aws:iam::000000000000:role/r","Handler":"a.b","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`)},
		{op: "CreateFunction", name: "reserved-env", req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", `"Environment":{"Variables":{"AWS_REGION":"x","OK":"y"}}`))
		}},
		{op: "CreateFunction", name: "not-a-zip", req: req("POST", "/2015-03-31/functions", `{"FunctionName":"f","Runtime":"python3.12","Role":"arn:aws:iam::000000000000:role/r","Handler":"a.b","Code":{"ZipFile":"aGVsbG8="}}`)},
		{op: "CreateFunction", name: "logging-json", req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", `"LoggingConfig":{"LogFormat":"JSON","ApplicationLogLevel":"WARN"}`))
		}},
		{op: "CreateFunction", name: "logging-text-with-levels", req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", `"LoggingConfig":{"LogFormat":"Text","SystemLogLevel":"WARN"}`))
		}},
		{op: "CreateFunction", name: "uppercase-architecture", req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", `"Architectures":["X86_64"]`))
		}},
		{op: "CreateFunction", name: "malformed-json", req: req("POST", "/2015-03-31/functions", `{"FunctionName":`)},
		{op: "CreateFunction", name: "unknown-code-signing-config", req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", `"CodeSigningConfigArn":"arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdefg"`))
		}},

		// GetFunction and GetFunctionConfiguration
		{op: "GetFunction", name: "active", setup: withFunction("f"), req: req("GET", fnPath+"f", "")},
		{op: "GetFunction", name: "by-arn-with-version", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", fnPath+"f/versions", "{}")
		}, req: req("GET", fnPath+url.PathEscape(arn)+"?Qualifier=1", "")},
		{op: "GetFunction", name: "not-found", req: req("GET", fnPath+"nope", "")},
		{op: "GetFunction", name: "qualifier-not-found", setup: withFunction("f"), req: req("GET", fnPath+"f?Qualifier=7", "")},
		{op: "GetFunction", name: "qualifier-mismatch", setup: withFunction("f"), req: req("GET", fnPath+"f:1?Qualifier=2", "")},
		{op: "GetFunction", name: "other-region", setup: withFunction("f"), req: req("GET", fnPath+url.PathEscape("arn:aws:lambda:eu-west-1:000000000000:function:f"), "")},
		{op: "GetFunction", name: "other-account", setup: withFunction("f"), req: req("GET", fnPath+url.PathEscape("arn:aws:lambda:us-east-1:111111111111:function:f"), "")},
		{op: "GetFunction", name: "account-isolation", setup: withFunction("f"), req: func(e *env) response {
			return e.doWith("GET", fnPath+"f", "", aws.Credentials{AccessKeyID: "other", SecretAccessKey: "other"}, "us-east-1", nil)
		}},
		{op: "GetFunctionConfiguration", name: "latest-qualified", setup: withFunction("f"), req: req("GET", fnPath+"f/configuration?Qualifier=%24LATEST", "")},

		// ListFunctions
		{op: "ListFunctions", name: "page", setup: func(e *env) {
			withFunction("a")(e)
			withFunction("b")(e)
			withFunction("c")(e)
		}, req: req("GET", "/2015-03-31/functions?MaxItems=2", "")},
		{op: "ListFunctions", name: "all-versions", setup: func(e *env) {
			withFunction("a")(e)
			e.must("POST", fnPath+"a/versions", "{}")
		}, req: req("GET", "/2015-03-31/functions?FunctionVersion=ALL", "")},
		{op: "ListFunctions", name: "bad-function-version", req: req("GET", "/2015-03-31/functions?FunctionVersion=invalid", "")},
		{op: "ListFunctions", name: "bad-max-items", req: req("GET", "/2015-03-31/functions?MaxItems=0", "")},

		// DeleteFunction
		{op: "DeleteFunction", name: "function", setup: withFunction("f"), req: req("DELETE", fnPath+"f", "")},
		{op: "DeleteFunction", name: "latest", setup: withFunction("f"), req: req("DELETE", fnPath+"f?Qualifier=%24LATEST", "")},
		{op: "DeleteFunction", name: "not-found", req: req("DELETE", fnPath+"f", "")},
		{op: "DeleteFunction", name: "version-in-alias", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", fnPath+"f/versions", "{}")
			e.must("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1"}`)
		}, req: req("DELETE", fnPath+"f?Qualifier=1", "")},

		// UpdateFunctionCode
		{op: "UpdateFunctionCode", name: "zip", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", ""))
		}},
		{op: "UpdateFunctionCode", name: "publish", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", `"Publish":true`))
		}},
		{op: "UpdateFunctionCode", name: "publish-to-latest-published", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", `"PublishTo":"LATEST_PUBLISHED"`))
		}},
		{op: "UpdateFunctionCode", name: "dry-run", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", `"DryRun":true`))
		}},
		{op: "UpdateFunctionCode", name: "architectures-and-kms", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", `"Architectures":["arm64"],"SourceKMSKeyArn":"arn:aws:kms:us-east-1:000000000000:key/k"`))
		}},
		{op: "UpdateFunctionCode", name: "revision-mismatch", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", `"RevisionId":"stale"`))
		}},
		{op: "UpdateFunctionCode", name: "in-progress", opts: []envOption{withBlockedSettling()}, setup: func(e *env) {
			withFunction("f")(e)
		}, req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", ""))
		}},
		{op: "UpdateFunctionCode", name: "not-found", req: func(e *env) response {
			return e.do("PUT", fnPath+"nope/code", updateZip(e, "v2", ""))
		}},
		{op: "UpdateFunctionCode", name: "qualified-name", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f:1/code", updateZip(e, "v2", ""))
		}},
		{op: "UpdateFunctionCode", name: "invalid-name", req: func(e *env) response {
			return e.do("PUT", fnPath+"f%20g/code", updateZip(e, "v2", ""))
		}},
		{op: "UpdateFunctionCode", name: "name-too-long", req: func(e *env) response {
			return e.do("PUT", fnPath+strings.Repeat("a", 65)+"/code", updateZip(e, "v2", ""))
		}},
		{op: "UpdateFunctionCode", name: "not-a-zip", setup: withFunction("f"), req: req("PUT", fnPath+"f/code", `{"ZipFile":"aGVsbG8="}`)},
		{op: "UpdateFunctionCode", name: "empty-zip", setup: withFunction("f"), req: req("PUT", fnPath+"f/code", `{"ZipFile":""}`)},
		{op: "UpdateFunctionCode", name: "no-source", setup: withFunction("f"), req: req("PUT", fnPath+"f/code", `{}`)},
		{op: "UpdateFunctionCode", name: "zip-and-s3", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", `"S3Bucket":"bucket","S3Key":"k.zip"`))
		}},
		{op: "UpdateFunctionCode", name: "image-on-zip", setup: withFunction("f"), req: req("PUT", fnPath+"f/code", `{"ImageUri":"123456789012.dkr.ecr.us-east-1.amazonaws.com/r:latest"}`)},
		{op: "UpdateFunctionCode", name: "s3-no-bucket", setup: withFunction("f"), req: req("PUT", fnPath+"f/code", `{"S3Bucket":"bucket","S3Key":"k.zip"}`)},
		{op: "UpdateFunctionCode", name: "bad-bucket-name", setup: withFunction("f"), req: req("PUT", fnPath+"f/code", `{"S3Bucket":"b.","S3Key":"k.zip"}`)},
		{op: "UpdateFunctionCode", name: "two-architectures", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", `"Architectures":["x86_64","arm64"]`))
		}},
		{op: "UpdateFunctionCode", name: "bad-kms-arn", setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", `"SourceKMSKeyArn":"key"`))
		}},
		{op: "UpdateFunctionCode", name: "code-storage-exceeded", opts: []envOption{withCodeStorageLimit(250)}, setup: withFunction("f"), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", updateZip(e, "v2", `"Publish":true`))
		}},
		{op: "UpdateFunctionCode", name: "request-too-large", setup: withFunction("f"), req: func(e *env) response {
			return e.rawOversized("PUT", fnPath+"f/code", 70167212)
		}},

		// UpdateFunctionConfiguration
		{op: "UpdateFunctionConfiguration", name: "config", setup: withFunction("f"), req: req("PUT", fnPath+"f/configuration", `{"Timeout":60,"MemorySize":1024,"Environment":{"Variables":{"KEY":"v"}},"EphemeralStorage":{"Size":1024},"LoggingConfig":{"LogFormat":"JSON"}}`)},
		{op: "UpdateFunctionConfiguration", name: "logging-levels-merged", setup: func(e *env) {
			e.must("POST", "/2015-03-31/functions", createBody(e.t, "f", `"LoggingConfig":{"LogFormat":"JSON","LogGroup":"custom"}`))
		}, req: req("PUT", fnPath+"f/configuration", `{"LoggingConfig":{"SystemLogLevel":"DEBUG"}}`)},
		{op: "UpdateFunctionConfiguration", name: "logging-text-drops-levels", setup: func(e *env) {
			e.must("POST", "/2015-03-31/functions", createBody(e.t, "f", `"LoggingConfig":{"LogFormat":"JSON","ApplicationLogLevel":"ERROR"}`))
		}, req: req("PUT", fnPath+"f/configuration", `{"LoggingConfig":{"LogFormat":"Text"}}`)},
		{op: "UpdateFunctionConfiguration", name: "logging-levels-on-text", setup: withFunction("f"), req: req("PUT", fnPath+"f/configuration", `{"LoggingConfig":{"ApplicationLogLevel":"DEBUG"}}`)},
		{op: "UpdateFunctionConfiguration", name: "logging-bad-level", setup: withFunction("f"), req: req("PUT", fnPath+"f/configuration", `{"LoggingConfig":{"LogFormat":"JSON","SystemLogLevel":"ERROR","LogGroup":"a b"}}`)},
		{op: "UpdateFunctionConfiguration", name: "timeout-too-long", setup: withFunction("f"), req: req("PUT", fnPath+"f/configuration", `{"Timeout":1200}`)},
		{op: "UpdateFunctionConfiguration", name: "memory-too-small", setup: withFunction("f"), req: req("PUT", fnPath+"f/configuration", `{"MemorySize":100}`)},
		{op: "UpdateFunctionConfiguration", name: "environment-too-large", setup: withFunction("f"), req: req("PUT", fnPath+"f/configuration", `{"Environment":{"Variables":{"BIG":"`+strings.Repeat("x", 4100)+`"}}}`)},
		{op: "UpdateFunctionConfiguration", name: "bad-env-key", setup: withFunction("f"), req: req("PUT", fnPath+"f/configuration", `{"Environment":{"Variables":{"1BAD":"x"}}}`)},
		{op: "UpdateFunctionConfiguration", name: "missing-layer", setup: withFunction("f"), req: req("PUT", fnPath+"f/configuration", `{"Layers":["arn:aws:lambda:us-east-1:000000000000:layer:l:1"]}`)},

		// PublishVersion and ListVersionsByFunction
		{op: "PublishVersion", name: "publish", setup: withFunction("f"), req: req("POST", fnPath+"f/versions", `{"Description":"first"}`)},
		{op: "PublishVersion", name: "unchanged", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", fnPath+"f/versions", "{}")
		}, req: req("POST", fnPath+"f/versions", `{}`)},
		{op: "PublishVersion", name: "wrong-sha", setup: withFunction("f"), req: req("POST", fnPath+"f/versions", `{"CodeSha256":"somenonexistentsha256"}`)},
		{op: "PublishVersion", name: "wrong-revision", setup: withFunction("f"), req: req("POST", fnPath+"f/versions", `{"RevisionId":"wrong"}`)},
		{op: "ListVersionsByFunction", name: "versions", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", fnPath+"f/versions", "{}")
			e.must("PUT", fnPath+"f/code", updateZip(e, "v2", `"Publish":true`))
		}, req: req("GET", fnPath+"f/versions?MaxItems=2", "")},

		// Aliases
		{op: "CreateAlias", name: "routing", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", fnPath+"f/versions", "{}")
			e.must("PUT", fnPath+"f/code", updateZip(e, "v2", `"Publish":true`))
		}, req: req("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1","Description":"d","RoutingConfig":{"AdditionalVersionWeights":{"2":0.25}}}`)},
		{op: "CreateAlias", name: "exists", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"$LATEST"}`)
		}, req: req("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"$LATEST"}`)},
		{op: "CreateAlias", name: "missing-version", setup: withFunction("f"), req: req("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"10"}`)},
		{op: "CreateAlias", name: "numeric-name", setup: withFunction("f"), req: req("POST", fnPath+"f/aliases", `{"Name":"2024","FunctionVersion":"$LATEST"}`)},
		{op: "CreateAlias", name: "weight-too-high", setup: withFunction("f"), req: req("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":2}}}`)},
		{op: "CreateAlias", name: "too-many-weights", setup: withFunction("f"), req: req("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.1,"3":0.1}}}`)},
		{op: "GetAlias", name: "missing", setup: withFunction("f"), req: req("GET", fnPath+"f/aliases/nope", "")},
		{op: "UpdateAlias", name: "stale-revision", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"$LATEST"}`)
		}, req: req("PUT", fnPath+"f/aliases/live", `{"Description":"x","RevisionId":"stale"}`)},
		{op: "UpdateAlias", name: "missing", setup: withFunction("f"), req: req("PUT", fnPath+"f/aliases/nope", `{"Description":"x"}`)},
		{op: "ListAliases", name: "aliases", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", fnPath+"f/aliases", `{"Name":"b","FunctionVersion":"$LATEST"}`)
			e.must("POST", fnPath+"f/aliases", `{"Name":"a","FunctionVersion":"$LATEST"}`)
		}, req: req("GET", fnPath+"f/aliases", "")},
		{op: "DeleteAlias", name: "missing-is-fine", setup: withFunction("f"), req: req("DELETE", fnPath+"f/aliases/nope", "")},

		// Tags
		{op: "TagResource", name: "tag", setup: withFunction("f"), req: req("POST", "/2017-03-31/tags/"+url.PathEscape(arn), `{"Tags":{"a":"1"}}`)},
		{op: "TagResource", name: "qualified", setup: withFunction("f"), req: req("POST", "/2017-03-31/tags/"+url.PathEscape(arn+":1"), `{"Tags":{"a":"1"}}`)},
		{op: "TagResource", name: "empty", setup: withFunction("f"), req: req("POST", "/2017-03-31/tags/"+url.PathEscape(arn), `{"Tags":{}}`)},
		{op: "TagResource", name: "not-found", req: req("POST", "/2017-03-31/tags/"+url.PathEscape(arn), `{"Tags":{"a":"1"}}`)},
		{op: "TagResource", name: "invalid-arn", req: req("POST", "/2017-03-31/tags/"+url.PathEscape("arn:aws:lambda:us-east-1:000000000000:foobar:f"), `{"Tags":{"a":"1"}}`)},
		{op: "ListTags", name: "tags", setup: func(e *env) {
			withFunction("f")(e)
			e.must("POST", "/2017-03-31/tags/"+url.PathEscape(arn), `{"Tags":{"a":"1","b":"2"}}`)
			e.must("DELETE", "/2017-03-31/tags/"+url.PathEscape(arn)+"?tagKeys=b", "")
		}, req: req("GET", "/2017-03-31/tags/"+url.PathEscape(arn), "")},
		{op: "UntagResource", name: "no-keys", setup: withFunction("f"), req: req("DELETE", "/2017-03-31/tags/"+url.PathEscape(arn), "")},

		// GetAccountSettings
		{op: "GetAccountSettings", name: "usage", setup: func(e *env) {
			withFunction("a")(e)
			withFunction("b")(e)
		}, req: req("GET", "/2016-08-19/account-settings", "")},
		{op: "GetAccountSettings", name: "reserved-concurrency", setup: func(e *env) {
			withFunction("a")(e)
			withFunction("b")(e)
			e.must("PUT", putConcurrency+"a/concurrency", `{"ReservedConcurrentExecutions":250}`)
			e.must("PUT", putConcurrency+"b/concurrency", `{"ReservedConcurrentExecutions":0}`)
		}, req: req("GET", "/2016-08-19/account-settings", "")},

		// Reserved concurrency
		{op: "PutFunctionConcurrency", name: "set", setup: withFunction("f"), req: req("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":100}`)},
		{op: "PutFunctionConcurrency", name: "zero", setup: withFunction("f"), req: req("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":0}`)},
		{op: "PutFunctionConcurrency", name: "replace-own", setup: func(e *env) {
			withFunction("f")(e)
			e.must("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":900}`)
		}, req: req("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":900}`)},
		{op: "PutFunctionConcurrency", name: "by-arn", setup: withFunction("f"), req: req("PUT", putConcurrency+url.PathEscape(arn)+"/concurrency", `{"ReservedConcurrentExecutions":1}`)},
		{op: "PutFunctionConcurrency", name: "below-minimum-unreserved", setup: withFunction("f"), req: req("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":901}`)},
		{op: "PutFunctionConcurrency", name: "below-minimum-with-others", setup: func(e *env) {
			withFunction("f")(e)
			withFunction("g")(e)
			e.must("PUT", putConcurrency+"g/concurrency", `{"ReservedConcurrentExecutions":800}`)
		}, req: req("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":101}`)},
		{op: "PutFunctionConcurrency", name: "not-found", req: req("PUT", putConcurrency+"nope/concurrency", `{"ReservedConcurrentExecutions":1}`)},
		{op: "PutFunctionConcurrency", name: "qualified", setup: withFunction("f"), req: req("PUT", putConcurrency+"f:1/concurrency", `{"ReservedConcurrentExecutions":1}`)},
		{op: "PutFunctionConcurrency", name: "negative", setup: withFunction("f"), req: req("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":-1}`)},
		{op: "PutFunctionConcurrency", name: "missing-value", setup: withFunction("f"), req: req("PUT", putConcurrency+"f/concurrency", `{}`)},
		{op: "PutFunctionConcurrency", name: "not-a-number", setup: withFunction("f"), req: req("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":"ten"}`)},
		{op: "PutFunctionConcurrency", name: "invalid-name", req: req("PUT", putConcurrency+"f%20g/concurrency", `{"ReservedConcurrentExecutions":1}`)},
		{op: "PutFunctionConcurrency", name: "other-region", setup: withFunction("f"), req: req("PUT", putConcurrency+url.PathEscape("arn:aws:lambda:eu-west-1:000000000000:function:f")+"/concurrency", `{"ReservedConcurrentExecutions":1}`)},
		{op: "GetFunctionConcurrency", name: "none", setup: withFunction("f"), req: req("GET", getConcurrency+"f/concurrency", "")},
		{op: "GetFunctionConcurrency", name: "set", setup: func(e *env) {
			withFunction("f")(e)
			e.must("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":0}`)
		}, req: req("GET", getConcurrency+"f/concurrency", "")},
		{op: "GetFunctionConcurrency", name: "not-found", req: req("GET", getConcurrency+"nope/concurrency", "")},
		{op: "GetFunctionConcurrency", name: "qualified", setup: withFunction("f"), req: req("GET", getConcurrency+"f:1/concurrency", "")},
		{op: "DeleteFunctionConcurrency", name: "delete", setup: func(e *env) {
			withFunction("f")(e)
			e.must("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":10}`)
		}, req: req("DELETE", putConcurrency+"f/concurrency", "")},
		{op: "DeleteFunctionConcurrency", name: "none-set", setup: withFunction("f"), req: req("DELETE", putConcurrency+"f/concurrency", "")},
		{op: "DeleteFunctionConcurrency", name: "not-found", req: req("DELETE", putConcurrency+"nope/concurrency", "")},
		{op: "DeleteFunctionConcurrency", name: "qualified", setup: withFunction("f"), req: req("DELETE", putConcurrency+"f:1/concurrency", "")},
		{op: "GetFunction", name: "with-concurrency", setup: func(e *env) {
			withFunction("f")(e)
			e.must("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":10}`)
		}, req: req("GET", fnPath+"f", "")},
		{op: "GetFunction", name: "qualified-without-concurrency", setup: func(e *env) {
			withFunction("f")(e)
			e.must("PUT", putConcurrency+"f/concurrency", `{"ReservedConcurrentExecutions":10}`)
		}, req: req("GET", fnPath+"f?Qualifier=%24LATEST", "")},

		// Authentication
		{op: "Auth", name: "missing", req: func(e *env) response {
			return e.doWith("GET", "/2015-03-31/functions", "", aws.Credentials{}, "us-east-1", nil)
		}},
		{op: "Auth", name: "bad-signature", req: func(e *env) response {
			return e.doWith("GET", "/2015-03-31/functions", "", aws.Credentials{AccessKeyID: "test", SecretAccessKey: "wrong"}, "us-east-1", nil)
		}},
		{op: "Auth", name: "unknown-key", req: func(e *env) response {
			return e.doWith("GET", "/2015-03-31/functions", "", aws.Credentials{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: "x"}, "us-east-1", nil)
		}},
		{op: "Auth", name: "tampered-body", setup: withFunction("f"), req: func(e *env) response {
			return e.doWith("PUT", fnPath+"f/code", updateZip(e, "v2", ""), e.creds, e.region, func(r *http.Request) {
				r.Body = http.NoBody
				r.ContentLength = 0
			})
		}},
		// Code signing configs
		{op: "CreateCodeSigningConfig", name: "ok", req: req("POST", cscPath, cscBody)},
		{op: "CreateCodeSigningConfig", name: "missing-publishers", req: req("POST", cscPath, `{"Description":"d"}`)},
		{op: "CreateCodeSigningConfig", name: "bad-policy", req: req("POST", cscPath, `{"AllowedPublishers":{"SigningProfileVersionArns":["`+profileVersionARN+`"]},"CodeSigningPolicies":{"UntrustedArtifactOnDeployment":"Block"}}`)},
		{op: "GetCodeSigningConfig", name: "ok", setup: withCSC, req: req("GET", cscPath+"/"+url.PathEscape(firstCSC), "")},
		{op: "GetCodeSigningConfig", name: "not-found", req: req("GET", cscPath+"/"+url.PathEscape(firstCSC), "")},
		{op: "GetCodeSigningConfig", name: "malformed-arn", req: req("GET", cscPath+"/csc-1", "")},
		{op: "UpdateCodeSigningConfig", name: "policy", setup: withCSC, req: req("PUT", cscPath+"/"+url.PathEscape(firstCSC), `{"CodeSigningPolicies":{"UntrustedArtifactOnDeployment":"Warn"}}`)},
		{op: "ListCodeSigningConfigs", name: "page", setup: func(e *env) { withCSC(e); withCSC(e) }, req: req("GET", cscPath+"?MaxItems=1", "")},
		{op: "DeleteCodeSigningConfig", name: "in-use", setup: func(e *env) {
			withCSC(e)
			withFunction("f")(e)
			e.must("PUT", fnCSCPath("f"), `{"CodeSigningConfigArn":"`+firstCSC+`"}`)
		}, req: req("DELETE", cscPath+"/"+url.PathEscape(firstCSC), "")},
		{op: "PutFunctionCodeSigningConfig", name: "ok", setup: func(e *env) { withCSC(e); withFunction("f")(e) }, req: req("PUT", fnCSCPath("f"), `{"CodeSigningConfigArn":"`+firstCSC+`"}`)},
		{op: "PutFunctionCodeSigningConfig", name: "unknown-config", setup: withFunction("f"), req: req("PUT", fnCSCPath("f"), `{"CodeSigningConfigArn":"`+firstCSC+`"}`)},
		{op: "PutFunctionCodeSigningConfig", name: "no-function", setup: withCSC, req: req("PUT", fnCSCPath("nope"), `{"CodeSigningConfigArn":"`+firstCSC+`"}`)},
		{op: "GetFunctionCodeSigningConfig", name: "none", setup: withFunction("f"), req: req("GET", fnCSCPath("f"), "")},
		{op: "DeleteFunctionCodeSigningConfig", name: "no-function", req: req("DELETE", fnCSCPath("csc-test-doesnotexist"), "")},
		{op: "ListFunctionsByCodeSigningConfig", name: "ok", setup: func(e *env) {
			withCSC(e)
			withFunction("f")(e)
			e.must("PUT", fnCSCPath("f"), `{"CodeSigningConfigArn":"`+firstCSC+`"}`)
		}, req: req("GET", cscPath+"/"+url.PathEscape(firstCSC)+"/functions", "")},
		{op: "UpdateFunctionCode", name: "unsigned-under-enforce", setup: func(e *env) {
			e.must("POST", cscPath, strings.Replace(cscBody, "Warn", "Enforce", 1))
			withFunction("f")(e)
			e.must("PUT", fnCSCPath("f"), `{"CodeSigningConfigArn":"`+firstCSC+`"}`)
		}, req: func(e *env) response { return e.do("PUT", fnPath+"f/code", updateZip(e, "unsigned", "")) }},

		{op: "Auth", name: "unknown-operation", req: req("GET", "/2015-03-31/nothing", "")},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range slices.Concat(goldenCases(), invokeGoldenCases(), layerGoldenCases(), pendingGoldenCases(), policyGoldenCases(), sessionGoldenCases(), asyncGoldenCases(), esmGoldenCases()) {
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

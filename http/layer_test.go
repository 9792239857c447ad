package http_test

import (
	"archive/zip"
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const (
	layersPath = "/2018-10-31/layers"
	// layerARN is the ARN of the test account's layer "deps".
	layerARN = "arn:aws:lambda:us-east-1:000000000000:layer:deps"
	// otherLayerARN is account 111111111111's layer "shared".
	otherLayerARN = "arn:aws:lambda:us-east-1:111111111111:layer:shared"
)

var otherCreds = aws.Credentials{AccessKeyID: "other", SecretAccessKey: "other"}

func layerVersionsPath(name string) string {
	return layersPath + "/" + url.PathEscape(name) + "/versions"
}

// layerBody is a PublishLayerVersion body with a zip holding content.
func layerBody(t testing.TB, content, extra string) string {
	body := `{"Content":{"ZipFile":"` + b64(testZip(t, content)) + `"}`
	if extra != "" {
		body += "," + extra
	}
	return body + "}"
}

// withLayer publishes a version of layer name holding content.
func withLayer(name, content string) func(e *env) {
	return func(e *env) {
		e.must("POST", layerVersionsPath(name), layerBody(e.t, content, `"CompatibleRuntimes":["python3.12"],"CompatibleArchitectures":["x86_64"]`))
	}
}

// withOtherLayer publishes version 1 of account 111111111111's layer
// "shared", with a policy statement if principal is not empty.
func withOtherLayer(principal string) func(e *env) {
	return func(e *env) {
		if r := e.doWith("POST", layerVersionsPath("shared"), layerBody(e.t, "shared", ""), otherCreds, "us-east-1", nil); r.Status != 201 {
			e.t.Fatalf("setup: publish other account's layer: %d %s", r.Status, r.Body)
		}
		if principal == "" {
			return
		}
		body := `{"StatementId":"share","Action":"lambda:GetLayerVersion","Principal":"` + principal + `"}`
		if r := e.doWith("POST", layerVersionsPath("shared")+"/1/policy", body, otherCreds, "us-east-1", nil); r.Status != 201 {
			e.t.Fatalf("setup: add permission: %d %s", r.Status, r.Body)
		}
	}
}

func steps(fs ...func(e *env)) func(e *env) {
	return func(e *env) {
		for _, f := range fs {
			f(e)
		}
	}
}

// lyingZip is a zip whose one stored entry claims size uncompressed
// bytes: enough for the size checks, which read only the central directory.
func lyingZip(t testing.TB, size uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.CreateRaw(&zip.FileHeader{Name: "big.bin", Method: zip.Store, UncompressedSize64: size, Modified: clock}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layerGoldenCases() []goldenCase {
	attach := func(layers ...string) string {
		return `"Layers":["` + strings.Join(layers, `","`) + `"]`
	}
	return []goldenCase{
		// PublishLayerVersion
		{op: "PublishLayerVersion", name: "zip", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "deps",
				`"Description":"shared deps","LicenseInfo":"MIT","CompatibleRuntimes":["python3.12","nodejs20.x"],"CompatibleArchitectures":["arm64","x86_64"]`))
		}},
		{op: "PublishLayerVersion", name: "content-only", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "deps", ""))
		}},
		{op: "PublishLayerVersion", name: "empty-lists", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "deps", `"CompatibleRuntimes":[],"CompatibleArchitectures":[]`))
		}},
		{op: "PublishLayerVersion", name: "by-arn", req: func(e *env) response {
			return e.do("POST", layerVersionsPath(layerARN), layerBody(e.t, "deps", ""))
		}},
		{op: "PublishLayerVersion", name: "second-version", setup: withLayer("deps", "v1"), req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "v1", ""))
		}},
		{op: "PublishLayerVersion", name: "numbers-never-reused", setup: steps(withLayer("deps", "v1"), withLayer("deps", "v2"), func(e *env) {
			e.must("DELETE", layerVersionsPath("deps")+"/1", "")
			e.must("DELETE", layerVersionsPath("deps")+"/2", "")
		}), req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "v3", ""))
		}},
		{op: "PublishLayerVersion", name: "deprecated-runtimes", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "deps",
				`"CompatibleRuntimes":["python3.7","nodejs12.x","java8","go1.x","dotnetcore3.1","ruby2.7","provided","python3.12","nodejs20.x","java21","ruby3.3","dotnet8","provided.al2023","python3.13","nodejs22.x"]`))
		}},
		{op: "PublishLayerVersion", name: "invalid-runtime-and-architecture", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "deps", `"CompatibleRuntimes":["invalidruntime"],"CompatibleArchitectures":["invalidarch"]`))
		}},
		{op: "PublishLayerVersion", name: "partially-invalid", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "deps",
				`"CompatibleRuntimes":["invalidruntime","invalidruntime2","nodejs20.x"],"CompatibleArchitectures":["invalidarch","x86_64"]`))
		}},
		{op: "PublishLayerVersion", name: "sixteen-runtimes", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "deps",
				`"CompatibleRuntimes":["python3.8","python3.9","python3.10","python3.11","python3.12","python3.13","python3.14","nodejs16.x","nodejs18.x","nodejs20.x","nodejs22.x","nodejs24.x","java11","java17","java21","java25"]`))
		}},
		{op: "PublishLayerVersion", name: "three-architectures", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "deps", `"CompatibleArchitectures":["x86_64","arm64","x86_64"]`))
		}},
		{op: "PublishLayerVersion", name: "no-content", req: req("POST", layerVersionsPath("deps"), `{"Description":"d"}`)},
		{op: "PublishLayerVersion", name: "empty-content", req: req("POST", layerVersionsPath("deps"), `{"Content":{}}`)},
		{op: "PublishLayerVersion", name: "not-a-zip", req: req("POST", layerVersionsPath("deps"), `{"Content":{"ZipFile":"aGVsbG8="}}`)},
		{op: "PublishLayerVersion", name: "zip-and-s3", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), `{"Content":{"ZipFile":"`+b64(testZip(e.t, "x"))+`","S3Bucket":"bucket","S3Key":"k.zip"}}`)
		}},
		{op: "PublishLayerVersion", name: "s3-no-bucket", req: req("POST", layerVersionsPath("deps"), `{"Content":{"S3Bucket":"bucket","S3Key":"layer.zip"}}`)},
		{op: "PublishLayerVersion", name: "bad-name", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("my layer"), layerBody(e.t, "deps", ""))
		}},
		{op: "PublishLayerVersion", name: "unzipped-too-large", req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), `{"Content":{"ZipFile":"`+b64(lyingZip(e.t, 262144000))+`"}}`)
		}},
		{op: "PublishLayerVersion", name: "other-account", req: func(e *env) response {
			return e.do("POST", layerVersionsPath(otherLayerARN), layerBody(e.t, "deps", ""))
		}},
		{op: "PublishLayerVersion", name: "code-storage-exceeded", opts: []envOption{withCodeStorageLimit(250)}, setup: withFunction("f"), req: func(e *env) response {
			return e.do("POST", layerVersionsPath("deps"), layerBody(e.t, "deps", ""))
		}},

		// GetLayerVersion and GetLayerVersionByArn
		{op: "GetLayerVersion", name: "ok", setup: withLayer("deps", "v1"), req: req("GET", layerVersionsPath("deps")+"/1", "")},
		{op: "GetLayerVersion", name: "by-layer-arn", setup: withLayer("deps", "v1"), req: req("GET", layerVersionsPath(layerARN)+"/1", "")},
		{op: "GetLayerVersion", name: "unknown-layer", req: req("GET", layerVersionsPath("nope")+"/1", "")},
		{op: "GetLayerVersion", name: "unknown-version", setup: withLayer("deps", "v1"), req: req("GET", layerVersionsPath("deps")+"/2", "")},
		{op: "GetLayerVersion", name: "version-zero", req: req("GET", layerVersionsPath("deps")+"/0", "")},
		{op: "GetLayerVersion", name: "version-negative", req: req("GET", layerVersionsPath("deps")+"/-1", "")},
		{op: "GetLayerVersion", name: "other-account-denied", setup: withOtherLayer(""), req: req("GET", layerVersionsPath(otherLayerARN)+"/1", "")},
		{op: "GetLayerVersion", name: "other-account-allowed", setup: withOtherLayer("000000000000"), req: req("GET", layerVersionsPath(otherLayerARN)+"/1", "")},
		{op: "GetLayerVersion", name: "other-account-public", setup: withOtherLayer("*"), req: req("GET", layerVersionsPath(otherLayerARN)+"/1", "")},
		{op: "GetLayerVersionByArn", name: "ok", setup: withLayer("deps", "v1"), req: req("GET", layersPath+"?find=LayerVersion&Arn="+url.QueryEscape(layerARN+":1"), "")},
		{op: "GetLayerVersionByArn", name: "unversioned", setup: withLayer("deps", "v1"), req: req("GET", layersPath+"?find=LayerVersion&Arn="+url.QueryEscape(layerARN), "")},
		{op: "GetLayerVersionByArn", name: "unknown-version", setup: withLayer("deps", "v1"), req: req("GET", layersPath+"?find=LayerVersion&Arn="+url.QueryEscape(layerARN+":2"), "")},
		{op: "GetLayerVersionByArn", name: "no-arn", req: req("GET", layersPath+"?find=LayerVersion", "")},
		{op: "GetLayerVersionByArn", name: "other-account-denied", setup: withOtherLayer(""), req: req("GET", layersPath+"?find=LayerVersion&Arn="+url.QueryEscape(otherLayerARN+":1"), "")},

		// ListLayerVersions and ListLayers
		{op: "ListLayerVersions", name: "newest-first", setup: steps(withLayer("deps", "v1"), withLayer("deps", "v2")), req: req("GET", layerVersionsPath("deps"), "")},
		{op: "ListLayerVersions", name: "unknown-layer", req: req("GET", layerVersionsPath("nope"), "")},
		{op: "ListLayerVersions", name: "page", setup: steps(withLayer("deps", "v1"), withLayer("deps", "v2"), withLayer("deps", "v3")), req: req("GET", layerVersionsPath("deps")+"?MaxItems=2", "")},
		{op: "ListLayerVersions", name: "filtered", setup: steps(withLayer("deps", "v1"), func(e *env) {
			e.must("POST", layerVersionsPath("deps"), layerBody(e.t, "v2", `"CompatibleRuntimes":["nodejs20.x"]`))
		}), req: req("GET", layerVersionsPath("deps")+"?CompatibleRuntime=python3.12&CompatibleArchitecture=x86_64", "")},
		{op: "ListLayerVersions", name: "max-items-too-large", req: req("GET", layerVersionsPath("deps")+"?MaxItems=51", "")},
		{op: "ListLayers", name: "latest-matching", setup: steps(withLayer("deps", "v1"), withLayer("utils", "u1"), func(e *env) {
			e.must("POST", layerVersionsPath("deps"), layerBody(e.t, "v2", `"CompatibleRuntimes":["nodejs20.x"]`))
		}), req: req("GET", layersPath+"?CompatibleRuntime=python3.12", "")},
		{op: "ListLayers", name: "all", setup: steps(withLayer("deps", "v1"), withLayer("utils", "u1"), withLayer("deps", "v2")), req: req("GET", layersPath, "")},
		{op: "ListLayers", name: "page", setup: steps(withLayer("a", "a"), withLayer("b", "b")), req: req("GET", layersPath+"?MaxItems=1", "")},
		{op: "ListLayers", name: "invalid-runtime", req: req("GET", layersPath+"?CompatibleRuntime=runtimedoesnotexist", "")},
		{op: "ListLayers", name: "invalid-architecture", req: req("GET", layersPath+"?CompatibleArchitecture=archdoesnotexist", "")},

		// DeleteLayerVersion
		{op: "DeleteLayerVersion", name: "ok", setup: withLayer("deps", "v1"), req: req("DELETE", layerVersionsPath("deps")+"/1", "")},
		{op: "DeleteLayerVersion", name: "unknown", req: req("DELETE", layerVersionsPath("nope")+"/3", "")},
		{op: "DeleteLayerVersion", name: "version-negative", req: req("DELETE", layerVersionsPath("deps")+"/-1", "")},
		{op: "DeleteLayerVersion", name: "other-account", setup: withOtherLayer("*"), req: req("DELETE", layerVersionsPath(otherLayerARN)+"/1", "")},

		// Layer version permissions
		{op: "AddLayerVersionPermission", name: "everyone", setup: withLayer("deps", "v1"),
			req: req("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)},
		{op: "AddLayerVersionPermission", name: "account", setup: withLayer("deps", "v1"),
			req: req("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"111111111111"}`)},
		{op: "AddLayerVersionPermission", name: "organization", setup: withLayer("deps", "v1"),
			req: req("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"org","Action":"lambda:GetLayerVersion","Principal":"*","OrganizationId":"o-1234567890"}`)},
		{op: "AddLayerVersionPermission", name: "bad-action", setup: withLayer("deps", "v1"),
			req: req("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"*","Principal":"*"}`)},
		{op: "AddLayerVersionPermission", name: "bad-principal", setup: withLayer("deps", "v1"),
			req: req("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"s3.amazonaws.com"}`)},
		{op: "AddLayerVersionPermission", name: "duplicate-statement", setup: steps(withLayer("deps", "v1"), func(e *env) {
			e.must("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)
		}), req: req("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)},
		{op: "AddLayerVersionPermission", name: "wrong-revision", setup: withLayer("deps", "v1"),
			req: req("POST", layerVersionsPath("deps")+"/1/policy?RevisionId=wrong", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)},
		{op: "AddLayerVersionPermission", name: "unknown-layer",
			req: req("POST", layerVersionsPath("nope")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)},
		{op: "AddLayerVersionPermission", name: "unknown-version", setup: withLayer("deps", "v1"),
			req: req("POST", layerVersionsPath("deps")+"/2/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)},
		{op: "AddLayerVersionPermission", name: "other-account", setup: withOtherLayer(""),
			req: req("POST", layerVersionsPath(otherLayerARN)+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"000000000000"}`)},
		{op: "GetLayerVersionPolicy", name: "two-statements", setup: steps(withLayer("deps", "v1"), func(e *env) {
			e.must("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)
			e.must("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s2","Action":"lambda:GetLayerVersion","Principal":"arn:aws:iam::111111111111:root"}`)
		}), req: req("GET", layerVersionsPath("deps")+"/1/policy", "")},
		{op: "GetLayerVersionPolicy", name: "none", setup: withLayer("deps", "v1"), req: req("GET", layerVersionsPath("deps")+"/1/policy", "")},
		{op: "GetLayerVersionPolicy", name: "unknown-version", setup: withLayer("deps", "v1"), req: req("GET", layerVersionsPath("deps")+"/2/policy", "")},
		{op: "RemoveLayerVersionPermission", name: "ok", setup: steps(withLayer("deps", "v1"), func(e *env) {
			e.must("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)
		}), req: req("DELETE", layerVersionsPath("deps")+"/1/policy/s1", "")},
		{op: "RemoveLayerVersionPermission", name: "unknown-statement", setup: steps(withLayer("deps", "v1"), func(e *env) {
			e.must("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)
		}), req: req("DELETE", layerVersionsPath("deps")+"/1/policy/doesnotexist", "")},
		{op: "RemoveLayerVersionPermission", name: "wrong-revision", setup: steps(withLayer("deps", "v1"), func(e *env) {
			e.must("POST", layerVersionsPath("deps")+"/1/policy", `{"StatementId":"s1","Action":"lambda:GetLayerVersion","Principal":"*"}`)
		}), req: req("DELETE", layerVersionsPath("deps")+"/1/policy/s1?RevisionId=wrong", "")},
		{op: "RemoveLayerVersionPermission", name: "no-policy", setup: withLayer("deps", "v1"), req: req("DELETE", layerVersionsPath("deps")+"/1/policy/s1", "")},

		// Functions with layers
		{op: "CreateFunction", name: "layers", setup: steps(withLayer("deps", "d"), withLayer("utils", "u")), req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", attach(layerARN+":1", "arn:aws:lambda:us-east-1:000000000000:layer:utils:1")))
		}},
		{op: "CreateFunction", name: "six-layers", req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", attach(layerARN+":1", layerARN+":2", layerARN+":3", layerARN+":4", layerARN+":5", layerARN+":6")))
		}},
		{op: "CreateFunction", name: "layer-of-other-region", req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", attach("arn:aws:lambda:eu-west-1:000000000000:layer:deps:1")))
		}},
		{op: "CreateFunction", name: "layer-of-other-account-denied", setup: withOtherLayer(""), req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", attach(otherLayerARN+":1")))
		}},
		{op: "CreateFunction", name: "layer-of-other-account-allowed", setup: withOtherLayer("000000000000"), req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", attach(otherLayerARN+":1")))
		}},
		{op: "CreateFunction", name: "layers-too-large", setup: func(e *env) {
			e.must("POST", layerVersionsPath("big"), `{"Content":{"ZipFile":"`+b64(lyingZip(e.t, 200_000_000))+`"}}`)
			e.must("POST", layerVersionsPath("bigger"), `{"Content":{"ZipFile":"`+b64(lyingZip(e.t, 62_144_000))+`"}}`)
		}, req: func(e *env) response {
			return e.do("POST", "/2015-03-31/functions", createBody(e.t, "f", attach(layerARN[:len(layerARN)-4]+"big:1", layerARN[:len(layerARN)-4]+"bigger:1")))
		}},
		{op: "UpdateFunctionConfiguration", name: "layers", setup: steps(withFunction("f"), withLayer("deps", "d")),
			req: req("PUT", fnPath+"f/configuration", `{"Layers":["`+layerARN+`:1"]}`)},
		{op: "UpdateFunctionConfiguration", name: "remove-layers", setup: steps(withLayer("deps", "d"), func(e *env) {
			e.must("POST", "/2015-03-31/functions", createBody(e.t, "f", attach(layerARN+":1")))
		}), req: req("PUT", fnPath+"f/configuration", `{"Layers":[]}`)},
		{op: "UpdateFunctionConfiguration", name: "two-versions-of-a-layer", setup: steps(withFunction("f"), withLayer("deps", "d"), withLayer("deps", "e"), withLayer("deps", "f")),
			req: req("PUT", fnPath+"f/configuration", `{"Layers":["`+layerARN+`:1","`+layerARN+`:2","`+layerARN+`:3"]}`)},
		{op: "UpdateFunctionConfiguration", name: "same-version-twice", setup: steps(withFunction("f"), withLayer("deps", "d")),
			req: req("PUT", fnPath+"f/configuration", `{"Layers":["`+layerARN+`:1","`+layerARN+`:1"]}`)},
		{op: "UpdateFunctionConfiguration", name: "missing-layer-version", setup: steps(withFunction("f"), withLayer("deps", "d")),
			req: req("PUT", fnPath+"f/configuration", `{"Layers":["`+layerARN+`:9"]}`)},
		{op: "UpdateFunctionConfiguration", name: "unversioned-layer", setup: withFunction("f"),
			req: req("PUT", fnPath+"f/configuration", `{"Layers":["`+layerARN+`"]}`)},
		{op: "UpdateFunctionCode", name: "too-large-with-layers", setup: steps(func(e *env) {
			e.must("POST", layerVersionsPath("big"), `{"Content":{"ZipFile":"`+b64(lyingZip(e.t, 200_000_000))+`"}}`)
			e.must("POST", "/2015-03-31/functions", createBody(e.t, "f", attach(layerARN[:len(layerARN)-4]+"big:1")))
		}), req: func(e *env) response {
			return e.do("PUT", fnPath+"f/code", `{"ZipFile":"`+b64(lyingZip(e.t, 70_000_000))+`"}`)
		}},
		{op: "GetFunction", name: "deleted-layer-version", setup: steps(withLayer("deps", "d"), func(e *env) {
			e.must("POST", "/2015-03-31/functions", createBody(e.t, "f", attach(layerARN+":1")))
			e.must("DELETE", layerVersionsPath("deps")+"/1", "")
		}), req: req("GET", fnPath+"f", "")},
		{op: "GetAccountSettings", name: "layers", setup: steps(withFunction("f"), withLayer("deps", "d"), withLayer("deps", "e")),
			req: req("GET", "/2016-08-19/account-settings", "")},
	}
}

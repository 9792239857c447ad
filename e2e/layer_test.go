//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/lambdahost/lambdahost"
)

// libsLayer is a layer as AWS documents its layout: a pure-Python package
// under python/, another in python/lib/python3.12/site-packages, a Node
// module under nodejs/node_modules, a program in bin/ and a file in lib/.
// Each says version, so that the tests see which layer version runs.
func libsLayer(t testing.TB, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, mode fs.FileMode, content string) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, content); err != nil {
			t.Fatal(err)
		}
	}
	add("python/greet.py", 0o644, fmt.Sprintf("def hello():\n    return %q\n", "python "+version))
	add("python/lib/python3.12/site-packages/sitegreet/__init__.py", 0o644, fmt.Sprintf("VALUE = %q\n", "site "+version))
	add("nodejs/node_modules/greet/index.js", 0o644, fmt.Sprintf("exports.hello = () => %q;\n", "node "+version))
	add("bin/layer-tool", 0o755, "#!/bin/sh\necho tool "+version+"\n")
	add("lib/README", 0o644, "libraries go here\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The functions that use libsLayer: each reports what it found of it.
const (
	layerPython = `import errno, os, subprocess
import greet, sitegreet

def handler(event, context):
    out = {"greet": greet.hello(), "site": sitegreet.VALUE, "greet_file": greet.__file__,
           "ld_library_path": os.environ.get("LD_LIBRARY_PATH", ""), "path": os.environ.get("PATH", "")}
    try:
        out["tool"] = subprocess.run(["layer-tool"], capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception as e:
        out["tool"] = repr(e)
    try:
        open("/opt/written-by-function", "w").close()
        out["write_opt"] = "ok"
    except OSError as e:
        out["write_opt"] = errno.errorcode.get(e.errno, str(e.errno))
    return out
`
	layerNode = `const greet = require('greet');
exports.handler = async () => ({ greet: greet.hello(), greet_file: require.resolve('greet') });
`
)

// publishLayer publishes zip as a new version of layer name and checks
// the answer against it.
func publishLayer(t testing.TB, d Driver, name string, zip []byte, extra Params) *Result {
	t.Helper()
	p := Params{"LayerName": name, "Content": Params{"ZipFile": zip}}
	for k, v := range extra {
		p[k] = v
	}
	r := d.Call(t, "PublishLayerVersion", p).OK(t)
	r.WantStatus(t, 201)
	wantStr(t, r, "Content.CodeSha256", codeSHA(zip))
	if got := r.Int("Content.CodeSize"); got != int64(len(zip)) {
		t.Errorf("%s: Content.CodeSize = %d, want %d", d.Name(), got, len(zip))
	}
	if !strings.HasPrefix(r.Str("LayerVersionArn"), r.Str("LayerArn")+":") {
		t.Errorf("%s: LayerVersionArn %q is not a version of LayerArn %q", d.Name(), r.Str("LayerVersionArn"), r.Str("LayerArn"))
	}
	return r
}

// replyOf invokes name and returns its reply, failing on a function error.
func replyOf(t testing.TB, d Driver, name string) map[string]any {
	t.Helper()
	return invoke(t, d, name, map[string]any{}).Reply(t)
}

func wantReply(t testing.TB, d Driver, reply map[string]any, key, want string) {
	t.Helper()
	if got := fmt.Sprint(reply[key]); got != want {
		t.Errorf("%s: reply[%s] = %q, want %q (reply %v)", d.Name(), key, got, want, reply)
	}
}

// TestLayers is issue 11's scenario through each client: publish a layer
// holding a Python package and a Node module, attach it, invoke functions
// that import them from /opt; publish version 2 and move the functions to
// it; delete the version in use and the functions still run; the limits;
// then a restart keeps layers, policies and what functions use.
func TestLayers(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	// The drivers' subtests run in parallel; the group ends when all have.
	t.Run("drivers", func(t *testing.T) { forEachDriver(t, srv, allDrivers, layerScenario) })
	if t.Failed() {
		return
	}

	// A restart keeps layers, their policies and what functions use.
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	publishLayer(t, d, "kept", libsLayer(t, "kept"), nil)
	d.Call(t, "AddLayerVersionPermission", Params{"LayerName": "kept", "VersionNumber": 1, "StatementId": "all", "Action": "lambda:GetLayerVersion", "Principal": "*"}).OK(t)
	policy := d.Call(t, "GetLayerVersionPolicy", Params{"LayerName": "kept", "VersionNumber": 1}).OK(t).Str("Policy")
	if code, err := srv.Stop(); err != nil || code != 0 {
		t.Fatalf("stop: %d, %v", code, err)
	}
	srv.Restart()
	d = NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	wantStr(t, d.Call(t, "GetLayerVersionPolicy", Params{"LayerName": "kept", "VersionNumber": 1}).OK(t), "Policy", policy)
	if v := d.Call(t, "GetLayerVersion", Params{"LayerName": "libs-sdk", "VersionNumber": 3}).OK(t); v.Int("Version") != 3 {
		t.Errorf("after restart, libs-sdk:3 = %v", v.Body)
	}
	wantReply(t, d, replyOf(t, d, "layer-py-sdk"), "greet", "python v2")
	wantReply(t, d, replyOf(t, d, "layer-node-sdk"), "greet", "node v2")
	if v := publishLayer(t, d, "libs-sdk", libsLayer(t, "v4"), nil); v.Int("Version") != 4 {
		t.Errorf("after restart, the next version of libs-sdk is %d, want 4", v.Int("Version"))
	}
}

// layerScenario is TestLayers' scenario through driver d.
func layerScenario(t *testing.T, d Driver) {
	layer := "libs-" + d.Name()
	v1 := publishLayer(t, d, layer, libsLayer(t, "v1"), Params{
		"Description": "shared libraries", "LicenseInfo": "MIT",
		"CompatibleRuntimes": []string{"python3.12", "nodejs20.x"}, "CompatibleArchitectures": []string{"x86_64"},
	})
	wantStr(t, v1, "LayerArn", "arn:aws:lambda:us-east-1:000000000000:layer:"+layer)
	wantStr(t, v1, "LayerVersionArn", "arn:aws:lambda:us-east-1:000000000000:layer:"+layer+":1")
	if v1.Int("Version") != 1 {
		t.Errorf("%s: Version = %d, want 1", d.Name(), v1.Int("Version"))
	}
	if got := download(t, v1.Str("Content.Location")); !bytes.Equal(got, libsLayer(t, "v1")) {
		t.Errorf("%s: Content.Location serves another zip", d.Name())
	}
	v1ARN := v1.Str("LayerVersionArn")
	got := d.Call(t, "GetLayerVersion", Params{"LayerName": layer, "VersionNumber": 1}).OK(t)
	wantStr(t, got, "Description", "shared libraries")
	wantStr(t, got, "LicenseInfo", "MIT")
	wantStr(t, d.Call(t, "GetLayerVersionByArn", Params{"Arn": v1ARN}).OK(t), "LayerVersionArn", v1ARN)

	// Functions that import from the layer.
	py := "layer-py-" + d.Name()
	created := d.Call(t, "CreateFunction", Params{"FunctionName": py, "Runtime": "python3.12", "Role": testRole, "Handler": "index.handler",
		"Code": Params{"ZipFile": makeZip(t, "index.py", layerPython)}, "Layers": []string{v1ARN}, "Timeout": 60}).OK(t)
	if layers := items(created.Get("Layers")); len(layers) != 1 || str(layers[0], "Arn") != v1ARN {
		t.Errorf("%s: CreateFunction Layers = %v", d.Name(), created.Get("Layers"))
	}
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": py})
	reply := replyOf(t, d, py)
	wantReply(t, d, reply, "greet", "python v1")
	wantReply(t, d, reply, "site", "site v1")
	wantReply(t, d, reply, "greet_file", "/opt/python/greet.py")
	wantReply(t, d, reply, "tool", "tool v1")
	wantReply(t, d, reply, "write_opt", "EROFS")
	if !strings.Contains(fmt.Sprint(reply["ld_library_path"]), "/opt/lib") || !strings.Contains(fmt.Sprint(reply["path"]), "/opt/bin") {
		t.Errorf("%s: PATH %v, LD_LIBRARY_PATH %v; want /opt/bin and /opt/lib in them", d.Name(), reply["path"], reply["ld_library_path"])
	}
	node := "layer-node-" + d.Name()
	if d.Name() != CLIDriver {
		d.Call(t, "CreateFunction", Params{"FunctionName": node, "Runtime": "nodejs20.x", "Role": testRole, "Handler": "index.handler",
			"Code": Params{"ZipFile": makeZip(t, "index.js", layerNode)}, "Layers": []string{v1ARN}}).OK(t)
		mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": node})
		reply := replyOf(t, d, node)
		wantReply(t, d, reply, "greet", "node v1")
		wantReply(t, d, reply, "greet_file", "/opt/nodejs/node_modules/greet/index.js")
	}

	// Version 2, and the functions moved to it.
	v2 := publishLayer(t, d, layer, libsLayer(t, "v2"), nil)
	v2ARN := v2.Str("LayerVersionArn")
	if v2.Int("Version") != 2 {
		t.Errorf("%s: second Version = %d, want 2", d.Name(), v2.Int("Version"))
	}
	versions := d.Call(t, "ListLayerVersions", Params{"LayerName": layer}).OK(t)
	if vs := items(versions.Get("LayerVersions")); len(vs) != 2 || str(vs[0], "LayerVersionArn") != v2ARN {
		t.Errorf("%s: ListLayerVersions = %v, want version 2 then 1", d.Name(), versions.Get("LayerVersions"))
	}
	for _, fn := range []string{py, node} {
		if fn == node && d.Name() == CLIDriver {
			continue
		}
		up := d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": fn, "Layers": []string{v2ARN}}).OK(t)
		wantStr(t, up, "LastUpdateStatus", "InProgress")
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": fn})
	}
	wantReply(t, d, replyOf(t, d, py), "greet", "python v2")
	if d.Name() != CLIDriver {
		wantReply(t, d, replyOf(t, d, node), "greet", "node v2")
	}

	// Version 2 deleted while in use: the function keeps it, also in
	// a new environment (a configuration change starts one).
	d.Call(t, "DeleteLayerVersion", Params{"LayerName": layer, "VersionNumber": 2}).OK(t)
	d.Call(t, "DeleteLayerVersion", Params{"LayerName": layer, "VersionNumber": 2}).OK(t)
	d.Call(t, "GetLayerVersion", Params{"LayerName": layer, "VersionNumber": 2}).
		WantError(t, 404, "ResourceNotFoundException", "The resource you requested does not exist.")
	cfg := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": py}).OK(t)
	if layers := items(cfg.Get("Layers")); len(layers) != 1 || str(layers[0], "Arn") != v2ARN {
		t.Errorf("%s: Layers after the version was deleted = %v", d.Name(), cfg.Get("Layers"))
	}
	d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": py, "MemorySize": 256}).OK(t)
	mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": py})
	wantReply(t, d, replyOf(t, d, py), "greet", "python v2")
	// It can no longer be attached anew.
	d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": py, "Layers": []string{v1ARN, v2ARN}}).
		WantError(t, 400, "InvalidParameterValueException", "")

	// Limits, with AWS's errors.
	six := []string{v1ARN, v1ARN, v1ARN, v1ARN, v1ARN, v1ARN}
	d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": py, "Layers": six}).
		WantError(t, 400, "InvalidParameterValueException", "Cannot reference more than 5 layers.")
	v3 := publishLayer(t, d, layer, libsLayer(t, "v3"), nil).Str("LayerVersionArn")
	d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": py, "Layers": []string{v1ARN, v3}}).
		WantError(t, 400, "InvalidParameterValueException",
			"Two different versions of the same layer are not allowed to be referenced in the same function. "+v1ARN+" and "+v3+" are versions of the same layer.")
	missing := "arn:aws:lambda:us-east-1:000000000000:layer:" + layer + ":9"
	d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": py, "Layers": []string{missing}}).
		WantError(t, 400, "InvalidParameterValueException", "Layer version "+missing+" does not exist.")

	listed := false
	for _, l := range items(d.Call(t, "ListLayers", Params{"CompatibleRuntime": "python3.12"}).OK(t).Get("Layers")) {
		if str(l, "LayerName") == layer {
			listed = true
			if latest, _ := l["LatestMatchingVersion"].(map[string]any); str(latest, "LayerVersionArn") != v1ARN {
				t.Errorf("%s: ListLayers(python3.12) latest of %s = %v, want version 1 (the only one that declares it)", d.Name(), layer, latest)
			}
		}
	}
	if !listed {
		t.Errorf("%s: ListLayers does not list %s", d.Name(), layer)
	}
}

// TestLayerBootstrap runs a provided.al2023 function whose bootstrap comes
// from a layer (/opt/bootstrap), as AWS allows for custom runtimes, and
// one with two layers, the later one's files replacing the earlier one's.
func TestLayerBootstrap(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	runtime := publishLayer(t, d, "go-runtime", goZip(t, "from-layer"), nil).Str("LayerVersionArn")
	d.Call(t, "CreateFunction", Params{"FunctionName": "opt-bootstrap", "Runtime": "provided.al2023", "Role": testRole, "Handler": "unused",
		"Code": Params{"ZipFile": makeZip(t, "README", "the runtime comes from a layer")}, "Layers": []string{runtime}}).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "opt-bootstrap"})
	wantVersion(t, invoke(t, d, "opt-bootstrap", map[string]any{}), "from-layer")

	// Two layers: the second's bootstrap wins.
	other := publishLayer(t, d, "go-runtime-2", goZip(t, "second-layer"), nil).Str("LayerVersionArn")
	d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": "opt-bootstrap", "Layers": []string{runtime, other}}).OK(t)
	mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": "opt-bootstrap"})
	wantVersion(t, invoke(t, d, "opt-bootstrap", map[string]any{}), "second-layer")

	// Without a bootstrap anywhere, Lambda's error.
	d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": "opt-bootstrap", "Layers": []string{}}).OK(t)
	mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": "opt-bootstrap"})
	r := invoke(t, d, "opt-bootstrap", map[string]any{})
	r.OK(t)
	if r.FunctionError == "" || !strings.Contains(string(r.Payload), "Runtime.InvalidEntrypoint") {
		t.Errorf("no bootstrap: function error %q, payload %s; want Runtime.InvalidEntrypoint", r.FunctionError, r.Payload)
	}
}

// TestLayerAcrossAccounts: another account is refused a layer version
// until its policy lets it in, then attaches it and runs it.
func TestLayerAcrossAccounts(t *testing.T) {
	t.Parallel()
	credsA := Credentials{AccessKeyID: "AKIALAYERUSER0000001", SecretAccessKey: "secret-of-a", AccountID: "111111111111"}
	credsB := Credentials{AccessKeyID: "AKIALAYEROWNER000002", SecretAccessKey: "secret-of-b", AccountID: "222222222222"}
	srv := Start(t, WithCredentials(WriteCredentialsFile(t, credsA, credsB)))
	for _, kind := range allDrivers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := NewDriver(t, kind, srv, credsA, "us-east-1")
			b := NewDriver(t, kind, srv, credsB, "us-east-1")
			layer := "shared-" + kind
			arn := publishLayer(t, b, layer, libsLayer(t, "shared"), nil).Str("LayerVersionArn")
			fn := "uses-shared-" + kind
			create := Params{"FunctionName": fn, "Runtime": "python3.12", "Role": testRole, "Handler": "index.handler",
				"Code": Params{"ZipFile": makeZip(t, "index.py", layerPython)}, "Layers": []string{arn}, "Timeout": 60}
			denied := "User: arn:aws:iam::" + credsA.AccountID + ":user/" + credsA.AccessKeyID +
				" is not authorized to perform: lambda:GetLayerVersion on resource: " + arn + " because no resource-based policy allows the lambda:GetLayerVersion action"
			a.Call(t, "CreateFunction", create).WantError(t, 403, "AccessDeniedException", denied)
			a.Call(t, "GetLayerVersionByArn", Params{"Arn": arn}).WantError(t, 403, "AccessDeniedException", denied)

			// A statement for another account, and one for an organization,
			// let A in no more.
			b.Call(t, "AddLayerVersionPermission", Params{"LayerName": layer, "VersionNumber": 1, "StatementId": "c",
				"Action": "lambda:GetLayerVersion", "Principal": "333333333333"}).OK(t)
			b.Call(t, "AddLayerVersionPermission", Params{"LayerName": layer, "VersionNumber": 1, "StatementId": "org",
				"Action": "lambda:GetLayerVersion", "Principal": "*", "OrganizationId": "o-abcdefghij"}).OK(t)
			a.Call(t, "CreateFunction", create).WantError(t, 403, "AccessDeniedException", denied)

			added := b.Call(t, "AddLayerVersionPermission", Params{"LayerName": layer, "VersionNumber": 1, "StatementId": "a",
				"Action": "lambda:GetLayerVersion", "Principal": credsA.AccountID}).OK(t)
			added.WantStatus(t, 201)
			var st map[string]any
			if err := json.Unmarshal([]byte(added.Str("Statement")), &st); err != nil || fmt.Sprint(st["Principal"]) != "map[AWS:arn:aws:iam::"+credsA.AccountID+":root]" {
				t.Errorf("%s: Statement %q (%v)", kind, added.Str("Statement"), err)
			}
			wantStr(t, a.Call(t, "GetLayerVersionByArn", Params{"Arn": arn}).OK(t), "LayerVersionArn", arn)
			a.Call(t, "CreateFunction", create).OK(t)
			mustWait(t, a, "FunctionActiveV2", Params{"FunctionName": fn})
			wantReply(t, a, replyOf(t, a, fn), "greet", "python shared")

			// The policy and the layer stay the owner's.
			a.Call(t, "AddLayerVersionPermission", Params{"LayerName": arn[:strings.LastIndexByte(arn, ':')], "VersionNumber": 1,
				"StatementId": "mine", "Action": "lambda:GetLayerVersion", "Principal": "*"}).WantError(t, 403, "AccessDeniedException", "")
			a.Call(t, "DeleteLayerVersion", Params{"LayerName": arn[:strings.LastIndexByte(arn, ':')], "VersionNumber": 1}).
				WantError(t, 403, "AccessDeniedException", "")
			for _, l := range items(a.Call(t, "ListLayers", Params{}).OK(t).Get("Layers")) {
				t.Errorf("%s: A lists B's layer %v", kind, l)
			}

			// Revoked: A can no longer attach it; its function keeps it.
			b.Call(t, "RemoveLayerVersionPermission", Params{"LayerName": layer, "VersionNumber": 1, "StatementId": "a",
				"RevisionId": b.Call(t, "GetLayerVersionPolicy", Params{"LayerName": layer, "VersionNumber": 1}).OK(t).Str("RevisionId")}).OK(t)
			a.Call(t, "GetLayerVersionByArn", Params{"Arn": arn}).WantError(t, 403, "AccessDeniedException", denied)
			wantReply(t, a, replyOf(t, a, fn), "greet", "python shared")
		})
	}
}

// TestLayerLimits checks the size limits of layers with AWS's errors: a
// layer that unzips to the limit is refused, and so is attaching layers
// that unzip, with the function's code, past it. (Nothing is invoked: the
// layers would be unpacked, 140 MB of zeros per client.)
func TestLayerLimits(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	forEachDriver(t, srv, sdkDrivers, func(t *testing.T, d Driver) {
		d.Call(t, "PublishLayerVersion", Params{"LayerName": "huge-" + d.Name(), "Content": Params{"ZipFile": zerosZip(t, lambdahost.MaxUnzippedSize)}}).
			WantError(t, 400, "InvalidParameterValueException", "Unzipped size must be smaller than 262144000 bytes")
		a := publishLayer(t, d, "half-"+d.Name(), zerosZip(t, 140<<20), nil).Str("LayerVersionArn")
		b := publishLayer(t, d, "other-half-"+d.Name(), zerosZip(t, 120<<20), nil).Str("LayerVersionArn")
		fn := "limits-" + d.Name()
		mustCreate(t, d, fn, handlerZip(t, fn))
		d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": fn, "Layers": []string{a}}).OK(t)
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": fn})
		r := d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": fn, "Layers": []string{a, b}})
		r.WantError(t, 400, "InvalidParameterValueException", "")
		if !strings.HasPrefix(r.Message, "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is ") {
			t.Errorf("%s: message %q", d.Name(), r.Message)
		}
		// The refused update changed nothing.
		cfg := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": fn}).OK(t)
		if layers := items(cfg.Get("Layers")); len(layers) != 1 || str(layers[0], "Arn") != a {
			t.Errorf("%s: Layers after the refused update = %v, want only %s", d.Name(), cfg.Get("Layers"), a)
		}
	})
}

// TestSignedLayer: a layer signed through AWS Signer from S3 content is
// attached to a function whose code signing config enforces its profile;
// an unsigned layer is refused.
func TestSignedLayer(t *testing.T) {
	t.Parallel()
	srv, s3c := startWithS3(t)
	cli := NewCLI(t, srv.Endpoint, TestCredentials, "us-east-1")
	aws_ := func(args ...string) map[string]any {
		t.Helper()
		r := cli.Run(t, args...)
		if r.ExitCode != 0 {
			t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), r.ExitCode, r.Stderr)
		}
		return r.JSON
	}
	prof := aws_("signer", "put-signing-profile", "--profile-name", "layers", "--platform-id", "AWSLambda-SHA384-ECDSA")
	profileVersionARN, _ := prof["profileVersionArn"].(string)
	layerZip := libsLayer(t, "signed")
	versions := putVersions(t, s3c, "layer-sources", "libs.zip", layerZip)
	if _, err := s3c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("layer-signed")}); err != nil {
		t.Fatal(err)
	}
	job := aws_("signer", "start-signing-job", "--profile-name", "layers",
		"--source", "s3={bucketName=layer-sources,key=libs.zip,version="+versions[0]+"}",
		"--destination", "s3={bucketName=layer-signed,prefix=out/}")
	jobID, _ := job["jobId"].(string)
	aws_("signer", "wait", "successful-signing-job", "--job-id", jobID)
	key, _ := lookup(aws_("signer", "describe-signing-job", "--job-id", jobID), "signedObject.s3.key").(string)

	// The signed layer, published from S3 content.
	d := NewDriver(t, CLIDriver, srv, TestCredentials, "us-east-1")
	signed := d.Call(t, "PublishLayerVersion", Params{"LayerName": "signed-libs", "Content": Params{"S3Bucket": "layer-signed", "S3Key": key}}).OK(t)
	wantStr(t, signed, "Content.SigningProfileVersionArn", profileVersionARN)
	if !strings.HasSuffix(signed.Str("Content.SigningJobArn"), "/"+jobID) {
		t.Errorf("Content.SigningJobArn = %q, want the job %s", signed.Str("Content.SigningJobArn"), jobID)
	}
	unsigned := publishLayer(t, d, "unsigned-libs", layerZip, nil).Str("LayerVersionArn")
	wantAbsent(t, d.Call(t, "GetLayerVersion", Params{"LayerName": "unsigned-libs", "VersionNumber": 1}).OK(t), "Content.SigningProfileVersionArn")

	csc := aws_("lambda", "create-code-signing-config", "--allowed-publishers", "SigningProfileVersionArns="+profileVersionARN,
		"--code-signing-policies", "UntrustedArtifactOnDeployment=Enforce")
	cscARN, _ := lookup(csc, "CodeSigningConfig.CodeSigningConfigArn").(string)
	// The function's own code is signed too: S3 again.
	fnVersions := putVersions(t, s3c, "fn-sources", "fn.zip", makeZip(t, "index.py", layerPython))
	fnJob := aws_("signer", "start-signing-job", "--profile-name", "layers",
		"--source", "s3={bucketName=fn-sources,key=fn.zip,version="+fnVersions[0]+"}",
		"--destination", "s3={bucketName=layer-signed,prefix=fn/}")
	fnJobID, _ := fnJob["jobId"].(string)
	aws_("signer", "wait", "successful-signing-job", "--job-id", fnJobID)
	fnKey, _ := lookup(aws_("signer", "describe-signing-job", "--job-id", fnJobID), "signedObject.s3.key").(string)

	create := func(layers ...string) *Result {
		return d.Call(t, "CreateFunction", Params{"FunctionName": "signed-layers", "Runtime": "python3.12", "Role": testRole, "Handler": "index.handler",
			"Code": Params{"S3Bucket": "layer-signed", "S3Key": fnKey}, "CodeSigningConfigArn": cscARN, "Layers": layers, "Timeout": 60})
	}
	create(unsigned).WantError(t, 400, "CodeVerificationFailedException",
		"Lambda cannot deploy the function. The function or layer might be signed using a signature that the client is not configured to accept. Check the provided signature for "+unsigned+".")
	created := create(signed.Str("LayerVersionArn")).OK(t)
	layers := items(created.Get("Layers"))
	if len(layers) != 1 || str(layers[0], "SigningProfileVersionArn") != profileVersionARN || str(layers[0], "SigningJobArn") != signed.Str("Content.SigningJobArn") {
		t.Errorf("Layers of the function = %v, want the signed layer with its signer", created.Get("Layers"))
	}
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "signed-layers"})
	wantReply(t, d, replyOf(t, d, "signed-layers"), "greet", "python signed")
}

// TestRefreshReads calls, through each client, the reads a deploy tool
// makes when it refreshes a function (Terraform's provider reads code
// signing, concurrency, recursion, runtime management, URL and event
// invoke configs, event source mappings, policies, provisioned
// concurrency and scaling configs): every one answers as AWS does for a
// function without that resource, and a write of a resource lambdahost
// does not keep (a scaling config: there are no capacity providers)
// refuses without changing anything.
func TestRefreshReads(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		fn := "refresh-" + d.Name()
		mustCreate(t, d, fn, handlerZip(t, fn))
		d.Call(t, "PublishVersion", Params{"FunctionName": fn}).OK(t)
		arn := functionARN("us-east-1", "000000000000", fn)
		d.Call(t, "GetFunctionCodeSigningConfig", Params{"FunctionName": fn}).OK(t)
		d.Call(t, "GetFunctionConcurrency", Params{"FunctionName": fn}).OK(t)
		wantStr(t, d.Call(t, "GetFunctionRecursionConfig", Params{"FunctionName": fn}).OK(t), "RecursiveLoop", "Terminate")
		rt := d.Call(t, "GetRuntimeManagementConfig", Params{"FunctionName": fn}).OK(t)
		wantStr(t, rt, "UpdateRuntimeOn", "Auto")
		wantStr(t, rt, "FunctionArn", arn+":$LATEST")
		d.Call(t, "GetFunctionUrlConfig", Params{"FunctionName": fn}).WantError(t, 404, "ResourceNotFoundException", "The resource you requested does not exist.")
		if got := items(d.Call(t, "ListFunctionUrlConfigs", Params{"FunctionName": fn}).OK(t).Get("FunctionUrlConfigs")); len(got) != 0 {
			t.Errorf("%s: FunctionUrlConfigs = %v", d.Name(), got)
		}
		d.Call(t, "GetFunctionEventInvokeConfig", Params{"FunctionName": fn}).
			WantError(t, 404, "ResourceNotFoundException", "The function "+arn+":$LATEST doesn't have an EventInvokeConfig")
		if got := items(d.Call(t, "ListEventSourceMappings", Params{"FunctionName": fn}).OK(t).Get("EventSourceMappings")); len(got) != 0 {
			t.Errorf("%s: EventSourceMappings = %v", d.Name(), got)
		}
		d.Call(t, "GetPolicy", Params{"FunctionName": fn}).WantError(t, 404, "ResourceNotFoundException", "The resource you requested does not exist.")
		d.Call(t, "GetProvisionedConcurrencyConfig", Params{"FunctionName": fn, "Qualifier": "1"}).
			WantError(t, 404, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function")
		if got := items(d.Call(t, "ListProvisionedConcurrencyConfigs", Params{"FunctionName": fn}).OK(t).Get("ProvisionedConcurrencyConfigs")); len(got) != 0 {
			t.Errorf("%s: ProvisionedConcurrencyConfigs = %v", d.Name(), got)
		}
		d.Call(t, "GetFunctionScalingConfig", Params{"FunctionName": fn, "Qualifier": "1"}).OK(t)
		before := d.Call(t, "GetFunction", Params{"FunctionName": fn}).OK(t).Str("Configuration.RevisionId")
		d.Call(t, "PutFunctionScalingConfig", Params{"FunctionName": fn, "Qualifier": "1", "FunctionScalingConfig": Params{"MinExecutionEnvironments": 1}}).
			WantError(t, 400, "InvalidParameterValueException", "PutFunctionScalingConfig is not supported by this Lambda endpoint yet.")
		if after := d.Call(t, "GetFunction", Params{"FunctionName": fn}).OK(t).Str("Configuration.RevisionId"); after != before {
			t.Errorf("%s: a refused PutFunctionScalingConfig changed the RevisionId", d.Name())
		}
	})
}

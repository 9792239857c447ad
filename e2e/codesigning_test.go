//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/lambdahost/lambdahost"
)

// TestCodeSigningFlow is issue 6's flow with the aws CLI, against a real
// S3 server: signing profile → object in S3 → signing job → code signing
// config → deploy the signed object → tampered, unsigned, untrusted and
// revoked packages refused under Enforce → Warn lets the unsigned through
// but never the tampered.
func TestCodeSigningFlow(t *testing.T) {
	t.Parallel()
	srv, s3c := startWithS3(t)
	cli := NewCLI(t, srv.Endpoint, TestCredentials, "us-east-1")
	ctx := context.Background()
	aws_ := func(args ...string) *CLIResult {
		t.Helper()
		r := cli.Run(t, args...)
		if r.ExitCode != 0 {
			t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), r.ExitCode, r.Stderr)
		}
		return r
	}
	wantFail := func(r *CLIResult, code, msg string) {
		t.Helper()
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "("+code+")") || !strings.Contains(r.Stderr, msg) {
			t.Fatalf("want %s %q, got exit %d\n%s", code, msg, r.ExitCode, r.Stderr)
		}
	}

	// A signing profile, and a second one the config will not trust.
	prof := aws_("signer", "put-signing-profile", "--profile-name", "release", "--platform-id", "AWSLambda-SHA384-ECDSA").JSON
	profileVersionARN, _ := prof["profileVersionArn"].(string)
	if !strings.HasPrefix(profileVersionARN, "arn:aws:signer:us-east-1:000000000000:/signing-profiles/release/") {
		t.Fatalf("put-signing-profile answered %v", prof)
	}
	aws_("signer", "put-signing-profile", "--profile-name", "intern", "--platform-id", "AWSLambda-SHA384-ECDSA")

	// The unsigned package in a versioned bucket; signed ones go to another.
	unsigned := handlerZip(t, "signed release v1")
	versions := putVersions(t, s3c, "sources", "fn.zip", unsigned)
	if _, err := s3c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("signed")}); err != nil {
		t.Fatal(err)
	}
	sign := func(profile string) (jobID, key string) {
		t.Helper()
		job := aws_("signer", "start-signing-job", "--profile-name", profile,
			"--source", "s3={bucketName=sources,key=fn.zip,version="+versions[0]+"}",
			"--destination", "s3={bucketName=signed,prefix=out/}").JSON
		jobID, _ = job["jobId"].(string)
		aws_("signer", "wait", "successful-signing-job", "--job-id", jobID)
		desc := aws_("signer", "describe-signing-job", "--job-id", jobID).JSON
		key, _ = lookup(desc, "signedObject.s3.key").(string)
		if desc["status"] != "Succeeded" || key == "" {
			t.Fatalf("describe-signing-job: %v", desc)
		}
		return jobID, key
	}
	jobID, signedKey := sign("release")
	signed := readS3Object(t, s3c, "signed", signedKey)
	sc, err := lambdahost.ReadCodeSignature(bytes.NewReader(signed), int64(len(signed)))
	if err != nil || sc.Signature.ProfileVersionARN != profileVersionARN || !strings.HasSuffix(sc.Signature.JobARN, "/"+jobID) {
		t.Fatalf("signed object's signature: %+v, %v", sc, err)
	}

	// The config, and a function that uses it.
	csc := aws_("lambda", "create-code-signing-config", "--description", "release builds only",
		"--allowed-publishers", "SigningProfileVersionArns="+profileVersionARN,
		"--code-signing-policies", "UntrustedArtifactOnDeployment=Enforce").JSON
	cscARN, _ := lookup(csc, "CodeSigningConfig.CodeSigningConfigArn").(string)
	if !strings.Contains(cscARN, ":code-signing-config:csc-") || lookup(csc, "CodeSigningConfig.CodeSigningPolicies.UntrustedArtifactOnDeployment") != "Enforce" {
		t.Fatalf("create-code-signing-config: %v", csc)
	}
	d := NewDriver(t, CLIDriver, srv, TestCredentials, "us-east-1")
	p := createParams("signed-fn", nil)
	p["Code"] = Params{"S3Bucket": "signed", "S3Key": signedKey}
	p["CodeSigningConfigArn"] = cscARN
	created := d.Call(t, "CreateFunction", p).OK(t)
	wantStr(t, created, "SigningProfileVersionArn", profileVersionARN)
	wantStr(t, created, "SigningJobArn", sc.Signature.JobARN)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "signed-fn"})
	wantPayload(t, invoke(t, d, "signed-fn", map[string]any{}), `"signed release v1"`)
	got := aws_("lambda", "get-function-code-signing-config", "--function-name", "signed-fn").JSON
	if got["CodeSigningConfigArn"] != cscARN || got["FunctionName"] != "signed-fn" {
		t.Fatalf("get-function-code-signing-config: %v", got)
	}
	fns := aws_("lambda", "list-functions-by-code-signing-config", "--code-signing-config-arn", cscARN).JSON
	if arns, _ := fns["FunctionArns"].([]any); len(arns) != 1 || !strings.HasSuffix(arns[0].(string), ":function:signed-fn") {
		t.Fatalf("list-functions-by-code-signing-config: %v", fns)
	}
	wantFail(cli.Run(t, "lambda", "delete-code-signing-config", "--code-signing-config-arn", cscARN), "ResourceConflictException", "used by")

	update := func(key string) *CLIResult {
		return cli.Run(t, "lambda", "update-function-code", "--function-name", "signed-fn", "--s3-bucket", "signed", "--s3-key", key)
	}
	put := func(key string, b []byte) {
		t.Helper()
		if _, err := s3c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("signed"), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
			t.Fatal(err)
		}
	}
	revisionOf := func() string {
		t.Helper()
		return aws_("lambda", "get-function-configuration", "--function-name", "signed-fn").JSON["RevisionId"].(string)
	}
	rev := revisionOf()

	// Tampered: one byte of the signed package changed.
	tampered := bytes.Clone(signed)
	tampered[len(unsigned)/2] ^= 0x01 // inside the zip, before the signature block
	put("tampered.zip", tampered)
	wantFail(update("tampered.zip"), "InvalidCodeSignatureException", "integrity check")
	// Unsigned, and signed by a profile the config does not allow.
	put("unsigned.zip", unsigned)
	const mismatch = "The function or layer might be signed using a signature that the client is not configured to accept"
	wantFail(update("unsigned.zip"), "CodeVerificationFailedException", mismatch)
	_, internKey := sign("intern")
	wantFail(update(internKey), "CodeVerificationFailedException", mismatch)
	if rev != revisionOf() {
		t.Fatal("a refused deployment changed the function")
	}
	wantPayload(t, invoke(t, d, "signed-fn", map[string]any{}), `"signed release v1"`)

	// The trusted package deploys again; once its signature is revoked it
	// no longer does.
	aws_("lambda", "update-function-code", "--function-name", "signed-fn", "--s3-bucket", "signed", "--s3-key", signedKey)
	mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": "signed-fn"})
	aws_("signer", "revoke-signature", "--job-id", jobID, "--reason", "built from a compromised branch")
	if st := aws_("signer", "describe-signing-job", "--job-id", jobID).JSON; lookup(st, "revocationRecord.reason") != "built from a compromised branch" {
		t.Fatalf("describe-signing-job after revoke: %v", st)
	}
	wantFail(update(signedKey), "CodeVerificationFailedException", mismatch)

	// Warn: the unsigned package deploys (and shows no signing profile),
	// the tampered one still does not.
	aws_("lambda", "update-code-signing-config", "--code-signing-config-arn", cscARN,
		"--code-signing-policies", "UntrustedArtifactOnDeployment=Warn")
	warned := update("unsigned.zip")
	if warned.ExitCode != 0 || warned.JSON["SigningProfileVersionArn"] != nil {
		t.Fatalf("unsigned under Warn: exit %d %v\n%s", warned.ExitCode, warned.JSON, warned.Stderr)
	}
	mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": "signed-fn"})
	wantFail(update("tampered.zip"), "InvalidCodeSignatureException", "integrity check")

	// Without the config, anything deploys; then the config can go.
	aws_("lambda", "delete-function-code-signing-config", "--function-name", "signed-fn")
	aws_("lambda", "update-function-code", "--function-name", "signed-fn", "--s3-bucket", "signed", "--s3-key", "tampered.zip")
	aws_("lambda", "delete-code-signing-config", "--code-signing-config-arn", cscARN)
	wantFail(cli.Run(t, "lambda", "get-code-signing-config", "--code-signing-config-arn", cscARN),
		"ResourceNotFoundException", "The Lambda code signing configuration "+cscARN+" can not be found.")
	wantFail(cli.Run(t, "lambda", "put-function-code-signing-config", "--function-name", "signed-fn", "--code-signing-config-arn", cscARN),
		"CodeSigningConfigNotFoundException", "Check that the provided configuration is not deleted: "+cscARN+".")
}

// TestCodeSigningConfigs drives the nine code signing config operations
// through each client, which must parse every answer and error: a config
// in use cannot be deleted, and an unsigned package is refused under
// Enforce and deployed under Warn.
func TestCodeSigningConfigs(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	const publisher = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/release/abcdefghij"
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		fn := "csc-" + d.Name()
		d.Call(t, "CreateFunction", createParams(fn, handlerZip(t, fn))).OK(t)
		mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": fn})

		created := d.Call(t, "CreateCodeSigningConfig", Params{
			"Description":         "release builds of " + fn,
			"AllowedPublishers":   Params{"SigningProfileVersionArns": []string{publisher}},
			"CodeSigningPolicies": Params{"UntrustedArtifactOnDeployment": "Enforce"},
		}).OK(t)
		created.WantStatus(t, 201)
		arn := created.Str("CodeSigningConfig.CodeSigningConfigArn")
		if !strings.HasPrefix(arn, "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-") {
			t.Fatalf("%s: CodeSigningConfigArn %q", d.Name(), arn)
		}
		got := d.Call(t, "GetCodeSigningConfig", Params{"CodeSigningConfigArn": arn}).OK(t)
		wantStr(t, got, "CodeSigningConfig.Description", "release builds of "+fn)
		wantStr(t, got, "CodeSigningConfig.CodeSigningPolicies.UntrustedArtifactOnDeployment", "Enforce")
		if got.Str("CodeSigningConfig.LastModified") == "" && got.Get("CodeSigningConfig.LastModified") == nil {
			t.Errorf("%s: no LastModified", d.Name())
		}
		listed := false
		for _, c := range items(d.Call(t, "ListCodeSigningConfigs", Params{}).OK(t).Get("CodeSigningConfigs")) {
			listed = listed || c["CodeSigningConfigArn"] == arn
		}
		if !listed {
			t.Errorf("%s: ListCodeSigningConfigs does not list %s", d.Name(), arn)
		}

		put := d.Call(t, "PutFunctionCodeSigningConfig", Params{"FunctionName": fn, "CodeSigningConfigArn": arn}).OK(t)
		wantStr(t, put, "CodeSigningConfigArn", arn)
		wantStr(t, d.Call(t, "GetFunctionCodeSigningConfig", Params{"FunctionName": fn}).OK(t), "CodeSigningConfigArn", arn)
		users := d.Call(t, "ListFunctionsByCodeSigningConfig", Params{"CodeSigningConfigArn": arn}).OK(t).Get("FunctionArns")
		if arns, _ := users.([]any); len(arns) != 1 || arns[0] != functionARN("us-east-1", "000000000000", fn) {
			t.Errorf("%s: ListFunctionsByCodeSigningConfig = %v", d.Name(), users)
		}

		d.Call(t, "UpdateFunctionCode", Params{"FunctionName": fn, "ZipFile": handlerZip(t, fn+" unsigned")}).
			WantError(t, 400, "CodeVerificationFailedException",
				"Lambda cannot deploy the function. The function or layer might be signed using a signature that the client is not configured to accept. Check the provided signature for "+fn+".")
		d.Call(t, "DeleteCodeSigningConfig", Params{"CodeSigningConfigArn": arn}).WantError(t, 409, "ResourceConflictException", "")

		d.Call(t, "UpdateCodeSigningConfig", Params{"CodeSigningConfigArn": arn,
			"CodeSigningPolicies": Params{"UntrustedArtifactOnDeployment": "Warn"}}).OK(t)
		d.Call(t, "UpdateFunctionCode", Params{"FunctionName": fn, "ZipFile": handlerZip(t, fn+" unsigned")}).OK(t)
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": fn})

		d.Call(t, "DeleteFunctionCodeSigningConfig", Params{"FunctionName": fn}).OK(t)
		d.Call(t, "DeleteCodeSigningConfig", Params{"CodeSigningConfigArn": arn}).OK(t)
		d.Call(t, "GetCodeSigningConfig", Params{"CodeSigningConfigArn": arn}).
			WantError(t, 404, "ResourceNotFoundException", "The Lambda code signing configuration "+arn+" can not be found.")
	})
}

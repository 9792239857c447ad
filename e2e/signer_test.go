//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/testserver"
)

// signerCLI runs "aws signer ARGS..." and fails the test unless it succeeds.
func signerCLI(t *testing.T, c *CLI, args ...string) *CLIResult {
	t.Helper()
	r := c.Run(t, append([]string{"signer"}, args...)...)
	if r.ExitCode != 0 {
		t.Fatalf("aws signer %s: exit %d: %s", strings.Join(args, " "), r.ExitCode, r.Stderr)
	}
	return r
}

// wantCLIError checks that "aws signer ARGS..." failed with code.
func wantCLIError(t *testing.T, c *CLI, code string, args ...string) {
	t.Helper()
	r := c.Run(t, append([]string{"signer"}, args...)...)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "("+code+")") {
		t.Errorf("aws signer %s: exit %d, stderr %q; want %s", strings.Join(args, " "), r.ExitCode, r.Stderr, code)
	}
}

func jstr(m map[string]any, path string) string {
	v := lookup(m, path)
	s, _ := v.(string)
	return s
}

func readS3Object(t *testing.T, c *awss3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readSignature(t *testing.T, b []byte) lambdahost.CodeSignature {
	t.Helper()
	sc, err := lambdahost.ReadCodeSignature(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("read signature: %v", err)
	}
	return sc.Signature
}

// TestSigner drives AWS Signer's API subset with the aws CLI against a
// real S3 (versitygw): a profile, a signing job from an S3 object version
// into the destination bucket, the CLI's waiter, a failed job, revocation,
// cancelation, account isolation, and offline signing with an exported
// key (issue 6, code signing).
func TestSigner(t *testing.T) {
	t.Parallel()
	gw := testserver.StartS3(t)
	credsA := Credentials{AccessKeyID: "AKIASIGNERA000000001", SecretAccessKey: "secret-of-a", AccountID: "111111111111"}
	credsB := Credentials{AccessKeyID: "AKIASIGNERB000000002", SecretAccessKey: "secret-of-b", AccountID: "222222222222"}
	srv := Start(t, WithCredentials(WriteCredentialsFile(t, credsA, credsB)),
		WithArgs("--s3-endpoint", gw.Endpoint, "--s3-path-style", "true"),
		WithEnv("AWS_ACCESS_KEY_ID="+gw.AccessKey, "AWS_SECRET_ACCESS_KEY="+gw.SecretKey, "AWS_REGION=us-east-1"))
	s3c := awss3.New(awss3.Options{
		BaseEndpoint: aws.String(gw.Endpoint), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(gw.AccessKey, gw.SecretKey, ""),
	})
	code := handlerZip(t, "signed code")
	versions := putVersions(t, s3c, "signer-src", "fn.zip", code)
	if _, err := s3c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("signer-dst")}); err != nil {
		t.Fatal(err)
	}
	a := NewCLI(t, srv.Endpoint, credsA, "us-east-1")
	b := NewCLI(t, srv.Endpoint, credsB, "us-east-1")

	plat := signerCLI(t, a, "get-signing-platform", "--platform-id", "AWSLambda-SHA384-ECDSA").JSON
	if jstr(plat, "displayName") != "AWS Lambda" || jstr(plat, "signingConfiguration.hashAlgorithmOptions.defaultValue") != "SHA384" {
		t.Errorf("get-signing-platform: %v", plat)
	}

	put := signerCLI(t, a, "put-signing-profile", "--profile-name", "release", "--platform-id", "AWSLambda-SHA384-ECDSA").JSON
	arn, versionARN, version := jstr(put, "arn"), jstr(put, "profileVersionArn"), jstr(put, "profileVersion")
	if arn != "arn:aws:signer:us-east-1:111111111111:/signing-profiles/release" || versionARN != arn+"/"+version || len(version) != 10 {
		t.Fatalf("put-signing-profile: %v", put)
	}
	wantCLIError(t, a, "ValidationException", "put-signing-profile", "--profile-name", "release", "--platform-id", "AWSLambda-SHA384-ECDSA")
	wantCLIError(t, a, "ResourceNotFoundException", "put-signing-profile", "--profile-name", "other", "--platform-id", "AmazonFreeRTOS-Default")
	get := signerCLI(t, a, "get-signing-profile", "--profile-name", "release").JSON
	if jstr(get, "status") != "Active" || jstr(get, "signatureValidityPeriod.type") != "MONTHS" || lookup(get, "signatureValidityPeriod.value") != float64(135) {
		t.Errorf("get-signing-profile: %v", get)
	}

	t.Run("signing-job", func(t *testing.T) {
		start := signerCLI(t, a, "start-signing-job", "--profile-name", "release",
			"--source", `{"s3":{"bucketName":"signer-src","key":"fn.zip","version":"`+versions[0]+`"}}`,
			"--destination", `{"s3":{"bucketName":"signer-dst","prefix":"signed/"}}`).JSON
		jobID := jstr(start, "jobId")
		if jobID == "" || jstr(start, "jobOwner") != "111111111111" {
			t.Fatalf("start-signing-job: %v", start)
		}
		signerCLI(t, a, "wait", "successful-signing-job", "--job-id", jobID)
		job := signerCLI(t, a, "describe-signing-job", "--job-id", jobID).JSON
		key := "signed/" + jobID + ".zip"
		if jstr(job, "status") != "Succeeded" || jstr(job, "signedObject.s3.bucketName") != "signer-dst" || jstr(job, "signedObject.s3.key") != key ||
			jstr(job, "profileVersion") != version || jstr(job, "source.s3.version") != versions[0] {
			t.Fatalf("describe-signing-job: %v", job)
		}
		signed := readS3Object(t, s3c, "signer-dst", key)
		sig := readSignature(t, signed)
		if sig.ProfileVersionARN != versionARN || sig.JobARN != "arn:aws:signer:us-east-1:111111111111:/signing-jobs/"+jobID {
			t.Errorf("signature names %s and %s", sig.ProfileVersionARN, sig.JobARN)
		}
		if !bytes.Equal(signed[:len(code)-2], code[:len(code)-2]) {
			t.Error("the signed zip's content differs from the source's")
		}
		jobs := signerCLI(t, a, "list-signing-jobs").JSON
		if n := len(lookup(jobs, "jobs").([]any)); n != 1 {
			t.Errorf("list-signing-jobs: %d jobs", n)
		}

		// Another account sees nothing of it.
		wantCLIError(t, b, "ResourceNotFoundException", "describe-signing-job", "--job-id", jobID)
		wantCLIError(t, b, "ResourceNotFoundException", "revoke-signature", "--job-id", jobID, "--reason", "not mine")
		wantCLIError(t, b, "ResourceNotFoundException", "get-signing-profile", "--profile-name", "release")
		wantCLIError(t, b, "AccessDeniedException", "get-signing-profile", "--profile-name", "release", "--profile-owner", "111111111111")
		if n := len(lookup(signerCLI(t, b, "list-signing-profiles").JSON, "profiles").([]any)); n != 0 {
			t.Errorf("B lists %d profiles", n)
		}

		signerCLI(t, a, "revoke-signature", "--job-id", jobID, "--reason", "bad build")
		job = signerCLI(t, a, "describe-signing-job", "--job-id", jobID).JSON
		if jstr(job, "revocationRecord.reason") != "bad build" || jstr(job, "revocationRecord.revokedBy") == "" {
			t.Errorf("after revoke-signature: %v", job["revocationRecord"])
		}
	})

	t.Run("boto3", func(t *testing.T) {
		python := needBoto3(t)
		cmd := exec.CommandContext(t.Context(), python, filepath.Join("testdata", "boto3", "signer.py"),
			srv.Endpoint, "signer-src", "fn.zip", versions[0], "signer-dst")
		cmd.Env = append(envWithout(os.Environ(), "AWS_"), "AWS_ACCESS_KEY_ID="+credsA.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY="+credsA.SecretAccessKey, "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null")
		dieWithTest(cmd)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("signer.py: %v: %s", err, stderr)
		}
		var got struct {
			ProfileVersionARN string  `json:"profileVersionArn"`
			JobID             string  `json:"jobId"`
			Status            string  `json:"status"`
			Key               string  `json:"key"`
			ValidSeconds      float64 `json:"validSeconds"`
			Error             struct {
				Code, Message string
				Status        int
			} `json:"error"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("signer.py printed %q: %v", out, err)
		}
		// The signature expires ten days after it was made, which is as
		// long before the job completed as signing and storing took.
		const validity = 10 * 24 * 3600
		if got.Status != "Succeeded" || got.Key != "boto3/"+got.JobID+".zip" || got.ValidSeconds > validity || got.ValidSeconds < validity-waitTimeout.Seconds() {
			t.Errorf("boto3 saw %+v", got)
		}
		if got.Error.Code != "ResourceNotFoundException" || got.Error.Status != 404 || got.Error.Message == "" {
			t.Errorf("boto3 parsed the error as %+v", got.Error)
		}
		sig := readSignature(t, readS3Object(t, s3c, "signer-dst", got.Key))
		if sig.ProfileVersionARN != got.ProfileVersionARN || !strings.HasSuffix(sig.JobARN, "/signing-jobs/"+got.JobID) {
			t.Errorf("signature names %s and %s", sig.ProfileVersionARN, sig.JobARN)
		}
	})

	t.Run("failed-job", func(t *testing.T) {
		start := signerCLI(t, a, "start-signing-job", "--profile-name", "release",
			"--source", `{"s3":{"bucketName":"signer-src","key":"missing.zip","version":"`+versions[0]+`"}}`,
			"--destination", `{"s3":{"bucketName":"signer-dst"}}`).JSON
		jobID := jstr(start, "jobId")
		if r := a.Run(t, "signer", "wait", "successful-signing-job", "--job-id", jobID); r.ExitCode == 0 {
			t.Error("the waiter succeeded on a failed job")
		}
		job := signerCLI(t, a, "describe-signing-job", "--job-id", jobID).JSON
		if jstr(job, "status") != "Failed" || !strings.Contains(jstr(job, "statusReason"), "NoSuchKey") || job["signedObject"] != nil {
			t.Errorf("describe-signing-job: %v", job)
		}
	})

	t.Run("offline", func(t *testing.T) {
		put := signerCLI(t, a, "put-signing-profile", "--profile-name", "offline", "--platform-id", "AWSLambda-SHA384-ECDSA").JSON
		offlineARN := jstr(put, "profileVersionArn")
		dir := t.TempDir()
		pem, in, out := filepath.Join(dir, "key.pem"), filepath.Join(dir, "fn.zip"), filepath.Join(dir, "signed.zip")
		if _, stderr, rc := runBinary(t, waitTimeout, "signer", "export-key", "--data-dir", srv.DataDir, "--profile-version-arn", offlineARN, "--out", pem); rc != 0 {
			t.Fatalf("export-key: exit %d: %s", rc, stderr)
		}
		if err := os.WriteFile(in, code, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, stderr, rc := runBinary(t, waitTimeout, "sign", "--key", pem, "--in", in, "--out", out); rc != 0 {
			t.Fatalf("sign: exit %d: %s", rc, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if sig := readSignature(t, b); sig.ProfileVersionARN != offlineARN || !strings.HasPrefix(sig.JobARN, "arn:aws:signer:us-east-1:111111111111:/signing-jobs/") {
			t.Errorf("offline signature names %s and %s", sig.ProfileVersionARN, sig.JobARN)
		}
	})

	t.Run("cancel-and-revoke", func(t *testing.T) {
		signerCLI(t, a, "put-signing-profile", "--profile-name", "retired", "--platform-id", "AWSLambda-SHA384-ECDSA")
		signerCLI(t, a, "cancel-signing-profile", "--profile-name", "retired")
		wantCLIError(t, a, "ValidationException", "start-signing-job", "--profile-name", "retired",
			"--source", `{"s3":{"bucketName":"signer-src","key":"fn.zip","version":"`+versions[0]+`"}}`,
			"--destination", `{"s3":{"bucketName":"signer-dst"}}`)
		names := func(args ...string) string {
			var out []string
			for _, p := range lookup(signerCLI(t, a, append([]string{"list-signing-profiles"}, args...)...).JSON, "profiles").([]any) {
				p := p.(map[string]any)
				out = append(out, jstr(p, "profileName")+":"+jstr(p, "status"))
			}
			return strings.Join(out, " ")
		}
		if got := names(); strings.Contains(got, "retired") {
			t.Errorf("list-signing-profiles lists the canceled profile: %s", got)
		}
		if got := names("--include-canceled"); !strings.Contains(got, "retired:Canceled") {
			t.Errorf("list-signing-profiles --include-canceled: %s", got)
		}

		signerCLI(t, a, "revoke-signing-profile", "--profile-name", "release", "--profile-version", version,
			"--reason", "key compromised", "--effective-time", "2026-01-01T00:00:00Z")
		get := signerCLI(t, a, "get-signing-profile", "--profile-name", "release").JSON
		if jstr(get, "status") != "Revoked" || lookup(get, "revocationRecord.revocationEffectiveFrom") == nil {
			t.Errorf("after revoke-signing-profile: %v", get)
		}
		wantCLIError(t, a, "ResourceNotFoundException", "revoke-signing-profile", "--profile-name", "nope", "--profile-version", version,
			"--reason", "x", "--effective-time", "2026-01-01T00:00:00Z")
	})
}

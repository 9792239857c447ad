//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/lambdahost/lambdahost/internal/testserver"
)

// startWithS3 runs lambdahost reading S3 code from a real versitygw, with
// the gateway's credentials in its AWS SDK environment.
func startWithS3(t *testing.T) (*Server, *awss3.Client) {
	t.Helper()
	gw := testserver.StartS3(t)
	srv := Start(t, WithArgs("--s3-endpoint", gw.Endpoint, "--s3-path-style", "true"),
		WithEnv("AWS_ACCESS_KEY_ID="+gw.AccessKey, "AWS_SECRET_ACCESS_KEY="+gw.SecretKey, "AWS_REGION=us-east-1"))
	client := awss3.New(awss3.Options{
		BaseEndpoint: aws.String(gw.Endpoint), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(gw.AccessKey, gw.SecretKey, ""),
	})
	return srv, client
}

// putVersions creates a versioned bucket holding each body, in order, as
// versions of key, and returns their version IDs.
func putVersions(t *testing.T, c *awss3.Client, bucket, key string, bodies ...[]byte) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatalf("enable versioning: %v", err)
	}
	var ids []string
	for _, b := range bodies {
		out, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b)})
		if err != nil {
			t.Fatalf("put %s/%s: %v", bucket, key, err)
		}
		ids = append(ids, aws.ToString(out.VersionId))
	}
	return ids
}

// TestS3Code deploys from S3 objects, latest and by version, and checks
// AWS's errors for missing buckets and keys (issue 5, S3).
func TestS3Code(t *testing.T) {
	t.Parallel()
	srv, s3c := startWithS3(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		fn, bucket := "from-s3-"+d.Name(), "code-"+d.Name()
		zip1, zip2 := handlerZip(t, fn+" v1"), handlerZip(t, fn+" v2")
		ids := putVersions(t, s3c, bucket, "fn.zip", zip1, zip2)

		p := createParams(fn, nil)
		p["Code"] = Params{"S3Bucket": bucket, "S3Key": "fn.zip"}
		create := d.Call(t, "CreateFunction", p).OK(t)
		wantCode(t, create, "", zip2) // the latest version
		mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": fn})

		update := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": fn, "S3Bucket": bucket, "S3Key": "fn.zip", "S3ObjectVersion": ids[0]}).OK(t)
		wantCode(t, update, "", zip1)
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": fn})
		get := d.Call(t, "GetFunction", Params{"FunctionName": fn}).OK(t)
		wantCode(t, get, "Configuration.", zip1)
		if got := download(t, get.Str("Code.Location")); !bytes.Equal(got, zip1) {
			t.Errorf("Code.Location served sha %s, want version 1's %s", codeSHA(got), codeSHA(zip1))
		}

		// The same bytes uploaded directly are the same code.
		direct := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": fn, "ZipFile": zip2}).OK(t)
		wantCode(t, direct, "", zip2)
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": fn})

		if _, err := s3c.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("notes.txt"), Body: strings.NewReader("not a zip")}); err != nil {
			t.Fatal(err)
		}
		d.Call(t, "UpdateFunctionCode", Params{"FunctionName": fn, "S3Bucket": bucket, "S3Key": "notes.txt"}).
			WantError(t, 400, "InvalidParameterValueException", msgCannotUnzip)
		d.Call(t, "UpdateFunctionCode", Params{"FunctionName": fn, "S3Bucket": bucket, "S3Key": "missing.zip"}).
			WantError(t, 400, "InvalidParameterValueException", "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.")
		d.Call(t, "UpdateFunctionCode", Params{"FunctionName": fn, "S3Bucket": "no-such-bucket-" + d.Name(), "S3Key": "fn.zip"}).
			WantError(t, 400, "InvalidParameterValueException", msgNoSuchBucket)
		// A failed fetch changes nothing.
		wantCode(t, d.Call(t, "GetFunction", Params{"FunctionName": fn}).OK(t), "Configuration.", zip2)
	})
}

// pushImage pushes a small image with a bootstrap entry point for arch to
// ref and returns its manifest digest.
func pushImage(t *testing.T, ref string) v1.Hash {
	t.Helper()
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	img = lambdaImage(t, img)
	push(t, ref, img)
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// lambdaImage makes img a linux/amd64 image whose entry point is
// /var/task/bootstrap, with env added to its configuration.
func lambdaImage(t *testing.T, img v1.Image, env ...string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/var/task/bootstrap"}
	cf.Config.Env = append(cf.Config.Env, env...)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// push writes img to ref in a registry reached over plain HTTP.
func push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

// TestImageCode deploys container images from a real registry: tags are
// resolved at update time, and a later push to the tag changes nothing
// until the next update (issue 5, images).
func TestImageCode(t *testing.T) {
	t.Parallel()
	reg := testserver.StartRegistry(t)
	srv := Start(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		fn := "from-image-" + d.Name()
		repo := reg.Host + "/fn-" + d.Name()
		first := pushImage(t, repo+":latest")

		create := d.Call(t, "CreateFunction", Params{"FunctionName": fn, "Role": testRole, "PackageType": "Image",
			"Code": Params{"ImageUri": repo + ":latest"}, "ImageConfig": Params{"Command": []string{"handler"}}}).OK(t)
		wantStr(t, create, "PackageType", "Image")
		wantStr(t, create, "CodeSha256", first.Hex)
		mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": fn})

		get := d.Call(t, "GetFunction", Params{"FunctionName": fn}).OK(t)
		wantStr(t, get, "Code.RepositoryType", "ECR")
		wantStr(t, get, "Code.ImageUri", repo+":latest")
		wantStr(t, get, "Code.ResolvedImageUri", repo+"@"+first.String())
		wantStr(t, get, "Configuration.State", "Active")
		wantStr(t, get, "Configuration.LastUpdateStatus", "Successful")
		if got := get.Get("Configuration.ImageConfigResponse.ImageConfig.Command"); got == nil {
			t.Errorf("GetFunction has no ImageConfigResponse: %v", get.Get("Configuration"))
		}

		// A push to the tag does not change the function...
		second := pushImage(t, repo+":latest")
		wantStr(t, d.Call(t, "GetFunction", Params{"FunctionName": fn}).OK(t), "Code.ResolvedImageUri", repo+"@"+first.String())
		// ...until the next update resolves the tag again.
		update := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": fn, "ImageUri": repo + ":latest"}).OK(t)
		wantStr(t, update, "CodeSha256", second.Hex)
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": fn})
		wantStr(t, d.Call(t, "GetFunction", Params{"FunctionName": fn}).OK(t), "Code.ResolvedImageUri", repo+"@"+second.String())

		// PublishVersion's CodeSha256 precondition takes the hex digest.
		pub := d.Call(t, "PublishVersion", Params{"FunctionName": fn, "CodeSha256": second.Hex}).OK(t)
		wantStr(t, pub, "Version", "1")
		wantStr(t, pub, "CodeSha256", second.Hex)

		d.Call(t, "UpdateFunctionCode", Params{"FunctionName": fn, "ZipFile": handlerZip(t, "zip")}).
			WantError(t, 400, "InvalidParameterValueException", "Please provide ImageUri when updating a function with packageType Image.")
		missing := d.Call(t, "CreateFunction", Params{"FunctionName": fn + "-missing", "Role": testRole, "PackageType": "Image",
			"Code": Params{"ImageUri": repo + ":no-such-tag"}})
		if missing.Code != "InvalidParameterValueException" || !strings.Contains(missing.Message, "no-such-tag") {
			t.Errorf("create from a missing tag: %s %q, want InvalidParameterValueException naming the image", missing.Code, missing.Message)
		}
		d.Call(t, "CreateFunction", Params{"FunctionName": fn + "-runtime", "Role": testRole, "PackageType": "Image", "Runtime": "python3.12",
			"Code": Params{"ImageUri": repo + ":latest"}}).
			WantError(t, 400, "InvalidParameterValueException", "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.")
	})
}

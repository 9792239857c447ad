//go:build e2e

package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// pushFunctionImage pushes an image whose entry point is the Go test
// function at version, to ref.
func pushFunctionImage(t *testing.T, ref, version string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(goZip(t, version)), int64(len(goZip(t, version))))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, d := range []string{"var/", "var/task/"} {
		tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755})
	}
	tw.WriteHeader(&tar.Header{Name: "var/task/bootstrap", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))})
	tw.Write(bin)
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	push(t, ref, lambdaImage(t, img, "FROM_IMAGE=yes"))
}

// TestImageInvoke runs a container image function: its own file system is
// the environment's root, its entry point the runtime, its Env merged with
// the function's; an update to a new image runs the new code.
func TestImageInvoke(t *testing.T) {
	t.Parallel()
	reg := testserver.StartRegistry(t)
	srv := Start(t)
	c := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	ctx := t.Context()
	repo := reg.Host + "/image-fn"
	pushFunctionImage(t, repo+":v1", "img-1")
	pushFunctionImage(t, repo+":v2", "img-2")

	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("image-fn"), Role: aws.String(testRole), PackageType: types.PackageTypeImage,
		Code:        &types.FunctionCode{ImageUri: aws.String(repo + ":v1")},
		Environment: &types.Environment{Variables: map[string]string{"OWN": "mine"}},
		Timeout:     aws.Int32(fnTimeout),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 50 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("image-fn")}, waitTimeout); err != nil {
		t.Fatal(err)
	}
	invokeImage := func(event string) map[string]any {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("image-fn"), Payload: []byte(event)})
		if err != nil {
			t.Fatal(err)
		}
		if out.FunctionError != nil {
			t.Fatalf("function error %s: %s", *out.FunctionError, out.Payload)
		}
		var r map[string]any
		if err := json.Unmarshal(out.Payload, &r); err != nil {
			t.Fatalf("payload %s: %v", out.Payload, err)
		}
		return r
	}
	if r := invokeImage(`{"env":"FROM_IMAGE"}`); r["version"] != "img-1" || r["env"] != "yes" {
		t.Errorf("v1 invoke: %v", r)
	}
	if r := invokeImage(`{"env":"OWN"}`); r["env"] != "mine" {
		t.Errorf("function environment: %v", r)
	}
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("image-fn"), ImageUri: aws.String(repo + ":v2")}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) { o.MinDelay = 50 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("image-fn")}, waitTimeout); err != nil {
		t.Fatal(err)
	}
	if r := invokeImage(`{}`); r["version"] != "img-2" {
		t.Errorf("after update: %v", r)
	}
}

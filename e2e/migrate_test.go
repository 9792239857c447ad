//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestMigrate populates a single node on SQLite (small code stored inline,
// code too large for that in the blob directory, a published version, an
// alias, tags, reserved concurrency, an Event invocation queued behind a
// throttle), stops it, moves it with lambdahost migrate to PostgreSQL and
// S3, and serves it from two nodes: they answer the same functions and
// code, run them, and run the queued event once the throttle is lifted.
// migrate run again changes nothing and verifies again.
func TestMigrate(t *testing.T) {
	t.Parallel()
	tap := &logTap{TB: t}
	srv := Start(tap, WithArgs("--log-level", "debug"))
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	ctx := t.Context()

	small := makeZip(t, "index.py", reportingHandler)
	mustCreate(t, d, "small", small)
	d.Call(t, "TagResource", Params{"Resource": functionARN("us-east-1", "000000000000", "small"), "Tags": Params{"team": "core"}}).OK(t)
	// 300 kB of letters deflate to more than the 128 KiB kept inline.
	r := rand.New(rand.NewPCG(1, 2))
	pad := make([]byte, 300_000)
	for i := range pad {
		pad[i] = byte('a' + r.IntN(26))
	}
	big := makeZip(t, "index.py", "def handler(event, context):\n    return 'big'\n", "pad.txt", string(pad))
	mustCreate(t, d, "big", big)
	d.Call(t, "PublishVersion", Params{"FunctionName": "big"}).OK(t)
	d.Call(t, "CreateAlias", Params{"FunctionName": "big", "Name": "live", "FunctionVersion": "1"}).OK(t)
	d.Call(t, "PutFunctionConcurrency", Params{"FunctionName": "small", "ReservedConcurrentExecutions": 0}).OK(t)
	token := fmt.Sprintf("migrated-%x", time.Now().UnixNano())
	out, err := client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("small"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"token":"` + token + `"}`),
	})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event Invoke: %v", err)
	}
	requestID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	ran := "RAN:" + strings.ToUpper(token) + ":" + requestID
	c := NewBackends(t)
	// Not while the server runs: migrate takes serve's data-dir lock.
	busy := exec.CommandContext(ctx, binary, "migrate", "--from", srv.DataDir,
		"--to-database", c.DSN, "--to-blob-store", "s3://code/lambdahost",
		"--to-blob-s3-endpoint", c.S3.Endpoint, "--to-blob-s3-path-style", "--to-blob-s3-region", "us-east-1")
	busy.Env = append(envWithout(os.Environ(), "LAMBDAHOST_"), c.S3Env()...)
	if out, err := busy.CombinedOutput(); err == nil {
		t.Errorf("migrate beside a running server succeeded: %s", out)
	}
	if code, err := srv.Stop(); err != nil || code != 0 {
		t.Fatalf("stop: status %d, %v", code, err)
	}

	migrate := func() string {
		t.Helper()
		cmd := exec.CommandContext(ctx, binary, "migrate", "--from", srv.DataDir,
			"--to-database", c.DSN, "--to-blob-store", "s3://code/lambdahost",
			"--to-blob-s3-endpoint", c.S3.Endpoint, "--to-blob-s3-path-style", "--to-blob-s3-region", "us-east-1")
		cmd.Env = append(envWithout(os.Environ(), "LAMBDAHOST_"), c.S3Env()...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("migrate: %v\n%s%s", err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	for range 2 {
		got := migrate()
		t.Logf("migrate: %s", got)
		if !strings.Contains(got, "moved 2 functions, 3 versions, 1 aliases, 1 queued events") ||
			!strings.Contains(got, "verified the CodeSha256 of 3 versions") {
			t.Errorf("migrate printed %q", got)
		}
	}

	c.Start(tap, 2, filepath.Join(srv.DataDir, "master.key"), WithArgs("--log-level", "debug"))
	ds := c.nodeDrivers(t)
	for i, d := range ds {
		for name, zip := range map[string][]byte{"small": small, "big": big} {
			r := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
			wantCode(t, r, "Configuration.", zip)
			if got := download(t, r.Str("Code.Location")); !bytes.Equal(got, zip) {
				t.Errorf("node %d: %s: downloaded code differs from the code created", i, name)
			}
		}
		r := d.Call(t, "GetFunction", Params{"FunctionName": "small"}).OK(t)
		if r.Get("Tags.team") != "core" || r.Int("Concurrency.ReservedConcurrentExecutions") != 0 {
			t.Errorf("node %d: small: tags %v, concurrency %v", i, r.Get("Tags"), r.Get("Concurrency"))
		}
		res := invoke(t, d, "big", map[string]any{}, Params{"Qualifier": "live"}).OK(t)
		if string(res.Payload) != `"big"` {
			t.Errorf("node %d: big:live answered %s", i, res.Payload)
		}
	}
	tap.waitCount(t, ran, 0, 0, "before the throttle is lifted")
	ds[1].Call(t, "DeleteFunctionConcurrency", Params{"FunctionName": "small"}).OK(t)
	tap.waitCount(t, ran, 1, 2*time.Minute, "once the throttle is lifted on the cluster")
}

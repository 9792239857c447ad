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
// throttle, a layer whose version 1, a blob, only the function keeps, and
// whose version 2 is inline), stops it, moves it with lambdahost migrate
// to PostgreSQL and S3, and serves it from two nodes: they answer the same
// functions, layers and code, run them, and run the queued event once the
// throttle is lifted. migrate run again changes nothing and verifies
// again.
func TestMigrate(t *testing.T) {
	t.Parallel()
	tap := &logTap{TB: t}
	srv := Start(tap, WithArgs("--log-level", "debug", "--async-retry-delays", "1h"))
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	ctx := t.Context()

	small := makeZip(t, "index.py", heldHandler)
	p := createParams("small", small)
	p["Environment"] = Params{"Variables": Params{"HOLD": "1"}}
	d.Call(t, "CreateFunction", p).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "small"})
	d.Call(t, "TagResource", Params{"Resource": functionARN("us-east-1", "000000000000", "small"), "Tags": Params{"team": "core"}}).OK(t)
	// 300 kB of letters deflate to more than the 128 KiB kept inline.
	r := rand.New(rand.NewPCG(1, 2))
	pad := make([]byte, 300_000)
	for i := range pad {
		pad[i] = byte('a' + r.IntN(26))
	}
	// big answers what its layer's module holds.
	layer1 := makeZip(t, "python/migrated_word.py", "WORD = 'big'\n", "pad.txt", string(pad))
	layer2 := makeZip(t, "python/migrated_word.py", "WORD = 'v2'\n")
	l1 := publishLayer(t, d, "migrated", layer1, nil).Str("LayerVersionArn")
	big := makeZip(t, "index.py", "import migrated_word\ndef handler(event, context):\n    return migrated_word.WORD\n", "pad.txt", string(pad))
	d.Call(t, "CreateFunction", Params{"FunctionName": "big", "Runtime": "python3.12", "Role": testRole, "Handler": "index.handler",
		"Code": Params{"ZipFile": big}, "Layers": []string{l1}, "Timeout": 60}).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "big"})
	d.Call(t, "PublishVersion", Params{"FunctionName": "big"}).OK(t)
	publishLayer(t, d, "migrated", layer2, nil)
	d.Call(t, "DeleteLayerVersion", Params{"LayerName": "migrated", "VersionNumber": 1}).OK(t)
	d.Call(t, "CreateAlias", Params{"FunctionName": "big", "Name": "live", "FunctionVersion": "1"}).OK(t)
	d.Call(t, "PutFunctionConcurrency", Params{"FunctionName": "small", "ReservedConcurrentExecutions": 5}).OK(t)
	token := fmt.Sprintf("migrated-%x", time.Now().UnixNano())
	out, err := client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("small"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"token":"` + token + `"}`),
	})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event Invoke: %v", err)
	}
	requestID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	ran := "RAN:" + strings.ToUpper(token) + ":" + requestID
	// It fails once and waits an hour for its retry; from now on it would
	// succeed.
	tap.waitCount(t, ran, 1, 2*time.Minute, "the first run")
	d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": "small", "Environment": Params{"Variables": Params{}}}).OK(t)
	mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": "small"})
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
			!strings.Contains(got, "verified the CodeSha256 of 3 versions and 2 layer packages") {
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
		if r.Get("Tags.team") != "core" || r.Int("Concurrency.ReservedConcurrentExecutions") != 5 {
			t.Errorf("node %d: small: tags %v, concurrency %v", i, r.Get("Tags"), r.Get("Concurrency"))
		}
		res := invoke(t, d, "big", map[string]any{}, Params{"Qualifier": "live"}).OK(t)
		if string(res.Payload) != `"big"` {
			t.Errorf("node %d: big:live answered %s", i, res.Payload)
		}
		lv := d.Call(t, "GetLayerVersion", Params{"LayerName": "migrated", "VersionNumber": 2}).OK(t)
		if got := download(t, lv.Str("Content.Location")); !bytes.Equal(got, layer2) {
			t.Errorf("node %d: layer version 2 downloads as other bytes than published", i)
		}
		d.Call(t, "GetLayerVersion", Params{"LayerName": "migrated", "VersionNumber": 1}).WantError(t, 404, "ResourceNotFoundException", "")
	}
	tap.waitCount(t, ran, 2, 2*time.Minute, "on the cluster")
}

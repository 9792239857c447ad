//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// Cluster is several lambdahost nodes sharing one PostgreSQL database and
// one S3 bucket (versitygw), each with a data directory of its own, as
// nodes behind a load balancer run.
type Cluster struct {
	Nodes []*Server
	// DSN is the database; S3 serves bucket "code", where the nodes keep
	// their blobs under "lambdahost/".
	DSN string
	S3  *testserver.S3
	// MasterKeyFile is the key every node is given.
	MasterKeyFile string

	t    testing.TB
	opts []Option
}

// Timing of the cluster's nodes: short, so that tests of a node's death
// do not wait long, yet far above what a loaded machine needs to renew.
const (
	clusterNodeTTL       = "3s"
	clusterSweepInterval = "300ms"
)

// StartCluster starts n nodes, each with opts. A missing PostgreSQL or
// versitygw skips the test, or fails it in CI.
func StartCluster(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := NewBackends(t)
	key := make([]byte, 32)
	rand.Read(key)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return c.Start(t, n, keyFile, opts...)
}

// NewBackends starts what a cluster shares, a database and a bucket
// "code", without nodes.
func NewBackends(t testing.TB) *Cluster {
	t.Helper()
	pg := testserver.StartPostgres(t)
	c := &Cluster{DSN: pg.NewDatabase(t), S3: testserver.StartS3(t), t: t}
	s3c := awss3.New(awss3.Options{
		BaseEndpoint: aws.String(c.S3.Endpoint), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(c.S3.AccessKey, c.S3.SecretKey, ""),
	})
	if _, err := s3c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("code")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return c
}

// S3Env is the environment that gives the nodes, and migrate, the
// bucket's credentials.
func (c *Cluster) S3Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + c.S3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + c.S3.SecretKey}
}

// Start starts n nodes on c's backends with the master key in keyFile.
func (c *Cluster) Start(t testing.TB, n int, keyFile string, opts ...Option) *Cluster {
	t.Helper()
	c.MasterKeyFile = keyFile
	c.opts = append([]Option{
		WithArgs("--database", c.DSN,
			"--blob-store", "s3://code/lambdahost", "--blob-s3-endpoint", c.S3.Endpoint,
			"--blob-s3-path-style", "true", "--blob-s3-region", "us-east-1",
			"--master-key-file", c.MasterKeyFile,
			"--node-ttl", clusterNodeTTL, "--sweep-interval", clusterSweepInterval),
		WithEnv(c.S3Env()...),
	}, opts...)
	for range n {
		c.Add(t)
	}
	return c
}

// Add starts one more node, as an operator adds one to a running cluster.
func (c *Cluster) Add(t testing.TB) *Server {
	t.Helper()
	s := Start(t, c.opts...)
	c.Nodes = append(c.Nodes, s)
	return s
}

// eventually polls f every 50 ms until it reports true or bound passes,
// and reports whether it did.
func eventually(bound time.Duration, f func() bool) bool {
	deadline := time.Now().Add(bound)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nodeDrivers returns, for each node of c, the driver of kind
// allDrivers[i%3]: the aws CLI, boto3 and aws-sdk-go-v2 each talk to
// another node.
func (c *Cluster) nodeDrivers(t testing.TB) []Driver {
	t.Helper()
	ds := make([]Driver, len(c.Nodes))
	for i, n := range c.Nodes {
		ds[i] = NewDriver(t, allDrivers[i%len(allDrivers)], n, TestCredentials, "us-east-1")
	}
	return ds
}

// TestClusterOneTruth updates a function on one node, waits for the
// update on a second and invokes on a third, each through another client:
// the third runs the new code, although it had the old one warm. Every
// node answers the same configuration.
func TestClusterOneTruth(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	ds := c.nodeDrivers(t)
	name := "one-truth"
	createFunction(t, ds[0], name, python312Fn, 0, nil)
	for round := 1; round <= 3; round++ {
		updater, waiter, invoker := ds[round%3], ds[(round+1)%3], ds[(round+2)%3]
		// The invoker has the code of the previous round warm.
		wantVersion(t, invoke(t, invoker, name, map[string]any{}).OK(t), round-1)
		updater.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": python312Fn.zip(t, round)}).OK(t)
		mustWait(t, waiter, "FunctionUpdatedV2", Params{"FunctionName": name})
		wantVersion(t, invoke(t, invoker, name, map[string]any{}).OK(t), round)
		var sha, rev string
		for i, d := range ds {
			r := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t)
			if i == 0 {
				sha, rev = r.Str("CodeSha256"), r.Str("RevisionId")
				continue
			}
			if r.Str("CodeSha256") != sha || r.Str("RevisionId") != rev || r.Str("LastUpdateStatus") != "Successful" {
				t.Errorf("round %d: node %d answers %s %s %s, node 0 %s %s Successful", round, i,
					r.Str("CodeSha256"), r.Str("RevisionId"), r.Str("LastUpdateStatus"), sha, rev)
			}
		}
	}
}

// TestClusterConcurrentUpdates has the three clients, each on another
// node, and six more aws-sdk-go-v2 clients spread over the nodes update
// one function at once with the same RevisionId: exactly one wins, the
// others get PreconditionFailedException (or ResourceConflictException
// while the winner's update is in progress), and every node then answers
// the winner's code.
func TestClusterConcurrentUpdates(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	ds := c.nodeDrivers(t)
	for i := range 6 {
		ds = append(ds, &SDK{Client: NewSDKClient(c.Nodes[i%3].Endpoint, TestCredentials, "us-east-1")})
	}
	name := "race"
	mustCreate(t, ds[0], name, handlerZip(t, "v0"))
	for round := 1; round <= 3; round++ {
		rev := ds[0].Call(t, "GetFunction", Params{"FunctionName": name}).OK(t).Str("Configuration.RevisionId")
		results := make([]*Result, len(ds))
		zips := make([][]byte, len(ds))
		for i := range ds {
			zips[i] = handlerZip(t, fmt.Sprintf("round %d writer %d", round, i))
		}
		// All writers send at once: each goroutine waits for the others to
		// be ready. Call reports failures in its Result.
		var ready, done sync.WaitGroup
		ready.Add(len(ds))
		for i, d := range ds {
			done.Go(func() {
				ready.Done()
				ready.Wait()
				results[i] = d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": zips[i], "RevisionId": rev})
			})
		}
		done.Wait()
		winner := -1
		for i, r := range results {
			won := r.Err == nil && r.Code == ""
			switch {
			case won && winner >= 0:
				t.Errorf("round %d: %s and %s both won", round, ds[winner].Name(), ds[i].Name())
			case won:
				winner = i
			case r.Code == "PreconditionFailedException" && r.Status != 409,
				r.Code == "ResourceConflictException" && r.Status != 412:
				// The CLI shows no status (0).
			default:
				t.Errorf("round %d: %s: HTTP %d %s %v, want 412 or 409", round, ds[i].Name(), r.Status, r.Code, r.Err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer won", round)
		}
		for i, d := range ds {
			mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})
			r := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
			wantCode(t, r, "Configuration.", zips[winner])
			if got := download(t, r.Str("Code.Location")); !bytes.Equal(got, zips[winner]) {
				t.Errorf("round %d: node %d serves code other than the winner's", round, i)
			}
		}
	}
}

// TestClusterAsyncEventTakenOver stores an Event invocation on a node
// that fails it once and holds it for a retry an hour away (see
// heldHandler), lets the function succeed, and kills that node with
// SIGKILL: the acknowledged event runs again, once, on one of the nodes
// left, within the dead node's TTL and the sweep interval, and succeeds.
func TestClusterAsyncEventTakenOver(t *testing.T) {
	t.Parallel()
	tap := &logTap{TB: t}
	c := StartCluster(tap, 3, WithArgs("--log-level", "debug", "--async-retry-delays", "1h"))
	a := NewSDKClient(c.Nodes[0].Endpoint, TestCredentials, "us-east-1")
	b := NewDriver(t, Boto3Driver, c.Nodes[1], TestCredentials, "us-east-1")
	cli := NewDriver(t, CLIDriver, c.Nodes[2], TestCredentials, "us-east-1")
	ctx := t.Context()
	name := "taken-over"
	p := createParams(name, makeZip(t, "index.py", heldHandler))
	p["Environment"] = Params{"Variables": Params{"HOLD": "1"}}
	cli.Call(t, "CreateFunction", p).OK(t)
	mustWait(t, cli, "FunctionActiveV2", Params{"FunctionName": name})
	token := fmt.Sprintf("token-%x", time.Now().UnixNano())
	out, err := a.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"token":"` + token + `"}`),
	})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event Invoke: %v (status %d), want 202", err, out.StatusCode)
	}
	requestID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	ran := "RAN:" + strings.ToUpper(token) + ":" + requestID
	tap.waitCount(t, ran, 1, 2*time.Minute, "the first run, which fails")
	b.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": name, "Environment": Params{"Variables": Params{}}}).OK(t)
	mustWait(t, b, "FunctionUpdatedV2", Params{"FunctionName": name})

	c.Nodes[0].Kill()
	killed := time.Now()
	tap.waitCount(t, ran, 2, 2*time.Minute, "after its node was killed")
	t.Logf("the event ran %v after its node was killed", time.Since(killed).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	tap.waitCount(t, ran, 2, 0, "two seconds after it ran")
}

// TestClusterKilledMidUpload kills a node with SIGKILL while an
// UpdateFunctionCode is streaming into it: nothing is torn. The other
// nodes answer and run the code before the update, the update is not in
// progress, and they take the next update.
func TestClusterKilledMidUpload(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	ds := c.nodeDrivers(t)
	name := "mid-upload"
	createFunction(t, ds[1], name, python312Fn, "before", nil)
	before := python312Fn.zip(t, "before")

	// A 20 MB update, signed whole, of which half is sent before the kill.
	big := storedZip(t, 20<<20, 7)
	body := updateCodeBody(t, big)
	pr, pw := io.Pipe()
	req := rawRequest(t, "PUT", c.Nodes[0].Endpoint+"/2015-03-31/functions/"+name+"/code", &TestCredentials, "us-east-1", body, nil)
	req.Body, req.ContentLength = pr, int64(len(body))
	req.GetBody = nil
	sent := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("the update answered HTTP %d", resp.StatusCode)
		}
		sent <- err
	}()
	if _, err := pw.Write(body[:len(body)/2]); err != nil {
		t.Fatalf("send half the body: %v", err)
	}
	c.Nodes[0].Kill()
	pw.CloseWithError(errors.New("node killed"))
	if err := <-sent; err == nil {
		t.Fatal("the interrupted update answered")
	}

	for i, d := range ds[1:] {
		r := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
		wantCode(t, r, "Configuration.", before)
		wantStr(t, r, "Configuration.LastUpdateStatus", "Successful")
		if got := download(t, r.Str("Code.Location")); !bytes.Equal(got, before) {
			t.Errorf("node %d serves code other than the code before the update", i+1)
		}
		wantVersion(t, invoke(t, d, name, map[string]any{}).OK(t), "before")
	}
	after := python312Fn.zip(t, "after")
	ds[1].Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": after}).OK(t)
	mustWait(t, ds[2], "FunctionUpdatedV2", Params{"FunctionName": name})
	wantVersion(t, invoke(t, ds[2], name, map[string]any{}).OK(t), "after")
}

// TestClusterLateNode starts a node after functions, versions, aliases and
// tags exist: it answers all of them, runs them, and what it changes the
// first nodes see.
func TestClusterLateNode(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 2)
	ds := c.nodeDrivers(t)
	name := "late"
	createFunction(t, ds[0], name, python312Fn, 1, Params{"Tags": Params{"team": "a"}})
	ds[1].Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t)
	ds[0].Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "1"}).OK(t)

	late := c.Add(t)
	d := NewDriver(t, SDKDriver, late, TestCredentials, "us-east-1")
	r := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
	wantCode(t, r, "Configuration.", python312Fn.zip(t, 1))
	if got := r.Get("Tags.team"); got != "a" {
		t.Errorf("late node: Tags.team = %v, want a", got)
	}
	wantStr(t, d.Call(t, "GetAlias", Params{"FunctionName": name, "Name": "live"}).OK(t), "FunctionVersion", "1")
	wantVersion(t, invoke(t, d, name, map[string]any{}, Params{"Qualifier": "live"}).OK(t), 1)

	d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": python312Fn.zip(t, 2)}).OK(t)
	mustWait(t, ds[0], "FunctionUpdatedV2", Params{"FunctionName": name})
	wantVersion(t, invoke(t, ds[1], name, map[string]any{}).OK(t), 2)
	wantVersion(t, invoke(t, ds[0], name, map[string]any{}, Params{"Qualifier": "live"}).OK(t), 1)
}

// TestClusterReservedConcurrency gives a function a reserved concurrency
// of 1: while an invocation runs on one node, another node throttles.
func TestClusterReservedConcurrency(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 2)
	a := NewDriver(t, SDKDriver, c.Nodes[0], TestCredentials, "us-east-1")
	b := NewDriver(t, Boto3Driver, c.Nodes[1], TestCredentials, "us-east-1")
	name := "reserved"
	createFunction(t, a, name, python312Fn, 1, Params{"Timeout": 120})
	b.Call(t, "PutFunctionConcurrency", Params{"FunctionName": name, "ReservedConcurrentExecutions": 1}).OK(t)
	// a's long invocation may be throttled by one of b's short ones: it
	// tries again until it runs. While it runs, b must be throttled.
	long := make(chan *Result, 1)
	go func() {
		for {
			r := invoke(t, a, name, map[string]any{"sleep_ms": 15000})
			if r.Code != "TooManyRequestsException" {
				long <- r
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	throttled := eventually(time.Minute, func() bool {
		r := invoke(t, b, name, map[string]any{})
		if r.Code == "TooManyRequestsException" {
			if r.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
				t.Errorf("throttled with reason %q", r.Reason)
			}
			return true
		}
		return false
	})
	if !throttled {
		t.Error("node b never throttled while node a ran the function's one allowed invocation")
	}
	wantVersion(t, (<-long).OK(t), 1)
	// Once it is over, the other node may run it.
	wantVersion(t, invoke(t, b, name, map[string]any{}).OK(t), 1)
}

// TestClusterWrongMasterKey starts a node with a master key other than
// the one the cluster's secrets are sealed with: it refuses to serve.
func TestClusterWrongMasterKey(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 1)
	other := filepath.Join(t.TempDir(), "other.key")
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(other, key, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), binary, "serve", "--listen", "127.0.0.1:0",
		"--data-dir", filepath.Join(t.TempDir(), "data"), "--database", c.DSN,
		"--blob-store", "s3://code/lambdahost", "--blob-s3-endpoint", c.S3.Endpoint,
		"--blob-s3-path-style", "true", "--blob-s3-region", "us-east-1", "--master-key-file", other)
	cmd.Env = append(envWithout(os.Environ(), "LAMBDAHOST_"), c.S3Env()...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("serve with another master key: %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "master key does not match") {
		t.Errorf("serve with another master key said %q", out)
	}
	// The cluster's node still serves.
	d := NewDriver(t, SDKDriver, c.Nodes[0], TestCredentials, "us-east-1")
	d.Call(t, "ListFunctions", Params{}).OK(t)
}

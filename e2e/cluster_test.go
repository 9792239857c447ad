//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
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
	pg := testserver.StartPostgres(t)
	c := &Cluster{DSN: pg.NewDatabase(t), S3: testserver.StartS3(t), t: t}
	s3c := awss3.New(awss3.Options{
		BaseEndpoint: aws.String(c.S3.Endpoint), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(c.S3.AccessKey, c.S3.SecretKey, ""),
	})
	if _, err := s3c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("code")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	c.MasterKeyFile = filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(c.MasterKeyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	c.opts = append([]Option{
		WithArgs("--database", c.DSN,
			"--blob-store", "s3://code/lambdahost", "--blob-s3-endpoint", c.S3.Endpoint,
			"--blob-s3-path-style", "true", "--blob-s3-region", "us-east-1",
			"--master-key-file", c.MasterKeyFile,
			"--node-ttl", clusterNodeTTL, "--sweep-interval", clusterSweepInterval),
		WithEnv("AWS_ACCESS_KEY_ID="+c.S3.AccessKey, "AWS_SECRET_ACCESS_KEY="+c.S3.SecretKey),
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

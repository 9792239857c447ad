package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// The cluster benchmark runs 1, 2 and 3 nodes on one PostgreSQL (durable,
// PostgreSQL's defaults) and one versitygw bucket, all on this machine,
// and measures what the issue of several nodes asks: UpdateFunctionCode
// throughput (8 clients, 1 MiB each), Invoke throughput, how long a
// change takes to be visible on every node, and how long the work of a
// node killed with SIGKILL takes to be taken over.

// clusterResult is what one cluster size measured.
type clusterResult struct {
	nodes int
	// updates per second, and their latency.
	updateRate   float64
	updateP50    time.Duration
	updateErrors int
	// invocations per second.
	invokeRate   float64
	invokeErrors int
	// visibility: from an update's answer until every node answers it
	// (GetFunctionConfiguration), and until every node runs the new code.
	visibleConfig []time.Duration
	visibleCode   []time.Duration
	// recovery: from SIGKILL of the node holding an event to its run on
	// another; 0 for one node.
	recovery time.Duration
}

// clusterBench is the shared backends of the benchmark.
type clusterBench struct {
	bin, tmp  string
	cfg       *config
	pg        *testserver.Postgres
	gw        *process
	keyFile   string
	goZip     []byte
	dbCounter int
}

func clusterTest(tmp, moduleDir, bin string, cfg *config) ([]clusterResult, error) {
	cb := &clusterBench{bin: bin, tmp: filepath.Join(tmp, "cluster"), cfg: cfg}
	if err := os.MkdirAll(cb.tmp, 0o755); err != nil {
		return nil, err
	}
	gwBin, err := findBinary("versitygw")
	if err != nil {
		return nil, fmt.Errorf("cluster bench needs versitygw (%s): %w", versityGWInstall, err)
	}
	logf("starting PostgreSQL")
	if cb.pg, err = testserver.NewPostgres(); err != nil {
		return nil, err
	}
	defer cb.pg.Stop()
	if cb.gw, err = startVersityGW(gwBin, cb.tmp); err != nil {
		return nil, err
	}
	defer stopLogged(cb.gw)
	key := make([]byte, 32)
	rand.Read(key)
	cb.keyFile = filepath.Join(cb.tmp, "master.key")
	if err := os.WriteFile(cb.keyFile, key, 0o600); err != nil {
		return nil, err
	}
	gobin, err := buildGoFunction(moduleDir, cb.tmp)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(gobin)
	if err != nil {
		return nil, err
	}
	if cb.goZip, err = zipOf(map[string][]byte{"bootstrap": b}, 0o755); err != nil {
		return nil, err
	}
	var out []clusterResult
	for _, n := range cfg.clusterNodes {
		r, err := cb.run(n)
		if err != nil {
			return out, fmt.Errorf("%d nodes: %w", n, err)
		}
		out = append(out, *r)
	}
	return out, nil
}

// node is one lambdahost of a cluster under test.
type node struct {
	p  *process
	lc *lambda.Client
}

// start starts n nodes on a new database and bucket prefix.
func (cb *clusterBench) start(name string, n int, extra ...string) ([]*node, error) {
	cb.dbCounter++
	db := fmt.Sprintf("bench%d", cb.dbCounter)
	dsn, err := cb.pg.CreateDatabase(context.Background(), db)
	if err != nil {
		return nil, err
	}
	s3c := awss3.New(awss3.Options{
		BaseEndpoint: aws.String("http://" + cb.gw.addr), UsePathStyle: true, Region: region,
		Credentials: credentials.NewStaticCredentialsProvider(gwAccessKey, gwSecretKey, ""),
	})
	_, _ = s3c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("code")})
	var nodes []*node
	for i := range n {
		dir := filepath.Join(cb.tmp, fmt.Sprintf("%s-%d-node%d", name, n, i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		args := append([]string{"--database", dsn, "--blob-store", "s3://code/" + db,
			"--blob-s3-endpoint", "http://" + cb.gw.addr, "--blob-s3-path-style", "true", "--blob-s3-region", region,
			"--master-key-file", cb.keyFile}, extra...)
		p, err := startLambdahost(cb.bin, dir, nil, args, []string{"AWS_ACCESS_KEY_ID=" + gwAccessKey, "AWS_SECRET_ACCESS_KEY=" + gwSecretKey})
		if err != nil {
			stopNodes(nodes)
			return nil, err
		}
		lc, _ := newLambdaClient(p.addr, 16)
		nodes = append(nodes, &node{p: p, lc: lc})
	}
	return nodes, nil
}

func stopNodes(nodes []*node) {
	for _, n := range nodes {
		if n.p.exited() == nil {
			stopLogged(n.p)
		}
	}
}

func (cb *clusterBench) run(n int) (*clusterResult, error) {
	ctx := context.Background()
	res := &clusterResult{nodes: n}
	nodes, err := cb.start("main", n)
	if err != nil {
		return nil, err
	}
	defer stopNodes(nodes)
	logf("cluster of %d: UpdateFunctionCode throughput", n)
	if err := cb.updates(ctx, nodes, res); err != nil {
		return nil, err
	}
	logf("cluster of %d: Invoke throughput", n)
	if err := cb.invokes(ctx, nodes, res); err != nil {
		return nil, err
	}
	logf("cluster of %d: visibility of changes", n)
	if err := cb.visibility(ctx, nodes, res); err != nil {
		return nil, err
	}
	if n > 1 {
		logf("cluster of %d: recovery after SIGKILL", n)
		if res.recovery, err = cb.recovery(ctx, n); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// createFn creates a function through nd and waits until it is Active.
func createFn(ctx context.Context, nd *node, name string, rt types.Runtime, handler string, zip []byte) error {
	_, err := nd.lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: rt, Handler: aws.String(handler),
		Role: aws.String(role), Code: &types.FunctionCode{ZipFile: zip}, Timeout: aws.Int32(60),
	})
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return lambda.NewFunctionActiveV2Waiter(nd.lc).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute)
}

// updates has cb.cfg.clusterClients clients, client i on node i mod n,
// each update a function of its own with distinct 1 MiB zips for the
// benchmark's duration.
func (cb *clusterBench) updates(ctx context.Context, nodes []*node, res *clusterResult) error {
	clients := cb.cfg.clusterClients
	for i := range clients {
		if err := createFn(ctx, nodes[i%len(nodes)], fmt.Sprintf("upd-%d", i), types.RuntimeProvidedal2023, "bootstrap", cb.goZip); err != nil {
			return err
		}
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(cb.cfg.clusterDur)
	for i := range clients {
		lc := nodes[i%len(nodes)].lc
		wg.Go(func() {
			seed := uint64(i) << 32
			for time.Now().Before(deadline) {
				seed++
				zip, err := randomZip(1<<20, seed)
				if err != nil {
					errs.Add(1)
					return
				}
				t0 := time.Now()
				_, err = lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fmt.Sprintf("upd-%d", i)), ZipFile: zip})
				d := time.Since(t0)
				if err != nil {
					errs.Add(1)
					// An update still in progress (409) waits a moment.
					time.Sleep(5 * time.Millisecond)
					continue
				}
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.updateRate = float64(len(latencies)) / elapsed.Seconds()
	res.updateP50 = percentile(latencies, 0.5)
	res.updateErrors = int(errs.Load())
	return nil
}

// randomZip is a zip of one stored entry of n pseudo-random bytes.
func randomZip(n int, seed uint64) ([]byte, error) {
	data := make([]byte, n)
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	mrand.NewChaCha8(key).Read(data)
	return zipOf(map[string][]byte{"bootstrap": data}, 0o755)
}

// invokes warms every node, then has 8 clients per node invoke one Go
// function for the benchmark's duration.
func (cb *clusterBench) invokes(ctx context.Context, nodes []*node, res *clusterResult) error {
	if err := createFn(ctx, nodes[0], "inv", types.RuntimeProvidedal2023, "bootstrap", cb.goZip); err != nil {
		return err
	}
	for _, nd := range nodes {
		for range 20 {
			if _, err := nd.lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("inv"), Payload: []byte(`{}`)}); err != nil {
				return fmt.Errorf("warm up: %w", err)
			}
		}
	}
	var (
		ok, errs atomic.Int64
		wg       sync.WaitGroup
	)
	clients := cb.cfg.clusterClients
	start := time.Now()
	deadline := start.Add(cb.cfg.clusterDur)
	for i := range clients {
		lc := nodes[i%len(nodes)].lc
		wg.Go(func() {
			for time.Now().Before(deadline) {
				out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("inv"), Payload: []byte(`{}`)})
				if err != nil || out.FunctionError != nil {
					errs.Add(1)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	res.invokeRate = float64(ok.Load()) / time.Since(start).Seconds()
	res.invokeErrors = int(errs.Load())
	return nil
}

// visibility changes a function's configuration, and then its code,
// through one node after another, and times until every node answers the
// new RevisionId, and runs the new code.
func (cb *clusterBench) visibility(ctx context.Context, nodes []*node, res *clusterResult) error {
	py := pythonZip("v0")
	if err := createFn(ctx, nodes[0], "vis", types.RuntimePython312, "index.handler", py); err != nil {
		return err
	}
	for i := range cb.cfg.clusterVisN {
		writer := nodes[i%len(nodes)]
		_, err := writer.lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("vis"), Description: aws.String(fmt.Sprint("change ", i)),
		})
		if err != nil {
			return err
		}
		t0 := time.Now()
		if d, err := everyNode(ctx, nodes, t0, func(nd *node) (bool, error) {
			c, err := nd.lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("vis")})
			if err != nil {
				return false, err
			}
			return aws.ToString(c.Description) == fmt.Sprint("change ", i), nil
		}); err != nil {
			return err
		} else {
			res.visibleConfig = append(res.visibleConfig, d)
		}
		if err := lambda.NewFunctionUpdatedV2Waiter(writer.lc).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("vis")}, time.Minute); err != nil {
			return err
		}
		label := fmt.Sprint("v", i+1)
		if _, err := writer.lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("vis"), ZipFile: pythonZip(label)}); err != nil {
			return err
		}
		t0 = time.Now()
		if d, err := everyNode(ctx, nodes, t0, func(nd *node) (bool, error) {
			out, err := nd.lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("vis"), Payload: []byte(`{}`)})
			if err != nil {
				return false, err
			}
			return string(out.Payload) == `"`+label+`"`, nil
		}); err != nil {
			return err
		} else {
			res.visibleCode = append(res.visibleCode, d)
		}
		if err := lambda.NewFunctionUpdatedV2Waiter(writer.lc).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("vis")}, time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// everyNode polls seen on every node at once until all report true, and
// returns how long after t0 the last did.
func everyNode(ctx context.Context, nodes []*node, t0 time.Time, seen func(*node) (bool, error)) (time.Duration, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		last  time.Duration
		first error
	)
	for _, nd := range nodes {
		wg.Go(func() {
			deadline := t0.Add(time.Minute)
			for {
				ok, err := seen(nd)
				if err == nil && ok {
					d := time.Since(t0)
					mu.Lock()
					last = max(last, d)
					mu.Unlock()
					return
				}
				if time.Now().After(deadline) {
					mu.Lock()
					first = errors.Join(first, fmt.Errorf("a node did not see the change within a minute (%v)", err))
					mu.Unlock()
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	return last, first
}

// pythonZip is a Python function answering label.
func pythonZip(label string) []byte {
	z, _ := zipOf(map[string][]byte{"index.py": []byte(fmt.Sprintf("import sys\n\ndef handler(event, context):\n    if event.get('token'):\n        print('RAN:' + event['token'], flush=True)\n    return %q\n", label))}, 0o644)
	return z
}

// recovery measures how long after a node is killed with SIGKILL another
// node runs the asynchronous event the dead one held: the event is
// queued on node 0 behind a reserved concurrency of 0, node 0 is killed,
// and the throttle is lifted through node 1. Nodes run with their default
// --node-ttl and --sweep-interval and log at debug level, so that the
// function's output shows which node ran it and when.
func (cb *clusterBench) recovery(ctx context.Context, n int) (time.Duration, error) {
	nodes, err := cb.start("recovery", n, "--log-level", "debug")
	if err != nil {
		return 0, err
	}
	defer stopNodes(nodes)
	if err := createFn(ctx, nodes[0], "rec", types.RuntimePython312, "index.handler", pythonZip("r")); err != nil {
		return 0, err
	}
	if _, err := nodes[0].lc.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("rec"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		return 0, err
	}
	token := fmt.Sprintf("TOKEN%d", time.Now().UnixNano())
	if _, err := nodes[0].lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("rec"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"token":"` + token + `"}`)}); err != nil {
		return 0, err
	}
	nodes[0].p.cmd.Process.Kill()
	killed := time.Now()
	if _, err := nodes[1].lc.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("rec")}); err != nil {
		return 0, err
	}
	for time.Since(killed) < 2*time.Minute {
		for _, nd := range nodes[1:] {
			if logHas(nd.p.log.Name(), "RAN:"+token) {
				return time.Since(killed), nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, errors.New("the event of the killed node did not run within 2 minutes")
}

// logHas reports whether the log file at path holds s.
func logHas(path, s string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			return true
		}
	}
	return false
}

// writeClusterTable writes the results.
func writeClusterTable(w io.Writer, rs []clusterResult) {
	fmt.Fprintln(w, "\nSeveral nodes on one PostgreSQL and one versitygw bucket, on this machine:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| nodes | UpdateFunctionCode, 8 clients, 1 MiB | Invoke, 8 clients | change visible on every node p50 / p99: config, new code runs | recovery after SIGKILL |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rs {
		rec := "-"
		if r.recovery > 0 {
			rec = fmtDur(r.recovery)
		}
		fmt.Fprintf(w, "| %d | %.1f/s (p50 %s, %d refused) | %.0f/s (%d errors) | %s / %s; %s / %s | %s |\n",
			r.nodes, r.updateRate, fmtDur(r.updateP50), r.updateErrors, r.invokeRate, r.invokeErrors,
			fmtDur(percentile(r.visibleConfig, 0.5)), fmtDur(percentile(r.visibleConfig, 0.99)),
			fmtDur(percentile(r.visibleCode, 0.5)), fmtDur(percentile(r.visibleCode, 0.99)), rec)
	}
}

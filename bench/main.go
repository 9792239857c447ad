// Command bench measures the lambdahost server: UpdateFunctionCode latency
// and time to LastUpdateStatus Successful at several code sizes, ListFunctions
// over 1,000 functions, and memory, against an in-process floor and moto;
// deploys from S3 (versitygw) and from container images (the distribution
// registry); Invoke (warm overhead, cold starts, throughput, memory per
// environment) against the AWS Lambda Runtime Interface Emulator; and
// layers (PublishLayerVersion latency, cold starts with 0 and 5 layers);
// function URLs against direct Invoke; and SQS event source mappings and
// asynchronous destinations (-async-only).
//
// Usage:
//
//	go run ./bench [-sizes 50KiB,1MiB,10MiB] [-n 200] [-moto auto|off] [-deploy=true|false] [-deploy-only] [-invoke=true|false] [-invoke-only] [-layers=true|false] [-layers-only] [-network-only] [-rie auto|off] [-url=true|false] [-url-only] [-operator-only] [-async-only] [-out FILE]
//
// See bench/README.md for what is measured and how.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// role is the execution role of every bench function. moto requires it to
// exist in its IAM and to be in its account, 123456789012.
const role = "arn:aws:iam::123456789012:role/r"

// sizeSpec is one code size under test.
type sizeSpec struct {
	label string
	bytes int
	n     int // timed updates
}

// fnName returns the name of the function updated at this size.
func (s sizeSpec) fnName() string { return "bench-" + s.label }

type config struct {
	sizes      []sizeSpec
	warmup     int
	moto       string
	motoN      int
	out        string
	keep       bool
	listFns    int
	listWalks  int
	createConc int
	memSize    int
	memConc    int
	memRounds  int
	wrap       []string
	dir        string

	deploy       bool // also run the deploy test
	deployOnly   bool // run only the deploy test
	deployImageN int  // timed cold and warm image updates

	invoke       bool          // also run the invoke test
	invokeOnly   bool          // run only the invoke test
	networkOnly  bool          // run only the network test
	invokeN      int           // timed warm invocation pairs per runtime
	invokeWarmup int           // untimed warm invocations per runtime
	invokeColdN  int           // timed cold starts per runtime
	invokeConc   []int         // client counts of the throughput test
	invokeDur    time.Duration // length of each throughput run
	invokeMemK   int           // environments of the memory test
	invokeTmpN   int           // timed /tmp writes
	invokeTmpMB  int           // MiB each /tmp write writes
	rie          string        // auto or off
	rieBin       string        // an installed aws-lambda-rie, instead of go install
	rieVersion   string        // the RIE module version to go install

	layers        bool       // also run the layer test
	layersOnly    bool       // run only the layer test
	layerSizes    []sizeSpec // PublishLayerVersion zip sizes
	layerPublishN int        // timed publishes per size up to 4 MiB; half above

	url        bool // also run the function URL test
	urlOnly    bool // run only the function URL test
	urlN       int  // timed URL/Invoke pairs
	urlClients int  // clients of the URL throughput test

	operatorOnly    bool // run only the operator test
	operatorSaves   int  // saves per runtime under deploy --watch
	operatorUpdates int  // UpdateFunctionCode calls per server in the metrics overhead test

	clusterOnly    bool          // run only the cluster test
	clusterNodes   []int         // cluster sizes
	clusterClients int           // clients of the throughput tests
	clusterDur     time.Duration // length of each throughput run
	clusterVisN    int           // changes whose visibility is timed

	asyncOnly     bool          // run only the async test
	asyncMessages int           // messages per throughput run
	asyncN        int           // timed messages of the delay test, and timed Event invocations
	asyncGap      time.Duration // between the delay test's messages
}

func main() {
	var (
		cfg   config
		sizes = flag.String("sizes", "50KiB,1MiB,10MiB", "comma-separated zip sizes (KiB, MiB, KB, MB or bytes)")
		n     = flag.Int("n", 200, "timed updates at sizes up to 256 KiB; n/2 up to 4 MiB, max(n·3/20, 10) above")
	)
	flag.StringVar(&cfg.moto, "moto", "auto", "compare with moto_server: auto (if on PATH) or off")
	flag.IntVar(&cfg.motoN, "moto-n", 0, "timed updates per size against moto; 0 means the same as ours")
	flag.StringVar(&cfg.out, "out", "", "also write the table to this file")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (binary, data dir, server logs)")
	flag.IntVar(&cfg.warmup, "warmup", 2, "untimed updates per size before the timed ones")
	flag.IntVar(&cfg.listFns, "list-functions", 1000, "functions to create for the ListFunctions walk")
	flag.IntVar(&cfg.listWalks, "list-walks", 10, "full ListFunctions walks to time")
	flag.IntVar(&cfg.createConc, "create-concurrency", 8, "connections creating the ListFunctions functions")
	flag.IntVar(&cfg.memConc, "mem-concurrency", 4, "concurrent 10 MiB updates in the memory test")
	flag.IntVar(&cfg.memRounds, "mem-rounds", 3, "rounds of concurrent updates in the memory test")
	flag.DurationVar(&pollInterval, "poll", pollInterval, "period of the GetFunction polls that wait for LastUpdateStatus Successful")
	flag.StringVar(&cfg.dir, "dir", "", "parent of the temporary directory holding the data dir and the floor's files (default: $TMPDIR or /tmp); its file system is what is measured")
	flag.BoolVar(&cfg.deploy, "deploy", true, "also measure deploys from S3 (versitygw) and from container images (docker-registry); -deploy=false skips them")
	flag.BoolVar(&cfg.deployOnly, "deploy-only", false, "measure only the deploys")
	flag.IntVar(&cfg.deployImageN, "deploy-image-n", 8, "timed cold and timed warm image updates in the deploy test")
	flag.BoolVar(&cfg.invoke, "invoke", true, "also measure Invoke (warm overhead, cold starts, throughput, memory) against the AWS Lambda Runtime Interface Emulator; -invoke=false skips it")
	flag.BoolVar(&cfg.invokeOnly, "invoke-only", false, "measure only Invoke")
	flag.BoolVar(&cfg.networkOnly, "network-only", false, "measure only what a function network costs: cold starts and warm invocations with --function-network none and host (needs pasta)")
	flag.IntVar(&cfg.invokeN, "invoke-n", 1000, "timed warm invocation pairs per runtime (one plain, one with LogType Tail)")
	flag.IntVar(&cfg.invokeWarmup, "invoke-warmup", 100, "untimed warm invocations per runtime before the timed ones")
	flag.IntVar(&cfg.invokeColdN, "invoke-cold-n", 20, "timed cold starts per runtime")
	conc := flag.String("invoke-concurrency", "1,2,8,32", "comma-separated client counts of the Invoke throughput test")
	flag.DurationVar(&cfg.invokeDur, "invoke-duration", 2*time.Second, "length of each Invoke throughput run")
	flag.IntVar(&cfg.invokeMemK, "invoke-mem-envs", 8, "warm environments started at once in the Invoke memory test")
	flag.IntVar(&cfg.invokeTmpN, "invoke-tmp-n", 5, "timed sequential writes to /tmp by the Python function")
	flag.IntVar(&cfg.invokeTmpMB, "invoke-tmp-mb", 400, "MiB each /tmp write writes (MemorySize 256, EphemeralStorage 512)")
	flag.StringVar(&cfg.rie, "rie", "auto", "compare Invoke with the AWS Lambda Runtime Interface Emulator: auto (go install it into a temporary GOBIN) or off")
	flag.StringVar(&cfg.rieBin, "rie-bin", "", "an aws-lambda-rie binary to use instead of installing one")
	flag.StringVar(&cfg.rieVersion, "rie-version", "latest", "the version of "+rieModule+" to go install")
	flag.BoolVar(&cfg.layers, "layers", true, "also measure layers (PublishLayerVersion latency, Python cold starts with 0 and 5 layers); -layers=false skips them")
	flag.BoolVar(&cfg.layersOnly, "layers-only", false, "measure only layers")
	layerSizes := flag.String("layer-sizes", "1MiB,10MiB", "comma-separated PublishLayerVersion zip sizes")
	flag.IntVar(&cfg.layerPublishN, "layer-publish-n", 40, "timed PublishLayerVersion calls per size up to 4 MiB, half that above")
	flag.BoolVar(&cfg.url, "url", true, "also measure function URLs against direct Invoke (round trip, throughput); -url=false skips it")
	flag.BoolVar(&cfg.urlOnly, "url-only", false, "measure only function URLs")
	flag.IntVar(&cfg.urlN, "url-n", 1000, "timed pairs of a function URL call and an Invoke")
	flag.IntVar(&cfg.urlClients, "url-clients", 8, "clients of the function URL throughput test")
	flag.BoolVar(&cfg.operatorOnly, "operator-only", false, "measure only the operator's view: console page times with -list-functions functions, save → running under deploy --watch (Python and Go), and the cost of metrics on warm Invoke (-invoke-n) and UpdateFunctionCode")
	flag.IntVar(&cfg.operatorSaves, "operator-saves", 20, "saves per runtime in the deploy --watch test")
	flag.IntVar(&cfg.operatorUpdates, "operator-updates", 100, "UpdateFunctionCode calls per server in the metrics overhead test")
	flag.BoolVar(&cfg.clusterOnly, "cluster-only", false, "measure only several nodes on PostgreSQL and versitygw: UpdateFunctionCode and Invoke throughput, visibility of changes, recovery after SIGKILL")
	clusterNodes := flag.String("cluster-nodes", "1,2,3", "comma-separated node counts of the cluster test")
	flag.IntVar(&cfg.clusterClients, "cluster-clients", 8, "clients of the cluster throughput tests, spread over the nodes")
	flag.DurationVar(&cfg.clusterDur, "cluster-duration", 10*time.Second, "length of each cluster throughput run")
	flag.IntVar(&cfg.clusterVisN, "cluster-changes", 30, "changes whose visibility on every node is timed, per cluster size")
	flag.BoolVar(&cfg.asyncOnly, "async-only", false, "measure only SQS event source mappings and asynchronous destinations, against a moto_server: messages per second with BatchSize 1 and 10, SendMessage → handler start, Event Invoke → OnSuccess record in SQS")
	flag.IntVar(&cfg.asyncMessages, "async-messages", 500, "messages per BatchSize in the async throughput runs")
	flag.IntVar(&cfg.asyncN, "async-n", 200, "timed messages of the SendMessage → handler start test, and timed Event invocations of the destination test")
	flag.DurationVar(&cfg.asyncGap, "async-gap", 50*time.Millisecond, "time between the messages of the SendMessage → handler start test")
	wrap := flag.String("wrap", "", "command prefix to run lambdahost under, such as 'strace -f -T -o trace.txt' or 'perf record -g -o perf.data --' (RSS is then the wrapper's); with -deploy-only or -invoke-only it wraps that test's server, otherwise only the first server")
	flag.Parse()
	cfg.wrap = strings.Fields(*wrap)
	if flag.NArg() > 0 {
		fatalf("unexpected arguments: %v", flag.Args())
	}
	if cfg.deployImageN < 1 {
		fatalf("-deploy-image-n: want at least 1, got %d", cfg.deployImageN)
	}
	if cfg.moto != "auto" && cfg.moto != "off" {
		fatalf("-moto: want auto or off, got %q", cfg.moto)
	}
	if cfg.rie != "auto" && cfg.rie != "off" {
		fatalf("-rie: want auto or off, got %q", cfg.rie)
	}
	for _, s := range strings.Split(*clusterNodes, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			fatalf("-cluster-nodes: want positive node counts, got %q", s)
		}
		cfg.clusterNodes = append(cfg.clusterNodes, c)
	}
	for _, s := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			fatalf("-invoke-concurrency: want positive client counts, got %q", s)
		}
		cfg.invokeConc = append(cfg.invokeConc, c)
	}
	if cfg.asyncMessages < 1 || cfg.asyncN < 1 || cfg.asyncGap < 0 {
		fatalf("-async-messages and -async-n must be positive, -async-gap not negative")
	}
	if cfg.urlN < 1 || cfg.urlClients < 1 {
		fatalf("-url-n and -url-clients must be positive")
	}
	if cfg.invokeN < 1 || cfg.invokeColdN < 1 || cfg.invokeMemK < 1 || cfg.invokeWarmup < 0 || cfg.invokeDur <= 0 || cfg.invokeTmpN < 1 || cfg.invokeTmpMB < 1 || cfg.invokeTmpMB > 500 {
		fatalf("-invoke-n, -invoke-cold-n, -invoke-mem-envs, -invoke-tmp-n and -invoke-duration must be positive, -invoke-warmup not negative, -invoke-tmp-mb between 1 and 500")
	}
	for _, s := range strings.Split(*sizes, ",") {
		s = strings.TrimSpace(s)
		b, err := parseSize(s)
		if err != nil {
			fatalf("-sizes: %v", err)
		}
		cfg.sizes = append(cfg.sizes, sizeSpec{label: s, bytes: b, n: updatesFor(b, *n)})
	}
	for _, s := range strings.Split(*layerSizes, ",") {
		s = strings.TrimSpace(s)
		b, err := parseSize(s)
		if err != nil {
			fatalf("-layer-sizes: %v", err)
		}
		cfg.layerSizes = append(cfg.layerSizes, sizeSpec{label: s, bytes: b})
	}
	if cfg.layerPublishN < 1 {
		fatalf("-layer-publish-n: want at least 1, got %d", cfg.layerPublishN)
	}
	cfg.memSize = 10 << 20
	if err := run(&cfg); err != nil {
		fatalf("%v", err)
	}
}

// updatesFor scales the number of timed updates down for large sizes so a
// default run stays within about three minutes.
func updatesFor(size, n int) int {
	switch {
	case size <= 256<<10:
		return n
	case size <= 4<<20:
		return max(n/2, 1)
	default:
		return max(n*3/20, min(n, 10))
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// sizeData is the prepared traffic for one size.
type sizeData struct {
	spec    sizeSpec
	bodies  []*body      // UpdateFunctionCode bodies, warmup first, all distinct
	ours    []rawRequest // bodies signed for lambdahost
	getOurs rawRequest   // GetFunction, signed for lambdahost

	our, moto updateResult
	floor     []time.Duration
}

// updateResult is the outcome of replaying the updates of one size.
type updateResult struct {
	latency []time.Duration // request write → response read
	settled []time.Duration // request write → first GetFunction showing Successful
	errors  int             // non-200 answers to the timed updates
	status  map[int]int     // every status the timed updates got
	redials int
	elapsed time.Duration
}

func run(cfg *config) error {
	start := time.Now()
	moduleDir, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(cfg.dir, "lambdahost-bench-*")
	if err != nil {
		return err
	}
	if cfg.keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		logf("interrupted: stopping servers")
		stopAll()
		if !cfg.keep {
			os.RemoveAll(tmp)
		}
		os.Exit(130)
	}()

	if cfg.networkOnly {
		bin, err := buildLambdahost(moduleDir, tmp)
		if err != nil {
			return err
		}
		res, err := networkTest(tmp, moduleDir, bin, cfg)
		if err != nil {
			return fmt.Errorf("network: %w", err)
		}
		return report(cfg, start, []tableSpec{{networkHeader, networkRows(res)}}, func(w io.Writer) {
			fmt.Fprintln(w, "Notes:")
			networkNotes(w, res)
		})
	}
	if cfg.asyncOnly {
		bin, err := buildLambdahost(moduleDir, tmp)
		if err != nil {
			return err
		}
		res, err := asyncTest(tmp, moduleDir, bin, cfg)
		if err != nil {
			return fmt.Errorf("async: %w", err)
		}
		return report(cfg, start, []tableSpec{{asyncHeader, asyncRows(res)}}, func(w io.Writer) {
			fmt.Fprintln(w, "Notes:")
			asyncNotes(w, cfg, res)
		})
	}
	if cfg.clusterOnly {
		bin, err := buildLambdahost(moduleDir, tmp)
		if err != nil {
			return err
		}
		rs, err := clusterTest(tmp, moduleDir, bin, cfg)
		writeClusterTable(os.Stdout, rs)
		if cfg.out != "" {
			f, ferr := os.Create(cfg.out)
			if ferr == nil {
				writeClusterTable(f, rs)
				f.Close()
			}
		}
		return err
	}
	if cfg.operatorOnly {
		bin, err := buildLambdahost(moduleDir, tmp)
		if err != nil {
			return err
		}
		res, err := operatorTest(tmp, moduleDir, bin, cfg)
		if err != nil {
			return fmt.Errorf("operator: %w", err)
		}
		return report(cfg, start, []tableSpec{{operatorHeader, operatorRows(res)}}, func(w io.Writer) {
			fmt.Fprintln(w, "Notes:")
			operatorNotes(w, cfg, res)
		})
	}
	if cfg.deployOnly || cfg.invokeOnly || cfg.layersOnly || cfg.urlOnly {
		bin, err := buildLambdahost(moduleDir, tmp)
		if err != nil {
			return err
		}
		var (
			tables []tableSpec
			dep    *deployResult
			inv    *invokeResult
			lay    *layerResult
			urls   *urlResult
		)
		if cfg.deployOnly {
			if dep, err = deployTest(tmp, bin, cfg); err != nil {
				return err
			}
			tables = append(tables, tableSpec{defaultHeader, deployRows(dep)})
		}
		if cfg.invokeOnly {
			if inv, err = invokeTest(tmp, moduleDir, bin, cfg); err != nil {
				return fmt.Errorf("invoke: %w", err)
			}
			tables = append(tables, tableSpec{invokeHeader, invokeRows(inv)})
		}
		if cfg.layersOnly {
			if lay, err = layerTest(tmp, bin, cfg); err != nil {
				return fmt.Errorf("layers: %w", err)
			}
			tables = append(tables, tableSpec{defaultHeader, layerRows(lay)})
		}
		if cfg.urlOnly {
			if urls, err = urlTest(tmp, moduleDir, bin, cfg); err != nil {
				return fmt.Errorf("url: %w", err)
			}
			tables = append(tables, tableSpec{urlHeader, urlRows(urls)})
		}
		return report(cfg, start, tables, func(w io.Writer) {
			fmt.Fprintln(w, "Notes:")
			if dep != nil {
				deployNotes(w, cfg, dep, tmp)
			}
			if inv != nil {
				invokeNotes(w, cfg, inv)
			}
			if lay != nil {
				layerNotes(w, cfg, lay)
			}
			if urls != nil {
				urlNotes(w, cfg, urls)
			}
		})
	}

	// Build the server while the zips are generated.
	var (
		bin      string
		buildErr error
		built    = make(chan struct{})
	)
	go func() {
		defer close(built)
		bin, buildErr = buildLambdahost(moduleDir, tmp)
	}()
	logf("generating zips")
	data, memBodies, err := generate(cfg)
	if err != nil {
		return err
	}
	<-built
	if buildErr != nil {
		return buildErr
	}

	logf("starting lambdahost")
	srv, err := startLambdahost(bin, tmp, cfg.wrap, nil, nil)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.stop()
		}
	}()
	time.Sleep(500 * time.Millisecond)
	idleRSS, _, err := srv.rss()
	if err != nil {
		return err
	}
	logf("lambdahost at %s, pid %d, idle RSS %s", srv.addr, srv.cmd.Process.Pid, fmtBytes(idleRSS))

	// Sign every update now: signatures stay valid for 15 minutes.
	for _, d := range data {
		for _, b := range d.bodies {
			r, err := sign(srv.addr, http.MethodPut, "/2015-03-31/functions/"+d.spec.fnName()+"/code", "", b, "application/json", "lambda")
			if err != nil {
				return err
			}
			d.ours = append(d.ours, r)
		}
		if d.getOurs, err = sign(srv.addr, http.MethodGet, "/2015-03-31/functions/"+d.spec.fnName(), "", emptyBody, "", "lambda"); err != nil {
			return err
		}
	}

	tiny, err := makeZip(0, rand.NewChaCha8([32]byte{}))
	if err != nil {
		return err
	}
	var fns []string
	for _, d := range data {
		fns = append(fns, d.spec.fnName())
	}
	for i := range cfg.memConc {
		fns = append(fns, fmt.Sprintf("bench-mem-%d", i))
	}
	logf("creating %d functions", len(fns))
	c := newClient(srv.addr)
	defer c.close()
	for _, fn := range fns {
		if err := createFunction(c, srv.addr, fn, tiny); err != nil {
			return err
		}
	}
	for _, fn := range fns {
		if err := waitSuccessful(c, srv.addr, fn, 30*time.Second); err != nil {
			return err
		}
	}

	logf("memory: %d × %d concurrent updates of %s", cfg.memRounds, cfg.memConc, fmtBytes(int64(cfg.memSize)))
	mem, err := memoryTest(srv, cfg, memBodies)
	if err != nil {
		return err
	}
	mem.idle = idleRSS

	for _, d := range data {
		logf("updates %s: %d warmup + %d timed (body %s)", d.spec.label, cfg.warmup, d.spec.n, fmtBytes(int64(len(d.bodies[0].b))))
		if d.our, err = replayUpdates(c, d.ours, cfg.warmup, &d.getOurs); err != nil {
			return fmt.Errorf("updates %s: %w", d.spec.label, err)
		}
	}

	logf("ListFunctions: creating %d functions (%d connections)", cfg.listFns, cfg.createConc)
	list, err := listTest(srv.addr, cfg, tiny)
	if err != nil {
		return err
	}
	list.total = list.created + len(fns)

	floorDir := filepath.Join(tmp, "floor")
	if err := os.Mkdir(floorDir, 0o755); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for _, d := range data {
		logf("floor %s", d.spec.label)
		for _, b := range d.bodies {
			t, err := floorOnce(b.b, floorDir, buf)
			if err != nil {
				return err
			}
			d.floor = append(d.floor, t)
		}
		d.floor = d.floor[cfg.warmup:]
	}

	var moto *motoResult
	if cfg.moto == "auto" {
		if _, err := exec.LookPath("moto_server"); err != nil {
			logf("moto_server not on PATH: skipping the moto comparison")
		} else if moto, err = motoTest(tmp, cfg, data, tiny); err != nil {
			return fmt.Errorf("moto: %w", err)
		}
	}

	logf("stopping lambdahost (SIGTERM)")
	stopped = true
	stopErr := srv.stop()
	if stopErr != nil {
		logf("lambdahost exit: %v (log: %s)", stopErr, filepath.Join(tmp, "lambdahost.log"))
	}

	var dep *deployResult
	if cfg.deploy {
		if dep, err = deployTest(tmp, bin, cfg); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
	}

	var inv *invokeResult
	if cfg.invoke {
		if inv, err = invokeTest(tmp, moduleDir, bin, cfg); err != nil {
			return fmt.Errorf("invoke: %w", err)
		}
	}

	var urls *urlResult
	if cfg.url {
		if urls, err = urlTest(tmp, moduleDir, bin, cfg); err != nil {
			return fmt.Errorf("url: %w", err)
		}
	}

	var lay *layerResult
	if cfg.layers {
		if lay, err = layerTest(tmp, bin, cfg); err != nil {
			return fmt.Errorf("layers: %w", err)
		}
	}

	rows := table(cfg, data, list, mem, moto)
	if dep != nil {
		rows = append(rows, deployRows(dep)...)
	}
	if lay != nil {
		rows = append(rows, layerRows(lay)...)
	}
	tables := []tableSpec{{defaultHeader, rows}}
	if inv != nil {
		tables = append(tables, tableSpec{invokeHeader, invokeRows(inv)})
	}
	if urls != nil {
		tables = append(tables, tableSpec{urlHeader, urlRows(urls)})
	}
	return report(cfg, start, tables, func(w io.Writer) {
		notes(w, cfg, data, list, mem, moto, stopErr)
		if dep != nil {
			deployNotes(w, cfg, dep, tmp)
		}
		if inv != nil {
			invokeNotes(w, cfg, inv)
		}
		if lay != nil {
			layerNotes(w, cfg, lay)
		}
		if urls != nil {
			urlNotes(w, cfg, urls)
		}
	})
}

// tableSpec is one table of the report.
type tableSpec struct {
	header row
	rows   []row
}

// report prints the tables and the notes, and writes them to cfg.out.
func report(cfg *config, start time.Time, tables []tableSpec, notes func(io.Writer)) error {
	var out bytes.Buffer
	fmt.Fprintf(&out, "lambdahost bench, %s, %s\n\n", time.Now().Format(time.DateTime), machine())
	for _, t := range tables {
		writeTableHeader(&out, t.header, t.rows)
		fmt.Fprintln(&out)
	}
	notes(&out)
	fmt.Fprintf(&out, "Total bench time %s.\n", time.Since(start).Round(time.Second))
	os.Stdout.Write(out.Bytes())
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, out.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// moduleRoot returns the directory of the main module (the one holding
// cmd/lambdahost).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the bench from inside the lambdahost module")
	}
	return filepath.Dir(mod), nil
}

// generate makes the distinct zips of every size, and the bodies of the
// memory test, as UpdateFunctionCode bodies. Sizes are generated in
// parallel; the random source is seeded, so runs are reproducible.
func generate(cfg *config) ([]*sizeData, []*body, error) {
	data := make([]*sizeData, len(cfg.sizes))
	var mem []*body
	var wg sync.WaitGroup
	errs := make([]error, len(cfg.sizes)+1)
	gen := func(seed byte, size, count int, dst *[]*body, errp *error) {
		defer wg.Done()
		rng := rand.NewChaCha8([32]byte{seed})
		for range count {
			z, err := makeZip(size, rng)
			if err != nil {
				*errp = err
				return
			}
			*dst = append(*dst, newBody(updateCodeBody(z)))
		}
	}
	for i, s := range cfg.sizes {
		data[i] = &sizeData{spec: s}
		wg.Add(1)
		go gen(byte(i+1), s.bytes, cfg.warmup+s.n, &data[i].bodies, &errs[i])
	}
	wg.Add(1)
	go gen(0xff, cfg.memSize, cfg.memConc*cfg.memRounds, &mem, &errs[len(cfg.sizes)])
	wg.Wait()
	return data, mem, errors.Join(errs...)
}

// functionStatus is the part of a GetFunction answer the bench reads.
type functionStatus struct {
	Configuration struct {
		State            string
		LastUpdateStatus string
	}
}

func parseStatus(b []byte) (functionStatus, error) {
	var s functionStatus
	err := json.Unmarshal(b, &s)
	return s, err
}

// createFunction creates a Python function fn with code z at host.
func createFunction(c *client, host, fn string, z []byte) error {
	return postCreate(c, host, fn, createFunctionBody(fn, role, z))
}

// postCreate sends CreateFunction with body for fn and expects 201.
func postCreate(c *client, host, fn string, body []byte) error {
	req, err := sign(host, http.MethodPost, "/2015-03-31/functions", "", newBody(body), "application/json", "lambda")
	if err != nil {
		return err
	}
	var out bytes.Buffer
	st, err := c.doRetry(req, &out)
	if err != nil {
		return fmt.Errorf("create %s: %w", fn, err)
	}
	if st != http.StatusCreated {
		return fmt.Errorf("create %s: status %d: %s", fn, st, trim(out.Bytes()))
	}
	return nil
}

// waitSuccessful polls GetFunction until fn is Active with LastUpdateStatus
// Successful (moto reports no LastUpdateStatus: Active is enough there).
func waitSuccessful(c *client, host, fn string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var out bytes.Buffer
	for {
		req, err := sign(host, http.MethodGet, "/2015-03-31/functions/"+fn, "", emptyBody, "", "lambda")
		if err != nil {
			return err
		}
		st, err := c.doRetry(req, &out)
		if err != nil {
			return fmt.Errorf("get %s: %w", fn, err)
		}
		if st != http.StatusOK {
			return fmt.Errorf("get %s: status %d: %s", fn, st, trim(out.Bytes()))
		}
		s, err := parseStatus(out.Bytes())
		if err != nil {
			return fmt.Errorf("get %s: %w", fn, err)
		}
		cfg := s.Configuration
		if cfg.State == "Failed" || cfg.LastUpdateStatus == "Failed" {
			return fmt.Errorf("function %s failed: %s", fn, trim(out.Bytes()))
		}
		if cfg.State == "Active" && (cfg.LastUpdateStatus == "Successful" || cfg.LastUpdateStatus == "") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("function %s not Successful after %s: %s", fn, timeout, trim(out.Bytes()))
		}
		time.Sleep(time.Millisecond)
	}
}

// pollInterval is the period of the GetFunction polls after an update.
var pollInterval = time.Millisecond

// replayUpdates sends reqs one at a time over c. The first warmup are not
// recorded. If get is not nil, after each update it polls get every
// pollInterval until LastUpdateStatus is Successful and records the time
// from sending the update; if get is nil (moto answers synchronously),
// settled is latency.
func replayUpdates(c *client, reqs []rawRequest, warmup int, get *rawRequest) (updateResult, error) {
	res := updateResult{status: map[int]int{}}
	var out bytes.Buffer
	redials := c.redials
	t00 := time.Now()
	for i, req := range reqs {
		timed := i >= warmup
		t0 := time.Now()
		st, err := c.do(req, &out)
		lat := time.Since(t0)
		if err != nil {
			return res, fmt.Errorf("update %d: %w", i, err)
		}
		if timed {
			res.status[st]++
			if st != http.StatusOK {
				res.errors++
				if res.errors <= 3 {
					logf("update %d: status %d: %s", i, st, trim(out.Bytes()))
				}
			}
			res.latency = append(res.latency, lat)
		}
		if get == nil {
			if timed && st == http.StatusOK {
				res.settled = append(res.settled, lat)
			}
			continue
		}
		settled, err := pollSuccessful(c, *get, t0, &out)
		if err != nil {
			return res, fmt.Errorf("update %d: %w", i, err)
		}
		if timed && st == http.StatusOK {
			res.settled = append(res.settled, settled)
		}
	}
	res.elapsed = time.Since(t00)
	res.redials = c.redials - redials
	return res, nil
}

// pollSuccessful replays get until it shows LastUpdateStatus Successful and
// returns the time since t0 at which that answer was read.
func pollSuccessful(c *client, get rawRequest, t0 time.Time, out *bytes.Buffer) (time.Duration, error) {
	for {
		p0 := time.Now()
		st, err := c.do(get, out)
		if err != nil {
			return 0, fmt.Errorf("poll: %w", err)
		}
		done := time.Since(t0)
		if st != http.StatusOK {
			return 0, fmt.Errorf("poll: status %d: %s", st, trim(out.Bytes()))
		}
		if successful(out.Bytes()) {
			return done, nil
		}
		if done > time.Minute {
			return 0, fmt.Errorf("poll: not Successful after a minute: %s", trim(out.Bytes()))
		}
		if d := time.Until(p0.Add(pollInterval)); d > 0 {
			time.Sleep(d)
		}
	}
}

// successful reports whether a GetFunction answer shows LastUpdateStatus
// Successful. A byte search keeps JSON decoding out of the timed poll; the
// full decode runs only when the search fails, to catch a format change.
func successful(b []byte) bool {
	if bytes.Contains(b, []byte(`"LastUpdateStatus":"Successful"`)) {
		return true
	}
	s, err := parseStatus(b)
	return err == nil && s.Configuration.LastUpdateStatus == "Successful"
}

// listResult is the outcome of the ListFunctions test.
type listResult struct {
	created     int
	createTime  time.Duration
	createLat   []time.Duration
	pages       []time.Duration // every page of every walk
	walks       []time.Duration // sum of page latencies per walk
	pagesPerRun int
	seen        int // functions listed by the last walk
	total       int // functions that exist
	errors      int
}

// listTest creates cfg.listFns functions concurrently, then walks
// ListFunctions with MaxItems=50 cfg.listWalks times.
func listTest(host string, cfg *config, z []byte) (*listResult, error) {
	res := &listResult{}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next = make(chan int)
		errs = make([]error, cfg.createConc)
	)
	t0 := time.Now()
	for w := range cfg.createConc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(host)
			defer c.close()
			for i := range next {
				t := time.Now()
				if err := createFunction(c, host, fmt.Sprintf("list-%04d", i), z); err != nil {
					errs[w] = err
					for range next {
					}
					return
				}
				mu.Lock()
				res.createLat = append(res.createLat, time.Since(t))
				res.created++
				mu.Unlock()
			}
		}()
	}
	for i := range cfg.listFns {
		next <- i
	}
	close(next)
	wg.Wait()
	res.createTime = time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	logf("created %d functions in %s", res.created, res.createTime.Round(time.Millisecond))

	c := newClient(host)
	defer c.close()
	var out bytes.Buffer
	for w := range cfg.listWalks + 1 { // walk 0 warms up
		var marker string
		var walk time.Duration
		pages, seen := 0, 0
		for {
			q := url.Values{"MaxItems": {"50"}}
			if marker != "" {
				q.Set("Marker", marker)
			}
			req, err := sign(host, http.MethodGet, "/2015-03-31/functions", q.Encode(), emptyBody, "", "lambda")
			if err != nil {
				return nil, err
			}
			t := time.Now()
			st, err := c.do(req, &out)
			lat := time.Since(t)
			if err != nil {
				return nil, fmt.Errorf("list: %w", err)
			}
			if st != http.StatusOK {
				res.errors++
				return nil, fmt.Errorf("list: status %d: %s", st, trim(out.Bytes()))
			}
			var page struct {
				NextMarker string
				Functions  []json.RawMessage
			}
			if err := json.Unmarshal(out.Bytes(), &page); err != nil {
				return nil, fmt.Errorf("list: %w", err)
			}
			pages++
			seen += len(page.Functions)
			walk += lat
			if w > 0 {
				res.pages = append(res.pages, lat)
			}
			if page.NextMarker == "" {
				break
			}
			marker = page.NextMarker
		}
		if w > 0 {
			res.walks = append(res.walks, walk)
		}
		res.pagesPerRun, res.seen = pages, seen
	}
	return res, nil
}

// memResult is the outcome of the memory test.
type memResult struct {
	idle, before, peak int64
	hwmReset           bool
	concurrent         int
	latency            []time.Duration
	errors             int
}

// memoryTest sends cfg.memConc updates of cfg.memSize at once, to
// different functions, cfg.memRounds times, sampling the server's RSS.
func memoryTest(srv *process, cfg *config, bodies []*body) (*memResult, error) {
	res := &memResult{concurrent: cfg.memConc}
	clients := make([]*client, cfg.memConc)
	gets := make([]rawRequest, cfg.memConc)
	reqs := make([][]rawRequest, cfg.memConc)
	for i := range cfg.memConc {
		fn := fmt.Sprintf("bench-mem-%d", i)
		clients[i] = newClient(srv.addr)
		defer clients[i].close()
		var err error
		if gets[i], err = sign(srv.addr, http.MethodGet, "/2015-03-31/functions/"+fn, "", emptyBody, "", "lambda"); err != nil {
			return nil, err
		}
		for r := range cfg.memRounds {
			req, err := sign(srv.addr, http.MethodPut, "/2015-03-31/functions/"+fn+"/code", "", bodies[r*cfg.memConc+i], "application/json", "lambda")
			if err != nil {
				return nil, err
			}
			reqs[i] = append(reqs[i], req)
		}
	}
	var err error
	if res.before, _, err = srv.rss(); err != nil {
		return nil, err
	}
	res.hwmReset = srv.resetHWM()

	stop := make(chan struct{})
	sampled := make(chan int64)
	go func() {
		var peak int64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := srv.rss(); err == nil {
				peak = max(peak, rss)
			}
			select {
			case <-stop:
				sampled <- peak
				return
			case <-t.C:
			}
		}
	}()

	var mu sync.Mutex
	for r := range cfg.memRounds {
		var wg sync.WaitGroup
		errs := make([]error, cfg.memConc)
		for i := range cfg.memConc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out bytes.Buffer
				t0 := time.Now()
				st, err := clients[i].do(reqs[i][r], &out)
				lat := time.Since(t0)
				if err != nil {
					errs[i] = err
					return
				}
				mu.Lock()
				res.latency = append(res.latency, lat)
				if st != http.StatusOK {
					res.errors++
				}
				mu.Unlock()
				_, errs[i] = pollSuccessful(clients[i], gets[i], t0, &out)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			close(stop)
			<-sampled
			return nil, err
		}
	}
	close(stop)
	res.peak = <-sampled
	if _, hwm, err := srv.rss(); err == nil && res.hwmReset {
		res.peak = max(res.peak, hwm)
	}
	return res, nil
}

// trim shortens a response body for an error message.
func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// machine describes the host briefly: CPUs and kernel.
func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			load = ", load average " + f[0]
		}
	}
	return fmt.Sprintf("%d CPUs (%s), Linux %s%s", runtime.NumCPU(), model, kernel, load)
}

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// The invoke test's functions. Go is internal/testfn/gofn built as a
// provided.al2023 bootstrap; Python is pythonHandler on python3.12.
const (
	pyRuntime = "python3.12"
	// pythonHandler sleeps for sleep_ms if asked to and answers its request
	// ID, so that the bench can find its REPORT line in a log. Asked for
	// tmp_write_mb, it writes that many MiB to a file of /tmp, 1 MiB at a
	// time, removes it and answers how long the writes and the close took.
	pythonHandler = `import os
import time


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    ms = event.get("sleep_ms")
    if ms:
        time.sleep(ms / 1000)
    mb = event.get("tmp_write_mb")
    if mb:
        path = "/tmp/bench-%s.bin" % context.aws_request_id
        chunk = b"\x01" * (1 << 20)
        t0 = time.perf_counter()
        with open(path, "wb") as f:
            for _ in range(mb):
                f.write(chunk)
        seconds = time.perf_counter() - t0
        os.remove(path)
        return {"request_id": context.aws_request_id, "tmp_write_s": seconds}
    return {"request_id": context.aws_request_id}
`
	// memSleepMS is how long the memory test's invocations sleep, so
	// that all of them run at once, each in its own environment.
	memSleepMS = 1500
	// The /tmp write test's function: a /tmp larger than its memory, as
	// Lambda allows.
	tmpMemoryMB  = 256
	tmpStorageMB = 512
)

// invokeLang is one runtime under test.
type invokeLang struct {
	name    string // "Go" or "Python"
	runtime types.Runtime
	handler string
	zip     []byte
}

// invokeResult is the outcome of the invoke test.
type invokeResult struct {
	langs   []string           // "Go", then "Python" unless skipped
	ours    map[string]*runSet // by language
	rie     map[string]*runSet
	pySkip  string // why Python was left out
	rieSkip string // why RIE was left out
	rieVer  string // the RIE module version

	tmpMB    int     // MiB each /tmp write writes
	sandbox  string  // what isolates our environments, as observed
	spares   treeMem // the sandbox's spare inits, after the memory test
	idleRSS  int64   // the server's RSS before any invocation
	stopErr  error
	gofnSize int64
}

// runSet is what was measured for one runtime on one server.
type runSet struct {
	warm warmResult
	cold coldResult
	tmp  tmpResult // Python only
	// coldNew is ours only: cold starts of functions just created, which
	// have no environment to retire.
	coldNew coldResult
	tput    []tputResult // Go only
	mem     envMem
}

// warmResult is the outcome of the sequential warm invocations.
type warmResult struct {
	rtt      []time.Duration // round trips without the log (ours) or all (RIE)
	tailRTT  []time.Duration // ours: round trips that asked for the log
	duration []time.Duration // REPORT Duration of the samples with a log
	overhead []time.Duration // round trip − REPORT Duration, per sample
	errors   int
	elapsed  time.Duration
}

// tmpResult is the outcome of the /tmp writes.
type tmpResult struct {
	mbps   []float64 // MiB/s of each write, as the function timed it
	maxMem []int     // REPORT Max Memory Used, MB (ours)
	errors int
}

// coldResult is the outcome of the cold invocations.
type coldResult struct {
	rtt      []time.Duration
	init     []time.Duration // REPORT Init Duration
	duration []time.Duration // REPORT Duration
	settle   []time.Duration // ours: UpdateFunctionConfiguration → Successful
	notCold  int             // samples whose REPORT had no Init Duration
	errors   int
}

// tputResult is the outcome of one concurrency level of the throughput test.
type tputResult struct {
	conc     int
	ok       int
	errors   int
	statuses map[string]int // error kinds
	elapsed  time.Duration
	lat      []time.Duration
	envs     int           // environments that served the load (ours)
	cpuSrv   time.Duration // server (ours) or RIE process CPU
	cpuRT    time.Duration // runtime processes' CPU
	cpuCli   time.Duration // the bench's own CPU (the clients)
	crashed  string        // RIE: how it died under the load, if it did
}

func (t tputResult) rate() float64 { return float64(t.ok) / t.elapsed.Seconds() }

// envMem is the memory of warm environments.
type envMem struct {
	asked int // environments asked for
	envs  int // environments found
	// runtime is the memory of the environments' processes (RIE: its
	// child, the runtime).
	runtime treeMem
	// host is what the host process spends on them: lambdahost's RSS
	// growth over the test, or aws-lambda-rie's RSS.
	host   int64
	cgroup int64 // sum of the environments' cgroup usage, if known
	cgOK   bool
	cgWhy  string // why cgroup is unknown
}

// newLambdaClient returns an aws-sdk-go-v2 Lambda client for the server at
// addr (host:port), with keep-alive connections enough for conns
// concurrent calls, no retries, and the test credentials.
func newLambdaClient(addr string, conns int) (*lambda.Client, *awshttp.BuildableClient) {
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.Proxy = nil // loopback only
		t.MaxIdleConns = 2 * conns
		t.MaxIdleConnsPerHost = 2 * conns
	})
	lc := lambda.New(lambda.Options{
		BaseEndpoint: aws.String("http://" + addr),
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		HTTPClient:   hc,
		Retryer:      aws.NopRetryer{},
	})
	return lc, hc
}

// endpoint is a function the bench invokes: on lambdahost, or the single
// function of a RIE.
type endpoint struct {
	lc *lambda.Client
	fn string
	// opt, if set, is applied to every call (RIE: the endpoint).
	opt func(*lambda.Options)
}

// invoke calls the function synchronously and times the round trip. A
// function error or a non-200 status is an error.
func (e *endpoint) invoke(ctx context.Context, payload []byte, tail bool) (time.Duration, *lambda.InvokeOutput, error) {
	in := &lambda.InvokeInput{FunctionName: aws.String(e.fn), Payload: payload}
	if tail {
		in.LogType = types.LogTypeTail
	}
	var opts []func(*lambda.Options)
	if e.opt != nil {
		opts = append(opts, e.opt)
	}
	t0 := time.Now()
	out, err := e.lc.Invoke(ctx, in, opts...)
	rtt := time.Since(t0)
	if err != nil {
		return rtt, nil, err
	}
	if out.FunctionError != nil {
		return rtt, out, fmt.Errorf("function error %s: %s", *out.FunctionError, trim(out.Payload))
	}
	if out.StatusCode != http.StatusOK {
		return rtt, out, fmt.Errorf("status %d: %s", out.StatusCode, trim(out.Payload))
	}
	return rtt, out, nil
}

// requestIDOf returns the request_id member of a function's answer.
func requestIDOf(payload []byte) string {
	var r struct {
		RequestID string `json:"request_id"`
	}
	json.Unmarshal(payload, &r)
	return r.RequestID
}

// tailReport returns the REPORT line of an invocation's log tail.
func tailReport(out *lambda.InvokeOutput) (reportLine, error) {
	if out.LogResult == nil {
		return reportLine{}, errors.New("no LogResult in the answer")
	}
	log, err := base64.StdEncoding.DecodeString(*out.LogResult)
	if err != nil {
		return reportLine{}, fmt.Errorf("LogResult: %w", err)
	}
	rs := parseReports(log)
	if len(rs) == 0 {
		return reportLine{}, fmt.Errorf("no REPORT line in the log: %q", trim(log))
	}
	return rs[len(rs)-1], nil
}

// reportLine is what the bench reads from a REPORT log line.
type reportLine struct {
	requestID    string
	duration     time.Duration
	initDuration time.Duration // 0 if the line has none
	maxMemoryMB  int           // Max Memory Used, 0 if the line has none
}

// parseReports returns the REPORT lines of a Lambda log, such as
//
//	REPORT RequestId: 5c1d…	Duration: 0.41 ms	Billed Duration: 1 ms	Memory Size: 128 MB	Max Memory Used: 9 MB	Init Duration: 4.20 ms
//
// lambdahost's and the Runtime Interface Emulator's alike (RIE puts Init
// Duration first). Lines without a request ID or a Duration are skipped.
func parseReports(log []byte) []reportLine {
	var out []reportLine
	for _, l := range strings.Split(string(log), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "REPORT ")
		if !ok {
			continue
		}
		var r reportLine
		hasDur := false
		for _, f := range strings.Split(rest, "\t") {
			k, v, ok := strings.Cut(f, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.TrimSpace(k) {
			case "RequestId":
				r.requestID = v
			case "Duration":
				r.duration, hasDur = parseMS(v)
			case "Init Duration":
				r.initDuration, _ = parseMS(v)
			case "Max Memory Used":
				r.maxMemoryMB, _ = strconv.Atoi(strings.TrimSuffix(v, " MB"))
			}
		}
		if r.requestID != "" && hasDur {
			out = append(out, r)
		}
	}
	return out
}

// parseMS parses "12.34 ms".
func parseMS(s string) (time.Duration, bool) {
	v, ok := strings.CutSuffix(s, " ms")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return time.Duration(math.Round(f * float64(time.Millisecond))), true
}

// buildGoFunction builds internal/testfn/gofn as a provided.al2023
// bootstrap into dir and returns its path.
func buildGoFunction(moduleDir, dir string) (string, error) {
	return buildGoPackage(moduleDir, dir, "./internal/testfn/gofn")
}

// buildGoPackage builds the Go function pkg (a path relative to the
// module) as dir/bootstrap, static, without the RPC mode of aws-lambda-go.
func buildGoPackage(moduleDir, dir, pkg string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	return out, nil
}

// zipOf zips files (name → content) with the given modes.
func zipOf(files map[string][]byte, mode os.FileMode) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(files[name]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// invokeTest measures Invoke on a lambdahost of its own (own data dir
// under tmp/invoke) and, unless -rie off, on the AWS Runtime Interface
// Emulator running the same bootstraps.
func invokeTest(tmp, moduleDir, bin string, cfg *config) (*invokeResult, error) {
	dir := filepath.Join(tmp, "invoke")
	if err := os.MkdirAll(filepath.Join(dir, "gofn"), 0o755); err != nil {
		return nil, err
	}
	res := &invokeResult{ours: map[string]*runSet{}, rie: map[string]*runSet{}, tmpMB: cfg.invokeTmpMB}

	// Install RIE while the function is built and measured.
	var (
		rieBin  string
		rieErr  error
		rieDone = make(chan struct{})
	)
	if cfg.rie == "off" {
		res.rieSkip = "-rie off"
		close(rieDone)
	} else {
		go func() {
			defer close(rieDone)
			rieBin, res.rieVer, rieErr = installRIE(tmp, cfg.rieBin, cfg.rieVersion)
		}()
	}

	logf("invoke: building internal/testfn/gofn")
	gofn, err := buildGoFunction(moduleDir, filepath.Join(dir, "gofn"))
	if err != nil {
		return nil, err
	}
	gobin, err := os.ReadFile(gofn)
	if err != nil {
		return nil, err
	}
	res.gofnSize = int64(len(gobin))
	goZip, err := zipOf(map[string][]byte{"bootstrap": gobin}, 0o755)
	if err != nil {
		return nil, err
	}
	pyZip, err := zipOf(map[string][]byte{"index.py": []byte(pythonHandler)}, 0o644)
	if err != nil {
		return nil, err
	}
	langs := []invokeLang{{name: "Go", runtime: types.RuntimeProvidedal2023, handler: "bootstrap", zip: goZip}}
	if py := bootstrap.Discover().Interpreters[pyRuntime]; py == "" {
		res.pySkip = "no " + pyRuntime + " interpreter on this host (lambdahost looks in pyenv, /usr/local/bin and /usr/bin)"
		logf("invoke: Python skipped: %s", res.pySkip)
	} else {
		langs = append(langs, invokeLang{name: "Python", runtime: pyRuntime, handler: "index.handler", zip: pyZip})
	}
	for _, l := range langs {
		res.langs = append(res.langs, l.name)
	}

	var wrap []string
	if cfg.invokeOnly {
		wrap = cfg.wrap
	}
	logf("invoke: starting lambdahost")
	srv, err := startLambdahost(bin, dir, wrap, nil, nil)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.stop()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	res.idleRSS, _, _ = srv.rss()

	maxConc := slices.Max(append([]int{cfg.invokeMemK}, cfg.invokeConc...))
	lc, _ := newLambdaClient(srv.addr, maxConc)
	ctx := context.Background()

	// Each runtime gets three functions, so that the tests do not share
	// environments: warm (and throughput), cold, and memory; Python a
	// fourth for the /tmp writes.
	suffixes := func(l invokeLang) []string {
		if l.name == "Python" {
			return []string{"", "-cold", "-mem", "-tmp"}
		}
		return []string{"", "-cold", "-mem"}
	}
	for _, l := range langs {
		for _, suffix := range suffixes(l) {
			if err := createInvokeFunction(ctx, lc, "bench-"+strings.ToLower(l.name)+suffix, l); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range langs {
		for _, suffix := range suffixes(l) {
			if err := waitUpdated(ctx, lc, "bench-"+strings.ToLower(l.name)+suffix, 30*time.Second); err != nil {
				return nil, err
			}
		}
	}

	<-rieDone
	if rieErr != nil {
		res.rieSkip = rieErr.Error()
		logf("invoke: RIE skipped: %s", res.rieSkip)
	}

	// lambdahost and RIE take turns, test by test and, for warm and cold
	// invocations, block by block, so that both see the same machine.
	serverPID := srv.cmd.Process.Pid
	for _, l := range langs {
		ours := &runSet{}
		res.ours[l.name] = ours
		var rb *rieBench
		if res.rieSkip == "" {
			argv, env, wd, err := rieCommand(l.name, gofn, dir)
			if err != nil {
				return nil, err
			}
			rb = newRIEBench(&rieSpec{bin: rieBin, argv: argv, env: env, dir: wd, logDir: filepath.Join(dir, "rie-"+strings.ToLower(l.name))}, maxConc)
			res.rie[l.name] = rb.set
		}
		name := "bench-" + strings.ToLower(l.name)
		ep := &endpoint{lc: lc, fn: name}

		logf("invoke: %s warm: %d + %d invocations each", l.name, cfg.invokeWarmup, 2*cfg.invokeN)
		if err := warmBoth(ctx, ep, rb, cfg, ours); err != nil {
			return nil, fmt.Errorf("%s warm: %w", l.name, err)
		}

		if l.name == "Go" {
			for _, c := range cfg.invokeConc {
				logf("invoke: Go throughput, %d clients, %s each", c, cfg.invokeDur)
				// c sleeping invocations at once leave c warm environments.
				if _, err := concurrentInvokes(ctx, ep, c, []byte(`{"sleep_ms":200}`)); err != nil {
					return nil, fmt.Errorf("lambdahost Go throughput warm-up: %w", err)
				}
				t := measureThroughput(ctx, ep, c, cfg.invokeDur, serverPID)
				// Only this function has environments yet.
				if envs, err := envRoots(serverPID); err == nil {
					t.envs = len(envs)
				}
				ours.tput = append(ours.tput, t)
				if rb != nil {
					if err := rb.throughput(ctx, c, cfg.invokeDur); err != nil {
						return nil, fmt.Errorf("RIE Go throughput: %w", err)
					}
				}
			}
		}

		logf("invoke: %s cold: %d invocations each (lambdahost: after UpdateFunctionConfiguration; RIE: on a new RIE)", l.name, cfg.invokeColdN)
		for i := range cfg.invokeColdN + 1 { // the first is an untimed warm-up
			time.Sleep(coldGap)
			if err := coldOurs(ctx, lc, name+"-cold", i, &ours.cold); err != nil {
				return nil, fmt.Errorf("lambdahost %s cold: %w", l.name, err)
			}
			if rb != nil {
				time.Sleep(coldGap)
				if err := rb.cold(ctx, i); err != nil {
					return nil, fmt.Errorf("RIE %s cold: %w", l.name, err)
				}
			}
		}

		logf("invoke: lambdahost %s cold, new functions: %d invocations, each of a function just created", l.name, cfg.invokeColdN)
		if ours.coldNew, err = coldNewOurs(ctx, lc, "bench-"+strings.ToLower(l.name)+"-new-", l, cfg.invokeColdN); err != nil {
			return nil, fmt.Errorf("lambdahost %s cold, new functions: %w", l.name, err)
		}

		logf("invoke: %s memory: %d environments on lambdahost, one RIE", l.name, cfg.invokeMemK)
		var roots []int
		if ours.mem, roots, err = memOurs(ctx, &endpoint{lc: lc, fn: name + "-mem"}, srv, cfg.invokeMemK); err != nil {
			return nil, fmt.Errorf("lambdahost %s memory: %w", l.name, err)
		}
		if res.sandbox == "" && len(roots) > 0 {
			res.sandbox = sandboxKind(serverPID, roots[0])
			res.spares = spares(serverPID)
		}
		if rb != nil {
			if rb.set.mem, err = memRIE(ctx, rb.spec, rb.lc); err != nil {
				return nil, fmt.Errorf("RIE %s memory: %w", l.name, err)
			}
		}

		if l.name == "Python" {
			logf("invoke: Python /tmp: %d writes of %d MiB each", cfg.invokeTmpN, cfg.invokeTmpMB)
			tmpWrites(ctx, &endpoint{lc: lc, fn: name + "-tmp"}, cfg, &ours.tmp)
			if rb != nil {
				r, err := startRIE(rb.spec, "tmp")
				if err != nil {
					return nil, fmt.Errorf("RIE /tmp: %w", err)
				}
				tmpWrites(ctx, r.endpoint(rb.lc), cfg, &rb.set.tmp)
				stopLogged(r.process)
			}
		}
	}

	logf("invoke: stopping lambdahost (SIGTERM)")
	stopped = true
	if res.stopErr = srv.stop(); res.stopErr != nil {
		logf("invoke lambdahost exit: %v (log: %s)", res.stopErr, filepath.Join(dir, "lambdahost.log"))
	}
	return res, nil
}

// tmpWrites has ep write cfg.invokeTmpMB MiB to /tmp, once untimed, then
// cfg.invokeTmpN times, and records the rate the function measured and the
// Max Memory Used its REPORT line gives (lambdahost's; RIE's is its
// configured memory).
func tmpWrites(ctx context.Context, ep *endpoint, cfg *config, res *tmpResult) {
	payload := []byte(fmt.Sprintf(`{"tmp_write_mb":%d}`, cfg.invokeTmpMB))
	for i := range cfg.invokeTmpN + 1 {
		_, out, err := ep.invoke(ctx, payload, ep.opt == nil)
		if err != nil {
			logf("/tmp write %d: %v", i, err)
			res.errors++
			continue
		}
		var r struct {
			Seconds float64 `json:"tmp_write_s"`
		}
		if err := json.Unmarshal(out.Payload, &r); err != nil || r.Seconds <= 0 {
			logf("/tmp write %d: answer %s", i, trim(out.Payload))
			res.errors++
			continue
		}
		if i == 0 {
			continue
		}
		res.mbps = append(res.mbps, float64(cfg.invokeTmpMB)/r.Seconds)
		if ep.opt == nil {
			if rep, err := tailReport(out); err == nil && rep.maxMemoryMB > 0 {
				res.maxMem = append(res.maxMem, rep.maxMemoryMB)
			}
		}
	}
}

// coldGap separates cold starts, as they are rarely back to back: a
// launcher that prepares the next environment ahead (the sandbox's spare
// init) gets the time to do so, as it would between real cold starts.
const coldGap = 50 * time.Millisecond

// warmBlock is how many warm pairs one side runs before the other's turn.
const warmBlock = 50

// warmBoth measures warm invocations of ep (lambdahost) and, if rb is
// not nil, of a new RIE, in alternating blocks.
func warmBoth(ctx context.Context, ep *endpoint, rb *rieBench, cfg *config, ours *runSet) error {
	runs := []*warmRun{{ep: ep, tail: true}}
	if rb != nil {
		r, err := startRIE(rb.spec, "warm")
		if err != nil {
			return err
		}
		defer stopLogged(r.process)
		runs = append(runs, &warmRun{ep: r.endpoint(rb.lc), reports: r.reports, log: r.logPath})
	}
	for _, w := range runs {
		if err := w.warmup(ctx, cfg.invokeWarmup); err != nil {
			return err
		}
	}
	runtime.GC()
	for done := 0; done < cfg.invokeN; done += warmBlock {
		for _, w := range runs {
			if err := w.pairs(ctx, min(warmBlock, cfg.invokeN-done)); err != nil {
				return err
			}
		}
	}
	ours.warm = runs[0].res
	if rb != nil {
		if err := runs[1].finish(); err != nil {
			return err
		}
		rb.set.warm = runs[1].res
	}
	return nil
}

// descendantsDirect returns the children of pid in ppids.
func descendantsDirect(pid int, ppids map[int]int) []int {
	var out []int
	for p, pp := range ppids {
		if pp == pid {
			out = append(out, p)
		}
	}
	return out
}

// sandboxKind says how the server's environment env is isolated, from
// what can be seen from outside.
func sandboxKind(server, env int) string {
	var sep []string
	for _, ns := range []string{"user", "pid", "mnt", "net", "ipc", "uts"} {
		if !sameNamespace(server, env, ns) {
			sep = append(sep, ns)
		}
	}
	cg := "same memory cgroup as the server"
	if a, ok := memoryCgroup(env); ok {
		if b, ok := memoryCgroup(server); !ok || a != b {
			cg = "own memory cgroup"
		}
	}
	if len(sep) == 0 {
		return "plain processes (no namespaces of their own), " + cg
	}
	return "own " + strings.Join(sep, ", ") + " namespaces, " + cg
}

// createInvokeFunction creates fn with l's code.
func createInvokeFunction(ctx context.Context, lc *lambda.Client, fn string, l invokeLang) error {
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(fn),
		Runtime:      l.runtime,
		Handler:      aws.String(l.handler),
		Role:         aws.String(role),
		Code:         &types.FunctionCode{ZipFile: l.zip},
		Timeout:      aws.Int32(30),
	}
	if strings.HasSuffix(fn, "-tmp") {
		in.MemorySize = aws.Int32(tmpMemoryMB)
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(tmpStorageMB)}
		in.Timeout = aws.Int32(300)
	}
	_, err := lc.CreateFunction(ctx, in)
	if err != nil {
		return fmt.Errorf("create %s: %w", fn, err)
	}
	return nil
}

// waitUpdated polls GetFunctionConfiguration every millisecond until fn
// is Active and its last update Successful, and returns how long that took.
func waitUpdated(ctx context.Context, lc *lambda.Client, fn string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
		if err != nil {
			return fmt.Errorf("get %s: %w", fn, err)
		}
		if out.State == types.StateFailed || out.LastUpdateStatus == types.LastUpdateStatusFailed {
			return fmt.Errorf("function %s failed: %s %s", fn, aws.ToString(out.StateReason), aws.ToString(out.LastUpdateStatusReason))
		}
		if out.State == types.StateActive && out.LastUpdateStatus == types.LastUpdateStatusSuccessful {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("function %s not Successful after %s (State %s, LastUpdateStatus %s)", fn, timeout, out.State, out.LastUpdateStatus)
		}
		time.Sleep(time.Millisecond)
	}
}

// warmRun is one side of the warm test. With tail (lambdahost), each
// pair is a plain call, whose round trip is recorded, and a call that asks
// for the log, whose REPORT Duration is subtracted from its round trip.
// Without (RIE), both calls are plain, and their REPORT lines are looked
// up in reports() by the request ID the function answers, at the end.
type warmRun struct {
	ep      *endpoint
	tail    bool
	reports func() ([]reportLine, error)
	log     string // where reports come from, for errors

	res   warmResult
	plain []warmSample
}

type warmSample struct {
	rtt time.Duration
	id  string
}

// warmup makes n untimed calls.
func (w *warmRun) warmup(ctx context.Context, n int) error {
	for range n {
		if _, _, err := w.ep.invoke(ctx, []byte(`{}`), false); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	return nil
}

// pairs makes n timed pairs of calls, one call at a time.
func (w *warmRun) pairs(ctx context.Context, n int) error {
	t0 := time.Now()
	defer func() { w.res.elapsed += time.Since(t0) }()
	for i := range 2 * n {
		withLog := w.tail && i%2 == 1
		rtt, out, err := w.ep.invoke(ctx, []byte(`{}`), withLog)
		if err != nil {
			w.res.errors++
			if w.res.errors > 10 {
				return fmt.Errorf("too many errors; last: %w", err)
			}
			continue
		}
		if !withLog {
			w.res.rtt = append(w.res.rtt, rtt)
			w.plain = append(w.plain, warmSample{rtt, requestIDOf(out.Payload)})
			continue
		}
		r, err := tailReport(out)
		if err != nil {
			return err
		}
		w.res.tailRTT = append(w.res.tailRTT, rtt)
		w.res.duration = append(w.res.duration, r.duration)
		w.res.overhead = append(w.res.overhead, rtt-r.duration)
	}
	return nil
}

// finish matches the plain calls with their REPORT lines (RIE).
func (w *warmRun) finish() error {
	if w.reports == nil {
		return nil
	}
	time.Sleep(100 * time.Millisecond) // RIE prints REPORT after answering
	rs, err := w.reports()
	if err != nil {
		return err
	}
	byID := map[string]reportLine{}
	for _, r := range rs {
		byID[r.requestID] = r
	}
	for _, s := range w.plain {
		if r, ok := byID[s.id]; ok {
			w.res.duration = append(w.res.duration, r.duration)
			w.res.overhead = append(w.res.overhead, s.rtt-r.duration)
		}
	}
	if len(w.res.overhead) < len(w.plain)/2 {
		return fmt.Errorf("found the REPORT line of only %d of %d invocations in %s", len(w.res.overhead), len(w.plain), w.log)
	}
	return nil
}

// concurrentInvokes sends c invocations of payload at once and waits for
// all of them; it returns the round trips.
func concurrentInvokes(ctx context.Context, ep *endpoint, c int, payload []byte) ([]time.Duration, error) {
	var wg sync.WaitGroup
	errs := make([]error, c)
	rtts := make([]time.Duration, c)
	for i := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rtts[i], _, errs[i] = ep.invoke(ctx, payload, false)
		}()
	}
	wg.Wait()
	return rtts, errors.Join(errs...)
}

// measureThroughput runs c clients that each invoke ep in a loop for d,
// and counts the successful invocations. cpuRoot is the process whose
// CPU time (and its descendants') is measured: the server, or RIE.
func measureThroughput(ctx context.Context, ep *endpoint, c int, d time.Duration, cpuRoot int) tputResult {
	res := tputResult{conc: c, statuses: map[string]int{}}
	payload := []byte(`{}`)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	runtime.GC()
	srv0, tree0, cli0 := cpuOf(cpuRoot), treeCPU(cpuRoot), selfCPU()
	t0 := time.Now()
	deadline := t0.Add(d)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			ok, failed := 0, map[string]int{}
			for time.Now().Before(deadline) {
				rtt, _, err := ep.invoke(ctx, payload, false)
				if err != nil {
					failed[errorKind(err)]++
					if !answered(err) {
						break // the server is gone (RIE crashes)
					}
					continue
				}
				ok++
				lat = append(lat, rtt)
			}
			mu.Lock()
			res.ok += ok
			res.lat = append(res.lat, lat...)
			for k, v := range failed {
				res.statuses[k] += v
				res.errors += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(t0)
	srv1, tree1, cli1 := cpuOf(cpuRoot), treeCPU(cpuRoot), selfCPU()
	res.cpuSrv = srv1 - srv0
	res.cpuRT = (tree1 - srv1) - (tree0 - srv0)
	res.cpuCli = cli1 - cli0
	return res
}

// answered reports whether err is an answer of the server (an HTTP
// status), rather than a failure to reach it.
func answered(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() != 0
}

// errorKind names an invocation error briefly, for counting.
func errorKind(err error) string {
	var re *awshttp.ResponseError
	if answered(err) && errors.As(err, &re) {
		return "HTTP " + strconv.Itoa(re.HTTPStatusCode())
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "no answer (" + oe.Op + ": " + oe.Err.Error() + ")"
	}
	s := err.Error()
	if i := strings.Index(s, ":"); i > 0 && i < 40 {
		return s[:i]
	}
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// coldOurs takes cold sample i of fn into res: UpdateFunctionConfiguration
// changes an environment variable (which retires the warm environment),
// the bench waits for Successful, then times one invocation. Sample 0 is
// untimed (it also unpacks the code, which later samples find unpacked).
func coldOurs(ctx context.Context, lc *lambda.Client, fn string, i int, res *coldResult) error {
	t := time.Now()
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(fn),
		Environment:  &types.Environment{Variables: map[string]string{"BENCH_COLD": strconv.Itoa(i)}},
	}); err != nil {
		return fmt.Errorf("update configuration: %w", err)
	}
	if err := waitUpdated(ctx, lc, fn, 30*time.Second); err != nil {
		return err
	}
	settle := time.Since(t)
	rtt, out, err := (&endpoint{lc: lc, fn: fn}).invoke(ctx, []byte(`{}`), true)
	if err != nil {
		res.errors++
		logf("cold invocation %d: %v", i, err)
		return nil
	}
	r, err := tailReport(out)
	if err != nil {
		return err
	}
	if i > 0 {
		res.add(rtt, r, settle)
	}
	return nil
}

// add records a cold sample, unless its REPORT shows no init.
func (c *coldResult) add(rtt time.Duration, r reportLine, settle time.Duration) {
	if r.initDuration == 0 {
		c.notCold++
		return
	}
	c.rtt = append(c.rtt, rtt)
	c.init = append(c.init, r.initDuration)
	c.duration = append(c.duration, r.duration)
	if settle > 0 {
		c.settle = append(c.settle, settle)
	}
}

// coldNewOurs measures n cold starts of functions just created (with the
// same code, already unpacked), so that no earlier environment is retired
// during the invocation. Each function is deleted after its sample,
// untimed; one untimed sample comes first.
func coldNewOurs(ctx context.Context, lc *lambda.Client, prefix string, l invokeLang, n int) (coldResult, error) {
	var res coldResult
	for i := range n + 1 {
		time.Sleep(coldGap)
		fn := prefix + strconv.Itoa(i)
		if err := createInvokeFunction(ctx, lc, fn, l); err != nil {
			return res, err
		}
		t := time.Now()
		if err := waitUpdated(ctx, lc, fn, 30*time.Second); err != nil {
			return res, err
		}
		settle := time.Since(t)
		rtt, out, err := (&endpoint{lc: lc, fn: fn}).invoke(ctx, []byte(`{}`), true)
		if err != nil {
			res.errors++
			logf("cold invocation of %s: %v", fn, err)
		} else if r, err := tailReport(out); err != nil {
			return res, err
		} else if i > 0 {
			res.add(rtt, r, settle)
		}
		if _, err := lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fn)}); err != nil {
			return res, fmt.Errorf("delete %s: %w", fn, err)
		}
	}
	return res, nil
}

// memOurs starts k environments of ep's function at once (k invocations
// that sleep, so each needs its own environment), lets them go idle, and
// adds up the memory of the environments that appeared under the server.
//
// An environment is a child of the server running another executable than
// the server's: the sandbox keeps spare inits (re-executions of the server
// binary, waiting for their environment), and a launch turns a spare, pid
// and all, into the environment's runtime. So the environments are the
// children that run something else now and did not before.
func memOurs(ctx context.Context, ep *endpoint, srv *process, k int) (envMem, []int, error) {
	res := envMem{asked: k}
	pid := srv.cmd.Process.Pid
	before, err := envRoots(pid)
	if err != nil {
		return res, nil, err
	}
	runtime.GC()
	rss0, _, _ := srv.rss()
	if _, err := concurrentInvokes(ctx, ep, k, []byte(fmt.Sprintf(`{"sleep_ms":%d}`, memSleepMS))); err != nil {
		return res, nil, err
	}
	time.Sleep(500 * time.Millisecond) // idle: let the runtimes settle
	after, err := envRoots(pid)
	if err != nil {
		return res, nil, err
	}
	ps, err := processes()
	if err != nil {
		return res, nil, err
	}
	var roots, pids []int
	for _, r := range after {
		if !slices.Contains(before, r) {
			roots = append(roots, r)
			pids = append(append(pids, r), descendants(r, ps)...)
		}
	}
	res.envs = len(roots)
	res.runtime = sumMem(pids)
	rss1, _, _ := srv.rss()
	res.host = rss1 - rss0
	srvCg, _ := memoryCgroup(pid)
	res.cgOK = len(roots) > 0
	for _, r := range roots {
		cg, ok := memoryCgroup(r)
		if !ok || cg == srvCg {
			res.cgOK = false
			res.cgWhy = fmt.Sprintf("environment %d is in memory cgroup %q, the server in %q", r, cg, srvCg)
			break
		}
		u, ok := cgroupUsage(cg)
		if !ok {
			res.cgOK = false
			res.cgWhy = "cannot read the usage of " + cg
			break
		}
		res.cgroup += u
	}
	return res, roots, nil
}

// envRoots returns the children of the server that run another executable
// than the server: its environments' first processes. Its other children
// (spare inits) run the server's binary.
func envRoots(server int) ([]int, error) {
	ps, err := processes()
	if err != nil {
		return nil, err
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", server))
	if err != nil {
		return nil, fmt.Errorf("server executable: %w", err)
	}
	var out []int
	for _, c := range descendantsDirect(server, ps) {
		if e, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", c)); err == nil && e != exe {
			out = append(out, c)
		}
	}
	return out, nil
}

// spares returns the memory of the server's children that run its own
// binary: the sandbox's spare inits.
func spares(server int) treeMem {
	ps, err := processes()
	if err != nil {
		return treeMem{}
	}
	envs, _ := envRoots(server)
	var pids []int
	for _, c := range descendantsDirect(server, ps) {
		if !slices.Contains(envs, c) {
			pids = append(pids, c)
		}
	}
	return sumMem(pids)
}

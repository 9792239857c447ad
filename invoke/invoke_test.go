package invoke_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/invoke"
)

// buildFn builds the aws-lambda-go test function with version tag tag and
// returns a zip holding it as bootstrap.
func buildFn(tag string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "lambdahost-invoke-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-ldflags", "-X main.Version="+tag, "-o", bin, "../internal/testfn/gofn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build test function: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	w.Write(data)
	zw.Close()
	return buf.Bytes(), nil
}

// zips returns test function packages "A" and "B", built once, at once:
// each build is mostly a link, which the other CPU can do.
var zips = func() func(t testing.TB) map[string][]byte {
	build := sync.OnceValues(func() (map[string][]byte, error) {
		var a, b []byte
		var errA, errB error
		var wg sync.WaitGroup
		wg.Go(func() { a, errA = buildFn("A") })
		b, errB = buildFn("B")
		wg.Wait()
		return map[string][]byte{"A": a, "B": b}, errors.Join(errA, errB)
	})
	return func(t testing.TB) map[string][]byte {
		t.Helper()
		m, err := build()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}()

type blob struct{ *bytes.Reader }

func (blob) Close() error { return nil }

type fixture struct {
	x        *invoke.Executor
	launcher *plainLauncher
	code     map[lambdahost.Digest][]byte
	// codeErr, if set, is what opening any code answers.
	codeErr error

	logMu sync.Mutex
	log   []string // every line of FunctionLog
}

// waitLog waits until a line of the functions' log contains s.
func (f *fixture) waitLog(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(waitBound); ; time.Sleep(5 * time.Millisecond) {
		f.logMu.Lock()
		lines := f.log
		f.logMu.Unlock()
		for _, l := range lines {
			if strings.Contains(l, s) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line of the function log contains %q after %v", s, waitBound)
		}
	}
}

// gate returns the path of a file that does not exist yet, for an event's
// "wait_file", and a function that creates it.
func gate(t *testing.T) (path string, open func()) {
	path = filepath.Join(t.TempDir(), "gate")
	return path, func() {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Error(err)
		}
	}
}

func newFixture(t testing.TB, configure ...func(*invoke.Executor)) *fixture {
	f := &fixture{launcher: &plainLauncher{}, code: map[lambdahost.Digest][]byte{}}
	for _, z := range zips(t) {
		f.code[sha256.Sum256(z)] = z
	}
	f.x = &invoke.Executor{
		Launcher: f.launcher,
		Dir:      t.TempDir(),
		Runtime: func(rt string) (*invoke.Runtime, error) {
			if !strings.HasPrefix(rt, "provided") {
				return nil, fmt.Errorf("The runtime %s is not available on this host", rt)
			}
			return &invoke.Runtime{Argv: []string{"/var/task/bootstrap"}}, nil
		},
		Code: func(ctx context.Context, c lambdahost.Code) (lambdahost.Blob, error) {
			if f.codeErr != nil {
				return nil, f.codeErr
			}
			z, ok := f.code[c.Digest]
			if !ok {
				return nil, lambdahost.ErrBlobNotFound
			}
			return blob{bytes.NewReader(z)}, nil
		},
		RetryDelays: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond},
		// Lambda's 10 s could pass before a cold start on a loaded machine.
		InitTimeout: waitBound,
		FunctionLog: func(_ lambdahost.FunctionID, line []byte) {
			f.logMu.Lock()
			f.log = append(f.log, string(line))
			f.logMu.Unlock()
		},
	}
	for _, c := range configure {
		c(f.x)
	}
	f.x.Start()
	t.Cleanup(func() { f.x.Close() })
	return f
}

// testTimeout is the functions' Timeout, in seconds: long enough that it
// never decides a test on a loaded machine, except where a test sets its
// own to see it expire.
const testTimeout = 120

// waitBound bounds every wait for something that happens at once when the
// code works: it only decides how long a broken build takes to fail.
const waitBound = 2 * time.Minute

func target(t testing.TB, tag string, mut ...func(*lambdahost.Version)) invoke.Target {
	v := &lambdahost.Version{
		Function: lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: "fn"},
		Name:     lambdahost.VersionLatest,
		Config:   lambdahost.Config{Runtime: "provided.al2023", Handler: "bootstrap", Timeout: testTimeout, MemorySize: 128},
		Code:     lambdahost.Code{PackageType: lambdahost.PackageZip, Digest: sha256.Sum256(zips(t)[tag])},
	}
	for _, m := range mut {
		m(v)
	}
	return invoke.Target{Function: v.Function, Version: v, InvokedARN: v.Function.ARN(), ExecutedVersion: v.Name}
}

type reply struct {
	Version  string `json:"version"`
	Request  string `json:"request_id"`
	ARN      string `json:"arn"`
	Env      string `json:"env"`
	Deadline int64  `json:"deadline_ms"`
}

var reqN int

func call(t *testing.T, x *invoke.Executor, tg invoke.Target, payload string) *invoke.Result {
	t.Helper()
	reqN++
	res, err := x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: fmt.Sprintf("req-%d", reqN), Payload: []byte(payload), Tail: true})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return res
}

func decode(t *testing.T, res *invoke.Result) reply {
	t.Helper()
	if res.FunctionError != "" {
		t.Fatalf("function error %s: %s\nlog:\n%s", res.ErrorType, res.Payload, res.Log)
	}
	var r reply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("decode %s: %v", res.Payload, err)
	}
	return r
}

func TestInvokeWarmReuse(t *testing.T) {
	f := newFixture(t)
	tg := target(t, "A")
	first := decode(t, call(t, f.x, tg, `{"env":"AWS_LAMBDA_LOG_STREAM_NAME","print":"hello log"}`))
	res := call(t, f.x, tg, `{"env":"AWS_LAMBDA_LOG_STREAM_NAME"}`)
	second := decode(t, res)
	if first.Env == "" || first.Env != second.Env {
		t.Errorf("log streams %q, %q: want one warm environment", first.Env, second.Env)
	}
	if got := f.launcher.count(); got != 1 {
		t.Errorf("launched %d environments, want 1", got)
	}
	if first.Version != "A" || second.ARN != tg.InvokedARN {
		t.Errorf("reply %+v", second)
	}
	if !strings.Contains(string(res.Log), "START RequestId: "+second.Request+" Version: $LATEST") ||
		!strings.Contains(string(res.Log), "REPORT RequestId: "+second.Request+"\tDuration: ") {
		t.Errorf("log:\n%s", res.Log)
	}
}

func TestInvokeLogTail(t *testing.T) {
	f := newFixture(t)
	res := call(t, f.x, target(t, "A"), `{"print":"hello log"}`)
	log := string(res.Log)
	for _, want := range []string{"START RequestId:", "hello log\n", "END RequestId:", "Init Duration:"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	res = call(t, f.x, target(t, "A"), `{"print":"`+strings.Repeat("y", 5000)+`"}`)
	if len(res.Log) != 4096 || !strings.HasSuffix(string(res.Log), "\t\n") {
		t.Errorf("tail of %d bytes, want the last 4096:\n%s", len(res.Log), res.Log)
	}
}

func TestInvokeFailures(t *testing.T) {
	f := newFixture(t)
	tg := target(t, "A")
	// The handler would sleep far past both the one-second Timeout and
	// waitBound: only the timeout can end it in time.
	short := target(t, "A", func(v *lambdahost.Version) { v.Config.Timeout = 1 })
	cases := []struct {
		name, payload, errType, msg string
		tg                          invoke.Target
	}{
		{"HandlerError", `{"fail":"boom"}`, "errorString", `"errorMessage":"boom"`, tg},
		{"Timeout", `{"sleep_ms":600000}`, "Sandbox.Timedout", "Task timed out after 1.00 seconds", short},
		{"Exit", `{"exit":3}`, "Runtime.ExitError", "Runtime exited with error: exit status 3", tg},
		{"Panic", `{"panic":"oops"}`, "", "oops", tg},
		{"TooLarge", `{"size":7000000}`, "Function.ResponseSizeTooLarge", "exceeded maximum allowed payload size (6291556 bytes)", tg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := callWithin(t, f.x, tc.tg, tc.payload)
			if res.FunctionError != "Unhandled" {
				t.Fatalf("FunctionError %q, payload %.200s", res.FunctionError, res.Payload)
			}
			if tc.errType != "" && res.ErrorType != tc.errType {
				t.Errorf("ErrorType %q, want %q", res.ErrorType, tc.errType)
			}
			if !strings.Contains(string(res.Payload), tc.msg) {
				t.Errorf("payload %.200s lacks %q", res.Payload, tc.msg)
			}
			// The next invocation works, in a new environment if needed.
			decode(t, call(t, f.x, tg, `{}`))
		})
	}
}

// callWithin is call, failing the test if the invocation has not ended
// after waitBound.
func callWithin(t *testing.T, x *invoke.Executor, tg invoke.Target, payload string) *invoke.Result {
	t.Helper()
	done := make(chan *invoke.Result, 1)
	reqN++
	req := &invoke.Request{Target: tg, RequestID: fmt.Sprintf("req-%d", reqN), Payload: []byte(payload), Tail: true}
	go func() {
		res, err := x.Invoke(context.Background(), req)
		if err != nil {
			t.Errorf("Invoke: %v", err)
		}
		done <- res
	}()
	select {
	case res := <-done:
		if res == nil {
			t.FailNow()
		}
		return res
	case <-time.After(waitBound):
		t.Fatalf("invocation %s not ended after %v", payload, waitBound)
		return nil
	}
}

func TestInvokeMissingBootstrap(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("handler.txt")
	w.Write([]byte("no bootstrap here"))
	zw.Close()
	d := lambdahost.Digest(sha256.Sum256(buf.Bytes()))
	f.code[d] = buf.Bytes()
	res := call(t, f.x, target(t, "A", func(v *lambdahost.Version) { v.Code.Digest = d }), `{}`)
	if res.ErrorType != "Runtime.InvalidEntrypoint" || !strings.Contains(string(res.Payload), "Couldn't find valid bootstrap") {
		t.Errorf("got %s %s", res.ErrorType, res.Payload)
	}
}

func TestInvokeUnavailableRuntime(t *testing.T) {
	f := newFixture(t)
	_, err := f.x.Invoke(context.Background(), &invoke.Request{
		Target: target(t, "A", func(v *lambdahost.Version) { v.Config.Runtime = "java21" }), RequestID: "r", Payload: []byte("{}"),
	})
	var apiErr *lambdahost.Error
	if !errors.As(err, &apiErr) || apiErr.Type != lambdahost.InvalidRuntimeException {
		t.Fatalf("err = %v, want InvalidRuntimeException", err)
	}
}

// TestInvokeKMSDisabled: when the code's KMS key cannot be used at a cold
// start, Invoke answers the Code function's KMS error as it is (Lambda's
// KMSDisabledException, 502), not InvalidZipFileException.
func TestInvokeKMSDisabled(t *testing.T) {
	f := newFixture(t)
	f.codeErr = lambdahost.Errorf(lambdahost.KMSDisabledException, "the key is disabled")
	_, err := f.x.Invoke(context.Background(), &invoke.Request{Target: target(t, "A"), RequestID: "r", Payload: []byte("{}")})
	var apiErr *lambdahost.Error
	if !errors.As(err, &apiErr) || apiErr.Type != lambdahost.KMSDisabledException || apiErr.Status != 502 {
		t.Fatalf("err = %v, want KMSDisabledException 502", err)
	}
}

// TestCodeSwap: an invocation running when the code changes finishes on
// the old code; the next one runs the new code; the old environment stops.
func TestCodeSwap(t *testing.T) {
	f := newFixture(t)
	a, b := target(t, "A"), target(t, "B")
	decode(t, call(t, f.x, a, `{}`))
	path, release := gate(t)
	slow := make(chan reply)
	go func() {
		res, err := f.x.Invoke(context.Background(), &invoke.Request{Target: a, RequestID: "slow",
			Payload: []byte(`{"print":"slow one running","wait_file":"` + path + `"}`)})
		if err != nil {
			t.Error(err)
			close(slow)
			return
		}
		var r reply
		json.Unmarshal(res.Payload, &r)
		slow <- r
	}()
	f.waitLog(t, "slow one running")
	if got := decode(t, call(t, f.x, b, `{}`)); got.Version != "B" {
		t.Errorf("after the update: version %q, want B", got.Version)
	}
	release()
	if got := <-slow; got.Version != "A" {
		t.Errorf("in-flight invocation: version %q, want A", got.Version)
	}
	// Only B's environment remains: invoking B again launches nothing.
	n := f.launcher.count()
	decode(t, call(t, f.x, b, `{}`))
	if got := f.launcher.count(); got != n {
		t.Errorf("launched %d more environments", got-n)
	}
}

func TestReservedConcurrency(t *testing.T) {
	f := newFixture(t)
	zero, one := 0, 1
	tg := target(t, "A")
	tg.ReservedConcurrency = &zero
	_, err := f.x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: "r0", Payload: []byte("{}")})
	var apiErr *lambdahost.Error
	if !errors.As(err, &apiErr) || apiErr.Type != lambdahost.TooManyRequestsException || apiErr.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Fatalf("err = %v", err)
	}
	tg.ReservedConcurrency = &one
	path, release := gate(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := f.x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: "r1",
			Payload: []byte(`{"print":"r1 holds the slot","wait_file":"` + path + `"}`)})
		if err != nil || res.FunctionError != "" {
			t.Errorf("first invocation: %v %+v", err, res)
		}
	}()
	f.waitLog(t, "r1 holds the slot")
	_, err = f.x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: "r2", Payload: []byte("{}")})
	if !errors.As(err, &apiErr) || apiErr.Type != lambdahost.TooManyRequestsException {
		t.Errorf("second concurrent invocation: err = %v, want throttled", err)
	}
	release()
	<-done
	// The slot is free again.
	decode(t, call(t, f.x, tg, `{}`))
}

func TestAsyncRetries(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var starts int
	f.x.FunctionLog = func(fn lambdahost.FunctionID, line []byte) {
		if bytes.HasPrefix(line, []byte("START RequestId: async")) {
			mu.Lock()
			starts++
			mu.Unlock()
		}
	}
	f.x.InvokeAsync(&invoke.Request{Target: target(t, "A"), RequestID: "async", Payload: []byte(`{"fail":"always"}`)})
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := starts
		mu.Unlock()
		if n >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if starts != 3 {
		t.Errorf("%d attempts, want 3 (one and two retries)", starts)
	}
}

// TestCloseStopsBusyEnvironments: Close lets a running invocation finish
// for CloseGrace only, then stops its environment. The invocation would
// run for ten minutes (its Timeout is longer): only Close can end it
// within waitBound.
func TestCloseStopsBusyEnvironments(t *testing.T) {
	f := newFixture(t)
	f.x.CloseGrace = 200 * time.Millisecond
	tg := target(t, "A", func(v *lambdahost.Version) { v.Config.Timeout = 900 })
	decode(t, call(t, f.x, tg, `{}`))
	got := make(chan *invoke.Result, 1)
	go func() {
		res, _ := f.x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: "long",
			Payload: []byte(`{"print":"long one running","sleep_ms":600000}`)})
		got <- res
	}()
	f.waitLog(t, "long one running")
	closed := make(chan struct{})
	go func() {
		f.x.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(waitBound):
		t.Fatalf("Close still waiting after %v with a 200ms grace", waitBound)
	}
	select {
	case res := <-got:
		if res == nil || res.ErrorType != "Runtime.ExitError" {
			t.Errorf("running invocation ended with %+v, want Runtime.ExitError", res)
		}
	case <-time.After(waitBound):
		t.Fatal("running invocation did not end")
	}
}

// chunkRecorder is a StreamWriter that keeps what it was sent and, for
// each chunk "chunk <i>;" it has received, creates the file ackPrefix+<i>
// that the function waits for before it writes the next chunk.
type chunkRecorder struct {
	ackPrefix string
	mu        sync.Mutex
	chunks    []string
	acked     int
}

func (r *chunkRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chunks = append(r.chunks, string(p))
	if r.ackPrefix != "" {
		all := strings.Join(r.chunks, "")
		for strings.Contains(all, fmt.Sprintf("chunk %d;", r.acked)) {
			if err := os.WriteFile(fmt.Sprintf("%s%d", r.ackPrefix, r.acked), nil, 0o644); err != nil {
				return 0, err
			}
			r.acked++
		}
	}
	return len(p), nil
}

func (r *chunkRecorder) Flush() error { return nil }

// TestStreamedResponse: a response the runtime sends in chunks reaches a
// streaming caller as it is written, and a failure mid-stream, reported
// in the trailers, ends it as a function error.
func TestStreamedResponse(t *testing.T) {
	f := newFixture(t)
	tg := target(t, "A")
	// The function writes each chunk only once the caller has received
	// the one before: a response held back until its end would never
	// end (and fail at the function's deadline).
	rec := &chunkRecorder{ackPrefix: filepath.Join(t.TempDir(), "ack-")}
	payload := `{"chunks":4,"ack_prefix":"` + rec.ackPrefix + `"}`
	res, err := f.x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: "s1", Payload: []byte(payload), Stream: rec})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Streamed || res.FunctionError != "" {
		t.Fatalf("result %+v %s", res, res.Payload)
	}
	if got := strings.Join(rec.chunks, ""); got != "chunk 0;chunk 1;chunk 2;chunk 3;" {
		t.Errorf("streamed %q", got)
	}

	res, err = f.x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: "s2", Payload: []byte(`{"chunks":4,"break_after":2}`), Stream: &chunkRecorder{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "stream broke") {
		t.Errorf("broken stream: %+v %s", res, res.Payload)
	}

	// Without a streaming caller the chunks are buffered into one payload.
	res = call(t, f.x, tg, `{"chunks":3}`)
	if string(res.Payload) != "chunk 0;chunk 1;chunk 2;" || res.FunctionError != "" {
		t.Errorf("buffered: %s %+v", res.Payload, res)
	}
}

// TestForeignArchitecture: a provided runtime built for an architecture
// the host cannot run is refused with a clear error, unless the host can
// emulate it.
func TestForeignArchitecture(t *testing.T) {
	f := newFixture(t)
	f.x.Arch = "x86_64"
	tg := target(t, "A", func(v *lambdahost.Version) { v.Config.Architectures = []string{"arm64"} })
	_, err := f.x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: "arm", Payload: []byte("{}")})
	var apiErr *lambdahost.Error
	if !errors.As(err, &apiErr) || apiErr.Type != lambdahost.InvalidRuntimeException || !strings.Contains(apiErr.Message, "arm64") {
		t.Fatalf("err = %v, want InvalidRuntimeException naming arm64", err)
	}
	// With an emulator for arm64 the launch goes ahead (the test binary
	// is x86_64, so it runs either way).
	f2 := newFixture(t)
	f2.x.Arch, f2.x.Foreign = "x86_64", []string{"arm64"}
	decode(t, call(t, f2.x, tg, `{}`))
}

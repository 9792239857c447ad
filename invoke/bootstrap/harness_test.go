package bootstrap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// waitFor bounds every wait on a runtime process for something that
// happens at once when the code works: it only decides how long a broken
// build takes to fail, so it is generous for a loaded machine.
const waitFor = 2 * time.Minute

// fakeAPI is a Runtime API (2018-06-01) on 127.0.0.1 that hands out the
// invocations the test queues and records what the runtime posts.
type fakeAPI struct {
	// Set by options, before the server starts:
	connClose  bool     // answer /next with Connection: close
	nextStatus int      // if set, answer /next with this error status
	postStatus int      // if set, answer the first post with this status
	closeIdle  bool     // close every connection as soon as it is idle
	env        []string // more variables for the runtime ("K=V")

	srv       *httptest.Server
	rejected  atomic.Bool
	next      chan *invocation
	posts     chan *post
	done      chan struct{}
	conns     atomic.Int32
	firstNext chan time.Time
	once      sync.Once
}

// invocation is one event handed to the runtime by GET /next.
type invocation struct {
	ID          string
	Payload     string
	ContentType string // if empty, application/json
	Deadline    time.Time
	ARN         string
	TraceID     string
	ClientCtx   string
	Identity    string
}

// post is what the runtime sent to /response, /error or /init/error.
type post struct {
	Kind   string // "response", "error" or "init"
	ID     string
	Header http.Header
	Body   []byte
}

func (p *post) String() string {
	return fmt.Sprintf("%s %s %s", p.Kind, p.ID, p.Body)
}

// decode unmarshals the body into v, failing the test if it is not JSON.
func (p *post) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(p.Body, v); err != nil {
		t.Fatalf("%s body %q: %v", p.Kind, p.Body, err)
	}
}

// checkTwoInvokes invokes p with the events n=1 and n=2, whose handler
// answers {"Event": event, "PID": its process ID}, and checks that p's one
// process answered both over one connection. It returns the answers for
// a runtime's own checks.
func checkTwoInvokes(t *testing.T, p *proc) (first, second *post) {
	t.Helper()
	var a, b struct {
		Event map[string]any
		PID   int
	}
	first, second = p.invoke(&invocation{Payload: `{"n":1}`}), p.invoke(&invocation{Payload: `{"n":2}`})
	first.decode(t, &a)
	second.decode(t, &b)
	if a.Event["n"] != 1.0 || b.Event["n"] != 2.0 {
		t.Errorf("events %v, %v; want n=1, n=2", a.Event, b.Event)
	}
	if a.PID != b.PID || a.PID != p.cmd.Process.Pid {
		t.Errorf("pids %d, %d; want both %d", a.PID, b.PID, p.cmd.Process.Pid)
	}
	if n := p.api.conns.Load(); n != 1 {
		t.Errorf("runtime opened %d connections, want 1", n)
	}
	return first, second
}

// apiOption configures a fakeAPI before it starts.
type apiOption func(*fakeAPI)

func newFakeAPI(t testing.TB, opts ...apiOption) *fakeAPI {
	a := &fakeAPI{
		next:      make(chan *invocation),
		posts:     make(chan *post, 16),
		done:      make(chan struct{}),
		firstNext: make(chan time.Time, 1),
	}
	for _, o := range opts {
		o(a)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", a.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", a.handlePost("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", a.handlePost("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", a.handlePost("init"))
	a.srv = httptest.NewUnstartedServer(mux)
	a.srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		switch {
		case s == http.StateNew:
			a.conns.Add(1)
		case s == http.StateIdle && a.closeIdle:
			c.Close()
		}
	}
	a.srv.Start()
	t.Cleanup(func() {
		close(a.done)
		a.srv.Close()
	})
	return a
}

// Addr is the value of AWS_LAMBDA_RUNTIME_API.
func (a *fakeAPI) Addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *fakeAPI) handleNext(w http.ResponseWriter, r *http.Request) {
	a.once.Do(func() { a.firstNext <- time.Now() })
	if a.nextStatus != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.nextStatus)
		io.WriteString(w, `{"errorMessage":"Container error, non-recoverable, runtime should exit","errorType":"Runtime.Error"}`)
		return
	}
	var inv *invocation
	select {
	case inv = <-a.next:
	case <-r.Context().Done():
		return
	case <-a.done:
		return
	}
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.ID)
	h.Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(inv.Deadline.UnixMilli()))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.ARN)
	if inv.TraceID != "" {
		h.Set("Lambda-Runtime-Trace-Id", inv.TraceID)
	}
	if inv.ClientCtx != "" {
		h.Set("Lambda-Runtime-Client-Context", inv.ClientCtx)
	}
	if inv.Identity != "" {
		h.Set("Lambda-Runtime-Cognito-Identity", inv.Identity)
	}
	ct := inv.ContentType
	if ct == "" {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	if a.connClose {
		h.Set("Connection", "close")
	}
	io.WriteString(w, inv.Payload)
}

func (a *fakeAPI) handlePost(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.posts <- &post{Kind: kind, ID: r.PathValue("id"), Header: r.Header.Clone(), Body: body}
		w.Header().Set("Content-Type", "application/json")
		if a.postStatus != 0 && a.rejected.CompareAndSwap(false, true) {
			w.WriteHeader(a.postStatus)
			io.WriteString(w, `{"errorMessage":"rejected by the test","errorType":"RequestEntityTooLarge"}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"OK"}`)
	}
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a runtime process talking to a fakeAPI.
type proc struct {
	t       testing.TB
	api     *fakeAPI
	cmd     *exec.Cmd
	out     *lockedBuffer
	started time.Time
	exited  chan struct{}
	code    int
}

// runtimeDir holds the runtime clients, installed once for all tests.
var runtimeDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lambdahost-bootstrap-test-")
	if err != nil {
		return "", err
	}
	return dir, bootstrap.Discover().Install(context.Background(), dir)
})

// host is the discovered host, with the bootstraps written.
func host(t testing.TB) *bootstrap.Host {
	t.Helper()
	dir, err := runtimeDir()
	if err != nil {
		t.Fatal(err)
	}
	h := bootstrap.Discover()
	h.BootstrapDir = dir
	return h
}

// resolve resolves runtime, skipping the test if the host lacks it.
func resolve(t testing.TB, runtime string) *bootstrap.Runtime {
	t.Helper()
	rt, err := host(t).Resolve(runtime)
	if err != nil {
		t.Skipf("skipping %s: %v", runtime, err)
	}
	return rt
}

// hostArgv is rt.Argv with its paths mapped back to the host, to run the
// runtime directly on the host, without an environment.
func hostArgv(t testing.TB, rt *bootstrap.Runtime) []string {
	dir, _ := runtimeDir()
	argv := []string{rt.Interpreter}
	for _, a := range rt.Argv[1:] {
		if rest, ok := strings.CutPrefix(a, bootstrap.RuntimeMount+"/"); ok {
			a = filepath.Join(dir, rest)
		}
		argv = append(argv, a)
	}
	return argv
}

// writeFiles creates files (name → content) under a new directory.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// lambdaEnv is what the executor gives every function, for a test.
func lambdaEnv(api *fakeAPI, taskRoot, handler string) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + api.Addr(),
		"_HANDLER=" + handler,
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"AWS_LAMBDA_FUNCTION_NAME=fn",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/fn",
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/01/01/[$LATEST]0123456789abcdef",
		"AWS_REGION=us-east-1",
		"TZ=:UTC",
		"HOME=" + taskRoot,
	}
}

// start runs rt directly on the host against a new fake Runtime API
// configured by opts, with the function's code in taskRoot.
func start(t testing.TB, rt *bootstrap.Runtime, taskRoot, handler string, opts ...apiOption) *proc {
	t.Helper()
	api := newFakeAPI(t, opts...)
	argv := hostArgv(t, rt)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = taskRoot
	cmd.Env = append(append(append([]string{}, rt.Env...), lambdaEnv(api, taskRoot, handler)...), api.env...)
	return startCmd(t, api, cmd)
}

func startCmd(t testing.TB, api *fakeAPI, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{t: t, api: api, cmd: cmd, out: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("runtime output:\n%s", p.out)
		}
	})
	return p
}

// invoke hands inv to the runtime and returns what it posts back.
func (p *proc) invoke(inv *invocation) *post {
	p.t.Helper()
	if inv.ID == "" {
		inv.ID = fmt.Sprintf("req-%d", time.Now().UnixNano())
	}
	if inv.Deadline.IsZero() {
		inv.Deadline = time.Now().Add(time.Minute)
	}
	if inv.ARN == "" {
		inv.ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
	}
	if inv.Payload == "" {
		inv.Payload = "{}"
	}
	select {
	case p.api.next <- inv:
	case <-p.exited:
		p.t.Fatalf("runtime exited (code %d) before taking an invocation", p.code)
	case <-time.After(waitFor):
		p.t.Fatal("runtime did not ask for an invocation")
	}
	got := p.wait()
	if got.Kind != "init" && got.ID != inv.ID {
		p.t.Fatalf("posted for request %q, want %q", got.ID, inv.ID)
	}
	return got
}

// wait returns the next thing the runtime posts.
func (p *proc) wait() *post {
	p.t.Helper()
	select {
	case got := <-p.api.posts:
		return got
	case <-p.exited:
		select {
		case got := <-p.api.posts:
			return got
		default:
		}
		p.t.Fatalf("runtime exited (code %d) without posting", p.code)
	case <-time.After(waitFor):
		p.t.Fatal("runtime posted nothing")
	}
	return nil
}

// exitCode waits for the runtime to exit.
func (p *proc) exitCode() int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(waitFor):
		p.t.Fatal("runtime did not exit")
		return 0
	}
}

// waitNext waits for the runtime's first GET /next and returns how long
// after the process start it came.
func (p *proc) waitNext() time.Duration {
	p.t.Helper()
	select {
	case at := <-p.api.firstNext:
		return at.Sub(p.started)
	case <-p.exited:
		p.t.Fatalf("runtime exited (code %d) during init", p.code)
	case <-time.After(waitFor):
		p.t.Fatal("runtime never asked for an invocation")
	}
	return 0
}

// wantResponse checks that got is a response whose body is the JSON want.
func wantResponse(t *testing.T, got *post, want string) {
	t.Helper()
	if got.Kind != "response" {
		t.Fatalf("got %s, want a response %s", got, want)
	}
	if !jsonEqual(got.Body, []byte(want)) {
		t.Errorf("response %s, want %s", got.Body, want)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// outputHas waits until the runtime's output contains every one of wants
// (output is copied from a pipe, so it may lag behind what the runtime
// posted), and returns the output; it fails the test on a timeout.
func (p *proc) outputHas(wants ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		out := p.out.String()
		missing := ""
		for _, w := range wants {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			p.t.Errorf("output lacks %q:\n%s", missing, out)
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// outputMatches waits until the runtime's output matches re.
func (p *proc) outputMatches(re *regexp.Regexp) string {
	p.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		out := p.out.String()
		if re.MatchString(out) {
			return out
		}
		if time.Now().After(deadline) {
			p.t.Errorf("output does not match %s:\n%s", re, out)
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := runtimeDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// Options of fakeAPI.
var (
	withConnectionClose = func(a *fakeAPI) { a.connClose = true }
	withCloseIdle       = func(a *fakeAPI) { a.closeIdle = true }
	withNextStatus      = func(code int) apiOption { return func(a *fakeAPI) { a.nextStatus = code } }
	withPostStatus      = func(code int) apiOption { return func(a *fakeAPI) { a.postStatus = code } }
	// withEnv gives the runtime more environment variables.
	withEnv = func(kv ...string) apiOption { return func(a *fakeAPI) { a.env = append(a.env, kv...) } }
)

// testConnection checks how a runtime client copes with the Runtime API's
// connection and errors; slow is a handler that takes 400 ms.
func testConnection(t *testing.T, start func(handler string, opts ...apiOption) *proc, fast, slow string) {
	t.Run("server-closes-idle-connection", func(t *testing.T) {
		// The server closes the connection of /next as soon as it has
		// answered, as an idle timeout shorter than the handler would,
		// without a timer to race with.
		p := start(slow, withCloseIdle)
		if got := p.invoke(&invocation{}); got.Kind != "response" {
			t.Errorf("got %s, want a response", got)
		}
		if got := p.invoke(&invocation{}); got.Kind != "response" {
			t.Errorf("second invoke: got %s, want a response", got)
		}
		if n := p.api.conns.Load(); n < 2 {
			t.Errorf("%d connections; the server did not close the idle one", n)
		}
	})
	t.Run("connection-close", func(t *testing.T) {
		p := start(fast, withConnectionClose)
		for i := range 2 {
			if got := p.invoke(&invocation{}); got.Kind != "response" {
				t.Errorf("invoke %d: got %s, want a response", i, got)
			}
		}
		if n := p.api.conns.Load(); n < 2 {
			t.Errorf("%d connections, want a new one after each Connection: close", n)
		}
	})
	t.Run("response-rejected", func(t *testing.T) {
		p := start(fast, withPostStatus(http.StatusRequestEntityTooLarge))
		p.invoke(&invocation{})
		if got := p.invoke(&invocation{}); got.Kind != "response" {
			t.Errorf("after a rejected response: got %s, want the loop to go on", got)
		}
	})
	t.Run("next-fails", func(t *testing.T) {
		p := start(fast, withNextStatus(http.StatusInternalServerError))
		if code := p.exitCode(); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
	})
}

package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox"
)

// python is the interpreter the tests run inside environments.
const python = "/usr/bin/python3"

// requireEnv makes skipped prerequisites fail instead, as in CI.
var requireEnv = os.Getenv("LAMBDAHOST_E2E_REQUIRE") == "1"

// skipOrFail skips the test for reason, or fails it under
// LAMBDAHOST_E2E_REQUIRE=1.
func skipOrFail(tb testing.TB, reason string) {
	tb.Helper()
	if requireEnv {
		tb.Fatalf("LAMBDAHOST_E2E_REQUIRE=1: %s", reason)
	}
	tb.Skip(reason)
}

// mustNamespaces returns a Launcher in ModeNamespaces, or skips the test
// when this host cannot provide one.
func mustNamespaces(tb testing.TB, opts sandbox.Options) *sandbox.Launcher {
	tb.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(tb, "namespaces mode needs root")
	}
	opts.Mode = sandbox.ModeNamespaces
	if opts.StateDir == "" {
		opts.StateDir = tb.TempDir()
	}
	l, err := sandbox.New(opts)
	if err != nil {
		skipOrFail(tb, fmt.Sprintf("namespaces unavailable: %v", err))
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// mustProcess returns a Launcher in ModeProcess.
func mustProcess(tb testing.TB, opts sandbox.Options) *sandbox.Launcher {
	tb.Helper()
	opts.Mode = sandbox.ModeProcess
	if opts.StateDir == "" {
		opts.StateDir = publicDir(tb)
	}
	l, err := sandbox.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	if l.Mode() != sandbox.ModeProcess {
		tb.Fatalf("Mode=%q, want %q", l.Mode(), sandbox.ModeProcess)
	}
	return l
}

// mustPython skips the test without the interpreter the tests run.
func mustPython(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(python); err != nil {
		skipOrFail(tb, python+" is not installed")
	}
}

// publicDir returns a new directory that every user can reach and write,
// as environments' users (an unprivileged host uid) must.
func publicDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "sandbox-test-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// codeDir returns a world-writable directory holding the test's scripts, so
// that only a read-only mount can make it unwritable inside an environment.
func codeDir(tb testing.TB) string {
	tb.Helper()
	dir := publicDir(tb)
	b, err := os.ReadFile("testdata/inspect.py")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inspect.py"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// buffer is an io.Writer safe to read while an environment writes to it.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// mustLaunch launches spec and kills the environment when the test ends.
func mustLaunch(tb testing.TB, l *sandbox.Launcher, spec *lambdahost.LaunchSpec) lambdahost.Process {
	tb.Helper()
	if spec.ID == "" {
		spec.ID = strings.NewReplacer("/", "-", " ", "_").Replace(tb.Name())
	}
	p, err := l.Launch(context.Background(), spec)
	if err != nil {
		tb.Fatalf("Launch: %v", err)
	}
	tb.Cleanup(func() {
		if err := p.Kill(); err != nil {
			tb.Errorf("Kill: %v", err)
		}
	})
	return p
}

// waitDone waits for the environment to end.
func waitDone(tb testing.TB, p lambdahost.Process) lambdahost.ProcessExit {
	tb.Helper()
	select {
	case <-p.Done():
		return p.Exit()
	case <-time.After(waitBound):
		tb.Fatalf("environment did not end within %v", waitBound)
		return lambdahost.ProcessExit{}
	}
}

// waitOutput waits until the environment's output contains s.
func waitOutput(tb testing.TB, out *buffer, s string) {
	tb.Helper()
	deadline := time.Now().Add(waitBound)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			tb.Fatalf("output %q does not contain %q after %v", out.String(), s, waitBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// decodeJSON decodes the last line of out into v.
func decodeJSON(tb testing.TB, out string, v any) {
	tb.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
		tb.Fatalf("decode output %q: %v", out, err)
	}
}

// serve answers every request on l with body, until the test ends.
func serve(tb testing.TB, l net.Listener, body string) {
	tb.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	})}
	go srv.Serve(l)
	tb.Cleanup(func() { srv.Close() })
}

// hostListener listens on the host's loopback and records whether anything
// connected.
func hostListener(tb testing.TB) (port int, accepted func() bool) {
	tb.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	got := false
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			got = true
			mu.Unlock()
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

var probe struct {
	once sync.Once
	dir  string
	err  error
}

// probeBinary builds testdata/probe as a static binary, once per test run,
// and returns its path.
func probeBinary(tb testing.TB) string {
	tb.Helper()
	probe.once.Do(func() {
		probe.dir, probe.err = os.MkdirTemp("", "sandbox-probe-")
		if probe.err != nil {
			return
		}
		os.Chmod(probe.dir, 0o755)
		// go test puts its own go first in PATH.
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(probe.dir, "probe"), "./testdata/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			probe.err = fmt.Errorf("build probe: %v\n%s", err, out)
		}
	})
	if probe.err != nil {
		tb.Fatal(probe.err)
	}
	return filepath.Join(probe.dir, "probe")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if probe.dir != "" {
		os.RemoveAll(probe.dir)
	}
	os.Exit(code)
}

// setupErrorOptions are the Options of the launchers that wantLaunchError
// checks: an output delay far longer than waitBound, so that a failed
// start that waited it out could not pass.
var setupErrorOptions = sandbox.Options{OutputDelay: time.Hour}

// waitBound bounds waits for what happens at once when the code works.
const waitBound = 2 * time.Minute

// wantLaunchError checks that l, made with setupErrorOptions, refuses spec
// with an error containing want, without waiting out the output delay.
func wantLaunchError(t *testing.T, l lambdahost.Launcher, spec *lambdahost.LaunchSpec, want string) {
	t.Helper()
	type result struct {
		p   lambdahost.Process
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := l.Launch(context.Background(), spec)
		done <- result{p, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(waitBound):
		t.Fatalf("Launch still running after %v: a failed start waits out the output delay", waitBound)
	}
	if r.err == nil {
		r.p.Kill()
		t.Fatalf("Launch succeeded, want error containing %q", want)
	}
	if !strings.Contains(r.err.Error(), want) {
		t.Errorf("Launch error %q, want it to contain %q", r.err, want)
	}
}

//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts of the harness. They only decide how long a broken build takes
// to fail, so they are generous for a loaded machine.
const (
	readyTimeout = 2 * time.Minute
	// stopTimeout covers the server's 30-second drain of in-flight
	// requests, and then some.
	stopTimeout = 2 * time.Minute
	// initTimeout is the servers' --init-timeout.
	initTimeout = 2 * time.Minute
)

// Credentials are one access key of lambdahost's --credentials file.
type Credentials struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	AccountID       string `json:"account_id"`
}

// TestCredentials are the built-in credentials lambdahost accepts when it
// runs without --credentials.
var TestCredentials = Credentials{AccessKeyID: "test", SecretAccessKey: "test", AccountID: "000000000000"}

// WriteCredentialsFile writes a --credentials file holding creds into a
// temporary directory of t and returns its path.
func WriteCredentialsFile(t testing.TB, creds ...Credentials) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"credentials": creds})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials runs the server with --credentials path.
func WithCredentials(path string) Option {
	return func(s *Server) { s.args = append(s.args, "--credentials", path) }
}

// WithArgs appends args to the serve command line.
func WithArgs(args ...string) Option {
	return func(s *Server) { s.args = append(s.args, args...) }
}

// WithEnv adds environment variables ("K=V") to the server's.
func WithEnv(kv ...string) Option {
	return func(s *Server) { s.env = append(s.env, kv...) }
}

// Server is a lambdahost serve process owned by one test.
type Server struct {
	// Dir is the test's directory: the data directory and the ready file live here.
	Dir string
	// DataDir is the --data-dir; it survives Kill and Restart.
	DataDir string
	// Endpoint is the base URL of the API ("http://127.0.0.1:PORT"). It
	// changes on Restart.
	Endpoint string

	t      testing.TB
	shared bool // the package's shared server: no test may stop it
	args   []string
	env    []string
	proc   *process
}

// process is one run of the binary.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and its output is flushed
	err  error         // cmd.Wait's error, set before done is closed
	log  *logWriter
}

// Start runs lambdahost serve on 127.0.0.1:0 with a fresh data directory
// and waits until it is ready. Its log goes to t.Log. When the test ends the
// server gets SIGTERM, and the test fails unless it exits with status 0.
// A test that needs no options, restart or account of its own can use the
// package's shared server instead (Shared).
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{Dir: dir, DataDir: filepath.Join(dir, "data"), t: t}
	for _, o := range opts {
		o(s)
	}
	if err := s.start(t); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !s.Running() {
			return
		}
		code, err := s.Stop()
		if err != nil {
			t.Errorf("stop lambdahost: %v", err)
		} else if code != 0 {
			t.Errorf("lambdahost exited with status %d after SIGTERM, want 0", code)
		}
	})
	return s
}

// start starts the process, logging to log, and waits until it is ready.
func (s *Server) start(log testing.TB) error {
	ready := filepath.Join(s.Dir, "ready.json")
	if err := os.Remove(ready); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// A runtime gets initTimeout to start, not Lambda's 10 s, which a cold
	// start on a loaded machine could take; a test's own --init-timeout,
	// later on the command line, wins.
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", s.DataDir, "--ready-file", ready,
		"--init-timeout", initTimeout.String()}, s.args...)
	cmd := exec.Command(binary, args...)
	// Tests reach only this machine: the server's AWS SDK must not probe
	// the EC2 metadata address or resolve AWS's S3 endpoints. S3 defaults
	// to a loopback port where nothing listens; tests that need S3 pass
	// --s3-endpoint.
	env := append(envWithout(os.Environ(), "LAMBDAHOST_"), "AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9")
	cmd.Env = append(env, s.env...)
	dieWithTest(cmd)
	p := &process{cmd: cmd, done: make(chan struct{}), log: &logWriter{t: log}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start lambdahost: %v", err)
	}
	p.log.setPrefix(fmt.Sprintf("lambdahost[%d]: ", cmd.Process.Pid))
	go func() {
		p.err = cmd.Wait()
		p.log.flush()
		close(p.done)
	}()
	s.proc = p

	deadline := time.Now().Add(readyTimeout)
	for {
		b, err := os.ReadFile(ready)
		if err == nil {
			var r struct{ Address, Endpoint string }
			if err := json.Unmarshal(b, &r); err != nil || r.Endpoint == "" {
				s.kill()
				return fmt.Errorf("ready file %s: %q: %v", ready, b, err)
			}
			s.Endpoint = r.Endpoint
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("lambdahost exited before it was ready: %v", p.err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("lambdahost not ready after %v", readyTimeout)
		}
	}
}

// The package's shared server (Shared).
var shared struct {
	once sync.Once
	srv  *Server
	err  error
	log  sharedLog
}

// Shared returns the server the package's tests share, started on first
// use with default options: one process instead of one per test. A test
// may use it only if
//   - it names what it creates (functions, aliases, code signing
//     configs...) after itself, so that no other test uses those names;
//   - it reads no state of the account that other tests change: not
//     ListFunctions' or ListCodeSigningConfigs' full lists, not
//     GetAccountSettings' AccountUsage, not the code storage quota;
//   - it needs no options and never stops, kills, signals or restarts the
//     server (those methods fail the test).
//
// The server runs until TestMain has run every test, which then stops it
// and fails the run unless it exits with status 0. Its log is kept: a test
// that fails gets the lines logged while it ran (other tests' among them).
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "lambdahost-e2e-shared-")
		if err != nil {
			shared.err = err
			return
		}
		s := &Server{Dir: dir, DataDir: filepath.Join(dir, "data"), shared: true}
		shared.srv, shared.err = s, s.start(&shared.log)
	})
	if shared.err != nil {
		t.Fatalf("shared server: %v", shared.err)
	}
	mark := shared.log.len()
	t.Cleanup(func() {
		if t.Failed() {
			for _, line := range shared.log.since(mark) {
				t.Log("shared " + line)
			}
		}
	})
	return shared.srv
}

// stopShared stops the shared server, if it was started, and reports
// whether it exited with status 0 after SIGTERM.
func stopShared() bool {
	s := shared.srv
	if s == nil {
		return true
	}
	defer os.RemoveAll(s.Dir)
	if s.proc == nil || !s.Running() {
		if s.proc != nil {
			fmt.Fprintf(os.Stderr, "e2e: the shared server exited during the tests: %v\n%s", s.proc.err, shared.log.tail(50))
			return false
		}
		return true
	}
	code, err := s.stop()
	if err != nil || code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: stop the shared server: status %d, %v\n%s", code, err, shared.log.tail(50))
		return false
	}
	return true
}

// sharedLog keeps the shared server's log. It is the testing.TB the
// server's logWriter writes to, of which it implements only Log.
type sharedLog struct {
	testing.TB
	mu    sync.Mutex
	lines []string
}

func (l *sharedLog) Log(args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(args...))
}

func (l *sharedLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func (l *sharedLog) since(i int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines[i:])
}

func (l *sharedLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-n):], "\n")
}

// Running reports whether the server process is running.
func (s *Server) Running() bool {
	if s.proc == nil {
		return false
	}
	select {
	case <-s.proc.done:
		return false
	default:
		return true
	}
}

// notShared panics if s is the shared server, which tests may not stop,
// signal or restart: that is a bug of the test, which should use Start.
func (s *Server) notShared(method string) {
	if s.shared {
		panic("e2e: " + method + " on the shared server; a test that needs that must Start its own")
	}
}

// Signal sends sig to the server process without waiting.
func (s *Server) Signal(sig syscall.Signal) {
	s.notShared("Signal")
	s.t.Helper()
	if err := s.proc.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal lambdahost: %v", err)
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// status (-1 if a signal killed it).
func (s *Server) Wait(timeout time.Duration) (int, error) {
	select {
	case <-s.proc.done:
	case <-time.After(timeout):
		return 0, fmt.Errorf("lambdahost still running after %v", timeout)
	}
	var ee *exec.ExitError
	if errors.As(s.proc.err, &ee) {
		return ee.ExitCode(), nil
	}
	if s.proc.err != nil {
		return 0, s.proc.err
	}
	return 0, nil
}

// Stop sends SIGTERM and waits for the process to exit, returning its exit
// status. A process that does not exit in time is killed.
func (s *Server) Stop() (int, error) {
	s.notShared("Stop")
	return s.stop()
}

func (s *Server) stop() (int, error) {
	if err := s.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return 0, err
	}
	code, err := s.Wait(stopTimeout)
	if err != nil {
		s.kill()
	}
	return code, err
}

// Kill sends SIGKILL, as a crash would, and waits for the process to die.
func (s *Server) Kill() {
	s.notShared("Kill")
	s.t.Helper()
	s.kill()
}

func (s *Server) kill() {
	_ = s.proc.cmd.Process.Signal(syscall.SIGKILL)
	<-s.proc.done
}

// Restart starts the server again on the same data directory, after Kill
// or Stop. The endpoint changes.
func (s *Server) Restart() {
	s.notShared("Restart")
	s.t.Helper()
	if s.Running() {
		s.t.Fatal("Restart: lambdahost is still running")
	}
	if err := s.start(s.t); err != nil {
		s.t.Fatal(err)
	}
}

// logWriter copies the server's output to t.Log line by line.
type logWriter struct {
	t      testing.TB
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.t.Log(w.prefix + string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(b), nil
}

func (w *logWriter) setPrefix(prefix string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.prefix = prefix
}

func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.t.Log(w.prefix + string(w.buf))
		w.buf = nil
	}
}

// dieWithTest makes cmd's process get SIGKILL if the test binary dies (a
// test timeout panics), so that no server or script outlives the tests.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// envWithout returns env without the variables whose names start with prefix.
func envWithout(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

// requireTool skips the test when a tool it drives is missing, or fails it
// when LAMBDAHOST_E2E_REQUIRE=1 (as in CI).
func requireTool(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("LAMBDAHOST_E2E_REQUIRE") == "1" {
		t.Fatalf("%s (LAMBDAHOST_E2E_REQUIRE=1)", reason)
	}
	t.Skip(reason)
}

var (
	awsOnce    sync.Once
	awsPath    string
	awsErr     error
	pythonOnce sync.Once
	pythonPath string
	pythonErr  error
)

// lookPath is exec.LookPath, but for a pyenv shim it returns the program
// the shim runs: the shim's bash scripts cost some 70 ms of CPU per run,
// and the tests run the aws CLI hundreds of times.
func lookPath(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil || filepath.Base(filepath.Dir(path)) != "shims" {
		return path, err
	}
	out, err := exec.Command("pyenv", "which", name).Output()
	if real := strings.TrimSpace(string(out)); err == nil && filepath.IsAbs(real) {
		return real, nil
	}
	return path, nil
}

// needAWS returns the path of the aws CLI, or skips the test.
func needAWS(t testing.TB) string {
	t.Helper()
	awsOnce.Do(func() {
		awsPath, awsErr = lookPath("aws")
		if awsErr == nil {
			awsErr = exec.Command(awsPath, "--version").Run()
		}
	})
	if awsErr != nil {
		requireTool(t, fmt.Sprintf("the aws CLI is not available: %v", awsErr))
	}
	return awsPath
}

// needBoto3 returns the path of a python3 that imports boto3, or skips the test.
func needBoto3(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		pythonPath, pythonErr = lookPath("python3")
		if pythonErr != nil {
			pythonErr = fmt.Errorf("python3 is not available: %w", pythonErr)
			return
		}
		if out, err := exec.Command(pythonPath, "-c", "import boto3").CombinedOutput(); err != nil {
			pythonErr = fmt.Errorf("python3 cannot import boto3: %v: %s", err, bytes.TrimSpace(out))
		}
	})
	if pythonErr != nil {
		requireTool(t, pythonErr.Error())
	}
	return pythonPath
}

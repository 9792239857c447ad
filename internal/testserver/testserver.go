// Package testserver starts the real servers that lambdahost's tests talk
// to: an S3-compatible gateway (versitygw) and an OCI registry (the
// distribution registry, Debian's docker-registry). A missing binary skips
// the test with the command that installs it, or fails it when
// LAMBDAHOST_E2E_REQUIRE=1, as in CI.
package testserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds a server's start. It only decides how long a broken
// start takes to fail, so it is generous for a loaded machine.
const readyTimeout = 2 * time.Minute

// require reports whether missing servers fail tests instead of skipping them.
func require() bool { return os.Getenv("LAMBDAHOST_E2E_REQUIRE") == "1" }

func missing(tb testing.TB, what, install string, err error) {
	tb.Helper()
	if require() {
		tb.Fatalf("%s is required (LAMBDAHOST_E2E_REQUIRE=1): %v; install it with %s", what, err, install)
	}
	tb.Skipf("%s not installed (%v); install it with %s", what, err, install)
}

// FindBinary looks for name in PATH, $GOBIN and $(go env GOPATH)/bin,
// where go install puts it.
func FindBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("%s not in PATH", name)
	}
	var dirs []string
	// One line each; an unset GOBIN is an empty first line, which TrimSpace would drop.
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > 0 && lines[0] != "" {
		dirs = append(dirs, lines[0])
	}
	if len(lines) > 1 {
		for _, p := range filepath.SplitList(lines[1]) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not in PATH or %s", name, strings.Join(dirs, ", "))
}

// FreePort returns a loopback address ("127.0.0.1:PORT") whose port was
// free a moment ago.
func FreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// run starts cmd, stops it when tb ends, and waits until ready succeeds.
func run(tb testing.TB, cmd *exec.Cmd, ready func() error) {
	tb.Helper()
	log, err := os.Create(filepath.Join(tb.TempDir(), filepath.Base(cmd.Path)+".log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	// The server dies with the test binary, even if that is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		log.Close()
	})
	deadline := time.Now().Add(readyTimeout)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case werr := <-exited:
			b, _ := os.ReadFile(log.Name())
			tb.Fatalf("%s exited before it was ready (%v): %s", cmd.Path, werr, b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not ready after %v: %v", cmd.Path, readyTimeout, err)
		}
	}
}

// S3 is a running versitygw.
type S3 struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
}

// VersityGW installs how CI installs versitygw.
const VersityGWInstall = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// StartS3 runs versitygw with the posix backend and versioning in a
// directory of tb's, until tb ends.
func StartS3(tb testing.TB) *S3 {
	tb.Helper()
	bin, err := FindBinary("versitygw")
	if err != nil {
		missing(tb, "versitygw", VersityGWInstall, err)
	}
	addr, err := FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	root, versions := filepath.Join(dir, "root"), filepath.Join(dir, "versions")
	for _, d := range []string{root, versions} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	s := &S3{Endpoint: "http://" + addr, AccessKey: "LHTESTS3ACCESSKEY", SecretKey: "lambdahost-test-s3-secret"}
	cmd := exec.Command(bin, "--port", addr, "--quiet", "posix", "--versioning-dir", versions, root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	run(tb, cmd, func() error { return httpAnswers(s.Endpoint) })
	return s
}

// Registry is a running distribution registry, reached over plain HTTP.
type Registry struct {
	Host string // 127.0.0.1:PORT
}

// RegistryInstall is how CI installs the registry.
const RegistryInstall = "apt-get install -y docker-registry"

// StartRegistry runs the distribution registry with filesystem storage in
// a directory of tb's, until tb ends.
func StartRegistry(tb testing.TB) *Registry {
	tb.Helper()
	bin, err := FindBinary("docker-registry")
	if err != nil {
		missing(tb, "docker-registry", RegistryInstall, err)
	}
	addr, err := FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	config := filepath.Join(dir, "config.yml")
	yml := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(config, []byte(yml), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", config)
	run(tb, cmd, func() error { return httpAnswers("http://" + addr + "/v2/") })
	return &Registry{Host: addr}
}

func httpAnswers(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

package s3_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// The gateway's root user, which the tests sign with.
const (
	testAccessKey = "LHTESTACCESSKEY"
	testSecretKey = "lambdahost-test-secret"
	testRegion    = "us-east-1"
)

// requireEnv makes a missing versitygw or aws CLI fail the tests instead of
// skipping them, as CI sets it.
const requireEnv = "LAMBDAHOST_E2E_REQUIRE"

// versityEnv names the versitygw binary explicitly, overriding the search
// in PATH and $(go env GOPATH)/bin.
const versityEnv = "LAMBDAHOST_VERSITYGW"

// versityInstall is how to install versitygw, for skip messages.
const versityInstall = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// gateway is a running versitygw with the posix backend and versioning.
type gateway struct {
	Endpoint string // http://127.0.0.1:port
	cmd      *exec.Cmd
	dir      string
	log      *os.File
	done     chan error
}

var (
	gwOnce sync.Once
	gw     *gateway
	gwErr  error // why gw is nil
	gwSkip bool  // gwErr means versitygw is not installed
)

func TestMain(m *testing.M) {
	isolateAWSConfig()
	code := m.Run()
	if gw != nil {
		gw.stop()
	}
	os.Exit(code)
}

// waitBound bounds every wait for something that happens at once when the
// code works (the gateway starting, a Fetch past its timeout): it only
// decides how long a broken build takes to fail.
const waitBound = 2 * time.Minute

// isolateAWSConfig keeps the developer's AWS configuration out of the
// tests, which set what they need with t.Setenv or Options.
func isolateAWSConfig() {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") && k != "AWS_CA_BUNDLE" {
			os.Unsetenv(k)
		}
	}
	os.Setenv("AWS_CONFIG_FILE", filepath.Join(os.TempDir(), "lambdahost-s3-test-no-config"))
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(os.TempDir(), "lambdahost-s3-test-no-credentials"))
	// Outside EC2 the metadata service may not answer at all.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// mustGateway returns the versitygw shared by the package's tests, starting
// it on first use. Tests isolate themselves by bucket name. If versitygw is
// not installed the test is skipped, or fails if LAMBDAHOST_E2E_REQUIRE=1.
func mustGateway(tb testing.TB) *gateway {
	tb.Helper()
	gwOnce.Do(func() {
		bin, err := findVersityGW()
		if err != nil {
			gwErr, gwSkip = err, true
			return
		}
		// A free port can be taken between the probe and versitygw's
		// listen; try again on another.
		for range 3 {
			if gw, gwErr = startGateway(bin); gwErr == nil {
				return
			}
		}
	})
	switch {
	case gw != nil:
		return gw
	case gwSkip && os.Getenv(requireEnv) != "1":
		tb.Skipf("versitygw not installed (%v); install it with %q", gwErr, versityInstall)
	default:
		tb.Fatalf("versitygw: %v", gwErr)
	}
	return nil
}

// findVersityGW looks for the versitygw binary in $LAMBDAHOST_VERSITYGW,
// PATH, $GOBIN and $(go env GOPATH)/bin, where go install puts it.
func findVersityGW() (string, error) {
	if p := os.Getenv(versityEnv); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("not in PATH, and go env: %w", err)
	}
	// One line each, GOBIN first, which may be empty.
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	var dirs []string
	if len(lines) > 0 && lines[0] != "" {
		dirs = append(dirs, lines[0])
	}
	if len(lines) > 1 {
		for _, p := range filepath.SplitList(lines[1]) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("not in PATH or %s", strings.Join(dirs, ", "))
}

// startGateway runs bin on a free port with fresh directories and waits
// until it answers S3 requests.
func startGateway(bin string) (*gateway, error) {
	dir, err := os.MkdirTemp("", "lambdahost-versitygw-")
	if err != nil {
		return nil, err
	}
	root, versions := filepath.Join(dir, "root"), filepath.Join(dir, "versions")
	for _, d := range []string{root, versions} {
		if err := os.Mkdir(d, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	g := &gateway{Endpoint: "http://" + addr, dir: dir, log: log, done: make(chan error, 1)}
	g.cmd = exec.Command(bin, "--port", addr, "--quiet", "posix", "--versioning-dir", versions, root)
	g.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+testAccessKey, "ROOT_SECRET_KEY="+testSecretKey)
	g.cmd.Stdout, g.cmd.Stderr = log, log
	dieWithParent(g.cmd)
	if err := g.cmd.Start(); err != nil {
		log.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { g.done <- g.cmd.Wait() }()

	client := g.Client()
	deadline := time.Now().Add(waitBound)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := client.ListBuckets(ctx, &awss3.ListBucketsInput{})
		cancel()
		if err == nil {
			return g, nil
		}
		select {
		case werr := <-g.done:
			g.done <- werr
			g.stop()
			return nil, fmt.Errorf("versitygw exited (%v): %s", werr, g.logTail())
		default:
		}
		if time.Now().After(deadline) {
			logs := g.logTail()
			g.stop()
			return nil, fmt.Errorf("versitygw not answering on %s: %v: %s", addr, err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop terminates the gateway and removes its directories.
func (g *gateway) stop() {
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		g.cmd.Process.Kill()
		<-g.done
	}
	g.log.Close()
	os.RemoveAll(g.dir)
}

func (g *gateway) logTail() string {
	b, _ := os.ReadFile(g.log.Name())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Client returns an S3 client signed as the gateway's root user, for
// setting up fixtures.
func (g *gateway) Client() *awss3.Client {
	return awss3.New(awss3.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(g.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, ""),
	})
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// proxy forwards connections to a real server, passing at most limit bytes
// of each response before it either stalls (holds the connection open,
// forwarding nothing more) or cuts the connection. It imitates a network
// that fails; the S3 responses themselves are the gateway's.
type proxy struct {
	Endpoint string
	ln       net.Listener
	mu       sync.Mutex
	conns    []net.Conn
}

func startProxy(tb testing.TB, upstream string, limit int64, cut bool) *proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &proxy{Endpoint: "http://" + ln.Addr().String(), ln: ln}
	tb.Cleanup(p.close)
	upAddr := strings.TrimPrefix(upstream, "http://")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upAddr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go io.Copy(up, c)
			go func() {
				io.Copy(c, io.LimitReader(up, limit))
				if cut {
					c.Close()
					up.Close()
				}
			}()
		}
	}()
	return p
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// closedEndpoint returns an endpoint on which nothing listens.
func closedEndpoint(tb testing.TB) string {
	tb.Helper()
	addr, err := freeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	return "http://" + addr
}

// silentEndpoint returns an endpoint that accepts connections and never
// answers: a server that has hung.
func silentEndpoint(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// lookAWSCLI returns the path of the aws CLI, or skips (fails if
// LAMBDAHOST_E2E_REQUIRE=1) if it is missing.
func lookAWSCLI(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv(requireEnv) == "1" {
			tb.Fatalf("aws CLI: %v", err)
		}
		tb.Skipf("aws CLI not installed: %v", err)
	}
	return p
}

// awsCLI runs the aws CLI against the gateway as its root user and returns
// its standard output.
func (g *gateway) awsCLI(tb testing.TB, args ...string) []byte {
	tb.Helper()
	bin := lookAWSCLI(tb)
	dir := tb.TempDir()
	cmd := exec.CommandContext(tb.Context(), bin, append(args, "--endpoint-url", g.Endpoint, "--output", "json")...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+testAccessKey,
		"AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_DEFAULT_REGION="+testRegion,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			tb.Fatalf("aws %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
		tb.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return out
}

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// rieModule is the AWS Lambda Runtime Interface Emulator's command. The
// bench installs it from the Go module proxy into a temporary GOBIN; its
// code is never vendored.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// installRIE returns the aws-lambda-rie to run, and its module version:
// bin if set, else a fresh `go install rieModule@version` into tmp/rie-bin.
func installRIE(tmp, bin, version string) (string, string, error) {
	if bin == "" {
		gobin := filepath.Join(tmp, "rie-bin")
		if err := os.MkdirAll(gobin, 0o755); err != nil {
			return "", "", err
		}
		logf("invoke: go install %s@%s (GOBIN=%s)", rieModule, version, gobin)
		cmd := exec.Command("go", "install", rieModule+"@"+version)
		cmd.Dir = tmp // outside lambdahost's module
		cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go install %s@%s: %v: %s (pass -rie-bin PATH to use an installed one, or -rie off)", rieModule, version, err, strings.TrimSpace(string(out)))
		}
		bin = filepath.Join(gobin, "aws-lambda-rie")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", "", fmt.Errorf("aws-lambda-rie: %w", err)
	}
	ver := "unknown version"
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && f[0] == "mod" {
				ver = f[1] + "@" + f[2]
			}
		}
	}
	return bin, ver, nil
}

// rieSpec is how to run one function under RIE.
type rieSpec struct {
	bin    string
	argv   []string // the bootstrap and its arguments
	env    []string // added to the bench's environment
	dir    string   // working directory
	logDir string
}

// rieCommand returns the bootstrap command for lang under RIE: the same Go
// bootstrap lambdahost runs, or lambdahost's own Python runtime client (as
// installed in the invoke server's data dir, byte-compiled) with the same
// interpreter and flags lambdahost uses, and pythonHandler as index.handler.
func rieCommand(lang, gofn, dir string) (argv, env []string, wd string, err error) {
	if lang == "Go" {
		return []string{gofn}, nil, filepath.Dir(gofn), nil
	}
	host := bootstrap.Discover()
	py := host.Interpreters[pyRuntime]
	if py == "" {
		return nil, nil, "", fmt.Errorf("no %s interpreter", pyRuntime)
	}
	if p, err := filepath.EvalSymlinks(py); err == nil {
		py = p
	}
	client := filepath.Join(dir, "data", "runtime", bootstrap.PythonBootstrap)
	if _, err := os.Stat(client); err != nil {
		return nil, nil, "", fmt.Errorf("lambdahost's Python runtime client: %w", err)
	}
	code := filepath.Join(dir, "rie-python-task")
	if err := os.MkdirAll(code, 0o755); err != nil {
		return nil, nil, "", err
	}
	if err := os.WriteFile(filepath.Join(code, "index.py"), []byte(pythonHandler), 0o644); err != nil {
		return nil, nil, "", err
	}
	// RIE takes the last argument, when there are two or more, as the
	// handler and passes it on as _HANDLER.
	argv = []string{py, "-u", "-s", client, "index.handler"}
	env = []string{"LAMBDA_TASK_ROOT=" + code, "PYTHONUNBUFFERED=1", "AWS_EXECUTION_ENV=AWS_Lambda_" + pyRuntime}
	return argv, env, code, nil
}

// rieProcess is a running aws-lambda-rie.
type rieProcess struct {
	*process
	logPath string
}

// startRIE runs spec's bootstrap under a new aws-lambda-rie, listening on
// a free loopback port (and its Runtime API on another), and waits until it
// accepts connections. RIE starts the bootstrap at the first invocation.
func startRIE(spec *rieSpec, name string) (*rieProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(spec.logDir, 0o755); err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(spec.logDir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort)),
		"--log-level", "warn",
	}, spec.argv...)
	cmd := exec.Command(spec.bin, args...)
	cmd.Dir = spec.dir
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_FUNCTION_TIMEOUT=30", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128")
	cmd.Env = append(cmd.Env, spec.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	p := &process{name: "aws-lambda-rie", cmd: cmd, addr: addr, log: logf, done: make(chan error, 1)}
	if err := p.start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &rieProcess{process: p, logPath: logPath}, nil
		}
		if err := p.exited(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("aws-lambda-rie did not listen on %s in 10s (log: %s)", addr, logPath)
		}
		time.Sleep(time.Millisecond)
	}
}

// stopQuietly cleans up after a RIE that already exited.
func (r *rieProcess) stopQuietly() { _ = r.stop() }

// reports returns the REPORT lines RIE has printed so far.
func (r *rieProcess) reports() ([]reportLine, error) {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return nil, err
	}
	return parseReports(b), nil
}

// endpoint returns the function of r as the bench invokes it, through lc,
// whose endpoint is overridden to r's address.
func (r *rieProcess) endpoint(lc *lambda.Client) *endpoint {
	url := "http://" + r.addr
	return &endpoint{lc: lc, fn: "function", opt: func(o *lambda.Options) { o.BaseEndpoint = aws.String(url) }}
}

// predial opens a keep-alive connection to r through hc (RIE answers 404
// to GET /), so that a timed invocation does not pay for the connect, as
// invocations of lambdahost, on a warm connection, do not.
func predial(hc interface {
	Do(*http.Request) (*http.Response, error)
}, addr string) error {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// rieBench measures one runtime under RIE, test by test, as invokeTest
// measures it on lambdahost.
type rieBench struct {
	spec *rieSpec
	lc   *lambda.Client // its endpoint is set per call
	hc   *awshttp.BuildableClient
	set  *runSet
}

func newRIEBench(spec *rieSpec, conns int) *rieBench {
	lc, hc := newLambdaClient("127.0.0.1:9", conns)
	return &rieBench{spec: spec, lc: lc, hc: hc, set: &runSet{}}
}

// throughput runs the throughput test with c clients on a new RIE:
// concurrent invocations can crash it.
func (b *rieBench) throughput(ctx context.Context, c int, d time.Duration) error {
	r, err := startRIE(b.spec, "throughput-"+strconv.Itoa(c))
	if err != nil {
		return err
	}
	ep := r.endpoint(b.lc)
	for range 10 {
		if _, _, err := ep.invoke(ctx, []byte(`{}`), false); err != nil {
			stopLogged(r.process)
			return fmt.Errorf("warm-up: %w (log: %s)", err, r.logPath)
		}
	}
	t := measureThroughput(ctx, ep, c, d, r.cmd.Process.Pid)
	t.envs = 1
	if r.exited() != nil {
		t.crashed = "exited"
		if b, err := os.ReadFile(r.logPath); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "panic:") {
					t.crashed = strings.TrimSpace(l)
					break
				}
			}
		}
		logf("invoke: RIE crashed with %d clients: %s (log: %s)", c, t.crashed, r.logPath)
		r.stopQuietly()
	} else {
		stopLogged(r.process)
	}
	b.set.tput = append(b.set.tput, t)
	return nil
}

// cold takes cold sample i: a new RIE, a connection opened to it, then
// the timed first invocation. Sample 0 is untimed.
func (b *rieBench) cold(ctx context.Context, i int) error {
	r, err := startRIE(b.spec, "cold-"+strconv.Itoa(i))
	if err != nil {
		return err
	}
	defer stopLogged(r.process)
	if err := predial(b.hc, r.addr); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	rtt, out, err := r.endpoint(b.lc).invoke(ctx, []byte(`{}`), false)
	if err != nil {
		b.set.cold.errors++
		logf("RIE cold invocation %d: %v (log: %s)", i, err, r.logPath)
		return nil
	}
	id := requestIDOf(out.Payload)
	// RIE prints REPORT after it has answered: wait for it.
	for wait := time.Now(); time.Since(wait) < 2*time.Second; time.Sleep(time.Millisecond) {
		rs, _ := r.reports()
		for _, x := range rs {
			if x.requestID == id {
				if i > 0 {
					b.set.cold.add(rtt, x, 0)
				}
				return nil
			}
		}
	}
	if i > 0 {
		b.set.cold.notCold++
	}
	return nil
}

// memRIE measures the memory of a new RIE after one invocation that
// sleeps memSleepMS, as memOurs measures each environment.
func memRIE(ctx context.Context, spec *rieSpec, lc *lambda.Client) (envMem, error) {
	r, err := startRIE(spec, "memory")
	if err != nil {
		return envMem{}, err
	}
	defer stopLogged(r.process)
	if _, _, err := r.endpoint(lc).invoke(ctx, []byte(fmt.Sprintf(`{"sleep_ms":%d}`, memSleepMS)), false); err != nil {
		return envMem{}, fmt.Errorf("memory: %w (log: %s)", err, r.logPath)
	}
	time.Sleep(500 * time.Millisecond)
	ps, err := processes()
	if err != nil {
		return envMem{}, err
	}
	m := envMem{asked: 1, envs: 1, runtime: sumMem(descendants(r.cmd.Process.Pid, ps))}
	m.host, _, _ = r.rss()
	return m, nil
}

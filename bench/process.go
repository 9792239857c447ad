package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// running holds the processes started and not yet stopped, for stopAll.
var running = struct {
	sync.Mutex
	m map[*process]bool
}{m: map[*process]bool{}}

// stopAll stops every process still running. The bench calls it when
// interrupted: the servers run in their own process groups, so a Ctrl-C at
// the terminal does not reach them.
func stopAll() {
	running.Lock()
	ps := make([]*process, 0, len(running.m))
	for p := range running.m {
		ps = append(ps, p)
	}
	running.Unlock()
	for _, p := range ps {
		p.stop()
	}
}

// process is a server the bench started: lambdahost or moto_server.
type process struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port
	log  *os.File
	done chan error
}

// buildLambdahost builds ./cmd/lambdahost into dir and returns the binary.
func buildLambdahost(moduleDir, dir string) (string, error) {
	bin := filepath.Join(dir, "lambdahost")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/lambdahost")
	cmd.Dir = moduleDir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build lambdahost: %w", err)
	}
	return bin, nil
}

// startLambdahost runs bin serve on a free loopback port with a fresh data
// dir under dir, and waits for its ready file.
// If wrap is not empty, it is a command prefix: the server runs under it.
// extra are more serve flags; env, if not empty, is added to the
// environment the server inherits.
func startLambdahost(bin, dir string, wrap, extra, env []string) (*process, error) {
	dataDir := filepath.Join(dir, "data")
	ready := filepath.Join(dir, "ready.json")
	logf, err := os.Create(filepath.Join(dir, "lambdahost.log"))
	if err != nil {
		return nil, err
	}
	args := append(wrap[:len(wrap):len(wrap)], bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--ready-file", ready, "--log-level", "warn")
	args = append(args, extra...)
	cmd := exec.Command(args[0], args[1:]...)
	// The bench talks to this machine only: no EC2 metadata probe, and no
	// AWS S3 endpoint unless the deploy test points S3 at its gateway.
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	p := &process{name: "lambdahost", cmd: cmd, log: logf, done: make(chan error, 1)}
	if err := p.start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(ready)
		if err == nil {
			var r struct{ Address string }
			if err := json.Unmarshal(b, &r); err != nil {
				p.stop()
				return nil, fmt.Errorf("parse ready file: %w", err)
			}
			p.addr = r.Address
			return p, nil
		}
		if err := p.exited(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("lambdahost did not become ready in 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startMoto runs moto_server on a free loopback port, with env added to
// the bench's environment, and waits until it answers.
func startMoto(dir string, env ...string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "moto.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("moto_server", "-p", strconv.Itoa(port), "-H", "127.0.0.1")
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	p := &process{name: "moto_server", cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), log: logf, done: make(chan error, 1)}
	if err := p.start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.Dial("tcp", p.addr); err == nil {
			c.Close()
			return p, nil
		}
		if err := p.exited(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("moto_server did not listen in 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startHTTPServer runs args (with env added to the bench's environment),
// logging to logPath, and waits until readyURL answers HTTP at all.
func startHTTPServer(name string, args, env []string, logPath, addr, readyURL string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	p := &process{name: name, cmd: cmd, addr: addr, log: logf, done: make(chan error, 1)}
	if err := p.start(); err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(readyURL)
		if err == nil {
			resp.Body.Close()
			return p, nil
		}
		if err := p.exited(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not answer %s in 30s: %v", name, readyURL, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findBinary and freePort are internal/testserver's, which the tests use
// to find and place the same servers.
var findBinary = testserver.FindBinary

func freePort() (int, error) {
	addr, err := testserver.FreePort()
	if err != nil {
		return 0, err
	}
	_, port, _ := net.SplitHostPort(addr)
	return strconv.Atoi(port)
}

// start starts the process in its own process group, so that stop reaches
// a server started under a -wrap command (strace, perf) as well as the
// wrapper, and any child a server forks.
func (p *process) start() error {
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		p.log.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	running.Lock()
	running.m[p] = true
	running.Unlock()
	return nil
}

// exited returns an error if the process has already ended.
func (p *process) exited() error {
	select {
	case err := <-p.done:
		p.done <- err
		return fmt.Errorf("%s exited early (%v); log: %s", p.name, err, p.log.Name())
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group and waits up to 30s for the
// process to exit, then kills the group. It returns the exit error, if any.
func (p *process) stop() error {
	defer p.log.Close()
	running.Lock()
	delete(running.m, p)
	running.Unlock()
	pgid := p.cmd.Process.Pid // Setpgid: the group is named after the leader
	if err := p.exited(); err != nil {
		_ = syscall.Kill(-pgid, syscall.SIGTERM) // whatever it left behind
		return err
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s ignored SIGTERM for 30s; killed", p.name)
	}
}

// rss returns the resident set size and its high-water mark, in bytes,
// from /proc/PID/status.
func (p *process) rss() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			hwm = n << 10
		}
	}
	return rss, hwm, nil
}

// resetHWM resets the process's VmHWM to its current RSS (Linux clear_refs
// value 5). It reports whether that worked.
func (p *process) resetHWM() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0) == nil
}

package invoke_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"github.com/lambdahost/lambdahost"
)

// plainLauncher runs environments as plain processes on the host, with the
// Runtime API on a loopback port: enough to test the executor without the
// sandbox, whose own tests cover isolation.
type plainLauncher struct {
	mu       sync.Mutex
	launched int
}

func (l *plainLauncher) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.launched
}

func (l *plainLauncher) Launch(ctx context.Context, spec *lambdahost.LaunchSpec) (lambdahost.Process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	host := func(p string) string {
		for _, m := range spec.Mounts {
			if p == m.Target || strings.HasPrefix(p, m.Target+"/") {
				return m.Source + strings.TrimPrefix(p, m.Target)
			}
		}
		return p
	}
	cmd := exec.Command(host(spec.Argv[0]), spec.Argv[1:]...)
	cmd.Dir = host(spec.Dir)
	cmd.Env = append(spec.Env, "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	cmd.Stdout, cmd.Stderr = spec.Output, spec.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		ln.Close()
		return nil, err
	}
	l.mu.Lock()
	l.launched++
	l.mu.Unlock()
	p := &plainProcess{cmd: cmd, ln: ln, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ws := ee.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				p.exit = lambdahost.ProcessExit{Code: -1, Signal: ws.Signal().String()}
			} else {
				p.exit = lambdahost.ProcessExit{Code: ws.ExitStatus()}
			}
		}
		close(p.done)
	}()
	return p, nil
}

type plainProcess struct {
	cmd  *exec.Cmd
	ln   net.Listener
	done chan struct{}
	exit lambdahost.ProcessExit
	once sync.Once
}

func (p *plainProcess) Listener() net.Listener       { return p.ln }
func (p *plainProcess) Done() <-chan struct{}        { return p.done }
func (p *plainProcess) Exit() lambdahost.ProcessExit { return p.exit }
func (p *plainProcess) MaxMemory() int64             { return 0 }
func (p *plainProcess) Kill() error {
	p.once.Do(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		p.ln.Close()
	})
	return nil
}

//go:build e2e

package e2e

import (
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

// TestSandbox runs probes inside a function, through the binary: the code
// is read-only, host processes and the host's loopback are out of sight,
// the function is not root, and /tmp is writable up to EphemeralStorage.
func TestSandbox(t *testing.T) {
	t.Parallel()
	// Namespaces, not whatever the host allows: without them this test
	// has nothing to check, and lambdahost refuses to start.
	srv := Start(t, WithArgs("--sandbox", "namespaces"))
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")

	// A port on the host's loopback, which the function must not reach.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()

	name := "sandbox"
	// /tmp is disk apart from memory: it fills before 256 MB of memory do.
	createFunction(t, d, name, python312Fn, "sandbox", Params{"MemorySize": 256, "Timeout": 30, "EphemeralStorage": Params{"Size": 512}})
	reply := invoke(t, d, name, Params{"probe": Params{
		"write_task": true, "proc": true, "ids": true, "connect": ln.Addr().String(), "tmp_mb": 600, "tmp_small": true,
	}}).Reply(t)
	p, _ := reply["probe"].(map[string]any)
	t.Logf("probe: %v", p)

	if got := str(p, "write_task"); got != "EROFS" {
		t.Errorf("writing /var/task: %s, want EROFS", got)
	}

	var pids []int
	for _, v := range p["pids"].([]any) {
		pids = append(pids, int(v.(float64)))
	}
	if len(pids) == 0 || len(pids) > 5 {
		t.Errorf("/proc lists pids %v, want the environment's few", pids)
	}
	if self := int(p["pid"].(float64)); !slices.Contains(pids, self) {
		t.Errorf("/proc lists pids %v without the function's own %d: not its pid namespace's /proc", pids, self)
	}
	if slices.Contains(pids, os.Getpid()) {
		t.Errorf("/proc lists pids %v, including the test's %d", pids, os.Getpid())
	}
	if srvPid := srv.proc.cmd.Process.Pid; slices.Contains(pids, srvPid) {
		t.Errorf("/proc lists pids %v, including lambdahost's %d", pids, srvPid)
	}

	if got := str(p, "connect"); got == "connected" {
		t.Errorf("the function connected to the host's %s", ln.Addr())
	}
	select {
	case <-accepted:
		t.Errorf("the host's %s accepted a connection from the function", ln.Addr())
	case <-time.After(100 * time.Millisecond):
	}

	for _, k := range []string{"uid", "euid", "gid"} {
		if v, ok := p[k].(float64); !ok || v == 0 {
			t.Errorf("%s %v, want a non-root id", k, p[k])
		}
	}

	if got := str(p, "tmp_small"); got != "small" {
		t.Errorf("/tmp: read back %q, want \"small\"", got)
	}
	written, _ := p["tmp_written_mb"].(float64)
	if got := str(p, "tmp_error"); got != "ENOSPC" || written >= 600 || written < 400 {
		t.Errorf("writing 600 MB to a 512 MB /tmp: wrote %v MB, then %q; want about 512 MB, then ENOSPC", written, got)
	}

	// The environment survives its probes.
	wantVersion(t, invoke(t, d, name, Params{"probe": Params{"tmp_small": true}}), "sandbox")
}

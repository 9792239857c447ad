//go:build e2e

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestProcessSandbox runs functions with --sandbox process, as on a host
// without user namespaces (a container, for example), started as root:
// the functions run as an unprivileged user, which must reach their code
// and /tmp under the data dir, while other users can neither list the
// data dir nor read its database.
func TestProcessSandbox(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: as another user, process mode runs functions as that user")
	}
	srv := Start(t, WithArgs("--sandbox", "process"))
	// The test's temporary directories are closed to other users (0700);
	// lambdahost warns of that, and opens only the data dir itself.
	for dir := srv.Dir; strings.HasPrefix(dir, os.TempDir()+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")

	// A Go function: this machine's Pythons live under /root (pyenv),
	// which the function user cannot enter.
	for _, f := range []testFunction{goFn} {
		name := "process-" + reFunctionChars.ReplaceAllString(f.name, "-")
		createFunction(t, d, name, f, "v1", nil)
		wantVersion(t, invoke(t, d, name, map[string]any{}), "v1")
	}
	fi, err := os.Stat(srv.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o044 != 0 || perm&0o011 == 0 {
		t.Errorf("data dir mode %v: want traversable by others, not readable", perm)
	}
	for _, name := range []string{"lambdahost.db", "lambdahost.db-wal"} {
		if fi, err := os.Stat(filepath.Join(srv.DataDir, name)); err != nil {
			t.Error(err)
		} else if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s mode %v: others may read it", name, perm)
		}
	}
}

package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox"
)

// inspection is what testdata/inspect.py reports.
type inspection struct {
	UID         int               `json:"uid"`
	GID         int               `json:"gid"`
	Groups      []int             `json:"groups"`
	User        string            `json:"user"`
	PID         int               `json:"pid"`
	Procs       []int             `json:"procs"`
	Cwd         string            `json:"cwd"`
	Env         map[string]string `json:"env"`
	Hostname    string            `json:"hostname"`
	ConnectHost string            `json:"connectHost"`
	Writes      map[string]string `json:"writes"`
}

// TestNamespaces runs testdata/inspect.py in an environment and checks, case
// by case, what it saw.
func TestNamespaces(t *testing.T) {
	mustPython(t)
	l := mustNamespaces(t, sandbox.Options{})
	code := codeDir(t)
	rw := publicDir(t)
	port, accepted := hostListener(t)

	var out buffer
	spec := &lambdahost.LaunchSpec{
		ID: "inspect",
		Mounts: []lambdahost.Mount{
			{Source: code, Target: "/var/task"},
			{Source: rw, Target: "/mnt/rw", Writable: true},
		},
		Argv: []string{python, "/var/task/inspect.py", strconv.Itoa(port),
			"/var/task/new", "/usr/new", "/etc/new", "/new", "/tmp/new", "/mnt/rw/new", "/dev/new"},
		Env:      []string{"LC_ALL=C.UTF-8", "FOO=bar baz", "PATH=/usr/bin:/bin"},
		Dir:      "/var/task",
		MemoryMB: 256,
		TmpMB:    16,
		Output:   &out,
	}
	p := mustLaunch(t, l, spec)
	if exit := waitDone(t, p); exit.Code != 0 {
		t.Fatalf("Exit=%v, output:\n%s", exit, out.String())
	}
	var got inspection
	decodeJSON(t, out.String(), &got)

	host, _ := os.Hostname()
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"uid-is-the-function-user", got.UID, sandbox.UID},
		{"gid-is-the-function-group", got.GID, sandbox.GID},
		{"no-supplementary-groups", len(got.Groups), 0},
		{"user-name", got.User, sandbox.UserName},
		{"pid-1", got.PID, 1},
		{"proc-lists-only-the-environment", got.Procs, []int{1}},
		{"cwd", got.Cwd, "/var/task"},
		{"env-is-exactly-the-spec", got.Env, map[string]string{
			"LC_ALL":                 "C.UTF-8",
			"FOO":                    "bar baz",
			"PATH":                   "/usr/bin:/bin",
			"AWS_LAMBDA_RUNTIME_API": lambdahost.RuntimeAPIAddress,
		}},
		{"own-hostname", strings.HasPrefix(got.Hostname, "169.254.") && got.Hostname != host, true},
		{"host-tcp-port-unreachable", got.ConnectHost, "ECONNREFUSED"},
		{"host-saw-no-connection", accepted(), false},
		{"task-read-only", got.Writes["/var/task/new"], "EROFS"},
		{"usr-read-only", got.Writes["/usr/new"], "EROFS"},
		{"etc-read-only", got.Writes["/etc/new"], "EROFS"},
		{"root-read-only", got.Writes["/new"], "EROFS"},
		{"tmp-writable", got.Writes["/tmp/new"], "ok"},
		{"writable-mount", got.Writes["/mnt/rw/new"], "ok"},
		{"dev-not-writable", got.Writes["/dev/new"], "EACCES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("writable-mount-reaches-host", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(rw, "new")); err != nil {
			t.Error(err)
		}
	})
	t.Run("read-only-mount-unchanged", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(code, "new")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Stat=%v, want not exist", err)
		}
	})
}

// TestNamespaces_Commands runs shell commands and checks their output.
func TestNamespaces_Commands(t *testing.T) {
	l := mustNamespaces(t, sandbox.Options{})
	tests := []struct {
		name  string
		tmpMB int
		sh    string
		want  string
	}{
		{"output-arrives", 0, "echo hello; echo world >&2", "hello\nworld\n"},
		{"large-output-delivered-before-done", 0, "head -c 3000000 /dev/zero | tr '\\0' x | wc -c; head -c 300000 /dev/zero | tr '\\0' y", "3000000\n" + strings.Repeat("y", 300000)},
		{"tmp-available", 8, "df -k /tmp | tail -1 | awk '{print $4}'", "8192\n"},
		{"tmp-full", 8, "dd if=/dev/zero of=/tmp/f bs=1M count=20 2>/dev/null; echo rc=$?; ls -l /tmp/f | awk '{print $5}'", "rc=1\n8388608\n"},
		{"dev-null-writable", 0, "echo x >/dev/null && echo ok", "ok\n"},
		{"urandom-readable", 0, "head -c 16 /dev/urandom | wc -c", "16\n"},
		{"dev-fd-link", 0, "readlink /dev/fd", "/proc/self/fd\n"},
		{"merged-usr-link", 0, "readlink /bin", "usr/bin\n"},
		{"no-network-but-lo", 0, "ls /sys/class/net 2>/dev/null || cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '", "lo\n"},
		{"nofile-limit", 0, "ulimit -n", "1024\n"},
		{"no-new-privs", 0, "grep NoNewPrivs /proc/self/status | tr -d '\\t '", "NoNewPrivs:1\n"},
		{"no-capabilities", 0, "grep CapEff /proc/self/status | tr -d '\\t '", "CapEff:0000000000000000\n"},
		{"no-nested-user-namespaces", 0, "unshare -U true 2>/dev/null && echo created || echo refused", "refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out buffer
			p := mustLaunch(t, l, &lambdahost.LaunchSpec{
				Argv:     []string{"/bin/sh", "-c", tt.sh},
				Env:      []string{"PATH=/usr/bin:/bin"},
				MemoryMB: 128,
				TmpMB:    tt.tmpMB,
				Output:   &out,
			})
			exit := waitDone(t, p)
			if got := out.String(); got != tt.want {
				if len(got) > 200 {
					got = got[:200] + "..."
				}
				t.Errorf("output=%q, want %q (exit %v)", got, tt.want, exit)
			}
		})
	}
}

// TestNamespaces_RuntimeAPI serves HTTP on the environment's listener and
// has a process inside call it at AWS_LAMBDA_RUNTIME_API.
func TestNamespaces_RuntimeAPI(t *testing.T) {
	mustPython(t)
	l := mustNamespaces(t, sandbox.Options{})
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv: []string{python, "-c", `import os, urllib.request
print(urllib.request.urlopen("http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/next").read().decode())`},
		MemoryMB: 128,
		Output:   &out,
	})
	if got := p.Listener().Addr().String(); got != lambdahost.RuntimeAPIAddress {
		t.Errorf("Listener().Addr()=%s, want %s", got, lambdahost.RuntimeAPIAddress)
	}
	serve(t, p.Listener(), "event from the runtime api")
	if exit := waitDone(t, p); exit.Code != 0 {
		t.Fatalf("Exit=%v, output:\n%s", exit, out.String())
	}
	if got, want := out.String(), "event from the runtime api\n"; got != want {
		t.Errorf("output=%q, want %q", got, want)
	}
	if _, err := p.Listener().Accept(); err == nil {
		t.Error("listener still open after the environment ended")
	}
}

// TestNamespaces_Memory checks the memory limit, its report and MaxMemory.
func TestNamespaces_Memory(t *testing.T) {
	mustPython(t)
	l := mustNamespaces(t, sandbox.Options{})
	if l.MemoryLimit() == "rlimit" {
		skipOrFail(t, "no usable memory cgroup")
	}
	tests := []struct {
		name     string
		memoryMB int
		allocMB  int
		wantOOM  bool
		wantCode int
	}{
		{"within-limit", 128, 40, false, 0},
		{"over-limit-is-killed", 64, 200, true, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out buffer
			p := mustLaunch(t, l, &lambdahost.LaunchSpec{
				// Multiplying bytes writes every page; bytearray(n)
				// alone would map untouched zero pages.
				Argv:     []string{python, "-c", fmt.Sprintf("b = b'x' * (%d << 20); print('allocated')", tt.allocMB)},
				MemoryMB: tt.memoryMB,
				Output:   &out,
			})
			exit := waitDone(t, p)
			if exit.OutOfMemory != tt.wantOOM || exit.Code != tt.wantCode {
				t.Errorf("Exit=%+v, want OutOfMemory=%v Code=%d; output:\n%s", exit, tt.wantOOM, tt.wantCode, out.String())
			}
			if tt.wantOOM && exit.Signal != "killed" {
				t.Errorf("Signal=%q, want killed", exit.Signal)
			}
			peak := p.MaxMemory()
			if min, max := int64(tt.allocMB)<<20, int64(tt.memoryMB)<<20; tt.wantOOM {
				min = max * 3 / 4
				if peak < min || peak > max {
					t.Errorf("MaxMemory=%d, want between %d and %d", peak, min, max)
				}
			} else if peak < min || peak > max {
				t.Errorf("MaxMemory=%d, want between %d and %d", peak, min, max)
			}
		})
	}
}

// TestNamespaces_RlimitFallback limits memory with RLIMIT_DATA when cgroups
// are off: the allocation fails inside the runtime instead.
func TestNamespaces_RlimitFallback(t *testing.T) {
	mustPython(t)
	l := mustNamespaces(t, sandbox.Options{NoCgroup: true})
	if got := l.MemoryLimit(); got != "rlimit" {
		t.Fatalf("MemoryLimit=%q, want rlimit", got)
	}
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv:     []string{python, "-c", "import resource, sys; print(resource.getrlimit(resource.RLIMIT_DATA)[0] >> 20, file=sys.stderr); b = b'x' * (200 << 20)"},
		MemoryMB: 64,
		Output:   &out,
	})
	exit := waitDone(t, p)
	if exit.Code != 1 || exit.OutOfMemory || !strings.Contains(out.String(), "MemoryError") || !strings.HasPrefix(out.String(), "64\n") {
		t.Errorf("Exit=%+v, output:\n%s\nwant exit 1, RLIMIT_DATA 64 and a MemoryError", exit, out.String())
	}
	if got := p.MaxMemory(); got != 0 {
		t.Errorf("MaxMemory=%d, want 0 without a cgroup", got)
	}
}

// TestNamespaces_MaxProcs limits processes and threads.
func TestNamespaces_MaxProcs(t *testing.T) {
	mustPython(t)
	l := mustNamespaces(t, sandbox.Options{MaxProcs: 16})
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv: []string{python, "-c", `import threading, time
n = 0
try:
    for i in range(64):
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        n += 1
except RuntimeError:
    pass
print(n)`},
		MemoryMB: 256,
		Output:   &out,
	})
	waitDone(t, p)
	n, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil || n >= 16 || n < 8 {
		t.Errorf("threads started=%q, want fewer than 16", out.String())
	}
}

// TestNamespaces_Kill stops an environment and every process in it.
func TestNamespaces_Kill(t *testing.T) {
	l := mustNamespaces(t, sandbox.Options{})
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv:     []string{"/bin/sh", "-c", "sleep 300 & sleep 300 & (sleep 300 &) ; echo ready; wait"},
		MemoryMB: 64,
		Output:   &out,
	})
	waitOutput(t, &out, "ready")
	pid := p.(*sandbox.Process).Pid()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(processesIn(t, ns)); n < 4 {
		t.Errorf("%d processes in the environment before Kill, want at least 4", n)
	}
	for range 2 {
		if err := p.Kill(); err != nil {
			t.Errorf("Kill: %v", err)
		}
	}
	if got := p.Exit(); got.Signal != "killed" || got.Code != -1 || got.OutOfMemory {
		t.Errorf("Exit=%+v, want killed", got)
	}
	if left := processesIn(t, ns); len(left) != 0 {
		t.Errorf("processes %v still in the environment after Kill", left)
	}
}

// processesIn lists the host pids in pid namespace ns ("pid:[4026532…]").
func processesIn(t *testing.T, ns string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && got == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestNamespaces_RootFS runs a static binary from a root file system built by
// the test.
func TestNamespaces_RootFS(t *testing.T) {
	l := mustNamespaces(t, sandbox.Options{})
	rootfs := t.TempDir()
	os.Chmod(rootfs, 0o755)
	bin := filepath.Join(rootfs, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(probeBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "probe"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	// An absolute link must resolve inside the environment, not on the
	// host, when mount points are created through it.
	if err := os.Symlink("/", filepath.Join(rootfs, "escape")); err != nil {
		t.Fatal(err)
	}
	escape := fmt.Sprintf("sandbox-escape-test-%d", os.Getpid())
	t.Cleanup(func() { os.Remove("/" + escape) })

	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		RootFS:   rootfs,
		Mounts:   []lambdahost.Mount{{Source: codeDir(t), Target: "/escape/" + escape}},
		Argv:     []string{"/bin/probe", "inspect", lambdahost.RuntimeAPIAddress},
		MemoryMB: 64,
		Output:   &out,
	})
	serve(t, p.Listener(), "hello from the host")
	if exit := waitDone(t, p); exit.Code != 0 {
		t.Fatalf("Exit=%v, output:\n%s", exit, out.String())
	}
	var got struct {
		UID, PID  int
		Root      []string
		WriteRoot string
		WriteTmp  string
		API       string
	}
	decodeJSON(t, out.String(), &got)
	want := got
	want.UID, want.PID = sandbox.UID, 1
	want.Root = []string{"bin", "dev", "escape", "proc", escape, "tmp"}
	want.WriteRoot, want.WriteTmp = "30", "ok" // EROFS
	want.API = "hello from the host"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if _, err := os.Lstat("/" + escape); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mount point created on the host: Lstat=%v", err)
	}
}

// TestNamespaces_SetupErrors checks that failures before the command runs
// are returned by Launch.
func TestNamespaces_SetupErrors(t *testing.T) {
	l := mustNamespaces(t, setupErrorOptions)
	tests := []struct {
		name string
		spec lambdahost.LaunchSpec
		want string
	}{
		{"missing-command", lambdahost.LaunchSpec{Argv: []string{"/var/task/bootstrap"}}, "exec /var/task/bootstrap: no such file or directory"},
		{"command-not-in-path", lambdahost.LaunchSpec{Argv: []string{"no-such-command"}, Env: []string{"PATH=/usr/bin"}}, "executable file not found"},
		{"empty-command", lambdahost.LaunchSpec{}, "empty command"},
		{"missing-mount-source", lambdahost.LaunchSpec{Argv: []string{"/bin/true"}, Mounts: []lambdahost.Mount{{Source: "/no/such/dir", Target: "/var/task"}}}, "no such file or directory"},
		{"relative-mount-target", lambdahost.LaunchSpec{Argv: []string{"/bin/true"}, Mounts: []lambdahost.Mount{{Source: "/usr", Target: "var/task"}}}, "not a clean absolute path"},
		{"mount-point-in-read-only-dir", lambdahost.LaunchSpec{Argv: []string{"/bin/true"}, Mounts: []lambdahost.Mount{{Source: "/usr", Target: "/usr/no-such-dir/x"}}}, "read-only file system"},
		{"missing-dir", lambdahost.LaunchSpec{Argv: []string{"/bin/true"}, Dir: "/var/task"}, "chdir /var/task: no such file or directory"},
		{"missing-root-fs", lambdahost.LaunchSpec{Argv: []string{"/bin/true"}, RootFS: "/no/such/rootfs"}, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.spec.ID = tt.name
			wantLaunchError(t, l, &tt.spec, tt.want)
		})
	}
	t.Run("canceled-context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := l.Launch(ctx, &lambdahost.LaunchSpec{Argv: []string{"/bin/true"}}); !errors.Is(err, context.Canceled) {
			t.Errorf("Launch error %v, want context.Canceled", err)
		}
	})
}

// TestNamespaces_Concurrent launches environments in parallel; each has its
// own Runtime API listener at the same address.
func TestNamespaces_Concurrent(t *testing.T) {
	mustPython(t)
	l := mustNamespaces(t, sandbox.Options{})
	const n = 8
	var wg sync.WaitGroup
	outs := make([]buffer, n)
	for i := range n {
		wg.Go(func() {
			p := mustLaunch(t, l, &lambdahost.LaunchSpec{
				ID: fmt.Sprintf("concurrent-%d", i),
				Argv: []string{python, "-c", `import os, urllib.request
print(urllib.request.urlopen("http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]).read().decode())`},
				MemoryMB: 128,
				Output:   &outs[i],
			})
			serve(t, p.Listener(), fmt.Sprintf("environment %d", i))
			waitDone(t, p)
		})
	}
	wg.Wait()
	var got []string
	for i := range outs {
		got = append(got, strings.TrimSpace(outs[i].String()))
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("environment %d", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("outputs=%q, want %q", got, want)
	}
}

// TestNamespaces_Spares launches with and without spare inits, before and
// after Close, and with an *os.File as the output, which the environment
// writes to directly.
func TestNamespaces_Spares(t *testing.T) {
	tests := []struct {
		name     string
		prestart int
		close    bool
	}{
		{"no-spares", -1, false},
		{"one-spare", 0, false},
		{"three-spares", 3, false},
		{"after-close", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustNamespaces(t, sandbox.Options{Prestart: tt.prestart})
			if tt.close {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 4 {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				p := mustLaunch(t, l, &lambdahost.LaunchSpec{
					ID:     fmt.Sprintf("%s-%d", tt.name, i),
					Argv:   []string{"/bin/sh", "-c", "echo $0 $$; echo err >&2", strconv.Itoa(i)},
					Output: w,
				})
				w.Close()
				exit := waitDone(t, p)
				b, err := io.ReadAll(r)
				r.Close()
				if err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf("%d 1\nerr\n", i); string(b) != want || exit.Code != 0 {
					t.Errorf("launch %d: output=%q exit=%v, want %q and exit status 0", i, b, exit, want)
				}
			}
		})
	}
}

// TestNamespaces_LockedFlags binds a source from a mount with nosuid, nodev,
// noexec and noatime: a user namespace may not clear those flags, so the
// read-only remount must keep them.
func TestNamespaces_LockedFlags(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "mounting a test file system needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC|syscall.MS_NOATIME, "size=1m,mode=0777"); err != nil {
		skipOrFail(t, fmt.Sprintf("mount a test tmpfs: %v", err))
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	// Made after the mount, so that its spare init sees it.
	l := mustNamespaces(t, sandbox.Options{})
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Mounts: []lambdahost.Mount{{Source: dir, Target: "/var/task"}},
		Argv:   []string{"/bin/sh", "-c", "grep ' /var/task ' /proc/self/mountinfo | cut -d' ' -f6; touch /var/task/x 2>&1 | grep -o 'Read-only file system'"},
		Output: &out,
	})
	waitDone(t, p)
	if got, want := out.String(), "ro,nosuid,nodev,noexec,noatime\nRead-only file system\n"; got != want {
		t.Errorf("output=%q, want %q", got, want)
	}
}

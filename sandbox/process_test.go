package sandbox_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox"
)

// TestProcess runs a command in the fallback mode: paths of mounts are
// rewritten to their host sources, and the Runtime API is on the host's
// loopback.
func TestProcess(t *testing.T) {
	mustPython(t)
	l := mustProcess(t, sandbox.Options{})
	code := codeDir(t)
	if err := os.WriteFile(filepath.Join(code, "app.py"), []byte(`import os, sys, tempfile, urllib.request
print(os.getcwd())
print(os.environ["PYTHONPATH"])
print(urllib.request.urlopen("http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]).read().decode())
with tempfile.NamedTemporaryFile() as f:
    print(os.path.dirname(f.name) == os.environ["TMPDIR"])
print(os.getuid())
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Mounts:   []lambdahost.Mount{{Source: code, Target: "/var/task"}},
		Argv:     []string{python, "/var/task/app.py"},
		Env:      []string{"LC_ALL=C.UTF-8", "PYTHONPATH=/var/task:/opt/python"},
		Dir:      "/var/task",
		MemoryMB: 128,
		Output:   &out,
	})
	addr := p.Listener().Addr().String()
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == lambdahost.RuntimeAPIAddress {
		t.Errorf("Listener().Addr()=%s, want a random port of 127.0.0.1", addr)
	}
	serve(t, p.Listener(), "event")
	if exit := waitDone(t, p); exit.Code != 0 {
		t.Fatalf("Exit=%v, output:\n%s", exit, out.String())
	}
	wantUID := os.Getuid()
	if wantUID == 0 {
		wantUID = sandbox.DefaultHostUID
	}
	want := strings.Join([]string{code, code + ":/opt/python", "event", "True", strconv.Itoa(wantUID)}, "\n") + "\n"
	if got := out.String(); got != want {
		t.Errorf("output=%q, want %q", got, want)
	}
}

// TestProcess_Kill stops the whole process group.
func TestProcess_Kill(t *testing.T) {
	l := mustProcess(t, sandbox.Options{})
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv:     []string{"/bin/sh", "-c", "sleep 300 & sleep 300 & echo ready; wait"},
		MemoryMB: 64,
		Output:   &out,
	})
	waitOutput(t, &out, "ready")
	pgid := p.(*sandbox.Process).Pid()
	if n := len(liveInGroup(t, pgid)); n != 3 {
		t.Errorf("%d processes in the group before Kill, want 3", n)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if got := p.Exit(); got.Signal != "killed" {
		t.Errorf("Exit=%+v, want killed", got)
	}
	waitGroupGone(t, pgid)
}

// TestProcess_ExitKillsGroup stops the rest of the process group when the
// first process exits, as the end of a pid namespace does.
func TestProcess_ExitKillsGroup(t *testing.T) {
	l := mustProcess(t, sandbox.Options{})
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv:     []string{"/bin/sh", "-c", "sleep 300 & echo $!"},
		MemoryMB: 64,
	})
	pgid := p.(*sandbox.Process).Pid()
	if exit := waitDone(t, p); exit.Code != 0 {
		t.Errorf("Exit=%v, want exit status 0", exit)
	}
	waitGroupGone(t, pgid)
}

// waitGroupGone waits until process group pgid has no live process left.
// Zombies do not count: the killed processes are orphans, reaped by the
// host's init in its own time.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for {
		live := liveInGroup(t, pgid)
		if len(live) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes %v of group %d still alive %v after the end", live, pgid, waitBound)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveInGroup lists the processes of group pgid that are not zombies.
func liveInGroup(t *testing.T, pgid int) []int {
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
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		_, rest, _ := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestProcess_SetupErrors checks that failures before the command runs are
// returned by Launch.
func TestProcess_SetupErrors(t *testing.T) {
	l := mustProcess(t, setupErrorOptions)
	tests := []struct {
		name string
		spec lambdahost.LaunchSpec
		want string
	}{
		{"missing-command", lambdahost.LaunchSpec{Argv: []string{"/var/task/bootstrap"}}, "exec /var/task/bootstrap: no such file or directory"},
		{"root-fs", lambdahost.LaunchSpec{Argv: []string{"/bin/true"}, RootFS: "/"}, "needs namespaces"},
		{"missing-mount-source", lambdahost.LaunchSpec{Argv: []string{"/bin/true"}, Mounts: []lambdahost.Mount{{Source: "/no/such/dir", Target: "/var/task"}}}, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.ID = tt.name
			wantLaunchError(t, l, &tt.spec, tt.want)
		})
	}
}

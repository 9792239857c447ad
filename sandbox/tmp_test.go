package sandbox_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox"
)

// writeTmp is a Python program that writes argv[1] MiB to /tmp/big and
// then allocates argv[2] MiB, and prints what /tmp had available first and
// how the write ended: "ok" or the errno's name. It then waits, as a warm
// runtime would, until it is killed.
const writeTmp = `import errno, os, sys, time
st = os.statvfs("/tmp")
print("available", st.f_bavail * st.f_frsize >> 20)
chunk = b"x" * (1 << 20)
try:
    with open("/tmp/big", "wb") as f:
        for _ in range(int(sys.argv[1])):
            f.write(chunk)
    print("write ok")
except OSError as e:
    print("write", errno.errorcode[e.errno])
b = b"y" * (int(sys.argv[2]) << 20)
print("allocated", len(b) >> 20)
print("done", flush=True)
time.sleep(600)
`

// TestNamespaces_Tmp checks that /tmp is a file system of its own of
// exactly TmpMB, on disk: its page cache does not count against the memory
// limit nor in MaxMemory, and filling it fails with ENOSPC inside the
// environment.
func TestNamespaces_Tmp(t *testing.T) {
	mustPython(t)
	l := mustImages(t, sandbox.Options{})
	tests := []struct {
		name              string
		memoryMB, tmpMB   int
		writeMB, allocMB  int
		want              string
		minPeakMB, peakMB int64 // bounds of MaxMemory
	}{
		{"256mb-function-writes-400mb", 256, 512, 400, 0, "available 512\nwrite ok\nallocated 0\ndone\n", 0, 100},
		{"600mb-into-512mb-is-enospc", 256, 512, 600, 0, "available 512\nwrite ENOSPC\nallocated 0\ndone\n", 0, 100},
		{"memory-still-counts-processes", 256, 512, 300, 150, "available 512\nwrite ok\nallocated 150\ndone\n", 150, 256},
		{"default-size", 128, 0, 1, 0, "available 512\nwrite ok\nallocated 0\ndone\n", 0, 100},
		{"exact-odd-size", 128, 777, 1, 0, "available 777\nwrite ok\nallocated 0\ndone\n", 0, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out buffer
			p := mustLaunch(t, l, &lambdahost.LaunchSpec{
				Argv:     []string{python, "-c", writeTmp, fmt.Sprint(tt.writeMB), fmt.Sprint(tt.allocMB)},
				MemoryMB: tt.memoryMB,
				TmpMB:    tt.tmpMB,
				Output:   &out,
			})
			if !waitOutputOrEnd(t, p, &out, "done\n") {
				t.Fatalf("environment ended (%+v) before it was done; output:\n%s", p.Exit(), out.String())
			}
			// Asked while the runtime waits, as the REPORT line is.
			peak := p.MaxMemory()
			if got := out.String(); got != tt.want {
				t.Errorf("output=%q, want %q", got, tt.want)
			}
			if peak < tt.minPeakMB<<20 || peak > tt.peakMB<<20 {
				t.Errorf("MaxMemory=%d MiB, want between %d and %d MiB", peak>>20, tt.minPeakMB, tt.peakMB)
			}
			p.Kill()
			if exit := p.Exit(); exit.OutOfMemory {
				t.Errorf("Exit=%+v, want no out-of-memory kill", exit)
			}
		})
	}
}

// TestNamespaces_TmpRemoved writes a file to /tmp that fills the page cache
// up to the memory limit, then removes it: the page cache it held, at the
// peak, is not counted in MaxMemory.
func TestNamespaces_TmpRemoved(t *testing.T) {
	mustPython(t)
	l := mustImages(t, sandbox.Options{})
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv: []string{python, "-u", "-c", `import os, signal, time
removed = False
def remove(*_):
    global removed
    os.remove("/tmp/big")
    removed = True
signal.signal(signal.SIGUSR1, remove)
with open("/tmp/big", "wb") as f:
    for _ in range(400):
        f.write(b"x" * (1 << 20))
print("written")
while not removed:
    time.sleep(0.01)
print("removed")
time.sleep(600)
`},
		MemoryMB: 256,
		TmpMB:    512,
		Output:   &out,
	})
	if !waitOutputOrEnd(t, p, &out, "written\n") {
		t.Fatalf("environment ended (%+v); output:\n%s", p.Exit(), out.String())
	}
	before := p.MaxMemory()
	if err := syscall.Kill(p.(*sandbox.Process).Pid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if !waitOutputOrEnd(t, p, &out, "removed\n") {
		t.Fatalf("environment ended (%+v); output:\n%s", p.Exit(), out.String())
	}
	after := p.MaxMemory()
	// The runtime itself may have grown a little meanwhile.
	if before > 100<<20 || after > before+8<<20 {
		t.Errorf("MaxMemory=%d MiB with the file, %d MiB after its removal; want under 100 MiB, and about the same", before>>20, after>>20)
	}
}

// TestNamespaces_TmpLarge makes the largest /tmp Lambda allows and writes a
// sparse file almost as large, and checks how /tmp is mounted.
func TestNamespaces_TmpLarge(t *testing.T) {
	mustPython(t)
	l := mustImages(t, sandbox.Options{})
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv: []string{python, "-c", `import os
st = os.statvfs("/tmp")
print("available", st.f_bavail * st.f_frsize >> 20)
with open("/tmp/sparse", "wb") as f:
    f.truncate(10000 << 20)
    f.seek((10000 << 20) - 5)
    f.write(b"end\n")
print("size", os.stat("/tmp/sparse").st_size >> 20)
for line in open("/proc/self/mountinfo"):
    f = line.split()
    if f[4] == "/tmp":
        print(f[f.index("-") + 1], ",".join(o for o in f[5].split(",") if o in ("rw", "nosuid", "nodev")))
`},
		MemoryMB: 128,
		TmpMB:    10240,
		Output:   &out,
	})
	if exit := waitDone(t, p); exit.Code != 0 {
		t.Errorf("Exit=%+v, output:\n%s", exit, out.String())
	}
	if got, want := out.String(), "available 10240\nsize 10000\next4 rw,nosuid,nodev\n"; got != want {
		t.Errorf("output=%q, want %q", got, want)
	}
}

// TestNamespaces_TmpPrivate runs two environments at once: each has an
// empty /tmp of its own.
func TestNamespaces_TmpPrivate(t *testing.T) {
	l := mustImages(t, sandbox.Options{})
	var a buffer
	mustLaunch(t, l, &lambdahost.LaunchSpec{
		ID:     "tmp-a",
		Argv:   []string{"/bin/sh", "-c", "echo a > /tmp/from-a && echo ready; sleep 300"},
		Output: &a,
	})
	waitOutput(t, &a, "ready")
	var b buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		ID:     "tmp-b",
		Argv:   []string{"/bin/sh", "-c", "ls -A /tmp; echo b > /tmp/from-b; ls -A /tmp"},
		Output: &b,
	})
	waitDone(t, p)
	if got, want := b.String(), "from-b\n"; got != want {
		t.Errorf("second environment listed %q, want %q", got, want)
	}
}

// TestNamespaces_TmpReleased checks that nothing of a /tmp is left on the
// host once its environment has ended and the launcher is closed: no loop
// device holds a file of the scratch directory, which stays empty.
func TestNamespaces_TmpReleased(t *testing.T) {
	scratch := t.TempDir()
	l := mustImages(t, sandbox.Options{ScratchDir: scratch})
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv:   []string{"/bin/sh", "-c", "head -c 50000000 /dev/zero > /tmp/f && ls /tmp"},
		Output: &out,
	})
	waitDone(t, p)
	if got := out.String(); got != "f\n" {
		t.Fatalf("output=%q, want f", got)
	}
	if n := len(loopFilesIn(t, scratch)); n == 0 {
		t.Errorf("no loop device holds a file of %s while the launcher keeps spare file systems", scratch)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	waitNoLoopFiles(t, scratch)
	entries, err := os.ReadDir(scratch)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("scratch directory holds %d entries, want none", len(entries))
	}
}

// TestProcess_Tmp checks that ModeProcess gives each environment a
// directory of the scratch directory as TMPDIR, removed when it ends.
func TestProcess_Tmp(t *testing.T) {
	scratch := publicDir(t)
	l := mustProcess(t, sandbox.Options{ScratchDir: scratch})
	var out buffer
	p := mustLaunch(t, l, &lambdahost.LaunchSpec{
		Argv:   []string{"/bin/sh", "-c", `echo x > "$TMPDIR/f" && echo "$TMPDIR"`},
		Output: &out,
	})
	waitDone(t, p)
	dir := strings.TrimSpace(out.String())
	if filepath.Dir(dir) != scratch {
		t.Errorf("TMPDIR=%q, want a directory of %s", dir, scratch)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Stat(TMPDIR)=%v after the environment ended, want not exist", err)
	}
}

// mustImages returns a Launcher in ModeNamespaces whose /tmp are file
// systems of their own, or skips the test when this host cannot make them.
func mustImages(tb testing.TB, opts sandbox.Options) *sandbox.Launcher {
	tb.Helper()
	l := mustNamespaces(tb, opts)
	if !l.TmpEnforced() {
		skipOrFail(tb, "/tmp cannot be a file system of its own here (loop devices, mke2fs from e2fsprogs)")
	}
	return l
}

// waitOutputOrEnd waits until the environment's output ends with s, and
// reports false if the environment ended first.
func waitOutputOrEnd(tb testing.TB, p lambdahost.Process, out *buffer, s string) bool {
	tb.Helper()
	deadline := time.After(2 * time.Minute)
	for !strings.HasSuffix(out.String(), s) {
		select {
		case <-p.Done():
			return strings.HasSuffix(out.String(), s)
		case <-deadline:
			tb.Fatalf("output %q does not end with %q after 2 minutes", out.String(), s)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return true
}

// loopFilesIn lists the backing files of loop devices that are in dir.
func loopFilesIn(tb testing.TB, dir string) []string {
	tb.Helper()
	names, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		tb.Fatal(err)
	}
	var files []string
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue // detached meanwhile
		}
		if f := strings.TrimSpace(string(b)); strings.HasPrefix(f, dir+"/") {
			files = append(files, f)
		}
	}
	return files
}

// waitNoLoopFiles waits until no loop device holds a file of dir: the
// kernel detaches them asynchronously after the last unmount.
func waitNoLoopFiles(tb testing.TB, dir string) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		files := loopFilesIn(tb, dir)
		if len(files) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("loop devices still hold %q after 2 minutes", files)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

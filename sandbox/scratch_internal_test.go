package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lambdahost/lambdahost"
)

// skipOrFail skips the test for reason, or fails it under
// LAMBDAHOST_E2E_REQUIRE=1, as CI sets.
func skipOrFail(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv("LAMBDAHOST_E2E_REQUIRE") == "1" {
		tb.Fatalf("LAMBDAHOST_E2E_REQUIRE=1: %s", reason)
	}
	tb.Skip(reason)
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestRemoveStale removes what launchers that no longer run left in the
// scratch directory, and nothing else.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	dead := deadPID(t)
	entries := []struct {
		name string
		dir  bool
		kept bool
	}{
		{fmt.Sprintf("%s%d-1", scratchPrefix, dead), true, false},
		{fmt.Sprintf("%s%d-2.img", scratchPrefix, dead), false, false},
		{fmt.Sprintf("%s%d-3", scratchPrefix, os.Getpid()), true, true},
		{fmt.Sprintf("%s%d-4", scratchPrefix, 1), true, true},
		{"lambdahost-tmp-notapid-5", true, true},
		{"unrelated", true, true},
	}
	var want []string
	for _, e := range entries {
		p := filepath.Join(dir, e.name)
		var err error
		if e.dir {
			if err = os.Mkdir(p, 0o755); err == nil {
				err = os.WriteFile(filepath.Join(p, "f"), []byte("x"), 0o644)
			}
		} else {
			err = os.WriteFile(p, []byte("x"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.kept {
			want = append(want, e.name)
		}
	}
	if _, err := newScratch(dir, slog.New(slog.DiscardHandler), false, 0); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range left {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("entries left=%q, want %q", got, want)
	}
}

// mustScratchImages returns a scratch that makes images in a new
// directory, or skips the test where images cannot be made.
func mustScratchImages(t *testing.T) *scratch {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "loop devices need root")
	}
	s, err := newScratch(t.TempDir(), slog.New(slog.DiscardHandler), true, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.useImages()
	if err != nil {
		skipOrFail(t, fmt.Sprintf("no /tmp images here: %v", err))
	}
	img.close(false)
	return s
}

// TestFormat makes images of several sizes: each is empty, sticky and
// writable by all, and has exactly its size available to the function user.
func TestFormat(t *testing.T) {
	s := mustScratchImages(t)
	for _, sizeMB := range []int{512, 513, 1000, 2048, 10240} {
		t.Run(fmt.Sprint(sizeMB), func(t *testing.T) {
			for i := range 2 { // the template, then a copy of it
				img, err := s.format(sizeMB)
				if err != nil {
					t.Fatal(err)
				}
				root := int(img.root.Fd())
				var st unix.Statfs_t
				if err := unix.Fstatfs(root, &st); err != nil {
					t.Fatal(err)
				}
				if got := int64(st.Bavail) * st.Bsize; got != int64(sizeMB)<<20 {
					t.Errorf("image %d: available=%d, want %d", i, got, int64(sizeMB)<<20)
				}
				var fi unix.Stat_t
				if err := unix.Fstat(root, &fi); err != nil {
					t.Fatal(err)
				}
				if mode := fi.Mode & 0o7777; mode != 0o1777 || fi.Uid != 0 {
					t.Errorf("image %d: root mode=%o uid=%d, want 1777 and 0", i, mode, fi.Uid)
				}
				names, err := os.ReadDir(fmt.Sprintf("/proc/self/fd/%d", root))
				if err != nil || len(names) != 0 {
					t.Errorf("image %d: root holds %v (%v), want nothing", i, names, err)
				}
				img.close(false)
			}
		})
	}
}

// TestNamespaces_TmpDirectory checks the fallback where /tmp cannot be a
// file system of its own: a directory of the scratch directory, bound at
// /tmp and removed when the environment ends.
func TestNamespaces_TmpDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "namespaces mode needs root")
	}
	scratch := t.TempDir()
	l, err := New(Options{Mode: ModeNamespaces, StateDir: t.TempDir(), ScratchDir: scratch, TmpSpares: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		skipOrFail(t, fmt.Sprintf("namespaces unavailable: %v", err))
	}
	defer l.Close()
	// As if mke2fs were missing.
	l.scratch.mkfs = ""
	if l.TmpEnforced() {
		t.Fatal("TmpEnforced=true without images")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Launch(context.Background(), &lambdahost.LaunchSpec{
		ID:     "tmp-directory",
		Argv:   []string{"/bin/sh", "-c", "echo x > /tmp/f && ls -A /tmp && stat -c %a /tmp"},
		Output: w,
	})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	select {
	case <-p.Done():
	case <-time.After(time.Minute):
		t.Fatal("environment did not end within a minute")
	}
	if got, want := string(out), "f\n1777\n"; got != want {
		t.Errorf("output=%q, want %q", got, want)
	}
	left, _ := os.ReadDir(scratch)
	for _, e := range left {
		if strings.HasPrefix(e.Name(), scratchPrefix) {
			t.Errorf("%s left in the scratch directory", e.Name())
		}
	}
}

// TestRecycle empties an image as an environment could have left it: it is
// then as new, and what the links in it pointed to is untouched.
func TestRecycle(t *testing.T) {
	s := mustScratchImages(t)
	img, err := s.format(512)
	if err != nil {
		t.Fatal(err)
	}
	defer img.close(false)
	img.mount.Close() // as after an environment attached it
	img.mount = nil
	root := fmt.Sprintf("/proc/self/fd/%d", img.root.Fd())
	big := make([]byte, 1<<20)
	steps := []func() error{
		func() error { return os.MkdirAll(root+"/d/e", 0o755) },
		func() error { return os.WriteFile(root+"/d/e/f", big, 0o644) },
		func() error { return os.WriteFile(root+"/big", bytes.Repeat(big, 64), 0o644) },
		func() error { return os.Symlink("/etc/passwd", root+"/passwd") },
		func() error { return os.Symlink("/", root+"/escape") },
		func() error { return unix.Mkfifo(root+"/fifo", 0o644) },
		func() error { return os.Link(root+"/d/e/f", root+"/hardlink") },
		func() error { return os.Chmod(root+"/d", 0) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := s.recycle(img); err != nil {
		t.Fatalf("recycle: %v", err)
	}
	if img.mount == nil {
		t.Error("no new mount after recycle")
	}
	if names, err := os.ReadDir(root); err != nil || len(names) != 0 {
		t.Errorf("recycled image holds %v (%v), want nothing", names, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(img.root.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if got := int64(st.Bavail) * st.Bsize; got != 512<<20 {
		t.Errorf("available=%d after recycle, want %d", got, 512<<20)
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Errorf("/etc/passwd: %v after recycling an image linking to it", err)
	}
}

// TestRecycle_Refused does not reuse an image whose root directory grew
// with the many files it held: it would not have its size free any more.
func TestRecycle_Refused(t *testing.T) {
	s := mustScratchImages(t)
	img, err := s.format(512)
	if err != nil {
		t.Fatal(err)
	}
	defer img.close(false)
	root := fmt.Sprintf("/proc/self/fd/%d", img.root.Fd())
	for i := range 3000 {
		if err := os.WriteFile(fmt.Sprintf("%s/file-with-a-long-name-%04d", root, i), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.recycle(img); err == nil {
		t.Error("recycle succeeded, want a refusal")
	}
}

// TestNamespaces_TmpRecycled runs an environment that fills its /tmp, then
// another once the first one's file system is back among the spares: the
// second gets it, empty.
func TestNamespaces_TmpRecycled(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "namespaces mode needs root")
	}
	l, err := New(Options{Mode: ModeNamespaces, StateDir: t.TempDir(), TmpSpares: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		skipOrFail(t, fmt.Sprintf("namespaces unavailable: %v", err))
	}
	defer l.Close()
	if !l.TmpEnforced() {
		skipOrFail(t, "/tmp cannot be a file system of its own here")
	}
	run := func(sh string) (*Process, string) {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.Launch(context.Background(), &lambdahost.LaunchSpec{ID: "recycled", Argv: []string{"/bin/sh", "-c", sh}, Output: w})
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(r)
		select {
		case <-p.(*Process).Done():
		case <-time.After(time.Minute):
			t.Fatal("environment did not end within a minute")
		}
		return p.(*Process), string(out)
	}
	first, _ := run("mkdir /tmp/d && head -c 100000000 /dev/zero > /tmp/d/f && ln -s / /tmp/root")
	img := first.tmpImg
	deadline := time.Now().Add(2 * time.Minute)
	for !l.scratch.spare(img) {
		if time.Now().After(deadline) {
			t.Fatal("the first environment's /tmp is not a spare after 2 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	second, out := run("ls -A /tmp; df -k /tmp | tail -1 | awk '{print $4}'")
	if second.tmpImg != img {
		t.Error("the second environment did not get the first one's /tmp")
	}
	if want := "524288\n"; out != want {
		t.Errorf("second environment: output=%q, want an empty /tmp with %q KiB available", out, want)
	}
}

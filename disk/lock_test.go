package disk_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost/disk"
)

// lockChildEnv names the lock file when the test binary runs as the child
// of TestLockReleasedOnKill.
const lockChildEnv = "LAMBDAHOST_DISK_LOCK_CHILD"

// lockChild takes the lock at path exclusively, writes its PID into it,
// says "locked" and waits to be killed.
func lockChild(path string) {
	l, err := disk.OpenLockFile(path)
	if err == nil {
		err = l.TryLock()
	}
	if err == nil {
		err = l.SetContent([]byte(fmt.Sprint(os.Getpid())))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("locked")
	select {}
}

func mustOpenLock(t *testing.T, path string) *disk.LockFile {
	t.Helper()
	l, err := disk.OpenLockFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLockFile(t *testing.T) {
	// flock locks belong to open files, so two LockFiles of one process
	// exclude each other as two processes would.
	type step struct {
		who     int // 0 or 1
		op      string
		wantErr bool // want ErrLocked
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"exclusive-excludes-exclusive", []step{{0, "lock", false}, {1, "lock", true}}},
		{"exclusive-excludes-shared", []step{{0, "lock", false}, {1, "shared", true}}},
		{"shared-excludes-exclusive", []step{{0, "shared", false}, {1, "lock", true}}},
		{"shared-with-shared", []step{{0, "shared", false}, {1, "shared", false}}},
		{"unlock-releases", []step{{0, "lock", false}, {0, "unlock", false}, {1, "lock", false}, {0, "shared", true}}},
		{"close-releases", []step{{0, "lock", false}, {0, "close", false}, {1, "lock", false}}},
		{"relock-by-holder", []step{{0, "lock", false}, {0, "lock", false}, {0, "shared", false}, {1, "shared", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lock")
			ls := []*disk.LockFile{mustOpenLock(t, path), mustOpenLock(t, path)}
			for i, s := range tt.steps {
				var err error
				switch s.op {
				case "lock":
					err = ls[s.who].TryLock()
				case "shared":
					err = ls[s.who].TryLockShared()
				case "unlock":
					err = ls[s.who].Unlock()
				case "close":
					err = ls[s.who].Close()
				}
				if got := errors.Is(err, disk.ErrLocked); got != s.wantErr || (err != nil && !got) {
					t.Fatalf("step %d (%d %s): err=%v, want locked=%v", i, s.who, s.op, err, s.wantErr)
				}
			}
		})
	}
}

func TestLockWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	holder, waiter := mustOpenLock(t, path), mustOpenLock(t, path)
	if err := holder.TryLock(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := waiter.LockShared(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("LockShared with a done context: err=%v, want context.Canceled", err)
	}

	got := make(chan error, 1)
	go func() { got <- waiter.Lock(t.Context()) }()
	if err := holder.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("Lock after the holder unlocked: %v", err)
	}
	if err := holder.TryLockShared(); !errors.Is(err, disk.ErrLocked) {
		t.Errorf("TryLockShared while the waiter holds it: err=%v, want ErrLocked", err)
	}
}

func TestLockSetContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l := mustOpenLock(t, path)
	for _, s := range []string{"a long first description", "short"} {
		if err := l.SetContent([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != s {
			t.Errorf("content=%q, %v; want %q", b, err, s)
		}
	}
}

// TestLockReleasedOnKill: the lock of a process killed with SIGKILL is
// free at once, with no stale state to clean up.
func TestLockReleasedOnKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process")
	}
	path := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("child said %q, %v; want locked", line, err)
	}

	l := mustOpenLock(t, path)
	if err := l.TryLock(); !errors.Is(err, disk.ErrLocked) {
		t.Fatalf("TryLock while the child holds it: err=%v, want ErrLocked", err)
	}
	if b, _ := os.ReadFile(path); string(b) != fmt.Sprint(cmd.Process.Pid) {
		t.Errorf("lock file holds %q, want the child's PID %d", b, cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if err := l.TryLock(); err != nil {
		t.Fatalf("TryLock after the holder was killed: %v", err)
	}
}

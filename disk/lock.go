package disk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ErrLocked is wrapped by the error of TryLock and TryLockShared when
// another open file description holds a conflicting lock: another process,
// or another LockFile on the same file in this one.
var ErrLocked = errors.New("locked by another process")

// LockFile is a file used as an advisory lock between processes, with
// flock(2). A lock belongs to the open file: the kernel releases it when
// the file is closed, which happens when the process exits however it
// exits, SIGKILL included, so a crash never leaves a stale lock behind and
// nothing needs to be cleaned up before the next start.
//
// A LockFile holds at most one lock at a time, shared or exclusive; taking
// the other kind converts it. The file's content is free for the holder
// to describe itself (see SetContent), for the message of whoever finds it
// locked. The file must never be removed or replaced while in use: a lock
// on a file that was unlinked no longer excludes anyone who opens the new
// one. LockFile is not safe for concurrent use.
type LockFile struct {
	f *os.File
}

// OpenLockFile opens the lock file at path, creating it (mode 0o600) if it
// does not exist. It takes no lock.
func OpenLockFile(path string) (*LockFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	return &LockFile{f: f}, nil
}

// Path returns the path the lock file was opened at.
func (l *LockFile) Path() string { return l.f.Name() }

// TryLock takes the lock exclusively, or fails at once with an error
// wrapping ErrLocked if anyone else holds it, shared or exclusive.
func (l *LockFile) TryLock() error { return l.flock(syscall.LOCK_EX|syscall.LOCK_NB, "lock") }

// TryLockShared takes the lock shared, or fails at once with an error
// wrapping ErrLocked if anyone else holds it exclusively.
func (l *LockFile) TryLockShared() error {
	return l.flock(syscall.LOCK_SH|syscall.LOCK_NB, "lock shared")
}

// Lock takes the lock exclusively, waiting while others hold it. It
// returns ctx's error if ctx is done first.
func (l *LockFile) Lock(ctx context.Context) error { return l.wait(ctx, l.TryLock) }

// LockShared takes the lock shared, waiting while someone holds it
// exclusively. It returns ctx's error if ctx is done first.
func (l *LockFile) LockShared(ctx context.Context) error { return l.wait(ctx, l.TryLockShared) }

// lockPoll bounds the wait between two attempts of Lock and LockShared.
// A blocking flock cannot be interrupted by a context, so they poll; the
// locks guard work that lasts seconds to minutes.
const lockPoll = 250 * time.Millisecond

func (l *LockFile) wait(ctx context.Context, try func() error) error {
	delay := 5 * time.Millisecond
	for {
		err := try()
		if !errors.Is(err, ErrLocked) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for lock %s: %w", l.Path(), ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, lockPoll)
	}
}

// Unlock releases the lock, keeping the file open for a later one.
func (l *LockFile) Unlock() error { return l.flock(syscall.LOCK_UN, "unlock") }

func (l *LockFile) flock(how int, op string) error {
	for {
		err := syscall.Flock(int(l.f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return fmt.Errorf("%s %s: %w", op, l.Path(), ErrLocked)
		default:
			return fmt.Errorf("%s %s: %w", op, l.Path(), err)
		}
	}
}

// SetContent replaces the file's content with b and flushes it to disk.
// The holder of the lock writes who it is, for others to read with
// os.ReadFile. A reader racing the write may see it half done.
func (l *LockFile) SetContent(b []byte) error {
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := l.f.Truncate(int64(len(b))); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// Close closes the file, which releases any lock held through it.
func (l *LockFile) Close() error { return l.f.Close() }

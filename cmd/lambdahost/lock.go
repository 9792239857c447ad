package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lambdahost/lambdahost/disk"
)

// A data dir belongs to one process at a time. Commands that write it
// (serve, restore, check --repair, migrate) hold lambdahost.lock
// exclusively while they run; a second one is refused with the holder's
// PID and what it is doing. Commands that only read it (check, backup)
// take no such lock and run beside a server. The locks are flocks
// (disk.LockFile), which the kernel releases when their process dies, so
// after kill -9 the next start needs no clean-up.
//
// gc.lock keeps code from being deleted while a reader needs it: serve's
// garbage collection holds it exclusively while it collects, and backup
// and check hold it shared from their snapshot of the metadata until they
// have read the code it references. A collection that finds it taken
// waits for its next round.

// Files of a data dir that belong to its locks.
const (
	lockFileName   = "lambdahost.lock"
	gcLockFileName = "gc.lock"
	// restoreMarker exists while a restore fills the data dir; serve
	// refuses a data dir that holds it.
	restoreMarker = "restore.incomplete"
)

// holder says which process holds a data dir, in its lock file.
type holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Listen  string    `json:"listen,omitempty"`
	Started time.Time `json:"started"`
}

// dataDirLock is a data dir this process holds exclusively.
type dataDirLock struct {
	f *disk.LockFile
	h holder
}

// errDataDirInUse is wrapped by lockDataDir's error when another process
// holds the data dir.
var errDataDirInUse = errors.New("data dir in use")

// dataDirInUseError says who holds a data dir.
type dataDirInUseError struct {
	Dir    string
	Holder *holder // nil if the lock file does not say
}

func (e *dataDirInUseError) Error() string {
	h := e.Holder
	if h == nil {
		return fmt.Sprintf("data dir %s is in use by another lambdahost process (it has not said which yet): stop it first, or use another --data-dir", e.Dir)
	}
	what := "lambdahost " + h.Command
	detail := fmt.Sprintf("pid %d", h.PID)
	if h.Listen != "" {
		detail += ", listening on " + h.Listen
	}
	if !h.Started.IsZero() {
		detail += ", since " + h.Started.Format(time.RFC3339)
	}
	return fmt.Sprintf("data dir %s is in use by %s (%s): stop it first, or use another --data-dir", e.Dir, what, detail)
}

func (e *dataDirInUseError) Unwrap() error { return errDataDirInUse }

// lockDataDir takes dir exclusively for command, creating dir (0700) if it
// does not exist, and writes this process's PID into the lock file. It
// fails with a *dataDirInUseError if another process holds dir.
func lockDataDir(dir, command string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	f, err := disk.OpenLockFile(filepath.Join(dir, lockFileName))
	if err != nil {
		return nil, err
	}
	if err := f.TryLock(); err != nil {
		f.Close()
		if errors.Is(err, disk.ErrLocked) {
			return nil, &dataDirInUseError{Dir: dir, Holder: readHolder(dir)}
		}
		return nil, err
	}
	l := &dataDirLock{f: f, h: holder{PID: os.Getpid(), Command: command, Started: time.Now().UTC().Truncate(time.Second)}}
	if err := l.write(); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// readHolder returns what the lock file of dir says, or nil.
func readHolder(dir string) *holder {
	b, err := os.ReadFile(filepath.Join(dir, lockFileName))
	if err != nil {
		return nil
	}
	var h holder
	if json.Unmarshal(b, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

func (l *dataDirLock) write() error {
	b, err := json.Marshal(l.h)
	if err != nil {
		return err
	}
	return l.f.SetContent(append(b, '\n'))
}

// setListen records the address the holder listens on, for the message
// of whoever finds the data dir taken.
func (l *dataDirLock) setListen(addr string) error {
	l.h.Listen = addr
	return l.write()
}

// Close releases the data dir. The lock file stays: removing it would let
// a process that opened it just before lock a file nobody else sees.
func (l *dataDirLock) Close() error { return l.f.Close() }

// openGCLock opens the lock that guards code against deletion (see above).
func openGCLock(dir string) (*disk.LockFile, error) {
	return disk.OpenLockFile(filepath.Join(dir, gcLockFileName))
}

// pauseGC holds dir's garbage collection lock shared until the returned
// LockFile is closed, waiting for a collection in progress to finish, and
// says so on w if it has to wait.
func pauseGC(ctx context.Context, dir string, w io.Writer) (*disk.LockFile, error) {
	l, err := openGCLock(dir)
	if err != nil {
		return nil, err
	}
	err = l.TryLockShared()
	if errors.Is(err, disk.ErrLocked) {
		fmt.Fprintln(w, "waiting for a garbage collection in progress to finish")
		err = l.LockShared(ctx)
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// checkRestored refuses a data dir that a restore did not finish filling.
func checkRestored(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, restoreMarker)); err == nil {
		return fmt.Errorf("a restore into data dir %s did not finish (%s is there): remove the data dir's contents and restore again", dir, restoreMarker)
	}
	return nil
}

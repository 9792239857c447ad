package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/sqlite"
	"github.com/lambdahost/lambdahost/sts"
)

// opened is a data dir opened in-process as serve opens it.
type opened struct {
	dir   string
	svc   *control.Service
	store *sqlite.Store
	blobs *disk.BlobStore
	ctx   context.Context
}

// openDataDir opens (creating) the data dir at dir as serve would, without
// its lock, and closes it when the test ends or close is called.
func openDataDir(t testing.TB, dir string) *opened {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "lambdahost.db"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := disk.NewBlobStore(filepath.Join(dir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := loadMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	svc := control.New(store, blobs)
	svc.Keys = kms.New(store, key)
	svc.SettleSync = true
	svc.Logger = slog.New(slog.DiscardHandler)
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	o := &opened{dir: dir, svc: svc, store: store, blobs: blobs,
		ctx: lambdahost.WithCaller(t.Context(), lambdahost.Caller{AccessKey: "test", Account: "000000000000", Region: "us-east-1"})}
	t.Cleanup(o.close)
	return o
}

func (o *opened) close() {
	o.svc.Close()
	o.store.Close()
}

// testZip returns a zip holding a file of size random bytes, stored
// uncompressed, so that its size is about size.
func testZip(t testing.TB, size int) []byte {
	t.Helper()
	content := make([]byte, size)
	rand.Read(content)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "app.py", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stage stages data as an upload; the caller aborts it when done.
func (o *opened) stage(t testing.TB, data []byte) lambdahost.BlobWriter {
	t.Helper()
	w, err := o.svc.StageCode(o.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	return w
}

// create creates function name with a zip of about size bytes and returns
// its CodeSha256.
func (o *opened) create(t testing.TB, name string, size int) string {
	t.Helper()
	w := o.stage(t, testZip(t, size))
	defer w.Abort()
	out, err := o.svc.CreateFunction(o.ctx, &control.CreateFunctionInput{
		FunctionName: name,
		Config:       control.ConfigInput{Runtime: ptr("python3.12"), Role: ptr("arn:aws:iam::000000000000:role/r"), Handler: ptr("app.handler")},
		Code:         &control.CodeInput{Zip: w},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Code.SHA256()
}

func (o *opened) update(t testing.TB, name string, size int) string {
	t.Helper()
	w := o.stage(t, testZip(t, size))
	defer w.Abort()
	out, err := o.svc.UpdateFunctionCode(o.ctx, &control.UpdateCodeInput{FunctionName: name, Code: control.CodeInput{Zip: w}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Code.SHA256()
}

// codes returns the CodeSha256 of every function's $LATEST.
func (o *opened) codes(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := o.store.View(t.Context(), func(tx lambdahost.Tx) error {
		fs, err := tx.AllFunctions(t.Context(), lambdahost.FunctionID{}, 0)
		if err != nil {
			return err
		}
		for _, f := range fs {
			v, err := tx.Version(t.Context(), f.ID, lambdahost.VersionLatest)
			if err != nil {
				return err
			}
			out[f.ID.Name] = v.Code.SHA256()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// lh runs the lambdahost command line in-process.
func lh(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, func(string) string { return "" }, &out, &errOut)
	return out.String(), errOut.String(), code
}

func wantRun(t testing.TB, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := lh(t, args...)
	if code != want {
		t.Fatalf("lambdahost %s: exit status %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout, stderr
}

// populate fills a data dir with a blob-stored function, an inline one,
// and one whose code was replaced, and returns their CodeSha256.
func populate(t testing.TB, dir string) map[string]string {
	t.Helper()
	o := openDataDir(t, dir)
	o.create(t, "big", 3*lambdahost.SealedChunkSize)
	o.create(t, "small", 1000)
	o.create(t, "changed", 200<<10)
	o.update(t, "changed", 300<<10)
	codes := o.codes(t)
	o.close()
	return codes
}

func TestBackupRestoreCheck(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "data")
	want := populate(t, src)

	_, stderr := wantRun(t, 0, "backup", "--data-dir", src, "--to", filepath.Join(tmp, "bk"))
	if !strings.Contains(stderr, "master key is NOT in this backup") {
		t.Errorf("backup without --include-master-key said %q, want a note that the key is not in it", stderr)
	}
	if _, err := os.Stat(filepath.Join(tmp, "bk", "master.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup without --include-master-key holds master.key (%v)", err)
	}
	var m manifest
	b, err := os.ReadFile(filepath.Join(tmp, "bk", "manifest.json"))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	// big and the new code of changed are blobs; small is inline, and the
	// replaced code of changed is referenced by nothing.
	if m.Functions != 3 || len(m.Blobs) != 2 {
		t.Errorf("manifest: %d functions, %d blobs; want 3, 2", m.Functions, len(m.Blobs))
	}

	t.Run("restore-with-given-key", func(t *testing.T) {
		dst := filepath.Join(tmp, "restored")
		stdout, _ := wantRun(t, 0, "restore", "--from", filepath.Join(tmp, "bk"), "--data-dir", dst, "--master-key-file", filepath.Join(src, "master.key"))
		if !strings.Contains(stdout, "--master-key-file") {
			t.Errorf("restore with a key kept apart said %q; want it to say serve needs --master-key-file", stdout)
		}
		if got := openCodes(t, dst, filepath.Join(src, "master.key")); !equalMaps(got, want) {
			t.Errorf("restored CodeSha256 %v, want %v", got, want)
		}
		stdout, _ = wantRun(t, 0, "check", "--data-dir", dst, "--master-key-file", filepath.Join(src, "master.key"))
		if !strings.Contains(stdout, "intact") {
			t.Errorf("check of the restore said %q", stdout)
		}
		// Restore refuses a data dir that is not empty.
		_, stderr := wantRun(t, 1, "restore", "--from", filepath.Join(tmp, "bk"), "--data-dir", dst, "--master-key-file", filepath.Join(src, "master.key"))
		if !strings.Contains(stderr, "not empty") {
			t.Errorf("restore into a full data dir said %q", stderr)
		}
	})

	t.Run("restore-without-key", func(t *testing.T) {
		dst := filepath.Join(tmp, "restored-nokey")
		_, stderr := wantRun(t, 0, "restore", "--from", filepath.Join(tmp, "bk"), "--data-dir", dst)
		if !strings.Contains(stderr, "no master key") {
			t.Errorf("restore without a key said %q, want a note that the content was not opened", stderr)
		}
		// check finds the data dir unusable as it is: serve would make a
		// new master key that opens nothing.
		stdout, _ := wantRun(t, 1, "check", "--data-dir", dst)
		if !strings.Contains(stdout, "no master key") {
			t.Errorf("check without a master key said %q", stdout)
		}
	})

	t.Run("restore-wrong-key", func(t *testing.T) {
		other := filepath.Join(tmp, "other.key")
		if err := os.WriteFile(other, bytes.Repeat([]byte{7}, lambdahost.MasterKeySize), 0o600); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(tmp, "restored-wrong")
		_, stderr := wantRun(t, 1, "restore", "--from", filepath.Join(tmp, "bk"), "--data-dir", dst, "--master-key-file", other)
		if !strings.Contains(stderr, "not the master key this backup is sealed with") {
			t.Errorf("restore with another key said %q", stderr)
		}
	})

	t.Run("include-master-key-and-copy", func(t *testing.T) {
		bk := filepath.Join(tmp, "bk-key")
		_, stderr := wantRun(t, 0, "backup", "--data-dir", src, "--to", bk, "--include-master-key", "--copy")
		if strings.Contains(stderr, "NOT in this backup") {
			t.Errorf("backup --include-master-key warned %q", stderr)
		}
		blob := filepath.Join(bk, "code", "blobs", "sha256", m.Blobs[0].Address)
		if links(t, blob) != 1 {
			t.Errorf("backup --copy hard-linked %s", blob)
		}
		dst := filepath.Join(tmp, "restored-key")
		wantRun(t, 0, "restore", "--from", bk, "--data-dir", dst)
		if got := openCodes(t, dst, ""); !equalMaps(got, want) {
			t.Errorf("restored CodeSha256 %v, want %v", got, want)
		}
		wantRun(t, 0, "check", "--data-dir", dst)
	})

	t.Run("damaged-backup", func(t *testing.T) {
		bk := filepath.Join(tmp, "bk-damaged")
		wantRun(t, 0, "backup", "--data-dir", src, "--to", bk, "--copy")
		replaceByte(t, filepath.Join(bk, "code", "blobs", "sha256", m.Blobs[0].Address), 100)
		dst := filepath.Join(tmp, "restored-damaged")
		_, stderr := wantRun(t, 1, "restore", "--from", bk, "--data-dir", dst, "--master-key-file", filepath.Join(src, "master.key"))
		if !strings.Contains(stderr, "damaged") || !strings.Contains(stderr, m.Blobs[0].Address) {
			t.Errorf("restore of a damaged backup said %q, want it to name the blob", stderr)
		}
		// A failed restore leaves the data dir empty for another attempt.
		if err := checkEmptyDataDir(dst); err != nil {
			t.Error(err)
		}
		if err := os.Remove(filepath.Join(bk, "manifest.json")); err != nil {
			t.Fatal(err)
		}
		_, stderr = wantRun(t, 1, "restore", "--from", bk, "--data-dir", dst)
		if !strings.Contains(stderr, "manifest") {
			t.Errorf("restore of a backup without its manifest said %q", stderr)
		}
	})

	t.Run("backup-into-a-full-dir", func(t *testing.T) {
		_, stderr := wantRun(t, 1, "backup", "--data-dir", src, "--to", filepath.Join(tmp, "bk"))
		if !strings.Contains(stderr, "not empty") {
			t.Errorf("backup into a full directory said %q", stderr)
		}
	})
}

// TestBackupAcrossFileSystems: where hard links cannot reach, blobs are
// copied.
func TestBackupAcrossFileSystems(t *testing.T) {
	// A machine without a tmpfs at /dev/shm skips this, except in CI.
	skip := t.Skip
	if os.Getenv("LAMBDAHOST_E2E_REQUIRE") == "1" {
		skip = t.Fatal
	}
	shm, err := os.MkdirTemp("/dev/shm", "lambdahost-backup-")
	if err != nil {
		skip("no /dev/shm:", err)
	}
	defer os.RemoveAll(shm)
	src := filepath.Join(t.TempDir(), "data")
	want := populate(t, src)
	if device(t, shm) == device(t, src) {
		skip("/dev/shm is on the test's file system")
	}
	bk := filepath.Join(shm, "bk")
	wantRun(t, 0, "backup", "--data-dir", src, "--to", bk, "--include-master-key")
	dst := filepath.Join(t.TempDir(), "restored")
	wantRun(t, 0, "restore", "--from", bk, "--data-dir", dst)
	if got := openCodes(t, dst, ""); !equalMaps(got, want) {
		t.Errorf("restored CodeSha256 %v, want %v", got, want)
	}
}

func TestCheckFindsDamageAndRepairs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	populate(t, dir)
	stdout, _ := wantRun(t, 0, "check", "--data-dir", dir, "--gc-grace", "1h")
	// The replaced code of "changed" is an orphan, kept for the grace period.
	if !strings.Contains(stdout, "intact") || !strings.Contains(stdout, "within the 1h0m0s grace period") {
		t.Errorf("check said %q, want intact and one orphan within the grace period", stdout)
	}
	stdout, _ = wantRun(t, 0, "check", "--data-dir", dir, "--gc-grace", "0s")
	if !strings.Contains(stdout, "garbage collection would delete 1") {
		t.Errorf("check --gc-grace 0s said %q, want the orphan collectable", stdout)
	}

	o := openDataDir(t, dir)
	blob := filepath.Join(dir, "code", "blobs", "sha256", lambdahost.CodeAddress(latest(t, o, "big").SealedWith, latest(t, o, "big").Digest).Hex())
	o.close()
	replaceByte(t, blob, lambdahost.SealedChunkSize+10)
	stdout, _ = wantRun(t, 1, "check", "--data-dir", dir)
	if !strings.Contains(stdout, "PROBLEM: arn:aws:lambda:us-east-1:000000000000:function:big:$LATEST: code") || !strings.Contains(stdout, "NOT INTACT") {
		t.Errorf("check of a corrupted blob said %q, want it to name big:$LATEST", stdout)
	}
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	stdout, _ = wantRun(t, 1, "check", "--data-dir", dir)
	if !strings.Contains(stdout, "function:big:$LATEST: code") || !strings.Contains(stdout, "missing") {
		t.Errorf("check of a deleted blob said %q, want it to name big:$LATEST", stdout)
	}

	// --repair deletes the orphan, an image nothing uses and leftover
	// uploads, and nothing else.
	if err := os.WriteFile(filepath.Join(dir, "code", "tmp", "blob-left-by-a-crash"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	image := filepath.Join(dir, "images", "images", "sha256", strings.Repeat("ab", 32))
	for _, d := range []string{filepath.Join(image, "rootfs"), filepath.Join(dir, "images", "images", "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stdout, _ = wantRun(t, 1, "check", "--data-dir", dir)
	if !strings.Contains(stdout, "orphan: unpacked image "+strings.Repeat("ab", 32)) {
		t.Errorf("check said %q, want the unpacked image nothing uses", stdout)
	}
	stdout, _ = wantRun(t, 1, "check", "--data-dir", dir, "--repair")
	if !strings.Contains(stdout, "repair: deleted 2 unreferenced packages and unpacked images, and 1 leftover temporary files") {
		t.Errorf("check --repair said %q", stdout)
	}
	if _, err := os.Stat(image); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unpacked image is still there (%v)", err)
	}
	stdout, _ = wantRun(t, 1, "check", "--data-dir", dir)
	if strings.Contains(stdout, "orphan") || strings.Count(stdout, "PROBLEM") != 1 {
		t.Errorf("after repair, check said %q; want only the missing blob", stdout)
	}
}

func latest(t *testing.T, o *opened, name string) lambdahost.Code {
	t.Helper()
	var c lambdahost.Code
	err := o.store.View(t.Context(), func(tx lambdahost.Tx) error {
		v, err := tx.Version(t.Context(), lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: name}, lambdahost.VersionLatest)
		if err == nil {
			c = v.Code
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWritersRefuseAHeldDataDir: restore and check --repair refuse a data
// dir another process holds, naming it; check and backup read beside it.
func TestWritersRefuseAHeldDataDir(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	populate(t, dir)
	wantRun(t, 0, "backup", "--data-dir", dir, "--to", filepath.Join(tmp, "bk"), "--include-master-key")

	l, err := lockDataDir(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.setListen("127.0.0.1:1234"); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("is in use by lambdahost serve (pid %d, listening on 127.0.0.1:1234", os.Getpid())
	_, stderr := wantRun(t, 1, "check", "--data-dir", dir, "--repair")
	if !strings.Contains(stderr, want) {
		t.Errorf("check --repair said %q, want %q", stderr, want)
	}
	wantRun(t, 0, "check", "--data-dir", dir)
	wantRun(t, 0, "backup", "--data-dir", dir, "--to", filepath.Join(tmp, "bk2"))

	held := filepath.Join(tmp, "held")
	l2, err := lockDataDir(held, "serve")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	_, stderr = wantRun(t, 1, "restore", "--from", filepath.Join(tmp, "bk"), "--data-dir", held)
	if !strings.Contains(stderr, "is in use by lambdahost serve (pid") {
		t.Errorf("restore into a held data dir said %q", stderr)
	}
}

func TestLockDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := lockDataDir(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir, "restore")
	var inUse *dataDirInUseError
	if !errors.As(err, &inUse) || !errors.Is(err, errDataDirInUse) || inUse.Holder == nil || inUse.Holder.PID != os.Getpid() || inUse.Holder.Command != "serve" {
		t.Fatalf("second lockDataDir: %v, want the holder named", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = lockDataDir(dir, "restore")
	if err != nil {
		t.Fatalf("lockDataDir after Close: %v", err)
	}
	l.Close()
	if got := (&dataDirInUseError{Dir: "/d"}).Error(); !strings.Contains(got, "another lambdahost process") {
		t.Errorf("message without a holder: %q", got)
	}
}

// TestGCWaitsForReaders: serve's garbage collection skips its round while
// a backup or check holds the lock, and collects once it is free.
func TestGCWaitsForReaders(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	o := openDataDir(t, dir)
	o.create(t, "f", 200<<10)
	old := latest(t, o, "f")
	o.update(t, "f", 200<<10)
	oldBlob := lambdahost.CodeAddress(old.SealedWith, old.Digest)

	reader, err := pauseGC(t.Context(), dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	gc, err := openGCLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	// A negative grace makes every unreferenced blob old enough, so that
	// each round logs what it did, whatever the clocks say.
	m := &Main{GCInterval: time.Hour, GCGrace: -time.Hour}
	sessions, err := sts.New(o.store, bytes.Repeat([]byte{1}, lambdahost.MasterKeySize), lambdahost.NewNodeID())
	if err != nil {
		t.Fatal(err)
	}

	round := func(want string) {
		t.Helper()
		logs := &firstLine{seen: make(chan struct{})}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.collectGarbage(ctx, o.svc, gc, sessions, slog.New(slog.NewTextHandler(logs, nil)))
		}()
		<-logs.seen // the first round runs at once
		cancel()
		<-done
		if !strings.Contains(logs.line, want) {
			t.Fatalf("garbage collection logged %q, want %q", logs.line, want)
		}
	}
	round("garbage collection deferred")
	if _, err := o.blobs.Stat(t.Context(), oldBlob); err != nil {
		t.Fatalf("collected while a reader held the lock: %v", err)
	}
	reader.Close()
	round("deleted unreferenced code")
	if _, err := o.blobs.Stat(t.Context(), oldBlob); !errors.Is(err, lambdahost.ErrBlobNotFound) {
		t.Errorf("after the reader let go: Stat = %v, want the blob collected", err)
	}
}

// firstLine keeps the first log line written to it and closes seen.
type firstLine struct {
	once sync.Once
	line string
	seen chan struct{}
}

func (l *firstLine) Write(p []byte) (int, error) {
	l.once.Do(func() {
		l.line = string(p)
		close(l.seen)
	})
	return len(p), nil
}

// openCodes opens the data dir at dir read-only and returns every
// function's CodeSha256, after checking that each one's code opens with
// the master key at keyFile (default: the data dir's) and hashes to it.
func openCodes(t *testing.T, dir, keyFile string) map[string]string {
	t.Helper()
	if keyFile == "" {
		keyFile = filepath.Join(dir, "master.key")
	}
	key, err := readMasterKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.OpenReadOnly(t.Context(), filepath.Join(dir, "lambdahost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	blobs, err := disk.OpenBlobStore(filepath.Join(dir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	svc := control.New(store, blobs)
	svc.Keys = kms.New(store, key)
	o := &opened{dir: dir, svc: svc, store: store, blobs: blobs}
	codes := o.codes(t)
	err = store.View(t.Context(), func(tx lambdahost.Tx) error {
		fs, err := tx.AllFunctions(t.Context(), lambdahost.FunctionID{}, 0)
		if err != nil {
			return err
		}
		for _, f := range fs {
			v, err := tx.Version(t.Context(), f.ID, lambdahost.VersionLatest)
			if err != nil {
				return err
			}
			b, err := svc.OpenCode(t.Context(), v.Code)
			if err != nil {
				return fmt.Errorf("%s: %w", f.ID.Name, err)
			}
			b.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// replaceByte replaces the file at path by a copy with the byte at off
// changed, leaving other hard links to the old file as they were.
func replaceByte(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0xff
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func links(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Nlink)
}

func device(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Dev)
}

package disk_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/internal/blobtest"
)

func TestOpenBlobStore(t *testing.T) {
	dir := t.TempDir()
	if _, err := disk.OpenBlobStore(filepath.Join(dir, "none")); err == nil {
		t.Error("OpenBlobStore of a missing directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenBlobStore created the directory (%v)", err)
	}
	d := blobtest.MustPut(t, MustOpenBlobStore(t, dir), []byte("content"))
	tmp := filepath.Join(dir, "tmp", "blob-in-progress")
	if err := os.WriteFile(tmp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := mustChtimesOld(t, tmp)
	s, err := disk.OpenBlobStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if size, err := s.Stat(t.Context(), d); err != nil || size != 7 {
		t.Errorf("Stat=%d, %v; want 7", size, err)
	}
	if fi, err := os.Stat(tmp); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("OpenBlobStore touched a temporary file (%v)", err)
	}
}

func TestLink(t *testing.T) {
	src := MustOpenBlobStore(t, t.TempDir())
	dst := MustOpenBlobStore(t, t.TempDir())
	d := blobtest.MustPut(t, src, []byte("shared"))
	for range 2 { // a second Link keeps the blob
		if err := dst.Link(t.Context(), src, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := dst.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, dst, d); string(got) != "shared" {
		t.Errorf("linked blob holds %q", got)
	}
	if err := src.Delete(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, dst, d); string(got) != "shared" {
		t.Errorf("after deleting the source, the linked blob holds %q", got)
	}
	if err := dst.Link(t.Context(), src, d); !errors.Is(err, lambdahost.ErrBlobNotFound) {
		t.Errorf("Link of a missing blob: err=%v, want ErrBlobNotFound", err)
	}
	if shm, err := os.MkdirTemp("/dev/shm", "link-test-"); err == nil && device(t, shm) != device(t, dst.Dir()) {
		defer os.RemoveAll(shm)
		other := MustOpenBlobStore(t, shm)
		if err := other.Link(t.Context(), dst, d); err == nil || errors.Is(err, lambdahost.ErrBlobNotFound) {
			t.Errorf("Link across file systems: err=%v, want a failure other than ErrBlobNotFound", err)
		}
	}
}

func device(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Dev)
}

func mustRead(t *testing.T, s *disk.BlobStore, d lambdahost.Digest) []byte {
	t.Helper()
	b, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// mustChtimesOld makes path's modification time an hour and a minute old
// and returns it.
func mustChtimesOld(t *testing.T, path string) time.Time {
	t.Helper()
	old := time.Now().Add(-disk.TempMaxAge - time.Minute).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	return old
}

package disk_test

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/internal/blobtest"
)

func TestBlobStore(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) lambdahost.BlobStore {
		return MustOpenBlobStore(t, t.TempDir())
	})
}

// MustOpenBlobStore opens a store rooted at dir or fails the test.
func MustOpenBlobStore(tb testing.TB, dir string) *disk.BlobStore {
	tb.Helper()
	s, err := disk.NewBlobStore(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestNewBlobStore(t *testing.T) {
	t.Run("creates-layout", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b")
		s := MustOpenBlobStore(t, dir)
		if s.Dir() != dir {
			t.Errorf("Dir=%q, want %q", s.Dir(), dir)
		}
		for _, d := range []string{"blobs/sha256", "tmp"} {
			if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
				t.Errorf("%s: not a directory (%v)", d, err)
			}
		}
	})
	t.Run("reopens", func(t *testing.T) {
		dir := t.TempDir()
		d := blobtest.MustPut(t, MustOpenBlobStore(t, dir), []byte("kept"))
		if size, err := MustOpenBlobStore(t, dir).Stat(t.Context(), d); err != nil || size != 4 {
			t.Errorf("Stat after reopening=%d, %v; want 4, nil", size, err)
		}
	})
	t.Run("dir-is-a-file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := disk.NewBlobStore(path); err == nil {
			t.Error("NewBlobStore on a regular file succeeded")
		}
	})
	t.Run("removes-old-temp-files", func(t *testing.T) {
		dir := t.TempDir()
		MustOpenBlobStore(t, dir)
		tmp := filepath.Join(dir, "tmp")
		old := time.Now().Add(-disk.TempMaxAge - time.Minute)
		for _, name := range []string{"blob-old", "blob-new", "other-old"} {
			if err := os.WriteFile(filepath.Join(tmp, name), []byte("partial"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{"blob-old", "other-old"} {
			if err := os.Chtimes(filepath.Join(tmp, name), old, old); err != nil {
				t.Fatal(err)
			}
		}
		s := MustOpenBlobStore(t, dir)
		if got, want := listDir(t, tmp), []string{"blob-new", "other-old"}; !slices.Equal(got, want) {
			t.Errorf("tmp after reopening=%q, want %q", got, want)
		}
		if err := s.CleanTemp(t.Context(), 0); err != nil {
			t.Fatal(err)
		}
		if got, want := listDir(t, tmp), []string{"other-old"}; !slices.Equal(got, want) {
			t.Errorf("tmp after CleanTemp(0)=%q, want %q", got, want)
		}
	})
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := MustOpenBlobStore(t, dir)
	content := []byte("layout")
	d := blobtest.MustPut(t, s, content)

	path := filepath.Join(dir, "blobs", "sha256", d.Hex())
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode(), fs.FileMode(0o444); got != want {
		t.Errorf("mode=%v, want %v", got, want)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(content) {
		t.Errorf("content=%q, want %q", got, content)
	}
	blobtest.MustPut(t, s, content)
	if got := listDir(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Errorf("tmp after commits=%q, want empty", got)
	}

	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, filepath.Join(dir, "tmp")); len(got) != 1 {
		t.Errorf("tmp while writing=%q, want one file", got)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Errorf("tmp after Abort=%q, want empty", got)
	}
}

func TestWalkSkipsOtherNames(t *testing.T) {
	dir := t.TempDir()
	s := MustOpenBlobStore(t, dir)
	d := blobtest.MustPut(t, s, []byte("real"))

	blobs := filepath.Join(dir, "blobs", "sha256")
	upper := strings.ToUpper(lambdahost.Digest(sha256.Sum256([]byte("upper"))).Hex())
	for _, name := range []string{"README", "abc", d.Hex() + ".tmp", upper} {
		if err := os.WriteFile(filepath.Join(blobs, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := lambdahost.Digest(sha256.Sum256([]byte("a directory")))
	if err := os.Mkdir(filepath.Join(blobs, other.Hex()), 0o755); err != nil {
		t.Fatal(err)
	}

	var got []lambdahost.Digest
	err := s.Walk(t.Context(), func(d lambdahost.Digest, _ int64, _ time.Time) error {
		got = append(got, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []lambdahost.Digest{d}; !slices.Equal(got, want) {
		t.Errorf("Walk listed %v, want %v", got, want)
	}
	if _, err := s.Stat(t.Context(), other); err == nil {
		t.Error("Stat of a directory at a blob path succeeded")
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

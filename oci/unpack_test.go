package oci_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/oci"
)

func checkFile(tb testing.TB, rootfs, rel, want string) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(rootfs, rel))
	if err != nil {
		tb.Fatal(err)
	}
	if string(b) != want {
		tb.Errorf("%s = %q, want %q", rel, b, want)
	}
}

// fetched pushes img to ref and fetches it with s, returning the digest
// and resolved URI that control would store.
func fetched(tb testing.TB, s *oci.Source, ref string, img v1.Image) (lambdahost.Digest, string) {
	tb.Helper()
	push(tb, ref, img, anonymous)
	var w memBlob
	code, err := s.Fetch(tb.Context(), "", lambdahost.CodeLocation{ImageURI: ref}, &w)
	if err != nil {
		tb.Fatal(err)
	}
	return w.Digest(), code.ResolvedImageURI
}

// newSource returns a Source of the test's own, anonymous, logging to
// the test's output.
func newSource(tb testing.TB) *oci.Source {
	s := oci.NewSource(tb.TempDir())
	s.Keychain = anonymous
	s.Logger = slog.New(slog.NewTextHandler(tb.Output(), nil))
	return s
}

// modes describes the paths under rootfs that matter to the tests.
func modes(tb testing.TB, rootfs string) map[string]string {
	tb.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(rootfs, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rootfs, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			out[rel] = "-> " + t
		case fi.IsDir():
			out[rel] = fi.Mode().String()
		default:
			b, _ := os.ReadFile(p)
			out[rel] = fi.Mode().Perm().String() + " " + string(b)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestUnpack(t *testing.T) {
	anon, _ := mustRegistries(t)
	s := newSource(t)
	d, uri := fetched(t, s, repo(t, anon.Host)+":v1", lambdaImage(t, "amd64", "v1"))

	rootfs, err := s.Unpack(t.Context(), d, uri)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(s.Dir, "images", "sha256", d.Hex(), "rootfs"); rootfs != want {
		t.Errorf("rootfs = %s, want %s", rootfs, want)
	}
	want := map[string]string{
		".":                  "dr-xr-xr-x",
		"etc":                "dr-xr-xr-x",
		"etc/os-release":     "-r--r--r-- ID=test\n",
		"lib":                "-> usr/lib",
		"usr":                "dr-xr-xr-x",
		"usr/lib":            "dr-xr-xr-x",
		"usr/lib/libapp.so":  "-r--r--r-- elf",
		"var":                "dr-xr-xr-x",
		"var/task":           "dr-xr-xr-x",
		"var/task/bootstrap": "-r-xr-xr-x #!/bin/sh\necho v1\n",
		"opt":                "dr-xr-xr-x",
		"opt/ext":            "dr-xr-xr-x",
		"opt/ext/c":          "-r--r--r-- c",
	}
	if diff := cmp.Diff(want, modes(t, rootfs)); diff != "" {
		t.Errorf("rootfs (-want +got):\n%s", diff)
	}

	cfg, err := s.Config(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := oci.ImageConfig{
		Entrypoint: []string{"/lambda-entrypoint.sh"}, Cmd: []string{"app.handler"}, WorkingDir: "/var/task",
		Env: []string{"PATH=/usr/local/bin:/usr/bin", "LAMBDA_TASK_ROOT=/var/task"}, OS: "linux", Architecture: "amd64",
	}
	if diff := cmp.Diff(wantCfg, cfg); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
	if _, err := s.Config(t.Context(), lambdahost.Digest{1}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Config of an image not unpacked: err = %v, want fs.ErrNotExist", err)
	}
	if es, _ := os.ReadDir(filepath.Join(s.Dir, "images", "tmp")); len(es) != 0 {
		t.Errorf("images/tmp holds %d entries after Unpack", len(es))
	}
}

// TestUnpackOnce checks that concurrent and repeated Unpacks of one
// image pull it once and return the same path.
func TestUnpackOnce(t *testing.T) {
	anon, _ := mustRegistries(t)
	s := newSource(t)
	ct := newCountingTransport()
	s.Transport = ct
	d, uri := fetched(t, s, repo(t, anon.Host)+":v1", lambdaImage(t, "amd64", "once"))
	fetchBlobs := ct.count("GET blobs") // the config, read by Fetch

	const n = 8
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { paths[i], errs[i] = s.Unpack(t.Context(), d, uri) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Unpack %d: %v", i, errs[i])
		}
		if paths[i] != paths[0] {
			t.Errorf("Unpack %d = %s, want %s", i, paths[i], paths[0])
		}
	}
	// One config and two layers.
	if got := ct.count("GET blobs") - fetchBlobs; got != 3 {
		t.Errorf("%d blob GETs for %d concurrent Unpacks, want 3", got, n)
	}
	before := ct.count("GET blobs") + ct.count("GET manifests") + ct.count("GET other")
	if p, err := s.Unpack(t.Context(), d, uri); err != nil || p != paths[0] {
		t.Fatalf("Unpack again = %s, %v", p, err)
	}
	if after := ct.count("GET blobs") + ct.count("GET manifests") + ct.count("GET other"); after != before {
		t.Errorf("Unpack of an unpacked image made %d requests", after-before)
	}
}

func TestUnpackErrors(t *testing.T) {
	anon, _ := mustRegistries(t)
	big, err := random.Image(64<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t)
	bigD, bigURI := fetched(t, src, repo(t, anon.Host)+"/big:v1", big)
	smallD, smallURI := fetched(t, src, repo(t, anon.Host)+"/small:v1", lambdaImage(t, "amd64", "small"))

	tests := []struct {
		name     string
		maxSize  int64
		maxFiles int64
		d        lambdahost.Digest
		uri      string
		wantIs   error
		wantMsg  string
	}{
		{name: "size-limit", maxSize: 100 << 10, d: bigD, uri: bigURI, wantIs: oci.ErrLimit},
		{name: "file-limit", maxFiles: 5, d: smallD, uri: smallURI, wantIs: oci.ErrLimit},
		{name: "uri-names-another-digest", d: bigD, uri: smallURI, wantMsg: "names another digest"},
		{name: "no-such-manifest", d: lambdahost.Digest{1}, uri: repo(t, anon.Host) + "/small@" + lambdahost.Digest{1}.String(), wantMsg: "MANIFEST_UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t)
			s.MaxSize, s.MaxFiles = tt.maxSize, tt.maxFiles
			_, err := s.Unpack(t.Context(), tt.d, tt.uri)
			if err == nil {
				t.Fatal("Unpack succeeded")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want %v", err, tt.wantIs)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want it to say %q", err, tt.wantMsg)
			}
			if _, err := os.Lstat(filepath.Join(s.Dir, "images", "sha256", tt.d.Hex())); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("image directory after a failed Unpack: %v", err)
			}
			if es, _ := os.ReadDir(filepath.Join(s.Dir, "images", "tmp")); len(es) != 0 {
				t.Errorf("images/tmp holds %d entries after a failed Unpack", len(es))
			}
		})
	}
}

// TestUnpackCancel checks that Unpack returns when its context ends, and
// that the pull it abandons leaves nothing behind.
func TestUnpackCancel(t *testing.T) {
	anon, _ := mustRegistries(t)
	img, err := random.Image(1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	s := newSource(t)
	d, uri := fetched(t, s, repo(t, anon.Host)+":v1", img)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Unpack(ctx, d, uri); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The abandoned pull stops; a new Unpack starts afresh and succeeds.
	rootfs, err := s.Unpack(t.Context(), d, uri)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rootfs); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitBound)
	for {
		es, _ := os.ReadDir(filepath.Join(s.Dir, "images", "tmp"))
		if len(es) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("images/tmp still holds %d entries", len(es))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCollect(t *testing.T) {
	anon, _ := mustRegistries(t)
	s := newSource(t)
	d1, uri1 := fetched(t, s, repo(t, anon.Host)+":one", lambdaImage(t, "amd64", "one"))
	d2, uri2 := fetched(t, s, repo(t, anon.Host)+":two", lambdaImage(t, "amd64", "two"))
	root1, err := s.Unpack(t.Context(), d1, uri1)
	if err != nil {
		t.Fatal(err)
	}
	root2, err := s.Unpack(t.Context(), d2, uri2)
	if err != nil {
		t.Fatal(err)
	}
	// A crash's leftover, and a name that is not a digest, left alone.
	stale := filepath.Join(s.Dir, "images", "tmp", "unpack-crashed")
	if err := os.MkdirAll(filepath.Join(stale, "rootfs", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(stale, "rootfs"), 0o555)
	other := filepath.Join(s.Dir, "images", "sha256", "not-a-digest")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}

	n, err := s.Collect(t.Context(), map[lambdahost.Digest]bool{d1: true})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Collect = %d, want 1", n)
	}
	for _, c := range []struct {
		path string
		want bool
	}{{root1, true}, {root2, false}, {filepath.Dir(root2), false}, {stale, false}, {other, true}} {
		_, err := os.Lstat(c.path)
		if got := err == nil; got != c.want {
			t.Errorf("%s exists = %v, want %v", c.path, got, c.want)
		}
	}
	if n, err := s.Collect(t.Context(), map[lambdahost.Digest]bool{d1: true}); n != 0 || err != nil {
		t.Errorf("Collect again = %d, %v; want 0", n, err)
	}
	// A collected image unpacks again.
	if _, err := s.Unpack(t.Context(), d2, uri2); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Collect(t.Context(), nil); n != 2 || err != nil {
		t.Errorf("Collect(nil) = %d, %v; want 2", n, err)
	}
}

package deploy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lambdahost/lambdahost/deploy"
)

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// tree writes a function's directory with the usual clutter beside it.
func tree(t *testing.T) string {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "app.py"), "def handler(e, c):\n    return 1\n", 0o600)
	write(t, filepath.Join(dir, "bootstrap"), "#!/bin/sh\n", 0o700)
	write(t, filepath.Join(dir, "lib", "util.py"), "X = 1\n", 0o644)
	write(t, filepath.Join(dir, ".git", "HEAD"), "ref: refs/heads/main\n", 0o644)
	write(t, filepath.Join(dir, "lib", "__pycache__", "util.cpython-312.pyc"), "junk", 0o644)
	write(t, filepath.Join(dir, ".app.py.swp"), "swap", 0o644)
	write(t, filepath.Join(dir, "app.py~"), "backup", 0o644)
	write(t, filepath.Join(dir, "#app.py#"), "autosave", 0o644)
	return dir
}

func TestZip(t *testing.T) {
	dir := tree(t)
	a, err := deploy.Zip(dir)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Zip), int64(len(a.Zip)))
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Name string
		Mode os.FileMode
		Time time.Time
	}
	var got []entry
	for _, f := range zr.File {
		got = append(got, entry{f.Name, f.Mode(), f.Modified.UTC()})
	}
	epoch := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []entry{{"app.py", 0o644, epoch}, {"bootstrap", 0o755, epoch}, {"lib/util.py", 0o644, epoch}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}

	// Touching files, and changing modes other than the execute bits,
	// changes nothing.
	later := time.Now().Add(time.Hour)
	for _, f := range []string{"app.py", "lib/util.py", "bootstrap"} {
		if err := os.Chtimes(filepath.Join(dir, f), later, later); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "app.py"), 0o664)
	os.Chmod(filepath.Join(dir, "bootstrap"), 0o755)
	write(t, filepath.Join(dir, ".app.py.swx"), "more swap", 0o644)
	b, err := deploy.Zip(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.SHA256() != b.SHA256() {
		t.Errorf("CodeSha256 changed from %s to %s with no change to the code", a.SHA256(), b.SHA256())
	}
	// A change to the code changes it.
	write(t, filepath.Join(dir, "lib", "util.py"), "X = 2\n", 0o644)
	c, err := deploy.Zip(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.SHA256() == a.SHA256() {
		t.Error("CodeSha256 did not change with the code")
	}
	if _, err := deploy.Zip(t.TempDir()); err == nil {
		t.Error("an empty directory zipped")
	}
}

func TestParseServerTiming(t *testing.T) {
	got := deploy.ParseServerTiming("receive;dur=1.5, hash;dur=0.25,seal;desc=\"x\";dur=2, bogus;dur=-3, store")
	want := []deploy.Phase{{"receive", 1500 * time.Microsecond}, {"hash", 250 * time.Microsecond}, {"seal", 2 * time.Millisecond}, {"bogus", 0}, {"store", 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestWatch: the watcher deploys at once, again after a change to the
// code, not after changes to ignored files or a save that changes
// nothing, and goes on after a failed deployment.
func TestWatch(t *testing.T) {
	dir := tree(t)
	type deployed struct {
		changed time.Time
		sha     string
		err     error
	}
	results := make(chan deployed, 16)
	var fail atomic.Bool
	ctx, cancel := context.WithCancel(t.Context())
	w := &deploy.Watcher{
		Dir: dir, Function: "f", Debounce: 20 * time.Millisecond, Out: io.Discard, Err: io.Discard,
		Deploy: func(ctx context.Context, pkg *deploy.Package) (*deploy.Result, error) {
			if fail.Load() {
				return nil, &deploy.UpdateError{Code: "InvalidParameterValueException", Reason: "no"}
			}
			return &deploy.Result{Size: len(pkg.Zip), CodeSHA256: pkg.SHA256()}, nil
		},
		Deployed: func(changed time.Time, res *deploy.Result, err error) {
			d := deployed{changed: changed, err: err}
			if res != nil {
				d.sha = res.CodeSHA256
			}
			results <- d
		},
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	next := func() deployed {
		t.Helper()
		select {
		case d := <-results:
			return d
		case <-time.After(2 * time.Minute):
			t.Fatal("no deployment within 2 minutes")
		}
		return deployed{}
	}
	first := next()
	if !first.changed.IsZero() || first.sha == "" || first.err != nil {
		t.Fatalf("first deployment: %+v", first)
	}
	// Ignored files, then a real change: one deployment, of the change.
	write(t, filepath.Join(dir, ".app.py.swp"), "swap again", 0o644)
	write(t, filepath.Join(dir, ".git", "index"), "git", 0o644)
	write(t, filepath.Join(dir, "app.py"), "def handler(e, c):\n    return 2\n", 0o644)
	second := next()
	if second.changed.IsZero() || second.sha == first.sha || second.err != nil {
		t.Fatalf("after a change: %+v", second)
	}
	// A new directory is watched too.
	write(t, filepath.Join(dir, "pkg", "mod.py"), "Y = 1\n", 0o644)
	third := next()
	if third.sha == second.sha || third.err != nil {
		t.Fatalf("after a file in a new directory: %+v", third)
	}
	write(t, filepath.Join(dir, "pkg", "mod.py"), "Y = 2\n", 0o644)
	if d := next(); d.sha == third.sha {
		t.Fatalf("a change in the new directory deployed nothing new: %+v", d)
	}
	// A failed deployment is reported, and the watch goes on.
	fail.Store(true)
	write(t, filepath.Join(dir, "app.py"), "broken", 0o644)
	var ue *deploy.UpdateError
	if d := next(); !errors.As(d.err, &ue) {
		t.Fatalf("failed deployment reported %+v", d)
	}
	fail.Store(false)
	write(t, filepath.Join(dir, "app.py"), "def handler(e, c):\n    return 3\n", 0o644)
	if d := next(); d.err != nil || d.sha == "" {
		t.Fatalf("after the failure: %+v", d)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

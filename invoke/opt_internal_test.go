package invoke

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost"
)

// mergeJail extracts each layer zip into <tmp>/layerN and merges them into
// <tmp>/opt, beside a sibling <tmp>/outside, and fails unless <tmp>
// afterwards holds only those and outside is still empty: nothing a layer
// names may land outside /opt's directory. It returns the merge.
func mergeJail(t *testing.T, zips ...[]byte) (opt string, err error) {
	t.Helper()
	top := t.TempDir()
	allowed := map[string]bool{"opt": true, "outside": true}
	var srcs []string
	for i, z := range zips {
		name := "layer" + string(rune('0'+i))
		allowed[name] = true
		dir := filepath.Join(top, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// A layer that does not unzip fully is still merged: what it
		// extracted must stay inside too.
		extractZip(bytes.NewReader(z), int64(len(z)), dir)
		srcs = append(srcs, dir)
	}
	opt = filepath.Join(top, "opt")
	for _, d := range []string{opt, filepath.Join(top, "outside")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	err = mergeLayers(opt, srcs)
	entries, rerr := os.ReadDir(top)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, e := range entries {
		if !allowed[e.Name()] {
			t.Fatalf("merge wrote %s outside /opt's directory", filepath.Join(top, e.Name()))
		}
	}
	if out, _ := os.ReadDir(filepath.Join(top, "outside")); len(out) > 0 {
		t.Fatalf("merge wrote %s through a link", filepath.Join(top, "outside", out[0].Name()))
	}
	if _, err := os.Lstat("/etc/lambdahost-layer-escape"); err == nil {
		t.Fatal("merge wrote /etc/lambdahost-layer-escape")
	}
	return opt, err
}

func TestMergeLayers(t *testing.T) {
	type want struct {
		path    string
		content string // "" for a directory; "->target" for a link
	}
	tests := []struct {
		name   string
		layers [][]string
		want   []want
		absent []string
	}{
		{
			name: "later-file-wins-dirs-merge",
			layers: [][]string{
				{"python/a.py", "a1", "python/shared.py", "first", "bin/tool", "t"},
				{"python/b.py", "b2", "python/shared.py", "second"},
			},
			want: []want{{"python/a.py", "a1"}, {"python/b.py", "b2"}, {"python/shared.py", "second"}, {"bin/tool", "t"}},
		},
		{
			name:   "file-replaces-dir",
			layers: [][]string{{"lib/x/y.so", "y"}, {"lib/x", "now a file"}},
			want:   []want{{"lib/x", "now a file"}},
			absent: []string{"lib/x/y.so"},
		},
		{
			name:   "dir-replaces-file",
			layers: [][]string{{"lib/x", "a file"}, {"lib/x/y.so", "y"}},
			want:   []want{{"lib/x", ""}, {"lib/x/y.so", "y"}},
		},
		{
			name:   "link-replaced-by-dir",
			layers: [][]string{{"python@", "../outside"}, {"python/x.py", "x"}},
			want:   []want{{"python", ""}, {"python/x.py", "x"}},
		},
		{
			name:   "absolute-link-replaced-by-dir",
			layers: [][]string{{"etc@", "/etc"}, {"etc/lambdahost-layer-escape", "x"}},
			want:   []want{{"etc/lambdahost-layer-escape", "x"}},
		},
		{
			name:   "links-kept-as-links",
			layers: [][]string{{"bin/python3@", "/var/lang/bin/python3.12"}, {"lib/libz.so@", "libz.so.1", "lib/libz.so.1", "z"}},
			want:   []want{{"bin/python3", "->/var/lang/bin/python3.12"}, {"lib/libz.so", "->libz.so.1"}, {"lib/libz.so.1", "z"}},
		},
		{
			name:   "file-replaces-link",
			layers: [][]string{{"bootstrap@", "/etc/passwd"}, {"bootstrap", "#!/bin/sh"}},
			want:   []want{{"bootstrap", "#!/bin/sh"}},
		},
		{
			name:   "three-layers",
			layers: [][]string{{"f", "1"}, {"f", "2"}, {"f", "3", "g", "3"}},
			want:   []want{{"f", "3"}, {"g", "3"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var zips [][]byte
			for _, l := range tt.layers {
				zips = append(zips, hostileZip(t, l...))
			}
			opt, err := mergeJail(t, zips...)
			if err != nil {
				t.Fatalf("mergeLayers: %v", err)
			}
			for _, w := range tt.want {
				p := filepath.Join(opt, w.path)
				fi, err := os.Lstat(p)
				if err != nil {
					t.Errorf("%s: %v", w.path, err)
					continue
				}
				switch {
				case w.content == "":
					if !fi.IsDir() {
						t.Errorf("%s is %v, want a directory", w.path, fi.Mode())
					}
				case strings.HasPrefix(w.content, "->"):
					if got, err := os.Readlink(p); err != nil || got != w.content[2:] {
						t.Errorf("%s links to %q (%v), want %q", w.path, got, err, w.content[2:])
					}
				default:
					if !fi.Mode().IsRegular() {
						t.Errorf("%s is %v, want a file", w.path, fi.Mode())
					} else if b, _ := os.ReadFile(p); string(b) != w.content {
						t.Errorf("%s = %q, want %q", w.path, b, w.content)
					}
				}
			}
			for _, a := range tt.absent {
				if _, err := os.Lstat(filepath.Join(opt, a)); err == nil {
					t.Errorf("%s is there, want it replaced", a)
				}
			}
		})
	}
}

// FuzzLayerExtract: whatever two layers hold, extracting them and merging
// them never panics and never creates anything outside /opt's directory,
// through "..", absolute names or links that one layer leaves for the next.
func FuzzLayerExtract(f *testing.F) {
	f.Add(hostileZip(f, "python/a.py", "a"), hostileZip(f, "python/b.py", "b"))
	f.Add(hostileZip(f, "python@", "../outside"), hostileZip(f, "python/x.py", "x"))
	f.Add(hostileZip(f, "etc@", "/etc"), hostileZip(f, "etc/lambdahost-layer-escape", "x"))
	f.Add(hostileZip(f, "d@", ".."), hostileZip(f, "d/outside/y", "y", "d@", "."))
	f.Add(hostileZip(f, "../escape", "x"), hostileZip(f, "/abs", "x", "a/", ""))
	f.Add(hostileZip(f, "lib/x/y", "y"), hostileZip(f, "lib/x", "file", "lib/x/z", "z"))
	old := unzipLimit
	unzipLimit = 1 << 20
	f.Cleanup(func() { unzipLimit = old })
	f.Fuzz(func(t *testing.T, first, second []byte) {
		mergeJail(t, first, second)
	})
}

// TestOptDirs checks what environments mount at /opt: an empty directory
// without layers, the unpacked layer itself for one, a merge built once
// for several, and that garbage collection keeps merges of referenced
// layers only.
func TestOptDirs(t *testing.T) {
	dir := t.TempDir()
	zips := map[lambdahost.Digest][]byte{}
	layer := func(files ...string) lambdahost.Layer {
		z := hostileZip(t, files...)
		d := lambdahost.Digest(sha256.Sum256(z))
		zips[d] = z
		return lambdahost.Layer{ARN: "arn:aws:lambda:us-east-1:000000000000:layer:l:1", Digest: d, Size: int64(len(z))}
	}
	opens := 0
	code := &codeDirs{dir: filepath.Join(dir, "code"), open: func(ctx context.Context, c lambdahost.Code) (lambdahost.Blob, error) {
		opens++
		z, ok := zips[c.Digest]
		if !ok {
			return nil, lambdahost.ErrBlobNotFound
		}
		return nopBlob{bytes.NewReader(z)}, nil
	}}
	o := &optDirs{dir: filepath.Join(dir, "opt"), code: code}
	ctx := t.Context()

	empty, err := o.get(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Errorf("/opt without layers: %v, %v; want an empty directory", entries, err)
	}
	a, b := layer("python/a.py", "a", "shared", "a"), layer("python/b.py", "b", "shared", "b")
	one, err := o.get(ctx, []lambdahost.Layer{a})
	if err != nil {
		t.Fatal(err)
	}
	if one != filepath.Join(dir, "code", a.Digest.Hex()) {
		t.Errorf("/opt with one layer is %s, want its unpacked directory", one)
	}
	ab, err := o.get(ctx, []lambdahost.Layer{a, b})
	if err != nil {
		t.Fatal(err)
	}
	ba, err := o.get(ctx, []lambdahost.Layer{b, a})
	if err != nil {
		t.Fatal(err)
	}
	if ab == ba {
		t.Fatal("the merges of [a b] and [b a] are one directory")
	}
	for merge, want := range map[string]string{ab: "b", ba: "a"} {
		if got, _ := os.ReadFile(filepath.Join(merge, "shared")); string(got) != want {
			t.Errorf("%s/shared = %q, want the last layer's %q", merge, got, want)
		}
	}
	again, err := o.get(ctx, []lambdahost.Layer{a, b})
	if err != nil || again != ab {
		t.Errorf("second get = %s, %v; want %s", again, err, ab)
	}
	if opens != 2 {
		t.Errorf("layers opened %d times, want once per digest (2)", opens)
	}
	// Files are linked, not copied.
	src, _ := os.Stat(filepath.Join(one, "python/a.py"))
	linked, _ := os.Stat(filepath.Join(ab, "python/a.py"))
	if !os.SameFile(src, linked) {
		t.Error("a merge's file is a copy, want a hard link to the unpacked layer's")
	}

	// a stays referenced, b does not: both merges go, the empty /opt stays.
	n, err := o.collect(map[lambdahost.Digest]bool{a.Digest: true})
	if err != nil || n != 2 {
		t.Errorf("collect = %d, %v; want 2 merges removed", n, err)
	}
	for _, p := range []string{ab, ba, ab + manifestSuffix} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived collection", p)
		}
	}
	if _, err := os.Stat(empty); err != nil {
		t.Errorf("empty /opt: %v", err)
	}
	// Both referenced: the merge is kept.
	ab, _ = o.get(ctx, []lambdahost.Layer{a, b})
	if n, err := o.collect(map[lambdahost.Digest]bool{a.Digest: true, b.Digest: true}); err != nil || n != 0 {
		t.Errorf("collect = %d, %v; want nothing removed", n, err)
	}
	if _, err := os.Stat(filepath.Join(ab, "python/b.py")); err != nil {
		t.Errorf("referenced merge: %v", err)
	}
}

type nopBlob struct{ *bytes.Reader }

func (nopBlob) Close() error { return nil }

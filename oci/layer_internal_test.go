package oci

import (
	"archive/tar"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// tent is a tar entry for tests. typ defaults to a regular file, mode to
// 0644 for files and 0755 for directories.
type tent struct {
	name string
	typ  byte
	body string
	link string
	mode int64
	size int64 // if not zero, the header's size, whatever body is
}

func dir(name string) tent               { return tent{name: name, typ: tar.TypeDir} }
func file(name, body string) tent        { return tent{name: name, body: body} }
func symlink(name, target string) tent   { return tent{name: name, typ: tar.TypeSymlink, link: target} }
func hardlink(name, target string) tent  { return tent{name: name, typ: tar.TypeLink, link: target} }
func whiteout(name string) tent          { return tent{name: name} }
func withMode(e tent, mode int64) tent   { e.mode = mode; return e }
func withSize(e tent, size int64) tent   { e.size = size; return e }
func special(name string, typ byte) tent { return tent{name: name, typ: typ} }

var testMtime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// mkTar returns entries as a tar archive.
func mkTar(tb testing.TB, entries ...tent) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, ModTime: testMtime, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	b := buf.Bytes()
	return b
}

// mkTarRaw writes headers with sizes the bodies do not match, which
// tar.Writer refuses: the header is written, then as much body as given.
func mkTarRaw(tb testing.TB, e tent) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	h := &tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: e.size, Format: tar.FormatPAX}
	if err := tw.WriteHeader(h); err != nil {
		tb.Fatal(err)
	}
	tw.Write([]byte(e.body))
	return buf.Bytes()
}

// snapshot describes every path under dir: "dir 0555", "file 0444
// <body>" or "link -> <target>".
func snapshot(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link -> " + t
		case fi.IsDir():
			out[rel] = fmt.Sprintf("dir %04o", fi.Mode().Perm())
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %04o %s", fi.Mode().Perm(), b)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// applyLayers applies layers to a new root in dir, as Unpack does.
func applyLayers(dir string, maxSize, maxFiles int64, layers ...[]byte) (*applier, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	a := newApplier(root, maxSize, maxFiles)
	for i, l := range layers {
		if err := a.apply(bytes.NewReader(l)); err != nil {
			return a, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return a, a.finish()
}

func TestApplyLayers(t *testing.T) {
	tests := []struct {
		name    string
		layers  [][]tent
		want    map[string]string
		wantErr string
		// limit is the error wanted with maxSize and maxFiles as limits
		// (1 MiB and 100 if zero).
		limit    error
		maxSize  int64
		maxFiles int64
	}{
		{
			name:   "files-dirs-links",
			layers: [][]tent{{dir("var/"), dir("var/task/"), withMode(file("var/task/bootstrap", "#!/bin/sh"), 0o755), symlink("var/task/run", "bootstrap"), hardlink("var/task/copy", "var/task/bootstrap")}},
			want: map[string]string{
				".": "dir 0555", "var": "dir 0555", "var/task": "dir 0555",
				"var/task/bootstrap": "file 0555 #!/bin/sh", "var/task/run": "link -> bootstrap", "var/task/copy": "file 0555 #!/bin/sh",
			},
		},
		{
			name:   "implicit-parents",
			layers: [][]tent{{file("a/b/c", "x")}},
			want:   map[string]string{".": "dir 0555", "a": "dir 0555", "a/b": "dir 0555", "a/b/c": "file 0444 x"},
		},
		{
			name:   "modes-lose-write-setuid-sticky",
			layers: [][]tent{{withMode(dir("d"), 0o1777), withMode(file("d/suid", "s"), 0o4755), withMode(file("d/private", "p"), 0o600)}},
			want:   map[string]string{".": "dir 0555", "d": "dir 0555", "d/suid": "file 0555 s", "d/private": "file 0400 p"},
		},
		{
			name:   "whiteout-file",
			layers: [][]tent{{file("a/keep", "k"), file("a/gone", "g")}, {whiteout("a/.wh.gone")}},
			want:   map[string]string{".": "dir 0555", "a": "dir 0555", "a/keep": "file 0444 k"},
		},
		{
			name:   "whiteout-dir",
			layers: [][]tent{{file("a/b/c/d", "x"), file("a/e", "e")}, {whiteout("a/.wh.b")}},
			want:   map[string]string{".": "dir 0555", "a": "dir 0555", "a/e": "file 0444 e"},
		},
		{
			name:   "whiteout-then-recreate-in-same-layer",
			layers: [][]tent{{file("a/f", "old")}, {whiteout("a/.wh.f"), file("a/f", "new")}},
			want:   map[string]string{".": "dir 0555", "a": "dir 0555", "a/f": "file 0444 new"},
		},
		{
			name:   "whiteout-spares-same-layer",
			layers: [][]tent{{file("a/x", "x")}, {file("a/f", "same-layer"), whiteout("a/.wh.f")}},
			want:   map[string]string{".": "dir 0555", "a": "dir 0555", "a/x": "file 0444 x", "a/f": "file 0444 same-layer"},
		},
		{
			name:   "whiteout-dir-spares-same-layer",
			layers: [][]tent{{file("a/old", "o"), file("a/sub/old", "o")}, {file("a/new", "n"), file("a/sub/new", "n"), whiteout(".wh.a")}},
			want:   map[string]string{".": "dir 0555", "a": "dir 0555", "a/new": "file 0444 n", "a/sub": "dir 0555", "a/sub/new": "file 0444 n"},
		},
		{
			name:   "whiteout-missing-and-meta",
			layers: [][]tent{{file("a/x", "x")}, {whiteout("a/.wh.nothing"), whiteout("nodir/.wh.x"), whiteout("a/.wh..wh.plnk"), whiteout(".wh.."), whiteout("a/.wh.")}},
			want:   map[string]string{".": "dir 0555", "a": "dir 0555", "a/x": "file 0444 x"},
		},
		{
			name:   "opaque-first",
			layers: [][]tent{{file("etc/conf/a", "a"), file("etc/conf/b", "b"), file("etc/other", "o")}, {whiteout("etc/conf/.wh..wh..opq"), file("etc/conf/c", "c")}},
			want:   map[string]string{".": "dir 0555", "etc": "dir 0555", "etc/conf": "dir 0555", "etc/conf/c": "file 0444 c", "etc/other": "file 0444 o"},
		},
		{
			name:   "opaque-last",
			layers: [][]tent{{file("etc/conf/a", "a")}, {file("etc/conf/c", "c"), whiteout("etc/conf/.wh..wh..opq")}},
			want:   map[string]string{".": "dir 0555", "etc": "dir 0555", "etc/conf": "dir 0555", "etc/conf/c": "file 0444 c"},
		},
		{
			name:   "opaque-nested",
			layers: [][]tent{{file("d/sub/old", "o"), file("d/top", "t")}, {file("d/sub/new", "n"), whiteout("d/.wh..wh..opq")}},
			want:   map[string]string{".": "dir 0555", "d": "dir 0555", "d/sub": "dir 0555", "d/sub/new": "file 0444 n"},
		},
		{
			name:   "opaque-root",
			layers: [][]tent{{file("a", "a")}, {whiteout(".wh..wh..opq"), file("b", "b")}},
			want:   map[string]string{".": "dir 0555", "b": "file 0444 b"},
		},
		{
			name:   "absolute-and-dotdot-names-stay-inside",
			layers: [][]tent{{file("/etc/abs", "a"), file("../../up", "u"), file("./x/../y", "y"), dir("./"), dir("/")}},
			want:   map[string]string{".": "dir 0555", "etc": "dir 0555", "etc/abs": "file 0444 a", "up": "file 0444 u", "y": "file 0444 y"},
		},
		{
			name:   "absolute-symlink-parent-resolves-in-root",
			layers: [][]tent{{dir("usr/lib/"), symlink("lib", "/usr/lib")}, {file("lib/libc.so", "c")}},
			want:   map[string]string{".": "dir 0555", "usr": "dir 0555", "usr/lib": "dir 0555", "usr/lib/libc.so": "file 0444 c", "lib": "link -> /usr/lib"},
		},
		{
			name:   "escaping-symlink-parent-is-confined",
			layers: [][]tent{{symlink("evil", "../../../../../tmp"), file("evil/pwned", "p")}},
			want:   map[string]string{".": "dir 0555", "evil": "link -> ../../../../../tmp", "tmp": "dir 0555", "tmp/pwned": "file 0444 p"},
		},
		{
			name:   "absolute-symlink-to-host-dir-is-confined",
			layers: [][]tent{{symlink("x", "/"), file("x/etc/passwd", "root::0:0")}},
			want:   map[string]string{".": "dir 0555", "x": "link -> /", "etc": "dir 0555", "etc/passwd": "file 0444 root::0:0"},
		},
		{
			name:   "file-replaces-symlink-not-written-through",
			layers: [][]tent{{file("target", "t"), symlink("l", "target")}, {file("l", "new")}},
			want:   map[string]string{".": "dir 0555", "target": "file 0444 t", "l": "file 0444 new"},
		},
		{
			name:   "dir-replaces-file-and-symlink",
			layers: [][]tent{{file("a", "a"), symlink("b", "/")}, {dir("a/"), dir("b/"), file("b/x", "x")}},
			want:   map[string]string{".": "dir 0555", "a": "dir 0555", "b": "dir 0555", "b/x": "file 0444 x"},
		},
		{
			name:   "file-replaces-dir",
			layers: [][]tent{{file("a/b", "b")}, {file("a", "now a file")}},
			want:   map[string]string{".": "dir 0555", "a": "file 0444 now a file"},
		},
		{
			name:   "dir-over-dir-keeps-contents",
			layers: [][]tent{{file("a/b", "b")}, {withMode(dir("a/"), 0o700)}},
			want:   map[string]string{".": "dir 0555", "a": "dir 0500", "a/b": "file 0444 b"},
		},
		{
			name:   "devices-and-fifos-skipped",
			layers: [][]tent{{special("dev/null", tar.TypeChar), special("dev/sda", tar.TypeBlock), special("fifo", tar.TypeFifo), file("f", "f")}},
			want:   map[string]string{".": "dir 0555", "f": "file 0444 f"},
		},
		{
			name:   "hardlink-through-symlinked-dir",
			layers: [][]tent{{file("real/f", "f"), symlink("alias", "/real"), hardlink("g", "alias/f")}},
			want:   map[string]string{".": "dir 0555", "real": "dir 0555", "real/f": "file 0444 f", "alias": "link -> /real", "g": "file 0444 f"},
		},
		{
			name:    "hardlink-outside-root-refused",
			layers:  [][]tent{{symlink("up", "../../.."), hardlink("passwd", "up/etc/passwd")}},
			wantErr: "does not exist",
		},
		{
			name:    "hardlink-missing",
			layers:  [][]tent{{hardlink("x", "nope")}},
			wantErr: "does not exist",
		},
		{
			name:    "hardlink-to-dir",
			layers:  [][]tent{{dir("d/"), hardlink("x", "d")}},
			wantErr: "is a directory",
		},
		{
			name:    "symlink-loop",
			layers:  [][]tent{{symlink("a", "b"), symlink("b", "a"), file("a/x", "x")}},
			wantErr: "too many levels of symbolic links",
		},
		{
			name:    "file-as-parent",
			layers:  [][]tent{{file("f", "f"), file("f/x", "x")}},
			wantErr: "not a directory",
		},
		{
			name:    "size-limit",
			layers:  [][]tent{{file("a", strings.Repeat("x", 600))}, {file("b", strings.Repeat("y", 600))}},
			limit:   ErrLimit,
			maxSize: 4096,
		},
		{
			name:     "file-limit",
			layers:   [][]tent{{file("1", ""), file("2", ""), file("3", "")}, {file("4", ""), file("5", ""), file("6", "")}},
			limit:    ErrLimit,
			maxFiles: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			root := filepath.Join(parent, "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			var layers [][]byte
			for _, l := range tt.layers {
				layers = append(layers, mkTar(t, l...))
			}
			maxSize, maxFiles := cmp.Or(tt.maxSize, 1<<20), cmp.Or(tt.maxFiles, 100)
			_, err := applyLayers(root, maxSize, maxFiles, layers...)
			defer removeTree(root)
			switch {
			case tt.limit != nil:
				if !errors.Is(err, tt.limit) {
					t.Fatalf("err = %v, want %v", err, tt.limit)
				}
				return
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tt.want, snapshot(t, root)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
			if diff := gocmp.Diff([]string{"root"}, names(t, parent)); diff != "" {
				t.Errorf("parent (-want +got):\n%s", diff)
			}
		})
	}
}

func names(tb testing.TB, dir string) []string {
	tb.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestApplyLimitHeaderSize checks that a header claiming more than the
// limit fails before anything is written, however short the body.
func TestApplyLimitHeaderSize(t *testing.T) {
	root := t.TempDir()
	_, err := applyLayers(root, 1<<20, 10, mkTarRaw(t, withSize(file("huge", "abc"), 1<<40)))
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "huge")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("huge: %v, want it not created", err)
	}
}

// TestApplyGzipBomb checks that the uncompressed size is what counts: a
// layer of few compressed bytes and many zeros fails at the limit.
func TestApplyZeroBomb(t *testing.T) {
	root := t.TempDir()
	// 8 MiB of file data, limit 1 MiB: the header is refused at once;
	// with no header size check, the counting reader stops it.
	body := strings.Repeat("\x00", 8<<20)
	_, err := applyLayers(root, 1<<20, 10, mkTar(t, file("zeros", body)))
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	// Entries that are skipped still count, as the stream is read.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range 3 {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("dev%d", i), Typeflag: tar.TypeChar, Size: 0})
	}
	tw.WriteHeader(&tar.Header{Name: "pad", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": strings.Repeat("z", 900<<10)}})
	tw.Close()
	_, err = applyLayers(t.TempDir(), 512<<10, 100, buf.Bytes())
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("padding: err = %v, want ErrLimit", err)
	}
}

// TestApplyTrailingDataRead checks that apply reads its stream to the end,
// past the end-of-archive marker, so that a digest over it is checked.
func TestApplyTrailingDataRead(t *testing.T) {
	b := append(mkTar(t, file("a", "a")), bytes.Repeat([]byte{7}, 4096)...)
	r := bytes.NewReader(b)
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := newApplier(root, 1<<20, 10).apply(r); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes left unread", r.Len())
	}
}

func TestRemoveTreeReadOnly(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	os.Mkdir(root, 0o755)
	layers := [][]byte{mkTar(t, withMode(dir("closed/"), 0o000), file("closed/sub/f", "x"), withMode(dir("closed/sub/"), 0o444))}
	if _, err := applyLayers(root, 1<<20, 100, layers...); err != nil {
		t.Fatal(err)
	}
	if err := removeTree(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("root still there: %v", err)
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a/b", "a/b"}, {"/a/b/", "a/b"}, {"./a", "a"}, {"../../a", "a"}, {"a/../../b", "b"},
		{".", ""}, {"/", ""}, {"", ""}, {"a//b", "a/b"}, {"..", ""},
	}
	for _, tt := range tests {
		got, err := cleanPath(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := cleanPath("a\x00b"); err == nil {
		t.Errorf("cleanPath with NUL: no error")
	}
}

// FuzzUnpackLayer applies arbitrary bytes as a layer, over a lower layer
// with links that point out of the root, to a root that sits in a parent
// directory beside a sentinel file and directory. Whatever happens, nothing
// outside the root changes and nothing panics; when the layer applies,
// every path under the root is a directory, a regular file or a symbolic
// link, and none of them is writable.
func FuzzUnpackLayer(f *testing.F) {
	seeds := [][]tent{
		{file("a", "a"), dir("d/"), symlink("l", "a"), hardlink("h", "a")},
		{symlink("up", "../"), file("up/sentinel", "pwned")},
		{symlink("abs", "/"), file("abs/../outside/x", "pwned")},
		{file("../outside/x", "pwned"), file("/../sentinel", "pwned")},
		{symlink("s", "../sentinel"), file("s", "replaced")},
		{hardlink("h", "../sentinel"), hardlink("h2", "esc/sentinel")},
		{whiteout("esc/.wh.sentinel"), whiteout(".wh.esc"), whiteout("esc/.wh..wh..opq")},
		{symlink("a", "b"), symlink("b", "a"), file("a/x", "x")},
		{withMode(file("x", "x"), 0o7777), withMode(dir("y/"), 0o000), file("y/z", "z")},
	}
	for _, s := range seeds {
		f.Add(mkTar(f, s...))
	}
	f.Add([]byte{})
	f.Add([]byte("not a tar at all"))
	lower := mkTar(f, symlink("esc", ".."), symlink("abs", "/"), dir("d/"), file("d/f", "f"))

	f.Fuzz(func(t *testing.T, layer []byte) {
		parent := t.TempDir()
		root := filepath.Join(parent, "root")
		sentinel := filepath.Join(parent, "sentinel")
		outside := filepath.Join(parent, "outside")
		for _, err := range []error{
			os.Mkdir(root, 0o755),
			os.WriteFile(sentinel, []byte("sentinel"), 0o644),
			os.Mkdir(outside, 0o755),
			os.WriteFile(filepath.Join(outside, "x"), []byte("x"), 0o644),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		before := snapshot(t, parent)
		delete(before, "root")

		_, err := applyLayers(root, 1<<20, 1000, lower, layer)

		if err == nil {
			filepath.WalkDir(root, func(p string, e fs.DirEntry, werr error) error {
				if werr != nil {
					t.Fatalf("walk root: %v", werr)
				}
				fi, ferr := os.Lstat(p)
				if ferr != nil {
					t.Fatal(ferr)
				}
				m := fi.Mode()
				if !m.IsDir() && !m.IsRegular() && m&fs.ModeSymlink == 0 {
					t.Errorf("%s: mode %v", p, m)
				}
				if m&fs.ModeSymlink == 0 && m.Perm()&0o222 != 0 {
					t.Errorf("%s: writable, mode %v", p, m)
				}
				if m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
					t.Errorf("%s: mode %v", p, m)
				}
				if m.IsDir() && m.Perm()&0o500 != 0o500 {
					return fs.SkipDir // unreadable for a non-root owner
				}
				return nil
			})
		}
		if err := removeTree(root); err != nil {
			t.Fatalf("remove root: %v", err)
		}
		after := snapshot(t, parent)
		if diff := gocmp.Diff(before, after); diff != "" {
			t.Fatalf("outside the root changed (-before +after):\n%s", diff)
		}
	})
}

// FuzzParseConfig checks that an image config that parses has no NUL in
// any string and parses again, unchanged, from its canonical form.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/lambda-entrypoint.sh"],"Cmd":["app.handler"],"WorkingDir":"/var/task","Env":["PATH=/usr/bin","LAMBDA_TASK_ROOT=/var/task"],"User":"1000"}}`))
	f.Add([]byte(`{"config":null}`))
	f.Add([]byte(`{"config":{"Cmd":["a\u0000b"]}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ic, err := parseConfig(b)
		if err != nil {
			return
		}
		if err := ic.validate(); err != nil {
			t.Fatalf("parsed config fails validation: %v", err)
		}
		var c configJSON
		c.Architecture, c.OS = ic.Architecture, ic.OS
		c.Config.Entrypoint, c.Config.Cmd, c.Config.WorkingDir, c.Config.Env, c.Config.User = ic.Entrypoint, ic.Cmd, ic.WorkingDir, ic.Env, ic.User
		b2, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		ic2, err := parseConfig(b2)
		if err != nil {
			t.Fatalf("reparse %s: %v", b2, err)
		}
		if diff := gocmp.Diff(ic, ic2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

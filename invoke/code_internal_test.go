package invoke

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileZip is a zip archive of entries; a name ending in "@" is a
// symbolic link (without the "@") to its content.
func hostileZip(tb testing.TB, entries ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(entries); i += 2 {
		h := &zip.FileHeader{Name: entries[i], Method: zip.Deflate}
		h.SetMode(0o644)
		if name, ok := strings.CutSuffix(entries[i], "@"); ok {
			h.Name = name
			h.SetMode(fs.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte(entries[i+1]))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// extractJail extracts data into <tmp>/code beside a sibling <tmp>/outside
// and fails unless <tmp> afterwards holds only those two and outside is
// still empty: nothing the archive names may land outside code.
func extractJail(t *testing.T, data []byte) (codeDir string, err error) {
	t.Helper()
	top := t.TempDir()
	codeDir = filepath.Join(top, "code")
	for _, d := range []string{codeDir, filepath.Join(top, "outside")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	err = extractZip(bytes.NewReader(data), int64(len(data)), codeDir)
	entries, rerr := os.ReadDir(top)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, e := range entries {
		if e.Name() != "code" && e.Name() != "outside" {
			t.Fatalf("extraction wrote %s outside its directory", filepath.Join(top, e.Name()))
		}
	}
	if out, _ := os.ReadDir(filepath.Join(top, "outside")); len(out) > 0 {
		t.Fatalf("extraction wrote %s through an escaping path", filepath.Join(top, "outside", out[0].Name()))
	}
	return codeDir, err
}

func TestExtractZipStaysInside(t *testing.T) {
	cases := []struct {
		name    string
		entries []string
		// inside are paths that must exist in the code directory afterwards.
		inside []string
	}{
		{name: "dot-dot", entries: []string{"../escape", "x", "../../escape2", "x", "a/../../outside/x", "x", "ok.txt", "ok"}, inside: []string{"ok.txt"}},
		{name: "absolute", entries: []string{"/abs-escape", "x", "//outside/x", "x"}, inside: []string{"abs-escape", "outside/x"}},
		{name: "backslash", entries: []string{`..\outside\x`, "x", `a\b`, "x"}, inside: []string{"a/b"}},
		// Links may point anywhere: they resolve in the sandbox's view.
		{name: "symlink-escape", entries: []string{"out@", "../outside", "etc@", "/etc", "ok.txt", "ok"}, inside: []string{"out", "etc", "ok.txt"}},
		// Writing through them fails the extraction, outside untouched.
		{name: "symlink-escape-then-write", entries: []string{"out@", "../outside", "out/x", "x"}},
		{name: "symlink-abs-then-write", entries: []string{"etc@", "/etc", "etc/lambdahost-escape", "x"}},
		{name: "symlink-dir-then-nested-write", entries: []string{"d@", "..", "d/outside/x", "x"}},
		{name: "duplicate", entries: []string{"dup.txt", "first", "dup.txt", "second"}, inside: []string{"dup.txt"}},
		{name: "file-then-dir", entries: []string{"a", "file", "a/b", "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := extractJail(t, hostileZip(t, tc.entries...))
			t.Logf("extractZip: %v", err)
			for _, p := range tc.inside {
				if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
					t.Errorf("%s not extracted inside: %v", p, err)
				}
			}
			if _, err := os.Lstat("/etc/lambdahost-escape"); err == nil {
				t.Fatal("extraction wrote /etc/lambdahost-escape")
			}
		})
	}
	t.Run("duplicate-last-wins", func(t *testing.T) {
		dir, err := extractJail(t, hostileZip(t, "dup.txt", "first", "dup.txt", "second"))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "dup.txt")); string(b) != "second" {
			t.Errorf("dup.txt = %q, want the last entry's %q", b, "second")
		}
	})
}

// FuzzExtractZip: whatever the archive, extractZip never panics and never
// creates anything outside its directory, whether through "..", absolute
// names or symbolic links written by earlier entries.
func FuzzExtractZip(f *testing.F) {
	f.Add(hostileZip(f, "app.py", "print(1)", "lib/x.py", ""))
	f.Add(hostileZip(f, "../escape", "x", "/abs", "x"))
	f.Add(hostileZip(f, "out@", "../outside", "out/x", "x"))
	f.Add(hostileZip(f, "d@", "..", "d/outside/y", "y", "d@", "."))
	f.Add(hostileZip(f, "etc@", "/etc", "etc/passwd", "x"))
	f.Add(hostileZip(f, "a/", "", "a", "x", "a/b", "x"))
	// Archives may unzip to hundreds of megabytes; what matters here is
	// where bytes go, not how many.
	old := unzipLimit
	unzipLimit = 1 << 20
	f.Cleanup(func() { unzipLimit = old })
	f.Fuzz(func(t *testing.T, data []byte) {
		extractJail(t, data)
	})
}

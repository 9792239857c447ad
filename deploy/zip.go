// Package deploy deploys a directory's code to a Lambda function through
// the AWS SDK (to lambdahost or to AWS alike), once or on every change
// (lambdahost deploy --watch).
package deploy

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// zipTime is the modification time of every entry: the earliest a zip
// can record (MS-DOS time starts in 1980), so that the same files give
// the same bytes whenever and wherever they are zipped.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// ignoredDirs are directories of version control systems and tools that
// are never part of a function's code.
var ignoredDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, ".bzr": true, "_darcs": true, ".jj": true, ".idea": true, ".vscode": true, "__pycache__": true}

// Ignored reports whether a file or directory named name (a base name) is
// left out of the package and its changes ignored: version control
// directories, editor swap, backup and lock files.
func Ignored(name string, dir bool) bool {
	if dir {
		return ignoredDirs[name]
	}
	switch {
	case name == ".DS_Store" || name == "Thumbs.db" || name == "4913": // vim probes a directory with "4913"
		return true
	case strings.HasSuffix(name, "~"), strings.HasPrefix(name, ".#"), // emacs backups and locks
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"),                                      // emacs autosaves
		strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swo"), strings.HasSuffix(name, ".swx"), // vim
		strings.HasSuffix(name, ".tmp"), strings.HasSuffix(name, ".pyc"),
		strings.HasPrefix(name, ".goutputstream-"): // gedit
		return true
	}
	return false
}

// Package is a zipped directory.
type Package struct {
	Zip []byte
	// Files is the number of files in it.
	Files int
	// Took is how long zipping took.
	Took time.Duration
}

// SHA256 returns the package's CodeSha256, as Lambda reports it.
func (p *Package) SHA256() string {
	sum := sha256.Sum256(p.Zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Zip zips the files under dir reproducibly: entries sorted by path, every
// time zipTime, modes 0755 for files any execute bit is set on and 0644
// for the rest, no directory entries, the same compression. Unchanged
// files therefore give the same bytes, and the same CodeSha256. Symbolic
// links to files are zipped as the files they name; links to directories
// are refused, as are files that are no regular files. Ignored files and
// directories are left out.
func Zip(dir string) (*Package, error) {
	began := time.Now()
	type entry struct {
		name string
		path string
		mode fs.FileMode
	}
	var entries []entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		if Ignored(d.Name(), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := os.Stat(path) // follows a link
		if err != nil {
			return err
		}
		if info.IsDir() {
			return fmt.Errorf("zip %s: a link to a directory: link its files instead", path)
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("zip %s: not a regular file", path)
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		entries = append(entries, entry{name: filepath.ToSlash(rel), path: path, mode: mode})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// Deflate's fastest level: a deploy loop spends its time here (a
	// 9 MB Go binary takes three times as long at the default level for
	// a package a tenth smaller), and Lambda's limit is 50 MB zipped.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(e.path)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(w, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", e.path, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("zip %s: no files to deploy", dir)
	}
	return &Package{Zip: buf.Bytes(), Files: len(entries), Took: time.Since(began)}, nil
}

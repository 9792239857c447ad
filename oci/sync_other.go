//go:build !linux

package oci

import (
	"io/fs"
	"os"
	"path/filepath"
)

// syncFS fsyncs every regular file and directory under dir. Files that
// cannot be opened (no read permission) are skipped.
func syncFS(dir string) error {
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() && !e.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		return f.Sync()
	})
}

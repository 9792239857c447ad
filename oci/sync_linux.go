package oci

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the file system holding dir: one syncfs(2) instead of an
// fsync per file of an image that may hold a hundred thousand.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

package disk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lambdahost/lambdahost"
)

// OpenBlobStore opens the existing store rooted at dir for a tool that
// runs beside the store's owner (check, backup). Unlike NewBlobStore it
// creates nothing and leaves temporary files alone, since they may belong
// to uploads in progress. It fails if dir holds no store.
func OpenBlobStore(dir string) (*BlobStore, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	s := &BlobStore{
		dir:   dir,
		blobs: filepath.Join(dir, "blobs", "sha256"),
		tmp:   filepath.Join(dir, "tmp"),
	}
	fi, err := os.Stat(s.blobs)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s: not a directory", s.blobs)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	return s, nil
}

// Link makes blob d of src a blob of s with a hard link, copying nothing:
// a committed blob's file is never written again, so two stores may share
// it, and deleting it from one leaves it in the other. It returns an error
// wrapping ErrBlobNotFound if src has no blob d, and another error if the
// stores are on different file systems or the file system has no hard
// links, where the caller copies instead. If s has blob d already, Link
// keeps it. Links are durable once Sync returns.
func (s *BlobStore) Link(ctx context.Context, src *BlobStore, d lambdahost.Digest) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("link blob %s: %w", d, err)
	}
	err := os.Link(src.path(d), s.path(d))
	switch {
	case err == nil, errors.Is(err, fs.ErrExist):
		return nil
	case errors.Is(err, fs.ErrNotExist):
		if _, serr := os.Lstat(src.path(d)); errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("link blob %s: %w", d, lambdahost.ErrBlobNotFound)
		}
	}
	return fmt.Errorf("link blob %s: %w", d, err)
}

// Sync makes the blobs linked into s by Link durable.
func (s *BlobStore) Sync() error { return syncDir(s.blobs) }

package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// TempMaxAge is the age beyond which NewBlobStore removes temporary files
// left behind by a crash. Younger ones may belong to another store open on
// the same directory, which is allowed but unusual.
const TempMaxAge = time.Hour

// tempPrefix starts the names of temporary files in tmp/.
const tempPrefix = "blob-"

var _ lambdahost.BlobStore = (*BlobStore)(nil)

// BlobStore is a content-addressed store of blobs in a local directory.
// See the package documentation for its layout and durability.
// It is safe for concurrent use, also by several processes sharing the directory.
type BlobStore struct {
	dir   string
	blobs string // <dir>/blobs/sha256
	tmp   string // <dir>/tmp
}

// NewBlobStore opens the store rooted at dir, creating dir, dir/blobs/sha256
// and dir/tmp as needed, and removes temporary files older than TempMaxAge.
func NewBlobStore(dir string) (*BlobStore, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	s := &BlobStore{
		dir:   dir,
		blobs: filepath.Join(dir, "blobs", "sha256"),
		tmp:   filepath.Join(dir, "tmp"),
	}
	for _, d := range []string{s.blobs, s.tmp} {
		if err := mkdirAll(d); err != nil {
			return nil, fmt.Errorf("open blob store %s: %w", dir, err)
		}
	}
	if err := s.CleanTemp(context.Background(), TempMaxAge); err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	return s, nil
}

// mkdirAll creates dir and any missing parents, and fsyncs the parent of
// each directory it creates so that the new entry survives a crash.
func mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("mkdir %s: not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return syncDir(parent)
}

// Dir returns the absolute path of the directory the store is rooted at.
func (s *BlobStore) Dir() string { return s.dir }

// path returns the final path of blob d.
func (s *BlobStore) path(d lambdahost.Digest) string {
	return filepath.Join(s.blobs, d.Hex())
}

// Create starts a new blob in a temporary file. The writer's methods may be
// called from several goroutines, though concurrent Writes land in no
// particular order.
func (s *BlobStore) Create(ctx context.Context) (lambdahost.BlobWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	f, err := os.CreateTemp(s.tmp, tempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	return newWriter(s, f), nil
}

// Open opens blob d for reading.
// It returns an error wrapping ErrBlobNotFound if there is none.
func (s *BlobStore) Open(ctx context.Context, d lambdahost.Digest) (lambdahost.Blob, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	f, err := os.Open(s.path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", d, lambdahost.ErrBlobNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open blob %s: not a regular file", d)
	}
	return &blob{f: f, size: fi.Size()}, nil
}

// Stat returns the size of blob d, or an error wrapping ErrBlobNotFound.
func (s *BlobStore) Stat(ctx context.Context, d lambdahost.Digest) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	fi, err := os.Stat(s.path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("stat blob %s: %w", d, lambdahost.ErrBlobNotFound)
	} else if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("stat blob %s: not a regular file", d)
	}
	return fi.Size(), nil
}

// Delete removes blob d. Deleting a missing blob is not an error.
// Readers that have the blob open keep reading it until they close it.
func (s *BlobStore) Delete(ctx context.Context, d lambdahost.Digest) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob %s: %w", d, err)
	}
	if err := os.Remove(s.path(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", d, err)
	}
	return nil
}

// walkBatch is how many directory entries Walk reads at a time.
const walkBatch = 1024

// Walk calls fn for every committed blob, in no particular order, with its
// size and its modification time, which Commit sets when it commits the
// blob, also when the blob existed already. It skips names that are not
// digests and blobs deleted while it runs. It stops at the first error fn
// returns, or when ctx is done, and returns that error.
func (s *BlobStore) Walk(ctx context.Context, fn func(d lambdahost.Digest, size int64, committed time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	dir, err := os.Open(s.blobs)
	if err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	defer dir.Close()
	for {
		entries, err := dir.ReadDir(walkBatch)
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("walk blobs: %w", err)
			}
			if !e.Type().IsRegular() {
				continue
			}
			d, perr := lambdahost.ParseDigestHex(e.Name())
			if perr != nil {
				continue
			}
			fi, ierr := e.Info()
			if errors.Is(ierr, fs.ErrNotExist) {
				continue // deleted since ReadDir
			} else if ierr != nil {
				return fmt.Errorf("walk blobs: %w", ierr)
			}
			if err := fn(d, fi.Size(), fi.ModTime()); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("walk blobs: %w", err)
		}
	}
}

// CleanTemp removes temporary files in <dir>/tmp that were last written
// more than maxAge ago. With maxAge 0 it removes all of them, which is safe
// only while no blob is being written to the directory.
func (s *BlobStore) CleanTemp(ctx context.Context, maxAge time.Duration) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return fmt.Errorf("clean temporary blobs: %w", err)
	}
	cutoff := time.Now().Add(-maxAge)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("clean temporary blobs: %w", err)
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("clean temporary blobs: %w", err)
		}
		if maxAge > 0 && !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(s.tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clean temporary blobs: %w", err)
		}
	}
	return nil
}

// syncDir fsyncs directory dir, making the entries created or renamed in it
// durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// blob is an open, committed blob: a read-only file.
type blob struct {
	f    *os.File
	size int64
}

var (
	_ lambdahost.Blob = (*blob)(nil)
	_ io.WriterTo     = (*blob)(nil)
)

func (b *blob) Read(p []byte) (int, error)                   { return b.f.Read(p) }
func (b *blob) ReadAt(p []byte, off int64) (int, error)      { return b.f.ReadAt(p, off) }
func (b *blob) Seek(offset int64, whence int) (int64, error) { return b.f.Seek(offset, whence) }
func (b *blob) Close() error                                 { return b.f.Close() }

// Size returns the size of the blob in bytes.
func (b *blob) Size() int64 { return b.size }

// WriteTo copies the rest of the blob to w. It lets io.Copy use sendfile or
// splice when w is a socket or a pipe.
func (b *blob) WriteTo(w io.Writer) (int64, error) { return b.f.WriteTo(w) }

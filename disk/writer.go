package disk

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// writeBufferSize is the size of the buffer in front of a temporary file.
// Small writes, such as a zip writer's, are gathered in it; writes at least
// as large go straight to the file when it is empty, sparing a copy of the
// usual 64 KiB chunks. Measured with 10 MiB blobs, a 1 MiB buffer was no
// faster for any chunk size, and a 4 KiB one was twice as slow for 512-byte
// and 4 KiB writes.
const writeBufferSize = 64 << 10

// writebackSize is how many bytes a writer lets reach the file before it
// asks the kernel to start writing them to disk.
const writebackSize = 1 << 20

// errWriterClosed is returned by a writer used after Commit or Abort.
var errWriterClosed = errors.New("blob writer is closed")

// writer writes a blob to a temporary file, hashing what it writes.
type writer struct {
	s    *BlobStore
	name string // path of the temporary file

	mu sync.Mutex
	f  *os.File
	bw *bufio.Writer
	// h has hashed the first hashed bytes of the file. Hashing is done
	// when a digest is asked for, not as content is written: content
	// committed under an address of its own (CommitAs: sealed code, which
	// is hashed in plaintext already) is never hashed here.
	h      hash.Hash
	hashed int64
	size   int64
	// started is how many bytes from the start of the file the kernel has
	// been asked to write back.
	started int64
	err     error // first write error; Commit fails with it
	done    bool  // committed, aborted, or failed to commit; f is closed
}

var _ lambdahost.BlobWriter = (*writer)(nil)

func newWriter(s *BlobStore, f *os.File) *writer {
	return &writer{
		s:    s,
		name: f.Name(),
		f:    f,
		bw:   bufio.NewWriterSize(f, writeBufferSize),
		h:    sha256.New(),
	}
}

// Write appends p to the blob.
func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return 0, fmt.Errorf("write blob: %w", errWriterClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	var n int
	var err error
	if len(p) >= writeBufferSize && w.bw.Buffered() == 0 {
		n, err = w.f.Write(p)
	} else {
		n, err = w.bw.Write(p)
	}
	w.size += int64(n)
	if err != nil {
		w.err = fmt.Errorf("write blob: %w", err)
		return n, w.err
	}
	if inFile := w.size - int64(w.bw.Buffered()); inFile-w.started >= writebackSize {
		startWriteback(w.f, w.started, inFile-w.started)
		w.started = inFile
	}
	return n, nil
}

// ReadAt reads back content written so far. It flushes buffered writes to
// the temporary file first.
func (w *writer) ReadAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return 0, fmt.Errorf("read blob: %w", errWriterClosed)
	}
	if err := w.flush(); err != nil {
		return 0, err
	}
	return w.f.ReadAt(p, off)
}

// flush writes buffered content to the file, remembering a failure.
func (w *writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("write blob: %w", err)
		return w.err
	}
	return nil
}

// Size returns the number of bytes written.
func (w *writer) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Digest returns the SHA-256 of the bytes written so far.
func (w *writer) Digest() lambdahost.Digest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.digest()
}

func (w *writer) digest() lambdahost.Digest {
	var d lambdahost.Digest
	if w.hashed < w.size && w.f != nil && w.flush() == nil {
		if _, err := io.Copy(w.h, io.NewSectionReader(w.f, w.hashed, w.size-w.hashed)); err != nil {
			w.err = fmt.Errorf("hash blob: %w", err)
		} else {
			w.hashed = w.size
		}
	}
	w.h.Sum(d[:0])
	return d
}

// Commit makes the blob durable at <dir>/blobs/sha256/<hex> and returns its
// digest. If ctx is done on entry, Commit fails and the writer stays open;
// once Commit has begun, it completes regardless of ctx, and if it fails the
// content is discarded as if by Abort.
//
// The order matters for crash safety: the content is fsynced before it gets
// its final name, and the directory is fsynced before Commit returns. If the
// blob exists, its modification time is set to now instead: Walk reports
// that as the time the blob was last committed.
func (w *writer) Commit(ctx context.Context) (lambdahost.Digest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return lambdahost.Digest{}, fmt.Errorf("commit blob: %w", errWriterClosed)
	}
	if err := ctx.Err(); err != nil {
		return lambdahost.Digest{}, fmt.Errorf("commit blob: %w", err)
	}
	d := w.digest()
	if err := w.commit(d); err != nil {
		w.discard()
		return lambdahost.Digest{}, fmt.Errorf("commit blob %s: %w", d, err)
	}
	return d, nil
}

// CommitAs is Commit under address d instead of the content's digest:
// the blob becomes <dir>/blobs/sha256/<hex of d>, with the same
// durability and dedup as Commit.
func (w *writer) CommitAs(ctx context.Context, d lambdahost.Digest) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("commit blob: %w", errWriterClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commit blob: %w", err)
	}
	if err := w.commit(d); err != nil {
		w.discard()
		return fmt.Errorf("commit blob %s: %w", d, err)
	}
	return nil
}

func (w *writer) commit(d lambdahost.Digest) error {
	if err := w.flush(); err != nil {
		return err
	}
	final := w.s.path(d)

	// Most duplicates are found here, before paying for an fsync of content
	// that is thrown away.
	if ok, err := w.s.refresh(final); err != nil || ok {
		w.discard()
		return err
	}

	if err := w.f.Chmod(0o444); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return err
	}
	for {
		err := os.Link(w.name, final)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			// A file system without hard links. Rename would replace a blob
			// that appeared meanwhile, with the same content, which is fine.
			if rerr := os.Rename(w.name, final); rerr != nil {
				return fmt.Errorf("%w (rename: %w)", err, rerr)
			}
			break
		}
		// Another writer committed the same content since the check above.
		ok, err := w.s.refresh(final)
		if err != nil {
			return err
		}
		if ok {
			w.discard()
			return nil
		}
		// And it was deleted again before we could refresh it: link ours.
	}
	if err := syncDir(w.s.blobs); err != nil {
		return err
	}
	w.discard()
	return nil
}

// discard closes and removes the temporary file, if still there, and marks
// the writer done. The removal may fail only in ways that leave a file that
// CleanTemp removes later, so its error is dropped.
func (w *writer) discard() {
	w.done = true
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	os.Remove(w.name)
}

// Abort discards the content. After Commit, or a second time, it does nothing.
func (w *writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done = true
	cerr := w.f.Close()
	w.f = nil
	if err := os.Remove(w.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abort blob: %w", err)
	}
	if cerr != nil && !errors.Is(cerr, fs.ErrClosed) {
		return fmt.Errorf("abort blob: %w", cerr)
	}
	return nil
}

// refresh marks the existing blob at path as committed now, and fsyncs the
// directory, since the writer that linked it may not have done so yet.
// It reports false if there is no blob at path.
func (s *BlobStore) refresh(path string) (bool, error) {
	now := time.Now()
	if err := os.Chtimes(path, now, now); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, syncDir(s.blobs)
}

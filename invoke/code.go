package invoke

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lambdahost/lambdahost"
)

// codeDirs unpacks zip packages once per digest, into dir/<hex>.
type codeDirs struct {
	dir  string
	open func(ctx context.Context, c lambdahost.Code) (lambdahost.Blob, error)

	mu      sync.Mutex
	flights map[lambdahost.Digest]*codeFlight
}

type codeFlight struct {
	done chan struct{}
	path string
	err  error
}

// get returns the directory holding the unpacked package d, unpacking it
// if no one has yet. Concurrent callers for one digest share one unpack.
func (c *codeDirs) get(ctx context.Context, code lambdahost.Code) (string, error) {
	d := code.Digest
	final := filepath.Join(c.dir, d.Hex())
	if _, err := os.Lstat(final); err == nil {
		return final, nil
	}
	c.mu.Lock()
	f, ok := c.flights[d]
	if !ok {
		f = &codeFlight{done: make(chan struct{})}
		if c.flights == nil {
			c.flights = map[lambdahost.Digest]*codeFlight{}
		}
		c.flights[d] = f
		go func() {
			// Not bound to one caller's context: others may be waiting.
			f.path, f.err = c.unpack(context.WithoutCancel(ctx), code, final)
			c.mu.Lock()
			delete(c.flights, d)
			c.mu.Unlock()
			close(f.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.path, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// unpack extracts package d into a temporary directory and renames it to
// final, so that final is either absent or complete.
func (c *codeDirs) unpack(ctx context.Context, code lambdahost.Code, final string) (string, error) {
	d := code.Digest
	if _, err := os.Lstat(final); err == nil {
		return final, nil
	}
	b, err := c.open(ctx, code)
	if err != nil {
		return "", fmt.Errorf("open code %s: %w", d, err)
	}
	defer b.Close()
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(c.dir, ".tmp-"+d.Hex()[:12]+"-")
	if err != nil {
		return "", err
	}
	if err := extractZip(b, b.Size(), tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("unzip code %s: %w", d, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Lstat(final); serr == nil {
			return final, nil
		}
		return "", err
	}
	return final, nil
}

// collect removes unpacked packages that are not referenced, and
// temporary directories left by a crash.
func (c *codeDirs) collect(referenced map[lambdahost.Digest]bool) (int, error) {
	entries, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			busy := false
			for d := range c.flights {
				busy = busy || strings.HasPrefix(name, ".tmp-"+d.Hex()[:12])
			}
			if !busy {
				os.RemoveAll(filepath.Join(c.dir, name))
			}
			continue
		}
		d, err := lambdahost.ParseDigestHex(name)
		if err != nil || referenced[d] {
			continue
		}
		if _, busy := c.flights[d]; busy {
			continue
		}
		if err := os.RemoveAll(filepath.Join(c.dir, name)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// unzipLimit bounds the bytes extractZip writes; tests lower it.
var unzipLimit int64 = lambdahost.MaxUnzippedSize

// extractZip writes the files of the zip archive r into dir. Every path is
// resolved inside dir (os.Root), so that names with ".." or symbolic links
// cannot reach outside it. Files keep their Unix permission bits, made
// readable by all as Lambda does; directories are 0755.
func extractZip(r io.ReaderAt, size int64, dir string) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var total int64
	for _, f := range zr.File {
		name := path.Clean(strings.TrimLeft(strings.ReplaceAll(f.Name, "\\", "/"), "/"))
		if name == "." || name == ".." || strings.HasPrefix(name, "../") {
			continue
		}
		mode := f.Mode()
		switch {
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			if err := root.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			target, err := readSmall(f, 4096)
			if err != nil {
				return err
			}
			if err := mkParent(root, name); err != nil {
				return err
			}
			root.Remove(name)
			if err := root.Symlink(string(target), name); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := mkParent(root, name); err != nil {
				return err
			}
			perm := fs.FileMode(0o644)
			if mode.Perm()&0o111 != 0 {
				perm = 0o755
			}
			n, err := writeFile(root, name, f, perm, unzipLimit-total)
			total += n
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func mkParent(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		return root.MkdirAll(dir, 0o755)
	}
	return nil
}

// writeFile writes one entry, refusing to write more than budget bytes in
// case the archive lies about its sizes.
func writeFile(root *os.Root, name string, f *zip.File, perm fs.FileMode, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	root.Remove(name)
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > budget {
		err = fmt.Errorf("unzipped size exceeds %d bytes", unzipLimit)
	}
	if err == nil {
		// The umask may have removed bits.
		err = root.Chmod(name, perm)
	}
	return n, err
}

func readSmall(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("symbolic link %s: target too long", f.Name)
	}
	return b, err
}

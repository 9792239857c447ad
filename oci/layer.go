package oci

import (
	"archive/tar"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// ErrLimit is wrapped by the error of an Unpack whose image exceeds
// MaxSize or MaxFiles.
var ErrLimit = errors.New("image exceeds unpack limits")

// Whiteout names, from the OCI image spec's layer changesets.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// maxSymlinkFollows bounds the links followed resolving one entry's
// parent, as Linux's ELOOP limit bounds a path lookup.
const maxSymlinkFollows = 40

// dirMeta is what a directory gets once the image is complete: it stays
// writable by its owner until then, so that later layers can change it.
type dirMeta struct {
	mode  fs.FileMode
	mtime time.Time
}

// applier applies layers, lowest first, to the root file system in root.
// Paths are slash-separated and relative to the root, "" being the root.
type applier struct {
	root     *os.Root
	maxSize  int64
	maxFiles int64

	// read counts uncompressed layer bytes, written the bytes of regular
	// files created, files the entries; all across layers.
	read, written, files int64

	// dirs holds the final mode of every directory created.
	dirs map[string]dirMeta
	// real caches paths known to be directories, not symbolic links; any
	// removal clears it, since a directory can only turn into something
	// else by being removed.
	real map[string]bool
	// layer holds the paths the current layer created or created things
	// in. Whiteouts hide only what lower layers made.
	layer map[string]bool
	buf   []byte
}

func newApplier(root *os.Root, maxSize, maxFiles int64) *applier {
	return &applier{
		root:     root,
		maxSize:  maxSize,
		maxFiles: maxFiles,
		dirs:     make(map[string]dirMeta),
		real:     make(map[string]bool),
		buf:      make([]byte, 64<<10),
	}
}

// countingReader counts the bytes a layer's tar stream yields and fails
// once the image's total passes the limit: the size of a decompression
// bomb is only known by decompressing it.
type countingReader struct {
	r io.Reader
	a *applier
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.a.read += int64(n)
	if c.a.read > c.a.maxSize {
		return n, fmt.Errorf("%w: uncompressed size over %d bytes", ErrLimit, c.a.maxSize)
	}
	return n, err
}

// apply applies one layer, given as its uncompressed tar stream. The
// stream is read to its end, so that a digest computed over it is checked.
func (a *applier) apply(r io.Reader) error {
	a.layer = make(map[string]bool)
	cr := &countingReader{r: r, a: a}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		a.files++
		if a.files > a.maxFiles {
			return fmt.Errorf("%w: more than %d entries", ErrLimit, a.maxFiles)
		}
		if err := a.entry(tr, hdr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	if _, err := io.CopyBuffer(io.Discard, cr, a.buf); err != nil {
		return fmt.Errorf("read tar: %w", err)
	}
	return nil
}

// cleanPath turns an entry name into a path relative to the root, as if
// the root were "/": leading slashes go and ".." stops at the root.
func cleanPath(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("NUL byte in name")
	}
	return strings.TrimPrefix(path.Clean("/"+name), "/"), nil
}

// split returns the parent and base of p; the parent of a top-level name
// is "".
func split(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

func join(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}

func (a *applier) entry(tr *tar.Reader, hdr *tar.Header) error {
	p, err := cleanPath(hdr.Name)
	if err != nil {
		return err
	}
	if p == "" {
		// The root itself: it keeps its own mode.
		return nil
	}
	dir, base := split(p)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(dir, base)
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	default:
		// Device nodes, FIFOs, and anything unknown: a function has no
		// use for them and an unprivileged extractor could not make
		// devices anyway.
		return nil
	}
	parent, _, err := a.resolveDir(dir, true)
	if err != nil {
		return err
	}
	target := join(parent, base)
	a.mark(target)
	switch hdr.Typeflag {
	case tar.TypeDir:
		return a.mkdir(target, hdr)
	case tar.TypeReg:
		return a.file(target, tr, hdr)
	case tar.TypeSymlink:
		return a.symlink(target, hdr.Linkname)
	default:
		return a.link(target, hdr.Linkname)
	}
}

// mark records that the current layer made p, and so made things in
// each of p's ancestors.
func (a *applier) mark(p string) {
	for p != "" && !a.layer[p] {
		a.layer[p] = true
		p, _ = split(p)
	}
}

// resolveDir resolves dir to a path with no symbolic links in it,
// following links as a chroot to the root would: an absolute target starts
// at the root and ".." stops there. If create, missing directories are
// created; otherwise a missing one makes ok false.
func (a *applier) resolveDir(dir string, create bool) (resolved string, ok bool, err error) {
	if dir == "" || a.real[dir] {
		return dir, true, nil
	}
	var out []string
	pending := strings.Split(dir, "/")
	follows := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		cand := join(strings.Join(out, "/"), c)
		if a.real[cand] {
			out = append(out, c)
			continue
		}
		fi, err := a.root.Lstat(cand)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if !create {
				return "", false, nil
			}
			if err := a.root.Mkdir(cand, 0o755); err != nil {
				return "", false, err
			}
			a.dirs[cand] = dirMeta{mode: 0o755}
			a.real[cand] = true
			out = append(out, c)
		case err != nil:
			return "", false, err
		case fi.Mode()&fs.ModeSymlink != 0:
			follows++
			if follows > maxSymlinkFollows {
				return "", false, fmt.Errorf("%s: too many levels of symbolic links", dir)
			}
			t, err := a.root.Readlink(cand)
			if err != nil {
				return "", false, err
			}
			if strings.HasPrefix(t, "/") {
				out = out[:0]
			}
			pending = append(strings.Split(t, "/"), pending...)
		case fi.IsDir():
			a.real[cand] = true
			out = append(out, c)
		default:
			return "", false, fmt.Errorf("%s: not a directory", cand)
		}
	}
	return strings.Join(out, "/"), true, nil
}

// clear removes p, whatever it is, unless keepDir and it is a directory;
// it reports whether a directory was kept.
func (a *applier) clear(p string, keepDir bool) (kept bool, err error) {
	fi, err := a.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if keepDir && fi.IsDir() {
		return true, nil
	}
	return false, a.removeAll(p)
}

func (a *applier) removeAll(p string) error {
	clear(a.real)
	return a.root.RemoveAll(p)
}

func (a *applier) mkdir(p string, hdr *tar.Header) error {
	kept, err := a.clear(p, true)
	if err != nil {
		return err
	}
	if !kept {
		if err := a.root.Mkdir(p, 0o755); err != nil {
			return err
		}
	}
	a.real[p] = true
	a.dirs[p] = dirMeta{mode: fs.FileMode(hdr.Mode) & 0o777, mtime: hdr.ModTime}
	return nil
}

func (a *applier) file(p string, tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Size < 0 {
		return errors.New("negative size")
	}
	if hdr.Size > a.maxSize-a.written {
		return fmt.Errorf("%w: files over %d bytes", ErrLimit, a.maxSize)
	}
	if _, err := a.clear(p, false); err != nil {
		return err
	}
	f, err := a.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.CopyBuffer(f, tr, a.buf)
	a.written += n
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(finalMode(hdr.Mode)); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if !hdr.ModTime.IsZero() {
		// Python compares a .pyc's recorded source mtime with the
		// source's: keeping mtimes keeps the image's bytecode valid.
		return a.root.Chtimes(p, hdr.ModTime, hdr.ModTime)
	}
	return nil
}

func (a *applier) symlink(p, target string) error {
	if strings.IndexByte(target, 0) >= 0 {
		return errors.New("NUL byte in link target")
	}
	if _, err := a.clear(p, false); err != nil {
		return err
	}
	// The target is stored as it is: it is only followed by resolveDir,
	// which keeps to the root, and by os.Root, which refuses to leave it.
	return a.root.Symlink(target, p)
}

// link makes p a hard link to the entry named linkname, which an earlier
// entry of this or a lower layer made.
func (a *applier) link(p, linkname string) error {
	src, err := cleanPath(linkname)
	if err != nil {
		return err
	}
	sdir, sbase := split(src)
	sparent, ok, err := a.resolveDir(sdir, false)
	if err != nil {
		return err
	}
	if !ok || src == "" {
		return fmt.Errorf("link target %q does not exist", linkname)
	}
	src = join(sparent, sbase)
	fi, err := a.root.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("link target %q does not exist", linkname)
	}
	if err != nil {
		return fmt.Errorf("link target: %w", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("link target %q is a directory", linkname)
	}
	if src == p {
		return nil
	}
	if _, err := a.clear(p, false); err != nil {
		return err
	}
	return a.root.Link(src, p)
}

// whiteout applies the whiteout base found in directory dir.
func (a *applier) whiteout(dir, base string) error {
	parent, ok, err := a.resolveDir(dir, false)
	if err != nil || !ok {
		return err
	}
	if base == whiteoutOpaque {
		return a.opaque(parent)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		// Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not files.
		return nil
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return nil
	}
	p := join(parent, name)
	if a.layer[p] {
		// The current layer made p, or things in it: those stay, and a
		// directory loses only what lower layers put in it.
		fi, err := a.root.Lstat(p)
		if err != nil || !fi.IsDir() {
			return nil
		}
		return a.opaque(p)
	}
	_, err = a.clear(p, false)
	return err
}

// opaque removes what lower layers put in dir, keeping what the current
// layer made there, whichever order the layer lists them in.
func (a *applier) opaque(dir string) error {
	f, err := a.root.Open(cmp.Or(dir, "."))
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		p := join(dir, n)
		if !a.layer[p] {
			if err := a.removeAll(p); err != nil {
				return err
			}
			continue
		}
		fi, err := a.root.Lstat(p)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			if err := a.opaque(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// finalMode is the mode a file or directory is left with: its permission
// bits without write bits. Set-user-ID, set-group-ID and sticky bits go:
// extracted files belong to lambdahost's user, not the image's.
func finalMode(mode int64) fs.FileMode {
	return fs.FileMode(mode) & 0o777 &^ 0o222
}

// finish gives directories their final modes and mtimes, deepest first,
// so that a directory loses its write and search bits only after
// everything under it is done; the root becomes read-only too.
func (a *applier) finish() error {
	paths := make([]string, 0, len(a.dirs))
	for p := range a.dirs {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, func(x, y string) int {
		return strings.Count(y, "/") - strings.Count(x, "/")
	})
	for _, p := range paths {
		fi, err := a.root.Lstat(p)
		if err != nil || !fi.IsDir() {
			// Removed by a later layer, or replaced by something else.
			continue
		}
		m := a.dirs[p]
		if !m.mtime.IsZero() {
			if err := a.root.Chtimes(p, m.mtime, m.mtime); err != nil {
				return err
			}
		}
		if err := a.root.Chmod(p, m.mode&^0o222); err != nil {
			return err
		}
	}
	return a.root.Chmod(".", 0o555)
}

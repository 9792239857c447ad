package invoke

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lambdahost/lambdahost"
)

// optDirs builds what environments see at /opt: their function's layers,
// extracted in order, later layers' files replacing earlier ones', as
// Lambda extracts them.
//
// Each layer is unpacked once per digest, among the code directories
// (codeDirs), and shared. A function with one layer sees that directory
// itself; one with several sees a merge of them, built once per ordered
// set of digests under dir/<hash>, of hard links to the layers' files
// (no file is copied), and shared by every environment with that set. A
// function without layers sees an empty directory. All are mounted
// read-only.
type optDirs struct {
	dir  string
	code *codeDirs

	mu      sync.Mutex
	flights map[string]*codeFlight
}

// manifestSuffix names the file beside a merge that lists the digests it
// was built from, one per line, for garbage collection.
const manifestSuffix = ".layers"

// get returns the directory to mount at /opt for layers.
func (o *optDirs) get(ctx context.Context, layers []lambdahost.Layer) (string, error) {
	if len(layers) == 0 {
		return o.empty()
	}
	srcs := make([]string, len(layers))
	for i, l := range layers {
		d, err := o.code.get(ctx, l.Code())
		if err != nil {
			return "", fmt.Errorf("layer %s: %w", l.ARN, err)
		}
		srcs[i] = d
	}
	if len(srcs) == 1 {
		return srcs[0], nil
	}
	h := sha256.New()
	for _, l := range layers {
		h.Write(l.Digest[:])
	}
	name := hex.EncodeToString(h.Sum(nil))
	final := filepath.Join(o.dir, name)
	if _, err := os.Lstat(final); err == nil {
		return final, nil
	}
	o.mu.Lock()
	f, ok := o.flights[name]
	if !ok {
		f = &codeFlight{done: make(chan struct{})}
		if o.flights == nil {
			o.flights = map[string]*codeFlight{}
		}
		o.flights[name] = f
		go func() {
			f.path, f.err = o.merge(layers, srcs, final)
			o.mu.Lock()
			delete(o.flights, name)
			o.mu.Unlock()
			close(f.done)
		}()
	}
	o.mu.Unlock()
	select {
	case <-f.done:
		return f.path, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// empty returns the empty /opt of functions without layers.
func (o *optDirs) empty() (string, error) {
	d := filepath.Join(o.dir, "empty")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	return d, nil
}

// merge builds the merge of srcs (the unpacked layers) at final: in a
// temporary directory, renamed into place once complete, after its
// manifest is written.
func (o *optDirs) merge(layers []lambdahost.Layer, srcs []string, final string) (string, error) {
	if _, err := os.Lstat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(o.dir, ".tmp-"+filepath.Base(final)[:12]+"-")
	if err != nil {
		return "", err
	}
	if err := mergeLayers(tmp, srcs); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("merge layers: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	var manifest strings.Builder
	for _, l := range layers {
		manifest.WriteString(l.Digest.Hex() + "\n")
	}
	if err := os.WriteFile(final+manifestSuffix, []byte(manifest.String()), 0o644); err != nil {
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

// mergeLayers lays the trees srcs over one another in dst, in order: a
// later entry replaces an earlier one of the same path, whatever either
// is, and directories merge. Files are hard links to the sources' (copies
// where linking fails); symbolic links are recreated, never followed. The
// sources come from extractZip, whose trees hold only directories, regular
// files and links. dst is written through an os.Root, and every directory
// of a path is made a real directory before anything is written below
// it, so that no link of an earlier layer can lead a write out of dst.
func mergeLayers(dst string, srcs []string) error {
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, src := range srcs {
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(src, p)
			if err != nil || rel == "." {
				return err
			}
			prev, lerr := root.Lstat(rel)
			switch {
			case d.IsDir():
				if lerr == nil && prev.IsDir() {
					return nil
				}
				if lerr == nil {
					if err := root.RemoveAll(rel); err != nil {
						return err
					}
				}
				return root.Mkdir(rel, 0o755)
			case d.Type()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				if lerr == nil {
					if err := root.RemoveAll(rel); err != nil {
						return err
					}
				}
				return root.Symlink(target, rel)
			case d.Type().IsRegular():
				if lerr == nil {
					if err := root.RemoveAll(rel); err != nil {
						return err
					}
				}
				// The parents of rel are real directories of dst (made
				// above, as the walk visits a directory before its
				// contents), and link(2) does not follow a final link.
				if err := os.Link(p, filepath.Join(dst, rel)); err == nil {
					return nil
				}
				return copyFile(root, rel, p)
			}
			return nil // nothing else is extracted
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies the regular file src to name in root, with its mode.
func copyFile(root *os.Root, name, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Chmod(name, fi.Mode().Perm())
	}
	return err
}

// collect removes merges built from a layer that is no longer referenced,
// and what a crash left half-built.
func (o *optDirs) collect(referenced map[lambdahost.Digest]bool) (int, error) {
	entries, err := os.ReadDir(o.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	busy := func(name string) bool {
		for f := range o.flights {
			if strings.HasPrefix(name, f) || strings.HasPrefix(name, ".tmp-"+f[:12]) {
				return true
			}
		}
		return false
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if name == "empty" || busy(name) {
			continue
		}
		if strings.HasPrefix(name, ".tmp-") {
			os.RemoveAll(filepath.Join(o.dir, name))
			continue
		}
		merge, isManifest := strings.CutSuffix(name, manifestSuffix)
		if isManifest {
			// A manifest whose merge is gone, or never came.
			if _, err := os.Lstat(filepath.Join(o.dir, merge)); errors.Is(err, fs.ErrNotExist) {
				os.Remove(filepath.Join(o.dir, name))
			}
			continue
		}
		if o.used(name, referenced) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(o.dir, name)); err != nil {
			return n, err
		}
		os.Remove(filepath.Join(o.dir, name+manifestSuffix))
		n++
	}
	return n, nil
}

// used reports whether every layer the merge name was built from is
// referenced. A merge without a readable manifest is not.
func (o *optDirs) used(name string, referenced map[lambdahost.Digest]bool) bool {
	b, err := os.ReadFile(filepath.Join(o.dir, name+manifestSuffix))
	if err != nil {
		return false
	}
	lines := strings.Fields(string(b))
	if len(lines) == 0 {
		return false
	}
	for _, l := range lines {
		d, err := lambdahost.ParseDigestHex(l)
		if err != nil || !referenced[d] {
			return false
		}
	}
	return true
}

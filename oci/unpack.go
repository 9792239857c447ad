package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lambdahost/lambdahost"
)

// flight is an Unpack in progress. Callers of Unpack for the same digest
// wait on it; when the last of them gives up, it is cancelled.
type flight struct {
	done    chan struct{}
	rootfs  string
	err     error
	waiters int // guarded by Source.mu
	cancel  context.CancelFunc
}

// Unpack returns the root file system of the image whose manifest digest
// is d, pulling it from resolvedURI (a "<repository>@sha256:<hex>" URI, as
// Fetch returns it) and unpacking it under Dir first if it is not there.
// Concurrent calls for the same digest share one pull. The returned
// directory and everything under it are read-only; the image config is
// kept beside it (see Config).
//
// An image over MaxSize or MaxFiles fails with an error wrapping ErrLimit.
// If ctx ends, Unpack returns; the pull goes on while other callers wait
// for it.
func (s *Source) Unpack(ctx context.Context, d lambdahost.Digest, resolvedURI string) (string, error) {
	s.init()
	rootfs := filepath.Join(s.imageDir(d), "rootfs")
	if _, err := os.Lstat(rootfs); err == nil {
		return rootfs, nil
	}
	s.mu.Lock()
	f := s.flights[d]
	if f == nil {
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		s.flights[d] = f
		go func() {
			f.rootfs, f.err = s.unpack(wctx, d, resolvedURI)
			s.mu.Lock()
			if s.flights[d] == f {
				delete(s.flights, d)
			}
			s.mu.Unlock()
			cancel()
			close(f.done)
		}()
	}
	f.waiters++
	s.mu.Unlock()

	select {
	case <-f.done:
		return f.rootfs, f.err
	case <-ctx.Done():
		s.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			// A caller arriving now starts afresh rather than joining
			// a pull that is being abandoned.
			if s.flights[d] == f {
				delete(s.flights, d)
			}
		}
		s.mu.Unlock()
		return "", ctx.Err()
	}
}

// unpack pulls and unpacks image d into a temporary directory, then
// renames it into place.
func (s *Source) unpack(ctx context.Context, d lambdahost.Digest, uri string) (string, error) {
	start := time.Now()
	ctx, stall := context.WithCancelCause(ctx)
	defer stall(nil)
	final := s.imageDir(d)
	ref, err := name.NewDigest(uri, s.nameOptions(uri)...)
	if err != nil {
		return "", fmt.Errorf("unpack %s: parse %q: %w", d, uri, err)
	}
	if ref.DigestStr() != d.String() {
		return "", fmt.Errorf("unpack %s: %q names another digest", d, uri)
	}
	img, err := remote.Image(ref, s.remoteOptions(ctx)...)
	if err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	if err := checkManifest(mt, raw); err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	// Layers are read no further than the sizes the manifest gives them,
	// so this bounds the download, which the uncompressed size does not:
	// a gzip stream can be long and expand to nothing.
	var compressed int64
	for _, l := range m.Layers {
		compressed += max(l.Size, 0)
		if compressed > s.maxSize() {
			return "", fmt.Errorf("unpack %s: %w: compressed layers over %d bytes", d, ErrLimit, s.maxSize())
		}
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return "", fmt.Errorf("unpack %s: config: %w", d, err)
	}
	if _, err := parseConfig(rawCfg); err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}

	work, err := s.mkTemp("unpack-" + d.Hex()[:16] + "-")
	if err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	defer s.dropTemp(work)
	a, err := s.extract(ctx, work, layers, stall)
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
			err = cause
		}
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	if err := os.WriteFile(filepath.Join(work, "config.json"), rawCfg, 0o444); err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	// MkdirTemp made work private; sandboxes running as another user
	// must be able to reach rootfs.
	if err := os.Chmod(work, 0o755); err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	// Everything must be on disk before the rename makes it visible:
	// after a crash, a path under images/sha256 is a whole image.
	if err := syncFS(work); err != nil {
		return "", fmt.Errorf("unpack %s: sync: %w", d, err)
	}
	if err := os.Rename(work, final); err != nil {
		if _, serr := os.Lstat(filepath.Join(final, "rootfs")); serr == nil {
			// Another process unpacked it first; ours is dropped.
			return filepath.Join(final, "rootfs"), nil
		}
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	if err := syncDir(s.imagesDir()); err != nil {
		return "", fmt.Errorf("unpack %s: %w", d, err)
	}
	s.logger().LogAttrs(ctx, slog.LevelInfo, "unpacked image",
		slog.String(lambdahost.LogKeyDigest, d.String()),
		slog.Int("layers", len(layers)),
		slog.Int64("bytes", a.written),
		slog.Int64("entries", a.files),
		slog.Duration("took", time.Since(start)))
	return filepath.Join(final, "rootfs"), nil
}

// stallTimeout is how long a layer download may go without a byte
// before Unpack gives up: the transport's timeouts cover connecting and
// the response header, not a body that stops flowing.
const stallTimeout = time.Minute

var errStalled = fmt.Errorf("layer download stalled for %v", stallTimeout)

// stallReader calls stall if no Read returns for stallTimeout.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
}

func (r *stallReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.timer.Reset(stallTimeout)
	return n, err
}

// extract applies layers to <work>/rootfs. stall cancels the context of
// the layers' downloads.
func (s *Source) extract(ctx context.Context, work string, layers []v1.Layer, stall context.CancelCauseFunc) (*applier, error) {
	rootfs := filepath.Join(work, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	a := newApplier(root, s.maxSize(), s.maxFiles())
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		timer := time.AfterFunc(stallTimeout, func() { stall(errStalled) })
		err = a.apply(&stallReader{r: rc, timer: timer})
		timer.Stop()
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	if err := a.finish(); err != nil {
		return nil, err
	}
	return a, nil
}

// mkTemp creates a directory under images/tmp that Collect leaves alone
// until dropTemp.
func (s *Source) mkTemp(prefix string) (string, error) {
	if err := os.MkdirAll(s.tmpDir(), 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.imagesDir(), 0o755); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir, err := os.MkdirTemp(s.tmpDir(), prefix)
	if err != nil {
		return "", err
	}
	s.temps[filepath.Base(dir)] = true
	return dir, nil
}

// dropTemp removes dir, if it is still there, and releases it.
func (s *Source) dropTemp(dir string) {
	if err := removeTree(dir); err != nil {
		s.logger().Warn("remove temporary directory", "path", dir, lambdahost.LogKeyError, err)
	}
	s.mu.Lock()
	delete(s.temps, filepath.Base(dir))
	s.mu.Unlock()
}

// removeTree removes dir and everything under it, first giving its owner
// the permissions that removing needs: unpacked directories are read-only,
// and some have no search permission at all. WalkDir calls fn with a
// directory before reading it, so each is fixed before it is entered.
func removeTree(dir string) error {
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() {
			return os.Chmod(p, 0o700)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// Config returns the config of image d, which Unpack has unpacked.
// It returns an error wrapping fs.ErrNotExist if d is not unpacked.
func (s *Source) Config(ctx context.Context, d lambdahost.Digest) (ImageConfig, error) {
	b, err := os.ReadFile(filepath.Join(s.imageDir(d), "config.json"))
	if err != nil {
		return ImageConfig{}, fmt.Errorf("image %s config: %w", d, err)
	}
	return parseConfig(b)
}

// Collect removes the unpacked images whose digests are not in
// referenced, and leftovers of unpacks a crash interrupted. It returns the
// number of images removed. Images being unpacked are spared; the caller
// must include in referenced the images that running sandboxes use.
func (s *Source) Collect(ctx context.Context, referenced map[lambdahost.Digest]bool) (int, error) {
	s.init()
	var doomed []string
	removed := 0
	s.mu.Lock()
	entries, err := os.ReadDir(s.imagesDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.mu.Unlock()
		return 0, fmt.Errorf("collect images: %w", err)
	}
	for _, e := range entries {
		d, err := lambdahost.ParseDigestHex(e.Name())
		if err != nil || referenced[d] || s.flights[d] != nil {
			continue
		}
		// Move it out of images/sha256 at once, so that no one finds a
		// half-removed image there; remove it at leisure.
		gone := filepath.Join(s.tmpDir(), fmt.Sprintf("gc-%s-%d", e.Name(), time.Now().UnixNano()))
		if err := os.Rename(filepath.Join(s.imagesDir(), e.Name()), gone); err != nil {
			s.mu.Unlock()
			return removed, fmt.Errorf("collect image %s: %w", d, err)
		}
		removed++
		s.logger().LogAttrs(ctx, slog.LevelInfo, "removed image", slog.String(lambdahost.LogKeyDigest, d.String()))
	}
	tmps, err := os.ReadDir(s.tmpDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.mu.Unlock()
		return removed, fmt.Errorf("collect images: %w", err)
	}
	for _, e := range tmps {
		if !s.temps[e.Name()] {
			doomed = append(doomed, filepath.Join(s.tmpDir(), e.Name()))
		}
	}
	s.mu.Unlock()
	for _, p := range doomed {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if err := removeTree(p); err != nil {
			return removed, fmt.Errorf("collect images: %w", err)
		}
	}
	return removed, nil
}

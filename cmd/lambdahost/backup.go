package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/sqlite"
)

// A backup is a directory:
//
//	lambdahost.db   the metadata, a VACUUM INTO snapshot (inline code included)
//	code/           a blob store holding exactly the blobs the snapshot references
//	master.key      only with --include-master-key
//	manifest.json   written last: a backup without it is incomplete
//
// What the data dir holds besides is left out, because it is derived or
// replaced: url.key (signs Code.Location URLs, valid 10 minutes; a new one
// is made on start), images/ (container images unpacked from their
// registry, pulled again by digest on first use), exec/ (packages unpacked
// to run), runtime/ (our runtime clients, installed on start), sandbox/
// (state of running environments), code/tmp (uploads in progress) and
// the lock files.

// manifestFormat is the version of manifest.json this program writes and
// reads.
const manifestFormat = 1

// manifest describes a backup. Restore verifies everything against it.
type manifest struct {
	Format            int       `json:"format"`
	LambdahostVersion string    `json:"lambdahostVersion"`
	Created           time.Time `json:"created"`
	DataDir           string    `json:"dataDir"`
	Functions         int       `json:"functions"`
	Versions          int       `json:"versions"`
	// Database is lambdahost.db.
	Database manifestFile `json:"database"`
	// MasterKeyIncluded says master.key is in the backup.
	MasterKeyIncluded bool `json:"masterKeyIncluded"`
	// MasterKeyCheck identifies the master key the data is sealed with
	// (see keyCheckValue), "" if the backup did not have it.
	MasterKeyCheck string `json:"masterKeyCheck,omitempty"`
	// Blobs are the code blobs, by address.
	Blobs []manifestBlob `json:"blobs"`
}

type manifestFile struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

type manifestBlob struct {
	Address string `json:"address"` // hex: the blob's name in code/blobs/sha256
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"` // of the stored bytes (for sealed code, the ciphertext)
}

// keyCheckValue identifies a master key without revealing it, so that
// restore can tell whether it is given the key the backup was sealed with.
func keyCheckValue(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("lambdahost master key check value"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// backupCmd is lambdahost backup.
type backupCmd struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	DataDir          string
	To               string
	MasterKeyFile    string
	IncludeMasterKey bool
	Copy             bool
}

func (c *backupCmd) parseFlags(args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	env := envDefault(c.Getenv)
	fs.StringVar(&c.DataDir, "data-dir", env("data-dir", defaultDataDir(c.Getenv)), "the data directory to back up (LAMBDAHOST_DATA_DIR)")
	fs.StringVar(&c.To, "to", "", "directory to create with the backup (it must not exist, or be empty)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", env("master-key-file", ""), "serve's master key file (LAMBDAHOST_MASTER_KEY_FILE); default: master.key in the data dir")
	fs.BoolVar(&c.IncludeMasterKey, "include-master-key", false, "put the master key into the backup; without it, the backup can be restored only with the master key kept elsewhere")
	fs.BoolVar(&c.Copy, "copy", false, "copy code blobs even where hard links would do (a backup on the same file system shares their files)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case c.To == "":
		return errors.New("--to is required")
	case c.DataDir == "":
		return errors.New("--data-dir: no default data directory (set HOME or XDG_DATA_HOME)")
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	return nil
}

// run makes the backup. It takes a snapshot of the metadata, then copies
// exactly the blobs the snapshot references, holding the garbage
// collection lock from before the snapshot until the last blob is copied,
// so that a running server deletes none of them meanwhile. Blobs are
// immutable and named by their address, so the backup is the data dir as
// it was at the snapshot, however many updates commit during the copy.
func (c *backupCmd) run(ctx context.Context) error {
	db := filepath.Join(c.DataDir, "lambdahost.db")
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("no lambdahost data dir at %s: %w", c.DataDir, err)
	}
	if err := checkRestored(c.DataDir); err != nil {
		return err
	}
	if inside(c.To, c.DataDir) {
		return fmt.Errorf("--to %s is inside the data dir %s", c.To, c.DataDir)
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if err := makeEmptyDir(c.To); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	// A backup that fails leaves --to empty: it was empty before, so all
	// it holds is ours.
	if err := c.backup(ctx, db); err != nil {
		if cerr := emptyDir(c.To); cerr != nil {
			return errors.Join(err, fmt.Errorf("clean up %s: %w", c.To, cerr))
		}
		return err
	}
	return nil
}

// backup writes the backup into the empty directory c.To.
func (c *backupCmd) backup(ctx context.Context, db string) error {
	// The key is read first: a backup that cannot include the key it was
	// asked to include fails before copying anything.
	masterKey, err := readMasterKey(c.MasterKeyFile)
	if err != nil && (c.IncludeMasterKey || !errors.Is(err, fs.ErrNotExist)) {
		return err
	}

	gc, err := pauseGC(ctx, c.DataDir, c.Stderr)
	if err != nil {
		return err
	}
	defer gc.Close()

	src, err := sqlite.OpenReadOnly(ctx, db)
	if err != nil {
		return err
	}
	snapshot := filepath.Join(c.To, "lambdahost.db")
	err = src.Snapshot(ctx, snapshot)
	src.Close()
	if err != nil {
		return err
	}
	m := &manifest{
		Format: manifestFormat, LambdahostVersion: version, Created: time.Now().UTC().Truncate(time.Second),
		DataDir: c.DataDir, MasterKeyIncluded: c.IncludeMasterKey, Blobs: []manifestBlob{},
	}
	if masterKey != nil {
		m.MasterKeyCheck = keyCheckValue(masterKey)
	}
	if m.Database, err = hashFile(snapshot); err != nil {
		return err
	}
	if err := c.copyCode(ctx, snapshot, m); err != nil {
		return err
	}
	if err := gc.Close(); err != nil {
		return err
	}
	if c.IncludeMasterKey {
		if err := writeFileAtomic(filepath.Join(c.To, "master.key"), masterKey, 0o600); err != nil {
			return fmt.Errorf("write master key: %w", err)
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(c.To, "manifest.json"), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := syncDir(c.To); err != nil {
		return err
	}
	var size int64
	for _, b := range m.Blobs {
		size += b.Size
	}
	fmt.Fprintf(c.Stdout, "backed up %d functions (%d versions), the metadata (%s) and %d code blobs (%s) from %s to %s\n",
		m.Functions, m.Versions, byteSize(m.Database.Size), len(m.Blobs), byteSize(size), c.DataDir, c.To)
	if !c.IncludeMasterKey {
		fmt.Fprintf(c.Stderr, `
NOTE: the master key is NOT in this backup. Every function's code and every
KMS key in it is sealed with the master key (%s): without that key
the backup cannot be decrypted, and restoring it gives functions that cannot
run. Keep a copy of the master key somewhere safe, apart from the backup,
and give it to restore with --master-key-file, or back up with
--include-master-key (and then keep the backup as safe as the key).
`, c.MasterKeyFile)
	}
	return nil
}

// copyCode copies the blobs that the snapshot at db references into the
// backup, and records them in m.
func (c *backupCmd) copyCode(ctx context.Context, db string, m *manifest) error {
	snap, err := sqlite.OpenReadOnly(ctx, db)
	if err != nil {
		return err
	}
	defer snap.Close()
	src, err := disk.OpenBlobStore(filepath.Join(c.DataDir, "code"))
	if err != nil {
		return err
	}
	dst, err := disk.NewBlobStore(filepath.Join(c.To, "code"))
	if err != nil {
		return err
	}
	// What to copy, from the snapshot: the blobs of the code some
	// resource uses, except code stored inline, which is in the snapshot.
	type want struct {
		ref     lambdahost.CodeRef
		holders []string
		// unstored: every holder reports that its code was never stored.
		unstored bool
	}
	wants := map[lambdahost.Digest]*want{}
	functions := map[lambdahost.FunctionID]bool{}
	err = snap.View(ctx, func(tx lambdahost.Tx) error {
		err := control.CodeUses(ctx, tx, func(u control.CodeUse) error {
			w := wants[u.Address()]
			if w == nil {
				w = &want{ref: u.CodeRef, unstored: true}
				wants[u.Address()] = w
			}
			w.holders = append(w.holders, u.Holder)
			w.unstored = w.unstored && u.Unstored
			return nil
		})
		if err != nil {
			return err
		}
		for addr := range wants {
			if _, err := tx.Code(ctx, addr); err == nil {
				delete(wants, addr)
			} else if !errors.Is(err, lambdahost.ErrBlobNotFound) {
				return err
			}
		}
		var after lambdahost.FunctionID
		for {
			fs, err := tx.AllFunctions(ctx, after, 1000)
			if err != nil {
				return err
			}
			for _, f := range fs {
				functions[f.ID] = true
				vs, err := tx.ListVersions(ctx, f.ID, math.MinInt64, 0)
				if err != nil {
					return err
				}
				m.Versions += len(vs)
			}
			if len(fs) < 1000 {
				return nil
			}
			after = fs[len(fs)-1].ID
		}
	})
	if err != nil {
		return err
	}
	m.Functions = len(functions)

	addrs := slices.SortedFunc(maps.Keys(wants), func(a, b lambdahost.Digest) int { return strings.Compare(a.Hex(), b.Hex()) })
	var total int64
	for _, a := range addrs {
		if n, err := src.Stat(ctx, a); err == nil {
			total += n
		}
	}
	prog := newProgress(c.Stderr, "backup", len(addrs), total)
	var (
		mu      sync.Mutex
		copied  = make([]*manifestBlob, len(addrs))
		missing = make([][]string, len(addrs))
		n       int
		done    int64
	)
	err = forEachParallel(ctx, len(addrs), func(ctx context.Context, i int) error {
		a := addrs[i]
		w := wants[a]
		sum, size, err := copyBlob(ctx, dst, src, a, !c.Copy, func(sum lambdahost.Digest, size int64, r io.ReaderAt) error {
			return verifyStoredLayout(w.ref, sum, size, r)
		})
		switch {
		case errors.Is(err, lambdahost.ErrBlobNotFound) && w.unstored:
			// Never stored: the versions report why.
		case errors.Is(err, lambdahost.ErrBlobNotFound):
			for _, h := range w.holders {
				missing[i] = append(missing[i], fmt.Sprintf("%s: code %s is missing from the data dir (blob %s)", h, w.ref.Digest, a.Hex()))
			}
		case err != nil:
			return fmt.Errorf("back up code of %s: %w", strings.Join(w.holders, ", "), err)
		default:
			copied[i] = &manifestBlob{Address: a.Hex(), Size: size, SHA256: sum.Hex()}
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		done += size
		prog.update(n, done)
		return nil
	})
	if err != nil {
		return err
	}
	var lost []string
	for i := range addrs {
		if copied[i] != nil {
			m.Blobs = append(m.Blobs, *copied[i])
		}
		lost = append(lost, missing[i]...)
	}
	prog.finish(len(addrs), done)
	if err := dst.Sync(); err != nil {
		return err
	}
	if len(lost) > 0 {
		return fmt.Errorf("the data dir is damaged, so the backup in %s is incomplete (run lambdahost check):\n  %s", c.To, strings.Join(lost, "\n  "))
	}
	return nil
}

// verifyStoredLayout checks what can be checked of a package without
// opening it: plain code is named by its own digest, and sealed code has
// the layout of sealed code and names the key its version says.
func verifyStoredLayout(ref lambdahost.CodeRef, sum lambdahost.Digest, size int64, r io.ReaderAt) error {
	if ref.SealedWith == "" {
		if sum != ref.Digest {
			return fmt.Errorf("code %s is damaged: its bytes do not match its digest", ref.Digest)
		}
		return nil
	}
	tr, _, err := lambdahost.CheckSealedLayout(r, size)
	if err != nil {
		return fmt.Errorf("code %s is damaged: %w", ref.Digest, err)
	}
	if tr.KeyARN != ref.SealedWith {
		return fmt.Errorf("code %s is damaged: sealed under %s, but its holders say %s", ref.Digest, tr.KeyARN, ref.SealedWith)
	}
	return nil
}

// copyBlob puts blob d of src into dst, hard-linked if link is set and the
// file system allows it, copied otherwise. check is given the SHA-256 and
// size of the bytes that dst then holds, and the bytes, and may refuse
// them: the blob is then not left in dst. It returns the SHA-256 and size.
// A missing blob is an error wrapping ErrBlobNotFound.
func copyBlob(ctx context.Context, dst, src *disk.BlobStore, d lambdahost.Digest, link bool, check func(sum lambdahost.Digest, size int64, r io.ReaderAt) error) (lambdahost.Digest, int64, error) {
	if link {
		err := dst.Link(ctx, src, d)
		if errors.Is(err, lambdahost.ErrBlobNotFound) || ctx.Err() != nil {
			return lambdahost.Digest{}, 0, err
		}
		if err == nil {
			b, err := dst.Open(ctx, d)
			if err != nil {
				return lambdahost.Digest{}, 0, err
			}
			defer b.Close()
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(b, 0, b.Size())); err != nil {
				return lambdahost.Digest{}, 0, fmt.Errorf("read blob %s: %w", d, err)
			}
			sum := lambdahost.Digest(h.Sum(nil))
			if err := check(sum, b.Size(), b); err != nil {
				return lambdahost.Digest{}, 0, errors.Join(err, dst.Delete(ctx, d))
			}
			return sum, b.Size(), nil
		}
		// Another file system, or one without hard links: copy.
	}
	b, err := src.Open(ctx, d)
	if err != nil {
		return lambdahost.Digest{}, 0, err
	}
	defer b.Close()
	w, err := dst.Create(ctx)
	if err != nil {
		return lambdahost.Digest{}, 0, err
	}
	defer w.Abort()
	if _, err := io.Copy(w, b); err != nil {
		return lambdahost.Digest{}, 0, fmt.Errorf("copy blob %s: %w", d, err)
	}
	sum := w.Digest()
	if err := check(sum, w.Size(), w); err != nil {
		return lambdahost.Digest{}, 0, err
	}
	if err := w.CommitAs(ctx, d); err != nil {
		return lambdahost.Digest{}, 0, err
	}
	return sum, w.Size(), nil
}

// forEachParallel calls fn for every i in [0, n) on one goroutine per
// CPU, since copying and verifying code is mostly hashing. It returns the
// first error, after which it starts no more calls.
func forEachParallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return context.Cause(ctx)
}

// readMasterKey reads the master key at path without creating one. A
// missing file is an error wrapping fs.ErrNotExist.
func readMasterKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	if len(b) != lambdahost.MasterKeySize {
		return nil, fmt.Errorf("master key %s: %d bytes, want %d", path, len(b), lambdahost.MasterKeySize)
	}
	return b, nil
}

// hashFile returns the size and SHA-256 of the file at path.
func hashFile(path string) (manifestFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return manifestFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return manifestFile{}, fmt.Errorf("read %s: %w", path, err)
	}
	return manifestFile{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// emptyDir removes everything in dir but the entries named keep.
func emptyDir(dir string, keep ...string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !slices.Contains(keep, e.Name()) {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// makeEmptyDir creates dir (0700), or accepts an existing empty one.
func makeEmptyDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty", dir)
	}
	return nil
}

// inside reports whether path is dir or lies under it.
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// syncDir fsyncs directory dir, making the entries created in it durable.
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
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// progress reports a long copy or check on w, every few seconds.
type progress struct {
	w          io.Writer
	what       string
	total      int
	totalBytes int64
	start      time.Time
	last       time.Time
}

// progressEvery is how often progress prints a line.
const progressEvery = 2 * time.Second

func newProgress(w io.Writer, what string, total int, totalBytes int64) *progress {
	now := time.Now()
	return &progress{w: w, what: what, total: total, totalBytes: totalBytes, start: now, last: now}
}

func (p *progress) update(done int, bytes int64) {
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		p.print(done, bytes)
	}
}

// check is update as control.CheckOptions.Progress calls it.
func (p *progress) check(done, total int, bytes int64) {
	p.total = total
	p.update(done, bytes)
}

// finish prints the last line, if the work took long enough to print any.
func (p *progress) finish(done int, bytes int64) {
	if p.last != p.start {
		p.print(done, bytes)
	}
}

func (p *progress) print(done int, bytes int64) {
	if p.totalBytes > 0 {
		fmt.Fprintf(p.w, "%s: %d/%d packages, %s of %s, %s\n", p.what, done, p.total, byteSize(bytes), byteSize(p.totalBytes), time.Since(p.start).Round(time.Second))
		return
	}
	fmt.Fprintf(p.w, "%s: %d/%d packages, %s, %s\n", p.what, done, p.total, byteSize(bytes), time.Since(p.start).Round(time.Second))
}

// byteSize prints n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/sqlite"
)

// restoreCmd is lambdahost restore.
type restoreCmd struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	From          string
	DataDir       string
	MasterKeyFile string
	Copy          bool
}

func (c *restoreCmd) parseFlags(args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	env := envDefault(c.Getenv)
	fs.StringVar(&c.From, "from", "", "the backup directory lambdahost backup --to made")
	fs.StringVar(&c.DataDir, "data-dir", env("data-dir", defaultDataDir(c.Getenv)), "the data directory to restore into: it must not exist, or be empty (LAMBDAHOST_DATA_DIR)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", "", "the master key the backup is sealed with, when it is not in the backup; it is checked, used to verify the code, and not copied: give it to serve")
	fs.BoolVar(&c.Copy, "copy", false, "copy code blobs even where hard links would do")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case c.From == "":
		return errors.New("--from is required")
	case c.DataDir == "":
		return errors.New("--data-dir: no default data directory (set HOME or XDG_DATA_HOME)")
	}
	return nil
}

// run restores the backup into an empty data dir, verifying every file
// against the manifest on the way, then checks the result as lambdahost
// check does. Until it has succeeded, the data dir holds restoreMarker,
// and serve refuses to start on it.
func (c *restoreCmd) run(ctx context.Context) error {
	m, err := readManifest(c.From)
	if err != nil {
		return err
	}
	masterKey, err := c.masterKey(m)
	if err != nil {
		return err
	}
	lock, err := lockDataDir(c.DataDir, "restore")
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := checkEmptyDataDir(c.DataDir); err != nil {
		return err
	}
	marker := filepath.Join(c.DataDir, restoreMarker)
	if err := writeFileAtomic(marker, []byte("lambdahost restore --from "+c.From+"\n"), 0o600); err != nil {
		return err
	}
	// A restore that fails leaves the data dir empty again, ready for
	// another attempt. One that is killed leaves the marker.
	if err := c.restore(ctx, m, masterKey); err != nil {
		if cerr := emptyDir(c.DataDir, lockFileName, gcLockFileName); cerr != nil {
			return errors.Join(err, fmt.Errorf("clean up the data dir: %w", cerr))
		}
		return err
	}
	if err := os.Remove(marker); err != nil {
		return err
	}
	return syncDir(c.DataDir)
}

// restore fills the data dir, which holds only its lock and the marker.
func (c *restoreCmd) restore(ctx context.Context, m *manifest, masterKey []byte) error {
	if masterKey != nil && m.MasterKeyIncluded {
		if err := writeFileAtomic(filepath.Join(c.DataDir, "master.key"), masterKey, 0o600); err != nil {
			return fmt.Errorf("write master key: %w", err)
		}
	}

	db := filepath.Join(c.DataDir, "lambdahost.db")
	if err := copyVerified(filepath.Join(c.From, "lambdahost.db"), db, m.Database); err != nil {
		return err
	}
	blobs, err := c.copyBlobs(ctx, m)
	if err != nil {
		return err
	}

	// Everything is in place: check it as lambdahost check would. Open
	// migrates a backup made by an older lambdahost.
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := control.New(store, blobs)
	if masterKey != nil {
		// The key service opens the keys that seal code; without the
		// master key, sealed code is checked for its layout only.
		svc.Keys = kms.New(store, masterKey)
	}
	rep, err := svc.Check(ctx, control.CheckOptions{Progress: newProgress(c.Stderr, "verify", 0, 0).check})
	if err != nil {
		return err
	}
	dbProblems, err := store.IntegrityCheck(ctx)
	if err != nil {
		return err
	}
	if len(dbProblems) > 0 || !rep.Intact() {
		var lines []string
		lines = append(lines, dbProblems...)
		for _, p := range rep.Problems {
			lines = append(lines, p.String())
		}
		return fmt.Errorf("the restored data does not check, so the backup is damaged:\n  %s", strings.Join(lines, "\n  "))
	}
	if err := store.Close(); err != nil {
		return err
	}

	fmt.Fprintf(c.Stdout, "restored %d functions (%d versions) and %d code blobs (%s) from %s, made %s, into %s\n",
		rep.Functions, rep.Versions, len(m.Blobs), byteSize(rep.Bytes), c.From, m.Created.Format("2006-01-02 15:04:05 MST"), c.DataDir)
	switch {
	case masterKey == nil:
		fmt.Fprintf(c.Stderr, `
NOTE: the backup holds no master key and none was given: the layout of the
sealed code was checked, but not its content, and serve cannot open it
until it is given the master key the backup was sealed with:
  lambdahost serve --data-dir %s --master-key-file FILE
`, c.DataDir)
	case !m.MasterKeyIncluded:
		fmt.Fprintf(c.Stdout, "the code opens with the master key %s; start serve with it:\n  lambdahost serve --data-dir %s --master-key-file %s\n", c.MasterKeyFile, c.DataDir, c.MasterKeyFile)
	}
	return nil
}

// masterKey returns the master key to verify the backup with: the one in
// the backup, or the one given, which must match the manifest's check
// value. It returns nil if there is none.
func (c *restoreCmd) masterKey(m *manifest) ([]byte, error) {
	var inBackup, given []byte
	if m.MasterKeyIncluded {
		var err error
		if inBackup, err = readMasterKey(filepath.Join(c.From, "master.key")); err != nil {
			return nil, fmt.Errorf("the backup should hold its master key: %w", err)
		}
		if m.MasterKeyCheck != "" && keyCheckValue(inBackup) != m.MasterKeyCheck {
			return nil, fmt.Errorf("the backup's master.key is not the key its data is sealed with: the backup is damaged")
		}
	}
	if c.MasterKeyFile != "" {
		var err error
		if given, err = readMasterKey(c.MasterKeyFile); err != nil {
			return nil, err
		}
		if m.MasterKeyCheck != "" && keyCheckValue(given) != m.MasterKeyCheck {
			return nil, fmt.Errorf("--master-key-file %s is not the master key this backup is sealed with", c.MasterKeyFile)
		}
		if inBackup != nil && !bytes.Equal(inBackup, given) {
			return nil, fmt.Errorf("--master-key-file %s differs from the master key in the backup", c.MasterKeyFile)
		}
	}
	if inBackup != nil {
		return inBackup, nil
	}
	return given, nil
}

// copyBlobs puts every blob of the manifest into the data dir's blob
// store, verifying its SHA-256 and size, and returns the store.
func (c *restoreCmd) copyBlobs(ctx context.Context, m *manifest) (*disk.BlobStore, error) {
	dst, err := disk.NewBlobStore(filepath.Join(c.DataDir, "code"))
	if err != nil {
		return nil, err
	}
	if len(m.Blobs) == 0 {
		return dst, nil
	}
	src, err := disk.OpenBlobStore(filepath.Join(c.From, "code"))
	if err != nil {
		return nil, fmt.Errorf("the backup is damaged: %w", err)
	}
	var total, done int64
	for _, b := range m.Blobs {
		total += b.Size
	}
	prog := newProgress(c.Stderr, "restore", len(m.Blobs), total)
	var (
		mu sync.Mutex
		n  int
	)
	err = forEachParallel(ctx, len(m.Blobs), func(ctx context.Context, i int) error {
		b := m.Blobs[i]
		d, err := lambdahost.ParseDigestHex(b.Address)
		if err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		_, _, err = copyBlob(ctx, dst, src, d, !c.Copy, func(sum lambdahost.Digest, size int64, _ io.ReaderAt) error {
			if size != b.Size || sum.Hex() != b.SHA256 {
				return fmt.Errorf("the backup is damaged: blob %s has changed since the backup was made", b.Address)
			}
			return nil
		})
		if errors.Is(err, lambdahost.ErrBlobNotFound) {
			return fmt.Errorf("the backup is damaged: blob %s is missing", b.Address)
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		done += b.Size
		prog.update(n, done)
		return nil
	})
	if err != nil {
		return nil, err
	}
	prog.finish(len(m.Blobs), done)
	return dst, dst.Sync()
}

// readManifest reads and checks the manifest of the backup in dir.
func readManifest(dir string) (*manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return nil, fmt.Errorf("--from: %w", serr)
		}
		return nil, fmt.Errorf("%s holds no manifest.json: it is not a lambdahost backup, or its backup did not finish", dir)
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s/manifest.json: %w", dir, err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%s/manifest.json: format %d, this lambdahost reads format %d", dir, m.Format, manifestFormat)
	}
	return &m, nil
}

// checkEmptyDataDir refuses a data dir that holds anything but its locks.
func checkEmptyDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		switch e.Name() {
		case lockFileName, gcLockFileName:
		default:
			return fmt.Errorf("data dir %s is not empty (it holds %s): restore only into an empty data dir", dir, e.Name())
		}
	}
	return nil
}

// copyVerified copies the file src to the new file dst, verifying its
// size and SHA-256 against want, and flushes it to disk.
func copyVerified(src, dst string, want manifestFile) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("the backup is damaged: %w", err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if n != want.Size || hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return fmt.Errorf("the backup is damaged: %s has changed since the backup was made", src)
	}
	return os.Rename(tmp, dst)
}

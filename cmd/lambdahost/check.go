package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/oci"
	"github.com/lambdahost/lambdahost/sqlite"
)

// errNotIntact is check's error when it found problems, which it has
// reported already.
var errNotIntact = errors.New("the data dir is not intact")

// checkCmd is lambdahost check.
type checkCmd struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	DataDir       string
	MasterKeyFile string
	// keyGiven says --master-key-file was set: then it must exist.
	keyGiven bool
	Grace    time.Duration
	Repair   bool
}

func (c *checkCmd) parseFlags(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	env := envDefault(c.Getenv)
	fs.StringVar(&c.DataDir, "data-dir", env("data-dir", defaultDataDir(c.Getenv)), "the data directory to check (LAMBDAHOST_DATA_DIR)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", env("master-key-file", ""), "serve's master key file (LAMBDAHOST_MASTER_KEY_FILE); default: master.key in the data dir")
	grace := fs.String("gc-grace", env("gc-grace", "1h"), "serve's --gc-grace, to tell which unreferenced code its garbage collection would delete (LAMBDAHOST_GC_GRACE)")
	fs.BoolVar(&c.Repair, "repair", false, "delete the code that nothing references and leftover temporary files; refused while serve runs on the data dir")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	g, err := time.ParseDuration(*grace)
	if err != nil || g < 0 {
		return fmt.Errorf("--gc-grace: want a duration such as 1h, got %q", *grace)
	}
	c.Grace = g
	if c.DataDir == "" {
		return errors.New("--data-dir: no default data directory (set HOME or XDG_DATA_HOME)")
	}
	c.keyGiven = c.MasterKeyFile != ""
	if !c.keyGiven {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	return nil
}

// run checks the data dir and prints a report: the problems found, each
// naming the resource affected, and the orphans. It returns errNotIntact
// if it found a problem. Without --repair it only reads, beside a running
// server; with it, it holds the data dir as serve does.
func (c *checkCmd) run(ctx context.Context) error {
	db := filepath.Join(c.DataDir, "lambdahost.db")
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("no lambdahost data dir at %s: %w", c.DataDir, err)
	}
	if c.Repair {
		lock, err := lockDataDir(c.DataDir, "check --repair")
		if err != nil {
			return err
		}
		defer lock.Close()
	}
	masterKey, err := readMasterKey(c.MasterKeyFile)
	if err != nil && (c.keyGiven || !errors.Is(err, fs.ErrNotExist)) {
		return err
	}

	var (
		store *sqlite.Store
		gc    *disk.LockFile
	)
	if c.Repair {
		// Repair deletes: it waits for backups and checks reading the code.
		if gc, err = openGCLock(c.DataDir); err == nil {
			err = gc.Lock(ctx)
		}
		if err == nil {
			store, err = sqlite.Open(ctx, db)
		}
	} else {
		if gc, err = pauseGC(ctx, c.DataDir, c.Stderr); err == nil {
			store, err = sqlite.OpenReadOnly(ctx, db)
		}
	}
	if gc != nil {
		defer gc.Close()
	}
	if err != nil {
		return err
	}
	defer store.Close()
	blobs, err := disk.OpenBlobStore(filepath.Join(c.DataDir, "code"))
	if err != nil {
		return err
	}
	svc := control.New(store, blobs)
	if masterKey != nil {
		// The key service opens the keys that seal code; without the
		// master key, sealed code is checked for its layout only.
		svc.Keys = kms.New(store, masterKey)
	}
	// Unpacked images are derived from code: garbage collection, and so
	// repair, removes those nothing references.
	images := oci.NewSource(filepath.Join(c.DataDir, "images"))
	images.Logger = slog.New(slog.DiscardHandler)
	if c.Repair {
		svc.Images = images
	}
	rep, err := svc.Check(ctx, control.CheckOptions{Grace: c.Grace, Progress: newProgress(c.Stderr, "check", 0, 0).check})
	if err != nil {
		return err
	}
	problems, err := store.IntegrityCheck(ctx)
	if err != nil {
		return err
	}
	if err := checkRestored(c.DataDir); err != nil {
		problems = append(problems, err.Error())
	}
	for _, p := range rep.Problems {
		problems = append(problems, p.String())
	}
	if masterKey == nil && rep.Unopened > 0 {
		problems = append(problems, fmt.Sprintf(
			"no master key at %s: %d sealed packages could not be opened, and serve would create a new master key that opens none of them; give the right one with --master-key-file",
			c.MasterKeyFile, rep.Unopened))
	}
	unpacked, err := unreferencedImages(ctx, store, images)
	if err != nil {
		return err
	}
	c.report(rep, problems, unpacked)

	if c.Repair {
		if err := c.repair(ctx, svc, blobs); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return errNotIntact
	}
	return nil
}

// unreferencedImages returns the unpacked images that no code references.
func unreferencedImages(ctx context.Context, store lambdahost.Store, images *oci.Source) ([]lambdahost.Digest, error) {
	unpacked, err := images.Unpacked()
	if err != nil || len(unpacked) == 0 {
		return nil, err
	}
	referenced := map[lambdahost.Digest]bool{}
	err = store.View(ctx, func(tx lambdahost.Tx) error {
		return control.CodeUses(ctx, tx, func(u control.CodeUse) error {
			referenced[u.Digest] = true
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []lambdahost.Digest
	for _, d := range unpacked {
		if !referenced[d] {
			out = append(out, d)
		}
	}
	return out, nil
}

func (c *checkCmd) report(rep *control.CheckReport, problems []string, images []lambdahost.Digest) {
	w := c.Stdout
	fmt.Fprintf(w, "checked %s: %d functions, %d versions, %d aliases, %d layer versions; %d code packages (%s) read\n",
		c.DataDir, rep.Functions, rep.Versions, rep.Aliases, rep.LayerVersions, rep.Packages, byteSize(rep.Bytes))
	if rep.Unopened > 0 {
		fmt.Fprintf(w, "%d sealed packages were checked for their layout and key only: no master key to open them\n", rep.Unopened)
	}
	var collectable, kept int
	var collectableBytes int64
	for _, o := range rep.Orphans {
		where := "blob"
		if o.Inline {
			where = "inline code"
		}
		switch {
		case o.Collectable:
			collectable++
			collectableBytes += o.Size
			fmt.Fprintf(w, "orphan: %s %s (%s): nothing references it; serve's garbage collection deletes it\n", where, o.Address.Hex(), byteSize(o.Size))
		default:
			kept++
			fmt.Fprintf(w, "orphan: %s %s (%s): nothing references it, but it was committed %s ago, within the %s grace period (an upload in progress, or code just replaced); garbage collection keeps it until then\n",
				where, o.Address.Hex(), byteSize(o.Size), time.Since(o.Committed).Round(time.Second), c.Grace)
		}
	}
	if len(rep.Orphans) > 0 {
		fmt.Fprintf(w, "%d orphans: garbage collection would delete %d (%s) and keep %d for now\n", len(rep.Orphans), collectable, byteSize(collectableBytes), kept)
	}
	for _, d := range images {
		fmt.Fprintf(w, "orphan: unpacked image %s: no version references it; serve's garbage collection deletes it\n", d.Hex())
	}
	for _, p := range problems {
		fmt.Fprintln(w, "PROBLEM:", p)
	}
	if len(problems) == 0 {
		fmt.Fprintln(w, "intact")
	} else {
		fmt.Fprintf(w, "NOT INTACT: %d problems\n", len(problems))
	}
}

// repair deletes what nothing references: the data dir is held, so no
// upload is in progress and nothing unreferenced can be about to be
// referenced. Referenced code is never touched, damaged or not.
func (c *checkCmd) repair(ctx context.Context, svc *control.Service, blobs *disk.BlobStore) error {
	n, err := svc.CollectGarbage(ctx, 0)
	if err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	tmp := filepath.Join(blobs.Dir(), "tmp")
	before := countFiles(tmp)
	if err := blobs.CleanTemp(ctx, 0); err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	fmt.Fprintf(c.Stdout, "repair: deleted %d unreferenced packages and unpacked images, and %d leftover temporary files\n", n, before-countFiles(tmp))
	return nil
}

// countFiles counts the entries of dir, 0 if it cannot be read.
func countFiles(dir string) int {
	entries, _ := os.ReadDir(dir)
	return len(entries)
}

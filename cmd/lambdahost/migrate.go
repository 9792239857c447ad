package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/sqlite"
)

// migrateCmd is lambdahost migrate: it moves a single-node installation
// (SQLite and the blob directory of a data dir) to the backends that
// several nodes share (PostgreSQL and an S3 bucket), then verifies that
// every version's code in the destination has its CodeSha256.
//
// It may be run again after an interruption: everything is copied with
// upserts, and code already at its address is kept.
type migrateCmd struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	From          string
	MasterKeyFile string
	To            backendFlags
}

func (c *migrateCmd) parseFlags(args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	env := envDefault(c.Getenv)
	fs.StringVar(&c.From, "from", "", "the data directory of the installation to move; no server may be running on it")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", env("master-key-file", ""), "its master key file (LAMBDAHOST_MASTER_KEY_FILE); default: master.key in --from. The nodes of the destination must be given the same file")
	fs.StringVar(&c.To.Database, "to-database", "", "postgres://… URL of the destination database")
	fs.StringVar(&c.To.BlobStore, "to-blob-store", "", "s3://BUCKET/PREFIX of the destination blob store")
	fs.StringVar(&c.To.BlobS3Endpoint, "to-blob-s3-endpoint", env("blob-s3-endpoint", ""), "S3 endpoint of --to-blob-store (LAMBDAHOST_BLOB_S3_ENDPOINT); default: the AWS SDK configuration")
	fs.BoolVar(&c.To.BlobS3PathStyle, "to-blob-s3-path-style", false, "address the --to-blob-store bucket in the path")
	fs.StringVar(&c.To.BlobS3Region, "to-blob-s3-region", env("blob-s3-region", ""), "region of --to-blob-store (LAMBDAHOST_BLOB_S3_REGION); default: the AWS SDK configuration")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case c.From == "":
		return errors.New("--from is required")
	case c.To.Database == "":
		return errors.New("--to-database is required")
	case c.To.BlobStore == "":
		return errors.New("--to-blob-store is required")
	}
	if err := c.To.check("to-"); err != nil {
		return err
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.From, "master.key")
	}
	return nil
}

// migrateStats counts what migrate moved.
type migrateStats struct {
	functions, versions, aliases, events, records int
	deliveries                                    int
	blobs, inline                                 int
	blobBytes                                     int64
	verified, verifiedLayers                      int
}

func (c *migrateCmd) run(ctx context.Context) error {
	db := filepath.Join(c.From, "lambdahost.db")
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("no lambdahost store in %s: %w", c.From, err)
	}
	// serve's data-dir lock: migrate refuses to run beside a server, and
	// no server starts on the data dir meanwhile.
	lock, err := lockDataDir(c.From, "migrate")
	if err != nil {
		return err
	}
	defer lock.Close()
	masterKey, err := loadMasterKey(c.MasterKeyFile)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	src, err := sqlite.Open(ctx, db)
	if err != nil {
		return err
	}
	defer src.Close()
	srcBlobs, err := disk.NewBlobStore(filepath.Join(c.From, "code"))
	if err != nil {
		return err
	}
	// The key must be the one that sealed the source's secrets.
	if err := checkMasterKey(ctx, src, masterKey); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	dst, err := openStore(ctx, c.To.Database, "", logger)
	if err != nil {
		return err
	}
	defer dst.Close()
	dstBlobs, err := openBlobs(ctx, c.To, c.From, logger)
	if err != nil {
		return err
	}
	// The destination must not hold secrets sealed with another key.
	if err := checkMasterKey(ctx, dst, masterKey); err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	// What verify opens the code with, as the nodes will.
	dstSvc := control.New(dst, dstBlobs)
	dstSvc.Keys, dstSvc.Logger = kms.New(dst, masterKey), logger

	var st migrateStats
	// Layer versions are records: their code goes first, so that the
	// destination never references code it lacks.
	if err := copyLayerCode(ctx, src, srcBlobs, dst, dstBlobs, &st); err != nil {
		return err
	}
	if err := copyRecords(ctx, src, dst, &st); err != nil {
		return err
	}
	after := lambdahost.FunctionID{}
	for {
		var page []*lambdahost.Function
		if err := src.View(ctx, func(tx lambdahost.Tx) (err error) {
			page, err = tx.AllFunctions(ctx, after, 100)
			return err
		}); err != nil {
			return fmt.Errorf("read functions: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, fn := range page {
			if err := copyFunction(ctx, src, srcBlobs, dst, dstBlobs, fn, &st); err != nil {
				return fmt.Errorf("migrate %s: %w", fn.ID.ARN(), err)
			}
		}
		after = page[len(page)-1].ID
	}
	if err := copyEvents(ctx, src, dst, &st); err != nil {
		return err
	}
	if err := copyDeliveries(ctx, src, dst, &st); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "moved %d functions, %d versions, %d aliases, %d queued events, %d pending deliveries, %d records, %d code blobs (%d bytes) and %d inline packages\n",
		st.functions, st.versions, st.aliases, st.events, st.deliveries, st.records, st.blobs, st.blobBytes, st.inline)
	if err := verify(ctx, dst, dstSvc, &st); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "verified the CodeSha256 of %d versions and %d layer packages in the destination\n", st.verified, st.verifiedLayers)
	return nil
}

// copyRecords copies every record (code signing configs, signing profiles
// and jobs, KMS keys, the master key check...), kind by kind.
func copyRecords(ctx context.Context, src, dst lambdahost.Store, st *migrateStats) error {
	var kinds []string
	if err := src.View(ctx, func(tx lambdahost.Tx) error {
		var err error
		kinds, err = sqlite.RecordKinds(ctx, tx)
		return err
	}); err != nil {
		return fmt.Errorf("read record kinds: %w", err)
	}
	for _, kind := range kinds {
		after := ""
		for {
			var page []lambdahost.Record
			if err := src.View(ctx, func(tx lambdahost.Tx) (err error) {
				page, err = tx.ListRecords(ctx, kind, "", after, 500)
				return err
			}); err != nil {
				return fmt.Errorf("read records %s: %w", kind, err)
			}
			if len(page) == 0 {
				break
			}
			if err := dst.Update(ctx, func(tx lambdahost.Tx) error {
				for _, r := range page {
					if err := tx.PutRecord(ctx, kind, r.Key, r.Value); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return fmt.Errorf("write records %s: %w", kind, err)
			}
			st.records += len(page)
			after = page[len(page)-1].Key
		}
	}
	return nil
}

// copyFunction copies fn with its versions and aliases, and their code:
// blobs first, then, in one transaction, the metadata and the code kept
// inline, so that the destination never references code it lacks.
func copyFunction(ctx context.Context, src lambdahost.Store, srcBlobs lambdahost.BlobStore, dst lambdahost.Store, dstBlobs lambdahost.BlobStore, fn *lambdahost.Function, st *migrateStats) error {
	var (
		versions []*lambdahost.Version
		aliases  []*lambdahost.Alias
		inline   = map[lambdahost.Digest][]byte{}
		blobs    []lambdahost.Digest
	)
	err := src.View(ctx, func(tx lambdahost.Tx) (err error) {
		if versions, err = tx.ListVersions(ctx, fn.ID, -3, 0); err != nil {
			return err
		}
		if aliases, err = tx.ListAliases(ctx, fn.ID, "", 0); err != nil {
			return err
		}
		// The versions' own code and the code of their layers, which a
		// version keeps after its layer version is deleted.
		var refs []lambdahost.CodeRef
		for _, v := range versions {
			if !v.Code.Digest.IsZero() {
				refs = append(refs, lambdahost.CodeRef{Digest: v.Code.Digest, SealedWith: v.Code.SealedWith})
			}
			for _, l := range v.Config.Layers {
				refs = append(refs, lambdahost.CodeRef{Digest: l.Digest, SealedWith: l.SealedWith})
			}
		}
		for _, r := range refs {
			addr := r.Address()
			if _, ok := inline[addr]; ok || containsDigest(blobs, addr) {
				continue
			}
			data, err := tx.Code(ctx, addr)
			switch {
			case err == nil:
				inline[addr] = data
			case errors.Is(err, lambdahost.ErrBlobNotFound):
				blobs = append(blobs, addr)
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	for _, addr := range blobs {
		n, err := moveBlob(ctx, srcBlobs, dstBlobs, addr)
		if err != nil {
			return err
		}
		st.blobs++
		st.blobBytes += n
	}
	err = dst.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.CreateFunction(ctx, fn); errors.Is(err, lambdahost.ErrExists) {
			if err := tx.PutFunction(ctx, fn); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		for addr, data := range inline {
			if err := tx.PutCode(ctx, addr, data); err != nil {
				return err
			}
		}
		for _, v := range versions {
			if err := tx.PutVersion(ctx, v); err != nil {
				return err
			}
		}
		for _, a := range aliases {
			if err := tx.CreateAlias(ctx, a); errors.Is(err, lambdahost.ErrExists) {
				if err := tx.PutAlias(ctx, a); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	st.functions++
	st.versions += len(versions)
	st.aliases += len(aliases)
	st.inline += len(inline)
	return nil
}

// copyLayerCode copies the code of every layer version (control.CodeUses
// names a layer version as the holder of its code): blobs, then the code
// kept inline, in one transaction.
func copyLayerCode(ctx context.Context, src lambdahost.Store, srcBlobs lambdahost.BlobStore, dst lambdahost.Store, dstBlobs lambdahost.BlobStore, st *migrateStats) error {
	inline := map[lambdahost.Digest][]byte{}
	var blobs []lambdahost.Digest
	err := src.View(ctx, func(tx lambdahost.Tx) error {
		return control.CodeUses(ctx, tx, func(u control.CodeUse) error {
			if _, ok := lambdahost.ParseLayerVersionARN(u.Holder); !ok {
				return nil // a function version's: copyFunction copies it
			}
			addr := u.Address()
			if _, ok := inline[addr]; ok || containsDigest(blobs, addr) {
				return nil
			}
			data, err := tx.Code(ctx, addr)
			switch {
			case err == nil:
				inline[addr] = data
			case errors.Is(err, lambdahost.ErrBlobNotFound):
				blobs = append(blobs, addr)
			default:
				return err
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("read layer code: %w", err)
	}
	for _, addr := range blobs {
		n, err := moveBlob(ctx, srcBlobs, dstBlobs, addr)
		if err != nil {
			return err
		}
		st.blobs++
		st.blobBytes += n
	}
	err = dst.Update(ctx, func(tx lambdahost.Tx) error {
		for addr, data := range inline {
			if err := tx.PutCode(ctx, addr, data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write layer code: %w", err)
	}
	st.inline += len(inline)
	return nil
}

func containsDigest(ds []lambdahost.Digest, d lambdahost.Digest) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// moveBlob streams blob addr from src to dst, at the same address, and
// returns its size. The bytes are copied as stored (sealed code stays
// sealed); verify then opens them.
func moveBlob(ctx context.Context, src, dst lambdahost.BlobStore, addr lambdahost.Digest) (int64, error) {
	b, err := src.Open(ctx, addr)
	if err != nil {
		return 0, fmt.Errorf("copy code %s: %w", addr, err)
	}
	defer b.Close()
	w, err := dst.Create(ctx)
	if err != nil {
		return 0, fmt.Errorf("copy code %s: %w", addr, err)
	}
	defer w.Abort()
	n, err := io.Copy(w, b)
	if err != nil {
		return 0, fmt.Errorf("copy code %s: %w", addr, err)
	}
	if err := w.CommitAs(ctx, addr); err != nil {
		return 0, fmt.Errorf("copy code %s: %w", addr, err)
	}
	return n, nil
}

// copyEvents copies the queued asynchronous events, with no node: the
// destination's nodes claim and run them.
func copyEvents(ctx context.Context, src, dst lambdahost.Store, st *migrateStats) error {
	return copyQueue(ctx, src, dst, "events", &st.events, lambdahost.Tx.ListEvents,
		func(ctx context.Context, tx lambdahost.Tx, ev *lambdahost.AsyncEvent) error {
			ev.Node = ""
			return tx.PutEvent(ctx, ev)
		}, func(ev *lambdahost.AsyncEvent) string { return ev.ID })
}

// copyDeliveries copies the messages not yet sent to destinations, with
// no node: the destination's nodes claim and send them.
func copyDeliveries(ctx context.Context, src, dst lambdahost.Store, st *migrateStats) error {
	return copyQueue(ctx, src, dst, "deliveries", &st.deliveries, lambdahost.Tx.ListDeliveries,
		func(ctx context.Context, tx lambdahost.Tx, d *lambdahost.Delivery) error {
			d.Node = ""
			return tx.PutDelivery(ctx, d)
		}, func(d *lambdahost.Delivery) string { return d.ID })
}

// copyQueue copies a queue of src to dst in pages of 500 in ID order,
// through list and put; an item dst has already (a migration run again)
// is kept. count is raised by the items copied.
func copyQueue[T any](ctx context.Context, src, dst lambdahost.Store, what string, count *int,
	list func(lambdahost.Tx, context.Context, string, int) ([]T, error),
	put func(context.Context, lambdahost.Tx, T) error, id func(T) string) error {
	after := ""
	for {
		var page []T
		if err := src.View(ctx, func(tx lambdahost.Tx) (err error) {
			page, err = list(tx, ctx, after, 500)
			return err
		}); err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		if len(page) == 0 {
			return nil
		}
		if err := dst.Update(ctx, func(tx lambdahost.Tx) error {
			for _, it := range page {
				if err := put(ctx, tx, it); err != nil && !errors.Is(err, lambdahost.ErrExists) {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("write %s: %w", what, err)
		}
		*count += len(page)
		after = id(page[len(page)-1])
	}
}

// verify opens the code of every version in dst, as the nodes will (from
// the inline tier or the blob store, unsealed with its key), and checks
// that it hashes to the version's CodeSha256.
func verify(ctx context.Context, dst lambdahost.Store, svc *control.Service, st *migrateStats) error {
	after := lambdahost.FunctionID{}
	var bad []string
	for {
		var versions []*lambdahost.Version
		var page []*lambdahost.Function
		if err := dst.View(ctx, func(tx lambdahost.Tx) error {
			var err error
			if page, err = tx.AllFunctions(ctx, after, 100); err != nil {
				return err
			}
			for _, fn := range page {
				vs, err := tx.ListVersions(ctx, fn.ID, -3, 0)
				if err != nil {
					return err
				}
				versions = append(versions, vs...)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
		for _, v := range versions {
			if v.Code.Digest.IsZero() {
				continue
			}
			sum, err := codeSum(ctx, svc, v.Code)
			switch {
			case err != nil:
				bad = append(bad, fmt.Sprintf("%s: %v", v.ARN(), err))
			case sum != v.Code.Digest:
				bad = append(bad, fmt.Sprintf("%s: code hashes to %s, CodeSha256 is %s", v.ARN(), lambdahost.Code{PackageType: v.Code.PackageType, Digest: sum}.SHA256(), v.Code.SHA256()))
			default:
				st.verified++
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("verify: %d versions do not have their code:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
	return verifyLayers(ctx, dst, svc, st)
}

// verifyLayers opens the code of every layer version and of every layer
// a version uses in dst, and checks that it hashes to its digest.
func verifyLayers(ctx context.Context, dst lambdahost.Store, svc *control.Service, st *migrateStats) error {
	holders := map[lambdahost.CodeRef]string{}
	var refs []lambdahost.CodeRef
	err := dst.View(ctx, func(tx lambdahost.Tx) error {
		return control.CodeUses(ctx, tx, func(u control.CodeUse) error {
			holder := u.Holder
			if u.Layer != "" {
				holder = u.Holder + " (layer " + u.Layer + ")"
			} else if _, ok := lambdahost.ParseLayerVersionARN(u.Holder); !ok {
				return nil // a version's own code: verify checked it
			}
			if _, ok := holders[u.CodeRef]; !ok {
				holders[u.CodeRef] = holder
				refs = append(refs, u.CodeRef)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var bad []string
	for _, r := range refs {
		sum, err := codeSum(ctx, svc, lambdahost.Code{PackageType: lambdahost.PackageZip, Digest: r.Digest, SealedWith: r.SealedWith})
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", holders[r], err))
		case sum != r.Digest:
			bad = append(bad, fmt.Sprintf("%s: layer code hashes to %s, want %s", holders[r], sum, r.Digest))
		default:
			st.verifiedLayers++
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("verify: %d layer packages are not their code:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
	return nil
}

func codeSum(ctx context.Context, svc *control.Service, c lambdahost.Code) (lambdahost.Digest, error) {
	b, err := svc.OpenCode(ctx, c)
	if err != nil {
		return lambdahost.Digest{}, err
	}
	defer b.Close()
	h := sha256.New()
	if _, err := io.Copy(h, b); err != nil {
		return lambdahost.Digest{}, err
	}
	return lambdahost.Digest(h.Sum(nil)), nil
}

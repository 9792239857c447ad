package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/invoke"
	"github.com/lambdahost/lambdahost/postgres"
	fns3 "github.com/lambdahost/lambdahost/s3"
	"github.com/lambdahost/lambdahost/signer"
	"github.com/lambdahost/lambdahost/sqlite"
)

// Defaults of the flags that several nodes sharing a store tune.
const (
	defaultSweepInterval = 2 * time.Second
)

// isPostgres reports whether dsn names a PostgreSQL database.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// backendFlags are the flags that choose where metadata and code live.
type backendFlags struct {
	Database        string
	BlobStore       string
	BlobS3Endpoint  string
	BlobS3PathStyle bool
	BlobS3Region    string
}

// check validates the flags' values.
func (b *backendFlags) check(prefix string) error {
	if b.Database != "" && !isPostgres(b.Database) {
		return fmt.Errorf("--%sdatabase: want a postgres:// URL (or nothing for SQLite in the data dir)", prefix)
	}
	if b.BlobStore != "" {
		if _, _, err := fns3.ParseBlobURL(b.BlobStore); err != nil {
			return fmt.Errorf("--%sblob-store: %w", prefix, err)
		}
	}
	return nil
}

// openStore opens the metadata store: PostgreSQL if database is set, else
// SQLite in dataDir.
func openStore(ctx context.Context, database, dataDir string, logger *slog.Logger) (lambdahost.Store, error) {
	if database == "" {
		return sqlite.Open(ctx, filepath.Join(dataDir, "lambdahost.db"))
	}
	s, err := postgres.Open(ctx, database)
	if err != nil {
		return nil, err
	}
	s.Logger = logger.With(lambdahost.LogKeyComponent, "postgres")
	return s, nil
}

// openBlobs opens the code blob store: in S3 if b.BlobStore is set, else
// on disk in dataDir/code. S3 uploads are spooled in dataDir/spool.
func openBlobs(ctx context.Context, b backendFlags, dataDir string, logger *slog.Logger) (lambdahost.BlobStore, error) {
	if b.BlobStore == "" {
		return disk.NewBlobStore(filepath.Join(dataDir, "code"))
	}
	bucket, prefix, err := fns3.ParseBlobURL(b.BlobStore)
	if err != nil {
		return nil, err
	}
	return fns3.NewBlobStore(ctx, fns3.BlobStoreOptions{
		Options:  fns3.Options{Endpoint: b.BlobS3Endpoint, PathStyle: b.BlobS3PathStyle, Region: b.BlobS3Region, Logger: logger},
		Bucket:   bucket,
		Prefix:   prefix,
		SpoolDir: filepath.Join(dataDir, "spool"),
	})
}

// loadURLKey returns the key that signs code download URLs. Nodes sharing a
// PostgreSQL store share it through the store, sealed with the master key,
// so that a URL one node answered downloads from any; a single node keeps
// it in url.key in its data dir.
func loadURLKey(ctx context.Context, store lambdahost.Store, shared bool, masterKey []byte, dataDir string) ([]byte, error) {
	if !shared {
		return loadOrCreateKey(filepath.Join(dataDir, "url.key"))
	}
	const kind, key = "lambdahost", "url-key"
	aad := []byte("lambdahost url key")
	var sealed []byte
	err := store.Update(ctx, func(tx lambdahost.Tx) error {
		b, err := tx.Record(ctx, kind, key)
		if err == nil {
			sealed = b
			return nil
		}
		if !errors.Is(err, lambdahost.ErrNotFound) {
			return err
		}
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return err
		}
		if sealed, err = lambdahost.Seal(masterKey, k, aad); err != nil {
			return err
		}
		return tx.CreateRecord(ctx, kind, key, sealed)
	})
	if err != nil {
		return nil, fmt.Errorf("url key: %w", err)
	}
	k, err := lambdahost.Unseal(masterKey, sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("url key: %w", err)
	}
	return k, nil
}

// nodeLimiter counts the executor's invocations as node's in the store.
type nodeLimiter struct {
	store lambdahost.Store
	node  string
}

func (l nodeLimiter) Acquire(ctx context.Context, key string, limit int) (bool, error) {
	return l.store.AcquireConcurrency(ctx, l.node, key, limit)
}

func (l nodeLimiter) Release(ctx context.Context, key string) error {
	return l.store.ReleaseConcurrency(ctx, l.node, key)
}

var _ invoke.Limiter = nodeLimiter{}

// watchChanges tells the executor about the functions any node changes,
// until ctx is done, so that environments of old code or configuration
// stop at once on every node. Changes are handed to one worker, which
// coalesces those that arrive while it reads the store.
func watchChanges(ctx context.Context, store lambdahost.Store, svc *control.Service, x *invoke.Executor, logger *slog.Logger) {
	var (
		mu      sync.Mutex
		pending = map[lambdahost.FunctionID]bool{}
		wake    = make(chan struct{}, 1)
	)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			mu.Lock()
			ids := pending
			pending = map[lambdahost.FunctionID]bool{}
			mu.Unlock()
			if ids[lambdahost.FunctionID{}] {
				// Changes may have been missed: check every function
				// that has environments.
				for _, id := range x.Functions() {
					ids[id] = true
				}
				delete(ids, lambdahost.FunctionID{})
			}
			for id := range ids {
				fn, versions, err := svc.FunctionState(ctx, id)
				if err != nil {
					if ctx.Err() == nil {
						logger.Warn("read changed function", lambdahost.LogKeyFunction, id.ARN(), lambdahost.LogKeyError, err)
					}
					continue
				}
				var created time.Time
				if fn != nil {
					created = fn.Created
				}
				x.Sync(id, created, versions)
			}
		}
	}()
	err := store.Watch(ctx, func(id lambdahost.FunctionID) {
		mu.Lock()
		pending[id] = true
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	if err != nil && ctx.Err() == nil {
		logger.Error("watch changes: environments of changed functions stop only when idle", lambdahost.LogKeyError, err)
	}
}

// sweep takes over the work of nodes that are gone, every interval, until
// ctx is done: unsettled versions, interrupted signing jobs, and the
// asynchronous events they did not finish, which replay hands to run.
func sweep(ctx context.Context, interval time.Duration, svc *control.Service, signing *signer.Service, replay func(inv *control.Invocation, ev *lambdahost.AsyncEvent), logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := svc.Sweep(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("take over work of nodes that are gone", lambdahost.LogKeyError, err)
		}
		if err := signing.Sweep(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("fail signing jobs of nodes that are gone", lambdahost.LogKeyError, err)
		}
		if err := svc.ReplayEvents(ctx, replay); err != nil && ctx.Err() == nil {
			logger.Warn("take over asynchronous events of nodes that are gone", lambdahost.LogKeyError, err)
		}
	}
}

// The store keeps a value derived from the master key that sealed its
// secrets, and a node or tool whose key does not derive it refuses to
// work, rather than sealing new secrets under another key or failing to
// open the old ones.
const (
	kindMeta       = "lambdahost"
	keyMasterCheck = "master-key-check"
)

// errMasterKey is the answer for a master key other than the store's.
var errMasterKey = errors.New("the master key does not match the one that sealed this store's secrets: every node sharing a store must be given the same --master-key-file")

// checkMasterKey stores the check value of key if store has none, and
// fails with errMasterKey if it has another.
func checkMasterKey(ctx context.Context, store lambdahost.Store, key []byte) error {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("lambdahost master key check v1"))
	want := m.Sum(nil)
	var got []byte
	err := store.Update(ctx, func(tx lambdahost.Tx) error {
		b, err := tx.Record(ctx, kindMeta, keyMasterCheck)
		if errors.Is(err, lambdahost.ErrNotFound) {
			got = want
			return tx.CreateRecord(ctx, kindMeta, keyMasterCheck, want)
		}
		got = b
		return err
	})
	if err != nil {
		return fmt.Errorf("check master key: %w", err)
	}
	if !hmac.Equal(got, want) {
		return errMasterKey
	}
	return nil
}

package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sqlite"
	_ "modernc.org/sqlite"
)

// putNumbered creates function n with its $LATEST in one transaction.
func putNumbered(tx lambdahost.Tx, t testing.TB, n int) error {
	id := fn(fmt.Sprintf("fn-%06d", n))
	if err := tx.CreateFunction(t.Context(), &lambdahost.Function{ID: id, Created: time.Now().UTC()}); err != nil {
		return err
	}
	return tx.PutVersion(t.Context(), &lambdahost.Version{
		Function: id, Name: lambdahost.VersionLatest, RevisionID: "r", LastModified: time.Now().UTC(),
		Config: lambdahost.Config{Environment: map[string]string{}},
		Code:   lambdahost.Code{Digest: lambdahost.Digest{byte(n), byte(n >> 8)}, Size: int64(n)},
	})
}

func TestOpenReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lambdahost.db")

	t.Run("missing-file", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.db")
		if _, err := sqlite.OpenReadOnly(t.Context(), missing); err == nil {
			t.Fatal("OpenReadOnly of a missing file succeeded")
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("OpenReadOnly created %s (%v)", missing, err)
		}
	})

	w := mustOpen(t, path)
	mustUpdate(t, w, func(tx lambdahost.Tx) error { return putNumbered(tx, t, 1) })

	t.Run("reads-beside-a-writer", func(t *testing.T) {
		r, err := sqlite.OpenReadOnly(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.View(t.Context(), func(tx lambdahost.Tx) error {
			_, err := tx.Function(t.Context(), fn("fn-000001"))
			return err
		}); err != nil {
			t.Errorf("View: %v", err)
		}
		if err := r.Update(t.Context(), func(tx lambdahost.Tx) error { return nil }); err == nil {
			t.Error("Update of a read-only store succeeded")
		}
	})

	t.Run("schema-versions", func(t *testing.T) {
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied) VALUES (9999, 'future', 0)`); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlite.OpenReadOnly(t.Context(), path); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("OpenReadOnly of a newer schema: err=%v, want one saying it is newer", err)
		}
		if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version >= (SELECT max(version) FROM schema_migrations WHERE version < 9999)`); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlite.OpenReadOnly(t.Context(), path); err == nil || !strings.Contains(err.Error(), "older") {
			t.Errorf("OpenReadOnly of an older schema: err=%v, want one saying it is older", err)
		}
	})
}

// TestSnapshotIsConsistent snapshots a database while a writer commits
// transactions that each create a function and its version: the snapshot
// holds every function up to some point, each with its version.
func TestSnapshotIsConsistent(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, filepath.Join(dir, "lambdahost.db"))
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Update(t.Context(), func(tx lambdahost.Tx) error { return putNumbered(tx, t, n) }); err != nil {
				t.Error(err)
				return
			}
			committed.Store(int64(n))
		}
	})
	for committed.Load() < 20 && !t.Failed() {
		time.Sleep(time.Millisecond)
	}
	snap := filepath.Join(dir, "snapshot.db")
	before := committed.Load()
	err := s.Snapshot(t.Context(), snap)
	after := committed.Load()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Snapshot(t.Context(), snap); err == nil {
		t.Error("Snapshot onto an existing file succeeded")
	}

	r, err := sqlite.OpenReadOnly(t.Context(), snap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var fs []*lambdahost.Function
	if err := r.View(t.Context(), func(tx lambdahost.Tx) error {
		var err error
		if fs, err = tx.AllFunctions(t.Context(), lambdahost.FunctionID{}, 0); err != nil {
			return err
		}
		for i, f := range fs {
			if want := fmt.Sprintf("fn-%06d", i+1); f.ID.Name != want {
				return fmt.Errorf("function %d of the snapshot is %s, want %s", i, f.ID.Name, want)
			}
			if _, err := tx.Version(t.Context(), f.ID, lambdahost.VersionLatest); err != nil {
				return fmt.Errorf("%s without its version: %w", f.ID.Name, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := int64(len(fs)); n < before || n > after+1 {
		t.Errorf("snapshot holds %d functions; %d were committed before it and %d after", n, before, after)
	}
	if problems, err := r.IntegrityCheck(t.Context()); err != nil || len(problems) > 0 {
		t.Errorf("IntegrityCheck of the snapshot = %q, %v", problems, err)
	}
}

func TestIntegrityCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lambdahost.db")
	s := mustOpen(t, path)
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return putNumbered(tx, t, 1) })
	if problems, err := s.IntegrityCheck(t.Context()); err != nil || len(problems) > 0 {
		t.Fatalf("IntegrityCheck of a sound database = %q, %v", problems, err)
	}
	// A version whose function is gone, written with foreign keys off.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM functions`); err != nil {
		t.Fatal(err)
	}
	problems, err := s.IntegrityCheck(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "versions") || !strings.Contains(problems[0], "functions") {
		t.Errorf("IntegrityCheck = %q, want one problem naming versions and functions", problems)
	}
}

// mustUpdate runs fn in s.Update and fails the test on an error.
func mustUpdate(tb testing.TB, s lambdahost.Store, fn func(lambdahost.Tx) error) {
	tb.Helper()
	if err := s.Update(tb.Context(), fn); err != nil {
		tb.Fatal(err)
	}
}

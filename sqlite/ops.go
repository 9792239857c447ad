package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/lambdahost/lambdahost/internal/schema"
)

// Operations on a database as a whole, for the operator's tools: read-only
// access beside a running server, a consistent snapshot, and SQLite's own
// integrity checks.

// errStoreReadOnly is returned by Update on a store opened with OpenReadOnly.
var errStoreReadOnly = errors.New("store is open read-only")

// OpenReadOnly opens the existing database at path for reading only, as a
// tool that runs beside a server does (check, backup): it creates nothing,
// applies no migration, and its Update fails. It refuses a database whose
// schema is not the one this program writes: an older one is migrated by
// the next Open, a newer one was written by a newer lambdahost.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	fi, err := os.Stat(path)
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s := &Store{path: path, readOnly: true}
	if err := s.openReadOnly(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open sqlite store %s: %w", path, err), s.Close())
	}
	return s, nil
}

func (s *Store) openReadOnly(ctx context.Context) error {
	if err := s.openRead(ctx); err != nil {
		return err
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, s.read)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if err := schema.Unknown(ms, applied); err != nil {
		return fmt.Errorf("%w: use the lambdahost that wrote it", err)
	}
	for _, m := range ms {
		if !applied[m.Version] {
			return fmt.Errorf("the database schema is older than this program's: it lacks migration %s; start lambdahost serve on it once to migrate it", m.Name)
		}
	}
	return nil
}

// Snapshot writes a transactionally consistent copy of the database to the
// new file dst with VACUUM INTO, and flushes it to disk. It runs beside
// writers: the copy is the database as one read transaction sees it, and
// writers are not blocked while it is made (the database is in WAL mode).
// The copy is compacted and uses a rollback journal until it is opened
// with Open. dst must not exist.
func (s *Store) Snapshot(ctx context.Context, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("snapshot %s: %s exists", s.path, dst)
	}
	// VACUUM INTO writes only to dst, but SQLite refuses it on a
	// connection that is query_only, as the read pool's are.
	db, err := sql.Open(driverName, dsn(s.path, url.Values{
		"_pragma": {"busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")"},
	}))
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", s.path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		os.Remove(dst)
		return fmt.Errorf("snapshot %s: %w", s.path, err)
	}
	f, err := os.Open(dst)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("snapshot %s: sync: %w", s.path, err)
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity_check, which reads every page,
// row and index entry, and foreign_key_check, which finds rows whose
// function is gone. It returns the problems found (none when the database
// is intact) and an error only if the checks could not run.
func (s *Store) IntegrityCheck(ctx context.Context) ([]string, error) {
	var problems []string
	rows, err := s.read.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return nil, fmt.Errorf("integrity check: %w", err)
	}
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			rows.Close()
			return nil, fmt.Errorf("integrity check: %w", err)
		}
		if msg != "ok" {
			problems = append(problems, "database: "+msg)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("integrity check: %w", err)
	}
	rows, err = s.read.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return nil, fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			table, parent string
			rowid         sql.NullInt64
			fk            int64
		)
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return nil, fmt.Errorf("foreign key check: %w", err)
		}
		problems = append(problems, fmt.Sprintf("database: a row of %s (rowid %d) refers to a missing row of %s", table, rowid.Int64, parent))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("foreign key check: %w", err)
	}
	return problems, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// driverName is the name modernc.org/sqlite registers with database/sql.
const driverName = "sqlite"

// busyTimeout is how long a connection waits for a lock another process
// holds (another Store on the same file, a backup tool) before it fails
// with SQLITE_BUSY. Within one Store writers queue for the single write
// connection instead, so they never wait here.
const busyTimeout = 10 * time.Second

var _ lambdahost.Store = (*Store)(nil)

// Store is a lambdahost.Store on a SQLite database file. It is safe for
// concurrent use. Create it with Open.
type Store struct {
	path string
	// write has a single connection: every Update runs on it, one at a time.
	write *sql.DB
	// read is a pool of query-only connections for View.
	read *sql.DB
	// readOnly says the store was opened with OpenReadOnly: write is nil.
	readOnly bool
	// writeStmts and readStmts cache prepared statements, so SQLite parses
	// each query once per connection instead of once per call.
	writeStmts, readStmts stmtCache

	// coord holds what the store coordinates in memory: the code lock,
	// concurrency counts and watchers (see cluster.go).
	coord coordinator

	closeOnce sync.Once
	closeErr  error
}

// Open opens the SQLite database at path, creating the file if it does not
// exist, and applies the migrations it has not applied yet. path must name a
// file: in-memory databases are not supported, because the read and write
// connections must share the database. The caller must Close the Store.
func Open(ctx context.Context, path string) (*Store, error) {
	s := &Store{path: path}
	if err := s.open(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open sqlite store %s: %w", path, err), s.Close())
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	// Every pooled connection runs the DSN's pragmas when it is opened, so a
	// connection that database/sql replaces gets them too.
	w, err := sql.Open(driverName, dsn(s.path, url.Values{
		"_pragma": {
			"busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")",
			"journal_mode(WAL)",
			"synchronous(FULL)",
			"foreign_keys(ON)",
		},
		// BEGIN IMMEDIATE takes the write lock when the transaction starts,
		// so a transaction that has read cannot fail later for want of it.
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return err
	}
	s.write = w
	s.writeStmts.db = w
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)

	// journal_mode(WAL) is silently ignored where WAL cannot work (some
	// network file systems); refuse to run with weaker guarantees.
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("journal mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	if err := migrate(ctx, w); err != nil {
		return err
	}
	// One process serves a SQLite store at a time: the nodes registered
	// by earlier ones are gone, and the work they claimed is free.
	if _, err := w.ExecContext(ctx, `DELETE FROM nodes`); err != nil {
		return fmt.Errorf("forget earlier nodes: %w", err)
	}

	return s.openRead(ctx)
}

// openRead opens the pool of query-only connections that View uses.
func (s *Store) openRead(ctx context.Context) error {
	r, err := sql.Open(driverName, dsn(s.path, url.Values{
		"_pragma": {
			"busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")",
			"foreign_keys(ON)",
			"query_only(1)",
		},
	}))
	if err != nil {
		return err
	}
	s.read = r
	s.readStmts.db = r
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		return fmt.Errorf("open read pool: %w", err)
	}
	return nil
}

// dsn returns the modernc.org/sqlite data source name of the file at path
// with the driver parameters q.
func dsn(path string, q url.Values) string {
	// A file: URI, so that a path holding '?' or '#' is not taken for the
	// query; SQLite decodes the escapes.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	errs := []error{s.readStmts.close(), s.writeStmts.close()}
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		// Let SQLite refresh the statistics its query planner uses, as its
		// documentation recommends before closing a connection.
		_, err := s.write.Exec("PRAGMA optimize")
		errs = append(errs, err, s.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite store %s: %w", s.path, err)
	}
	return nil
}

// Update runs fn in a read-write transaction. Update transactions run one
// at a time and hold the database's write lock from their start, so they are
// serializable. If fn returns an error, or panics, the transaction is rolled
// back and the error returned unchanged (the panic continues). Otherwise
// Update commits, and returns once the commit is durable. If ctx is done
// before the commit, nothing is committed and Update returns an error.
//
// fn runs on the one write connection, so it must not call Update itself:
// that would wait forever. It may call View, which sees only what is
// committed.
func (s *Store) Update(ctx context.Context, fn func(lambdahost.Tx) error) error {
	if s.readOnly {
		return fmt.Errorf("update: %w", errStoreReadOnly)
	}
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update: begin: %w", err)
	}
	defer s.writeStmts.prepareMissing(context.WithoutCancel(ctx))
	t := &tx{tx: sqlTx, stmts: &s.writeStmts}
	if err := run(t, fn); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("update: commit: %w", err)
	}
	s.coord.publish(t.changed)
	return nil
}

// View runs fn in a read-only transaction that sees one snapshot of the
// database: the one current at its first read. The transaction's methods
// that write return an error. View returns fn's error unchanged.
func (s *Store) View(ctx context.Context, fn func(lambdahost.Tx) error) error {
	sqlTx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("view: begin: %w", err)
	}
	defer s.readStmts.prepareMissing(context.WithoutCancel(ctx))
	if err := run(&tx{tx: sqlTx, readOnly: true, stmts: &s.readStmts}, fn); err != nil {
		return err
	}
	// Ending a read transaction can fail only if the connection is lost,
	// after fn has seen what it needed.
	if err := sqlTx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("view: end: %w", err)
	}
	return nil
}

// run calls fn on t and rolls the transaction back if fn fails or panics.
func run(t *tx, fn func(lambdahost.Tx) error) (err error) {
	sqlTx := t.tx
	done := false
	defer func() {
		if !done {
			// fn panicked: give the connection back before the panic unwinds.
			_ = sqlTx.Rollback()
		}
	}()
	err = fn(t)
	done = true
	if err != nil {
		// The rollback's own error is of no use to the caller: the
		// connection is discarded if it cannot roll back.
		_ = sqlTx.Rollback()
	}
	return err
}

// tx implements lambdahost.Tx on a database/sql transaction.
type tx struct {
	tx       *sql.Tx
	readOnly bool
	stmts    *stmtCache
	// changed holds the functions the transaction changed, for Watch.
	changed map[lambdahost.FunctionID]struct{}
}

// change notes that the transaction changed function id.
func (t *tx) change(id lambdahost.FunctionID) {
	if t.changed == nil {
		t.changed = map[lambdahost.FunctionID]struct{}{}
	}
	t.changed[id] = struct{}{}
}

// stmtCache holds one prepared statement per query text for a *sql.DB.
//
// A statement is prepared only between transactions: the write pool has a
// single connection, which a running transaction holds, so preparing from
// inside one would wait for that connection forever. A query missing from
// the cache runs unprepared and is prepared once its transaction has ended.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

// get returns the prepared statement for query, or nil after noting the
// query for prepareMissing.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st
	}
	if c.pending == nil {
		c.pending = map[string]bool{}
	}
	c.pending[query] = true
	return nil
}

// prepareMissing prepares the queries get noted. It must be called outside
// any transaction on c.db. A query that fails to prepare stays unprepared.
func (c *stmtCache) prepareMissing(ctx context.Context) {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for query := range pending {
		st, err := c.db.PrepareContext(ctx, query)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		if _, dup := c.m[query]; dup {
			st.Close()
		} else {
			c.m[query] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmts.get(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmts.get(query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmts.get(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// errReadOnly is returned by the writing methods of a View transaction.
var errReadOnly = errors.New("read-only transaction")

// writable returns errReadOnly in a View transaction.
func (t *tx) writable() error {
	if t.readOnly {
		return errReadOnly
	}
	return nil
}

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isUniqueViolation reports whether err is a primary key or unique
// constraint failure.
func isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// isForeignKeyViolation reports whether err is a foreign key failure: the
// function a version or alias belongs to does not exist.
func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// sqlLimit turns a limit of the Tx interface into SQLite's: -1, no limit,
// for zero or less.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// fromTime converts t to Unix nanoseconds, the zero time to 0. Times outside
// the years 1678 to 2262 cannot be stored.
func fromTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// toTime converts Unix nanoseconds back to a UTC time, 0 to the zero time.
func toTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Size returns the size of the database file and its write-ahead log:
// it makes the store a lambdahost.Sizer.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("size of store: %w", err)
		}
		n += fi.Size()
	}
	return n, nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lambdahost/lambdahost"
)

// Defaults of the connection pools, unless the DSN sets pool_max_conns.
const (
	// DefaultMaxConns bounds the connections for transactions.
	DefaultMaxConns = 16
	// DefaultMaxLockConns bounds the connections that hold the code lock
	// shared (one per operation committing code at that moment).
	DefaultMaxLockConns = 32
)

// maxAttempts bounds how many times Update runs a transaction that keeps
// failing to serialize.
const maxAttempts = 50

var _ lambdahost.Store = (*Store)(nil)

// Store is a lambdahost.Store on a PostgreSQL database, which any number of
// lambdahost processes may share. It is safe for concurrent use. Create it
// with Open.
type Store struct {
	cfg *pgxpool.Config
	// pool runs transactions; locks holds the code lock (see LockCode),
	// apart so that holders of the lock waiting for a transaction cannot
	// take every connection.
	pool, locks *pgxpool.Pool

	// Logger receives what Watch cannot return: a lost connection, which
	// it reestablishes. If nil, slog.Default is used.
	Logger *slog.Logger

	closeOnce sync.Once
}

// Open connects to the database dsn (a postgres:// URL or key=value
// string, as libpq takes), applies the migrations it has not applied yet
// and returns the Store. Several processes may Open the same database at
// once: one applies the migrations while the others wait for it. The
// caller must Close the Store.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The DSN may hold a password: name only the error.
		return nil, fmt.Errorf("open postgres store: parse connection string: %w", redact(err))
	}
	if !hasParam(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "lambdahost"
	s := &Store{cfg: cfg}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	lockCfg := cfg.Copy()
	lockCfg.MaxConns = DefaultMaxLockConns
	lockCfg.MinConns = 0
	if s.locks, err = pgxpool.NewWithConfig(ctx, lockCfg); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := migrate(ctx, s.pool); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	return s, nil
}

// redact drops the connection string from a parse error, keeping what
// went wrong.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New(pe.Error()[len("cannot parse `"+pe.ConnString+"`: "):])
	}
	return err
}

// Close closes the connections. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.locks.Close()
		s.pool.Close()
	})
	return nil
}

// Update runs fn in a SERIALIZABLE transaction and commits it. If the
// database reports a serialization failure or a deadlock, the transaction
// is rolled back and fn runs again in a new one, after a short random
// wait, so that the losers of a race see the winner's write; fn must start
// from scratch each time. If fn returns an error, or panics, the
// transaction is rolled back and the error returned unchanged. Update
// returns once the commit is durable (as durable as the server's
// synchronous_commit makes it).
func (s *Store) Update(ctx context.Context, fn func(lambdahost.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.run(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable}, false, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		wait := time.Duration(rand.Int64N(int64(min(attempt, 10)) * int64(2*time.Millisecond)))
		select {
		case <-ctx.Done():
			return fmt.Errorf("update: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
}

// View runs fn in a read-only REPEATABLE READ transaction, which sees one
// snapshot of the database: the one current at its first statement.
func (s *Store) View(ctx context.Context, fn func(lambdahost.Tx) error) error {
	return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, true, fn)
}

// retryError marks a failure to serialize, so that Update knows to run fn
// again whatever fn made of the error.
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var re *retryError
	return errors.As(err, &re)
}

// isRetryable reports whether err is a serialization failure or deadlock.
func isRetryable(err error) bool {
	c := pgCode(err)
	return c == "40001" || c == "40P01"
}

func (s *Store) run(ctx context.Context, opts pgx.TxOptions, readOnly bool, fn func(lambdahost.Tx) error) (err error) {
	op := "update"
	if readOnly {
		op = "view"
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ptx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", op, err)
	}
	t := &tx{tx: ptx, readOnly: readOnly}
	done := false
	defer func() {
		if !done {
			// fn panicked: give the connection back before the panic unwinds.
			_ = ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	err = fn(t)
	done = true
	if err == nil && t.failed != nil {
		// A statement failed and fn carried on: PostgreSQL has aborted
		// the transaction, so its work cannot commit.
		err = fmt.Errorf("%s: %w", op, t.failed)
	}
	if err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		if t.failed != nil && isRetryable(t.failed) {
			return &retryError{err}
		}
		return err
	}
	if readOnly {
		if err := ptx.Rollback(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("view: end: %w", err)
		}
		return nil
	}
	if err := ctx.Err(); err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		return fmt.Errorf("update: %w", err)
	}
	if err := ptx.Commit(ctx); err != nil {
		if isRetryable(err) {
			return &retryError{fmt.Errorf("update: commit: %w", err)}
		}
		return fmt.Errorf("update: commit: %w", err)
	}
	return nil
}

// tx implements lambdahost.Tx on a pgx transaction.
type tx struct {
	tx       pgx.Tx
	readOnly bool
	// failed is the first error of a statement: PostgreSQL aborts the
	// transaction then, and Update must not report success.
	failed error
}

// errReadOnly is returned by the writing methods of a View transaction.
var errReadOnly = errors.New("read-only transaction")

func (t *tx) writable() error {
	if t.readOnly {
		return errReadOnly
	}
	return nil
}

// note remembers the first statement error.
func (t *tx) note(err error) error {
	if err != nil && t.failed == nil {
		t.failed = err
	}
	return err
}

func (t *tx) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.tx.Exec(ctx, sql, args...)
	return tag, t.note(err)
}

func (t *tx) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := t.tx.Query(ctx, sql, args...)
	return rows, t.note(err)
}

// queryRow runs sql and scans its one row into dest; pgx.ErrNoRows if
// there is none.
func (t *tx) queryRow(ctx context.Context, sql string, args []any, dest ...any) error {
	err := t.tx.QueryRow(ctx, sql, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return t.note(err)
}

// collect reads and closes rows with scan, noting a failure.
func collect[T any](t *tx, rows pgx.Rows, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	out, err := pgx.CollectRows(rows, scan)
	return out, t.note(err)
}

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// sqlLimit turns a limit of the Tx interface into PostgreSQL's: NULL, no
// limit, for zero or less.
func sqlLimit(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	n := int64(limit)
	return &n
}

// fromTime converts t to Unix nanoseconds, the zero time to 0.
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

// Size returns the size of the database (pg_database_size): it makes the
// store a lambdahost.Sizer.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
		return 0, fmt.Errorf("size of store: %w", err)
	}
	return n, nil
}

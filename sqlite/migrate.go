package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/lambdahost/lambdahost/internal/schema"
)

// migrationFS holds the schema migrations (see schema.Migration).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one schema migration.
type migration = schema.Migration

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) { return schema.Load(migrationFS) }

// migrate applies the migrations db has not applied yet, each in its own
// transaction together with its row in schema_migrations, so that a crash
// leaves every migration applied entirely or not at all. Two processes may
// migrate the same file at once: each migration's transaction starts with the
// write lock and checks again whether it is needed.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name    TEXT    NOT NULL,
		applied INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, db)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := schema.Unknown(ms, applied); err != nil {
		return err
	}
	// Every migration not applied yet, whatever its number: one merged after
	// a higher-numbered one was applied still runs.
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if err := applyMigration(ctx, db, m); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

// appliedVersions returns the versions in schema_migrations.
func appliedVersions(ctx context.Context, db *sql.DB) (map[int64]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) (err error) {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Rollback())
		}
	}()
	var n int
	if err := t.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		// Another process applied it since we looked.
		return t.Rollback()
	}
	if _, err := t.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixNano()); err != nil {
		return err
	}
	return t.Commit()
}

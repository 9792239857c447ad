package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lambdahost/lambdahost"
)

// Record implements lambdahost.Tx.
func (t *tx) Record(ctx context.Context, kind, key string) ([]byte, error) {
	var v []byte
	err := t.queryRow(ctx, `SELECT value FROM records WHERE kind = $1 AND key = $2`, []any{kind, key}, &v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("record %s %s: %w", kind, key, lambdahost.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("record %s %s: %w", kind, key, err)
	}
	return v, nil
}

// CreateRecord implements lambdahost.Tx.
func (t *tx) CreateRecord(ctx context.Context, kind, key string, value []byte) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("create record %s %s: %w", kind, key, err)
	}
	tag, err := t.exec(ctx, `INSERT INTO records (kind, key, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		kind, key, notNull(value))
	switch {
	case err != nil:
		return fmt.Errorf("create record %s %s: %w", kind, key, err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("create record %s %s: %w", kind, key, lambdahost.ErrExists)
	}
	return nil
}

// PutRecord implements lambdahost.Tx.
func (t *tx) PutRecord(ctx context.Context, kind, key string, value []byte) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put record %s %s: %w", kind, key, err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO records (kind, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value`, kind, key, notNull(value)); err != nil {
		return fmt.Errorf("put record %s %s: %w", kind, key, err)
	}
	return nil
}

// DeleteRecord implements lambdahost.Tx.
func (t *tx) DeleteRecord(ctx context.Context, kind, key string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete record %s %s: %w", kind, key, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM records WHERE kind = $1 AND key = $2`, kind, key); err != nil {
		return fmt.Errorf("delete record %s %s: %w", kind, key, err)
	}
	return nil
}

// ListRecords implements lambdahost.Tx. Keys are COLLATE "C", so the keys
// with a prefix are one range of the primary key: the scan starts at the
// later of prefix and after and stops at the first key without the prefix.
func (t *tx) ListRecords(ctx context.Context, kind, prefix, after string, limit int) ([]lambdahost.Record, error) {
	from, op := prefix, ">="
	if after >= prefix {
		from, op = after, ">"
	}
	rows, err := t.query(ctx, `SELECT key, value FROM records WHERE kind = $1 AND key `+op+` $2 ORDER BY key`, kind, from)
	if err != nil {
		return nil, fmt.Errorf("list records %s: %w", kind, err)
	}
	defer rows.Close()
	out := []lambdahost.Record{}
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		var r lambdahost.Record
		if err := rows.Scan(&r.Key, &r.Value); err != nil {
			return nil, t.note(fmt.Errorf("list records %s: %w", kind, err))
		}
		if !strings.HasPrefix(r.Key, prefix) {
			break
		}
		out = append(out, r)
	}
	rows.Close()
	if err := t.note(rows.Err()); err != nil {
		return nil, fmt.Errorf("list records %s: %w", kind, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func notNull(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

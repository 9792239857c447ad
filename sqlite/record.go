package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// Record implements lambdahost.Tx.
func (t *tx) Record(ctx context.Context, kind, key string) ([]byte, error) {
	var v []byte
	err := t.queryRow(ctx, `SELECT value FROM records WHERE kind = ? AND key = ?`, kind, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
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
	_, err := t.exec(ctx, `INSERT INTO records (kind, key, value) VALUES (?, ?, ?)`, kind, key, notNull(value))
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create record %s %s: %w", kind, key, lambdahost.ErrExists)
	case err != nil:
		return fmt.Errorf("create record %s %s: %w", kind, key, err)
	}
	return nil
}

// PutRecord implements lambdahost.Tx.
func (t *tx) PutRecord(ctx context.Context, kind, key string, value []byte) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put record %s %s: %w", kind, key, err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO records (kind, key, value) VALUES (?, ?, ?)
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
	if _, err := t.exec(ctx, `DELETE FROM records WHERE kind = ? AND key = ?`, kind, key); err != nil {
		return fmt.Errorf("delete record %s %s: %w", kind, key, err)
	}
	return nil
}

// ListRecords implements lambdahost.Tx. The primary key's order is
// bytewise (BINARY collation), so the records with a prefix are one range:
// the scan starts at the later of prefix and after and stops at the first
// key without the prefix.
func (t *tx) ListRecords(ctx context.Context, kind, prefix, after string, limit int) ([]lambdahost.Record, error) {
	from, op := prefix, ">="
	if after >= prefix {
		from, op = after, ">"
	}
	rows, err := t.query(ctx, `SELECT key, value FROM records WHERE kind = ? AND key `+op+` ? ORDER BY key`, kind, from)
	if err != nil {
		return nil, fmt.Errorf("list records %s: %w", kind, err)
	}
	defer rows.Close()
	var out []lambdahost.Record
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		var r lambdahost.Record
		if err := rows.Scan(&r.Key, &r.Value); err != nil {
			return nil, fmt.Errorf("list records %s: %w", kind, err)
		}
		if !strings.HasPrefix(r.Key, prefix) {
			break
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list records %s: %w", kind, err)
	}
	return out, nil
}

func notNull(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// RecordKinds returns the kinds of the records tx's store holds, in
// bytewise order, for a tool that copies them all (migrate): the Tx
// interface lists records of one kind. tx must be a transaction of a
// sqlite Store.
func RecordKinds(ctx context.Context, ltx lambdahost.Tx) ([]string, error) {
	t, ok := ltx.(*tx)
	if !ok {
		return nil, errors.New("record kinds: not a sqlite transaction")
	}
	rows, err := t.query(ctx, `SELECT DISTINCT kind FROM records ORDER BY kind`)
	if err != nil {
		return nil, fmt.Errorf("record kinds: %w", err)
	}
	defer rows.Close()
	var kinds []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("record kinds: %w", err)
		}
		kinds = append(kinds, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record kinds: %w", err)
	}
	return kinds, nil
}

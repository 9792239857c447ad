package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lambdahost/lambdahost"
)

// PutCode implements lambdahost.Tx.
func (t *tx) PutCode(ctx context.Context, d lambdahost.Digest, data []byte) error {
	if t.readOnly {
		return fmt.Errorf("put code %s: %w", d, errReadOnly)
	}
	if _, err := t.exec(ctx, `INSERT INTO code (digest, data) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING`, d[:], data); err != nil {
		return fmt.Errorf("put code %s: %w", d, err)
	}
	return nil
}

// Code implements lambdahost.Tx.
func (t *tx) Code(ctx context.Context, d lambdahost.Digest) ([]byte, error) {
	var data []byte
	err := t.queryRow(ctx, `SELECT data FROM code WHERE digest = ?`, d[:]).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get code %s: %w", d, lambdahost.ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get code %s: %w", d, err)
	}
	return data, nil
}

// DeleteUnreferencedCode implements lambdahost.Tx.
func (t *tx) DeleteUnreferencedCode(ctx context.Context, referenced map[lambdahost.Digest]bool) (int, error) {
	if t.readOnly {
		return 0, fmt.Errorf("delete unreferenced code: %w", errReadOnly)
	}
	rows, err := t.query(ctx, `SELECT digest FROM code`)
	if err != nil {
		return 0, fmt.Errorf("delete unreferenced code: %w", err)
	}
	var doomed [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return 0, fmt.Errorf("delete unreferenced code: %w", err)
		}
		if d, err := toDigest(b); err != nil || !referenced[d] {
			doomed = append(doomed, b)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("delete unreferenced code: %w", err)
	}
	for _, b := range doomed {
		if _, err := t.exec(ctx, `DELETE FROM code WHERE digest = ?`, b); err != nil {
			return 0, fmt.Errorf("delete unreferenced code: %w", err)
		}
	}
	return len(doomed), nil
}

// ListCode implements lambdahost.Tx.
func (t *tx) ListCode(ctx context.Context) ([]lambdahost.StoredCode, error) {
	rows, err := t.query(ctx, `SELECT digest, length(data) FROM code ORDER BY digest`)
	if err != nil {
		return nil, fmt.Errorf("list code: %w", err)
	}
	defer rows.Close()
	var out []lambdahost.StoredCode
	for rows.Next() {
		var (
			b    []byte
			size int64
		)
		if err := rows.Scan(&b, &size); err != nil {
			return nil, fmt.Errorf("list code: %w", err)
		}
		d, err := toDigest(b)
		if err != nil {
			return nil, fmt.Errorf("list code: %w", err)
		}
		out = append(out, lambdahost.StoredCode{Address: d, Size: size})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list code: %w", err)
	}
	return out, nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/lambdahost/lambdahost"
)

// PutCode implements lambdahost.Tx.
func (t *tx) PutCode(ctx context.Context, d lambdahost.Digest, data []byte) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put code %s: %w", d, err)
	}
	if data == nil {
		data = []byte{}
	}
	if _, err := t.exec(ctx, `INSERT INTO code (digest, data) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING`, d[:], data); err != nil {
		return fmt.Errorf("put code %s: %w", d, err)
	}
	return nil
}

// Code implements lambdahost.Tx.
func (t *tx) Code(ctx context.Context, d lambdahost.Digest) ([]byte, error) {
	var data []byte
	err := t.queryRow(ctx, `SELECT data FROM code WHERE digest = $1`, []any{d[:]}, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get code %s: %w", d, lambdahost.ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get code %s: %w", d, err)
	}
	return data, nil
}

// DeleteUnreferencedCode implements lambdahost.Tx.
func (t *tx) DeleteUnreferencedCode(ctx context.Context, referenced map[lambdahost.Digest]bool) (int, error) {
	if err := t.writable(); err != nil {
		return 0, fmt.Errorf("delete unreferenced code: %w", err)
	}
	keep := make([][]byte, 0, len(referenced))
	for d, ok := range referenced {
		if ok {
			keep = append(keep, d[:])
		}
	}
	tag, err := t.exec(ctx, `DELETE FROM code WHERE NOT (digest = ANY($1::bytea[]))`, keep)
	if err != nil {
		return 0, fmt.Errorf("delete unreferenced code: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ListCode implements lambdahost.Tx.
func (t *tx) ListCode(ctx context.Context) ([]lambdahost.StoredCode, error) {
	rows, err := t.query(ctx, `SELECT digest, length(data) FROM code ORDER BY digest`)
	if err != nil {
		return nil, fmt.Errorf("list code: %w", err)
	}
	out, err := collect(t, rows, func(r pgx.CollectableRow) (lambdahost.StoredCode, error) {
		var (
			b    []byte
			size int64
		)
		if err := r.Scan(&b, &size); err != nil {
			return lambdahost.StoredCode{}, err
		}
		d, err := toDigest(b)
		return lambdahost.StoredCode{Address: d, Size: size}, err
	})
	if err != nil {
		return nil, fmt.Errorf("list code: %w", err)
	}
	return out, nil
}

package lambdahost

import (
	"context"
	"encoding/json"
	"fmt"
)

// The services keep their small documents (code signing configs, signing
// profiles and jobs, KMS keys) as JSON records of the store (see
// Tx.Record); these read and write them.

// GetRecord reads record (kind, key) as a T. A missing record is an error
// wrapping ErrNotFound, which callers turn into their own not-found answer.
func GetRecord[T any](ctx context.Context, tx Tx, kind, key string) (*T, error) {
	b, err := tx.Record(ctx, kind, key)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", kind, key, err)
	}
	return v, nil
}

// PutRecord stores v as record (kind, key), replacing what is there.
func PutRecord(ctx context.Context, tx Tx, kind, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", kind, key, err)
	}
	return tx.PutRecord(ctx, kind, key, b)
}

// CreateRecord is PutRecord for a record that must not exist yet: an error
// wrapping ErrExists if it does.
func CreateRecord(ctx context.Context, tx Tx, kind, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", kind, key, err)
	}
	return tx.CreateRecord(ctx, kind, key, b)
}

// ScanRecords reads kind's records under prefix, in key order, from the
// one after prefix+token, decodes them as T and returns up to limit that
// keep accepts (never nil), and the token of the last one answered if more
// may follow. Records are read 100 at a time, so a filter that keeps few
// does not read the whole kind into memory at once.
func ScanRecords[T any](ctx context.Context, tx Tx, kind, prefix, token string, limit int, keep func(*T) bool, tokenOf func(*T) string) ([]*T, string, error) {
	out := []*T{}
	after := ""
	if token != "" {
		after = prefix + token
	}
	for {
		recs, err := tx.ListRecords(ctx, kind, prefix, after, 100)
		if err != nil {
			return nil, "", err
		}
		for _, r := range recs {
			v := new(T)
			if err := json.Unmarshal(r.Value, v); err != nil {
				return nil, "", fmt.Errorf("decode %s %s: %w", kind, r.Key, err)
			}
			if !keep(v) {
				continue
			}
			if len(out) == limit {
				return out, tokenOf(out[len(out)-1]), nil
			}
			out = append(out, v)
		}
		if len(recs) < 100 {
			return out, "", nil
		}
		after = recs[len(recs)-1].Key
	}
}

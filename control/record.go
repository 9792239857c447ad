package control

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/lambdahost/lambdahost"
)

// Control keeps its small documents (code signing configs, and whatever
// else a Lambda feature needs) as JSON records of the store; these are
// its shorthands for the root package's record helpers.

// getRecord is lambdahost.GetRecord: a missing record is an error wrapping
// lambdahost.ErrNotFound.
func getRecord[T any](ctx context.Context, tx lambdahost.Tx, kind, key string) (*T, error) {
	return lambdahost.GetRecord[T](ctx, tx, kind, key)
}

// decodeRecord decodes a record that ListRecords answered as a T.
func decodeRecord[T any](r lambdahost.Record) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(r.Value, v); err != nil {
		return nil, fmt.Errorf("decode record %s: %w", r.Key, err)
	}
	return v, nil
}

// putRecord is lambdahost.PutRecord.
func putRecord(ctx context.Context, tx lambdahost.Tx, kind, key string, v any) error {
	return lambdahost.PutRecord(ctx, tx, kind, key, v)
}

// createRecord is lambdahost.CreateRecord: an error wrapping
// lambdahost.ErrExists if the record exists.
func createRecord(ctx context.Context, tx lambdahost.Tx, kind, key string, v any) error {
	return lambdahost.CreateRecord(ctx, tx, kind, key, v)
}

// scanRecords is lambdahost.ScanRecords.
func scanRecords[T any](ctx context.Context, tx lambdahost.Tx, kind, prefix, token string, limit int, keep func(*T) bool, tokenOf func(*T) string) ([]*T, string, error) {
	return lambdahost.ScanRecords(ctx, tx, kind, prefix, token, limit, keep, tokenOf)
}

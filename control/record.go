package control

import (
	"context"

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

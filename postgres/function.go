package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lambdahost/lambdahost"
)

// Function implements lambdahost.Tx.
func (t *tx) Function(ctx context.Context, id lambdahost.FunctionID) (*lambdahost.Function, error) {
	var (
		created  int64
		tags     []byte
		reserved *int32
	)
	f := &lambdahost.Function{ID: id}
	err := t.queryRow(ctx, `
		SELECT created, last_version, changes, published_changes, tags, reserved_concurrency
		FROM functions WHERE account = $1 AND region = $2 AND name = $3`,
		[]any{id.Account, id.Region, id.Name},
		&created, &f.LastVersion, &f.Changes, &f.PublishedChanges, &tags, &reserved)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get function %s: %w", id.ARN(), lambdahost.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get function %s: %w", id.ARN(), err)
	}
	f.Created = toTime(created)
	if reserved != nil {
		n := int(*reserved)
		f.ReservedConcurrency = &n
	}
	if tags != nil {
		if err := json.Unmarshal(tags, &f.Tags); err != nil {
			return nil, fmt.Errorf("get function %s: decode tags: %w", id.ARN(), err)
		}
	}
	return f, nil
}

// AllFunctions implements lambdahost.Tx. The row-value comparison walks
// the primary key.
func (t *tx) AllFunctions(ctx context.Context, after lambdahost.FunctionID, limit int) ([]*lambdahost.Function, error) {
	rows, err := t.query(ctx, `
		SELECT account, region, name, created, last_version, changes, published_changes, tags, reserved_concurrency
		FROM functions
		WHERE (account, region, name) > ($1, $2, $3)
		ORDER BY account, region, name
		LIMIT $4`,
		after.Account, after.Region, after.Name, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list all functions: %w", err)
	}
	fs, err := collect(t, rows, func(r pgx.CollectableRow) (*lambdahost.Function, error) {
		var (
			f        lambdahost.Function
			created  int64
			tags     []byte
			reserved *int32
		)
		if err := r.Scan(&f.ID.Account, &f.ID.Region, &f.ID.Name, &created, &f.LastVersion, &f.Changes, &f.PublishedChanges, &tags, &reserved); err != nil {
			return nil, err
		}
		f.Created = toTime(created)
		if reserved != nil {
			n := int(*reserved)
			f.ReservedConcurrency = &n
		}
		if tags != nil {
			if err := json.Unmarshal(tags, &f.Tags); err != nil {
				return nil, fmt.Errorf("%s: decode tags: %w", f.ID.ARN(), err)
			}
		}
		return &f, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list all functions: %w", err)
	}
	return fs, nil
}

// CreateFunction implements lambdahost.Tx. A function that exists is
// found by ON CONFLICT rather than by a failed insert, which would abort
// the transaction.
func (t *tx) CreateFunction(ctx context.Context, f *lambdahost.Function) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("create function %s: %w", f.ID.ARN(), err)
	}
	tags, err := encodeTags(f.Tags)
	if err != nil {
		return fmt.Errorf("create function %s: %w", f.ID.ARN(), err)
	}
	tag, err := t.exec(ctx, `
		INSERT INTO functions (account, region, name, created, last_version, changes, published_changes, tags, reserved_concurrency)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT DO NOTHING`,
		f.ID.Account, f.ID.Region, f.ID.Name, fromTime(f.Created), f.LastVersion, f.Changes, f.PublishedChanges, tags,
		nullInt(f.ReservedConcurrency))
	if err != nil {
		return fmt.Errorf("create function %s: %w", f.ID.ARN(), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("create function %s: %w", f.ID.ARN(), lambdahost.ErrExists)
	}
	return nil
}

// PutFunction implements lambdahost.Tx.
func (t *tx) PutFunction(ctx context.Context, f *lambdahost.Function) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put function %s: %w", f.ID.ARN(), err)
	}
	tags, err := encodeTags(f.Tags)
	if err != nil {
		return fmt.Errorf("put function %s: %w", f.ID.ARN(), err)
	}
	tag, err := t.exec(ctx, `
		UPDATE functions
		SET created = $1, last_version = $2, changes = $3, published_changes = $4, tags = $5, reserved_concurrency = $6
		WHERE account = $7 AND region = $8 AND name = $9`,
		fromTime(f.Created), f.LastVersion, f.Changes, f.PublishedChanges, tags, nullInt(f.ReservedConcurrency),
		f.ID.Account, f.ID.Region, f.ID.Name)
	if err := notFoundIfNone(tag, err); err != nil {
		return fmt.Errorf("put function %s: %w", f.ID.ARN(), err)
	}
	return nil
}

// DeleteFunction implements lambdahost.Tx: the foreign keys delete the
// function's versions, aliases and events.
func (t *tx) DeleteFunction(ctx context.Context, id lambdahost.FunctionID) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete function %s: %w", id.ARN(), err)
	}
	tag, err := t.exec(ctx, `DELETE FROM functions WHERE account = $1 AND region = $2 AND name = $3`,
		id.Account, id.Region, id.Name)
	if err := notFoundIfNone(tag, err); err != nil {
		return fmt.Errorf("delete function %s: %w", id.ARN(), err)
	}
	return nil
}

// Usage implements lambdahost.Tx.
func (t *tx) Usage(ctx context.Context, account, region string) (lambdahost.AccountUsage, error) {
	var u lambdahost.AccountUsage
	err := t.queryRow(ctx, `SELECT
		(SELECT coalesce(sum(code_size), 0)::bigint FROM versions WHERE account = $1 AND region = $2),
		(SELECT count(*) FROM functions WHERE account = $1 AND region = $2),
		(SELECT coalesce(sum(reserved_concurrency), 0)::bigint FROM functions
			WHERE account = $1 AND region = $2 AND reserved_concurrency IS NOT NULL)`,
		[]any{account, region},
		&u.TotalCodeSize, &u.FunctionCount, &u.ReservedConcurrency)
	if err != nil {
		return lambdahost.AccountUsage{}, fmt.Errorf("usage of account %s in %s: %w", account, region, err)
	}
	return u, nil
}

// nullInt returns *n, or NULL for nil.
func nullInt(n *int) *int32 {
	if n == nil {
		return nil
	}
	v := int32(*n)
	return &v
}

// encodeTags returns tags as a JSON object, or NULL for nil.
func encodeTags(tags map[string]string) ([]byte, error) {
	if tags == nil {
		return nil, nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return nil, fmt.Errorf("encode tags: %w", err)
	}
	return b, nil
}

// notFoundIfNone returns err, or lambdahost.ErrNotFound if the statement
// whose tag is tag changed no row.
func notFoundIfNone(tag interface{ RowsAffected() int64 }, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return lambdahost.ErrNotFound
	}
	return nil
}

// hasParam reports whether the connection string dsn sets param.
func hasParam(dsn, param string) bool {
	return strings.Contains(dsn, param+"=")
}

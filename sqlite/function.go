package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lambdahost/lambdahost"
)

// Function returns the function id, or an error wrapping
// lambdahost.ErrNotFound.
func (t *tx) Function(ctx context.Context, id lambdahost.FunctionID) (*lambdahost.Function, error) {
	var (
		created  int64
		tags     sql.NullString
		reserved sql.NullInt64
	)
	f := &lambdahost.Function{ID: id}
	err := t.queryRow(ctx, `
		SELECT created, last_version, changes, published_changes, tags, reserved_concurrency
		FROM functions
		WHERE account = ? AND region = ? AND name = ?`,
		id.Account, id.Region, id.Name,
	).Scan(&created, &f.LastVersion, &f.Changes, &f.PublishedChanges, &tags, &reserved)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get function %s: %w", id.ARN(), lambdahost.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get function %s: %w", id.ARN(), err)
	}
	f.Created = toTime(created)
	if reserved.Valid {
		n := int(reserved.Int64)
		f.ReservedConcurrency = &n
	}
	if tags.Valid {
		if err := json.Unmarshal([]byte(tags.String), &f.Tags); err != nil {
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
		WHERE (account, region, name) > (?, ?, ?)
		ORDER BY account, region, name
		LIMIT ?`,
		after.Account, after.Region, after.Name, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list all functions: %w", err)
	}
	defer rows.Close()
	var fs []*lambdahost.Function
	for rows.Next() {
		var (
			f        lambdahost.Function
			created  int64
			tags     sql.NullString
			reserved sql.NullInt64
		)
		if err := rows.Scan(&f.ID.Account, &f.ID.Region, &f.ID.Name, &created, &f.LastVersion, &f.Changes, &f.PublishedChanges, &tags, &reserved); err != nil {
			return nil, fmt.Errorf("list all functions: %w", err)
		}
		f.Created = toTime(created)
		if reserved.Valid {
			n := int(reserved.Int64)
			f.ReservedConcurrency = &n
		}
		if tags.Valid {
			if err := json.Unmarshal([]byte(tags.String), &f.Tags); err != nil {
				return nil, fmt.Errorf("list all functions: %s: decode tags: %w", f.ID.ARN(), err)
			}
		}
		fs = append(fs, &f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list all functions: %w", err)
	}
	return fs, nil
}

// CreateFunction inserts f, or returns an error wrapping lambdahost.ErrExists.
func (t *tx) CreateFunction(ctx context.Context, f *lambdahost.Function) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("create function %s: %w", f.ID.ARN(), err)
	}
	t.change(f.ID)
	tags, err := encodeTags(f.Tags)
	if err != nil {
		return fmt.Errorf("create function %s: %w", f.ID.ARN(), err)
	}
	_, err = t.exec(ctx, `
		INSERT INTO functions (account, region, name, created, last_version, changes, published_changes, tags, reserved_concurrency)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID.Account, f.ID.Region, f.ID.Name, fromTime(f.Created), f.LastVersion, f.Changes, f.PublishedChanges, tags,
		nullInt(f.ReservedConcurrency))
	if isUniqueViolation(err) {
		return fmt.Errorf("create function %s: %w", f.ID.ARN(), lambdahost.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create function %s: %w", f.ID.ARN(), err)
	}
	return nil
}

// PutFunction replaces the record of f.ID, or returns an error wrapping
// lambdahost.ErrNotFound.
func (t *tx) PutFunction(ctx context.Context, f *lambdahost.Function) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put function %s: %w", f.ID.ARN(), err)
	}
	t.change(f.ID)
	tags, err := encodeTags(f.Tags)
	if err != nil {
		return fmt.Errorf("put function %s: %w", f.ID.ARN(), err)
	}
	res, err := t.exec(ctx, `
		UPDATE functions
		SET created = ?, last_version = ?, changes = ?, published_changes = ?, tags = ?, reserved_concurrency = ?
		WHERE account = ? AND region = ? AND name = ?`,
		fromTime(f.Created), f.LastVersion, f.Changes, f.PublishedChanges, tags, nullInt(f.ReservedConcurrency),
		f.ID.Account, f.ID.Region, f.ID.Name)
	if err := notFoundIfNone(res, err); err != nil {
		return fmt.Errorf("put function %s: %w", f.ID.ARN(), err)
	}
	return nil
}

// DeleteFunction deletes function id; the foreign keys delete its versions
// and aliases. It returns an error wrapping lambdahost.ErrNotFound if there
// is no such function.
func (t *tx) DeleteFunction(ctx context.Context, id lambdahost.FunctionID) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete function %s: %w", id.ARN(), err)
	}
	t.change(id)
	res, err := t.exec(ctx, `
		DELETE FROM functions WHERE account = ? AND region = ? AND name = ?`,
		id.Account, id.Region, id.Name)
	if err := notFoundIfNone(res, err); err != nil {
		return fmt.Errorf("delete function %s: %w", id.ARN(), err)
	}
	return nil
}

// usageSQL reads the covering index versions_code_size, the primary key
// of functions and the partial index functions_reserved, which holds only
// the functions that reserve concurrency.
const usageSQL = `SELECT
	(SELECT coalesce(sum(code_size), 0) FROM versions WHERE account = ?1 AND region = ?2),
	(SELECT count(*) FROM functions WHERE account = ?1 AND region = ?2),
	(SELECT coalesce(sum(reserved_concurrency), 0) FROM functions
		WHERE account = ?1 AND region = ?2 AND reserved_concurrency IS NOT NULL)`

// Usage sums the code size of all account's versions in region, counts its
// functions there and sums their reserved concurrency.
func (t *tx) Usage(ctx context.Context, account, region string) (lambdahost.AccountUsage, error) {
	var u lambdahost.AccountUsage
	err := t.queryRow(ctx, usageSQL,
		account, region,
	).Scan(&u.TotalCodeSize, &u.FunctionCount, &u.ReservedConcurrency)
	if err != nil {
		return lambdahost.AccountUsage{}, fmt.Errorf("usage of account %s in %s: %w", account, region, err)
	}
	return u, nil
}

// nullInt returns *n, or NULL for nil.
func nullInt(n *int) sql.NullInt64 {
	if n == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*n), Valid: true}
}

// encodeTags returns tags as a JSON object, or NULL for nil.
func encodeTags(tags map[string]string) (sql.NullString, error) {
	if tags == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("encode tags: %w", err)
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// notFoundIfNone returns err, or lambdahost.ErrNotFound if the statement
// whose result is res changed no row.
func notFoundIfNone(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return lambdahost.ErrNotFound
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/storedoc"
)

// aliasColumns are the columns scanAliases reads, in its order.
const aliasColumns = `account, region, name, alias, function_version, revision_id, data`

// Alias returns alias name of function id, or an error wrapping
// lambdahost.ErrNotFound.
func (t *tx) Alias(ctx context.Context, id lambdahost.FunctionID, name string) (*lambdahost.Alias, error) {
	rows, err := t.query(ctx, `
		SELECT `+aliasColumns+`
		FROM aliases
		WHERE account = ? AND region = ? AND name = ? AND alias = ?`,
		id.Account, id.Region, id.Name, name)
	if err != nil {
		return nil, fmt.Errorf("get alias %s: %w", id.QualifiedARN(name), err)
	}
	as, err := scanAliases(rows)
	if err != nil {
		return nil, fmt.Errorf("get alias %s: %w", id.QualifiedARN(name), err)
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("get alias %s: %w", id.QualifiedARN(name), lambdahost.ErrNotFound)
	}
	return as[0], nil
}

// CreateAlias inserts a. It returns an error wrapping lambdahost.ErrExists if
// the alias exists, and one wrapping lambdahost.ErrNotFound if its function
// does not.
func (t *tx) CreateAlias(ctx context.Context, a *lambdahost.Alias) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("create alias %s: %w", a.ARN(), err)
	}
	t.change(a.Function)
	data, err := storedoc.EncodeAlias(a)
	if err != nil {
		return fmt.Errorf("create alias: %w", err)
	}
	_, err = t.exec(ctx, `
		INSERT INTO aliases (account, region, name, alias, function_version, revision_id, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.Function.Account, a.Function.Region, a.Function.Name, a.Name, a.FunctionVersion, a.RevisionID, string(data))
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create alias %s: %w", a.ARN(), lambdahost.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("create alias %s: function %w", a.ARN(), lambdahost.ErrNotFound)
	case err != nil:
		return fmt.Errorf("create alias %s: %w", a.ARN(), err)
	}
	return nil
}

// PutAlias replaces the alias a names, or returns an error wrapping
// lambdahost.ErrNotFound.
func (t *tx) PutAlias(ctx context.Context, a *lambdahost.Alias) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put alias %s: %w", a.ARN(), err)
	}
	t.change(a.Function)
	data, err := storedoc.EncodeAlias(a)
	if err != nil {
		return fmt.Errorf("put alias: %w", err)
	}
	res, err := t.exec(ctx, `
		UPDATE aliases
		SET function_version = ?, revision_id = ?, data = ?
		WHERE account = ? AND region = ? AND name = ? AND alias = ?`,
		a.FunctionVersion, a.RevisionID, string(data),
		a.Function.Account, a.Function.Region, a.Function.Name, a.Name)
	if err := notFoundIfNone(res, err); err != nil {
		return fmt.Errorf("put alias %s: %w", a.ARN(), err)
	}
	return nil
}

// DeleteAlias deletes alias name of function id, or returns an error
// wrapping lambdahost.ErrNotFound.
func (t *tx) DeleteAlias(ctx context.Context, id lambdahost.FunctionID, name string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete alias %s: %w", id.QualifiedARN(name), err)
	}
	t.change(id)
	res, err := t.exec(ctx, `
		DELETE FROM aliases WHERE account = ? AND region = ? AND name = ? AND alias = ?`,
		id.Account, id.Region, id.Name, name)
	if err := notFoundIfNone(res, err); err != nil {
		return fmt.Errorf("delete alias %s: %w", id.QualifiedARN(name), err)
	}
	return nil
}

// ListAliases returns up to limit aliases of id whose names sort after
// afterName (bytewise), ordered by name. A limit of zero or less means no
// limit. It returns no error if the function does not exist.
func (t *tx) ListAliases(ctx context.Context, id lambdahost.FunctionID, afterName string, limit int) ([]*lambdahost.Alias, error) {
	rows, err := t.query(ctx, `
		SELECT `+aliasColumns+`
		FROM aliases
		WHERE account = ? AND region = ? AND name = ? AND alias > ?
		ORDER BY alias
		LIMIT ?`,
		id.Account, id.Region, id.Name, afterName, sqlLimit(limit))
	if err == nil {
		var as []*lambdahost.Alias
		if as, err = scanAliases(rows); err == nil {
			return as, nil
		}
	}
	return nil, fmt.Errorf("list aliases of %s: %w", id.ARN(), err)
}

// scanAliases reads and closes rows of aliasColumns.
func scanAliases(rows *sql.Rows) ([]*lambdahost.Alias, error) {
	defer rows.Close()
	var as []*lambdahost.Alias
	for rows.Next() {
		var (
			a    lambdahost.Alias
			data []byte
		)
		if err := rows.Scan(&a.Function.Account, &a.Function.Region, &a.Function.Name, &a.Name,
			&a.FunctionVersion, &a.RevisionID, &data); err != nil {
			return nil, err
		}
		if err := storedoc.DecodeAlias(data, &a); err != nil {
			return nil, err
		}
		as = append(as, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return as, nil
}

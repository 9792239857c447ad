package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/storedoc"
)

const aliasColumns = `account, region, name, alias, function_version, revision_id, data`

// Alias implements lambdahost.Tx.
func (t *tx) Alias(ctx context.Context, id lambdahost.FunctionID, name string) (*lambdahost.Alias, error) {
	as, err := t.aliases(ctx, `SELECT `+aliasColumns+` FROM aliases
		WHERE account = $1 AND region = $2 AND name = $3 AND alias = $4`,
		id.Account, id.Region, id.Name, name)
	if err != nil {
		return nil, fmt.Errorf("get alias %s: %w", id.QualifiedARN(name), err)
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("get alias %s: %w", id.QualifiedARN(name), lambdahost.ErrNotFound)
	}
	return as[0], nil
}

// CreateAlias implements lambdahost.Tx.
func (t *tx) CreateAlias(ctx context.Context, a *lambdahost.Alias) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("create alias %s: %w", a.ARN(), err)
	}
	data, err := storedoc.EncodeAlias(a)
	if err != nil {
		return fmt.Errorf("create alias: %w", err)
	}
	if _, err := t.Function(ctx, a.Function); err != nil {
		return fmt.Errorf("create alias %s: %w", a.ARN(), err)
	}
	tag, err := t.exec(ctx, `
		INSERT INTO aliases (account, region, name, alias, function_version, revision_id, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT DO NOTHING`,
		a.Function.Account, a.Function.Region, a.Function.Name, a.Name, a.FunctionVersion, a.RevisionID, data)
	switch {
	case pgCode(err) == "23503":
		return fmt.Errorf("create alias %s: function %w", a.ARN(), lambdahost.ErrNotFound)
	case err != nil:
		return fmt.Errorf("create alias %s: %w", a.ARN(), err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("create alias %s: %w", a.ARN(), lambdahost.ErrExists)
	}
	return nil
}

// PutAlias implements lambdahost.Tx.
func (t *tx) PutAlias(ctx context.Context, a *lambdahost.Alias) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put alias %s: %w", a.ARN(), err)
	}
	data, err := storedoc.EncodeAlias(a)
	if err != nil {
		return fmt.Errorf("put alias: %w", err)
	}
	tag, err := t.exec(ctx, `
		UPDATE aliases SET function_version = $1, revision_id = $2, data = $3
		WHERE account = $4 AND region = $5 AND name = $6 AND alias = $7`,
		a.FunctionVersion, a.RevisionID, data,
		a.Function.Account, a.Function.Region, a.Function.Name, a.Name)
	if err := notFoundIfNone(tag, err); err != nil {
		return fmt.Errorf("put alias %s: %w", a.ARN(), err)
	}
	return nil
}

// DeleteAlias implements lambdahost.Tx.
func (t *tx) DeleteAlias(ctx context.Context, id lambdahost.FunctionID, name string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete alias %s: %w", id.QualifiedARN(name), err)
	}
	tag, err := t.exec(ctx, `DELETE FROM aliases WHERE account = $1 AND region = $2 AND name = $3 AND alias = $4`,
		id.Account, id.Region, id.Name, name)
	if err := notFoundIfNone(tag, err); err != nil {
		return fmt.Errorf("delete alias %s: %w", id.QualifiedARN(name), err)
	}
	return nil
}

// ListAliases implements lambdahost.Tx.
func (t *tx) ListAliases(ctx context.Context, id lambdahost.FunctionID, afterName string, limit int) ([]*lambdahost.Alias, error) {
	as, err := t.aliases(ctx, `SELECT `+aliasColumns+` FROM aliases
		WHERE account = $1 AND region = $2 AND name = $3 AND alias > $4
		ORDER BY alias
		LIMIT $5`,
		id.Account, id.Region, id.Name, afterName, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list aliases of %s: %w", id.ARN(), err)
	}
	return as, nil
}

func (t *tx) aliases(ctx context.Context, sql string, args ...any) ([]*lambdahost.Alias, error) {
	rows, err := t.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return collect(t, rows, func(r pgx.CollectableRow) (*lambdahost.Alias, error) {
		var (
			a    lambdahost.Alias
			data []byte
		)
		if err := r.Scan(&a.Function.Account, &a.Function.Region, &a.Function.Name, &a.Name,
			&a.FunctionVersion, &a.RevisionID, &data); err != nil {
			return nil, err
		}
		if err := storedoc.DecodeAlias(data, &a); err != nil {
			return nil, err
		}
		return &a, nil
	})
}

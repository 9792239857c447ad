package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/storedoc"
)

// versionColumns are the columns scanVersion reads, in its order.
const versionColumns = `account, region, name, version, revision_id, last_modified,
	code_digest, code_size, state, last_update_status, data`

// Version implements lambdahost.Tx.
func (t *tx) Version(ctx context.Context, id lambdahost.FunctionID, name string) (*lambdahost.Version, error) {
	vs, err := t.versions(ctx, `SELECT `+versionColumns+` FROM versions
		WHERE account = $1 AND region = $2 AND name = $3 AND version = $4`,
		id.Account, id.Region, id.Name, name)
	if err != nil {
		return nil, fmt.Errorf("get version %s: %w", id.QualifiedARN(name), err)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("get version %s: %w", id.QualifiedARN(name), lambdahost.ErrNotFound)
	}
	return vs[0], nil
}

// PutVersion implements lambdahost.Tx. The insert selects nothing when the
// function does not exist, rather than failing on the foreign key, which
// would abort the transaction.
func (t *tx) PutVersion(ctx context.Context, v *lambdahost.Version) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put version %s: %w", v.ARN(), err)
	}
	order := lambdahost.VersionOrder(v.Name)
	if order == -3 || (order > 0 && strconv.FormatInt(order, 10) != v.Name) {
		return fmt.Errorf("put version %s: invalid version name %q", v.ARN(), v.Name)
	}
	data, err := storedoc.EncodeVersion(v)
	if err != nil {
		return fmt.Errorf("put version: %w", err)
	}
	var digest []byte
	if !v.Code.Digest.IsZero() {
		digest = v.Code.Digest[:]
	}
	tag, err := t.exec(ctx, `
		INSERT INTO versions (account, region, name, version, version_order, revision_id, last_modified,
			code_digest, code_size, state, last_update_status, data)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
		WHERE EXISTS (SELECT 1 FROM functions WHERE account = $1 AND region = $2 AND name = $3)
		ON CONFLICT (account, region, name, version) DO UPDATE SET
			revision_id = excluded.revision_id,
			last_modified = excluded.last_modified,
			code_digest = excluded.code_digest,
			code_size = excluded.code_size,
			state = excluded.state,
			last_update_status = excluded.last_update_status,
			data = excluded.data`,
		v.Function.Account, v.Function.Region, v.Function.Name, v.Name, order, v.RevisionID, fromTime(v.LastModified),
		digest, v.Code.Size, v.Status.State, v.Status.LastUpdateStatus, data)
	if err != nil {
		if pgCode(err) == "23503" {
			return fmt.Errorf("put version %s: function %w", v.ARN(), lambdahost.ErrNotFound)
		}
		return fmt.Errorf("put version %s: %w", v.ARN(), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("put version %s: function %w", v.ARN(), lambdahost.ErrNotFound)
	}
	return nil
}

// DeleteVersion implements lambdahost.Tx.
func (t *tx) DeleteVersion(ctx context.Context, id lambdahost.FunctionID, name string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete version %s: %w", id.QualifiedARN(name), err)
	}
	tag, err := t.exec(ctx, `DELETE FROM versions WHERE account = $1 AND region = $2 AND name = $3 AND version = $4`,
		id.Account, id.Region, id.Name, name)
	if err := notFoundIfNone(tag, err); err != nil {
		return fmt.Errorf("delete version %s: %w", id.QualifiedARN(name), err)
	}
	return nil
}

// ListVersions implements lambdahost.Tx.
func (t *tx) ListVersions(ctx context.Context, id lambdahost.FunctionID, after int64, limit int) ([]*lambdahost.Version, error) {
	vs, err := t.versions(ctx, `SELECT `+versionColumns+` FROM versions
		WHERE account = $1 AND region = $2 AND name = $3 AND version_order > $4
		ORDER BY version_order
		LIMIT $5`,
		id.Account, id.Region, id.Name, after, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", id.ARN(), err)
	}
	return vs, nil
}

// ListLatest implements lambdahost.Tx.
func (t *tx) ListLatest(ctx context.Context, account, region, afterName string, limit int) ([]*lambdahost.Version, error) {
	vs, err := t.versions(ctx, `SELECT `+versionColumns+` FROM versions
		WHERE account = $1 AND region = $2 AND version_order = -2 AND name > $3
		ORDER BY name
		LIMIT $4`,
		account, region, afterName, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list latest versions of %s in %s: %w", account, region, err)
	}
	return vs, nil
}

// ListAllVersions implements lambdahost.Tx.
func (t *tx) ListAllVersions(ctx context.Context, account, region, afterName string, afterOrder int64, limit int) ([]*lambdahost.Version, error) {
	vs, err := t.versions(ctx, `SELECT `+versionColumns+` FROM versions
		WHERE account = $1 AND region = $2 AND (name, version_order) > ($3, $4)
		ORDER BY name, version_order
		LIMIT $5`,
		account, region, afterName, afterOrder, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list all versions of %s in %s: %w", account, region, err)
	}
	return vs, nil
}

// versionLayers is the FROM clause of the code of the layers that versions
// use, as their documents hold it (storedoc.LayerRecord: digest in
// lowercase hex, sealedWith), as l. Its condition is spelled as the
// partial index versions_with_layers's, so that only versions with layers
// are read.
const versionLayers = `versions, jsonb_array_elements(versions.data->'config'->'layers') AS l
	WHERE jsonb_typeof(versions.data->'config'->'layers') = 'array'`

// Digests implements lambdahost.Tx.
func (t *tx) Digests(ctx context.Context) ([]lambdahost.Digest, error) {
	rows, err := t.query(ctx, `SELECT code_digest FROM versions WHERE code_digest IS NOT NULL
		UNION SELECT decode(l->>'digest', 'hex') FROM `+versionLayers+`
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list digests: %w", err)
	}
	ds, err := collect(t, rows, func(r pgx.CollectableRow) (lambdahost.Digest, error) {
		var b []byte
		if err := r.Scan(&b); err != nil {
			return lambdahost.Digest{}, err
		}
		return toDigest(b)
	})
	if err != nil {
		return nil, fmt.Errorf("list digests: %w", err)
	}
	return ds, nil
}

// CodeRefs implements lambdahost.Tx.
func (t *tx) CodeRefs(ctx context.Context) ([]lambdahost.CodeRef, error) {
	// The code of versions and of the layers they use: UNION lists each
	// (digest, key) once, a layer's code that is also a version's too.
	rows, err := t.query(ctx, `SELECT code_digest, coalesce(data->'code'->>'sealedWith', '') FROM versions
		WHERE code_digest IS NOT NULL
		UNION SELECT decode(l->>'digest', 'hex'), coalesce(l->>'sealedWith', '') FROM `+versionLayers)
	if err != nil {
		return nil, fmt.Errorf("list code references: %w", err)
	}
	refs, err := collect(t, rows, func(r pgx.CollectableRow) (lambdahost.CodeRef, error) {
		var (
			b   []byte
			ref lambdahost.CodeRef
			err error
		)
		if err := r.Scan(&b, &ref.SealedWith); err != nil {
			return ref, err
		}
		ref.Digest, err = toDigest(b)
		return ref, err
	})
	if err != nil {
		return nil, fmt.Errorf("list code references: %w", err)
	}
	return refs, nil
}

// Unsettled implements lambdahost.Tx.
func (t *tx) Unsettled(ctx context.Context) ([]*lambdahost.Version, error) {
	vs, err := t.versions(ctx, `SELECT `+versionColumns+` FROM versions
		WHERE state = 'Pending' OR last_update_status = 'InProgress'
		ORDER BY account, region, name, version_order`)
	if err != nil {
		return nil, fmt.Errorf("list unsettled versions: %w", err)
	}
	return vs, nil
}

// versions runs a query of versionColumns.
func (t *tx) versions(ctx context.Context, sql string, args ...any) ([]*lambdahost.Version, error) {
	rows, err := t.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return collect(t, rows, scanVersion)
}

func scanVersion(r pgx.CollectableRow) (*lambdahost.Version, error) {
	var (
		v            lambdahost.Version
		lastModified int64
		digest, data []byte
	)
	err := r.Scan(&v.Function.Account, &v.Function.Region, &v.Function.Name, &v.Name, &v.RevisionID, &lastModified,
		&digest, &v.Code.Size, &v.Status.State, &v.Status.LastUpdateStatus, &data)
	if err != nil {
		return nil, err
	}
	v.LastModified = toTime(lastModified)
	if digest != nil {
		if v.Code.Digest, err = toDigest(digest); err != nil {
			return nil, fmt.Errorf("version %s: %w", v.ARN(), err)
		}
	}
	if err := storedoc.DecodeVersion(data, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// toDigest converts a code_digest value.
func toDigest(b []byte) (lambdahost.Digest, error) {
	var d lambdahost.Digest
	if len(b) != len(d) {
		return d, fmt.Errorf("code digest has %d bytes, want %d", len(b), len(d))
	}
	copy(d[:], b)
	return d, nil
}

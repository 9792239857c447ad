package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/storedoc"
)

// versionColumns are the columns scanVersions reads, in its order.
const versionColumns = `account, region, name, version, revision_id, last_modified,
	code_digest, code_size, state, last_update_status, data`

// The queries on versions. store_internal_test.go checks that each uses the
// index meant for it.
const (
	getVersionSQL = `SELECT ` + versionColumns + ` FROM versions
		WHERE account = ? AND region = ? AND name = ? AND version = ?`

	// listVersionsSQL reads the index versions_by_order.
	listVersionsSQL = `SELECT ` + versionColumns + ` FROM versions
		WHERE account = ? AND region = ? AND name = ? AND version_order > ?
		ORDER BY version_order
		LIMIT ?`

	// listLatestSQL spells out version_order = -2, rather than binding it,
	// so that the planner can use the partial index versions_latest.
	listLatestSQL = `SELECT ` + versionColumns + ` FROM versions
		WHERE account = ? AND region = ? AND version_order = -2 AND name > ?
		ORDER BY name
		LIMIT ?`

	// listAllVersionsSQL reads the index versions_by_order from the row value
	// (name, version_order) on.
	listAllVersionsSQL = `SELECT ` + versionColumns + ` FROM versions
		WHERE account = ? AND region = ? AND (name, version_order) > (?, ?)
		ORDER BY name, version_order
		LIMIT ?`

	// digestsSQL reads only the partial index versions_digest.
	digestsSQL = `SELECT DISTINCT code_digest FROM versions
		WHERE code_digest IS NOT NULL
		ORDER BY code_digest`

	// codeRefsSQL reads the key that sealed each version's code from its
	// JSON record (codeRecord.SealedWith).
	codeRefsSQL = `SELECT DISTINCT code_digest, json_extract(data, '$.code.sealedWith') FROM versions
		WHERE code_digest IS NOT NULL`

	// layerRefsSQL reads the code of the layers versions use from their
	// JSON documents (storedoc.LayerRecord), through the partial index
	// versions_with_layers: only versions that have layers are read. Its
	// condition is spelled as the index's, so that the planner uses it.
	layerRefsSQL = `SELECT json_extract(l.value, '$.digest'), json_extract(l.value, '$.sealedWith')
		FROM versions, json_each(versions.data, '$.config.layers') AS l
		WHERE json_type(versions.data, '$.config.layers') = 'array'`

	// unsettledSQL spells its condition as the partial index
	// versions_unsettled does, so that the planner uses it. The values are
	// lambdahost.StatePending and lambdahost.UpdateInProgress.
	unsettledSQL = `SELECT ` + versionColumns + ` FROM versions
		WHERE state = 'Pending' OR last_update_status = 'InProgress'
		ORDER BY account, region, name, version_order`
)

// Version returns version name of function id, or an error wrapping
// lambdahost.ErrNotFound.
func (t *tx) Version(ctx context.Context, id lambdahost.FunctionID, name string) (*lambdahost.Version, error) {
	rows, err := t.query(ctx, getVersionSQL,
		id.Account, id.Region, id.Name, name)
	if err != nil {
		return nil, fmt.Errorf("get version %s: %w", id.QualifiedARN(name), err)
	}
	vs, err := scanVersions(rows)
	if err != nil {
		return nil, fmt.Errorf("get version %s: %w", id.QualifiedARN(name), err)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("get version %s: %w", id.QualifiedARN(name), lambdahost.ErrNotFound)
	}
	return vs[0], nil
}

// PutVersion inserts v or replaces the version of the same name. It returns
// an error wrapping lambdahost.ErrNotFound if v's function does not exist,
// and an error if v.Name is not "$LATEST", "$LATEST.PUBLISHED" or a version
// number in canonical form (no sign, no leading zero).
func (t *tx) PutVersion(ctx context.Context, v *lambdahost.Version) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put version %s: %w", v.ARN(), err)
	}
	t.change(v.Function)
	order := lambdahost.VersionOrder(v.Name)
	if order == -3 || (order > 0 && strconv.FormatInt(order, 10) != v.Name) {
		// "01" would sort as 1 yet be another row than "1".
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
	_, err = t.exec(ctx, `
		INSERT INTO versions (account, region, name, version, version_order, revision_id, last_modified,
			code_digest, code_size, state, last_update_status, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, region, name, version) DO UPDATE SET
			revision_id = excluded.revision_id,
			last_modified = excluded.last_modified,
			code_digest = excluded.code_digest,
			code_size = excluded.code_size,
			state = excluded.state,
			last_update_status = excluded.last_update_status,
			data = excluded.data`,
		v.Function.Account, v.Function.Region, v.Function.Name, v.Name, order, v.RevisionID, fromTime(v.LastModified),
		digest, v.Code.Size, v.Status.State, v.Status.LastUpdateStatus, string(data))
	if isForeignKeyViolation(err) {
		return fmt.Errorf("put version %s: function %w", v.ARN(), lambdahost.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put version %s: %w", v.ARN(), err)
	}
	return nil
}

// DeleteVersion deletes version name of function id, or returns an error
// wrapping lambdahost.ErrNotFound.
func (t *tx) DeleteVersion(ctx context.Context, id lambdahost.FunctionID, name string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete version %s: %w", id.QualifiedARN(name), err)
	}
	t.change(id)
	res, err := t.exec(ctx, `
		DELETE FROM versions WHERE account = ? AND region = ? AND name = ? AND version = ?`,
		id.Account, id.Region, id.Name, name)
	if err := notFoundIfNone(res, err); err != nil {
		return fmt.Errorf("delete version %s: %w", id.QualifiedARN(name), err)
	}
	return nil
}

// ListVersions returns up to limit versions of id whose VersionOrder is
// greater than after, in VersionOrder order. A limit of zero or less means
// no limit. It returns no error if the function does not exist.
func (t *tx) ListVersions(ctx context.Context, id lambdahost.FunctionID, after int64, limit int) ([]*lambdahost.Version, error) {
	rows, err := t.query(ctx, listVersionsSQL,
		id.Account, id.Region, id.Name, after, sqlLimit(limit))
	if err == nil {
		var vs []*lambdahost.Version
		if vs, err = scanVersions(rows); err == nil {
			return vs, nil
		}
	}
	return nil, fmt.Errorf("list versions of %s: %w", id.ARN(), err)
}

// ListLatest returns up to limit $LATEST versions of account's functions in
// region whose names sort after afterName (bytewise), ordered by name. A
// limit of zero or less means no limit.
func (t *tx) ListLatest(ctx context.Context, account, region, afterName string, limit int) ([]*lambdahost.Version, error) {
	rows, err := t.query(ctx, listLatestSQL,
		account, region, afterName, sqlLimit(limit))
	if err == nil {
		var vs []*lambdahost.Version
		if vs, err = scanVersions(rows); err == nil {
			return vs, nil
		}
	}
	return nil, fmt.Errorf("list latest versions of %s in %s: %w", account, region, err)
}

// ListAllVersions returns up to limit versions of account's functions in
// region that come after (afterName, afterOrder), ordered by function name
// then VersionOrder. A limit of zero or less means no limit.
func (t *tx) ListAllVersions(ctx context.Context, account, region, afterName string, afterOrder int64, limit int) ([]*lambdahost.Version, error) {
	rows, err := t.query(ctx, listAllVersionsSQL,
		account, region, afterName, afterOrder, sqlLimit(limit))
	if err == nil {
		var vs []*lambdahost.Version
		if vs, err = scanVersions(rows); err == nil {
			return vs, nil
		}
	}
	return nil, fmt.Errorf("list all versions of %s in %s: %w", account, region, err)
}

// Digests returns the distinct non-zero code digests that versions
// reference, in byte order. A version without code (zero digest) references
// no blob.
func (t *tx) Digests(ctx context.Context) ([]lambdahost.Digest, error) {
	rows, err := t.query(ctx, digestsSQL)
	if err != nil {
		return nil, fmt.Errorf("list digests: %w", err)
	}
	defer rows.Close()
	var ds []lambdahost.Digest
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("list digests: %w", err)
		}
		d, err := toDigest(b)
		if err != nil {
			return nil, fmt.Errorf("list digests: %w", err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list digests: %w", err)
	}
	layers, err := t.layerRefs(ctx)
	if err != nil {
		return nil, fmt.Errorf("list digests: %w", err)
	}
	seen := map[lambdahost.Digest]bool{}
	for _, d := range ds {
		seen[d] = true
	}
	for _, r := range layers {
		if !seen[r.Digest] {
			seen[r.Digest] = true
			ds = append(ds, r.Digest)
		}
	}
	slices.SortFunc(ds, func(a, b lambdahost.Digest) int { return bytes.Compare(a[:], b[:]) })
	return ds, nil
}

// layerRefs returns the code of every layer that a version uses, once per
// (digest, key).
func (t *tx) layerRefs(ctx context.Context) ([]lambdahost.CodeRef, error) {
	rows, err := t.query(ctx, layerRefsSQL)
	if err != nil {
		return nil, fmt.Errorf("list layer code: %w", err)
	}
	defer rows.Close()
	seen := map[lambdahost.CodeRef]bool{}
	var refs []lambdahost.CodeRef
	for rows.Next() {
		var hex string
		var key sql.NullString
		if err := rows.Scan(&hex, &key); err != nil {
			return nil, fmt.Errorf("list layer code: %w", err)
		}
		d, err := lambdahost.ParseDigestHex(hex)
		if err != nil {
			return nil, fmt.Errorf("list layer code: %w", err)
		}
		r := lambdahost.CodeRef{Digest: d, SealedWith: key.String}
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list layer code: %w", err)
	}
	return refs, nil
}

// CodeRefs implements lambdahost.Tx.
func (t *tx) CodeRefs(ctx context.Context) ([]lambdahost.CodeRef, error) {
	rows, err := t.query(ctx, codeRefsSQL)
	if err != nil {
		return nil, fmt.Errorf("list code references: %w", err)
	}
	defer rows.Close()
	var refs []lambdahost.CodeRef
	for rows.Next() {
		var b []byte
		var key sql.NullString
		if err := rows.Scan(&b, &key); err != nil {
			return nil, fmt.Errorf("list code references: %w", err)
		}
		d, err := toDigest(b)
		if err != nil {
			return nil, fmt.Errorf("list code references: %w", err)
		}
		refs = append(refs, lambdahost.CodeRef{Digest: d, SealedWith: key.String})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list code references: %w", err)
	}
	// A layer's code is referenced by the versions that use it; the same
	// code may also be a version's own.
	layers, err := t.layerRefs(ctx)
	if err != nil {
		return nil, fmt.Errorf("list code references: %w", err)
	}
	have := make(map[lambdahost.CodeRef]bool, len(refs))
	for _, r := range refs {
		have[r] = true
	}
	for _, r := range layers {
		if !have[r] {
			refs = append(refs, r)
		}
	}
	return refs, nil
}

// Unsettled returns every version whose State is Pending or whose
// LastUpdateStatus is InProgress, ordered by account, region, function name
// and VersionOrder.
func (t *tx) Unsettled(ctx context.Context) ([]*lambdahost.Version, error) {
	rows, err := t.query(ctx, unsettledSQL)
	if err == nil {
		var vs []*lambdahost.Version
		if vs, err = scanVersions(rows); err == nil {
			return vs, nil
		}
	}
	return nil, fmt.Errorf("list unsettled versions: %w", err)
}

// scanVersions reads and closes rows of versionColumns.
func scanVersions(rows *sql.Rows) ([]*lambdahost.Version, error) {
	defer rows.Close()
	var (
		vs []*lambdahost.Version
		// RawBytes are reused from row to row: they are decoded at once.
		digest, data sql.RawBytes
	)
	for rows.Next() {
		var (
			v            lambdahost.Version
			lastModified int64
		)
		err := rows.Scan(&v.Function.Account, &v.Function.Region, &v.Function.Name, &v.Name, &v.RevisionID, &lastModified,
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
		vs = append(vs, &v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return vs, nil
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

package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lambdahost/lambdahost"
)

const deliveryColumns = `id, node, created, target, body`

// PutDelivery implements lambdahost.Tx.
func (t *tx) PutDelivery(ctx context.Context, d *lambdahost.Delivery) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put delivery %s: %w", d.ID, err)
	}
	body := d.Body
	if body == nil {
		body = []byte{}
	}
	tag, err := t.exec(ctx, `
		INSERT INTO deliveries (`+deliveryColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, d.ID, d.Node, fromTime(d.Created), d.Target, body)
	switch {
	case err != nil:
		return fmt.Errorf("put delivery %s: %w", d.ID, err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("put delivery %s: %w", d.ID, lambdahost.ErrExists)
	}
	return nil
}

// DeleteDelivery implements lambdahost.Tx.
func (t *tx) DeleteDelivery(ctx context.Context, id string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete delivery %s: %w", id, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM deliveries WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete delivery %s: %w", id, err)
	}
	return nil
}

// ListDeliveries implements lambdahost.Tx.
func (t *tx) ListDeliveries(ctx context.Context, after string, limit int) ([]*lambdahost.Delivery, error) {
	ds, err := t.deliveries(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id > $1 ORDER BY id LIMIT $2`, after, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}

// ClaimDeliveries implements lambdahost.Tx, as ClaimEvents does.
func (t *tx) ClaimDeliveries(ctx context.Context, node, after string, limit int) ([]*lambdahost.Delivery, error) {
	if err := t.writable(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	ds, err := t.deliveries(ctx, `
		WITH free AS (
			SELECT d.id FROM deliveries d
			WHERE d.id > $3
			AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = d.node AND n.expires > now())
			ORDER BY d.id
			LIMIT $2
			FOR UPDATE OF d SKIP LOCKED
		)
		UPDATE deliveries SET node = $1
		FROM free WHERE deliveries.id = free.id
		RETURNING deliveries.id, node, created, target, body`,
		node, sqlLimit(limit), after)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	slices.SortFunc(ds, func(a, b *lambdahost.Delivery) int { return strings.Compare(a.ID, b.ID) })
	return ds, nil
}

func (t *tx) deliveries(ctx context.Context, sql string, args ...any) ([]*lambdahost.Delivery, error) {
	rows, err := t.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return collect(t, rows, func(r pgx.CollectableRow) (*lambdahost.Delivery, error) {
		d := &lambdahost.Delivery{}
		var created int64
		if err := r.Scan(&d.ID, &d.Node, &created, &d.Target, &d.Body); err != nil {
			return nil, err
		}
		d.Created = toTime(created)
		return d, nil
	})
}

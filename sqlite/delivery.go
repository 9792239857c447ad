package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// deliveryColumns are the columns scanDeliveries reads, in its order.
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
	_, err := t.exec(ctx, `INSERT INTO deliveries (`+deliveryColumns+`) VALUES (?, ?, ?, ?, ?)`,
		d.ID, d.Node, fromTime(d.Created), d.Target, body)
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("put delivery %s: %w", d.ID, lambdahost.ErrExists)
	case err != nil:
		return fmt.Errorf("put delivery %s: %w", d.ID, err)
	}
	return nil
}

// DeleteDelivery implements lambdahost.Tx.
func (t *tx) DeleteDelivery(ctx context.Context, id string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete delivery %s: %w", id, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM deliveries WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete delivery %s: %w", id, err)
	}
	return nil
}

// ListDeliveries implements lambdahost.Tx.
func (t *tx) ListDeliveries(ctx context.Context, after string, limit int) ([]*lambdahost.Delivery, error) {
	rows, err := t.query(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id > ? ORDER BY id LIMIT ?`, after, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	ds, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}

// ClaimDeliveries implements lambdahost.Tx.
func (t *tx) ClaimDeliveries(ctx context.Context, node, after string, limit int) ([]*lambdahost.Delivery, error) {
	if err := t.writable(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	rows, err := t.query(ctx, `
		UPDATE deliveries SET node = ?1
		WHERE id IN (SELECT id FROM deliveries
			WHERE id > ?4 AND node NOT IN (SELECT id FROM nodes WHERE expires > ?2)
			ORDER BY id
			LIMIT ?3)
		RETURNING `+deliveryColumns, node, time.Now().UnixNano(), sqlLimit(limit), after)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	ds, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	// RETURNING gives rows in no particular order.
	slices.SortFunc(ds, func(a, b *lambdahost.Delivery) int { return strings.Compare(a.ID, b.ID) })
	return ds, nil
}

// scanDeliveries reads and closes rows of deliveryColumns.
func scanDeliveries(rows *sql.Rows) ([]*lambdahost.Delivery, error) {
	defer rows.Close()
	var ds []*lambdahost.Delivery
	for rows.Next() {
		d := &lambdahost.Delivery{}
		var created int64
		if err := rows.Scan(&d.ID, &d.Node, &created, &d.Target, &d.Body); err != nil {
			return nil, err
		}
		d.Created = toTime(created)
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ds, nil
}

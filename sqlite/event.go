package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lambdahost/lambdahost"
)

// eventColumns are the columns scanEvents reads, in its order.
const eventColumns = `id, account, region, name, qualifier, request_id, trace_id, created, node, payload`

// listEventsSQL reads the primary key's index in order: no sort.
const listEventsSQL = `SELECT ` + eventColumns + `
	FROM async_events
	WHERE id > ?
	ORDER BY id
	LIMIT ?`

// PutEvent implements lambdahost.Tx.
func (t *tx) PutEvent(ctx context.Context, ev *lambdahost.AsyncEvent) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put event %s: %w", ev.ID, err)
	}
	payload := ev.Payload
	if payload == nil {
		payload = []byte{} // the column is NOT NULL
	}
	id := ev.Function
	_, err := t.exec(ctx, `
		INSERT INTO async_events (id, account, region, name, qualifier, request_id, trace_id, created, node, payload)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, id.Account, id.Region, id.Name, ev.Qualifier, ev.RequestID, ev.TraceID, fromTime(ev.Created), ev.Node, payload)
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("put event %s: %w", ev.ID, lambdahost.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("put event %s of %s: %w", ev.ID, id.ARN(), lambdahost.ErrNotFound)
	case err != nil:
		return fmt.Errorf("put event %s: %w", ev.ID, err)
	}
	return nil
}

// DeleteEvent implements lambdahost.Tx.
func (t *tx) DeleteEvent(ctx context.Context, id string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete event %s: %w", id, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM async_events WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete event %s: %w", id, err)
	}
	return nil
}

// ListEvents implements lambdahost.Tx.
func (t *tx) ListEvents(ctx context.Context, after string, limit int) ([]*lambdahost.AsyncEvent, error) {
	rows, err := t.query(ctx, listEventsSQL, after, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return evs, nil
}

// scanEvents reads and closes rows of eventColumns.
func scanEvents(rows *sql.Rows) ([]*lambdahost.AsyncEvent, error) {
	defer rows.Close()
	var evs []*lambdahost.AsyncEvent
	for rows.Next() {
		ev := &lambdahost.AsyncEvent{}
		var created int64
		if err := rows.Scan(&ev.ID, &ev.Function.Account, &ev.Function.Region, &ev.Function.Name,
			&ev.Qualifier, &ev.RequestID, &ev.TraceID, &created, &ev.Node, &ev.Payload); err != nil {
			return nil, err
		}
		ev.Created = toTime(created)
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return evs, nil
}

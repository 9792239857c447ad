package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/lambdahost/lambdahost"
)

const eventColumns = `id, account, region, name, qualifier, request_id, trace_id, created, node, payload`

// PutEvent implements lambdahost.Tx.
func (t *tx) PutEvent(ctx context.Context, ev *lambdahost.AsyncEvent) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put event %s: %w", ev.ID, err)
	}
	payload := ev.Payload
	if payload == nil {
		payload = []byte{}
	}
	id := ev.Function
	if _, err := t.Function(ctx, id); err != nil {
		return fmt.Errorf("put event %s: %w", ev.ID, err)
	}
	tag, err := t.exec(ctx, `
		INSERT INTO async_events (`+eventColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING`,
		ev.ID, id.Account, id.Region, id.Name, ev.Qualifier, ev.RequestID, ev.TraceID, fromTime(ev.Created), ev.Node, payload)
	switch {
	case pgCode(err) == "23503":
		return fmt.Errorf("put event %s of %s: %w", ev.ID, id.ARN(), lambdahost.ErrNotFound)
	case err != nil:
		return fmt.Errorf("put event %s: %w", ev.ID, err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("put event %s: %w", ev.ID, lambdahost.ErrExists)
	}
	return nil
}

// DeleteEvent implements lambdahost.Tx.
func (t *tx) DeleteEvent(ctx context.Context, id string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete event %s: %w", id, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM async_events WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete event %s: %w", id, err)
	}
	return nil
}

// ListEvents implements lambdahost.Tx.
func (t *tx) ListEvents(ctx context.Context, after string, limit int) ([]*lambdahost.AsyncEvent, error) {
	evs, err := t.events(ctx, `SELECT `+eventColumns+` FROM async_events WHERE id > $1 ORDER BY id LIMIT $2`,
		after, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return evs, nil
}

// ClaimEvents implements lambdahost.Tx. FOR UPDATE SKIP LOCKED passes over
// the events other transactions are claiming right now, so that nodes
// claiming together take different events instead of waiting for each
// other.
func (t *tx) ClaimEvents(ctx context.Context, node, after string, limit int) ([]*lambdahost.AsyncEvent, error) {
	if err := t.writable(); err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	evs, err := t.events(ctx, `
		WITH free AS (
			SELECT e.id FROM async_events e
			WHERE e.id > $3
			AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = e.node AND n.expires > now())
			ORDER BY e.id
			LIMIT $2
			FOR UPDATE OF e SKIP LOCKED
		)
		UPDATE async_events SET node = $1
		FROM free WHERE async_events.id = free.id
		RETURNING async_events.id, account, region, name, qualifier, request_id, trace_id, created, node, payload`,
		node, sqlLimit(limit), after)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	sortEvents(evs)
	return evs, nil
}

func (t *tx) events(ctx context.Context, sql string, args ...any) ([]*lambdahost.AsyncEvent, error) {
	rows, err := t.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return collect(t, rows, func(r pgx.CollectableRow) (*lambdahost.AsyncEvent, error) {
		ev := &lambdahost.AsyncEvent{}
		var created int64
		if err := r.Scan(&ev.ID, &ev.Function.Account, &ev.Function.Region, &ev.Function.Name,
			&ev.Qualifier, &ev.RequestID, &ev.TraceID, &created, &ev.Node, &ev.Payload); err != nil {
			return nil, err
		}
		ev.Created = toTime(created)
		return ev, nil
	})
}

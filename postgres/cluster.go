package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/lambdahost/lambdahost"
)

// codeLock is the key of the advisory lock behind LockCode.
const codeLock int64 = 0x6c616d6264636f64 // "lambdcod"

// changesChannel is where the triggers of the schema announce changes.
const changesChannel = "lambdahost_changes"

// Heartbeat implements lambdahost.Coordinator. It also forgets nodes dead
// for a day, and their concurrency counts, so that the tables do not grow
// with every start of every node.
func (s *Store) Heartbeat(ctx context.Context, node string, ttl time.Duration) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO nodes (id, expires) VALUES ($1, now() + $2 * interval '1 microsecond')
		ON CONFLICT (id) DO UPDATE SET expires = excluded.expires`, node, ttl.Microseconds())
	b.Queue(`DELETE FROM nodes WHERE expires < now() - interval '1 day'`)
	b.Queue(`DELETE FROM inflight i WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = i.node)`)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("heartbeat of %s: %w", node, err)
	}
	return nil
}

// Leave implements lambdahost.Coordinator.
func (s *Store) Leave(ctx context.Context, node string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM nodes WHERE id = $1`, node)
	b.Queue(`DELETE FROM inflight WHERE node = $1`, node)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("leave %s: %w", node, err)
	}
	return nil
}

// Alive implements lambdahost.Coordinator.
func (s *Store) Alive(ctx context.Context, node string) (bool, error) {
	alive := false
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nodes WHERE id = $1 AND expires > now())`, node).Scan(&alive)
	if err != nil {
		return false, fmt.Errorf("is %s alive: %w", node, err)
	}
	return alive, nil
}

// LockCode implements lambdahost.Coordinator with a session advisory lock,
// held on a connection of its own until unlock: PostgreSQL releases it if
// the node dies and its connection drops. Exclusive requests queue among
// the shared ones, so that garbage collection is not starved by a steady
// stream of deployments.
func (s *Store) LockCode(ctx context.Context, exclusive bool) (func(), error) {
	conn, err := s.locks.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock code: %w", err)
	}
	lock, unlock := `SELECT pg_advisory_lock_shared($1)`, `SELECT pg_advisory_unlock_shared($1)`
	if exclusive {
		lock, unlock = `SELECT pg_advisory_lock($1)`, `SELECT pg_advisory_unlock($1)`
	}
	if _, err := conn.Exec(ctx, lock, codeLock); err != nil {
		// Cancelled while waiting: the lock may have been granted as the
		// cancel arrived. Closing the session releases it either way.
		conn.Conn().Close(context.Background())
		conn.Release()
		return nil, fmt.Errorf("lock code: %w", err)
	}
	return sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, unlock, codeLock); err != nil {
			conn.Conn().Close(ctx)
		}
		conn.Release()
	}), nil
}

// AcquireConcurrency implements lambdahost.Coordinator: one call of the
// schema's lambdahost_admit, outside any transaction of the caller.
func (s *Store) AcquireConcurrency(ctx context.Context, node, key string, limit int) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT lambdahost_admit($1, $2, $3)`, key, node, limit).Scan(&ok); err != nil {
		return false, fmt.Errorf("acquire concurrency %s: %w", key, err)
	}
	return ok, nil
}

// ReleaseConcurrency implements lambdahost.Coordinator.
func (s *Store) ReleaseConcurrency(ctx context.Context, node, key string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE inflight SET n = n - 1 WHERE key = $1 AND node = $2 AND n > 0`, key, node); err != nil {
		return fmt.Errorf("release concurrency %s: %w", key, err)
	}
	return nil
}

// Watch implements lambdahost.Coordinator with LISTEN on a connection of
// its own: the schema's triggers NOTIFY every change to a function, its
// versions and aliases when its transaction commits. If the connection
// drops, Watch reconnects after a second and reports the zero
// FunctionID, since notifications sent meanwhile are lost.
func (s *Store) Watch(ctx context.Context, fn func(lambdahost.FunctionID)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h := &watchHandler{fn: fn}
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				s.logger().WarnContext(ctx, "watch changes", lambdahost.LogKeyError, err)
			}
		},
		ReconnectDelay: time.Second,
	}
	l.Handle(changesChannel, h)
	return l.Listen(ctx)
}

func (s *Store) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// watchHandler hands notifications to a Watch's fn.
type watchHandler struct {
	fn        func(lambdahost.FunctionID)
	connected bool
}

// HandleBacklog runs each time the listener has (re)connected: after a
// reconnection, notifications may have been missed.
func (h *watchHandler) HandleBacklog(ctx context.Context, channel string, conn *pgx.Conn) error {
	if h.connected {
		h.fn(lambdahost.FunctionID{})
	}
	h.connected = true
	return nil
}

func (h *watchHandler) HandleNotification(ctx context.Context, n *pgconn.Notification, conn *pgx.Conn) error {
	parts := strings.SplitN(n.Payload, "/", 3)
	if len(parts) != 3 {
		return fmt.Errorf("malformed change notification %q", n.Payload)
	}
	h.fn(lambdahost.FunctionID{Account: parts[0], Region: parts[1], Name: parts[2]})
	return nil
}

// Claim implements lambdahost.Tx.
func (t *tx) Claim(ctx context.Context, kind, key, node string) (bool, error) {
	if err := t.writable(); err != nil {
		return false, fmt.Errorf("claim %s %s: %w", kind, key, err)
	}
	var holder string
	err := t.queryRow(ctx, `
		INSERT INTO claims (kind, key, node) VALUES ($1, $2, $3)
		ON CONFLICT (kind, key) DO UPDATE SET node = excluded.node
			WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = claims.node AND n.expires > now())
		RETURNING node`, []any{kind, key, node}, &holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim %s %s: %w", kind, key, err)
	}
	return true, nil
}

// Unclaim implements lambdahost.Tx.
func (t *tx) Unclaim(ctx context.Context, kind, key, node string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("unclaim %s %s: %w", kind, key, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM claims WHERE kind = $1 AND key = $2 AND node = $3`, kind, key, node); err != nil {
		return fmt.Errorf("unclaim %s %s: %w", kind, key, err)
	}
	return nil
}

// sortEvents orders events by ID, as RETURNING does not.
func sortEvents(evs []*lambdahost.AsyncEvent) {
	slices.SortFunc(evs, func(a, b *lambdahost.AsyncEvent) int { return strings.Compare(a.ID, b.ID) })
}

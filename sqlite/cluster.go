package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// A SQLite store is served by one process at a time, so what nodes
// coordinate through that needs no durability lives in memory here: the
// code lock, the concurrency counts and the watchers. Node registrations,
// claims and the nodes of events are tables, because claimed work must
// outlive the process that claimed it (Open forgets the nodes of earlier
// processes, so their work is free for the next).

// coordinator is the in-memory part of a Store's Coordinator.
type coordinator struct {
	code sync.RWMutex

	mu sync.Mutex
	// alive mirrors the nodes table: when each node's registration
	// expires.
	alive map[string]time.Time
	// inflight counts invocations per key and node.
	inflight map[string]map[string]int
	watchers []*watcher
}

// Heartbeat implements lambdahost.Coordinator.
func (s *Store) Heartbeat(ctx context.Context, node string, ttl time.Duration) error {
	expires := time.Now().Add(ttl)
	err := s.Update(ctx, func(lt lambdahost.Tx) error {
		_, err := lt.(*tx).exec(ctx, `
			INSERT INTO nodes (id, expires) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET expires = excluded.expires`, node, expires.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("heartbeat of %s: %w", node, err)
	}
	s.coord.mu.Lock()
	defer s.coord.mu.Unlock()
	if s.coord.alive == nil {
		s.coord.alive = map[string]time.Time{}
	}
	s.coord.alive[node] = expires
	return nil
}

// Leave implements lambdahost.Coordinator.
func (s *Store) Leave(ctx context.Context, node string) error {
	s.coord.mu.Lock()
	delete(s.coord.alive, node)
	for key, byNode := range s.coord.inflight {
		delete(byNode, node)
		if len(byNode) == 0 {
			delete(s.coord.inflight, key)
		}
	}
	s.coord.mu.Unlock()
	err := s.Update(ctx, func(lt lambdahost.Tx) error {
		_, err := lt.(*tx).exec(ctx, `DELETE FROM nodes WHERE id = ?`, node)
		return err
	})
	if err != nil {
		return fmt.Errorf("leave %s: %w", node, err)
	}
	return nil
}

// Alive implements lambdahost.Coordinator.
func (s *Store) Alive(ctx context.Context, node string) (bool, error) {
	alive := false
	err := s.View(ctx, func(lt lambdahost.Tx) error {
		err := lt.(*tx).queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nodes WHERE id = ? AND expires > ?)`, node, time.Now().UnixNano()).Scan(&alive)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("is %s alive: %w", node, err)
	}
	return alive, nil
}

// LockCode implements lambdahost.Coordinator with a lock of this process.
func (s *Store) LockCode(ctx context.Context, exclusive bool) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lock code: %w", err)
	}
	if exclusive {
		s.coord.code.Lock()
		return sync.OnceFunc(s.coord.code.Unlock), nil
	}
	s.coord.code.RLock()
	return sync.OnceFunc(s.coord.code.RUnlock), nil
}

// AcquireConcurrency implements lambdahost.Coordinator.
func (s *Store) AcquireConcurrency(ctx context.Context, node, key string, limit int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("acquire concurrency %s: %w", key, err)
	}
	c := &s.coord
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	total := 0
	for n, count := range c.inflight[key] {
		if c.alive[n].After(now) {
			total += count
		}
	}
	if total >= limit {
		return false, nil
	}
	if c.inflight == nil {
		c.inflight = map[string]map[string]int{}
	}
	if c.inflight[key] == nil {
		c.inflight[key] = map[string]int{}
	}
	c.inflight[key][node]++
	return true, nil
}

// ReleaseConcurrency implements lambdahost.Coordinator.
func (s *Store) ReleaseConcurrency(ctx context.Context, node, key string) error {
	c := &s.coord
	c.mu.Lock()
	defer c.mu.Unlock()
	byNode := c.inflight[key]
	if byNode[node] > 0 {
		byNode[node]--
	}
	if byNode[node] == 0 {
		delete(byNode, node)
	}
	if len(byNode) == 0 {
		delete(c.inflight, key)
	}
	return nil
}

// watcher is a Watch in progress: the IDs published and not yet handed to
// its fn, which a goroutine of its own calls.
type watcher struct {
	mu      sync.Mutex
	pending []lambdahost.FunctionID
	wake    chan struct{}
}

// Watch implements lambdahost.Coordinator. Only this process writes a
// SQLite store, so the changes are those its Updates commit.
func (s *Store) Watch(ctx context.Context, fn func(lambdahost.FunctionID)) error {
	w := &watcher{wake: make(chan struct{}, 1)}
	c := &s.coord
	c.mu.Lock()
	c.watchers = append(c.watchers, w)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.watchers = slices.DeleteFunc(c.watchers, func(x *watcher) bool { return x == w })
		c.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.wake:
		}
		w.mu.Lock()
		ids := w.pending
		w.pending = nil
		w.mu.Unlock()
		for _, id := range ids {
			fn(id)
		}
	}
}

// publish hands the functions a committed Update changed to the watchers.
// It never waits for them.
func (c *coordinator) publish(changed map[lambdahost.FunctionID]struct{}) {
	if len(changed) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.watchers {
		w.mu.Lock()
		for id := range changed {
			w.pending = append(w.pending, id)
		}
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// liveNodesSQL selects the IDs of nodes alive at the time bound as ?.
const liveNodesSQL = `SELECT id FROM nodes WHERE expires > ?`

// Claim implements lambdahost.Tx.
func (t *tx) Claim(ctx context.Context, kind, key, node string) (bool, error) {
	if err := t.writable(); err != nil {
		return false, fmt.Errorf("claim %s %s: %w", kind, key, err)
	}
	rows, err := t.query(ctx, `
		INSERT INTO claims (kind, key, node) VALUES (?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET node = excluded.node
			WHERE claims.node NOT IN (`+liveNodesSQL+`)
		RETURNING node`, kind, key, node, time.Now().UnixNano())
	if err != nil {
		return false, fmt.Errorf("claim %s %s: %w", kind, key, err)
	}
	defer rows.Close()
	won := rows.Next()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("claim %s %s: %w", kind, key, err)
	}
	return won, nil
}

// Unclaim implements lambdahost.Tx.
func (t *tx) Unclaim(ctx context.Context, kind, key, node string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("unclaim %s %s: %w", kind, key, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM claims WHERE kind = ? AND key = ? AND node = ?`, kind, key, node); err != nil {
		return fmt.Errorf("unclaim %s %s: %w", kind, key, err)
	}
	return nil
}

// ClaimEvents implements lambdahost.Tx.
func (t *tx) ClaimEvents(ctx context.Context, node, after string, limit int) ([]*lambdahost.AsyncEvent, error) {
	if err := t.writable(); err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	rows, err := t.query(ctx, `
		UPDATE async_events SET node = ?1
		WHERE id IN (SELECT id FROM async_events
			WHERE id > ?4 AND node NOT IN (SELECT id FROM nodes WHERE expires > ?2)
			ORDER BY id
			LIMIT ?3)
		RETURNING `+eventColumns, node, time.Now().UnixNano(), sqlLimit(limit), after)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	// RETURNING gives rows in no particular order.
	slices.SortFunc(evs, func(a, b *lambdahost.AsyncEvent) int { return strings.Compare(a.ID, b.ID) })
	return evs, nil
}

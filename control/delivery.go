package control

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// The delivery loop sends the stored deliveries (see FinishEvent) to
// their destinations through Messengers, deletes each once its service
// accepted it, and retries a failed one with backoff until it is
// MaxDeliveryAge old: at least once, in no particular order. A node sends
// the deliveries it stored; Sweep claims those of nodes that are gone.

// Defaults of the delivery loop.
const (
	// DefaultMaxDeliveryAge is how long a message that cannot be sent is
	// retried before it is given up.
	DefaultMaxDeliveryAge = 6 * time.Hour
	// DefaultDeliveryBackoff is the first wait after a failed send; each
	// next one doubles, up to maxDeliveryBackoff.
	DefaultDeliveryBackoff = time.Second
	maxDeliveryBackoff     = 5 * time.Minute
	// deliveryWorkers is how many messages a node sends at once.
	deliveryWorkers = 4
)

// deliveryBody is a Delivery's Body: the message, and whether it is a
// dead-letter message (counted as DeadLetterErrors when it fails).
type deliveryBody struct {
	Message    *lambdahost.Message `json:"message"`
	DeadLetter bool                `json:"deadLetter,omitempty"`
}

// putDelivery stores m for this node to send, in tx.
func (s *Service) putDelivery(ctx context.Context, tx lambdahost.Tx, m *lambdahost.Message, now time.Time, deadLetter bool) (*lambdahost.Delivery, error) {
	body, err := json.Marshal(&deliveryBody{Message: m, DeadLetter: deadLetter})
	if err != nil {
		return nil, err
	}
	d := &lambdahost.Delivery{ID: lambdahost.NewEventID(now), Node: s.Node, Created: now, Target: m.Target, Body: body}
	return d, tx.PutDelivery(ctx, d)
}

// queuedDelivery is a delivery waiting in this node's queue.
type queuedDelivery struct {
	d        *lambdahost.Delivery
	attempts int
	due      time.Time
}

// deliveryQueue holds the deliveries this node sends, by due time.
type deliveryQueue struct {
	mu    sync.Mutex
	items []*queuedDelivery
	// queued is the IDs in items or being sent, so that a delivery
	// claimed again (a sweep after this node's own restart) is not sent
	// twice at once.
	queued map[string]bool
	wake   chan struct{}
}

func (q *deliveryQueue) push(it *queuedDelivery, fresh bool) {
	q.mu.Lock()
	if fresh && q.queued[it.d.ID] {
		q.mu.Unlock()
		return
	}
	q.queued[it.d.ID] = true
	i, _ := slices.BinarySearchFunc(q.items, it, func(a, b *queuedDelivery) int { return a.due.Compare(b.due) })
	q.items = slices.Insert(q.items, i, it)
	q.mu.Unlock()
	q.signal()
}

func (q *deliveryQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next takes the first delivery due at clock's time, or answers how long
// until one is (a day if the queue is empty).
//
// It reads clock only when a delivery is queued: an idle node's loop does
// not look at the time (nor race with tests that move their clock).
func (q *deliveryQueue) next(clock func() time.Time) (*queuedDelivery, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil, 24 * time.Hour
	}
	now := clock()
	if it := q.items[0]; !it.due.After(now) {
		q.items = q.items[1:]
		if len(q.items) > 0 {
			q.signal() // another worker may take the next one
		}
		return it, 0
	}
	return nil, q.items[0].due.Sub(now)
}

func (q *deliveryQueue) done(id string) {
	q.mu.Lock()
	delete(q.queued, id)
	q.mu.Unlock()
}

// Pending returns how many deliveries this node has yet to send.
func (s *Service) Pending() int {
	s.init()
	s.deliveries.mu.Lock()
	defer s.deliveries.mu.Unlock()
	return len(s.deliveries.queued)
}

// deliver queues ds, stored by this node or claimed by it, to be sent.
func (s *Service) deliver(ds ...*lambdahost.Delivery) {
	now := s.Now()
	for _, d := range ds {
		s.deliveries.push(&queuedDelivery{d: d, due: now}, true)
	}
}

// deliveryLoop sends queued deliveries until ctx is done.
func (s *Service) deliveryLoop(ctx context.Context) {
	// The clock is read (s.Now too) only when a delivery is queued.
	clock := func() time.Time { return s.Now() }
	for {
		it, wait := s.deliveries.next(clock)
		if it == nil {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-s.deliveries.wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		s.send(ctx, it)
	}
}

// send makes one attempt at a delivery: deleted once sent or given up,
// queued again with backoff otherwise.
func (s *Service) send(ctx context.Context, it *queuedDelivery) {
	d := it.d
	log := s.Logger.With("destination", d.Target, "delivery", d.ID)
	var body deliveryBody
	if err := json.Unmarshal(d.Body, &body); err != nil || body.Message == nil {
		log.ErrorContext(ctx, "delivery dropped: its stored message cannot be read", lambdahost.LogKeyError, err)
		s.finishDelivery(ctx, d)
		return
	}
	m := s.Messengers[destinationService(d.Target)]
	var err error
	if m == nil {
		err = fmt.Errorf("no messenger for %s destinations", destinationService(d.Target))
	} else {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = m.Send(sctx, body.Message)
		cancel()
	}
	if err == nil {
		s.Metrics.DestinationDeliveries.Add(1)
		log.DebugContext(ctx, "delivered to destination")
		s.finishDelivery(ctx, d)
		return
	}
	if ctx.Err() != nil {
		s.deliveries.done(d.ID)
		return // shutting down: the delivery stays stored
	}
	if body.DeadLetter {
		s.Metrics.DeadLetterErrors.Add(1)
	} else {
		s.Metrics.DestinationDeliveryFailures.Add(1)
	}
	it.attempts++
	age := s.Now().Sub(d.Created)
	if age > s.MaxDeliveryAge {
		log.ErrorContext(ctx, "delivery given up: the destination refused it for too long", "attempts", it.attempts, "dead_letter", body.DeadLetter, lambdahost.LogKeyError, err)
		s.finishDelivery(ctx, d)
		// Counted once it is gone: a scrape that sees it finds it deleted.
		s.Metrics.DestinationDeliveriesExpired.Add(1)
		return
	}
	wait := s.DeliveryBackoff << min(it.attempts-1, 20)
	wait = min(wait, maxDeliveryBackoff)
	log.WarnContext(ctx, "delivery to destination failed; it is retried", "attempts", it.attempts, "retry_in", wait, "dead_letter", body.DeadLetter, lambdahost.LogKeyError, err)
	it.due = s.Now().Add(wait)
	s.deliveries.push(it, false)
}

// finishDelivery deletes a delivery that needs no further attempt.
func (s *Service) finishDelivery(ctx context.Context, d *lambdahost.Delivery) {
	dctx := context.WithoutCancel(ctx)
	err := s.store.Update(dctx, func(tx lambdahost.Tx) error { return tx.DeleteDelivery(dctx, d.ID) })
	if err != nil {
		// It will be sent again by whoever claims it: at least once.
		s.Logger.ErrorContext(ctx, "delete sent delivery", "delivery", d.ID, lambdahost.LogKeyError, err)
	}
	s.deliveries.done(d.ID)
}

// claimDeliveries takes over the deliveries no live node holds.
func (s *Service) claimDeliveries(ctx context.Context) error {
	after := ""
	for {
		var page []*lambdahost.Delivery
		err := s.store.Update(ctx, func(tx lambdahost.Tx) (err error) {
			page, err = tx.ClaimDeliveries(ctx, s.Node, after, 100)
			return err
		})
		if err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		s.Logger.InfoContext(ctx, "took over deliveries", "count", len(page))
		s.deliver(page...)
		after = page[len(page)-1].ID
	}
}

package logs

import (
	"context"
	"errors"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lambdahost/lambdahost"
)

// Defaults of the Ingester.
const (
	// DefaultFlushInterval is how long events wait before they are written.
	DefaultFlushInterval = 200 * time.Millisecond
	// DefaultMaxPending bounds the events waiting to be written.
	DefaultMaxPending = 200000
	// flushAt is how many pending events start a write before the interval.
	flushAt = 5000
)

// Ingester stores functions' output: it implements lambdahost.LogSink for
// the executor. Log only appends to a buffer in memory; a goroutine
// writes the buffer to the store every FlushInterval (or sooner once
// flushAt events wait), all streams in one transaction, creating log
// groups and streams on first use as Lambda does. Close writes what is
// left.
//
// What a crash can lose: events logged during the last FlushInterval
// before a kill -9 (or a power loss), which were never acknowledged to
// anyone. Events PutLogEvents acknowledged are durable already.
type Ingester struct {
	svc *Service

	// FlushInterval is how long events wait in memory at most. If 0,
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// MaxPending bounds the events in memory: when the store falls behind
	// by more, the oldest pending events are dropped and counted in a
	// warning. If 0, DefaultMaxPending.
	MaxPending int

	mu      sync.Mutex
	pending map[streamKey][]lambdahost.LogEvent
	order   []streamKey
	n       int
	dropped int
	wake    chan struct{}
	// flushing serializes writes: Flush and the loop never write at once.
	flushing sync.Mutex

	startOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

type streamKey struct {
	group  lambdahost.LogGroupID
	stream string
}

var _ lambdahost.LogSink = (*Ingester)(nil)

// NewIngester returns an Ingester writing through svc. Start starts its
// writer; Close stops it.
func NewIngester(svc *Service) *Ingester {
	return &Ingester{svc: svc, pending: map[streamKey][]lambdahost.LogEvent{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Log implements lambdahost.LogSink. Messages longer than an event may be
// are split into several events; empty ones are left out.
func (in *Ingester) Log(group lambdahost.LogGroupID, stream string, events ...lambdahost.LogEvent) {
	k := streamKey{group, stream}
	in.mu.Lock()
	q, ok := in.pending[k]
	if !ok {
		in.order = append(in.order, k)
	}
	for _, e := range events {
		for _, m := range splitMessage(e.Message) {
			q = append(q, lambdahost.LogEvent{Time: e.Time, Message: m})
			in.n++
		}
	}
	in.pending[k] = q
	if in.n > in.maxPending() {
		in.dropOldestLocked()
	}
	full := in.n >= flushAt
	in.mu.Unlock()
	if full {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
}

// splitMessage cuts a message into pieces that fit an event, at UTF-8
// boundaries.
func splitMessage(m string) []string {
	const max = MaxEventSize - lambdahost.LogEventOverhead
	if m == "" {
		return nil
	}
	var out []string
	for len(m) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(m[cut]) {
			cut--
		}
		out = append(out, m[:cut])
		m = m[cut:]
	}
	return append(out, m)
}

func (in *Ingester) maxPending() int {
	if in.MaxPending <= 0 {
		return DefaultMaxPending
	}
	return in.MaxPending
}

// dropOldestLocked drops the oldest events of the longest queue until the
// buffer is back under its bound: a flood from one environment loses its
// own oldest lines first.
func (in *Ingester) dropOldestLocked() {
	for in.n > in.maxPending() {
		var longest streamKey
		for _, k := range in.order {
			if len(in.pending[k]) > len(in.pending[longest]) {
				longest = k
			}
		}
		q := in.pending[longest]
		drop := min(len(q), in.n-in.maxPending())
		if drop == 0 {
			return
		}
		in.pending[longest] = q[drop:]
		in.n -= drop
		in.dropped += drop
	}
}

func (in *Ingester) interval() time.Duration {
	if in.FlushInterval <= 0 {
		return DefaultFlushInterval
	}
	return in.FlushInterval
}

// Start starts the writer.
func (in *Ingester) Start() {
	in.startOnce.Do(func() { go in.run() })
}

func (in *Ingester) run() {
	defer close(in.done)
	t := time.NewTicker(in.interval())
	defer t.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-t.C:
		case <-in.wake:
		}
		if err := in.Flush(context.Background()); err != nil {
			in.svc.logger().Warn("store function logs", lambdahost.LogKeyError, err)
		}
	}
}

// Close stops the writer and writes the events still pending.
func (in *Ingester) Close() error {
	in.startOnce.Do(func() { close(in.done) }) // never started
	select {
	case <-in.stop:
	default:
		close(in.stop)
	}
	<-in.done
	return in.Flush(context.Background())
}

// Flush writes the pending events now. Events that cannot be written
// (the store failed) are put back to be tried again.
func (in *Ingester) Flush(ctx context.Context) error {
	in.flushing.Lock()
	defer in.flushing.Unlock()
	in.mu.Lock()
	batch, order, dropped := in.pending, in.order, in.dropped
	in.pending, in.order, in.n, in.dropped = map[streamKey][]lambdahost.LogEvent{}, nil, 0, 0
	in.mu.Unlock()
	if dropped > 0 {
		in.svc.logger().Warn("function logs dropped: the store falls behind", "events", dropped)
	}
	if len(order) == 0 {
		return nil
	}
	err := in.write(ctx, batch, order)
	if err != nil {
		in.mu.Lock()
		for _, k := range order {
			q, ok := in.pending[k]
			if !ok {
				in.order = append(in.order, k)
			}
			in.pending[k] = append(batch[k], q...)
			in.n += len(batch[k])
		}
		if in.n > in.maxPending() {
			in.dropOldestLocked()
		}
		in.mu.Unlock()
	}
	return err
}

// write stores a batch in one transaction.
func (in *Ingester) write(ctx context.Context, batch map[streamKey][]lambdahost.LogEvent, order []streamKey) error {
	now := in.svc.nowMS()
	accounts := map[string]bool{}
	return in.svc.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error {
		groups := map[lambdahost.LogGroupID]bool{}
		for _, k := range order {
			evs := batch[k]
			if len(evs) == 0 {
				continue
			}
			if !groups[k.group] {
				if _, err := tx.LogGroup(ctx, k.group); errors.Is(err, lambdahost.ErrNotFound) {
					if err := tx.CreateLogGroup(ctx, &lambdahost.LogGroup{ID: k.group, Created: now, Class: "STANDARD"}); err != nil {
						return err
					}
				} else if err != nil {
					return err
				}
				groups[k.group] = true
			}
			if _, err := tx.LogStream(ctx, k.group, k.stream); errors.Is(err, lambdahost.ErrNotFound) {
				if err := tx.CreateLogStream(ctx, &lambdahost.LogStream{Group: k.group, Name: k.stream, Created: now}); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
			for i := range evs {
				evs[i].Ingested = now
			}
			if err := tx.AppendLogEvents(ctx, k.group, k.stream, evs); err != nil {
				return err
			}
			accounts[k.group.Account] = true
		}
		for a := range accounts {
			if err := in.svc.bound(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// Sweeper deletes events past their group's retention and keeps every
// account under its storage bound, every Interval.
type Sweeper struct {
	svc *Service
	// Interval is the time between sweeps. If 0, 10 minutes.
	Interval time.Duration
}

// NewSweeper returns a Sweeper of svc's data.
func NewSweeper(svc *Service) *Sweeper { return &Sweeper{svc: svc} }

// Run sweeps now and every Interval until ctx is done.
func (sw *Sweeper) Run(ctx context.Context) {
	d := sw.Interval
	if d <= 0 {
		d = 10 * time.Minute
	}
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		if n, err := sw.Sweep(ctx); err != nil && ctx.Err() == nil {
			sw.svc.logger().Warn("sweep log retention", lambdahost.LogKeyError, err)
		} else if n > 0 {
			sw.svc.logger().Info("deleted log events past their retention", "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep deletes every group's events older than its retention, one group
// per transaction, then trims accounts over their bound. It returns how
// many events past their retention it deleted.
func (sw *Sweeper) Sweep(ctx context.Context) (int64, error) {
	s := sw.svc
	var groups []*lambdahost.LogGroup
	var accounts []string
	err := s.store.ViewLogs(ctx, func(tx lambdahost.LogTx) (err error) {
		if groups, err = tx.RetainedLogGroups(ctx); err != nil {
			return err
		}
		accounts, err = tx.LogAccounts(ctx)
		return err
	})
	if err != nil {
		return 0, err
	}
	var total int64
	for _, g := range groups {
		err := s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error {
			// The retention may have changed since the list was read.
			cur, err := tx.LogGroup(ctx, g.ID)
			if err != nil || cur.RetentionDays == 0 {
				return err
			}
			n, err := tx.DeleteLogEventsBefore(ctx, g.ID, s.expiry(cur.RetentionDays))
			total += n
			return err
		})
		if err != nil && !errors.Is(err, lambdahost.ErrNotFound) {
			return total, err
		}
	}
	for _, a := range accounts {
		if err := s.store.UpdateLogs(ctx, func(tx lambdahost.LogTx) error { return s.bound(ctx, tx, a) }); err != nil {
			return total, err
		}
	}
	return total, nil
}

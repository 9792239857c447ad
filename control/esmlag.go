package control

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdahost/lambdahost"
)

// How far behind its source each mapping this node polls is. A poll loop
// (a queue's worker, a stream's shard reader) holds the records it took
// from the source until they are settled: for SQS, from ReceiveMessage
// until they are deleted or left to the visibility timeout; for Kinesis,
// from GetRecords until the checkpoint moves past them (after retries, or
// once they are given up). A mapping's lag is the age of the oldest
// record any of its loops holds, by the source's own clock (SQS's
// SentTimestamp, Kinesis's ApproximateArrivalTimestamp), and 0 while they
// hold none. The records a loop has not yet taken do not count: SQS tells
// no consumer the age of its oldest message, and the loops take records as
// soon as the last ones are settled, so a backlog shows as the age of each
// batch in turn.

// MappingLag is how far an event source mapping that this node polls is
// behind its source.
type MappingLag struct {
	Function lambdahost.FunctionID
	UUID     string
	Lag      time.Duration
}

// lagHolder is one poll loop's hold on records.
type lagHolder struct {
	// oldest is the arrival, in Unix nanoseconds, of the oldest record
	// held; 0 when none is.
	oldest atomic.Int64
}

// hold records that the loop holds records, the oldest of which arrived
// at oldest.
func (h *lagHolder) hold(oldest time.Time) { h.oldest.Store(max(oldest.UnixNano(), 1)) }

// release records that the loop holds no record.
func (h *lagHolder) release() { h.oldest.Store(0) }

// mappingLag gathers the holders of one mapping's poll loops.
type mappingLag struct {
	fn      lambdahost.FunctionID
	uuid    string
	mu      sync.Mutex
	holders map[*lagHolder]struct{}
}

func newMappingLag(m *EventSourceMapping) *mappingLag {
	return &mappingLag{fn: m.Function, uuid: m.UUID, holders: map[*lagHolder]struct{}{}}
}

// holder adds a poll loop; it calls drop when it ends.
func (l *mappingLag) holder() (h *lagHolder, drop func()) {
	h = &lagHolder{}
	l.mu.Lock()
	l.holders[h] = struct{}{}
	l.mu.Unlock()
	return h, func() {
		l.mu.Lock()
		delete(l.holders, h)
		l.mu.Unlock()
	}
}

// lag is the age at now of the oldest record held, 0 if none is.
func (l *mappingLag) lag(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var oldest int64
	for h := range l.holders {
		if o := h.oldest.Load(); o != 0 && (oldest == 0 || o < oldest) {
			oldest = o
		}
	}
	if oldest == 0 {
		return 0
	}
	return max(now.Sub(time.Unix(0, oldest)), 0)
}

// EventSourceLag answers, for every event source mapping this node polls
// now, how far it is behind its source: the age of the oldest record its
// poll loops took from the source and have not settled, 0 if they hold
// none. Sorted by UUID.
func (s *Service) EventSourceLag() []MappingLag {
	s.init()
	now := s.Now()
	s.esm.mu.Lock()
	lags := make([]*mappingLag, 0, len(s.esm.pollers))
	for _, p := range s.esm.pollers {
		lags = append(lags, p.lag)
	}
	s.esm.mu.Unlock()
	out := make([]MappingLag, 0, len(lags))
	for _, l := range lags {
		out = append(out, MappingLag{Function: l.fn, UUID: l.uuid, Lag: l.lag(now)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UUID < out[j].UUID })
	return out
}

// oldestSent is the SentTimestamp of the oldest message of batch, or
// received for a message without one.
func oldestSent(batch []*lambdahost.QueueMessage, received time.Time) time.Time {
	oldest := received
	for _, msg := range batch {
		ms, err := strconv.ParseInt(msg.Attributes["SentTimestamp"], 10, 64)
		if err != nil {
			continue
		}
		if t := time.UnixMilli(ms); t.Before(oldest) {
			oldest = t
		}
	}
	return oldest
}

// oldestArrival is the arrival of the oldest of recs, or read for a
// record without one.
func oldestArrival(recs []lambdahost.StreamRecord, read time.Time) time.Time {
	oldest := read
	for _, r := range recs {
		if !r.Arrival.IsZero() && r.Arrival.Before(oldest) {
			oldest = r.Arrival
		}
	}
	return oldest
}

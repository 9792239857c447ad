package control

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
)

// TestEventSourceLag: a mapping's lag is the age of the oldest record any
// of its poll loops holds, 0 while they hold none; only the mappings this
// node polls are reported.
func TestEventSourceLag(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(nil, nil)
	s.Now = func() time.Time { return now }
	s.init()
	fn := lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: "f"}
	a := &EventSourceMapping{UUID: "a", Function: fn}
	b := &EventSourceMapping{UUID: "b", Function: fn}
	pa := &poller{lag: newMappingLag(a)}
	pb := &poller{lag: newMappingLag(b)}
	s.esm.pollers["a"], s.esm.pollers["b"] = pa, pb

	h1, drop1 := pa.lag.holder()
	h2, _ := pa.lag.holder()
	if got := s.EventSourceLag(); !slices.Equal(got, []MappingLag{{fn, "a", 0}, {fn, "b", 0}}) {
		t.Fatalf("nothing held: %v", got)
	}
	h1.hold(now.Add(-3 * time.Second))
	h2.hold(now.Add(-10 * time.Second))
	if got := s.EventSourceLag(); got[0].Lag != 10*time.Second || got[1].Lag != 0 {
		t.Errorf("two loops hold records: %v, want the older's age", got)
	}
	h2.release()
	if got := s.EventSourceLag(); got[0].Lag != 3*time.Second {
		t.Errorf("one loop released: %v", got)
	}
	drop1()
	if got := s.EventSourceLag(); got[0].Lag != 0 {
		t.Errorf("the loop holding records ended: %v", got)
	}
	h2.hold(now.Add(time.Second)) // a clock ahead of ours
	if got := s.EventSourceLag(); got[0].Lag != 0 {
		t.Errorf("a record from the future: %v, want 0", got)
	}
	delete(s.esm.pollers, "a")
	if got := s.EventSourceLag(); len(got) != 1 || got[0].UUID != "b" {
		t.Errorf("a stopped poller is still reported: %v", got)
	}
}

func TestOldestRecord(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(d time.Duration) map[string]string {
		return map[string]string{"SentTimestamp": strconv.FormatInt(now.Add(-d).UnixMilli(), 10)}
	}
	batch := []*lambdahost.QueueMessage{{Attributes: ms(2 * time.Second)}, {Attributes: ms(7 * time.Second)}, {Attributes: map[string]string{"SentTimestamp": "junk"}}, {}}
	if got := oldestSent(batch, now); !got.Equal(now.Add(-7 * time.Second)) {
		t.Errorf("oldestSent %v, want 7s ago", got)
	}
	if got := oldestSent(batch[2:], now); !got.Equal(now) {
		t.Errorf("oldestSent without timestamps %v, want the time received", got)
	}
	recs := []lambdahost.StreamRecord{{Arrival: now.Add(-time.Second)}, {Arrival: now.Add(-5 * time.Second)}, {}}
	if got := oldestArrival(recs, now); !got.Equal(now.Add(-5 * time.Second)) {
		t.Errorf("oldestArrival %v, want 5s ago", got)
	}
	if got := oldestArrival(recs[2:], now); !got.Equal(now) {
		t.Errorf("oldestArrival without arrivals %v, want the time read", got)
	}
}

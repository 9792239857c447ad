package invoke_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/invoke"
)

// asyncProbe counts the runs of one asynchronous event (its START lines)
// and the calls of its Done.
type asyncProbe struct {
	mu     sync.Mutex
	starts int
	// startsAtDone is starts when Done was first called.
	startsAtDone int
	dones        atomic.Int32
	done         chan struct{}
}

// newAsyncProbe makes f's executor count the runs of request id, and
// returns a probe whose done fn to set as Request.Done.
func newAsyncProbe(f *fixture, id string) *asyncProbe {
	p := &asyncProbe{done: make(chan struct{})}
	f.x.FunctionLog = func(fn lambdahost.FunctionID, line []byte) {
		if bytes.HasPrefix(line, []byte("START RequestId: "+id+" ")) {
			p.mu.Lock()
			p.starts++
			p.mu.Unlock()
		}
	}
	return p
}

func (p *asyncProbe) Done() {
	if p.dones.Add(1) == 1 {
		p.mu.Lock()
		p.startsAtDone = p.starts
		p.mu.Unlock()
		close(p.done)
	}
}

func (p *asyncProbe) runs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// TestAsyncDone checks that Done is called exactly once, when the event is
// finished for good, however it ends: after it ran, after its retries,
// or without running at all.
func TestAsyncDone(t *testing.T) {
	zero := 0
	throttled := func(t *testing.T) invoke.Target {
		tg := target(t, "A")
		tg.ReservedConcurrency = &zero
		return tg
	}
	tests := []struct {
		name    string
		payload string
		// target is target(t, "A") if nil.
		target  func(t *testing.T) invoke.Target
		queued  time.Time
		refresh func(t *testing.T, calls *atomic.Int32) func(context.Context) (invoke.Target, error)
		// runs is how many times the function runs.
		runs int
		// refreshes is how many times Refresh is called.
		refreshes int32
	}{
		{name: "success", payload: `{}`, runs: 1},
		// One run and two retries, as RetryDelays has two delays.
		{name: "failure-after-retries", payload: `{"fail":"always"}`, runs: 3},
		{name: "failure-after-retries-refreshed", payload: `{"fail":"always"}`, runs: 3, refreshes: 2,
			refresh: func(t *testing.T, calls *atomic.Int32) func(context.Context) (invoke.Target, error) {
				return func(context.Context) (invoke.Target, error) { calls.Add(1); return target(t, "A"), nil }
			}},
		// An error that is not throttling: it would fail again.
		{name: "unavailable-runtime", payload: `{}`, runs: 0, target: func(t *testing.T) invoke.Target {
			return target(t, "A", func(v *lambdahost.Version) { v.Config.Runtime = "java21" })
		}},
		// An event replayed after it expired is not run.
		{name: "max-event-age", payload: `{}`, runs: 0, queued: time.Now().Add(-invoke.DefaultMaxEventAge - time.Minute)},
		// Refresh sees the reserved concurrency lifted: the retry runs.
		{name: "refresh-ends-throttling", payload: `{}`, runs: 1, refreshes: 1, target: throttled,
			refresh: func(t *testing.T, calls *atomic.Int32) func(context.Context) (invoke.Target, error) {
				return func(context.Context) (invoke.Target, error) { calls.Add(1); return target(t, "A"), nil }
			}},
		// Refresh finds the function deleted: the event ends unrun.
		{name: "refresh-not-found", payload: `{}`, runs: 0, refreshes: 1, target: throttled,
			refresh: func(t *testing.T, calls *atomic.Int32) func(context.Context) (invoke.Target, error) {
				return func(context.Context) (invoke.Target, error) {
					calls.Add(1)
					return invoke.Target{}, lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Function not found")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			p := newAsyncProbe(f, "async")
			tg := target(t, "A")
			if tt.target != nil {
				tg = tt.target(t)
			}
			var refreshes atomic.Int32
			req := &invoke.Request{Target: tg, RequestID: "async", Payload: []byte(tt.payload), Queued: tt.queued, Done: p.Done}
			if tt.refresh != nil {
				req.Refresh = tt.refresh(t, &refreshes)
			}
			f.x.InvokeAsync(req)
			select {
			case <-p.done:
			case <-time.After(waitBound):
				t.Fatalf("Done not called after %v; the function ran %d times", waitBound, p.runs())
			}
			// Nothing more happens: no retry, no second Done.
			time.Sleep(200 * time.Millisecond)
			if n := p.dones.Load(); n != 1 {
				t.Errorf("Done called %d times, want once", n)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.startsAtDone != tt.runs || p.starts != tt.runs {
				t.Errorf("the function ran %d times before Done and %d in all, want %d", p.startsAtDone, p.starts, tt.runs)
			}
			if n := refreshes.Load(); n != tt.refreshes {
				t.Errorf("Refresh called %d times, want %d", n, tt.refreshes)
			}
		})
	}
}

// TestAsyncNotDoneOnClose checks that closing the executor leaves
// unfinished events unfinished, whether they wait for a retry or fail as
// it closes: their Done is never called, so that a restart runs them
// again. Only a success as it closes finishes an event.
func TestAsyncNotDoneOnClose(t *testing.T) {
	zero := 0
	tests := []struct {
		name    string
		payload string
		target  func(t *testing.T) invoke.Target
		// started waits until the event is where Close should find it.
		started func(p *asyncProbe) bool
		// wantDone is how many times Done is called.
		wantDone int32
	}{
		{name: "waiting-after-throttling", payload: `{}`,
			target: func(t *testing.T) invoke.Target {
				tg := target(t, "A")
				tg.ReservedConcurrency = &zero
				return tg
			},
			started: func(*asyncProbe) bool { return true }},
		{name: "waiting-for-a-retry", payload: `{"fail":"always"}`,
			target:  func(t *testing.T) invoke.Target { return target(t, "A") },
			started: func(p *asyncProbe) bool { return p.runs() >= 1 }},
		// Close lets a running invocation finish; its failure may be
		// Close's doing, so it leaves the event unfinished.
		{name: "running-fails", payload: `{"sleep_ms":1000,"fail":"late"}`,
			target:  func(t *testing.T) invoke.Target { return target(t, "A") },
			started: func(p *asyncProbe) bool { return p.runs() >= 1 }},
		// A success is final, even as the executor closes.
		{name: "running-succeeds", payload: `{"sleep_ms":1000}`, wantDone: 1,
			target:  func(t *testing.T) invoke.Target { return target(t, "A") },
			started: func(p *asyncProbe) bool { return p.runs() >= 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			// Retries wait far longer than Close may take (waitBound), and
			// Close lets a running invocation (one second) finish.
			f.x.RetryDelays = []time.Duration{time.Hour}
			f.x.CloseGrace = time.Minute
			p := newAsyncProbe(f, "async")
			f.x.InvokeAsync(&invoke.Request{Target: tt.target(t), RequestID: "async", Payload: []byte(tt.payload), Done: p.Done,
				Refresh: func(context.Context) (invoke.Target, error) { return tt.target(t), nil }})
			deadline := time.Now().Add(waitBound)
			for !tt.started(p) {
				if time.Now().After(deadline) {
					t.Fatalf("the event did not start in %v", waitBound)
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
			closed := make(chan struct{})
			go func() {
				f.x.Close()
				close(closed)
			}()
			select {
			case <-closed:
			case <-time.After(waitBound + f.x.CloseGrace):
				t.Fatalf("Close did not return in %v: it waits for asynchronous events", waitBound+f.x.CloseGrace)
			}
			// Close has waited for the event's goroutine: Done would have run.
			if n := p.dones.Load(); n != tt.wantDone {
				t.Errorf("Done called %d times by the end of Close, want %d", n, tt.wantDone)
			}
		})
	}
}

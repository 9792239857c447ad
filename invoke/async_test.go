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
	// out is the outcome Done was first called with.
	out *invoke.AsyncOutcome
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

func (p *asyncProbe) Done(out *invoke.AsyncOutcome) {
	if p.dones.Add(1) == 1 {
		p.mu.Lock()
		p.startsAtDone = p.starts
		p.out = out
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
// finished for good, however it ends (after it ran, after its retries,
// or without running at all), and with the condition Lambda's records
// name and the number of runs.
func TestAsyncDone(t *testing.T) {
	zero, one := 0, 1
	failFirst := func(t *testing.T, calls *atomic.Int32) func(context.Context) (invoke.Target, error) {
		return func(context.Context) (invoke.Target, error) { calls.Add(1); return target(t, "A"), nil }
	}
	tests := []struct {
		name    string
		payload string
		// target is target(t, "A") if nil.
		target     func(t *testing.T) invoke.Target
		queued     time.Time
		delays     []time.Duration
		maxRetries *int
		maxAge     time.Duration
		refresh    func(t *testing.T, calls *atomic.Int32) func(context.Context) (invoke.Target, error)
		// runs is how many times the function runs.
		runs int
		// refreshes is how many times Refresh is called.
		refreshes int32
		condition string
		// platformError: the outcome carries the error of the last try.
		platformError bool
	}{
		{name: "success", payload: `{}`, runs: 1, condition: invoke.ConditionSuccess},
		// One run and two retries, as RetryDelays has two delays.
		{name: "failure-after-retries", payload: `{"fail":"always"}`, runs: 3, condition: invoke.ConditionRetriesExhausted},
		{name: "failure-after-retries-refreshed", payload: `{"fail":"always"}`, runs: 3, refreshes: 2, refresh: failFirst,
			condition: invoke.ConditionRetriesExhausted},
		// MaximumRetryAttempts 0 and 1 of an event invoke config.
		{name: "no-retries", payload: `{"fail":"always"}`, maxRetries: &zero, runs: 1, condition: invoke.ConditionRetriesExhausted},
		{name: "one-retry", payload: `{"fail":"always"}`, maxRetries: &one, runs: 2, condition: invoke.ConditionRetriesExhausted},
		// The next retry would come after the maximum age: the event
		// ends at once, as AWS's does (age 60 s, retries a minute apart).
		{name: "age-exceeded-before-retry", payload: `{"fail":"always"}`, delays: []time.Duration{2 * time.Hour}, maxAge: time.Hour,
			runs: 1, condition: invoke.ConditionEventAgeExceeded},
		{name: "age-allows-one-retry", payload: `{"fail":"always"}`, delays: []time.Duration{time.Millisecond, 2 * time.Hour}, maxAge: time.Hour,
			runs: 2, condition: invoke.ConditionEventAgeExceeded},
		// An error that is not throttling: it would fail again.
		{name: "unavailable-runtime", payload: `{}`, runs: 0, condition: invoke.ConditionRetriesExhausted, platformError: true,
			target: func(t *testing.T) invoke.Target {
				return target(t, "A", func(v *lambdahost.Version) { v.Config.Runtime = "java21" })
			}},
		// An event replayed after it expired is not run.
		{name: "max-event-age", payload: `{}`, runs: 0, queued: time.Now().Add(-invoke.DefaultMaxEventAge - time.Minute),
			condition: invoke.ConditionEventAgeExceeded},
		// Zero reserved concurrency: not run, not retried.
		{name: "zero-reserved-concurrency", payload: `{}`, runs: 0, condition: invoke.ConditionZeroReservedConcurrency,
			target: func(t *testing.T) invoke.Target {
				tg := target(t, "A")
				tg.ReservedConcurrency = &zero
				return tg
			}},
		// Refresh finds the function deleted before the retry: the event
		// ends without a condition (no record).
		{name: "refresh-not-found", payload: `{"fail":"always"}`, runs: 1, refreshes: 1, condition: "",
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
			if tt.delays != nil {
				f.x.RetryDelays = tt.delays
			}
			p := newAsyncProbe(f, "async")
			tg := target(t, "A")
			if tt.target != nil {
				tg = tt.target(t)
			}
			var refreshes atomic.Int32
			req := &invoke.Request{Target: tg, RequestID: "async", Payload: []byte(tt.payload), Queued: tt.queued, Done: p.Done,
				MaxRetries: tt.maxRetries, MaxAge: tt.maxAge}
			if tt.refresh != nil {
				req.Refresh = tt.refresh(t, &refreshes)
			}
			f.x.InvokeAsync(req)
			select {
			case <-p.done:
			case <-time.After(waitBound):
				t.Fatalf("Done not called after %v; the function ran %d times", waitBound, p.runs())
			}
			// Close waits for the event's goroutine: nothing more can happen.
			f.x.Close()
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
			if p.out.Condition != tt.condition || p.out.Attempts != tt.runs {
				t.Errorf("outcome %s after %d runs, want %s after %d", p.out.Condition, p.out.Attempts, tt.condition, tt.runs)
			}
			if (p.out.Err != nil) != tt.platformError {
				t.Errorf("outcome error %v, want one: %v", p.out.Err, tt.platformError)
			}
			if tt.runs > 0 && p.out.Result == nil {
				t.Error("outcome lacks the last run's result")
			}
		})
	}
}

// TestAsyncNotDoneOnClose checks that closing the executor leaves
// unfinished events unfinished, whether they wait for a retry or fail as
// it closes: their Done is never called, so that a restart runs them
// again. Only a success as it closes finishes an event.
func TestAsyncNotDoneOnClose(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		target  func(t *testing.T) invoke.Target
		// started waits until the event is where Close should find it.
		started func(p *asyncProbe) bool
		// delays and refresh replace a minute's wait and a Refresh that
		// finds target again.
		delays  []time.Duration
		refresh func(context.Context) (invoke.Target, error)
		// wantDone is how many times Done is called.
		wantDone int32
	}{
		// The retry finds the function unable to run (its version is
		// Pending again): it waits with backoff.
		{name: "waiting-after-throttling", payload: `{"fail":"always"}`, delays: []time.Duration{time.Millisecond},
			target: func(t *testing.T) invoke.Target { return target(t, "A") },
			refresh: func(context.Context) (invoke.Target, error) {
				return invoke.Target{}, lambdahost.Errorf(lambdahost.ResourceConflictException, "The function is currently in the following state: Pending")
			},
			started: func(p *asyncProbe) bool { return p.runs() >= 1 }},
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
			if tt.delays != nil {
				f.x.RetryDelays = tt.delays
			}
			refresh := tt.refresh
			if refresh == nil {
				refresh = func(context.Context) (invoke.Target, error) { return tt.target(t), nil }
			}
			p := newAsyncProbe(f, "async")
			f.x.InvokeAsync(&invoke.Request{Target: tt.target(t), RequestID: "async", Payload: []byte(tt.payload), Done: p.Done, Refresh: refresh})
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

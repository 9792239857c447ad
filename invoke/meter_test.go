package invoke_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/invoke"
)

// invokeMeter records what the executor reports.
type invokeMeter struct {
	lambdahost.NopMeter
	mu        sync.Mutex
	invoked   []string
	cold      int
	throttles []string
}

func (m *invokeMeter) Invoked(fn lambdahost.FunctionID, kind, outcome string, elapsed time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.invoked = append(m.invoked, fmt.Sprintf("%s %s %s", fn.Name, kind, outcome))
}

func (m *invokeMeter) ColdStart(fn lambdahost.FunctionID, elapsed time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if elapsed > 0 {
		m.cold++
	}
}

func (m *invokeMeter) Throttled(fn lambdahost.FunctionID, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.throttles = append(m.throttles, reason)
}

// TestMeter: every invocation is reported with its type and outcome,
// the first of an environment as a cold start, a throttle with its
// reason; the gauges count warm environments and held events.
func TestMeter(t *testing.T) {
	f := newFixture(t)
	m := &invokeMeter{}
	f.x.Meter = m
	tg := target(t, "A")
	decode(t, call(t, f.x, tg, `{}`))
	decode(t, call(t, f.x, tg, `{}`))
	if res := call(t, f.x, tg, `{"fail":"boom"}`); res.FunctionError == "" {
		t.Fatal("the failing invocation succeeded")
	}
	zero := 0
	throttled := tg
	throttled.ReservedConcurrency = &zero
	if _, err := f.x.Invoke(context.Background(), &invoke.Request{Target: throttled, RequestID: "throttled", Payload: []byte("{}")}); lambdahost.ErrorTypeOf(err) != lambdahost.TooManyRequestsException {
		t.Fatalf("invoke with reserved concurrency 0: %v", err)
	}
	done := make(chan struct{})
	f.x.InvokeAsync(&invoke.Request{Target: tg, RequestID: "event", Payload: []byte(`{}`), Done: func(*invoke.AsyncOutcome) { close(done) }})
	<-done
	// The event's goroutine lets go of it just after Done.
	for depth, _ := f.x.AsyncQueue(); depth != 0; depth, _ = f.x.AsyncQueue() {
		time.Sleep(10 * time.Millisecond)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	want := []string{
		"fn RequestResponse success",
		"fn RequestResponse success",
		"fn RequestResponse function_error",
		"fn RequestResponse throttled",
		"fn Event success",
	}
	if diff := cmp.Diff(want, m.invoked); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
	if m.cold != 1 {
		t.Errorf("%d cold starts, want 1: one environment served everything", m.cold)
	}
	if diff := cmp.Diff([]string{"ReservedFunctionConcurrentInvocationLimitExceeded"}, m.throttles); diff != "" {
		t.Errorf("throttles (-want +got):\n%s", diff)
	}
	if idle, busy := f.x.Environments(); idle != 1 || busy != 0 {
		t.Errorf("environments: %d idle, %d busy, want 1 idle", idle, busy)
	}
}

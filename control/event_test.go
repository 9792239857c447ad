package control_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// tickingClock returns a clock that moves one millisecond at each call,
// so that events are created in the order they are enqueued.
func tickingClock() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
}

// enqueue resolves an Invoke of function:qualifier and stores its event.
func (f *fixture) enqueue(t testing.TB, function, qualifier, payload string) *lambdahost.AsyncEvent {
	t.Helper()
	inv, err := f.svc.ResolveInvoke(f.ctx, function, qualifier)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := f.svc.EnqueueEvent(f.ctx, inv, []byte(payload), "req-"+payload, "Root=1-"+payload)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// replayed is one call of ReplayEvents' fn.
type replayed struct {
	inv *control.Invocation
	ev  *lambdahost.AsyncEvent
}

// replay runs ReplayEvents without a caller in the context, as start-up
// does, and returns what it handed over. It first ends the node's
// registration, as if it had stopped: the events it holds are free again,
// as for the next process.
func (f *fixture) replay(t testing.TB) []replayed {
	t.Helper()
	if err := f.store.Leave(t.Context(), f.svc.Node); err != nil {
		t.Fatal(err)
	}
	var got []replayed
	err := f.svc.ReplayEvents(context.Background(), func(inv *control.Invocation, ev *lambdahost.AsyncEvent) {
		got = append(got, replayed{inv, ev})
	})
	if err != nil {
		t.Fatalf("ReplayEvents: %v", err)
	}
	return got
}

func TestEnqueueEvent(t *testing.T) {
	f := invokeFixture(t, func(s *control.Service) { s.Now = tickingClock() })
	inv, err := f.svc.ResolveInvoke(f.ctx, "f", "live")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := f.svc.EnqueueEvent(f.ctx, inv, []byte(`{"k":"v"}`), "req-1", "Root=1-abc")
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID == "" || ev.Function != inv.Function.ID || ev.Qualifier != "live" || string(ev.Payload) != `{"k":"v"}` ||
		ev.RequestID != "req-1" || ev.TraceID != "Root=1-abc" || ev.Created.IsZero() {
		t.Errorf("EnqueueEvent = %+v", ev)
	}
	got := f.replay(t)
	if len(got) != 1 {
		t.Fatalf("replayed %d events, want 1", len(got))
	}
	stored := got[0].ev
	if stored.ID != ev.ID || stored.Qualifier != "live" || !bytes.Equal(stored.Payload, ev.Payload) || !stored.Created.Equal(ev.Created) {
		t.Errorf("stored event %+v, want %+v", stored, ev)
	}

	// DeleteEvent removes it; deleting it again is no error.
	for range 2 {
		if err := f.svc.DeleteEvent(f.ctx, ev.ID); err != nil {
			t.Fatalf("DeleteEvent: %v", err)
		}
	}
	if got := f.replay(t); len(got) != 0 {
		t.Errorf("after DeleteEvent, replayed %d events", len(got))
	}
}

// TestEnqueueEventFunctionGone: an Invoke resolved just before its
// function was deleted, or deleted and created again, stores nothing and
// answers ResourceNotFoundException, naming what was invoked.
func TestEnqueueEventFunctionGone(t *testing.T) {
	tests := []struct {
		name     string
		recreate bool
	}{
		{name: "deleted"},
		{name: "deleted-and-recreated", recreate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := invokeFixture(t, func(s *control.Service) { s.Now = tickingClock() })
			inv, err := f.svc.ResolveInvoke(f.ctx, "g", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.svc.DeleteFunction(f.ctx, "g", ""); err != nil {
				t.Fatal(err)
			}
			if tt.recreate {
				f.create(t, "g", "v2")
			}
			_, err = f.svc.EnqueueEvent(f.ctx, inv, []byte(`{}`), "req", "")
			wantAPIError(t, err, lambdahost.ResourceNotFoundException, "Function not found: "+arnPrefix+"g:$LATEST")
			if got := f.replay(t); len(got) != 0 {
				t.Errorf("replayed %d events, want none stored", len(got))
			}
		})
	}
}

// TestReplayEventsResolves checks that replay hands over every stored
// event, oldest first, resolved again from its function and qualifier as
// they are now, without a caller in the context.
func TestReplayEventsResolves(t *testing.T) {
	var draw float64
	f := invokeFixture(t, func(s *control.Service) {
		s.Now = tickingClock()
		s.Rand = func() float64 { return draw }
	})
	// canary sends 25% to version 2: a draw of 0.9 runs 1.
	draw = 0.9
	evs := []*lambdahost.AsyncEvent{
		f.enqueue(t, "f", "", "unqualified"),
		f.enqueue(t, "f", "2", "version"),
		f.enqueue(t, "f", "canary", "canary"),
		f.enqueue(t, "f:head", "", "alias-in-name"),
		f.enqueue(t, "g", "", "other-function"),
	}
	// What changed since: the reserved concurrency, and the draw.
	if _, err := f.svc.PutFunctionConcurrency(f.ctx, "f", ptr(3)); err != nil {
		t.Fatal(err)
	}
	draw = 0.1

	got := f.replay(t)
	want := []struct {
		arn, exec string
		reserved  *int
	}{
		{arnPrefix + "f", "$LATEST", ptr(3)},
		{arnPrefix + "f:2", "2", ptr(3)},
		// The alias's weights are drawn again.
		{arnPrefix + "f:canary", "2", ptr(3)},
		{arnPrefix + "f:head", "$LATEST", ptr(3)},
		{arnPrefix + "g", "$LATEST", nil},
	}
	if len(got) != len(want) {
		t.Fatalf("replayed %d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		inv, ev := got[i].inv, got[i].ev
		if ev.ID != evs[i].ID || ev.RequestID != evs[i].RequestID {
			t.Errorf("event %d is %s (%s), want %s (%s): not in creation order", i, ev.ID, ev.RequestID, evs[i].ID, evs[i].RequestID)
			continue
		}
		if inv.InvokedARN != w.arn || inv.ExecutedVersion != w.exec || inv.Version.Name != w.exec {
			t.Errorf("%s: resolved %s running %s, want %s running %s", ev.RequestID, inv.InvokedARN, inv.ExecutedVersion, w.arn, w.exec)
		}
		if (inv.Function.ReservedConcurrency == nil) != (w.reserved == nil) ||
			(w.reserved != nil && *inv.Function.ReservedConcurrency != *w.reserved) {
			t.Errorf("%s: reserved concurrency %v, want %v", ev.RequestID, deref(inv.Function.ReservedConcurrency), deref(w.reserved))
		}
	}
	// Replay deletes nothing that can run: a second start replays them all.
	if n := len(f.replay(t)); n != len(want) {
		t.Errorf("second replay handed over %d events, want %d", n, len(want))
	}
}

// TestReplayEventsDropsDeleted checks that the events of deleted
// functions, versions and aliases are not replayed and are deleted, and
// that an event whose version cannot run now is kept for the next start.
func TestReplayEventsDropsDeleted(t *testing.T) {
	f := invokeFixture(t, func(s *control.Service) { s.Now = tickingClock() })
	f.create(t, "doomed", "v1")
	f.enqueue(t, "f", "live", "alias-kept")
	f.enqueue(t, "doomed", "", "function-deleted")
	f.enqueue(t, "f", "canary", "alias-deleted")
	f.enqueue(t, "f", "2", "version-deleted")
	f.enqueue(t, "f", "1", "version-failed")
	f.enqueue(t, "g", "", "kept")
	if err := f.svc.DeleteFunction(f.ctx, "doomed", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteAlias(f.ctx, "f", "canary"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteFunction(f.ctx, "f", "2"); err != nil {
		t.Fatal(err)
	}
	// Version 1 fails; the alias live, which points at it, fails with it.
	f.setStatus(t, "f", "1", lambdahost.Status{State: lambdahost.StateFailed})

	requests := func(rs []replayed) []string {
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ev.RequestID)
		}
		return ids
	}
	if got, want := requests(f.replay(t)), []string{"req-kept"}; !slices.Equal(got, want) {
		t.Errorf("replayed %v, want %v", got, want)
	}
	// The events that can never run are gone; those that may run later stay.
	f.setStatus(t, "f", "1", lambdahost.Status{State: lambdahost.StateActive})
	if got, want := requests(f.replay(t)), []string{"req-alias-kept", "req-version-failed", "req-kept"}; !slices.Equal(got, want) {
		t.Errorf("second replay handed over %v, want %v", got, want)
	}
}

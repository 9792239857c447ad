package http_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/invoke"
)

// storedEvents returns the asynchronous events e's store holds, as a
// restart would replay them: the node's registration ends first, as if it
// had stopped, so that the events it holds are free again.
func (e *env) storedEvents() []*lambdahost.AsyncEvent {
	e.t.Helper()
	if err := e.store.Leave(e.t.Context(), e.svc.Node); err != nil {
		e.t.Fatal(err)
	}
	var evs []*lambdahost.AsyncEvent
	err := e.svc.ReplayEvents(e.t.Context(), func(_ *control.Invocation, ev *lambdahost.AsyncEvent) { evs = append(evs, ev) })
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// TestInvokeEventStored checks that an Event invocation is stored before
// its 202, handed to the invoker with a Refresh that resolves it again and
// a Done that deletes it.
func TestInvokeEventStored(t *testing.T) {
	e := newEnv(t)
	withFunction("f")(e)
	e.must("POST", fnPath+"f/versions", "{}")
	e.must("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1"}`)
	r := invokeReq(invokePath+"?Qualifier=live", `{"k":"v"}`, "X-Amz-Invocation-Type", "Event", "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")(e)
	if r.Status != 202 {
		t.Fatalf("Event invocation: HTTP %d %s, want 202", r.Status, r.Body)
	}

	evs := e.storedEvents()
	if len(evs) != 1 {
		t.Fatalf("%d events stored, want 1", len(evs))
	}
	ev := evs[0]
	if ev.Function.Name != "f" || ev.Qualifier != "live" || string(ev.Payload) != `{"k":"v"}` ||
		ev.TraceID != "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1" || ev.RequestID == "" {
		t.Errorf("stored event %+v", ev)
	}

	inv := e.api.Invoker.(*fakeInvoker)
	inv.mu.Lock()
	queued := inv.queued
	inv.mu.Unlock()
	if len(queued) != 1 {
		t.Fatalf("%d requests queued, want 1", len(queued))
	}
	req := queued[0]
	if req.RequestID != ev.RequestID || string(req.Payload) != `{"k":"v"}` || req.Target.ExecutedVersion != "1" || !req.Queued.Equal(ev.Created) {
		t.Errorf("queued request %+v, want the stored event's", req)
	}
	if req.Refresh == nil || req.Done == nil {
		t.Fatal("queued request lacks Refresh or Done")
	}
	tg, err := req.Refresh(context.Background())
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if tg.InvokedARN != req.Target.InvokedARN || tg.ExecutedVersion != "1" {
		t.Errorf("Refresh resolved %s version %s, want %s version 1", tg.InvokedARN, tg.ExecutedVersion, req.Target.InvokedARN)
	}

	req.Done(&invoke.AsyncOutcome{Condition: invoke.ConditionSuccess, Attempts: 1, Target: req.Target, Result: &invoke.Result{Payload: []byte(`"ok"`)}})
	if evs := e.storedEvents(); len(evs) != 0 {
		t.Errorf("after Done, %d events stored, want none", len(evs))
	}
	// Once the alias is gone, Refresh ends the event.
	e.must("DELETE", fnPath+"f/aliases/live", "")
	if _, err := req.Refresh(context.Background()); lambdahost.ErrorTypeOf(err) != lambdahost.ResourceNotFoundException {
		t.Errorf("Refresh after the alias was deleted: %v, want ResourceNotFoundException", err)
	}
}

// TestInvokeEventNotStored checks that an Event invocation the store
// refuses is answered with the error, not 202, and queues nothing.
func TestInvokeEventNotStored(t *testing.T) {
	e := newEnv(t)
	withFunction("f")(e)
	// Another connection makes every insert of an event fail.
	db, err := sql.Open("sqlite", e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `CREATE TRIGGER refuse_events BEFORE INSERT ON async_events BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	r := invokeReq(invokePath, `{}`, "X-Amz-Invocation-Type", "Event")(e)
	if r.Status != 500 || r.Headers["X-Amzn-Errortype"] != "ServiceException" {
		t.Errorf("Event invocation the store refused: HTTP %d %s %s, want 500 ServiceException", r.Status, r.Headers["X-Amzn-Errortype"], r.Body)
	}
	inv := e.api.Invoker.(*fakeInvoker)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.queued) != 0 {
		t.Errorf("%d requests queued, want none", len(inv.queued))
	}
}

package control_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// messengerFake keeps what it is sent, and refuses the first fails
// messages.
type messengerFake struct {
	mu    sync.Mutex
	fails int
	tries int
	sent  []*lambdahost.Message
	got   chan struct{}
}

func newMessenger(fails int) *messengerFake {
	return &messengerFake{fails: fails, got: make(chan struct{}, 100)}
}

func (m *messengerFake) Send(ctx context.Context, msg *lambdahost.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tries++
	if m.tries <= m.fails {
		return errors.New("queue unavailable")
	}
	m.sent = append(m.sent, msg)
	m.got <- struct{}{}
	return nil
}

// wait waits for n messages and answers them.
func (m *messengerFake) wait(t testing.TB, n int) []*lambdahost.Message {
	t.Helper()
	for range n {
		select {
		case <-m.got:
		case <-time.After(2 * time.Minute):
			t.Fatalf("fewer than %d messages sent in 2 minutes", n)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

const (
	queueOK   = "arn:aws:sqs:us-east-1:000000000000:ok"
	queueFail = "arn:aws:sqs:us-east-1:000000000000:fail"
	queueDLQ  = "arn:aws:sqs:us-east-1:000000000000:dlq"
)

// enqueue stores an asynchronous event of function name, as Invoke does.
func (f *fixture) enqueueEvent(t testing.TB, name, qualifier, payload string) *lambdahost.AsyncEvent {
	t.Helper()
	inv, err := f.svc.ResolveInvoke(f.ctx, name, qualifier)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := f.svc.EnqueueEvent(f.ctx, inv, []byte(payload), "req-"+name, "Root=1-abc")
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestFinishEventRecords checks the record each way an asynchronous
// invocation ends produces, where it goes (OnSuccess, OnFailure, the
// dead-letter queue of the version that ran), and that the event is gone.
func TestFinishEventRecords(t *testing.T) {
	ok200 := &control.EventResponse{StatusCode: 200, Payload: []byte(`{"done": true}`)}
	failed := &control.EventResponse{StatusCode: 200, FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom","errorType":"Exception"}`)}
	tests := []struct {
		name string
		out  control.EventOutcome
		// want is the record, with "TS" for the timestamp and "ID" for
		// the request ID; target is where it goes.
		want, target string
		// dlq is the dead-letter message's attributes, "" for none.
		dlq string
	}{
		{name: "success", out: control.EventOutcome{Condition: control.ConditionSuccess, Attempts: 1, Response: ok200, ExecutedVersion: "$LATEST"},
			target: queueOK,
			want:   `{"version":"1.0","timestamp":"TS","requestContext":{"requestId":"ID","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST","condition":"Success","approximateInvokeCount":1},"requestPayload":{"k":"v"},"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},"responsePayload":{"done":true}}`},
		{name: "retries-exhausted", out: control.EventOutcome{Condition: control.ConditionRetriesExhausted, Attempts: 3, Response: failed, ExecutedVersion: "$LATEST"},
			target: queueFail,
			want:   `{"version":"1.0","timestamp":"TS","requestContext":{"requestId":"ID","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3},"requestPayload":{"k":"v"},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"responsePayload":{"errorMessage":"boom","errorType":"Exception"}}`,
			dlq:    "ErrorCode=Number:200 ErrorMessage=String:boom RequestID=String:ID"},
		// Reserved concurrency 0: never ran, no response in the record.
		{name: "zero-reserved-concurrency", out: control.EventOutcome{Condition: control.ConditionZeroReservedConcurrency, ExecutedVersion: "$LATEST"},
			target: queueFail,
			want:   `{"version":"1.0","timestamp":"TS","requestContext":{"requestId":"ID","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST","condition":"ZeroReservedConcurrency","approximateInvokeCount":0},"requestPayload":{"k":"v"}}`,
			dlq:    "ErrorCode=Number:429 ErrorMessage=String:Rate Exceeded. RequestID=String:ID"},
		{name: "event-age-exceeded", out: control.EventOutcome{Condition: control.ConditionEventAgeExceeded, Attempts: 1, Response: failed, ExecutedVersion: "$LATEST"},
			target: queueFail,
			want:   `{"version":"1.0","timestamp":"TS","requestContext":{"requestId":"ID","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST","condition":"EventAgeExceeded","approximateInvokeCount":1},"requestPayload":{"k":"v"},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"responsePayload":{"errorMessage":"boom","errorType":"Exception"}}`,
			dlq:    "ErrorCode=Number:200 ErrorMessage=String:boom RequestID=String:ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMessenger(0)
			f := newFixture(t, func(s *control.Service) { s.Messengers = map[string]lambdahost.Messenger{"sqs": m} })
			f.create(t, "f", "def handler(e, c): return e")
			if _, err := f.svc.UpdateFunctionConfiguration(f.ctx, &control.UpdateConfigInput{FunctionName: "f", Config: control.ConfigInput{DeadLetterTarget: ptr(queueDLQ)}}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.PutFunctionEventInvokeConfig(f.ctx, "f", "", &control.EventInvokeConfigInput{HasDestinationConfig: true, OnSuccess: ptr(queueOK), OnFailure: ptr(queueFail)}); err != nil {
				t.Fatal(err)
			}
			ev := f.enqueueEvent(t, "f", "", `{"k": "v"}`)
			if _, err := f.svc.FinishEvent(f.ctx, ev, &tt.out); err != nil {
				t.Fatal(err)
			}
			n := 1
			if tt.dlq != "" {
				n = 2
			}
			sent := m.wait(t, n)
			var rec, dl *lambdahost.Message
			for _, s := range sent {
				if s.Target == queueDLQ {
					dl = s
				} else {
					rec = s
				}
			}
			if rec == nil || rec.Target != tt.target {
				t.Fatalf("record sent to %v, want %s", rec, tt.target)
			}
			var doc struct {
				Timestamp string `json:"timestamp"`
			}
			json.Unmarshal([]byte(rec.Body), &doc)
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", doc.Timestamp); err != nil {
				t.Errorf("timestamp %q: %v", doc.Timestamp, err)
			}
			want := tt.want
			want = strings.ReplaceAll(want, `"TS"`, `"`+doc.Timestamp+`"`)
			want = strings.ReplaceAll(want, `"ID"`, `"`+ev.RequestID+`"`)
			if rec.Body != want {
				t.Errorf("record\n got %s\nwant %s", rec.Body, want)
			}
			switch {
			case tt.dlq == "" && dl != nil:
				t.Errorf("dead-letter message sent for a success: %+v", dl)
			case tt.dlq != "":
				if dl == nil {
					t.Fatal("no dead-letter message")
				}
				if dl.Body != `{"k": "v"}` {
					t.Errorf("dead-letter body %q, want the event verbatim", dl.Body)
				}
				var attrs []string
				for _, k := range []string{"ErrorCode", "ErrorMessage", "RequestID"} {
					a := dl.Attributes[k]
					attrs = append(attrs, k+"="+a.DataType+":"+a.StringValue)
				}
				if got := strings.ReplaceAll(fmt.Sprint(attrs), ev.RequestID, "ID"); got != "["+tt.dlq+"]" {
					t.Errorf("dead-letter attributes %s, want [%s]", got, tt.dlq)
				}
			}
			if evs := f.storedEvents(t); len(evs) != 0 {
				t.Errorf("%d events left after FinishEvent", len(evs))
			}
		})
	}
}

// storedEvents lists the events the store holds.
func (f *fixture) storedEvents(t testing.TB) []*lambdahost.AsyncEvent {
	t.Helper()
	var evs []*lambdahost.AsyncEvent
	if err := f.store.View(t.Context(), func(tx lambdahost.Tx) (err error) {
		evs, err = tx.ListEvents(t.Context(), "", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// storedDeliveries lists the deliveries the store holds.
func (f *fixture) storedDeliveries(t testing.TB) []*lambdahost.Delivery {
	t.Helper()
	var ds []*lambdahost.Delivery
	if err := f.store.View(t.Context(), func(tx lambdahost.Tx) (err error) {
		ds, err = tx.ListDeliveries(t.Context(), "", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestLambdaDestination: a Lambda destination is an asynchronous event of
// that function, stored with the finished event's deletion, carrying the
// record and the trace, under a request ID of its own.
func TestLambdaDestination(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "first", "def handler(e, c): return e")
	f.create(t, "second", "def handler(e, c): return e")
	second := "arn:aws:lambda:us-east-1:000000000000:function:second"
	if _, err := f.svc.PutFunctionEventInvokeConfig(f.ctx, "first", "", &control.EventInvokeConfigInput{HasDestinationConfig: true, OnSuccess: ptr(second)}); err != nil {
		t.Fatal(err)
	}
	ev := f.enqueueEvent(t, "first", "", `{}`)
	follow, err := f.svc.FinishEvent(f.ctx, ev, &control.EventOutcome{Condition: control.ConditionSuccess, Attempts: 1,
		Response: &control.EventResponse{StatusCode: 200, Payload: []byte(`null`)}, ExecutedVersion: "$LATEST", TraceID: "Root=1-abc;Lineage=x:1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(follow) != 1 {
		t.Fatalf("%d follow-ups, want 1", len(follow))
	}
	dev := follow[0].Event
	if dev.Function.Name != "second" || dev.TraceID != "Root=1-abc;Lineage=x:1" || dev.RequestID == ev.RequestID {
		t.Errorf("destination event %+v", dev)
	}
	var rec map[string]any
	if err := json.Unmarshal(dev.Payload, &rec); err != nil || rec["responsePayload"] != nil {
		t.Errorf("destination event's payload %s (%v)", dev.Payload, err)
	}
	if follow[0].Invocation.ExecutedVersion != "$LATEST" {
		t.Errorf("destination resolves to %s", follow[0].Invocation.ExecutedVersion)
	}
	evs := f.storedEvents(t)
	if len(evs) != 1 || evs[0].ID != dev.ID {
		t.Errorf("stored events %v, want only the destination's", evs)
	}
}

// TestDeliveryRetried: a delivery its messenger refuses is retried with
// backoff, stays stored until sent, and is deleted once sent.
func TestDeliveryRetried(t *testing.T) {
	m := newMessenger(3)
	f := newFixture(t, func(s *control.Service) {
		s.Messengers = map[string]lambdahost.Messenger{"sqs": m}
		s.DeliveryBackoff = time.Millisecond
	})
	f.create(t, "f", "def handler(e, c): return e")
	if _, err := f.svc.PutFunctionEventInvokeConfig(f.ctx, "f", "", &control.EventInvokeConfigInput{HasDestinationConfig: true, OnSuccess: ptr(queueOK)}); err != nil {
		t.Fatal(err)
	}
	ev := f.enqueueEvent(t, "f", "", `{}`)
	if _, err := f.svc.FinishEvent(f.ctx, ev, &control.EventOutcome{Condition: control.ConditionSuccess, Attempts: 1, ExecutedVersion: "$LATEST"}); err != nil {
		t.Fatal(err)
	}
	m.wait(t, 1)
	deadline := time.Now().Add(2 * time.Minute)
	for len(f.storedDeliveries(t)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ds := f.storedDeliveries(t); len(ds) != 0 {
		t.Errorf("%d deliveries stored after the message was sent", len(ds))
	}
	snap := f.svc.Metrics.Snapshot()
	if snap["DestinationDeliveryFailures"] != 3 || snap["DestinationDeliveries"] != 1 {
		t.Errorf("metrics %v, want 3 failures and 1 delivery", snap)
	}
}

// TestDeliveryGivenUp: a delivery that fails past MaxDeliveryAge is given
// up, deleted and counted.
func TestDeliveryGivenUp(t *testing.T) {
	m := newMessenger(1 << 30)
	now := time.Now()
	var mu sync.Mutex
	f := newFixture(t, func(s *control.Service) {
		s.Messengers = map[string]lambdahost.Messenger{"sqs": m}
		s.DeliveryBackoff = time.Millisecond
		s.MaxDeliveryAge = time.Hour
		s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(10 * time.Minute); return now }
	})
	f.create(t, "f", "def handler(e, c): return e")
	if _, err := f.svc.PutFunctionEventInvokeConfig(f.ctx, "f", "", &control.EventInvokeConfigInput{HasDestinationConfig: true, OnSuccess: ptr(queueOK)}); err != nil {
		t.Fatal(err)
	}
	ev := f.enqueueEvent(t, "f", "", `{}`)
	if _, err := f.svc.FinishEvent(f.ctx, ev, &control.EventOutcome{Condition: control.ConditionSuccess, Attempts: 1, ExecutedVersion: "$LATEST"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for f.svc.Metrics.DestinationDeliveriesExpired.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.svc.Metrics.DestinationDeliveriesExpired.Load(); n != 1 {
		t.Fatalf("%d deliveries given up, want 1", n)
	}
	if ds := f.storedDeliveries(t); len(ds) != 0 {
		t.Errorf("%d deliveries stored after it was given up", len(ds))
	}
}

// TestDeliveryTakenOver: deliveries stored by a node that is gone are
// sent by the next node that sweeps.
func TestDeliveryTakenOver(t *testing.T) {
	m := newMessenger(0)
	f := newFixture(t, func(s *control.Service) { s.Messengers = map[string]lambdahost.Messenger{"sqs": m} })
	body, _ := json.Marshal(map[string]any{"message": &lambdahost.Message{Target: queueOK, Body: "left behind"}})
	if err := f.store.Update(t.Context(), func(tx lambdahost.Tx) error {
		return tx.PutDelivery(t.Context(), &lambdahost.Delivery{ID: lambdahost.NewEventID(time.Now()), Node: "node-gone", Created: time.Now(), Target: queueOK, Body: body})
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if sent := m.wait(t, 1); sent[0].Body != "left behind" {
		t.Errorf("sent %q", sent[0].Body)
	}
}

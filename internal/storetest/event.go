package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
)

// eventIDs returns the IDs of evs, for readable failures.
func eventIDs(evs []*lambdahost.AsyncEvent) []string {
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	return ids
}

// putEvents creates the functions of evs that do not exist yet and puts evs,
// in order, in one Update.
func putEvents(t testing.TB, s lambdahost.Store, evs ...*lambdahost.AsyncEvent) {
	t.Helper()
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		ctx := t.Context()
		for _, ev := range evs {
			if _, err := tx.Function(ctx, ev.Function); err != nil {
				if err := tx.CreateFunction(ctx, newFunction(ev.Function)); err != nil {
					return err
				}
			}
			if err := tx.PutEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// listEvents returns every stored event.
func listEvents(t testing.TB, s lambdahost.Store) []*lambdahost.AsyncEvent {
	t.Helper()
	var evs []*lambdahost.AsyncEvent
	mustView(t, s, func(tx lambdahost.Tx) (err error) {
		evs, err = tx.ListEvents(t.Context(), "", 0)
		return err
	})
	return evs
}

func testEventRoundTrip(t *testing.T, s lambdahost.Store) {
	cet := time.FixedZone("CET", 3600)
	id := fid(accountA, regionA, "fn")
	tests := []struct {
		name string
		ev   *lambdahost.AsyncEvent
	}{
		{name: "full", ev: fullEvent(id, "ev-1")},
		// An unqualified invocation, without a trace: empty strings stay empty.
		{name: "unqualified", ev: &lambdahost.AsyncEvent{ID: "ev-2", Function: id, Payload: []byte("{}"), RequestID: "r", Created: created}},
		// A payload of 1 MB, Invoke's limit for Event invocations.
		{name: "large-payload", ev: &lambdahost.AsyncEvent{ID: "ev-3", Function: id, Payload: []byte(`"` + string(make([]byte, 1<<20-2)) + `"`), Created: created}},
		{name: "other-time-zone", ev: &lambdahost.AsyncEvent{ID: "ev-4", Function: id, Payload: []byte("[]"), Created: time.Date(2024, 2, 29, 23, 59, 59, 999_000_000, cet)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			putEvents(t, s, tt.ev)
			want := *tt.ev
			want.Created = want.Created.UTC()
			i := slices.IndexFunc(listEvents(t, s), func(ev *lambdahost.AsyncEvent) bool { return ev.ID == tt.ev.ID })
			if i < 0 {
				t.Fatalf("ListEvents lacks %s", tt.ev.ID)
			}
			got := listEvents(t, s)[i]
			if d := cmp.Diff(&want, got, cmpOpts); d != "" {
				t.Errorf("AsyncEvent (-want +got):\n%s", d)
			}
		})
	}
}

func testEventPutExists(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	id := fid(accountA, regionA, "fn")
	first := fullEvent(id, "ev")
	putEvents(t, s, first)
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		again := fullEvent(id, "ev")
		again.Payload = []byte(`"other"`)
		return tx.PutEvent(ctx, again)
	})
	wantExists(t, "PutEvent of an existing ID", err)
	if got := listEvents(t, s); len(got) != 1 || string(got[0].Payload) != string(first.Payload) {
		t.Errorf("after a refused PutEvent, ListEvents = %v, want the first event unchanged", eventIDs(got))
	}
}

func testEventNeedsFunction(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		return tx.PutEvent(ctx, fullEvent(fid(accountA, regionA, "missing"), "ev"))
	})
	wantNotFound(t, "PutEvent of a function that does not exist", err)
	if got := listEvents(t, s); len(got) != 0 {
		t.Errorf("ListEvents = %v, want none", eventIDs(got))
	}
}

// testEventListOrder puts events of several accounts and regions out of
// ID order, and lists them all, in ID order, in pages of every size.
func testEventListOrder(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	fns := []lambdahost.FunctionID{
		fid(accountA, regionA, "a"), fid(accountB, regionA, "b"),
		fid(accountA, regionB, "c"), fid(accountB, regionB, "a"),
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []*lambdahost.AsyncEvent
	var want []string
	for i := range 12 {
		at := base.Add(time.Duration(i) * time.Millisecond)
		ev := fullEvent(fns[i%len(fns)], lambdahost.NewEventID(at))
		ev.Created = at
		evs = append(evs, ev)
		want = append(want, ev.ID)
	}
	// Put them in an order unlike their IDs', over two Updates.
	shuffled := append(slices.Clone(evs[7:]), evs[:7]...)
	slices.Reverse(shuffled[:5])
	putEvents(t, s, shuffled[:6]...)
	putEvents(t, s, shuffled[6:]...)

	if got := eventIDs(listEvents(t, s)); !slices.Equal(got, want) {
		t.Errorf("ListEvents(\"\", 0) = %v, want %v", got, want)
	}
	for _, limit := range []int{1, 2, 5, 11, 12, 13} {
		t.Run(fmt.Sprintf("limit-%d", limit), func(t *testing.T) {
			var got []string
			after := ""
			for range len(want) + 1 {
				var page []*lambdahost.AsyncEvent
				mustView(t, s, func(tx lambdahost.Tx) (err error) {
					page, err = tx.ListEvents(ctx, after, limit)
					return err
				})
				if len(page) > limit {
					t.Fatalf("ListEvents(%q, %d) returned %d events", after, limit, len(page))
				}
				if len(page) == 0 {
					break
				}
				got = append(got, eventIDs(page)...)
				after = page[len(page)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages = %v, want %v", got, want)
			}
		})
	}
	// A cursor that names no stored event still works: it is compared, not
	// looked up, so events deleted while paging do not end the listing.
	var page []*lambdahost.AsyncEvent
	mustView(t, s, func(tx lambdahost.Tx) (err error) {
		page, err = tx.ListEvents(ctx, want[3]+"-deleted", 2)
		return err
	})
	if got := eventIDs(page); !slices.Equal(got, want[4:6]) {
		t.Errorf("ListEvents after an absent ID = %v, want %v", got, want[4:6])
	}
}

func testEventDelete(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	id := fid(accountA, regionA, "fn")
	putEvents(t, s, fullEvent(id, "ev-1"), fullEvent(id, "ev-2"), fullEvent(id, "ev-3"))
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteEvent(ctx, "ev-2") })
	if got, want := eventIDs(listEvents(t, s)), []string{"ev-1", "ev-3"}; !slices.Equal(got, want) {
		t.Errorf("after DeleteEvent, ListEvents = %v, want %v", got, want)
	}
	// Deleting what is not there is not an error: an event may finish
	// after its function, and its events, were deleted.
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		if err := tx.DeleteEvent(ctx, "ev-2"); err != nil {
			return fmt.Errorf("delete a deleted event: %w", err)
		}
		if err := tx.DeleteEvent(ctx, "never-stored"); err != nil {
			return fmt.Errorf("delete a missing event: %w", err)
		}
		return nil
	})
	if got, want := eventIDs(listEvents(t, s)), []string{"ev-1", "ev-3"}; !slices.Equal(got, want) {
		t.Errorf("after deleting missing events, ListEvents = %v, want %v", got, want)
	}
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		if err := tx.DeleteEvent(ctx, "ev-1"); err != nil {
			return err
		}
		return tx.DeleteEvent(ctx, "ev-3")
	})
	if got := listEvents(t, s); len(got) != 0 {
		t.Errorf("after deleting every event, ListEvents = %v", eventIDs(got))
	}
	// The function is untouched.
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Function(ctx, id)
		return err
	})
}

// testEventFunctionDelete checks that deleting a function deletes its
// events, and no one else's: those of functions of the same name in
// other accounts and regions stay.
func testEventFunctionDelete(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	doomed := fid(accountA, regionA, "doomed")
	others := []lambdahost.FunctionID{fid(accountA, regionA, "other"), fid(accountB, regionA, "doomed"), fid(accountA, regionB, "doomed")}
	putEvents(t, s,
		fullEvent(doomed, "ev-1"), fullEvent(others[0], "ev-2"), fullEvent(doomed, "ev-3"),
		fullEvent(others[1], "ev-4"), fullEvent(others[2], "ev-5"))
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteFunction(ctx, doomed) })
	if got, want := eventIDs(listEvents(t, s)), []string{"ev-2", "ev-4", "ev-5"}; !slices.Equal(got, want) {
		t.Errorf("after DeleteFunction, ListEvents = %v, want %v", got, want)
	}
	// A new function of the same name has no events.
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(ctx, newFunction(doomed)) })
	for _, ev := range listEvents(t, s) {
		if ev.Function == doomed {
			t.Errorf("recreated function has event %s", ev.ID)
		}
	}
}

func testEventRollback(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	id := fid(accountA, regionA, "fn")
	putEvents(t, s, fullEvent(id, "ev-1"))
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.PutEvent(ctx, fullEvent(id, "ev-2")); err != nil {
			return err
		}
		if err := tx.DeleteEvent(ctx, "ev-1"); err != nil {
			return err
		}
		// The transaction sees its own writes.
		evs, err := tx.ListEvents(ctx, "", 0)
		if err != nil {
			return err
		}
		if got, want := eventIDs(evs), []string{"ev-2"}; !slices.Equal(got, want) {
			t.Errorf("ListEvents inside the transaction = %v, want %v", got, want)
		}
		return errBoom
	})
	if err != errBoom {
		t.Errorf("Update = %v, want the error of fn unchanged", err)
	}
	if got, want := eventIDs(listEvents(t, s)), []string{"ev-1"}; !slices.Equal(got, want) {
		t.Errorf("after a rolled back Update, ListEvents = %v, want %v", got, want)
	}
}

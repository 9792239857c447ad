package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
)

// The coordination tests play several nodes against the Stores given:
// node i works through ss[i%len(ss)] (see on). Run gives one Store;
// RunShared gives several Stores on one database, as several processes
// have.

// on returns the Store of node: "a", "b" and "c" are nodes 0, 1 and 2;
// other names are spread by their length and last byte.
func on(ss []lambdahost.Store, node string) lambdahost.Store {
	i := map[string]int{"a": 0, "b": 1, "c": 2}[node]
	if i == 0 && node != "a" && node != "" {
		i = len(node) + int(node[len(node)-1])
	}
	return ss[i%len(ss)]
}

// RunShared runs the tests of coordination and serialization against
// several Stores that share one database, each standing for a process:
// open returns them, new and empty.
func RunShared(t *testing.T, open func(t *testing.T) []lambdahost.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ss []lambdahost.Store)
	}{
		{"claim", testClaim},
		{"claim-left-by-dead-node", testClaimDeadNode},
		{"node-alive", testAlive},
		{"claim-events", testClaimEvents},
		{"claim-events-concurrently", testClaimEventsConcurrently},
		{"claim-deliveries", testClaimDeliveries},
		{"claim-deliveries-concurrently", testClaimDeliveriesConcurrently},
		{"concurrency-counts", testConcurrency},
		{"code-lock", testCodeLock},
		{"watch", testWatch},
		{"update-is-serializable", func(t *testing.T, ss []lambdahost.Store) { updateSerializable(t, ss) }},
		{"update-loses-no-update", func(t *testing.T, ss []lambdahost.Store) { updateNoLostUpdate(t, ss) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := open(t)
			t.Cleanup(func() {
				for _, s := range ss {
					if err := s.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}
			})
			tt.fn(t, ss)
		})
	}
}

// ttl is a registration that outlives any test.
const ttl = time.Hour

// patience bounds the waits for something that must happen: long enough
// that a loaded machine never misses it.
const patience = 2 * time.Minute

func heartbeat(t testing.TB, ss []lambdahost.Store, nodes ...string) {
	t.Helper()
	for _, n := range nodes {
		if err := on(ss, n).Heartbeat(t.Context(), n, ttl); err != nil {
			t.Fatalf("Heartbeat(%s): %v", n, err)
		}
	}
}

func leave(t testing.TB, ss []lambdahost.Store, node string) {
	t.Helper()
	if err := on(ss, node).Leave(t.Context(), node); err != nil {
		t.Fatalf("Leave(%s): %v", node, err)
	}
}

// claim runs Claim in an Update and returns what it reported.
func claim(t testing.TB, ss []lambdahost.Store, kind, key, node string) bool {
	t.Helper()
	var won bool
	mustUpdate(t, on(ss, node), func(tx lambdahost.Tx) (err error) {
		won, err = tx.Claim(t.Context(), kind, key, node)
		return err
	})
	return won
}

func testClaim(t *testing.T, ss []lambdahost.Store) {
	s := ss[0]
	heartbeat(t, ss, "a", "b")
	steps := []struct {
		name       string
		do         func() bool
		want       bool
		kind, node string
	}{
		{name: "a-claims-free-work", do: func() bool { return claim(t, ss, "settle", "k1", "a") }, want: true},
		{name: "b-cannot-take-it", do: func() bool { return claim(t, ss, "settle", "k1", "b") }, want: false},
		{name: "a-passes-over-its-own", do: func() bool { return claim(t, ss, "settle", "k1", "a") }, want: false},
		{name: "same-key-other-kind-is-other-work", do: func() bool { return claim(t, ss, "job", "k1", "b") }, want: true},
		{name: "b-unclaiming-a-work-does-nothing", do: func() bool {
			mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.Unclaim(t.Context(), "settle", "k1", "b") })
			return claim(t, ss, "settle", "k1", "b")
		}, want: false},
		{name: "a-unclaims-then-b-takes-it", do: func() bool {
			mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.Unclaim(t.Context(), "settle", "k1", "a") })
			return claim(t, ss, "settle", "k1", "b")
		}, want: true},
		{name: "unclaim-of-unclaimed-work", do: func() bool {
			mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.Unclaim(t.Context(), "settle", "none", "a") })
			return true
		}, want: true},
	}
	for _, st := range steps {
		if got := st.do(); got != st.want {
			t.Errorf("%s: Claim = %v, want %v", st.name, got, st.want)
		}
	}

	// A Claim rolled back with its transaction leaves the work free.
	err := s.Update(t.Context(), func(tx lambdahost.Tx) error {
		if won, err := tx.Claim(t.Context(), "settle", "k2", "a"); err != nil || !won {
			return fmt.Errorf("claim = %v, %v", won, err)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want %v", err, errBoom)
	}
	if !claim(t, ss, "settle", "k2", "b") {
		t.Error("work claimed in a rolled-back transaction is not free")
	}

	// A View cannot claim.
	var werr error
	_ = s.View(t.Context(), func(tx lambdahost.Tx) error {
		_, werr = tx.Claim(t.Context(), "settle", "k3", "a")
		return nil
	})
	if werr == nil {
		t.Error("Claim in a View succeeded")
	}
}

func testClaimDeadNode(t *testing.T, ss []lambdahost.Store) {
	heartbeat(t, ss, "a", "b", "c")
	for _, k := range []string{"left", "expired", "never"} {
		node := map[string]string{"left": "a", "expired": "b", "never": "ghost"}[k]
		if !claim(t, ss, "settle", k, node) {
			t.Fatalf("%s cannot claim free work", node)
		}
	}
	// a leaves: its work is free at once.
	leave(t, ss, "a")
	if !claim(t, ss, "settle", "left", "c") {
		t.Error("work of a node that left is not free")
	}
	// ghost never registered: its claim holds nothing.
	if !claim(t, ss, "settle", "never", "c") {
		t.Error("work of a node that never registered is not free")
	}
	// b's registration expires.
	if err := on(ss, "b").Heartbeat(t.Context(), "b", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(patience)
	for !claim(t, ss, "settle", "expired", "c") {
		if time.Now().After(deadline) {
			t.Fatalf("work of a node whose registration expired is still held after %v", patience)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// b comes back: what c took stays c's.
	heartbeat(t, ss, "b")
	if claim(t, ss, "settle", "expired", "b") {
		t.Error("a node that came back took work back from a live node")
	}
}

// testAlive: every Store sees a node alive from its registration until it
// leaves or its registration expires, and again once it renews it.
func testAlive(t *testing.T, ss []lambdahost.Store) {
	alive := func(node string) []bool {
		t.Helper()
		out := make([]bool, len(ss))
		for i, s := range ss {
			ok, err := s.Alive(t.Context(), node)
			if err != nil {
				t.Fatalf("Alive(%s): %v", node, err)
			}
			out[i] = ok
		}
		return out
	}
	all := func(v bool) []bool {
		out := make([]bool, len(ss))
		for i := range out {
			out[i] = v
		}
		return out
	}
	if got := alive("a"); !slices.Equal(got, all(false)) {
		t.Errorf("before registering: Alive(a) = %v, want false", got)
	}
	heartbeat(t, ss, "a", "b")
	if got := alive("a"); !slices.Equal(got, all(true)) {
		t.Errorf("registered: Alive(a) = %v, want true", got)
	}
	leave(t, ss, "a")
	if got := alive("a"); !slices.Equal(got, all(false)) {
		t.Errorf("after Leave: Alive(a) = %v, want false", got)
	}
	if got := alive("b"); !slices.Equal(got, all(true)) {
		t.Errorf("a left: Alive(b) = %v, want true", got)
	}
	// b's registration expires, by the store's clock.
	if err := on(ss, "b").Heartbeat(t.Context(), "b", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(patience)
	for !slices.Equal(alive("b"), all(false)) {
		if time.Now().After(deadline) {
			t.Fatalf("a node whose registration expired is still alive after %v", patience)
		}
		time.Sleep(10 * time.Millisecond)
	}
	heartbeat(t, ss, "b")
	if got := alive("b"); !slices.Equal(got, all(true)) {
		t.Errorf("renewed: Alive(b) = %v, want true", got)
	}
}

// claimEvents runs ClaimEvents in an Update.
func claimEvents(t testing.TB, ss []lambdahost.Store, node string, limit int) []*lambdahost.AsyncEvent {
	t.Helper()
	var evs []*lambdahost.AsyncEvent
	mustUpdate(t, on(ss, node), func(tx lambdahost.Tx) (err error) {
		evs, err = tx.ClaimEvents(t.Context(), node, "", limit)
		return err
	})
	return evs
}

// claimEventsAfter runs ClaimEvents with a cursor in an Update.
func claimEventsAfter(t testing.TB, ss []lambdahost.Store, node, after string, limit int) []*lambdahost.AsyncEvent {
	t.Helper()
	var evs []*lambdahost.AsyncEvent
	mustUpdate(t, on(ss, node), func(tx lambdahost.Tx) (err error) {
		evs, err = tx.ClaimEvents(t.Context(), node, after, limit)
		return err
	})
	return evs
}

func testClaimEvents(t *testing.T, ss []lambdahost.Store) {
	s := ss[0]
	heartbeat(t, ss, "a", "b")
	id := fid(accountA, regionA, "fn")
	var evs []*lambdahost.AsyncEvent
	for i, node := range []string{"a", "", "gone", "b", "a", ""} {
		ev := fullEvent(id, fmt.Sprintf("ev-%d", i))
		ev.Node = node
		evs = append(evs, ev)
	}
	putEvents(t, s, evs...)

	// Only events after the cursor: b takes ev-2.
	if got, want := eventIDs(claimEventsAfter(t, ss, "b", "ev-1", 1)), []string{"ev-2"}; !slices.Equal(got, want) {
		t.Errorf("ClaimEvents after ev-1 = %v, want %v", got, want)
	}
	// b takes the other free ones (no node, a node that never
	// registered), oldest first, two at a time.
	got := claimEvents(t, ss, "b", 2)
	if ids, want := eventIDs(got), []string{"ev-1", "ev-5"}; !slices.Equal(ids, want) {
		t.Fatalf("first ClaimEvents = %v, want %v", ids, want)
	}
	want5 := *evs[5]
	want5.Node, want5.Created = "b", want5.Created.UTC()
	if d := diff([]*lambdahost.AsyncEvent{&want5}, got[1:]); d != "" {
		t.Errorf("claimed event (-want +got):\n%s", d)
	}
	if got := claimEvents(t, ss, "b", 2); len(got) != 0 {
		t.Errorf("second ClaimEvents = %v, want none", eventIDs(got))
	}
	if got := claimEvents(t, ss, "a", 0); len(got) != 0 {
		t.Errorf("a claimed %v, held by live nodes", eventIDs(got))
	}
	// ListEvents shows who holds what.
	nodes := map[string]string{}
	for _, ev := range listEvents(t, s) {
		nodes[ev.ID] = ev.Node
	}
	want := map[string]string{"ev-0": "a", "ev-1": "b", "ev-2": "b", "ev-3": "b", "ev-4": "a", "ev-5": "b"}
	if d := fmt.Sprint(nodes); d != fmt.Sprint(want) {
		t.Errorf("nodes of events = %v, want %v", nodes, want)
	}
	// a leaves: b takes its events.
	leave(t, ss, "a")
	if got, want := eventIDs(claimEvents(t, ss, "b", 0)), []string{"ev-0", "ev-4"}; !slices.Equal(got, want) {
		t.Errorf("ClaimEvents after a left = %v, want %v", got, want)
	}
	// Deleting a claimed event deletes it.
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteEvent(t.Context(), "ev-0") })
	leave(t, ss, "b")
	heartbeat(t, ss, "c")
	if got, want := eventIDs(claimEvents(t, ss, "c", 0)), []string{"ev-1", "ev-2", "ev-3", "ev-4", "ev-5"}; !slices.Equal(got, want) {
		t.Errorf("ClaimEvents after b left = %v, want %v", got, want)
	}
	// A View cannot claim.
	var werr error
	_ = s.View(t.Context(), func(tx lambdahost.Tx) error {
		_, werr = tx.ClaimEvents(t.Context(), "c", "", 0)
		return nil
	})
	if werr == nil {
		t.Error("ClaimEvents in a View succeeded")
	}
}

func testClaimEventsConcurrently(t *testing.T, ss []lambdahost.Store) {
	s := ss[0]
	const n, claimers = 60, 4
	id := fid(accountA, regionA, "fn")
	var evs []*lambdahost.AsyncEvent
	for i := range n {
		ev := fullEvent(id, fmt.Sprintf("ev-%03d", i))
		ev.Node = ""
		evs = append(evs, ev)
	}
	putEvents(t, s, evs...)
	var (
		mu      sync.Mutex
		claimed = map[string]string{}
		wg      sync.WaitGroup
	)
	for c := range claimers {
		node := fmt.Sprintf("claimer-%d", c)
		heartbeat(t, ss, node)
		wg.Go(func() {
			for {
				var got []*lambdahost.AsyncEvent
				err := on(ss, node).Update(t.Context(), func(tx lambdahost.Tx) (err error) {
					got, err = tx.ClaimEvents(t.Context(), node, "", 3)
					return err
				})
				if err != nil {
					t.Errorf("%s: ClaimEvents: %v", node, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, ev := range got {
					if other, ok := claimed[ev.ID]; ok {
						t.Errorf("%s claimed by %s and %s", ev.ID, other, node)
					}
					claimed[ev.ID] = node
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != n {
		t.Errorf("%d events claimed, want %d", len(claimed), n)
	}
}

func testConcurrency(t *testing.T, ss []lambdahost.Store) {
	ctx := t.Context()
	heartbeat(t, ss, "a", "b")
	acquire := func(node, key string, limit int) bool {
		t.Helper()
		ok, err := on(ss, node).AcquireConcurrency(ctx, node, key, limit)
		if err != nil {
			t.Fatalf("AcquireConcurrency: %v", err)
		}
		return ok
	}
	release := func(node, key string) {
		t.Helper()
		if err := on(ss, node).ReleaseConcurrency(ctx, node, key); err != nil {
			t.Fatalf("ReleaseConcurrency: %v", err)
		}
	}
	steps := []struct {
		name string
		got  func() bool
		want bool
	}{
		{"a-first", func() bool { return acquire("a", "fn", 2) }, true},
		{"b-second", func() bool { return acquire("b", "fn", 2) }, true},
		{"a-over-the-limit", func() bool { return acquire("a", "fn", 2) }, false},
		{"b-over-the-limit", func() bool { return acquire("b", "fn", 2) }, false},
		{"other-key", func() bool { return acquire("a", "acct", 1) }, true},
		{"zero-limit", func() bool { return acquire("a", "none", 0) }, false},
		{"a-releases-b-acquires", func() bool { release("a", "fn"); return acquire("b", "fn", 2) }, true},
		{"full-again", func() bool { return acquire("a", "fn", 2) }, false},
		{"b-leaves-its-counts-go", func() bool { leave(t, ss, "b"); return acquire("a", "fn", 2) }, true},
		{"a-takes-the-second", func() bool { return acquire("a", "fn", 2) }, true},
		{"full-with-a-alone", func() bool { return acquire("a", "fn", 2) }, false},
		{"release-unknown", func() bool { release("a", "unknown"); return acquire("a", "unknown", 1) }, true},
	}
	for _, st := range steps {
		if got := st.got(); got != st.want {
			t.Errorf("%s: AcquireConcurrency = %v, want %v", st.name, got, st.want)
		}
	}
	// Concurrent acquisitions from several nodes never pass the limit.
	const limit, nodes, tries = 5, 3, 20
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		held int
		peak int
	)
	for i := range nodes {
		node := fmt.Sprintf("n%d", i)
		heartbeat(t, ss, node)
		wg.Go(func() {
			for range tries {
				ok, err := on(ss, node).AcquireConcurrency(ctx, node, "race", limit)
				if err != nil {
					t.Errorf("AcquireConcurrency: %v", err)
					return
				}
				if !ok {
					continue
				}
				mu.Lock()
				held++
				peak = max(peak, held)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				held--
				mu.Unlock()
				if err := on(ss, node).ReleaseConcurrency(ctx, node, "race"); err != nil {
					t.Errorf("ReleaseConcurrency: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if peak > limit {
		t.Errorf("%d invocations counted at once, limit %d", peak, limit)
	}
}

func testCodeLock(t *testing.T, ss []lambdahost.Store) {
	s := ss[0]
	ctx := t.Context()
	// Shared holders do not exclude each other.
	u1, err := s.LockCode(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := on(ss, "b").LockCode(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		released bool
		got      = make(chan error, 1)
	)
	go func() {
		unlock, err := on(ss, "c").LockCode(ctx, true)
		if err == nil {
			mu.Lock()
			if !released {
				err = errors.New("exclusive lock taken while shared holders held it")
			}
			mu.Unlock()
			unlock()
		}
		got <- err
	}()
	// The exclusive waiter must still be waiting: give it time to be wrong.
	time.Sleep(50 * time.Millisecond)
	u1()
	mu.Lock()
	released = true
	mu.Unlock()
	u2()
	u2() // releasing twice is harmless
	select {
	case err := <-got:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(patience):
		t.Fatal("exclusive lock not taken after the shared holders released it")
	}
	// Once released, the lock can be taken again both ways.
	for _, excl := range []bool{true, false} {
		unlock, err := s.LockCode(ctx, excl)
		if err != nil {
			t.Fatalf("LockCode(%v): %v", excl, err)
		}
		unlock()
	}
}

func testWatch(t *testing.T, ss []lambdahost.Store) {
	// Changes are made through one store and watched through another.
	watched, s := ss[0], ss[len(ss)-1]
	ctx := t.Context()
	seen := make(chan lambdahost.FunctionID, 100)
	watchCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- watched.Watch(watchCtx, func(id lambdahost.FunctionID) { seen <- id })
	}()
	// The watch may start listening after this goroutine's first writes:
	// write until a change is seen.
	a, b, c := fid(accountA, regionA, "a"), fid(accountB, regionB, "b"), fid(accountA, regionA, "c")
	put(t, s, fullVersion(a, lambdahost.VersionLatest))
	deadline := time.After(patience)
	expect := func(want lambdahost.FunctionID) {
		t.Helper()
		for {
			select {
			case id := <-seen:
				if id == want {
					return
				}
				if id != (lambdahost.FunctionID{}) && id != a {
					t.Errorf("Watch reported %v, want %v", id, want)
				}
			case <-deadline:
				t.Fatalf("Watch did not report %v", want)
			case <-time.After(100 * time.Millisecond):
				if want == a {
					put(t, s, fullVersion(a, lambdahost.VersionLatest))
				}
			}
		}
	}
	expect(a)
	// A rolled-back change is not reported; the next committed one is.
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.CreateFunction(ctx, newFunction(c)); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	changes := []struct {
		name string
		id   lambdahost.FunctionID
		fn   func(tx lambdahost.Tx) error
	}{
		{"create-function", b, func(tx lambdahost.Tx) error { return tx.CreateFunction(ctx, newFunction(b)) }},
		{"put-function", b, func(tx lambdahost.Tx) error { return tx.PutFunction(ctx, fullFunction(b)) }},
		{"put-version", b, func(tx lambdahost.Tx) error { return tx.PutVersion(ctx, fullVersion(b, "1")) }},
		{"create-alias", b, func(tx lambdahost.Tx) error { return tx.CreateAlias(ctx, fullAlias(b, "live")) }},
		{"put-alias", b, func(tx lambdahost.Tx) error { return tx.PutAlias(ctx, fullAlias(b, "live")) }},
		{"delete-alias", b, func(tx lambdahost.Tx) error { return tx.DeleteAlias(ctx, b, "live") }},
		{"delete-version", b, func(tx lambdahost.Tx) error { return tx.DeleteVersion(ctx, b, "1") }},
		{"delete-function", a, func(tx lambdahost.Tx) error { return tx.DeleteFunction(ctx, a) }},
	}
	for _, ch := range changes {
		mustUpdate(t, s, ch.fn)
		select {
		case id := <-seen:
			for id == a && ch.id != a {
				// Late reports of a's creation.
				id = <-seen
			}
			if id == c {
				t.Errorf("%s: Watch reported the rolled-back change of %v", ch.name, c)
			} else if id != ch.id && id != (lambdahost.FunctionID{}) {
				t.Errorf("%s: Watch reported %v, want %v", ch.name, id, ch.id)
			}
		case <-time.After(patience):
			t.Fatalf("%s: Watch did not report %v", ch.name, ch.id)
		}
	}
	stop()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Watch returned nil once its context was done")
		}
	case <-time.After(patience):
		t.Fatal("Watch did not return once its context was done")
	}
}

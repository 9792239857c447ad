package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
)

// The deliveries: messages for destinations, stored until sent.

func deliveryIDs(ds []*lambdahost.Delivery) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func newDelivery(id, node string) *lambdahost.Delivery {
	return &lambdahost.Delivery{ID: id, Node: node, Created: created, Target: "arn:aws:sqs:us-east-1:111111111111:q-" + id,
		Body: []byte(`{"body":"` + id + `","attributes":{"RequestID":"r"}}`)}
}

func putDeliveries(t testing.TB, s lambdahost.Store, ds ...*lambdahost.Delivery) {
	t.Helper()
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		for _, d := range ds {
			if err := tx.PutDelivery(t.Context(), d); err != nil {
				return err
			}
		}
		return nil
	})
}

func listDeliveries(t testing.TB, s lambdahost.Store, after string, limit int) []*lambdahost.Delivery {
	t.Helper()
	var ds []*lambdahost.Delivery
	mustView(t, s, func(tx lambdahost.Tx) (err error) {
		ds, err = tx.ListDeliveries(t.Context(), after, limit)
		return err
	})
	return ds
}

func testDeliveryRoundTrip(t *testing.T, s lambdahost.Store) {
	cet := time.FixedZone("CET", 3600)
	big := newDelivery("d-2", "")
	big.Body = make([]byte, 300<<10) // a record of a 256 KB payload and more
	other := newDelivery("d-3", "node-x")
	other.Created = time.Date(2024, 2, 29, 23, 59, 59, 999_000_000, cet)
	ds := []*lambdahost.Delivery{newDelivery("d-1", "node-a"), big, other}
	putDeliveries(t, s, ds...)
	got := listDeliveries(t, s, "", 0)
	var want []*lambdahost.Delivery
	for _, d := range ds {
		w := *d
		w.Created = w.Created.UTC()
		want = append(want, &w)
	}
	if d := diff(want, got); d != "" {
		t.Errorf("ListDeliveries (-want +got):\n%s", d)
	}
	// Paging by ID.
	if got, want := deliveryIDs(listDeliveries(t, s, "d-1", 1)), []string{"d-2"}; !slices.Equal(got, want) {
		t.Errorf("ListDeliveries after d-1, 1 = %v, want %v", got, want)
	}
	// A second Put of the same ID is refused, and leaves the first.
	err := s.Update(t.Context(), func(tx lambdahost.Tx) error { return tx.PutDelivery(t.Context(), newDelivery("d-1", "other")) })
	if !errors.Is(err, lambdahost.ErrExists) {
		t.Errorf("PutDelivery of an existing ID: %v, want ErrExists", err)
	}
	// Delete, twice: the second is no error.
	for range 2 {
		mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteDelivery(t.Context(), "d-2") })
	}
	if got, want := deliveryIDs(listDeliveries(t, s, "", 0)), []string{"d-1", "d-3"}; !slices.Equal(got, want) {
		t.Errorf("after DeleteDelivery = %v, want %v", got, want)
	}
	// A rolled-back Put leaves nothing.
	_ = s.Update(t.Context(), func(tx lambdahost.Tx) error {
		if err := tx.PutDelivery(t.Context(), newDelivery("d-9", "")); err != nil {
			return err
		}
		return errBoom
	})
	if got := deliveryIDs(listDeliveries(t, s, "d-3", 0)); len(got) != 0 {
		t.Errorf("rolled-back PutDelivery left %v", got)
	}
}

// testDeliveriesOutliveFunctions: a delivery records what a function did;
// deleting the function does not take it back.
func testDeliveriesOutliveFunctions(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(t.Context(), newFunction(id)) })
	putDeliveries(t, s, newDelivery("d-1", ""))
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteFunction(t.Context(), id) })
	if got := deliveryIDs(listDeliveries(t, s, "", 0)); !slices.Equal(got, []string{"d-1"}) {
		t.Errorf("deliveries after DeleteFunction = %v, want [d-1]", got)
	}
}

func claimDeliveries(t testing.TB, ss []lambdahost.Store, node, after string, limit int) []*lambdahost.Delivery {
	t.Helper()
	var ds []*lambdahost.Delivery
	mustUpdate(t, on(ss, node), func(tx lambdahost.Tx) (err error) {
		ds, err = tx.ClaimDeliveries(t.Context(), node, after, limit)
		return err
	})
	return ds
}

func testClaimDeliveries(t *testing.T, ss []lambdahost.Store) {
	s := ss[0]
	heartbeat(t, ss, "a", "b")
	var ds []*lambdahost.Delivery
	for i, node := range []string{"a", "", "gone", "b", "a", ""} {
		ds = append(ds, newDelivery(fmt.Sprintf("d-%d", i), node))
	}
	putDeliveries(t, s, ds...)
	if got, want := deliveryIDs(claimDeliveries(t, ss, "b", "d-1", 1)), []string{"d-2"}; !slices.Equal(got, want) {
		t.Errorf("ClaimDeliveries after d-1 = %v, want %v", got, want)
	}
	got := claimDeliveries(t, ss, "b", "", 2)
	if ids, want := deliveryIDs(got), []string{"d-1", "d-5"}; !slices.Equal(ids, want) {
		t.Fatalf("ClaimDeliveries = %v, want %v", ids, want)
	}
	want5 := *ds[5]
	want5.Node, want5.Created = "b", want5.Created.UTC()
	if d := diff([]*lambdahost.Delivery{&want5}, got[1:]); d != "" {
		t.Errorf("claimed delivery (-want +got):\n%s", d)
	}
	if got := claimDeliveries(t, ss, "a", "", 0); len(got) != 0 {
		t.Errorf("a claimed %v, held by live nodes", deliveryIDs(got))
	}
	leave(t, ss, "a")
	if got, want := deliveryIDs(claimDeliveries(t, ss, "b", "", 0)), []string{"d-0", "d-4"}; !slices.Equal(got, want) {
		t.Errorf("ClaimDeliveries after a left = %v, want %v", got, want)
	}
	nodes := map[string]string{}
	for _, d := range listDeliveries(t, s, "", 0) {
		nodes[d.ID] = d.Node
	}
	if w := map[string]string{"d-0": "b", "d-1": "b", "d-2": "b", "d-3": "b", "d-4": "b", "d-5": "b"}; fmt.Sprint(nodes) != fmt.Sprint(w) {
		t.Errorf("nodes of deliveries = %v, want %v", nodes, w)
	}
	var werr error
	_ = s.View(t.Context(), func(tx lambdahost.Tx) error {
		_, werr = tx.ClaimDeliveries(t.Context(), "c", "", 0)
		return nil
	})
	if werr == nil {
		t.Error("ClaimDeliveries in a View succeeded")
	}
}

func testClaimDeliveriesConcurrently(t *testing.T, ss []lambdahost.Store) {
	const n, claimers = 60, 4
	var ds []*lambdahost.Delivery
	for i := range n {
		ds = append(ds, newDelivery(fmt.Sprintf("d-%03d", i), ""))
	}
	putDeliveries(t, ss[0], ds...)
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
				var got []*lambdahost.Delivery
				err := on(ss, node).Update(t.Context(), func(tx lambdahost.Tx) (err error) {
					got, err = tx.ClaimDeliveries(t.Context(), node, "", 3)
					return err
				})
				if err != nil {
					t.Errorf("%s: ClaimDeliveries: %v", node, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					if other, ok := claimed[d.ID]; ok {
						t.Errorf("%s claimed by %s and %s", d.ID, other, node)
					}
					claimed[d.ID] = node
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != n {
		t.Errorf("%d deliveries claimed, want %d", len(claimed), n)
	}
}

// Package storetest is the conformance suite of lambdahost.Store. Every
// Store implementation runs it from its tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) lambdahost.Store { return MustOpenStore(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
)

// Run runs the conformance suite against the Store implementation that open
// returns. Each subtest calls open once and expects a new, empty Store; Run
// closes it when the subtest ends, so open need not (closing twice must be
// harmless if it does).
//
// Beyond what the lambdahost.Tx comments say, the suite expects names to
// sort bytewise, as Go compares strings (COLLATE "C" in PostgreSQL), times
// to come back in UTC to the millisecond at least, nil and empty maps and
// slices to stay apart, a limit of zero or less to mean no limit (control/
// lists all aliases with 0), and the losers of concurrent read-modify-write
// Updates to have seen the winner's write (not a serialization failure).
func Run(t *testing.T, open func(t *testing.T) lambdahost.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lambdahost.Store)
	}{
		{"fixtures-set-every-field", testFixtures},
		{"function-round-trip", testFunctionRoundTrip},
		{"function-create-exists", testFunctionCreateExists},
		{"function-not-found", testFunctionNotFound},
		{"function-put", testFunctionPut},
		{"function-delete-cascades", testFunctionDeleteCascades},
		{"version-round-trip", testVersionRoundTrip},
		{"version-put-replaces", testVersionPutReplaces},
		{"version-needs-function", testVersionNeedsFunction},
		{"version-not-found", testVersionNotFound},
		{"version-delete", testVersionDelete},
		{"list-versions-order", testListVersionsOrder},
		{"list-versions-pagination", testListVersionsPagination},
		{"list-latest", testListLatest},
		{"list-latest-pagination", testListLatestPagination},
		{"isolation-account-region", testIsolation},
		{"list-all-versions", testListAllVersions},
		{"list-all-versions-pagination", testListAllVersionsPagination},
		{"alias-crud", testAliasCRUD},
		{"alias-round-trip", testAliasRoundTrip},
		{"alias-list", testAliasList},
		{"list-limit-zero-lists-all", testListLimitZero},
		{"all-functions", testAllFunctions},
		{"all-functions-pagination", testAllFunctionsPagination},
		{"list-code", testListCode},
		{"usage", testUsage},
		{"digests", testDigests}, {"code-refs", testCodeRefs},
		{"unsettled", testUnsettled},
		{"event-round-trip", testEventRoundTrip},
		{"event-put-exists", testEventPutExists},
		{"event-needs-function", testEventNeedsFunction},
		{"event-list-order", testEventListOrder},
		{"event-delete", testEventDelete},
		{"event-function-delete", testEventFunctionDelete},
		{"event-rolls-back", testEventRollback},
		{"delivery-round-trip", testDeliveryRoundTrip},
		{"deliveries-outlive-functions", testDeliveriesOutliveFunctions},
		{"record-round-trip", testRecordRoundTrip},
		{"record-list", testRecordList},
		{"size", testSize},
		{"inline-code", testInlineCode},
		{"inline-code-rolls-back", testInlineCodeRollback},
		{"update-error-rolls-back", testUpdateRollback},
		{"view-is-read-only", testViewReadOnly},
		{"view-sees-snapshot", testViewSnapshot},
		{"update-is-serializable", testUpdateSerializable},
		{"update-loses-no-update", testUpdateNoLostUpdate},
		{"concurrent-readers-and-writers", testConcurrentReadersWriters},
		{"context-canceled-before-update", testContextCanceledBefore},
		{"context-canceled-during-update", testContextCanceledDuring},
		{"claim", one(testClaim)},
		{"claim-left-by-dead-node", one(testClaimDeadNode)},
		{"node-alive", one(testAlive)},
		{"claim-events", one(testClaimEvents)},
		{"claim-events-concurrently", one(testClaimEventsConcurrently)},
		{"claim-deliveries", one(testClaimDeliveries)},
		{"claim-deliveries-concurrently", one(testClaimDeliveriesConcurrently)},
		{"concurrency-counts", one(testConcurrency)},
		{"code-lock", one(testCodeLock)},
		{"watch", one(testWatch)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// Accounts and regions of the fixtures.
const (
	accountA = "111111111111"
	accountB = "222222222222"
	regionA  = "us-east-1"
	regionB  = "eu-west-1"
)

// first is the `after` of ListVersions and ListAllVersions that starts at
// the beginning.
const first = math.MinInt64

var errBoom = errors.New("boom")

// cmpOpts compares times to the millisecond and requires equal locations
// (stores return UTC).
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool {
		d := a.Sub(b)
		return d < time.Millisecond && d > -time.Millisecond && a.Location() == b.Location()
	}),
}

func fid(account, region, name string) lambdahost.FunctionID {
	return lambdahost.FunctionID{Account: account, Region: region, Name: name}
}

// mustUpdate runs fn in s.Update and fails the test on an error.
func mustUpdate(t testing.TB, s lambdahost.Store, fn func(tx lambdahost.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// mustView runs fn in s.View and fails the test on an error.
func mustView(t testing.TB, s lambdahost.Store, fn func(tx lambdahost.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// put creates the functions of vs that do not exist yet and puts vs.
func put(t testing.TB, s lambdahost.Store, vs ...*lambdahost.Version) {
	t.Helper()
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		ctx := t.Context()
		for _, v := range vs {
			if _, err := tx.Function(ctx, v.Function); errors.Is(err, lambdahost.ErrNotFound) {
				if err := tx.CreateFunction(ctx, newFunction(v.Function)); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
			if err := tx.PutVersion(ctx, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// getVersion returns version name of id, failing the test if there is none.
func getVersion(t testing.TB, s lambdahost.Store, id lambdahost.FunctionID, name string) *lambdahost.Version {
	t.Helper()
	var v *lambdahost.Version
	mustView(t, s, func(tx lambdahost.Tx) (err error) {
		v, err = tx.Version(t.Context(), id, name)
		return err
	})
	return v
}

// wantNotFound fails the test unless err wraps lambdahost.ErrNotFound.
func wantNotFound(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, lambdahost.ErrNotFound) {
		t.Errorf("%s: err = %v, want one wrapping ErrNotFound", what, err)
	}
}

// wantExists fails the test unless err wraps lambdahost.ErrExists.
func wantExists(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, lambdahost.ErrExists) {
		t.Errorf("%s: err = %v, want one wrapping ErrExists", what, err)
	}
}

// diff returns cmp.Diff(want, got), treating nil and empty lists as equal.
func diff[T any](want, got []T) string {
	if len(want) == 0 && len(got) == 0 {
		return ""
	}
	return cmp.Diff(want, got, cmpOpts)
}

// names returns "function:version" for each of vs, for readable failures.
func names(vs []*lambdahost.Version) []string {
	var s []string
	for _, v := range vs {
		s = append(s, v.Function.Name+":"+v.Name)
	}
	return s
}

func sortVersions(vs []*lambdahost.Version) {
	slices.SortFunc(vs, func(a, b *lambdahost.Version) int { return strings.Compare(a.ARN(), b.ARN()) })
}

func testFixtures(t *testing.T, _ lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	// When the domain types grow a field, the full fixtures must set it, so
	// that the round-trip tests cover it.
	checkAllSet(t, "Function", reflect.ValueOf(fullFunction(id)))
	checkAllSet(t, "Version", reflect.ValueOf(fullVersion(id, "1")))
	checkAllSet(t, "Alias", reflect.ValueOf(fullAlias(id, "live")))
	checkAllSet(t, "AsyncEvent", reflect.ValueOf(fullEvent(id, "ev")))
}

func testFunctionRoundTrip(t *testing.T, s lambdahost.Store) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		f    *lambdahost.Function
	}{
		{name: "full", f: fullFunction(fid(accountA, regionA, "full"))},
		{name: "nil-tags", f: &lambdahost.Function{ID: fid(accountA, regionA, "nil-tags"), Created: time.Now().UTC()}},
		{name: "empty-tags", f: &lambdahost.Function{ID: fid(accountA, regionA, "empty-tags"), Tags: map[string]string{}}},
		{name: "zero", f: &lambdahost.Function{ID: fid(accountA, regionA, "zero")}},
		// Zero reserved concurrency is a setting (it throttles the
		// function), apart from none.
		{name: "reserved-zero", f: &lambdahost.Function{ID: fid(accountA, regionA, "reserved-zero"), ReservedConcurrency: ptr(0)}},
		{name: "other-time-zone", f: &lambdahost.Function{ID: fid(accountA, regionA, "cet"), Created: time.Date(2024, 2, 29, 23, 59, 59, 999_000_000, cet)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(t.Context(), tt.f) })
			want := *tt.f
			if !want.Created.IsZero() {
				want.Created = want.Created.UTC()
			}
			// Read in the same transaction and in a later one.
			mustUpdate(t, s, func(tx lambdahost.Tx) error {
				got, err := tx.Function(t.Context(), tt.f.ID)
				if err != nil {
					return err
				}
				if d := cmp.Diff(&want, got, cmpOpts); d != "" {
					t.Errorf("Function in Update (-want +got):\n%s", d)
				}
				return nil
			})
			mustView(t, s, func(tx lambdahost.Tx) error {
				got, err := tx.Function(t.Context(), tt.f.ID)
				if err != nil {
					return err
				}
				if d := cmp.Diff(&want, got, cmpOpts); d != "" {
					t.Errorf("Function (-want +got):\n%s", d)
				}
				return nil
			})
		})
	}
}

func testFunctionCreateExists(t *testing.T, s lambdahost.Store) {
	f := fullFunction(fid(accountA, regionA, "fn"))
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(t.Context(), f) })
	other := &lambdahost.Function{ID: f.ID, LastVersion: 99}
	err := s.Update(t.Context(), func(tx lambdahost.Tx) error { return tx.CreateFunction(t.Context(), other) })
	wantExists(t, "CreateFunction of an existing function", err)

	// A transaction that sees ErrExists may go on and commit.
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		wantExists(t, "CreateFunction in a transaction", tx.CreateFunction(t.Context(), other))
		return tx.CreateFunction(t.Context(), newFunction(fid(accountA, regionA, "fn2")))
	})
	mustView(t, s, func(tx lambdahost.Tx) error {
		got, err := tx.Function(t.Context(), f.ID)
		if err != nil {
			return err
		}
		if d := cmp.Diff(f, got, cmpOpts); d != "" {
			t.Errorf("duplicate CreateFunction changed the function (-want +got):\n%s", d)
		}
		_, err = tx.Function(t.Context(), fid(accountA, regionA, "fn2"))
		return err
	})
}

func testFunctionNotFound(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "missing")
	ctx := t.Context()
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Function(ctx, id)
		wantNotFound(t, "Function", err)
		return nil
	})
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		wantNotFound(t, "PutFunction", tx.PutFunction(ctx, newFunction(id)))
		wantNotFound(t, "DeleteFunction", tx.DeleteFunction(ctx, id))
		return nil
	})
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Function(ctx, id)
		wantNotFound(t, "Function after PutFunction of a missing function", err)
		return nil
	})
}

func testFunctionPut(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(t.Context(), newFunction(id)) })
	want := fullFunction(id)
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.PutFunction(t.Context(), want) })
	mustView(t, s, func(tx lambdahost.Tx) error {
		got, err := tx.Function(t.Context(), id)
		if err != nil {
			return err
		}
		if d := cmp.Diff(want, got, cmpOpts); d != "" {
			t.Errorf("Function after PutFunction (-want +got):\n%s", d)
		}
		return nil
	})
	// Put back to nil tags and no reserved concurrency.
	want = &lambdahost.Function{ID: id, LastVersion: 3}
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.PutFunction(t.Context(), want) })
	mustView(t, s, func(tx lambdahost.Tx) error {
		got, err := tx.Function(t.Context(), id)
		if err != nil {
			return err
		}
		if d := cmp.Diff(want, got, cmpOpts); d != "" {
			t.Errorf("Function after second PutFunction (-want +got):\n%s", d)
		}
		return nil
	})
}

func testFunctionDeleteCascades(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	id := fid(accountA, regionA, "doomed")
	other := fid(accountA, regionA, "other")
	put(t, s,
		fullVersion(id, lambdahost.VersionLatest), fullVersion(id, "1"), fullVersion(id, "2"),
		fullVersion(other, lambdahost.VersionLatest))
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		for _, a := range []*lambdahost.Alias{fullAlias(id, "live"), fullAlias(id, "beta"), fullAlias(other, "live")} {
			if err := tx.CreateAlias(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteFunction(ctx, id) })

	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Function(ctx, id)
		wantNotFound(t, "Function", err)
		for _, name := range []string{lambdahost.VersionLatest, "1", "2"} {
			_, err := tx.Version(ctx, id, name)
			wantNotFound(t, "Version "+name, err)
		}
		for _, name := range []string{"live", "beta"} {
			_, err := tx.Alias(ctx, id, name)
			wantNotFound(t, "Alias "+name, err)
		}
		all, err := tx.ListAllVersions(ctx, accountA, regionA, "", first, 100)
		if err != nil {
			return err
		}
		if got, want := names(all), []string{"other:$LATEST"}; !slices.Equal(got, want) {
			t.Errorf("ListAllVersions = %v, want %v", got, want)
		}
		if _, err := tx.Alias(ctx, other, "live"); err != nil {
			t.Errorf("alias of another function: %v", err)
		}
		return nil
	})

	// A new function of the same name starts empty.
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(ctx, newFunction(id)) })
	mustView(t, s, func(tx lambdahost.Tx) error {
		vs, err := tx.ListVersions(ctx, id, first, 100)
		if err != nil {
			return err
		}
		if len(vs) != 0 {
			t.Errorf("recreated function has versions %v", names(vs))
		}
		as, err := tx.ListAliases(ctx, id, "", 100)
		if err != nil {
			return err
		}
		if len(as) != 0 {
			t.Errorf("recreated function has %d aliases", len(as))
		}
		return nil
	})
}

func testVersionRoundTrip(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	tests := []struct {
		name string
		v    *lambdahost.Version
	}{
		{name: "full", v: fullVersion(id, lambdahost.VersionLatest)},
		{name: "full-published", v: fullVersion(id, "7")},
		{name: "full-latest-published", v: fullVersion(id, lambdahost.VersionLatestPublished)},
		{name: "zero", v: &lambdahost.Version{Function: id, Name: "1"}},
		{name: "empty-not-nil", v: emptyVersion(id, "2")},
		{name: "image", v: imageVersion(id, "3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			put(t, s, tt.v)
			got := getVersion(t, s, id, tt.v.Name)
			if d := cmp.Diff(tt.v, got, cmpOpts); d != "" {
				t.Errorf("Version (-want +got):\n%s", d)
			}
			if tt.name == "empty-not-nil" && got.Config.Environment == nil {
				t.Errorf("empty Environment came back nil")
			}
			if tt.name == "zero" && got.Config.Environment != nil {
				t.Errorf("nil Environment came back as %#v", got.Config.Environment)
			}
			// Every listing returns the whole record too.
			mustView(t, s, func(tx lambdahost.Tx) error {
				ctx := t.Context()
				order := lambdahost.VersionOrder(tt.v.Name)
				vs, err := tx.ListVersions(ctx, id, order-1, 1)
				if err != nil {
					return err
				}
				if d := diff([]*lambdahost.Version{tt.v}, vs); d != "" {
					t.Errorf("ListVersions (-want +got):\n%s", d)
				}
				vs, err = tx.ListAllVersions(ctx, accountA, regionA, id.Name, order-1, 1)
				if err != nil {
					return err
				}
				if d := diff([]*lambdahost.Version{tt.v}, vs); d != "" {
					t.Errorf("ListAllVersions (-want +got):\n%s", d)
				}
				if tt.v.Name == lambdahost.VersionLatest {
					vs, err = tx.ListLatest(ctx, accountA, regionA, "", 1)
					if err != nil {
						return err
					}
					if d := diff([]*lambdahost.Version{tt.v}, vs); d != "" {
						t.Errorf("ListLatest (-want +got):\n%s", d)
					}
				}
				return nil
			})
		})
	}

	t.Run("unsettled", func(t *testing.T) {
		v := fullVersion(fid(accountB, regionB, "busy"), lambdahost.VersionLatest)
		v.Status.State = lambdahost.StatePending
		put(t, s, v)
		mustView(t, s, func(tx lambdahost.Tx) error {
			vs, err := tx.Unsettled(t.Context())
			if err != nil {
				return err
			}
			if d := diff([]*lambdahost.Version{v}, vs); d != "" {
				t.Errorf("Unsettled (-want +got):\n%s", d)
			}
			return nil
		})
	})
}

func testVersionPutReplaces(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	put(t, s, fullVersion(id, lambdahost.VersionLatest))
	want := emptyVersion(id, lambdahost.VersionLatest)
	want.RevisionID = "second"
	put(t, s, want)
	got := getVersion(t, s, id, lambdahost.VersionLatest)
	if d := cmp.Diff(want, got, cmpOpts); d != "" {
		t.Errorf("Version after second PutVersion (-want +got):\n%s", d)
	}
	mustView(t, s, func(tx lambdahost.Tx) error {
		vs, err := tx.ListVersions(t.Context(), id, first, 100)
		if err != nil {
			return err
		}
		if len(vs) != 1 {
			t.Errorf("ListVersions = %v, want one version", names(vs))
		}
		return nil
	})
}

func testVersionNeedsFunction(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "missing")
	err := s.Update(t.Context(), func(tx lambdahost.Tx) error {
		return tx.PutVersion(t.Context(), fullVersion(id, lambdahost.VersionLatest))
	})
	wantNotFound(t, "PutVersion of a missing function", err)
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Version(t.Context(), id, lambdahost.VersionLatest)
		wantNotFound(t, "Version", err)
		return nil
	})
}

func testVersionNotFound(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	put(t, s, fullVersion(id, lambdahost.VersionLatest))
	ctx := t.Context()
	mustView(t, s, func(tx lambdahost.Tx) error {
		for _, f := range []lambdahost.FunctionID{id, fid(accountA, regionA, "missing")} {
			for _, name := range []string{"1", lambdahost.VersionLatestPublished} {
				_, err := tx.Version(ctx, f, name)
				wantNotFound(t, "Version "+f.QualifiedARN(name), err)
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		wantNotFound(t, "DeleteVersion", tx.DeleteVersion(ctx, id, "1"))
		wantNotFound(t, "DeleteVersion of a missing function", tx.DeleteVersion(ctx, fid(accountA, regionA, "missing"), "1"))
		return nil
	})
}

func testVersionDelete(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	put(t, s, fullVersion(id, lambdahost.VersionLatest), fullVersion(id, "1"), fullVersion(id, "2"))
	ctx := t.Context()
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteVersion(ctx, id, "1") })
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Version(ctx, id, "1")
		wantNotFound(t, "Version after DeleteVersion", err)
		vs, err := tx.ListVersions(ctx, id, first, 100)
		if err != nil {
			return err
		}
		if got, want := names(vs), []string{"fn:$LATEST", "fn:2"}; !slices.Equal(got, want) {
			t.Errorf("ListVersions = %v, want %v", got, want)
		}
		if _, err := tx.Function(ctx, id); err != nil {
			t.Errorf("Function after DeleteVersion: %v", err)
		}
		return nil
	})
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		wantNotFound(t, "second DeleteVersion", tx.DeleteVersion(ctx, id, "1"))
		return nil
	})
}

// versionNames are in VersionOrder: numeric, not lexical.
var versionNames = []string{lambdahost.VersionLatest, lambdahost.VersionLatestPublished, "1", "2", "9", "10", "11", "100"}

// shuffled returns versionNames in another order, to put them in.
func shuffled() []string {
	return []string{"10", "1", "100", lambdahost.VersionLatestPublished, "9", lambdahost.VersionLatest, "2", "11"}
}

func testListVersionsOrder(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	var want []*lambdahost.Version
	byName := map[string]*lambdahost.Version{}
	for _, name := range shuffled() {
		v := fullVersion(id, name)
		byName[name] = v
		put(t, s, v)
	}
	// Another function's versions must not appear.
	put(t, s, fullVersion(fid(accountA, regionA, "fn2"), "3"), fullVersion(fid(accountA, regionA, "fm"), "3"))
	for _, name := range versionNames {
		want = append(want, byName[name])
	}
	mustView(t, s, func(tx lambdahost.Tx) error {
		ctx := t.Context()
		got, err := tx.ListVersions(ctx, id, first, 100)
		if err != nil {
			return err
		}
		if d := diff(want, got); d != "" {
			t.Errorf("ListVersions (-want +got):\n%s", d)
		}
		// after is a VersionOrder: -3 is before $LATEST too, and a
		// number that is no version's starts after it.
		for _, tt := range []struct {
			after int64
			want  []*lambdahost.Version
		}{
			{after: -3, want: want},
			{after: lambdahost.VersionOrder(lambdahost.VersionLatest), want: want[1:]},
			{after: lambdahost.VersionOrder(lambdahost.VersionLatestPublished), want: want[2:]},
			{after: 0, want: want[2:]},
			{after: 9, want: want[5:]},
			{after: 12, want: want[7:]},
			{after: 100, want: nil},
		} {
			got, err := tx.ListVersions(ctx, id, tt.after, 100)
			if err != nil {
				return err
			}
			if d := diff(tt.want, got); d != "" {
				t.Errorf("ListVersions after %d: got %v, want %v", tt.after, names(got), names(tt.want))
			}
		}
		got, err = tx.ListVersions(ctx, fid(accountA, regionA, "missing"), first, 100)
		if err != nil {
			t.Errorf("ListVersions of a missing function: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("ListVersions of a missing function = %v", names(got))
		}
		return nil
	})
}

func testListVersionsPagination(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	for _, name := range shuffled() {
		put(t, s, fullVersion(id, name))
	}
	for _, limit := range []int{1, 2, 3, len(versionNames), len(versionNames) + 1} {
		t.Run(fmt.Sprintf("limit-%d", limit), func(t *testing.T) {
			var got []string
			after := int64(first)
			for range len(versionNames) + 2 {
				var page []*lambdahost.Version
				mustView(t, s, func(tx lambdahost.Tx) (err error) {
					page, err = tx.ListVersions(t.Context(), id, after, limit)
					return err
				})
				if len(page) > limit {
					t.Fatalf("page of %d versions, limit %d", len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				for _, v := range page {
					got = append(got, v.Name)
				}
				after = lambdahost.VersionOrder(page[len(page)-1].Name)
			}
			if !slices.Equal(got, versionNames) {
				t.Errorf("pages gave %v, want %v", got, versionNames)
			}
		})
	}
}

// latestNames are the function names of the ListLatest tests, sorted.
var latestNames = []string{"a", "a-b", "ab", "b", "fn-1", "fn-10", "fn-2", "z"}

func putLatest(t *testing.T, s lambdahost.Store) map[string]*lambdahost.Version {
	byName := map[string]*lambdahost.Version{}
	for i := len(latestNames) - 1; i >= 0; i-- {
		name := latestNames[i]
		id := fid(accountA, regionA, name)
		v := fullVersion(id, lambdahost.VersionLatest)
		byName[name] = v
		// Other versions of the function must not appear in ListLatest.
		put(t, s, fullVersion(id, "1"), v, fullVersion(id, lambdahost.VersionLatestPublished))
	}
	// A function without $LATEST is not listed.
	put(t, s, fullVersion(fid(accountA, regionA, "c"), "1"))
	// Nor are other accounts' and regions' functions.
	put(t, s, fullVersion(fid(accountB, regionA, "b0"), lambdahost.VersionLatest))
	put(t, s, fullVersion(fid(accountA, regionB, "b0"), lambdahost.VersionLatest))
	return byName
}

func testListLatest(t *testing.T, s lambdahost.Store) {
	byName := putLatest(t, s)
	var want []*lambdahost.Version
	for _, name := range latestNames {
		want = append(want, byName[name])
	}
	mustView(t, s, func(tx lambdahost.Tx) error {
		ctx := t.Context()
		got, err := tx.ListLatest(ctx, accountA, regionA, "", 100)
		if err != nil {
			return err
		}
		if d := diff(want, got); d != "" {
			t.Errorf("ListLatest (-want +got):\n%s", d)
		}
		for _, tt := range []struct {
			after string
			want  []*lambdahost.Version
		}{
			{after: "a", want: want[1:]},
			{after: "a-", want: want[1:]}, // no such function: starts after it all the same
			{after: "fn-1", want: want[5:]},
			{after: "fn-10", want: want[6:]},
			{after: "z", want: nil},
		} {
			got, err := tx.ListLatest(ctx, accountA, regionA, tt.after, 100)
			if err != nil {
				return err
			}
			if d := diff(tt.want, got); d != "" {
				t.Errorf("ListLatest after %q: got %v, want %v", tt.after, names(got), names(tt.want))
			}
		}
		got, err = tx.ListLatest(ctx, "333333333333", regionA, "", 100)
		if err != nil {
			t.Errorf("ListLatest of an account without functions: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("ListLatest of an account without functions = %v", names(got))
		}
		return nil
	})
}

func testListLatestPagination(t *testing.T, s lambdahost.Store) {
	putLatest(t, s)
	for _, limit := range []int{1, 2, 3, len(latestNames), 50} {
		t.Run(fmt.Sprintf("limit-%d", limit), func(t *testing.T) {
			var got []string
			after := ""
			for range len(latestNames) + 2 {
				var page []*lambdahost.Version
				mustView(t, s, func(tx lambdahost.Tx) (err error) {
					page, err = tx.ListLatest(t.Context(), accountA, regionA, after, limit)
					return err
				})
				if len(page) > limit {
					t.Fatalf("page of %d versions, limit %d", len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				for _, v := range page {
					got = append(got, v.Function.Name)
				}
				after = page[len(page)-1].Function.Name
			}
			if !slices.Equal(got, latestNames) {
				t.Errorf("pages gave %v, want %v", got, latestNames)
			}
		})
	}
}

func testIsolation(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	ids := []lambdahost.FunctionID{
		fid(accountA, regionA, "shared"),
		fid(accountA, regionB, "shared"),
		fid(accountB, regionA, "shared"),
		fid(accountB, regionB, "shared"),
	}
	fns := map[lambdahost.FunctionID]*lambdahost.Function{}
	vers := map[lambdahost.FunctionID]*lambdahost.Version{}
	aliases := map[lambdahost.FunctionID]*lambdahost.Alias{}
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		for i, id := range ids {
			f := fullFunction(id)
			f.LastVersion = int64(i + 1)
			v := fullVersion(id, lambdahost.VersionLatest)
			v.Config.Description = id.ARN()
			v.Code.Size = int64(1000 * (i + 1))
			a := fullAlias(id, "live")
			a.Description = id.ARN()
			fns[id], vers[id], aliases[id] = f, v, a
			if err := tx.CreateFunction(ctx, f); err != nil {
				return err
			}
			if err := tx.PutVersion(ctx, v); err != nil {
				return err
			}
			if err := tx.CreateAlias(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(t *testing.T, ids []lambdahost.FunctionID) {
		mustView(t, s, func(tx lambdahost.Tx) error {
			for _, id := range ids {
				f, err := tx.Function(ctx, id)
				if err != nil {
					return err
				}
				if d := cmp.Diff(fns[id], f, cmpOpts); d != "" {
					t.Errorf("Function %s (-want +got):\n%s", id.ARN(), d)
				}
				v, err := tx.Version(ctx, id, lambdahost.VersionLatest)
				if err != nil {
					return err
				}
				if d := cmp.Diff(vers[id], v, cmpOpts); d != "" {
					t.Errorf("Version %s (-want +got):\n%s", id.ARN(), d)
				}
				a, err := tx.Alias(ctx, id, "live")
				if err != nil {
					return err
				}
				if d := cmp.Diff(aliases[id], a, cmpOpts); d != "" {
					t.Errorf("Alias %s (-want +got):\n%s", id.ARN(), d)
				}
				for _, list := range []func() ([]*lambdahost.Version, error){
					func() ([]*lambdahost.Version, error) { return tx.ListLatest(ctx, id.Account, id.Region, "", 100) },
					func() ([]*lambdahost.Version, error) {
						return tx.ListAllVersions(ctx, id.Account, id.Region, "", first, 100)
					},
					func() ([]*lambdahost.Version, error) { return tx.ListVersions(ctx, id, first, 100) },
				} {
					vs, err := list()
					if err != nil {
						return err
					}
					if d := diff([]*lambdahost.Version{vers[id]}, vs); d != "" {
						t.Errorf("listing of %s (-want +got):\n%s", id.ARN(), d)
					}
				}
				as, err := tx.ListAliases(ctx, id, "", 100)
				if err != nil {
					return err
				}
				if d := diff([]*lambdahost.Alias{aliases[id]}, as); d != "" {
					t.Errorf("ListAliases of %s (-want +got):\n%s", id.ARN(), d)
				}
			}
			return nil
		})
	}
	check(t, ids)

	// Deleting one leaves the others.
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		if err := tx.DeleteVersion(ctx, ids[0], lambdahost.VersionLatest); err != nil {
			return err
		}
		if err := tx.DeleteAlias(ctx, ids[1], "live"); err != nil {
			return err
		}
		return tx.DeleteFunction(ctx, ids[1])
	})
	check(t, ids[2:])
	mustView(t, s, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, ids[0]); err != nil {
			t.Errorf("Function %s: %v", ids[0].ARN(), err)
		}
		_, err := tx.Version(ctx, ids[0], lambdahost.VersionLatest)
		wantNotFound(t, "deleted version", err)
		_, err = tx.Function(ctx, ids[1])
		wantNotFound(t, "deleted function", err)
		return nil
	})
}

// allVersions are the versions of the ListAllVersions tests, in order.
var allVersions = []struct{ fn, version string }{
	{"a", lambdahost.VersionLatest},
	{"a", lambdahost.VersionLatestPublished},
	{"a", "1"},
	{"a", "2"},
	{"a", "10"},
	{"b", lambdahost.VersionLatest},
	{"b-c", "3"},
	{"c", lambdahost.VersionLatest},
	{"c", "1"},
	{"c", "12"},
}

func putAllVersions(t *testing.T, s lambdahost.Store) []*lambdahost.Version {
	var want []*lambdahost.Version
	for _, x := range allVersions {
		want = append(want, fullVersion(fid(accountA, regionA, x.fn), x.version))
	}
	for i := len(want) - 1; i >= 0; i-- {
		put(t, s, want[i])
	}
	put(t, s,
		fullVersion(fid(accountB, regionA, "a"), "5"),
		fullVersion(fid(accountA, regionB, "b"), "5"),
		fullVersion(fid(accountB, regionB, "bb"), lambdahost.VersionLatest))
	return want
}

func testListAllVersions(t *testing.T, s lambdahost.Store) {
	want := putAllVersions(t, s)
	mustView(t, s, func(tx lambdahost.Tx) error {
		ctx := t.Context()
		got, err := tx.ListAllVersions(ctx, accountA, regionA, "", first, 100)
		if err != nil {
			return err
		}
		if d := diff(want, got); d != "" {
			t.Errorf("ListAllVersions (-want +got):\n%s", d)
		}
		for _, tt := range []struct {
			afterName  string
			afterOrder int64
			want       []*lambdahost.Version
		}{
			{afterName: "a", afterOrder: first, want: want},
			{afterName: "a", afterOrder: -2, want: want[1:]},
			{afterName: "a", afterOrder: 2, want: want[4:]},
			{afterName: "a", afterOrder: 10, want: want[5:]},
			{afterName: "a", afterOrder: math.MaxInt64, want: want[5:]},
			{afterName: "b", afterOrder: -2, want: want[6:]},
			{afterName: "b-", afterOrder: math.MaxInt64, want: want[6:]},
			{afterName: "c", afterOrder: 1, want: want[9:]},
			{afterName: "c", afterOrder: 12, want: nil},
		} {
			got, err := tx.ListAllVersions(ctx, accountA, regionA, tt.afterName, tt.afterOrder, 100)
			if err != nil {
				return err
			}
			if d := diff(tt.want, got); d != "" {
				t.Errorf("ListAllVersions after (%q, %d): got %v, want %v", tt.afterName, tt.afterOrder, names(got), names(tt.want))
			}
		}
		return nil
	})
}

func testListAllVersionsPagination(t *testing.T, s lambdahost.Store) {
	all := putAllVersions(t, s)
	want := names(all)
	for _, limit := range []int{1, 2, 3, 4, len(want), 1000} {
		t.Run(fmt.Sprintf("limit-%d", limit), func(t *testing.T) {
			var got []string
			afterName, afterOrder := "", int64(first)
			for range len(want) + 2 {
				var page []*lambdahost.Version
				mustView(t, s, func(tx lambdahost.Tx) (err error) {
					page, err = tx.ListAllVersions(t.Context(), accountA, regionA, afterName, afterOrder, limit)
					return err
				})
				if len(page) > limit {
					t.Fatalf("page of %d versions, limit %d", len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, names(page)...)
				last := page[len(page)-1]
				afterName, afterOrder = last.Function.Name, lambdahost.VersionOrder(last.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages gave %v, want %v", got, want)
			}
		})
	}
}

func testAliasCRUD(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	id := fid(accountA, regionA, "fn")
	put(t, s, fullVersion(id, lambdahost.VersionLatest))

	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		return tx.CreateAlias(ctx, fullAlias(fid(accountA, regionA, "missing"), "live"))
	})
	wantNotFound(t, "CreateAlias of a missing function", err)

	live := fullAlias(id, "live")
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateAlias(ctx, live) })
	err = s.Update(ctx, func(tx lambdahost.Tx) error {
		a := *live
		a.Description = "other"
		return tx.CreateAlias(ctx, &a)
	})
	wantExists(t, "CreateAlias of an existing alias", err)
	getAlias := func(want *lambdahost.Alias) {
		t.Helper()
		mustView(t, s, func(tx lambdahost.Tx) error {
			got, err := tx.Alias(ctx, id, want.Name)
			if err != nil {
				return err
			}
			if d := cmp.Diff(want, got, cmpOpts); d != "" {
				t.Errorf("Alias (-want +got):\n%s", d)
			}
			return nil
		})
	}
	getAlias(live)

	changed := &lambdahost.Alias{Function: id, Name: "live", FunctionVersion: "2", RevisionID: "rev-2"}
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.PutAlias(ctx, changed) })
	getAlias(changed)

	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		wantNotFound(t, "PutAlias of a missing alias", tx.PutAlias(ctx, fullAlias(id, "missing")))
		wantNotFound(t, "DeleteAlias of a missing alias", tx.DeleteAlias(ctx, id, "missing"))
		_, err := tx.Alias(ctx, id, "missing")
		wantNotFound(t, "Alias of a missing alias", err)
		_, err = tx.Alias(ctx, fid(accountA, regionA, "missing"), "live")
		wantNotFound(t, "Alias of a missing function", err)
		return tx.DeleteAlias(ctx, id, "live")
	})
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Alias(ctx, id, "live")
		wantNotFound(t, "Alias after DeleteAlias", err)
		_, err = tx.Alias(ctx, id, "missing")
		wantNotFound(t, "Alias after PutAlias of a missing alias", err)
		return nil
	})
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		wantNotFound(t, "second DeleteAlias", tx.DeleteAlias(ctx, id, "live"))
		return nil
	})
	// The name is free again.
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateAlias(ctx, live) })
	getAlias(live)
}

func testAliasRoundTrip(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	put(t, s, fullVersion(id, lambdahost.VersionLatest))
	tests := []*lambdahost.Alias{
		fullAlias(id, "full"),
		{Function: id, Name: "zero"},
		{Function: id, Name: "empty-weights", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{}},
		{Function: id, Name: "fractions", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"2": 1.0 / 3}},
	}
	for _, a := range tests {
		t.Run(a.Name, func(t *testing.T) {
			mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateAlias(t.Context(), a) })
			mustView(t, s, func(tx lambdahost.Tx) error {
				got, err := tx.Alias(t.Context(), id, a.Name)
				if err != nil {
					return err
				}
				if d := cmp.Diff(a, got, cmpOpts); d != "" {
					t.Errorf("Alias (-want +got):\n%s", d)
				}
				if (a.AdditionalVersionWeights == nil) != (got.AdditionalVersionWeights == nil) {
					t.Errorf("AdditionalVersionWeights = %#v, want %#v", got.AdditionalVersionWeights, a.AdditionalVersionWeights)
				}
				as, err := tx.ListAliases(t.Context(), id, "", 100)
				if err != nil {
					return err
				}
				i := slices.IndexFunc(as, func(x *lambdahost.Alias) bool { return x.Name == a.Name })
				if i < 0 {
					t.Fatalf("ListAliases misses %s", a.Name)
				}
				if d := cmp.Diff(a, as[i], cmpOpts); d != "" {
					t.Errorf("ListAliases (-want +got):\n%s", d)
				}
				return nil
			})
		})
	}
}

func testAliasList(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	id := fid(accountA, regionA, "fn")
	put(t, s, fullVersion(id, lambdahost.VersionLatest), fullVersion(fid(accountA, regionA, "fn2"), lambdahost.VersionLatest))
	sorted := []string{"Beta", "a", "a-1", "a1", "b", "live", "prod"}
	byName := map[string]*lambdahost.Alias{}
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		for _, name := range []string{"prod", "a1", "live", "Beta", "a", "b", "a-1"} {
			a := fullAlias(id, name)
			byName[name] = a
			if err := tx.CreateAlias(ctx, a); err != nil {
				return err
			}
		}
		return tx.CreateAlias(ctx, fullAlias(fid(accountA, regionA, "fn2"), "c"))
	})
	var want []*lambdahost.Alias
	for _, name := range sorted {
		want = append(want, byName[name])
	}
	mustView(t, s, func(tx lambdahost.Tx) error {
		got, err := tx.ListAliases(ctx, id, "", 100)
		if err != nil {
			return err
		}
		if d := diff(want, got); d != "" {
			t.Errorf("ListAliases (-want +got):\n%s", d)
		}
		got, err = tx.ListAliases(ctx, fid(accountA, regionA, "missing"), "", 100)
		if err != nil {
			t.Errorf("ListAliases of a missing function: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("ListAliases of a missing function gave %d aliases", len(got))
		}
		return nil
	})
	for _, limit := range []int{1, 2, 3, len(sorted), 100} {
		t.Run(fmt.Sprintf("limit-%d", limit), func(t *testing.T) {
			var got []string
			after := ""
			for range len(sorted) + 2 {
				var page []*lambdahost.Alias
				mustView(t, s, func(tx lambdahost.Tx) (err error) {
					page, err = tx.ListAliases(ctx, id, after, limit)
					return err
				})
				if len(page) > limit {
					t.Fatalf("page of %d aliases, limit %d", len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				for _, a := range page {
					got = append(got, a.Name)
				}
				after = page[len(page)-1].Name
			}
			if !slices.Equal(got, sorted) {
				t.Errorf("pages gave %v, want %v", got, sorted)
			}
		})
	}
}

func testUsage(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	sized := func(id lambdahost.FunctionID, name string, size int64) *lambdahost.Version {
		v := fullVersion(id, name)
		v.Code.Size = size
		return v
	}
	fn1 := fid(accountA, regionA, "fn1")
	put(t, s,
		sized(fn1, lambdahost.VersionLatest, 100),
		sized(fn1, "1", 200),
		sized(fn1, "2", 300),
		sized(fid(accountA, regionB, "fn1"), lambdahost.VersionLatest, 40),
		sized(fid(accountA, regionB, "fn2"), lambdahost.VersionLatest, 2),
		sized(fid(accountB, regionA, "fn1"), lambdahost.VersionLatest, 1_000_000),
	)
	reserve := func(id lambdahost.FunctionID, n *int) {
		t.Helper()
		mustUpdate(t, s, func(tx lambdahost.Tx) error {
			f, err := tx.Function(ctx, id)
			if err != nil {
				return err
			}
			f.ReservedConcurrency = n
			return tx.PutFunction(ctx, f)
		})
	}
	noVersions := newFunction(fid(accountA, regionA, "no-versions"))
	noVersions.ReservedConcurrency = ptr(7)
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(ctx, noVersions) })
	reserve(fn1, ptr(100))
	reserve(fid(accountA, regionB, "fn2"), ptr(0))
	reserve(fid(accountB, regionA, "fn1"), ptr(900))
	// Usage is per account and region, as AWS's quota is.
	check := func(account, region string, want lambdahost.AccountUsage) {
		t.Helper()
		mustView(t, s, func(tx lambdahost.Tx) error {
			got, err := tx.Usage(ctx, account, region)
			if err != nil {
				return err
			}
			if got != want {
				t.Errorf("Usage(%s, %s) = %+v, want %+v", account, region, got, want)
			}
			return nil
		})
	}
	check(accountA, regionA, lambdahost.AccountUsage{TotalCodeSize: 600, FunctionCount: 2, ReservedConcurrency: 107})
	check(accountA, regionB, lambdahost.AccountUsage{TotalCodeSize: 42, FunctionCount: 2})
	check(accountB, regionA, lambdahost.AccountUsage{TotalCodeSize: 1_000_000, FunctionCount: 1, ReservedConcurrency: 900})
	check(accountB, regionB, lambdahost.AccountUsage{})
	check("333333333333", regionA, lambdahost.AccountUsage{})

	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteVersion(ctx, fn1, "1") })
	check(accountA, regionA, lambdahost.AccountUsage{TotalCodeSize: 400, FunctionCount: 2, ReservedConcurrency: 107})
	// Changing a reservation changes the sum; removing it drops it.
	reserve(fn1, ptr(40))
	check(accountA, regionA, lambdahost.AccountUsage{TotalCodeSize: 400, FunctionCount: 2, ReservedConcurrency: 47})
	reserve(fn1, nil)
	check(accountA, regionA, lambdahost.AccountUsage{TotalCodeSize: 400, FunctionCount: 2, ReservedConcurrency: 7})
	reserve(fn1, ptr(3))
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteFunction(ctx, fn1) })
	check(accountA, regionA, lambdahost.AccountUsage{TotalCodeSize: 0, FunctionCount: 1, ReservedConcurrency: 7})
	check(accountA, regionB, lambdahost.AccountUsage{TotalCodeSize: 42, FunctionCount: 2})
	check(accountB, regionA, lambdahost.AccountUsage{TotalCodeSize: 1_000_000, FunctionCount: 1, ReservedConcurrency: 900})
}

// testCodeRefs checks that CodeRefs lists each (digest, sealing key)
// pair once, so that garbage collection keeps code sealed under each key:
// the versions' own code and the code of the layers they use.
func testCodeRefs(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	d1, d2, d3, d4 := digest("one"), digest("two"), digest("layer three"), digest("layer four")
	const k1, k2 = "arn:aws:kms:us-east-1:000000000000:key/a", "arn:aws:kms:us-east-1:000000000000:key/b"
	layer := func(arn string, d lambdahost.Digest, key string) lambdahost.Layer {
		return lambdahost.Layer{ARN: arn, Digest: d, SealedWith: key, Size: 1}
	}
	with := func(id lambdahost.FunctionID, name string, d lambdahost.Digest, key string, layers ...lambdahost.Layer) *lambdahost.Version {
		v := fullVersion(id, name)
		v.Code.Digest, v.Code.SealedWith = d, key
		v.Config.Layers = layers
		return v
	}
	const l1, l2 = "arn:aws:lambda:us-east-1:111111111111:layer:a:1", "arn:aws:lambda:us-east-1:111111111111:layer:b:4"
	fn := fid(accountA, regionA, "fn")
	put(t, s,
		with(fn, lambdahost.VersionLatest, d1, k1, layer(l1, d3, k1), layer(l2, d4, k2)),
		with(fn, "1", d1, k1, layer(l1, d3, k1)),
		with(fn, "2", d1, k2),
		with(fn, "3", d2, ""),
		// A layer whose code is also a function's: listed once.
		with(fid(accountB, regionA, "other"), lambdahost.VersionLatest, d3, k1, layer(l1, d2, "")),
		with(fid(accountB, regionA, "nocode"), lambdahost.VersionLatest, lambdahost.Digest{}, ""),
	)
	check := func(want ...lambdahost.CodeRef) {
		t.Helper()
		mustView(t, s, func(tx lambdahost.Tx) error {
			got, err := tx.CodeRefs(ctx)
			if err != nil {
				return err
			}
			cmpRef := func(a, b lambdahost.CodeRef) int {
				if c := bytes.Compare(a.Digest[:], b.Digest[:]); c != 0 {
					return c
				}
				return strings.Compare(a.SealedWith, b.SealedWith)
			}
			slices.SortFunc(got, cmpRef)
			slices.SortFunc(want, cmpRef)
			if d := diff(want, got); d != "" {
				t.Errorf("CodeRefs (-want +got):\n%s", d)
			}
			return nil
		})
	}
	check(lambdahost.CodeRef{Digest: d1, SealedWith: k1}, lambdahost.CodeRef{Digest: d1, SealedWith: k2}, lambdahost.CodeRef{Digest: d2},
		lambdahost.CodeRef{Digest: d3, SealedWith: k1}, lambdahost.CodeRef{Digest: d4, SealedWith: k2})
	// $LATEST drops its layers: what only it used is no longer listed.
	put(t, s, with(fn, lambdahost.VersionLatest, d1, k1))
	check(lambdahost.CodeRef{Digest: d1, SealedWith: k1}, lambdahost.CodeRef{Digest: d1, SealedWith: k2}, lambdahost.CodeRef{Digest: d2},
		lambdahost.CodeRef{Digest: d3, SealedWith: k1})
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteVersion(ctx, fn, "1") })
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteFunction(ctx, fid(accountB, regionA, "other")) })
	check(lambdahost.CodeRef{Digest: d1, SealedWith: k1}, lambdahost.CodeRef{Digest: d1, SealedWith: k2}, lambdahost.CodeRef{Digest: d2})
}

func testDigests(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	d1, d2, d3 := digest("one"), digest("two"), digest("three")
	withDigest := func(id lambdahost.FunctionID, name string, d lambdahost.Digest) *lambdahost.Version {
		v := fullVersion(id, name)
		v.Code.Digest = d
		v.Config.Layers = nil
		return v
	}
	fn := fid(accountA, regionA, "fn")
	put(t, s,
		withDigest(fn, lambdahost.VersionLatest, d1),
		withDigest(fn, "1", d1),
		withDigest(fn, "2", d2),
		withDigest(fid(accountB, regionB, "other"), lambdahost.VersionLatest, d1),
		withDigest(fid(accountB, regionB, "other"), "1", d3),
		// A version without code references no blob.
		withDigest(fid(accountB, regionA, "nocode"), lambdahost.VersionLatest, lambdahost.Digest{}),
	)
	check := func(want ...lambdahost.Digest) {
		t.Helper()
		mustView(t, s, func(tx lambdahost.Tx) error {
			got, err := tx.Digests(ctx)
			if err != nil {
				return err
			}
			slices.SortFunc(got, func(a, b lambdahost.Digest) int { return bytes.Compare(a[:], b[:]) })
			slices.SortFunc(want, func(a, b lambdahost.Digest) int { return bytes.Compare(a[:], b[:]) })
			if d := diff(want, got); d != "" {
				t.Errorf("Digests (-want +got):\n%s", d)
			}
			return nil
		})
	}
	check(d1, d2, d3)
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteVersion(ctx, fn, "2") })
	check(d1, d3)
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteFunction(ctx, fid(accountB, regionB, "other")) })
	check(d1)
	put(t, s, withDigest(fn, lambdahost.VersionLatest, d2))
	check(d1, d2)
	// The code of a version's layers is referenced too.
	d4 := digest("four")
	v := withDigest(fn, "3", d2)
	v.Config.Layers = []lambdahost.Layer{{ARN: "arn:aws:lambda:us-east-1:111111111111:layer:l:1", Digest: d4}}
	put(t, s, v)
	check(d1, d2, d4)
}

func testUnsettled(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	status := func(id lambdahost.FunctionID, name, state, update string) *lambdahost.Version {
		v := fullVersion(id, name)
		v.Status.State, v.Status.LastUpdateStatus = state, update
		return v
	}
	fn := fid(accountA, regionA, "fn")
	pending := status(fn, lambdahost.VersionLatest, lambdahost.StatePending, "")
	inProgress := status(fn, "1", lambdahost.StateActive, lambdahost.UpdateInProgress)
	both := status(fid(accountB, regionB, "other"), "3", lambdahost.StatePending, lambdahost.UpdateInProgress)
	failedPending := status(fid(accountA, regionB, "fn"), lambdahost.VersionLatestPublished, lambdahost.StatePending, lambdahost.UpdateFailed)
	put(t, s,
		pending, inProgress, both, failedPending,
		status(fn, "2", lambdahost.StateActive, lambdahost.UpdateSuccessful),
		status(fn, "3", lambdahost.StateFailed, lambdahost.UpdateFailed),
		status(fn, "4", lambdahost.StateInactive, ""),
		status(fid(accountB, regionA, "x"), lambdahost.VersionLatest, lambdahost.StateActive, lambdahost.UpdateFailed),
	)
	check := func(want ...*lambdahost.Version) {
		t.Helper()
		mustView(t, s, func(tx lambdahost.Tx) error {
			got, err := tx.Unsettled(ctx)
			if err != nil {
				return err
			}
			sortVersions(got)
			sortVersions(want)
			if d := diff(want, got); d != "" {
				t.Errorf("Unsettled (-want +got):\n%s", d)
			}
			return nil
		})
	}
	check(pending, inProgress, both, failedPending)

	// Settling a version takes it off the list.
	settled := *inProgress
	settled.Status.LastUpdateStatus = lambdahost.UpdateSuccessful
	put(t, s, &settled)
	check(pending, both, failedPending)
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteFunction(ctx, fid(accountB, regionB, "other")) })
	check(pending, failedPending)
}

func testUpdateRollback(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	keep := fid(accountA, regionA, "keep")
	kept := fullVersion(keep, lambdahost.VersionLatest)
	put(t, s, kept, fullVersion(keep, "1"))
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateAlias(ctx, fullAlias(keep, "live")) })
	fresh := fid(accountA, regionA, "fresh")

	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.CreateFunction(ctx, newFunction(fresh)); err != nil {
			return err
		}
		if err := tx.PutVersion(ctx, fullVersion(fresh, lambdahost.VersionLatest)); err != nil {
			return err
		}
		if err := tx.CreateAlias(ctx, fullAlias(fresh, "live")); err != nil {
			return err
		}
		changed := *kept
		changed.RevisionID = "changed"
		if err := tx.PutVersion(ctx, &changed); err != nil {
			return err
		}
		if err := tx.DeleteVersion(ctx, keep, "1"); err != nil {
			return err
		}
		if err := tx.DeleteAlias(ctx, keep, "live"); err != nil {
			return err
		}
		f := fullFunction(keep)
		f.LastVersion = 1000
		if err := tx.PutFunction(ctx, f); err != nil {
			return err
		}
		// The transaction sees its own writes.
		v, err := tx.Version(ctx, keep, lambdahost.VersionLatest)
		if err != nil {
			return err
		}
		if v.RevisionID != "changed" {
			t.Errorf("RevisionID inside the transaction = %q, want %q", v.RevisionID, "changed")
		}
		return errBoom
	})
	if err != errBoom {
		t.Errorf("Update = %v, want the error of fn unchanged", err)
	}
	checkKept := func() {
		t.Helper()
		mustView(t, s, func(tx lambdahost.Tx) error {
			_, err := tx.Function(ctx, fresh)
			wantNotFound(t, "function created in a rolled back Update", err)
			_, err = tx.Version(ctx, fresh, lambdahost.VersionLatest)
			wantNotFound(t, "version put in a rolled back Update", err)
			f, err := tx.Function(ctx, keep)
			if err != nil {
				return err
			}
			if d := cmp.Diff(newFunction(keep), f, cmpOpts); d != "" {
				t.Errorf("Function (-want +got):\n%s", d)
			}
			v, err := tx.Version(ctx, keep, lambdahost.VersionLatest)
			if err != nil {
				return err
			}
			if d := cmp.Diff(kept, v, cmpOpts); d != "" {
				t.Errorf("Version (-want +got):\n%s", d)
			}
			if _, err := tx.Version(ctx, keep, "1"); err != nil {
				t.Errorf("version deleted in a rolled back Update: %v", err)
			}
			if _, err := tx.Alias(ctx, keep, "live"); err != nil {
				t.Errorf("alias deleted in a rolled back Update: %v", err)
			}
			return nil
		})
	}
	checkKept()

	err = s.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.DeleteFunction(ctx, keep); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) || err.Error() != "wrapped: boom" {
		t.Errorf("Update = %v, want the error of fn unchanged", err)
	}
	checkKept()
}

func testViewReadOnly(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	id := fid(accountA, regionA, "fn")
	put(t, s, fullVersion(id, lambdahost.VersionLatest))
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateAlias(ctx, fullAlias(id, "live")) })
	other := fid(accountA, regionA, "other")
	writes := []struct {
		name string
		fn   func(tx lambdahost.Tx) error
	}{
		{"CreateFunction", func(tx lambdahost.Tx) error { return tx.CreateFunction(ctx, newFunction(other)) }},
		{"PutFunction", func(tx lambdahost.Tx) error { return tx.PutFunction(ctx, fullFunction(id)) }},
		{"DeleteFunction", func(tx lambdahost.Tx) error { return tx.DeleteFunction(ctx, id) }},
		{"PutVersion", func(tx lambdahost.Tx) error { return tx.PutVersion(ctx, fullVersion(id, "5")) }},
		{"DeleteVersion", func(tx lambdahost.Tx) error { return tx.DeleteVersion(ctx, id, lambdahost.VersionLatest) }},
		{"CreateAlias", func(tx lambdahost.Tx) error { return tx.CreateAlias(ctx, fullAlias(id, "beta")) }},
		{"PutAlias", func(tx lambdahost.Tx) error { return tx.PutAlias(ctx, &lambdahost.Alias{Function: id, Name: "live"}) }},
		{"DeleteAlias", func(tx lambdahost.Tx) error { return tx.DeleteAlias(ctx, id, "live") }},
		{"PutEvent", func(tx lambdahost.Tx) error { return tx.PutEvent(ctx, fullEvent(id, "ev-view")) }},
		{"DeleteEvent", func(tx lambdahost.Tx) error { return tx.DeleteEvent(ctx, "ev-view") }},
	}
	for _, w := range writes {
		var werr error
		err := s.View(ctx, func(tx lambdahost.Tx) error {
			werr = w.fn(tx)
			return nil
		})
		if werr == nil && err == nil {
			t.Errorf("%s in View succeeded", w.name)
		}
	}
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Function(ctx, other)
		wantNotFound(t, "function created in View", err)
		f, err := tx.Function(ctx, id)
		if err != nil {
			return err
		}
		if d := cmp.Diff(newFunction(id), f, cmpOpts); d != "" {
			t.Errorf("Function (-want +got):\n%s", d)
		}
		if _, err := tx.Version(ctx, id, lambdahost.VersionLatest); err != nil {
			t.Errorf("Version: %v", err)
		}
		_, err = tx.Version(ctx, id, "5")
		wantNotFound(t, "version put in View", err)
		a, err := tx.Alias(ctx, id, "live")
		if err != nil {
			return err
		}
		if d := cmp.Diff(fullAlias(id, "live"), a, cmpOpts); d != "" {
			t.Errorf("Alias (-want +got):\n%s", d)
		}
		_, err = tx.Alias(ctx, id, "beta")
		wantNotFound(t, "alias created in View", err)
		evs, err := tx.ListEvents(ctx, "", 0)
		if err != nil {
			return err
		}
		if len(evs) != 0 {
			t.Errorf("event put in View: ListEvents = %v", eventIDs(evs))
		}
		return nil
	})
}

func testViewSnapshot(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	id := fid(accountA, regionA, "fn")
	before := fullVersion(id, lambdahost.VersionLatest)
	before.RevisionID = "r1"
	put(t, s, before)
	err := s.View(ctx, func(tx lambdahost.Tx) error {
		v, err := tx.Version(ctx, id, lambdahost.VersionLatest)
		if err != nil {
			return err
		}
		if v.RevisionID != "r1" {
			t.Fatalf("RevisionID = %q, want r1", v.RevisionID)
		}
		// Commit a change while the View is open.
		done := make(chan error, 1)
		go func() {
			done <- s.Update(ctx, func(tx lambdahost.Tx) error {
				after := *before
				after.RevisionID = "r2"
				if err := tx.PutVersion(ctx, &after); err != nil {
					return err
				}
				if err := tx.CreateFunction(ctx, newFunction(fid(accountA, regionA, "new"))); err != nil {
					return err
				}
				return tx.PutVersion(ctx, fullVersion(fid(accountA, regionA, "new"), lambdahost.VersionLatest))
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("concurrent Update: %w", err)
			}
		case <-time.After(2 * time.Minute):
			return errors.New("an open View blocked Update for 2 minutes")
		}
		v, err = tx.Version(ctx, id, lambdahost.VersionLatest)
		if err != nil {
			return err
		}
		if d := cmp.Diff(before, v, cmpOpts); d != "" {
			t.Errorf("View saw a change committed after it began (-want +got):\n%s", d)
		}
		vs, err := tx.ListLatest(ctx, accountA, regionA, "", 100)
		if err != nil {
			return err
		}
		if got := names(vs); !slices.Equal(got, []string{"fn:$LATEST"}) {
			t.Errorf("ListLatest in View = %v, want only fn:$LATEST", got)
		}
		_, err = tx.Function(ctx, fid(accountA, regionA, "new"))
		wantNotFound(t, "function created after the View began", err)
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if v := getVersion(t, s, id, lambdahost.VersionLatest); v.RevisionID != "r2" {
		t.Errorf("after the View, RevisionID = %q, want r2", v.RevisionID)
	}
}

// one runs a test of several Stores with one.
func one(fn func(t *testing.T, ss []lambdahost.Store)) func(t *testing.T, s lambdahost.Store) {
	return func(t *testing.T, s lambdahost.Store) { fn(t, []lambdahost.Store{s}) }
}

func testUpdateSerializable(t *testing.T, s lambdahost.Store) {
	updateSerializable(t, []lambdahost.Store{s})
}

// updateSerializable has writers on each of ss race to change one revision.
func updateSerializable(t *testing.T, ss []lambdahost.Store) {
	s := ss[0]
	id := fid(accountA, regionA, "fn")
	v := fullVersion(id, lambdahost.VersionLatest)
	v.RevisionID = "r0"
	put(t, s, v)

	const n = 20
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			ctx := t.Context()
			errs[i] = ss[i%len(ss)].Update(ctx, func(tx lambdahost.Tx) error {
				v, err := tx.Version(ctx, id, lambdahost.VersionLatest)
				if err != nil {
					return err
				}
				if v.RevisionID != "r0" {
					return fmt.Errorf("revision is %s: %w", v.RevisionID, lambdahost.ErrConflict)
				}
				v.RevisionID = fmt.Sprintf("r%d", i+1)
				v.Config.Description = fmt.Sprintf("writer %d", i+1)
				return tx.PutVersion(ctx, v)
			})
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both changed revision r0", winner+1, i+1)
		case err == nil:
			winner = i
		case !errors.Is(err, lambdahost.ErrConflict):
			t.Errorf("writer %d: %v, want an error wrapping ErrConflict", i+1, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	got := getVersion(t, s, id, lambdahost.VersionLatest)
	if want := fmt.Sprintf("r%d", winner+1); got.RevisionID != want || got.Config.Description != fmt.Sprintf("writer %d", winner+1) {
		t.Errorf("RevisionID = %q, Description = %q; want the winner's, %q", got.RevisionID, got.Config.Description, want)
	}
}

func testUpdateNoLostUpdate(t *testing.T, s lambdahost.Store) {
	updateNoLostUpdate(t, []lambdahost.Store{s})
}

// updateNoLostUpdate has writers on each of ss increment one counter.
func updateNoLostUpdate(t *testing.T, ss []lambdahost.Store) {
	s := ss[0]
	id := fid(accountA, regionA, "counter")
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(t.Context(), newFunction(id)) })
	const writers, increments = 10, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			ctx := t.Context()
			s := ss[w%len(ss)]
			for range increments {
				err := s.Update(ctx, func(tx lambdahost.Tx) error {
					f, err := tx.Function(ctx, id)
					if err != nil {
						return err
					}
					f.LastVersion++
					return tx.PutFunction(ctx, f)
				})
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	mustView(t, s, func(tx lambdahost.Tx) error {
		f, err := tx.Function(t.Context(), id)
		if err != nil {
			return err
		}
		if f.LastVersion != writers*increments {
			t.Errorf("LastVersion = %d after %d increments", f.LastVersion, writers*increments)
		}
		return nil
	})
}

func testConcurrentReadersWriters(t *testing.T, s lambdahost.Store) {
	const writers, perWriter, readers = 8, 15, 8
	var (
		wg      sync.WaitGroup
		readWG  sync.WaitGroup
		stop    = make(chan struct{})
		readErr = make(chan error, readers)
	)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				id := fid(accountA, regionA, fmt.Sprintf("fn-%02d-%02d", w, i))
				err := s.Update(t.Context(), func(tx lambdahost.Tx) error {
					if err := tx.CreateFunction(t.Context(), newFunction(id)); err != nil {
						return err
					}
					return tx.PutVersion(t.Context(), fullVersion(id, lambdahost.VersionLatest))
				})
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	for range readers {
		readWG.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.View(t.Context(), func(tx lambdahost.Tx) error {
					vs, err := tx.ListLatest(t.Context(), accountA, regionA, "", 1000)
					if err != nil {
						return err
					}
					u, err := tx.Usage(t.Context(), accountA, regionA)
					if err != nil {
						return err
					}
					// One snapshot: every listed function is counted.
					if int64(len(vs)) != u.FunctionCount {
						return fmt.Errorf("ListLatest gave %d functions, Usage counts %d", len(vs), u.FunctionCount)
					}
					return nil
				})
				if err != nil {
					readErr <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readWG.Wait()
	close(readErr)
	for err := range readErr {
		t.Errorf("View: %v", err)
	}
	mustView(t, s, func(tx lambdahost.Tx) error {
		vs, err := tx.ListLatest(t.Context(), accountA, regionA, "", 1000)
		if err != nil {
			return err
		}
		if len(vs) != writers*perWriter {
			t.Errorf("ListLatest gave %d functions, want %d", len(vs), writers*perWriter)
		}
		return nil
	})
}

func testContextCanceledBefore(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		return tx.CreateFunction(ctx, newFunction(id))
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled context = %v, want an error wrapping context.Canceled", err)
	}
	err = s.View(ctx, func(tx lambdahost.Tx) error {
		_, err := tx.Function(ctx, id)
		return err
	})
	if err == nil {
		t.Errorf("View with a canceled context succeeded")
	}
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Function(t.Context(), id)
		wantNotFound(t, "function created with a canceled context", err)
		return nil
	})
	// The store still works.
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(t.Context(), newFunction(id)) })
}

func testContextCanceledDuring(t *testing.T, s lambdahost.Store) {
	id := fid(accountA, regionA, "fn")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.CreateFunction(ctx, newFunction(id)); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err == nil {
		t.Errorf("Update whose context was canceled before it returned succeeded")
	}
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Function(t.Context(), id)
		wantNotFound(t, "function created in an Update whose context was canceled", err)
		return nil
	})
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.CreateFunction(t.Context(), newFunction(id)) })
}

func testListLimitZero(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	all := putAllVersions(t, s)
	id := fid(accountA, regionA, "a")
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		for _, name := range []string{"x", "y", "z"} {
			if err := tx.CreateAlias(ctx, fullAlias(id, name)); err != nil {
				return err
			}
		}
		return nil
	})
	for _, limit := range []int{0, -1} {
		mustView(t, s, func(tx lambdahost.Tx) error {
			vs, err := tx.ListAllVersions(ctx, accountA, regionA, "", first, limit)
			if err != nil {
				return err
			}
			if got, want := len(vs), len(all); got != want {
				t.Errorf("ListAllVersions with limit %d gave %d versions, want %d", limit, got, want)
			}
			vs, err = tx.ListVersions(ctx, id, first, limit)
			if err != nil {
				return err
			}
			if got, want := len(vs), 5; got != want {
				t.Errorf("ListVersions with limit %d gave %d versions, want %d", limit, got, want)
			}
			vs, err = tx.ListLatest(ctx, accountA, regionA, "", limit)
			if err != nil {
				return err
			}
			if got, want := len(vs), 3; got != want {
				t.Errorf("ListLatest with limit %d gave %d versions, want %d", limit, got, want)
			}
			as, err := tx.ListAliases(ctx, id, "", limit)
			if err != nil {
				return err
			}
			if got, want := len(as), 3; got != want {
				t.Errorf("ListAliases with limit %d gave %d aliases, want %d", limit, got, want)
			}
			return nil
		})
	}
}

func testInlineCode(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	id := fid("111111111111", "us-east-1", "f")
	data := []byte("PK\x05\x06 small zip")
	d := lambdahost.Digest(sha256.Sum256(data))
	other := lambdahost.Digest(sha256.Sum256([]byte("other")))
	mustView(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.Code(ctx, d)
		if !errors.Is(err, lambdahost.ErrBlobNotFound) {
			t.Errorf("Code of missing digest: %v, want ErrBlobNotFound", err)
		}
		return nil
	})
	v := emptyVersion(id, lambdahost.VersionLatest)
	v.Code.Digest = d
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		if err := tx.CreateFunction(ctx, newFunction(id)); err != nil {
			return err
		}
		if err := tx.PutCode(ctx, d, data); err != nil {
			return err
		}
		// Storing it again is a no-op.
		if err := tx.PutCode(ctx, d, data); err != nil {
			return err
		}
		if err := tx.PutCode(ctx, other, []byte("other")); err != nil {
			return err
		}
		return tx.PutVersion(ctx, v)
	})
	mustView(t, s, func(tx lambdahost.Tx) error {
		got, err := tx.Code(ctx, d)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, data) {
			t.Errorf("Code = %q, want %q", got, data)
		}
		return nil
	})
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		n, err := tx.DeleteUnreferencedCode(ctx, map[lambdahost.Digest]bool{d: true})
		if n != 1 {
			t.Errorf("DeleteUnreferencedCode deleted %d, want 1 (only the unreferenced entry)", n)
		}
		return err
	})
	mustView(t, s, func(tx lambdahost.Tx) error {
		if _, err := tx.Code(ctx, d); err != nil {
			t.Errorf("referenced code deleted: %v", err)
		}
		if _, err := tx.Code(ctx, other); !errors.Is(err, lambdahost.ErrBlobNotFound) {
			t.Errorf("unreferenced code kept: %v", err)
		}
		return nil
	})
	mustUpdate(t, s, func(tx lambdahost.Tx) error { return tx.DeleteFunction(ctx, id) })
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		n, err := tx.DeleteUnreferencedCode(ctx, nil)
		if n != 1 {
			t.Errorf("after deleting the function, DeleteUnreferencedCode deleted %d, want 1", n)
		}
		return err
	})
}

func testInlineCodeRollback(t *testing.T, s lambdahost.Store) {
	ctx := t.Context()
	d := lambdahost.Digest(sha256.Sum256([]byte("x")))
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.PutCode(ctx, d, []byte("x")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	mustView(t, s, func(tx lambdahost.Tx) error {
		if _, err := tx.Code(ctx, d); !errors.Is(err, lambdahost.ErrBlobNotFound) {
			t.Errorf("code of a rolled-back transaction is there: %v", err)
		}
		return nil
	})
}

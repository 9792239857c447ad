package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/lambdahost/lambdahost"
)

// allIDs are functions of several accounts and regions, in AllFunctions
// order: account, region, then name, each bytewise ("eu-west-1" sorts
// before "us-east-1", "a-b" before "ab").
var allIDs = []lambdahost.FunctionID{
	fid(accountA, regionB, "z"),
	fid(accountA, regionA, "a"),
	fid(accountA, regionA, "a-b"),
	fid(accountA, regionA, "ab"),
	fid(accountB, regionB, "a"),
	fid(accountB, regionA, "m"),
}

// putAll creates the functions of allIDs, in an order other than theirs,
// the first with every field set, and returns them in AllFunctions order.
func putAll(t *testing.T, s lambdahost.Store) []*lambdahost.Function {
	var want []*lambdahost.Function
	for i, id := range allIDs {
		f := newFunction(id)
		if i == 0 {
			f = fullFunction(id)
		}
		want = append(want, f)
	}
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		for i := len(want) - 1; i >= 0; i-- {
			if err := tx.CreateFunction(t.Context(), want[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return want
}

func testAllFunctions(t *testing.T, s lambdahost.Store) {
	mustView(t, s, func(tx lambdahost.Tx) error {
		got, err := tx.AllFunctions(t.Context(), lambdahost.FunctionID{}, 0)
		if err != nil {
			return err
		}
		if len(got) != 0 {
			t.Errorf("AllFunctions of an empty store = %d functions", len(got))
		}
		return nil
	})
	want := putAll(t, s)
	mustView(t, s, func(tx lambdahost.Tx) error {
		ctx := t.Context()
		got, err := tx.AllFunctions(ctx, lambdahost.FunctionID{}, 100)
		if err != nil {
			return err
		}
		if d := diff(want, got); d != "" {
			t.Errorf("AllFunctions (-want +got):\n%s", d)
		}
		for _, tt := range []struct {
			after lambdahost.FunctionID
			want  []*lambdahost.Function
		}{
			{after: allIDs[0], want: want[1:]},
			{after: fid(accountA, regionA, "a-"), want: want[2:]}, // no such function: starts after it all the same
			{after: fid(accountA, regionA, "zzz"), want: want[4:]},
			{after: fid(accountA, "", ""), want: want},
			{after: fid(accountB, "", ""), want: want[4:]},
			{after: allIDs[len(allIDs)-1], want: nil},
		} {
			got, err := tx.AllFunctions(ctx, tt.after, 0)
			if err != nil {
				return err
			}
			if d := diff(tt.want, got); d != "" {
				t.Errorf("AllFunctions after %v (-want +got):\n%s", tt.after, d)
			}
		}
		return nil
	})
}

func testAllFunctionsPagination(t *testing.T, s lambdahost.Store) {
	putAll(t, s)
	for _, limit := range []int{1, 2, 5, len(allIDs), 50} {
		t.Run(fmt.Sprintf("limit-%d", limit), func(t *testing.T) {
			var got []lambdahost.FunctionID
			var after lambdahost.FunctionID
			for range len(allIDs) + 2 {
				var page []*lambdahost.Function
				mustView(t, s, func(tx lambdahost.Tx) (err error) {
					page, err = tx.AllFunctions(t.Context(), after, limit)
					return err
				})
				if len(page) > limit {
					t.Fatalf("page of %d functions, limit %d", len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				for _, f := range page {
					got = append(got, f.ID)
				}
				after = page[len(page)-1].ID
			}
			if !slices.Equal(got, allIDs) {
				t.Errorf("pages gave %v, want %v", got, allIDs)
			}
		})
	}
}

func testListCode(t *testing.T, s lambdahost.Store) {
	mustView(t, s, func(tx lambdahost.Tx) error {
		got, err := tx.ListCode(t.Context())
		if err != nil {
			return err
		}
		if len(got) != 0 {
			t.Errorf("ListCode of an empty store = %v", got)
		}
		return nil
	})
	var want []lambdahost.StoredCode
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		for _, c := range []string{"b", "", "a longer package", "c"} {
			d := digest(c)
			if err := tx.PutCode(t.Context(), d, []byte(c)); err != nil {
				return err
			}
			want = append(want, lambdahost.StoredCode{Address: d, Size: int64(len(c))})
		}
		return nil
	})
	slices.SortFunc(want, func(a, b lambdahost.StoredCode) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	mustView(t, s, func(tx lambdahost.Tx) error {
		got, err := tx.ListCode(t.Context())
		if err != nil {
			return err
		}
		if d := diff(want, got); d != "" {
			t.Errorf("ListCode (-want +got):\n%s", d)
		}
		return nil
	})
	mustUpdate(t, s, func(tx lambdahost.Tx) error {
		_, err := tx.DeleteUnreferencedCode(t.Context(), map[lambdahost.Digest]bool{want[1].Address: true})
		return err
	})
	mustView(t, s, func(tx lambdahost.Tx) error {
		got, err := tx.ListCode(t.Context())
		if err != nil {
			return err
		}
		if d := diff(want[1:2], got); d != "" {
			t.Errorf("ListCode after deleting the rest (-want +got):\n%s", d)
		}
		return nil
	})
}

package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/lambdahost/lambdahost"
)

func recordKeys(rs []lambdahost.Record) []string {
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	return keys
}

func testRecordRoundTrip(t *testing.T, s lambdahost.Store) {
	ctx := context.Background()
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.CreateRecord(ctx, "k1", "a/b", []byte(`{"x":1}`)); err != nil {
			return err
		}
		if err := tx.CreateRecord(ctx, "k1", "a/b", []byte(`{}`)); !errors.Is(err, lambdahost.ErrExists) {
			t.Errorf("CreateRecord twice = %v, want ErrExists", err)
		}
		// The same key under another kind is another record.
		return tx.CreateRecord(ctx, "k2", "a/b", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx lambdahost.Tx) error {
		v, err := tx.Record(ctx, "k1", "a/b")
		if err != nil || string(v) != `{"x":1}` {
			t.Errorf("Record = %q, %v", v, err)
		}
		if v, err := tx.Record(ctx, "k2", "a/b"); err != nil || len(v) != 0 {
			t.Errorf("empty Record = %q, %v", v, err)
		}
		if _, err := tx.Record(ctx, "k1", "a/c"); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("missing Record = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.PutRecord(ctx, "k1", "a/b", []byte("2")); err != nil {
			return err
		}
		if err := tx.PutRecord(ctx, "k1", "new", []byte("3")); err != nil {
			return err
		}
		if err := tx.DeleteRecord(ctx, "k2", "a/b"); err != nil {
			return err
		}
		return tx.DeleteRecord(ctx, "k2", "missing")
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx lambdahost.Tx) error {
		if v, err := tx.Record(ctx, "k1", "a/b"); err != nil || string(v) != "2" {
			t.Errorf("after Put, Record = %q, %v", v, err)
		}
		if v, err := tx.Record(ctx, "k1", "new"); err != nil || string(v) != "3" {
			t.Errorf("Put of a new key: Record = %q, %v", v, err)
		}
		if _, err := tx.Record(ctx, "k2", "a/b"); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("after Delete, Record = %v, want ErrNotFound", err)
		}
		return nil
	})
	// A failed transaction writes nothing.
	boom := errors.New("boom")
	if err := s.Update(ctx, func(tx lambdahost.Tx) error {
		if err := tx.PutRecord(ctx, "k1", "rolled-back", []byte("x")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	_ = s.View(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Record(ctx, "k1", "rolled-back"); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("rolled-back record: %v", err)
		}
		return nil
	})
}

func testRecordList(t *testing.T, s lambdahost.Store) {
	ctx := context.Background()
	keys := []string{"1/r/a", "1/r/b", "1/r/c", "1/rr/a", "1/s/a", "2/r/a", "1/r", "1/r/\u00e9"}
	if err := s.Update(ctx, func(tx lambdahost.Tx) error {
		for _, k := range keys {
			if err := tx.PutRecord(ctx, "list", k, []byte(k)); err != nil {
				return err
			}
		}
		return tx.PutRecord(ctx, "other", "1/r/a", nil)
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, prefix, after string
		limit               int
		want                []string
	}{
		{"Prefix", "1/r/", "", 0, []string{"1/r/a", "1/r/b", "1/r/c", "1/r/\u00e9"}},
		{"PrefixLimit", "1/r/", "", 2, []string{"1/r/a", "1/r/b"}},
		{"After", "1/r/", "1/r/b", 0, []string{"1/r/c", "1/r/\u00e9"}},
		{"AfterLimit", "1/r/", "1/r/a", 1, []string{"1/r/b"}},
		{"AfterBeforePrefix", "1/r/", "0", 0, []string{"1/r/a", "1/r/b", "1/r/c", "1/r/\u00e9"}},
		{"AfterPastPrefix", "1/r/", "1/s", 0, nil},
		{"All", "", "", 0, []string{"1/r", "1/r/a", "1/r/b", "1/r/c", "1/r/\u00e9", "1/rr/a", "1/s/a", "2/r/a"}},
		{"NoMatch", "3/", "", 0, nil},
	}
	_ = s.View(ctx, func(tx lambdahost.Tx) error {
		for _, tc := range cases {
			rs, err := tx.ListRecords(ctx, "list", tc.prefix, tc.after, tc.limit)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if got := recordKeys(rs); !slices.Equal(got, tc.want) {
				t.Errorf("%s: keys %q, want %q", tc.name, got, tc.want)
			}
			for _, r := range rs {
				if string(r.Value) != r.Key {
					t.Errorf("%s: value of %s = %q", tc.name, r.Key, r.Value)
				}
			}
		}
		return nil
	})
}

// testSize: a store that tells its size (lambdahost.Sizer) grows as it
// is written to.
func testSize(t *testing.T, s lambdahost.Store) {
	sz, ok := s.(lambdahost.Sizer)
	if !ok {
		t.Skip("the store does not tell its size")
	}
	ctx := context.Background()
	before, err := sz.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 {
		t.Fatalf("Size = %d before any write, want the space the empty store takes", before)
	}
	// Random, so that no compression (PostgreSQL's TOAST) shrinks it.
	big := make([]byte, 1<<20)
	rand.Read(big)
	if err := s.Update(ctx, func(tx lambdahost.Tx) error { return tx.PutRecord(ctx, "size", "big", big) }); err != nil {
		t.Fatal(err)
	}
	after, err := sz.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after < before+1<<19 {
		t.Errorf("Size = %d after writing 1 MiB, was %d", after, before)
	}
}

package postgres_test

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/storetest"
	"github.com/lambdahost/lambdahost/internal/testserver"
	"github.com/lambdahost/lambdahost/postgres"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopPostgres()
	os.Exit(code)
}

// MustOpenStore opens a Store on a new, empty database of the test
// cluster and closes it when the test ends.
func MustOpenStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	return mustOpen(tb, testserver.StartPostgres(tb).NewDatabase(tb))
}

func mustOpen(tb testing.TB, dsn string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lambdahost.Store { return MustOpenStore(t) })
}

// TestShared runs the coordination tests with each node on a Store of
// its own, all opened at once on one database, as nodes starting together
// do (one applies the migrations, the others wait for it).
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) []lambdahost.Store {
		dsn := testserver.StartPostgres(t).NewDatabase(t)
		ss := make([]lambdahost.Store, 3)
		errs := make([]error, len(ss))
		var wg sync.WaitGroup
		for i := range ss {
			wg.Go(func() {
				s, err := postgres.Open(t.Context(), dsn)
				ss[i], errs[i] = s, err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Open %d: %v", i, err)
			}
		}
		return ss
	})
}

func TestReopen(t *testing.T) {
	dsn := testserver.StartPostgres(t).NewDatabase(t)
	s := mustOpen(t, dsn)
	id := lambdahost.FunctionID{Account: "123456789012", Region: "us-east-1", Name: "kept"}
	err := s.Update(t.Context(), func(tx lambdahost.Tx) error {
		return tx.CreateFunction(t.Context(), &lambdahost.Function{ID: id})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Opening again applies no migration twice and sees the data.
	s = mustOpen(t, dsn)
	err = s.View(t.Context(), func(tx lambdahost.Tx) error {
		_, err := tx.Function(t.Context(), id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tt := range []struct{ name, dsn string }{
		{"malformed", "postgres://user:secret@[::1"},
		{"refused", "postgres://user:secret@127.0.0.1:1/db?connect_timeout=5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postgres.Open(t.Context(), tt.dsn)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

func TestLogStore(t *testing.T) {
	storetest.RunLogs(t, func(t *testing.T) lambdahost.LogStore { return MustOpenStore(t) })
}

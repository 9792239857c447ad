package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/storetest"
	"github.com/lambdahost/lambdahost/sqlite"
)

// MustOpenStore opens a Store on a new database file in a temporary
// directory and closes it when the test ends.
func MustOpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	return mustOpen(tb, filepath.Join(tb.TempDir(), "lambdahost.db"))
}

// mustOpen opens the Store at path and closes it when the test ends.
func mustOpen(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lambdahost.Store { return MustOpenStore(t) })
}

func fn(name string) lambdahost.FunctionID {
	return lambdahost.FunctionID{Account: "123456789012", Region: "us-east-1", Name: name}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lambdahost.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := &lambdahost.Function{ID: fn("kept"), Tags: map[string]string{"a": "b"}, LastVersion: 1, Created: time.Now().UTC()}
	v := &lambdahost.Version{
		Function: f.ID, Name: lambdahost.VersionLatest, RevisionID: "r1", LastModified: time.Now().UTC(),
		Config: lambdahost.Config{Runtime: "provided.al2023", Environment: map[string]string{}},
		Code:   lambdahost.Code{Digest: lambdahost.Digest{1, 2, 3}, Size: 42},
		Status: lambdahost.Status{State: lambdahost.StateActive},
	}
	a := &lambdahost.Alias{Function: f.ID, Name: "live", FunctionVersion: "1", RevisionID: "a1"}
	err = s.Update(ctx, func(tx lambdahost.Tx) error {
		return errors.Join(tx.CreateFunction(ctx, f), tx.PutVersion(ctx, v), tx.CreateAlias(ctx, a))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Opening again applies no migration twice and sees the data.
	s = mustOpen(t, path)
	err = s.View(ctx, func(tx lambdahost.Tx) error {
		gotF, err := tx.Function(ctx, f.ID)
		if err != nil {
			return err
		}
		gotV, err := tx.Version(ctx, f.ID, lambdahost.VersionLatest)
		if err != nil {
			return err
		}
		gotA, err := tx.Alias(ctx, f.ID, "live")
		if err != nil {
			return err
		}
		if d := cmp.Diff(f, gotF); d != "" {
			t.Errorf("Function (-want +got):\n%s", d)
		}
		if d := cmp.Diff(v, gotV); d != "" {
			t.Errorf("Version (-want +got):\n%s", d)
		}
		if d := cmp.Diff(a, gotA); d != "" {
			t.Errorf("Alias (-want +got):\n%s", d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "a dir?x=1#frag%20", "db?mode=ro.sqlite")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, path)
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		return tx.CreateFunction(ctx, &lambdahost.Function{ID: fn("f")})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestOpenError(t *testing.T) {
	// A directory is no database file.
	s, err := sqlite.Open(t.Context(), t.TempDir())
	if err == nil {
		s.Close()
		t.Fatal("Open of a directory succeeded")
	}
}

func TestCloseTwice(t *testing.T) {
	s := MustOpenStore(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestUpdatePanic checks that a panic in fn rolls back and gives the write
// connection back: a later Update must not wait forever.
func TestUpdatePanic(t *testing.T) {
	ctx := t.Context()
	s := MustOpenStore(t)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		s.Update(ctx, func(tx lambdahost.Tx) error {
			if err := tx.CreateFunction(ctx, &lambdahost.Function{ID: fn("f")}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	// Only a write lock left held by the panic could make this wait.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		_, err := tx.Function(ctx, fn("f"))
		if !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("function created before the panic: err = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update after a panic: %v", err)
	}
}

// TestTwoStoresOneFile runs writers in two Stores on one file, as two
// processes would: they must wait for each other's write lock rather than
// fail with "database is locked".
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lambdahost.db")
	stores := []*sqlite.Store{mustOpen(t, path), mustOpen(t, path)}
	id := fn("counter")
	err := stores[0].Update(t.Context(), func(tx lambdahost.Tx) error {
		return tx.CreateFunction(t.Context(), &lambdahost.Function{ID: id})
	})
	if err != nil {
		t.Fatal(err)
	}
	const perWriter = 25
	var wg sync.WaitGroup
	for i := range 8 {
		s := stores[i%2]
		wg.Go(func() {
			ctx := t.Context()
			for range perWriter {
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
				err = s.View(ctx, func(tx lambdahost.Tx) error {
					_, err := tx.ListLatest(ctx, id.Account, id.Region, "", 10)
					return err
				})
				if err != nil {
					t.Errorf("View: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	err = stores[1].View(t.Context(), func(tx lambdahost.Tx) error {
		f, err := tx.Function(t.Context(), id)
		if err != nil {
			return err
		}
		if f.LastVersion != 8*perWriter {
			t.Errorf("LastVersion = %d, want %d", f.LastVersion, 8*perWriter)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPutVersionInvalidName(t *testing.T) {
	ctx := t.Context()
	s := MustOpenStore(t)
	for _, name := range []string{"", "latest", "0", "-1", "01", "+1", "1.5", "$LATEST.published"} {
		err := s.Update(ctx, func(tx lambdahost.Tx) error {
			if err := tx.CreateFunction(ctx, &lambdahost.Function{ID: fn("f")}); err != nil {
				return err
			}
			return tx.PutVersion(ctx, &lambdahost.Version{Function: fn("f"), Name: name})
		})
		if err == nil {
			t.Errorf("PutVersion %q succeeded", name)
		}
	}
}

// BenchmarkListLatest lists the $LATEST versions of 1,000 functions, each of
// which has two published versions too.
func BenchmarkListLatest(b *testing.B) {
	ctx := b.Context()
	s := MustOpenStore(b)
	const functions = 1000
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		for i := range functions {
			id := fn(fmt.Sprintf("function-%04d", i))
			if err := tx.CreateFunction(ctx, &lambdahost.Function{ID: id, LastVersion: 2}); err != nil {
				return err
			}
			for _, name := range []string{lambdahost.VersionLatest, "1", "2"} {
				v := benchVersion(id, name)
				if err := tx.PutVersion(ctx, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, limit := range []int{50, 10000} {
		want := min(limit, functions)
		b.Run(fmt.Sprintf("limit-%d", limit), func(b *testing.B) {
			for b.Loop() {
				err := s.View(ctx, func(tx lambdahost.Tx) error {
					vs, err := tx.ListLatest(ctx, "123456789012", "us-east-1", "", limit)
					if err != nil {
						return err
					}
					if len(vs) != want {
						return fmt.Errorf("ListLatest gave %d versions, want %d", len(vs), want)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchVersion returns a version with a realistic amount of configuration.
func benchVersion(id lambdahost.FunctionID, name string) *lambdahost.Version {
	return &lambdahost.Version{
		Function:     id,
		Name:         name,
		RevisionID:   "0f2b4c56-7d8e-4f90-a1b2-c3d4e5f60718",
		LastModified: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Config: lambdahost.Config{
			Runtime:       "provided.al2023",
			Role:          "arn:aws:iam::123456789012:role/lambda",
			Handler:       "bootstrap",
			Description:   "a function for the benchmark",
			Timeout:       30,
			MemorySize:    512,
			Environment:   map[string]string{"LOG_LEVEL": "info", "TABLE": "orders", "REGION": "us-east-1"},
			TracingMode:   "PassThrough",
			Architectures: []string{"x86_64"},
			Logging:       lambdahost.LoggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + id.Name},
		},
		Code: lambdahost.Code{
			PackageType:  lambdahost.PackageZip,
			Digest:       lambdahost.Digest{byte(len(id.Name)), 1, 2, 3},
			Size:         123456,
			UnzippedSize: 456789,
		},
		Status: lambdahost.Status{State: lambdahost.StateActive, LastUpdateStatus: lambdahost.UpdateSuccessful},
	}
}

func TestLogStore(t *testing.T) {
	storetest.RunLogs(t, func(t *testing.T) lambdahost.LogStore { return MustOpenStore(t) })
}

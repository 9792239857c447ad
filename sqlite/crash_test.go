package sqlite_test

import (
	"bufio"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sqlite"
)

// crashEnv names the database file TestCrashChild writes to. The variable is
// set only in the child process TestCrash starts.
const crashEnv = "LAMBDAHOST_SQLITE_CRASH_DB"

// TestCrash kills a process that is committing updates at a random moment
// and checks that every update it acknowledged survived, and that the file is
// intact. It does this a few times on the same file, so that recovery from a
// crash is itself interrupted. A killed process is not a power loss (the
// kernel still writes the page cache out), but it does catch an
// acknowledgement sent before the commit.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	id := fn("crash")
	for round := range 4 {
		acked := runAndKill(t, path, time.Duration(50+rand.IntN(400))*time.Millisecond)
		t.Logf("round %d: last acknowledged revision %d", round, acked)

		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("round %d: open after kill: %v", round, err)
		}
		err = s.View(t.Context(), func(tx lambdahost.Tx) error {
			ctx := t.Context()
			f, err := tx.Function(ctx, id)
			if err != nil {
				return err
			}
			// The child may have committed once more without printing it.
			if f.LastVersion < acked || f.LastVersion > acked+1 {
				t.Errorf("round %d: LastVersion = %d, last acknowledged %d", round, f.LastVersion, acked)
			}
			v, err := tx.Version(ctx, id, lambdahost.VersionLatest)
			if err != nil {
				return err
			}
			if want := strconv.FormatInt(f.LastVersion, 10); v.RevisionID != want {
				t.Errorf("round %d: $LATEST RevisionID = %s, want %s, of the same commit as LastVersion", round, v.RevisionID, want)
			}
			vs, err := tx.ListVersions(ctx, id, 0, 0)
			if err != nil {
				return err
			}
			if int64(len(vs)) != f.LastVersion {
				t.Errorf("round %d: %d published versions, want %d", round, len(vs), f.LastVersion)
			}
			for i, v := range vs {
				if want := strconv.Itoa(i + 1); v.Name != want {
					t.Errorf("round %d: version %s where %s was acknowledged", round, v.Name, want)
					break
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		checkIntegrity(t, path)
	}
}

// runAndKill starts TestCrashChild on path, kills it after it has
// acknowledged an update and then run for d, and returns the last revision
// it acknowledged.
func runAndKill(t *testing.T, path string, d time.Duration) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks := make(chan int64)
	scanned := make(chan error, 1)
	go func() {
		defer close(acks)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				i, err := strconv.ParseInt(n, 10, 64)
				if err != nil {
					scanned <- fmt.Errorf("bad line %q", sc.Text())
					return
				}
				acks <- i
			}
		}
		scanned <- sc.Err()
	}()

	var last int64
	select {
	case n, ok := <-acks:
		if !ok {
			cmd.Wait()
			t.Fatalf("child exited before acknowledging an update: %v", <-scanned)
		}
		last = n
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("child acknowledged no update in 2 minutes")
	}
	timer := time.After(d)
loop:
	for {
		select {
		case n, ok := <-acks:
			if !ok {
				break loop
			}
			last = n
		case <-timer:
			// SIGKILL: no deferred function, no Close, no checkpoint.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			timer = nil
		}
	}
	// Every line written before the kill is read by now.
	if err := <-scanned; err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited on its own")
	}
	return last
}

// TestCrashChild is the process TestCrash kills. Each update creates the
// next published version, sets $LATEST's RevisionID and the function's
// LastVersion to its number, and prints "ack N" only after Update returns.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	id := fn("crash")
	for {
		var n int64
		err := s.Update(ctx, func(tx lambdahost.Tx) error {
			f, err := tx.Function(ctx, id)
			if err != nil {
				f = &lambdahost.Function{ID: id, Created: time.Now()}
				if err := tx.CreateFunction(ctx, f); err != nil {
					return err
				}
			}
			f.LastVersion++
			n = f.LastVersion
			if err := tx.PutFunction(ctx, f); err != nil {
				return err
			}
			v := benchVersion(id, strconv.FormatInt(n, 10))
			if err := tx.PutVersion(ctx, v); err != nil {
				return err
			}
			v.Name, v.RevisionID = lambdahost.VersionLatest, strconv.FormatInt(n, 10)
			return tx.PutVersion(ctx, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		// One write(2) per line: the parent sees whole lines only.
		fmt.Fprintf(os.Stdout, "ack %d\n", n)
	}
}

// checkIntegrity runs SQLite's integrity check on the database at path.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		t.Errorf("integrity_check: %v", msgs)
	}
	var fk int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM pragma_foreign_key_check").Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if fk != 0 {
		t.Errorf("foreign_key_check found %d violations", fk)
	}
}

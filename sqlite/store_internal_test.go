package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost"
)

func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "lambdahost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPragmas checks the settings that durability and concurrency rest on,
// on connections of both pools.
func TestPragmas(t *testing.T) {
	s := openInternal(t)
	tests := []struct {
		name string
		db   *sql.DB
		want map[string]string
	}{
		{"write", s.write, map[string]string{
			"journal_mode": "wal",
			"synchronous":  "2", // FULL
			"foreign_keys": "1",
			"busy_timeout": "10000",
			"query_only":   "0",
		}},
		{"read", s.read, map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"busy_timeout": "10000",
			"query_only":   "1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for pragma, want := range tt.want {
				var got string
				if err := tt.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s = %s, want %s", pragma, got, want)
				}
			}
		})
	}
}

// TestQueryPlans checks that each query reads the index meant for it, rather
// than scanning the table: on a new database, and on one whose statistics
// ANALYZE has gathered (as Close's PRAGMA optimize may).
func TestQueryPlans(t *testing.T) {
	s := openInternal(t)
	t.Run("no-statistics", func(t *testing.T) { checkQueryPlans(t, s) })

	ctx := t.Context()
	err := s.Update(ctx, func(tx lambdahost.Tx) error {
		for _, account := range []string{"111111111111", "222222222222"} {
			for i := range 300 {
				id := lambdahost.FunctionID{Account: account, Region: "us-east-1", Name: fmt.Sprintf("fn-%03d", i)}
				if err := tx.CreateFunction(ctx, &lambdahost.Function{ID: id}); err != nil {
					return err
				}
				for _, name := range []string{lambdahost.VersionLatest, "1", "2", "3"} {
					v := &lambdahost.Version{Function: id, Name: name, Code: lambdahost.Code{Digest: lambdahost.Digest{byte(i)}}}
					v.Status.State = lambdahost.StateActive
					if i%50 == 0 {
						v.Status.State = lambdahost.StatePending
					}
					if err := tx.PutVersion(ctx, v); err != nil {
						return err
					}
				}
				if i%10 == 0 {
					ev := &lambdahost.AsyncEvent{ID: fmt.Sprintf("%s-%03d", account, i), Function: id, Payload: []byte("{}")}
					if err := tx.PutEvent(ctx, ev); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	// Connections read the statistics when they open.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Run("statistics", func(t *testing.T) { checkQueryPlans(t, s) })
}

func checkQueryPlans(t *testing.T, s *Store) {
	tests := []struct {
		name  string
		query string
		args  []any
		want  []string // substrings of the plan
	}{
		{"get-version", getVersionSQL, []any{"a", "r", "f", "1"},
			[]string{"SEARCH versions USING INDEX sqlite_autoindex_versions_1 (account=? AND region=? AND name=? AND version=?)"}},
		{"list-versions", listVersionsSQL, []any{"a", "r", "f", -3, 10},
			[]string{"SEARCH versions USING INDEX versions_by_order (account=? AND region=? AND name=? AND version_order>?)"}},
		{"list-latest", listLatestSQL, []any{"a", "r", "", 10},
			[]string{"SEARCH versions USING INDEX versions_latest (account=? AND region=? AND name>?)"}},
		{"list-all-versions", listAllVersionsSQL, []any{"a", "r", "", -3, 10},
			[]string{"SEARCH versions USING INDEX versions_by_order (account=? AND region=? AND (name,version_order)>(?,?))"}},
		{"usage", usageSQL, []any{"a", "r"},
			[]string{"SEARCH versions USING COVERING INDEX versions_code_size (account=? AND region=?)", "SEARCH functions USING PRIMARY KEY (account=? AND region=?)",
				"SEARCH functions USING COVERING INDEX functions_reserved (account=? AND region=?"}},
		{"digests", digestsSQL, nil,
			[]string{"versions USING COVERING INDEX versions_digest"}},
		{"layer-refs", layerRefsSQL, nil,
			[]string{"SCAN versions USING INDEX versions_with_layers"}},
		{"unsettled", unsettledSQL, nil,
			[]string{"SCAN versions USING INDEX versions_unsettled"}},
		{"list-events", listEventsSQL, []any{"", 100},
			[]string{"SEARCH async_events USING INDEX sqlite_autoindex_async_events_1 (id>?)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("plan lacks %q:\n%s", w, all)
				}
			}
			if strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("plan sorts rows:\n%s", all)
			}
		})
	}
}

func TestMigrations(t *testing.T) {
	s := openInternal(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	var n, latest int64
	if err := s.read.QueryRowContext(t.Context(), "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &latest); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(ms)) || latest != ms[len(ms)-1].Version {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d up to %d", n, latest, len(ms), ms[len(ms)-1].Version)
	}
	// Migrating again does nothing.
	if err := migrate(t.Context(), s.write); err != nil {
		t.Fatal(err)
	}
	// A database migrated by a newer program is refused.
	if _, err := s.write.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name, applied) VALUES (99999, 'future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	if err := migrate(t.Context(), s.write); err == nil {
		t.Error("migrate accepted a database from a newer schema")
	}
}

// TestMigrateReservedConcurrency upgrades a database made before reserved
// concurrency existed: its functions come back with none set, and can
// then have one.
func TestMigrateReservedConcurrency(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lambdahost.db")
	db, err := sql.Open(driverName, dsn(path, url.Values{"_pragma": {"journal_mode(WAL)", "foreign_keys(ON)"}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 3 {
			break
		}
		if err := applyMigration(ctx, db, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO functions (account, region, name, created, last_version, changes, published_changes)
		VALUES ('111111111111', 'us-east-1', 'old', 0, 0, 1, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := lambdahost.FunctionID{Account: "111111111111", Region: "us-east-1", Name: "old"}
	err = s.Update(ctx, func(tx lambdahost.Tx) error {
		f, err := tx.Function(ctx, id)
		if err != nil {
			return err
		}
		if f.ReservedConcurrency != nil {
			t.Errorf("ReservedConcurrency = %d after migrating, want none", *f.ReservedConcurrency)
		}
		n := 5
		f.ReservedConcurrency = &n
		return tx.PutFunction(ctx, f)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx lambdahost.Tx) error {
		u, err := tx.Usage(ctx, id.Account, id.Region)
		if u.ReservedConcurrency != 5 {
			t.Errorf("Usage.ReservedConcurrency = %d, want 5", u.ReservedConcurrency)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateLayerIndex opens databases made by earlier programs: one that
// had applied every migration up to 0010 (nodes) before layers came, and
// one that lacks 0010 while later ones are applied (migrations merged out
// of their numbers' order). Both end with every migration: the index that
// Tx.CodeRefs reads layer code through, and the nodes table.
func TestMigrateLayerIndex(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// applied says which embedded migrations the old program applied.
		applied func(m migration) bool
		// extra is SQL the old program ran besides.
		extra string
	}{
		{"before-layers", func(m migration) bool { return m.Version <= 10 && !strings.HasSuffix(m.Name, "_layers.sql") }, ""},
		// A migration numbered below one already applied (merged later)
		// still runs.
		{"a-gap", func(m migration) bool { return m.Version != 10 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "lambdahost.db")
			db, err := sql.Open(driverName, dsn(path, url.Values{"_pragma": {"journal_mode(WAL)", "foreign_keys(ON)"}}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT`); err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if !tt.applied(m) {
					continue
				}
				if err := applyMigration(ctx, db, m); err != nil {
					t.Fatal(err)
				}
			}
			if tt.extra != "" {
				if _, err := db.ExecContext(ctx, tt.extra); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var n int
			if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'versions_with_layers'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("the database has %d indexes versions_with_layers after Open, want 1", n)
			}
			var nodes int
			if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'nodes'`).Scan(&nodes); err != nil {
				t.Fatal(err)
			}
			if nodes != 1 {
				t.Errorf("the database has %d tables nodes after Open, want 1", nodes)
			}
		})
	}
}

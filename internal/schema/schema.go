// Package schema reads the SQL migrations a store embeds, and tells which
// of them a database has not applied: the part of migrating that SQLite
// and PostgreSQL share. Each store applies them in its own transactions.
package schema

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one schema change. Its file name starts with its version
// number and an underscore: 0001_initial.sql. Applied migrations must
// never change; a schema change is a new file.
type Migration struct {
	Version int64
	Name    string
	SQL     string
}

// Load returns the migrations in fsys's migrations/*.sql in version order,
// refusing a name without a version and two files of one version.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a version number and '_'", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// Unknown refuses a database that has applied a migration (a version in
// applied) that ms does not have: a newer program wrote it.
func Unknown(ms []Migration, applied map[int64]bool) error {
	known := map[int64]bool{}
	for _, m := range ms {
		known[m.Version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("migrate: the database has migration %d, which this program does not know: a newer lambdahost wrote it", v)
		}
	}
	return nil
}

package sandbox_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestDeps keeps the init's package on the standard library and x/sys: a
// re-executed init runs the package initialisation of everything it
// imports before its own, on every launch.
func TestDeps(t *testing.T) {
	pkg, err := build.ImportDir("internal/nsinit", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && imp != "golang.org/x/sys/unix" {
			t.Errorf("nsinit imports %q; it may import only the standard library and golang.org/x/sys/unix", imp)
		}
	}
}

package lambdahost_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestDeps keeps the root package free of non-standard-library imports:
// adapters depend on it, never the other way round.
func TestDeps(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			t.Errorf("root package imports %q; it may import only the standard library", imp)
		}
	}
}

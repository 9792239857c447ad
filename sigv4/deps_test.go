package sigv4_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestDeps keeps sigv4 free of non-standard-library imports: it sits on
// the request path of every API call and must stay small and auditable.
// Tests may import aws-sdk-go-v2 to produce real signatures.
func TestDeps(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			t.Errorf("sigv4 imports %q; it may import only the standard library", imp)
		}
	}
}

package lambdahost_test

import (
	"regexp"
	"testing"

	"github.com/lambdahost/lambdahost"
)

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := lambdahost.NewID()
		if !re.MatchString(id) {
			t.Fatalf("NewID() = %q, not a version-4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

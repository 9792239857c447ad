package lambdahost_test

import (
	"regexp"
	"testing"
	"time"

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

func TestNewEventID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{16}-[0-9a-f]{16}$`)
	base := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	prev := ""
	for i := range 1000 {
		id := lambdahost.NewEventID(base.Add(time.Duration(i) * time.Nanosecond))
		if !re.MatchString(id) {
			t.Fatalf("NewEventID() = %q, want 16 hex digits, '-', 16 hex digits", id)
		}
		if id <= prev {
			t.Fatalf("NewEventID() = %q after %q: IDs of later events must sort after earlier ones", id, prev)
		}
		prev = id
	}
	// Times a whole order of magnitude apart still sort: the width is fixed.
	if a, b := lambdahost.NewEventID(time.Unix(0, 9)), lambdahost.NewEventID(time.Unix(0, 10)); a >= b {
		t.Errorf("NewEventID(9ns) = %q sorts after NewEventID(10ns) = %q", a, b)
	}
}

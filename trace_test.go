package lambdahost

import (
	"strings"
	"testing"
)

const (
	arnA = "arn:aws:lambda:us-east-1:000000000000:function:a"
	arnB = "arn:aws:lambda:us-east-1:000000000000:function:b"
)

func TestLineage(t *testing.T) {
	tests := []struct {
		name   string
		trace  string
		arn    string
		n      int
		counts map[string]int
	}{
		{name: "empty-trace", trace: "", arn: arnA, n: 1, counts: map[string]int{arnA: 1, arnB: 0}},
		{name: "x-ray-header", trace: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0", arn: arnA, n: 3, counts: map[string]int{arnA: 3}},
		{name: "replaces-own-count", trace: WithLineage("Root=1-x", arnA, 7), arn: arnA, n: 8, counts: map[string]int{arnA: 8}},
		{name: "keeps-others", trace: WithLineage("Root=1-x", arnB, 5), arn: arnA, n: 1, counts: map[string]int{arnA: 1, arnB: 5}},
		{name: "garbage-count", trace: "Root=1-x;Lineage=" + lineageHash(arnA) + ":zz", arn: arnB, n: 2, counts: map[string]int{arnA: 0, arnB: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WithLineage(tt.trace, tt.arn, tt.n)
			for arn, want := range tt.counts {
				if c := LineageCount(got, arn); c != want {
					t.Errorf("LineageCount(%q, %s) = %d, want %d", got, arn, c, want)
				}
			}
			if root, _, _ := strings.Cut(tt.trace, ";"); strings.HasPrefix(root, "Root=") && !strings.HasPrefix(got, root+";") {
				t.Errorf("WithLineage(%q) = %q: lost the Root", tt.trace, got)
			}
			if strings.Count(got, "Lineage=") != 1 {
				t.Errorf("WithLineage(%q) = %q: want one Lineage field", tt.trace, got)
			}
		})
	}
}

// FuzzLineage: whatever trace header a caller sends, setting a count then
// reading it gives it back, and counts of other functions survive.
func FuzzLineage(f *testing.F) {
	f.Add("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", 3)
	f.Add("Lineage=;;=;Lineage=x:y|:", 0)
	f.Add(WithLineage("", arnB, 9), 16)
	f.Fuzz(func(t *testing.T, trace string, n int) {
		if n < 0 {
			n = -n
		}
		if n < 0 {
			return
		}
		other := LineageCount(trace, arnB)
		got := WithLineage(trace, arnA, n)
		if c := LineageCount(got, arnA); c != n {
			t.Fatalf("LineageCount(WithLineage(%q, a, %d)) = %d", trace, n, c)
		}
		if c := LineageCount(got, arnB); c != other && other != 0 {
			t.Fatalf("WithLineage(%q) changed b's count %d to %d", trace, other, c)
		}
	})
}

package control

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/lambdahost/lambdahost"
)

// TestRouteSplit checks that an alias's weighted routing sends each
// version its share of invocations, over many draws of a seeded generator,
// and that weights 0 and 1 are exact.
func TestRouteSplit(t *testing.T) {
	const n = 200000
	tests := []struct {
		name    string
		weights map[string]float64
	}{
		{"none", nil},
		{"zero", map[string]float64{"2": 0}},
		{"small", map[string]float64{"2": 0.01}},
		{"quarter", map[string]float64{"2": 0.25}},
		{"half", map[string]float64{"2": 0.5}},
		{"most", map[string]float64{"2": 0.9}},
		{"all", map[string]float64{"2": 1}},
		// The model allows one additional version; more share the draw.
		{"two", map[string]float64{"2": 0.1, "3": 0.3}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{Rand: rand.New(rand.NewPCG(7, uint64(i))).Float64}
			a := &lambdahost.Alias{Name: "canary", FunctionVersion: "1", AdditionalVersionWeights: tt.weights}
			counts := map[string]int{}
			for range n {
				counts[s.route(a)]++
			}
			want := map[string]float64{"1": 1}
			for v, w := range tt.weights {
				want[v] = w
				want["1"] -= w
			}
			for v, c := range counts {
				if _, ok := want[v]; !ok {
					t.Errorf("routed %d invocations to version %s", c, v)
				}
			}
			for v, w := range want {
				share := float64(counts[v]) / n
				// Five standard deviations of a binomial share; exact at 0 and 1.
				tolerance := 5 * math.Sqrt(w*(1-w)/n)
				if math.Abs(share-w) > tolerance {
					t.Errorf("version %s ran %d of %d (%s), want %s ± %.4f", v, counts[v], n,
						strconv.FormatFloat(share, 'f', 4, 64), strconv.FormatFloat(w, 'f', 4, 64), tolerance)
				}
			}
		})
	}
}

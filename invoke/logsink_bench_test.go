package invoke_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost/invoke"
	"github.com/lambdahost/lambdahost/logs"
	"github.com/lambdahost/lambdahost/sqlite"
)

// BenchmarkWarmInvokeLogs measures a warm invocation of the Go test
// function that prints a line, with its log only returned (LogType Tail,
// nothing stored: what lambdahost did before CloudWatch Logs) and with
// every line also stored in CloudWatch Logs through the Ingester on
// SQLite. It reports the median and 99th percentile latency:
//
//	go test ./invoke -run '^$' -bench WarmInvokeLogs -benchtime 2000x
func BenchmarkWarmInvokeLogs(b *testing.B) {
	for _, stored := range []bool{false, true} {
		name := "tail-only"
		if stored {
			name = "logs-stored"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b)
			if stored {
				store, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "db"))
				if err != nil {
					b.Fatal(err)
				}
				in := logs.NewIngester(logs.New(store))
				in.Start()
				b.Cleanup(func() {
					in.Close()
					store.Close()
				})
				f.x.Logs = in
			}
			tg := target(b, "A")
			req := func(i int) *invoke.Request {
				return &invoke.Request{Target: tg, RequestID: fmt.Sprintf("bench-%d", i), Payload: []byte(`{"print":"a line of output"}`), Tail: true}
			}
			// Warm the environment first.
			if _, err := f.x.Invoke(context.Background(), req(-1)); err != nil {
				b.Fatal(err)
			}
			durs := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				res, err := f.x.Invoke(context.Background(), req(i))
				if err != nil || res.FunctionError != "" {
					b.Fatalf("invoke: %v %s", err, res.Payload)
				}
				durs = append(durs, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "p99-µs")
		})
	}
}

package logs_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/apitest"
	"github.com/lambdahost/lambdahost/logs"
	"github.com/lambdahost/lambdahost/sqlite"
)

// BenchmarkFilterLogEvents100k measures FilterLogEvents over a group of
// 100,000 events in 10 streams on SQLite: one call reads them all and
// answers the 100 that match. It reports the median and 99th percentile:
//
//	go test ./logs -run '^$' -bench FilterLogEvents100k -benchtime 20x
func BenchmarkFilterLogEvents100k(b *testing.B) {
	store, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	svc := logs.New(store)
	svc.Now = func() time.Time { return apitest.Clock }
	ctx := lambdahost.WithCaller(b.Context(), lambdahost.Caller{Account: "000000000000", Region: "us-east-1"})
	if err := svc.CreateLogGroup(ctx, "app", "", nil); err != nil {
		b.Fatal(err)
	}
	start := apitest.Clock.Add(-time.Hour).UnixMilli()
	for s := range 10 {
		stream := fmt.Sprintf("2026/01/02/[$LATEST]%032d", s)
		if err := svc.CreateLogStream(ctx, "app", stream); err != nil {
			b.Fatal(err)
		}
		for batch := range 10 {
			var evs []logs.InputEvent
			for i := range 1000 {
				n := s*10000 + batch*1000 + i
				msg := fmt.Sprintf(`{"level":"INFO","requestId":"%08d","message":"request handled in %d ms"}`, n, n%500)
				if n%1000 == 0 {
					msg = fmt.Sprintf(`{"level":"ERROR","requestId":"%08d","message":"request failed"}`, n)
				}
				evs = append(evs, logs.InputEvent{Time: start + int64(batch*1000+i), Message: msg})
			}
			if _, _, err := svc.PutLogEvents(ctx, logs.GroupRef{Name: "app"}, stream, evs); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, pattern := range []string{`ERROR`, `{ $.level = "ERROR" }`} {
		b.Run(pattern, func(b *testing.B) {
			durs := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				evs, next, err := svc.FilterLogEvents(ctx, logs.FilterQuery{Group: logs.GroupRef{Name: "app"}, Pattern: pattern})
				if err != nil || len(evs) != 100 || next != "" {
					b.Fatalf("FilterLogEvents: %d events, next %q, %v", len(evs), next, err)
				}
				durs = append(durs, time.Since(t0))
			}
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(durs[len(durs)*99/100].Milliseconds()), "p99-ms")
		})
	}
}

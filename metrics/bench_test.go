package metrics_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/metrics"
)

// What the metrics add to each call of the paths they measure: an API
// request (APIRequest), an invocation (Invoked), a deployment
// (CodeDeployed), and a scrape.

func BenchmarkAPIRequest(b *testing.B) {
	r := metrics.New("bench")
	for b.Loop() {
		r.APIRequest("lambda", "Invoke", 200, time.Millisecond)
	}
}

func BenchmarkInvoked(b *testing.B) {
	r := metrics.New("bench")
	f := fn("bench")
	for b.Loop() {
		r.Invoked(f, "RequestResponse", lambdahost.OutcomeSuccess, time.Millisecond)
	}
}

func BenchmarkInvokedParallel(b *testing.B) {
	r := metrics.New("bench")
	f := fn("bench")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.APIRequest("lambda", "Invoke", 200, time.Millisecond)
			r.Invoked(f, "RequestResponse", lambdahost.OutcomeSuccess, time.Millisecond)
		}
	})
}

func BenchmarkCodeDeployed(b *testing.B) {
	r := metrics.New("bench")
	t := &lambdahost.DeployTiming{Bytes: 50 << 10, Receive: time.Millisecond, Hash: time.Millisecond, Seal: time.Millisecond, Store: time.Millisecond, Commit: time.Millisecond}
	for b.Loop() {
		r.CodeDeployed("UpdateFunctionCode", t)
	}
}

// BenchmarkScrape is a scrape with 100 functions' series.
func BenchmarkScrape(b *testing.B) {
	r := metrics.New("bench")
	for i := range 100 {
		r.Invoked(fn("f"+string(rune('a'+i%26))+string(rune('a'+i/26))), "RequestResponse", lambdahost.OutcomeSuccess, time.Millisecond)
	}
	h := r.Handler(metrics.HandlerOptions{})
	for b.Loop() {
		req := httptest.NewRequest("GET", "/metrics", nil)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

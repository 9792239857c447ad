package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/metrics"
)

func fn(name string) lambdahost.FunctionID {
	return lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: name}
}

// scrape returns the text r's handler answers.
func scrape(t *testing.T, h http.Handler, mutate func(*http.Request)) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:4242"
	if mutate != nil {
		mutate(req)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Body)
	return w.Code, string(b)
}

func TestRegistry(t *testing.T) {
	r := metrics.New("v1.2.3")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.Now = func() time.Time { return now }
	r.Sources = metrics.Sources{
		Environments: func() (int, int) { return 3, 1 },
		AsyncQueue:   func() (int, time.Time) { return 2, now.Add(-90 * time.Second) },
		EventSourceLag: func() []metrics.Lag {
			return []metrics.Lag{{Function: fn("f"), UUID: "a1b2", Lag: 1500 * time.Millisecond}, {Function: fn("f"), UUID: "c3d4"}}
		},
		Async: func() metrics.AsyncCounts {
			return metrics.AsyncCounts{EventsReceived: 1, EventsDropped: 2, DestinationDeliveries: 3, DestinationDeliveryFailures: 4,
				DeadLetterErrors: 5, DestinationDeliveriesExpired: 6, RecursiveInvocationsDropped: 7, EventSourceBatches: 8,
				EventSourceBatchFailures: 9, EventSourceRecords: 10, EventSourceRecordsFiltered: 11, EventSourceRecordsDropped: 12,
				EventSourcePollErrors: 13}
		},
		StoreBytes: func(context.Context) (int64, error) { return 4096, nil },
		Blobs:      func(context.Context) (int64, int64, error) { return 7, 70000, nil },
	}
	r.APIRequest("lambda", "UpdateFunctionCode", 200, 12*time.Millisecond)
	r.APIRequest("lambda", "UpdateFunctionCode", 409, time.Millisecond)
	r.CodeDeployed("UpdateFunctionCode", &lambdahost.DeployTiming{Bytes: 2048, Receive: time.Millisecond, Hash: time.Millisecond, Seal: time.Millisecond, Store: time.Millisecond, Commit: 2 * time.Millisecond})
	r.UpdateSettled("UpdateFunctionCode", lambdahost.UpdateSuccessful, 3*time.Millisecond)
	r.Invoked(fn("f"), "RequestResponse", lambdahost.OutcomeSuccess, time.Millisecond)
	r.Invoked(fn("f"), "Event", lambdahost.OutcomeFunctionError, time.Millisecond)
	r.ColdStart(fn("f"), 20*time.Millisecond)
	r.Throttled(fn("f"), "ReservedFunctionConcurrentInvocationLimitExceeded")
	r.SignatureValidationError(fn("f"))
	r.GarbageCollected(4, time.Second, nil)
	r.GarbageCollected(0, time.Second, errors.New("disk on fire"))

	code, text := scrape(t, r.Handler(metrics.HandlerOptions{}), nil)
	if code != 200 {
		t.Fatalf("scrape answered %d", code)
	}
	arn := `function="arn:aws:lambda:us-east-1:000000000000:function:f"`
	for _, want := range []string{
		`lambdahost_api_requests_total{operation="UpdateFunctionCode",service="lambda",status="200"} 1`,
		`lambdahost_api_requests_total{operation="UpdateFunctionCode",service="lambda",status="409"} 1`,
		`lambdahost_api_request_duration_seconds_count{operation="UpdateFunctionCode",service="lambda"} 2`,
		`lambdahost_code_deploy_bytes_sum{operation="UpdateFunctionCode"} 2048`,
		`lambdahost_code_deploy_phase_seconds_sum{operation="UpdateFunctionCode",phase="commit"} 0.002`,
		`lambdahost_update_settle_seconds_count{operation="UpdateFunctionCode",status="Successful"} 1`,
		`lambdahost_invocations_total{` + arn + `,outcome="success",type="RequestResponse"} 1`,
		`lambdahost_invocations_total{` + arn + `,outcome="function_error",type="Event"} 1`,
		`lambdahost_invocation_duration_seconds_count{outcome="success",type="RequestResponse"} 1`,
		`lambdahost_cold_starts_total{` + arn + `} 1`,
		`lambdahost_cold_start_duration_seconds_sum 0.02`,
		`lambdahost_throttles_total{` + arn + `,reason="ReservedFunctionConcurrentInvocationLimitExceeded"} 1`,
		`lambdahost_signature_validation_errors_total{` + arn + `} 1`,
		`lambdahost_gc_runs_total{result="ok"} 1`,
		`lambdahost_gc_runs_total{result="error"} 1`,
		`lambdahost_gc_deleted_total 4`,
		`lambdahost_environments{state="idle"} 3`,
		`lambdahost_environments{state="busy"} 1`,
		`lambdahost_async_queue_depth 2`,
		`lambdahost_async_queue_oldest_age_seconds 90`,
		`lambdahost_event_source_lag_seconds{` + arn + `,uuid="a1b2"} 1.5`,
		`lambdahost_event_source_lag_seconds{` + arn + `,uuid="c3d4"} 0`,
		"# TYPE lambdahost_async_events_received_total counter\nlambdahost_async_events_received_total 1\n",
		"# TYPE lambdahost_async_events_dropped_total counter\nlambdahost_async_events_dropped_total 2\n",
		"# TYPE lambdahost_destination_deliveries_total counter\nlambdahost_destination_deliveries_total 3\n",
		"# TYPE lambdahost_destination_delivery_failures_total counter\nlambdahost_destination_delivery_failures_total 4\n",
		"# TYPE lambdahost_dead_letter_errors_total counter\nlambdahost_dead_letter_errors_total 5\n",
		"# TYPE lambdahost_destination_deliveries_expired_total counter\nlambdahost_destination_deliveries_expired_total 6\n",
		"# TYPE lambdahost_recursive_invocations_dropped_total counter\nlambdahost_recursive_invocations_dropped_total 7\n",
		"# TYPE lambdahost_event_source_batches_total counter\nlambdahost_event_source_batches_total 8\n",
		"# TYPE lambdahost_event_source_batch_failures_total counter\nlambdahost_event_source_batch_failures_total 9\n",
		"# TYPE lambdahost_event_source_records_total counter\nlambdahost_event_source_records_total 10\n",
		"# TYPE lambdahost_event_source_records_filtered_total counter\nlambdahost_event_source_records_filtered_total 11\n",
		"# TYPE lambdahost_event_source_records_dropped_total counter\nlambdahost_event_source_records_dropped_total 12\n",
		"# TYPE lambdahost_event_source_poll_errors_total counter\nlambdahost_event_source_poll_errors_total 13\n",
		`lambdahost_store_bytes 4096`,
		`lambdahost_blob_bytes 70000`,
		`lambdahost_blobs 7`,
		`lambdahost_metrics_functions 1`,
		`lambdahost_build_info{version="v1.2.3"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

// TestFunctionCap: past MaxFunctions, functions share "(other)"; a
// deleted function's series go and its place is free again.
func TestFunctionCap(t *testing.T) {
	r := metrics.New("test")
	r.MaxFunctions = 2
	for _, name := range []string{"a", "b", "c", "d"} {
		r.Invoked(fn(name), "RequestResponse", lambdahost.OutcomeSuccess, time.Millisecond)
	}
	_, text := scrape(t, r.Handler(metrics.HandlerOptions{}), nil)
	for _, want := range []string{
		`lambdahost_invocations_total{function="arn:aws:lambda:us-east-1:000000000000:function:a",outcome="success",type="RequestResponse"} 1`,
		`lambdahost_invocations_total{function="arn:aws:lambda:us-east-1:000000000000:function:b",outcome="success",type="RequestResponse"} 1`,
		`lambdahost_invocations_total{function="(other)",outcome="success",type="RequestResponse"} 2`,
		`lambdahost_metrics_functions 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	// The event source lag is bounded the same way: the mappings of the
	// functions without a label of their own share one series, with the
	// largest lag.
	r.Sources.EventSourceLag = func() []metrics.Lag {
		return []metrics.Lag{{Function: fn("a"), UUID: "u1", Lag: time.Second}, {Function: fn("c"), UUID: "u2", Lag: 2 * time.Second},
			{Function: fn("d"), UUID: "u3", Lag: 5 * time.Second}, {Function: fn("d"), UUID: "u4"}}
	}
	_, text = scrape(t, r.Handler(metrics.HandlerOptions{}), nil)
	if got := strings.Count(text, "\nlambdahost_event_source_lag_seconds{"); got != 2 {
		t.Errorf("%d event source lag series, want 2", got)
	}
	for _, want := range []string{
		`lambdahost_event_source_lag_seconds{function="arn:aws:lambda:us-east-1:000000000000:function:a",uuid="u1"} 1`,
		`lambdahost_event_source_lag_seconds{function="(other)",uuid="(other)"} 5`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	r.Sources.EventSourceLag = nil
	r.FunctionDeleted(fn("a"))
	r.Invoked(fn("e"), "RequestResponse", lambdahost.OutcomeSuccess, time.Millisecond)
	_, text = scrape(t, r.Handler(metrics.HandlerOptions{}), nil)
	if strings.Contains(text, "function:a\"") {
		t.Error("the deleted function's series are still there")
	}
	if !strings.Contains(text, `function="arn:aws:lambda:us-east-1:000000000000:function:e"`) {
		t.Error("a new function did not take the deleted function's place")
	}
}

func TestHandlerAuth(t *testing.T) {
	r := metrics.New("test")
	for _, tt := range []struct {
		name   string
		opts   metrics.HandlerOptions
		remote string
		auth   string
		method string
		want   int
	}{
		{name: "open", remote: "192.0.2.1:1", want: 200},
		{name: "loopback-only-from-loopback", opts: metrics.HandlerOptions{LoopbackOnly: true}, remote: "127.0.0.1:1", want: 200},
		{name: "loopback-only-from-ipv6-loopback", opts: metrics.HandlerOptions{LoopbackOnly: true}, remote: "[::1]:1", want: 200},
		{name: "loopback-only-from-afar", opts: metrics.HandlerOptions{LoopbackOnly: true}, remote: "192.0.2.1:1", want: 403},
		{name: "token", opts: metrics.HandlerOptions{Token: "s3cret", LoopbackOnly: true}, remote: "192.0.2.1:1", auth: "Bearer s3cret", want: 200},
		{name: "wrong-token", opts: metrics.HandlerOptions{Token: "s3cret"}, remote: "127.0.0.1:1", auth: "Bearer nope", want: 403},
		{name: "no-token", opts: metrics.HandlerOptions{Token: "s3cret"}, remote: "127.0.0.1:1", want: 403},
		{name: "post", remote: "127.0.0.1:1", method: "POST", want: 405},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := scrape(t, r.Handler(tt.opts), func(req *http.Request) {
				req.RemoteAddr = tt.remote
				if tt.auth != "" {
					req.Header.Set("Authorization", tt.auth)
				}
				if tt.method != "" {
					req.Method = tt.method
				}
			})
			if code != tt.want {
				t.Errorf("answered %d, want %d", code, tt.want)
			}
		})
	}
}

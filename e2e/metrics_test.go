//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// scrapeMetrics fetches url (a /metrics endpoint) with the bearer token,
// if any, and returns the status and body.
func scrapeMetrics(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue returns the value of the sample of name whose labels
// include labels (`k="v"` pairs, as the text format writes them), summed
// over the samples that match, and whether any did.
func metricValue(text, name string, labels ...string) (float64, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`)
	sum, found := 0.0, false
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(m[1], l)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// TestMetrics scrapes /metrics around real calls through the SDK and
// checks that the counters move with them: API requests by operation and
// status, code deployments by phase, time to Successful, invocations by
// function, type and outcome, cold starts, throttles; and that the gauges
// are there.
func TestMetrics(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	url := srv.Endpoint + "/metrics"
	code, before := scrapeMetrics(t, url, "")
	if code != http.StatusOK {
		t.Fatalf("scrape answered %d: %s", code, before)
	}
	sdk := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	ctx := context.Background()
	const name = "metered"
	arn := `function="arn:aws:lambda:us-east-1:000000000000:function:` + name + `"`
	if _, err := sdk.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: "python3.12", Handler: aws.String("index.handler"), Role: aws.String(testRole),
		Timeout: aws.Int32(60), Code: &types.FunctionCode{ZipFile: handlerZip(t, "v1")},
	}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(sdk).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: handlerZip(t, "v2")}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(sdk).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		out, err := sdk.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke: %v %v", err, out)
		}
	}
	if _, err := sdk.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("no-such-function")}); err == nil {
		t.Fatal("GetFunction of a missing function succeeded")
	}
	if _, err := sdk.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	var tooMany *types.TooManyRequestsException
	if _, err := sdk.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name)}); !errors.As(err, &tooMany) {
		t.Fatalf("invoke with reserved concurrency 0: %v", err)
	}

	// The event runs in the background: wait for it to be counted.
	var after string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, after = scrapeMetrics(t, url, "")
		if _, ok := metricValue(after, "lambdahost_invocations_total", arn, `type="Event"`, `outcome="success"`); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Event invocation was never counted:\n%s", after)
		}
		time.Sleep(200 * time.Millisecond)
	}
	delta := func(name string, labels ...string) float64 {
		a, _ := metricValue(after, name, labels...)
		b, _ := metricValue(before, name, labels...)
		return a - b
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"lambdahost_api_requests_total", []string{`operation="Invoke"`, `service="lambda"`, `status="200"`}, 3},
		{"lambdahost_api_requests_total", []string{`operation="Invoke"`, `status="202"`}, 1},
		{"lambdahost_api_requests_total", []string{`operation="Invoke"`, `status="429"`}, 1},
		{"lambdahost_api_requests_total", []string{`operation="GetFunction"`, `status="404"`}, 1},
		{"lambdahost_api_requests_total", []string{`operation="CreateFunction"`, `status="201"`}, 1},
		{"lambdahost_api_requests_total", []string{`operation="UpdateFunctionCode"`, `status="200"`}, 1},
		{"lambdahost_api_request_duration_seconds_count", []string{`operation="Invoke"`}, 5},
		{"lambdahost_code_deploy_bytes_count", []string{`operation="UpdateFunctionCode"`}, 1},
		{"lambdahost_code_deploy_phase_seconds_count", []string{`operation="UpdateFunctionCode"`, `phase="commit"`}, 1},
		{"lambdahost_code_deploy_phase_seconds_count", []string{`operation="CreateFunction"`, `phase="receive"`}, 1},
		{"lambdahost_update_settle_seconds_count", []string{`operation="UpdateFunctionCode"`, `status="Successful"`}, 1},
		{"lambdahost_update_settle_seconds_count", []string{`operation="CreateFunction"`, `status="Successful"`}, 1},
		{"lambdahost_invocations_total", []string{arn, `type="RequestResponse"`, `outcome="success"`}, 3},
		{"lambdahost_invocations_total", []string{arn, `type="RequestResponse"`, `outcome="throttled"`}, 1},
		{"lambdahost_invocations_total", []string{arn, `type="Event"`, `outcome="success"`}, 1},
		{"lambdahost_throttles_total", []string{arn, `reason="ReservedFunctionConcurrentInvocationLimitExceeded"`}, 1},
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := delta("lambdahost_cold_starts_total", arn); got < 1 {
		t.Errorf("cold starts moved by %v, want at least 1", got)
	}
	for _, gauge := range []string{"lambdahost_environments", "lambdahost_async_queue_depth", "lambdahost_store_bytes", "lambdahost_blob_bytes", "lambdahost_build_info"} {
		if _, ok := metricValue(after, gauge); !ok {
			t.Errorf("no %s", gauge)
		}
	}
	if v, _ := metricValue(after, "lambdahost_environments", `state="idle"`); v < 1 {
		t.Errorf("%v idle environments after the invocations, want at least 1", v)
	}
	if v, _ := metricValue(after, "lambdahost_gc_runs_total", `result="ok"`); v < 1 {
		t.Errorf("garbage collection ran %v times, want the run at start", v)
	}
}

// TestMetricsListen: --metrics-listen serves /metrics apart from the API,
// and --metrics-token-file makes scrapes present the token.
func TestMetricsListen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := Start(t, WithArgs("--metrics-listen", "127.0.0.1:0", "--metrics-token-file", tokenFile))
	b, err := os.ReadFile(filepath.Join(srv.Dir, "ready.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		MetricsEndpoint string `json:"metrics_endpoint"`
	}
	if err := json.Unmarshal(b, &ready); err != nil || ready.MetricsEndpoint == "" {
		t.Fatalf("ready file %s: %v", b, err)
	}
	if code, _ := scrapeMetrics(t, ready.MetricsEndpoint+"/metrics", "s3cret-token"); code != http.StatusOK {
		t.Errorf("scrape with the token: %d", code)
	}
	for _, tok := range []string{"", "wrong"} {
		if code, _ := scrapeMetrics(t, ready.MetricsEndpoint+"/metrics", tok); code != http.StatusForbidden {
			t.Errorf("scrape with token %q: %d, want 403", tok, code)
		}
	}
	if code, body := scrapeMetrics(t, srv.Endpoint+"/metrics", "s3cret-token"); code == http.StatusOK || strings.Contains(body, "lambdahost_build_info") {
		t.Errorf("the API listener serves /metrics too: %d", code)
	}
}

// TestAsyncMetrics scrapes /metrics around the asynchronous machinery
// working against real queue servers: Event invocations whose records go
// to OnSuccess, OnFailure and a dead-letter queue, a destination that
// refuses every delivery, and an SQS event source mapping with a filter.
// Its counters move by what was done, and the mapping has a lag series.
func TestAsyncMetrics(t *testing.T) {
	t.Parallel()
	a := testserver.StartAWS(t)
	srv := Start(t, awsEnv(a), WithArgs("--async-retry-delays", "200ms"))
	url := srv.Endpoint + "/metrics"
	q := newQueues(a)
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	zip := makeZip(t, "index.py", destFunction)

	// A function whose records land in queues, and one whose OnSuccess
	// destination does not exist.
	const name, lost = "metered-async", "metered-lost"
	okq, failq, dlq := q.create(t, name+"-ok", nil), q.create(t, name+"-fail", nil), q.create(t, name+"-dlq", nil)
	p := createParams(name, zip)
	p["DeadLetterConfig"] = Params{"TargetArn": dlq.ARN}
	d.Call(t, "CreateFunction", p).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": name})
	d.Call(t, "PutFunctionEventInvokeConfig", Params{"FunctionName": name, "MaximumRetryAttempts": 0,
		"DestinationConfig": Params{"OnSuccess": Params{"Destination": okq.ARN}, "OnFailure": Params{"Destination": failq.ARN}}}).OK(t)
	mustCreate(t, d, lost, zip)
	d.Call(t, "PutFunctionEventInvokeConfig", Params{"FunctionName": lost,
		"DestinationConfig": Params{"OnSuccess": Params{"Destination": "arn:aws:sqs:us-east-1:" + testserver.AWSAccount + ":no-such-queue"}}}).OK(t)

	// A mapping that hands on the messages starting with "keep".
	const mapped = "metered-batch"
	mustCreate(t, d, mapped, makeZip(t, "index.py", batchFunction))
	src := q.create(t, mapped, nil)
	r := d.Call(t, "CreateEventSourceMapping", Params{"FunctionName": mapped, "EventSourceArn": src.ARN, "BatchSize": 10,
		"FilterCriteria": Params{"Filters": []Params{{"Pattern": `{"body": [{"prefix": "keep"}]}`}}}}).OK(t)
	uuid := r.Str("UUID")
	waitState(t, d, uuid, "Enabled", esmBound)

	code, before := scrapeMetrics(t, url, "")
	if code != http.StatusOK {
		t.Fatalf("scrape answered %d: %s", code, before)
	}
	if _, ok := metricValue(before, "lambdahost_event_source_lag_seconds", `function="arn:aws:lambda:us-east-1:000000000000:function:`+mapped+`"`, `uuid="`+uuid+`"`); !ok {
		t.Errorf("no lag series for the enabled mapping %s", uuid)
	}

	d.Call(t, "Invoke", Params{"FunctionName": name, "InvocationType": "Event", "Payload": []byte(`{"k":"v"}`)}).OK(t).WantStatus(t, 202)
	d.Call(t, "Invoke", Params{"FunctionName": name, "InvocationType": "Event", "Payload": []byte(`{"fail":"boom"}`)}).OK(t).WantStatus(t, 202)
	d.Call(t, "Invoke", Params{"FunctionName": lost, "InvocationType": "Event", "Payload": []byte(`{}`)}).OK(t).WantStatus(t, 202)
	q.send(t, src, "keep-1", "drop-1", "keep-2")
	for _, qu := range []queue{okq, failq, dlq} {
		q.receive(t, qu, 1, deliveryBound)
	}
	q.waitEmpty(t, src, esmBound)

	// A counter moves after the message it counts is sent, and the lost
	// destination fails in the background: wait for them.
	delta := func(after, name string) float64 {
		a, _ := metricValue(after, name)
		b, _ := metricValue(before, name)
		return a - b
	}
	var after string
	deadline := time.Now().Add(deliveryBound)
	for {
		_, after = scrapeMetrics(t, url, "")
		if delta(after, "lambdahost_destination_deliveries_total") >= 3 && delta(after, "lambdahost_destination_delivery_failures_total") >= 1 &&
			delta(after, "lambdahost_async_events_dropped_total") >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deliveries were never all counted:\n%s", after)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"lambdahost_async_events_received_total", 3},
		{"lambdahost_async_events_dropped_total", 1},
		{"lambdahost_destination_deliveries_total", 3}, // OnSuccess, OnFailure, the dead letter; none to the lost queue
		{"lambdahost_dead_letter_errors_total", 0},
		{"lambdahost_destination_deliveries_expired_total", 0},
		{"lambdahost_recursive_invocations_dropped_total", 0},
		{"lambdahost_event_source_records_total", 2},
		{"lambdahost_event_source_records_filtered_total", 1},
		{"lambdahost_event_source_batch_failures_total", 0},
		{"lambdahost_event_source_records_dropped_total", 0},
	} {
		if got := delta(after, c.name); got != c.want {
			t.Errorf("%s moved by %v, want %v", c.name, got, c.want)
		}
	}
	if got := delta(after, "lambdahost_event_source_batches_total"); got < 1 || got > 2 {
		t.Errorf("lambdahost_event_source_batches_total moved by %v, want the two messages kept in one or two batches", got)
	}
	for _, name := range []string{"lambdahost_async_events_received_total", "lambdahost_event_source_poll_errors_total"} {
		if !strings.Contains(after, "# TYPE "+name+" counter\n") {
			t.Errorf("%s is not a counter", name)
		}
	}
}

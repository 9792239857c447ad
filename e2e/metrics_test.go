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

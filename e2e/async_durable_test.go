//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// reportingHandler is a Python function that says it ran in its log: a
// line with its event's token, upper-cased so that only the function
// writes it, and its request ID. lambdahost serve --log-level debug logs
// every line functions log: that is the trace its runs leave, in any
// sandbox mode.
const reportingHandler = `def handler(event, context):
    print("RAN:" + event["token"].upper() + ":" + context.aws_request_id)
    return "reported"
`

// logTap is a testing.TB whose Log also keeps what is logged: Start, given
// one, copies the server's log into it line by line.
type logTap struct {
	testing.TB
	mu    sync.Mutex
	lines []string
}

func (l *logTap) Log(args ...any) {
	l.keep(fmt.Sprint(args...))
	l.TB.Log(args...)
}

func (l *logTap) Logf(format string, args ...any) {
	l.keep(fmt.Sprintf(format, args...))
	l.TB.Logf(format, args...)
}

func (l *logTap) keep(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// count returns how many lines logged so far contain s.
func (l *logTap) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// waitCount waits up to timeout for n lines containing s, and fails the
// test if there are not exactly n.
func (l *logTap) waitCount(t *testing.T, s string, n int, timeout time.Duration, when string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for l.count(s) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := l.count(s); got != n {
		t.Fatalf("%s: the function logged %q %d times, want %d", when, s, got, n)
	}
}

// TestAsyncEventSurvivesCrash sends an Event invocation that cannot run
// yet (reserved concurrency 0 throttles it, so it waits in the queue for
// a retry), kills the server with SIGKILL, restarts it, and lifts the
// throttle: the acknowledged event then runs, once, with its request ID
// and payload. Once it has run it is gone: a further restart does not
// run it again.
func TestAsyncEventSurvivesCrash(t *testing.T) {
	t.Parallel()
	tap := &logTap{TB: t}
	srv := Start(tap, WithArgs("--log-level", "debug", "--async-retry-delays", "100ms"))
	client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	ctx := t.Context()
	name := "async-durable"
	token := fmt.Sprintf("token-%x", time.Now().UnixNano())

	_, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: types.RuntimePython312, Role: aws.String(testRole),
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: makeZip(t, "index.py", reportingHandler)},
		Timeout: aws.Int32(fnTimeout),
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(client).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, waitTimeout); err != nil {
		t.Fatalf("wait for Active: %v", err)
	}
	// A synchronous invocation proves that the test sees the function's log.
	syncOut, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"token":"sync-` + token + `"}`)})
	if err != nil {
		t.Fatalf("synchronous Invoke: %v", err)
	}
	if syncOut.FunctionError != nil {
		t.Fatalf("synchronous Invoke: function error %s: %s", aws.ToString(syncOut.FunctionError), syncOut.Payload)
	}
	syncID, _ := awsmiddleware.GetRequestIDMetadata(syncOut.ResultMetadata)
	tap.waitCount(t, "RAN:"+strings.ToUpper("sync-"+token)+":"+syncID, 1, waitTimeout, "synchronous run")

	if _, err := client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(0),
	}); err != nil {
		t.Fatalf("PutFunctionConcurrency: %v", err)
	}
	out, err := client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"token":"` + token + `"}`),
	})
	if err != nil {
		t.Fatalf("Event Invoke: %v", err)
	}
	if out.StatusCode != 202 {
		t.Fatalf("Event Invoke answered %d, want 202", out.StatusCode)
	}
	requestID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if requestID == "" {
		t.Fatal("Event Invoke answered no request ID")
	}
	ran := "RAN:" + strings.ToUpper(token) + ":" + requestID
	// The executor has tried the event, been throttled, and holds it for
	// a retry.
	time.Sleep(1500 * time.Millisecond)
	tap.waitCount(t, ran, 0, 0, "throttled to zero")

	srv.Kill()
	srv.Restart()
	client = NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	// The replayed event waits: the function is still throttled.
	time.Sleep(1500 * time.Millisecond)
	tap.waitCount(t, ran, 0, 0, "after the restart, still throttled to zero")
	if _, err := client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatalf("DeleteFunctionConcurrency: %v", err)
	}
	// The throttled event is retried with backoff: 1s, 2s, 4s... up to
	// five minutes, so the next try comes at most as long after the
	// restart as the throttle took to lift (or five minutes).
	tap.waitCount(t, ran, 1, 5*time.Minute+waitTimeout, "once the throttle is lifted")
	time.Sleep(time.Second)
	tap.waitCount(t, ran, 1, 0, "a second after the event ran")

	// The finished event is deleted: after a clean stop (which waits for
	// it to be finished) and a restart, it does not run again.
	if code, err := srv.Stop(); err != nil || code != 0 {
		t.Fatalf("stop: status %d, %v", code, err)
	}
	srv.Restart()
	time.Sleep(3 * time.Second)
	tap.waitCount(t, ran, 1, 0, "after a further restart")
}

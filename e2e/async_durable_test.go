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

// heldHandler is a Python function that says it ran in its log (a line
// with its event's token, upper-cased so that only the function writes it,
// and its request ID: lambdahost serve --log-level debug logs every line
// functions log), and fails while its environment says
// HOLD=1: with --async-retry-delays 1h an Event invocation of it fails once
// and then waits, stored and unfinished, for a retry an hour away. Taking
// HOLD away lets the event succeed when it runs again. (Reserved
// concurrency 0 cannot hold an event: Lambda does not run or retry it.)
const heldHandler = `import os

def handler(event, context):
    print("RAN:" + event["token"].upper() + ":" + context.aws_request_id)
    if os.environ.get("HOLD") == "1":
        raise Exception("held")
    return "reported"
`

// TestAsyncEventSurvivesCrash sends an Event invocation whose function
// fails, so that the event waits for a retry an hour away, and lets the
// function succeed from then on. It kills the server with SIGKILL and
// restarts it: the acknowledged, unfinished event runs again at once, with
// its request ID and payload, and succeeds. Once it has, it is gone: a
// further restart does not run it again.
func TestAsyncEventSurvivesCrash(t *testing.T) {
	t.Parallel()
	tap := &logTap{TB: t}
	srv := Start(tap, WithArgs("--log-level", "debug", "--async-retry-delays", "1h"))
	client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	ctx := t.Context()
	name := "async-durable"
	token := fmt.Sprintf("token-%x", time.Now().UnixNano())

	_, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: types.RuntimePython312, Role: aws.String(testRole),
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: makeZip(t, "index.py", heldHandler)},
		Environment: &types.Environment{Variables: map[string]string{"HOLD": "1"}},
		Timeout:     aws.Int32(fnTimeout),
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(client).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, waitTimeout); err != nil {
		t.Fatalf("wait for Active: %v", err)
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
	// The first run failed: the event waits an hour for its retry.
	tap.waitCount(t, ran, 1, waitTimeout, "the first run")
	if _, err := client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), Environment: &types.Environment{Variables: map[string]string{}},
	}); err != nil {
		t.Fatalf("UpdateFunctionConfiguration: %v", err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(client).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, waitTimeout); err != nil {
		t.Fatalf("wait for the update: %v", err)
	}

	srv.Kill()
	srv.Restart()
	// The replayed event runs at once, on the configuration of now.
	tap.waitCount(t, ran, 2, waitTimeout, "after the restart")

	// The finished event is deleted: after a clean stop (which waits for
	// it to be finished) and a restart, it does not run again.
	if code, err := srv.Stop(); err != nil || code != 0 {
		t.Fatalf("stop: status %d, %v", code, err)
	}
	srv.Restart()
	time.Sleep(3 * time.Second)
	tap.waitCount(t, ran, 2, 0, "after a further restart")
}

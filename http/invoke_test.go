package http_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/invoke"
)

// fakeInvoker answers invocations without running anything: it echoes
// what the executor was asked to run, and fails if the payload says so.
type fakeInvoker struct {
	mu     sync.Mutex
	queued []*invoke.Request
}

func (f *fakeInvoker) Invoke(ctx context.Context, req *invoke.Request) (*invoke.Result, error) {
	if strings.Contains(string(req.Payload), "fail") {
		return &invoke.Result{Payload: []byte(`{"errorMessage":"boom","errorType":"Exception"}`), FunctionError: "Unhandled", ErrorType: "Exception"}, nil
	}
	b, _ := json.Marshal(map[string]any{
		"payload": json.RawMessage(req.Payload), "arn": req.Target.InvokedARN, "version": req.Target.ExecutedVersion,
		"request_id": req.RequestID, "client_context": req.ClientContext, "code": req.Target.Version.Code.SHA256(),
	})
	res := &invoke.Result{Payload: b}
	if req.Tail {
		res.Log = []byte("START RequestId: " + req.RequestID + " Version: " + req.Target.ExecutedVersion + "\n")
	}
	return res, nil
}

func (f *fakeInvoker) InvokeAsync(req *invoke.Request) {
	f.mu.Lock()
	f.queued = append(f.queued, req)
	f.mu.Unlock()
}

const invokePath = "/2015-03-31/functions/f/invocations"

// invokeReq sends an Invoke with extra headers.
func invokeReq(path, body string, headers ...string) func(e *env) response {
	return func(e *env) response {
		return e.doWith("POST", path, body, e.creds, e.region, func(r *http.Request) {
			for i := 0; i+1 < len(headers); i += 2 {
				r.Header.Set(headers[i], headers[i+1])
			}
		})
	}
}

func invokeGoldenCases() []goldenCase {
	withVersionAndAlias := func(e *env) {
		withFunction("f")(e)
		e.must("POST", fnPath+"f/versions", "{}")
		e.must("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1"}`)
	}
	return []goldenCase{
		{op: "Invoke", name: "latest", setup: withFunction("f"), req: invokeReq(invokePath, `{"k":"v"}`)},
		{op: "Invoke", name: "empty-payload", setup: withFunction("f"), req: invokeReq(invokePath, ``)},
		{op: "Invoke", name: "tail", setup: withFunction("f"), req: invokeReq(invokePath, `{}`, "X-Amz-Log-Type", "Tail")},
		{op: "Invoke", name: "function-error", setup: withFunction("f"), req: invokeReq(invokePath, `{"fail":true}`)},
		{op: "Invoke", name: "alias", setup: withVersionAndAlias, req: invokeReq(invokePath+"?Qualifier=live", `{}`)},
		{op: "Invoke", name: "version-in-name", setup: withVersionAndAlias, req: invokeReq("/2015-03-31/functions/f:1/invocations", `{}`)},
		{op: "Invoke", name: "client-context", setup: withFunction("f"), req: invokeReq(invokePath, `{}`,
			"X-Amz-Client-Context", base64.StdEncoding.EncodeToString([]byte(`{"custom":{"a":"b"}}`)))},
		{op: "Invoke", name: "event", setup: withFunction("f"), req: invokeReq(invokePath, `{}`, "X-Amz-Invocation-Type", "Event")},
		{op: "Invoke", name: "dry-run", setup: withFunction("f"), req: invokeReq(invokePath, `{}`, "X-Amz-Invocation-Type", "DryRun")},
		{op: "Invoke", name: "not-found", req: invokeReq(invokePath, `{}`)},
		{op: "Invoke", name: "qualifier-not-found", setup: withFunction("f"), req: invokeReq(invokePath+"?Qualifier=7", `{}`)},
		{op: "Invoke", name: "bad-invocation-type", setup: withFunction("f"), req: invokeReq(invokePath, `{}`, "X-Amz-Invocation-Type", "Later")},
		{op: "Invoke", name: "bad-log-type", setup: withFunction("f"), req: invokeReq(invokePath, `{}`, "X-Amz-Log-Type", "All")},
		{op: "Invoke", name: "not-json", setup: withFunction("f"), req: invokeReq(invokePath, `hello`)},
		{op: "Invoke", name: "bad-client-context", setup: withFunction("f"), req: invokeReq(invokePath, `{}`, "X-Amz-Client-Context", "%%%")},
		{op: "Invoke", name: "async-too-large", setup: withFunction("f"), req: invokeReq(invokePath, `"`+strings.Repeat("x", 1<<20)+`"`, "X-Amz-Invocation-Type", "Event")},
		{op: "Invoke", name: "pending", opts: []envOption{withBlockedSettling()}, setup: withFunction("f"), req: invokeReq(invokePath, `{}`)},
		{op: "InvokeWithResponseStream", name: "dry-run", setup: withFunction("f"), req: invokeReq("/2021-11-15/functions/f/response-streaming-invocations", `{}`, "X-Amz-Invocation-Type", "DryRun")},
		{op: "InvokeWithResponseStream", name: "event-refused", setup: withFunction("f"), req: invokeReq("/2021-11-15/functions/f/response-streaming-invocations", `{}`, "X-Amz-Invocation-Type", "Event")},
	}
}

// TestRecursiveLoopStopsInvoke: an Invoke whose trace header has seen the
// function MaxRecursionDepth times already is refused with
// RecursiveInvocationException and counted as dropped; one short of that
// runs, and passes the lineage on counted once more.
func TestRecursiveLoopStopsInvoke(t *testing.T) {
	e := newEnv(t)
	withFunction("f")(e)
	arn := "arn:aws:lambda:us-east-1:000000000000:function:f"
	const root = "Root=1-5f84c7a5-6c9e1b2f3a4d5e6f7a8b9c0d"
	for _, tt := range []struct {
		name    string
		seen    int
		status  int
		dropped int64
	}{
		{"below-the-limit", lambdahost.MaxRecursionDepth - 1, http.StatusOK, 0},
		{"at-the-limit", lambdahost.MaxRecursionDepth, http.StatusBadRequest, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.svc.Metrics.RecursiveInvocationsDropped.Load()
			r := invokeReq(invokePath, `{}`, "X-Amzn-Trace-Id", lambdahost.WithLineage(root, arn, tt.seen))(e)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.status != http.StatusOK && r.Headers["X-Amzn-Errortype"] != "RecursiveInvocationException" {
				t.Errorf("error type %q, want RecursiveInvocationException", r.Headers["X-Amzn-Errortype"])
			}
			if got := e.svc.Metrics.RecursiveInvocationsDropped.Load() - before; got != tt.dropped {
				t.Errorf("RecursiveInvocationsDropped moved by %d, want %d", got, tt.dropped)
			}
		})
	}
}

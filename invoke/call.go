package invoke

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Request is one invocation to run.
type Request struct {
	// Target is what runs: the function, the version and its settings.
	Target Target
	// RequestID is the invocation's AWS request ID.
	RequestID string
	// Payload is the event.
	Payload []byte
	// ClientContext is the decoded JSON of X-Amz-Client-Context, if any.
	ClientContext string
	// TraceID is the X-Ray trace header passed to the runtime.
	TraceID string
	// Tail asks for the last 4 KB of the invocation's log.
	Tail bool
	// Stream, if not nil, receives a response the runtime streams, as it
	// arrives; buffered responses are returned in Result.Payload.
	Stream StreamWriter

	// The fields below are for InvokeAsync only.

	// Queued is when the asynchronous event was first queued: its maximum
	// age counts from it, also when a restart replays it. If zero, the
	// time of InvokeAsync.
	Queued time.Time
	// Refresh, if set, resolves Target again before each retry, so that a
	// retry runs what the function is now: its current reserved
	// concurrency, code and configuration, and an alias's routing drawn
	// again. An error of type ResourceNotFoundException (the function,
	// version or alias was deleted) ends the event; any other error is
	// retried with backoff, as throttling is.
	Refresh func(ctx context.Context) (Target, error)
	// MaxRetries, if set, is how many times a failed run is retried
	// (MaximumRetryAttempts); if nil, once per RetryDelays.
	MaxRetries *int
	// MaxAge, if not zero, is how old the event may grow before it is
	// given up (MaximumEventAgeInSeconds); if zero, the Executor's
	// MaxEventAge.
	MaxAge time.Duration
	// Done, if set, is called once when the asynchronous invocation is
	// finished for good, with how it ended: it succeeded, failed after
	// its retries, expired, was not run for zero reserved concurrency,
	// was dropped for a function that no longer exists, or failed with an
	// error that is not throttling. It is not called if the Executor
	// closes first: the event is then unfinished, to be replayed at the
	// next start. It runs on the invocation's goroutine, which Close
	// waits for.
	Done func(*AsyncOutcome)

	// async marks an invocation that InvokeAsync runs, for metrics.
	async bool
}

// StreamWriter receives a streamed response.
type StreamWriter interface {
	// Write passes on one chunk of the response.
	Write(p []byte) (int, error)
	// Flush sends what was written.
	Flush() error
}

// StreamContentTyper is a StreamWriter that wants to know the Content-Type
// the runtime gave a streamed response (a function URL reads the HTTP
// status and headers from the start of a stream of
// "application/vnd.awslambda.http-integration-response"). The executor
// calls StreamContentType once, before the first Write.
type StreamContentTyper interface {
	StreamContentType(contentType string)
}

// Result is the outcome of an invocation.
type Result struct {
	// Payload is the function's response or error document. Empty if the
	// response was streamed to Request.Stream.
	Payload []byte
	// ContentType is the response's content type as the runtime gave it.
	ContentType string
	// FunctionError is "Unhandled" when the function failed, else "".
	FunctionError string
	// ErrorType classifies a failure ("Runtime.ExitError", the runtime's
	// errorType...), for logs and streamed responses.
	ErrorType string
	// Log is the invocation's log (START through REPORT), trimmed to its
	// last 4 KB, when Request.Tail was set.
	Log []byte
	// Streamed reports that the response went to Request.Stream.
	Streamed bool
}

// outcome is what an environment reports for a call.
type outcome struct {
	payload     []byte
	contentType string
	// errorType is set when the invocation failed.
	errorType string
	// fatal means the environment cannot serve another invocation.
	fatal bool
	// status is the REPORT line's Status ("timeout", "error"), if any.
	status   string
	streamed bool
}

// result is what the caller gets for an invocation that ended with o.
func (o *outcome) result(c *call) *Result {
	res := &Result{Payload: o.payload, ContentType: o.contentType, ErrorType: o.errorType, Log: c.log.bytes(), Streamed: o.streamed}
	if o.errorType != "" {
		res.FunctionError = "Unhandled"
	}
	return res
}

// call is an invocation handed to an environment.
type call struct {
	req      *Request
	deadline time.Time
	result   chan outcome
	once     sync.Once
	// log collects the invocation's log lines.
	log *tail
	// onStart writes the START line, once: when the runtime takes the
	// call, or when the call ends without reaching a runtime.
	onStart   func()
	startOnce sync.Once
}

func (c *call) start() {
	c.startOnce.Do(func() {
		if c.onStart != nil {
			c.onStart()
		}
	})
}

func newCall(req *Request) *call {
	return &call{req: req, result: make(chan outcome, 1), log: newTail(req.Tail)}
}

// finish reports o, unless the call was already finished.
func (c *call) finish(o outcome) bool {
	done := false
	c.once.Do(func() {
		c.result <- o
		done = true
	})
	return done
}

// errorDoc is a platform-generated error document, shaped as the runtimes'
// own: {"errorMessage", "errorType"}.
func errorDoc(errorType, format string, args ...any) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{fmt.Sprintf(format, args...), errorType})
	return b
}

// Error types Lambda reports for failures outside the handler.
const (
	errTimedOut         = "Sandbox.Timedout"
	errExit             = "Runtime.ExitError"
	errOutOfMemory      = "Runtime.OutOfMemory"
	errResponseTooLarge = "Function.ResponseSizeTooLarge"
	errUnknown          = "Runtime.Unknown"
	errInvalidMode      = "Runtime.InvalidResponseModeHeader"
	errTruncated        = "Runtime.TruncatedResponse"
)

func timedOut(c *call, timeout time.Duration) outcome {
	return outcome{
		payload:   errorDoc(errTimedOut, "RequestId: %s Error: Task timed out after %.2f seconds", c.req.RequestID, timeout.Seconds()),
		errorType: errTimedOut, fatal: true, status: "timeout",
	}
}

package invoke

import (
	"errors"
	"log/slog"
	"time"

	"github.com/lambdahost/lambdahost"
)

// maxThrottleBackoff bounds the wait between tries of a throttled
// asynchronous event.
const maxThrottleBackoff = 5 * time.Minute

// InvokeAsync queues req and returns at once. The invocation runs in the
// background; if the function fails it is retried after each of
// RetryDelays, and while it is throttled (or req.Refresh fails) it is
// retried with backoff until it is MaxEventAge old. The queue is in
// memory: a caller that must not lose events stores them first, deletes
// them in req.Done, and queues those left at the next start again.
func (x *Executor) InvokeAsync(req *Request) {
	x.init()
	req.Tail, req.Stream, req.ClientContext = false, nil, ""
	req.async = true
	if req.Queued.IsZero() {
		req.Queued = time.Now()
	}
	x.mu.Lock()
	x.queued[req] = req.Queued
	x.mu.Unlock()
	x.bg.Add(1)
	go func() {
		defer x.bg.Done()
		defer func() {
			x.mu.Lock()
			delete(x.queued, req)
			x.mu.Unlock()
		}()
		if x.runAsync(req) && req.Done != nil {
			req.Done()
		}
	}()
}

// asyncRun is the state of one asynchronous event's tries.
type asyncRun struct {
	req *Request
	log *slog.Logger
	// failures counts the function's failures, against RetryDelays.
	failures int
	// backoff is the next wait after throttling.
	backoff time.Duration
}

// runAsync runs req, with its retries, and reports whether it is finished
// for good. It reports false when the executor closes first. A failure
// once Close has begun may be Close's doing (it kills environments), so it
// does not finish an event either: the event runs again after a restart.
func (x *Executor) runAsync(req *Request) bool {
	r := &asyncRun{
		req:     req,
		log:     x.Logger.With(lambdahost.LogKeyFunction, req.Target.InvokedARN, lambdahost.LogKeyRequestID, req.RequestID),
		backoff: time.Second,
	}
	for try := 0; ; try++ {
		if time.Since(req.Queued) > x.MaxEventAge {
			// An event replayed after a long outage.
			r.log.Warn("asynchronous event dropped: maximum age reached")
			return true
		}
		wait, finished := x.tryAsync(r, try > 0)
		if finished {
			return true
		}
		if x.closing() {
			r.log.Info("asynchronous event left unfinished: shutting down")
			return false
		}
		if time.Since(req.Queued)+wait > x.MaxEventAge {
			r.log.Warn("asynchronous event dropped: maximum age reached", "tries", try+1)
			return true
		}
		select {
		case <-time.After(wait):
		case <-x.ctx.Done():
			r.log.Info("asynchronous event left unfinished: shutting down")
			return false
		}
	}
}

// tryAsync makes one try of r's event, resolving its target again first
// if this is a retry. It reports whether the event is finished, or else the
// wait before the next try.
func (x *Executor) tryAsync(r *asyncRun, retry bool) (wait time.Duration, finished bool) {
	if retry && r.req.Refresh != nil {
		t, err := r.req.Refresh(x.ctx)
		switch {
		case err == nil:
			r.req.Target = t
		case x.closing():
			return 0, false
		case lambdahost.ErrorTypeOf(err) == lambdahost.ResourceNotFoundException:
			r.log.Warn("asynchronous event dropped: its function no longer exists", lambdahost.LogKeyError, err)
			return 0, true
		default:
			r.log.Debug("asynchronous event waits: its function cannot run now", lambdahost.LogKeyError, err)
			return r.throttled(), false
		}
	}
	res, err := x.Invoke(x.ctx, r.req)
	switch {
	case err != nil:
		if x.closing() {
			return 0, false
		}
		var apiErr *lambdahost.Error
		if !errors.As(err, &apiErr) || apiErr.Type != lambdahost.TooManyRequestsException {
			r.log.Warn("asynchronous invocation failed", lambdahost.LogKeyError, err)
			return 0, true
		}
		return r.throttled(), false
	case res.FunctionError != "":
		if x.closing() {
			return 0, false
		}
		if r.failures >= len(x.RetryDelays) {
			r.log.Warn("asynchronous invocation failed after retries", "error_type", res.ErrorType, "attempts", r.failures+1)
			return 0, true
		}
		r.failures++
		return x.RetryDelays[r.failures-1], false
	}
	return 0, true
}

// throttled returns the wait before the next try of an event that could
// not run, doubling the next one.
func (r *asyncRun) throttled() time.Duration {
	wait := r.backoff
	r.backoff = min(2*r.backoff, maxThrottleBackoff)
	return wait
}

// closing reports whether Close has begun.
func (x *Executor) closing() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.closed
}

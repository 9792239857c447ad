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

// Conditions of an asynchronous invocation's end, as Lambda names them in
// the records it sends to destinations (requestContext.condition).
const (
	ConditionSuccess          = "Success"
	ConditionRetriesExhausted = "RetriesExhausted"
	ConditionEventAgeExceeded = "EventAgeExceeded"
	// ConditionZeroReservedConcurrency: the function reserves no
	// concurrency at all, so the event is not run, nor retried.
	ConditionZeroReservedConcurrency = "ZeroReservedConcurrency"
)

// AsyncOutcome is how an asynchronous invocation ended for good.
type AsyncOutcome struct {
	// Condition is one of the Condition constants, or "" when the event
	// was dropped without a record: its function, version or alias no
	// longer exists.
	Condition string
	// Attempts is how many times the function was run.
	Attempts int
	// Result is the last run's result, nil if it never ran.
	Result *Result
	// Err is the error of the last try when it was not the function's
	// (an unavailable runtime, a KMS key that cannot be used), after
	// which the event is not tried again.
	Err error
	// Target is what the last try ran, or would have run.
	Target Target
}

// InvokeAsync queues req and returns at once. The invocation runs in the
// background; if the function fails it is retried after each of
// RetryDelays (req.MaxRetries times, if set), and while it is throttled
// (or req.Refresh fails) it is retried with backoff, as long as it is
// younger than its maximum age. A function whose reserved concurrency is
// zero does not run it at all. The queue is in memory: a caller that must
// not lose events stores them first, deletes them in req.Done, and queues
// those left at the next start again.
func (x *Executor) InvokeAsync(req *Request) {
	x.init()
	req.Tail, req.Stream, req.ClientContext = false, nil, ""
	req.async = true
	if req.Queued.IsZero() {
		req.Queued = x.now()
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
		if out := x.runAsync(req); out != nil && req.Done != nil {
			req.Done(out)
		}
	}()
}

// asyncRun is the state of one asynchronous event's tries.
type asyncRun struct {
	req *Request
	log *slog.Logger
	out AsyncOutcome
	// retries is how many times a failed run is retried.
	retries int
	// maxAge is how old the event may grow.
	maxAge time.Duration
	// backoff is the next wait after throttling.
	backoff time.Duration
}

// now returns the executor's clock.
func (x *Executor) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

// retryDelay returns the wait before retry i (from 0).
func (x *Executor) retryDelay(i int) time.Duration {
	if len(x.RetryDelays) == 0 {
		return 0
	}
	return x.RetryDelays[min(i, len(x.RetryDelays)-1)]
}

// runAsync runs req, with its retries, and returns how it ended for good.
// It returns nil when the executor closes first. A failure once Close has
// begun may be Close's doing (it kills environments), so it does not
// finish an event either: the event runs again after a restart.
func (x *Executor) runAsync(req *Request) *AsyncOutcome {
	r := &asyncRun{
		req:     req,
		log:     x.Logger.With(lambdahost.LogKeyFunction, req.Target.InvokedARN, lambdahost.LogKeyRequestID, req.RequestID),
		retries: len(x.RetryDelays),
		maxAge:  x.MaxEventAge,
		backoff: time.Second,
	}
	r.out.Target = req.Target
	if req.MaxRetries != nil {
		r.retries = *req.MaxRetries
	}
	if req.MaxAge > 0 {
		r.maxAge = req.MaxAge
	}
	for try := 0; ; try++ {
		if x.now().Sub(req.Queued) > r.maxAge {
			// An event replayed after a long outage.
			r.log.Warn("asynchronous event expired: maximum event age reached", "attempts", r.out.Attempts)
			r.out.Condition = ConditionEventAgeExceeded
			return &r.out
		}
		wait, finished := x.tryAsync(r, try > 0)
		if finished {
			return &r.out
		}
		if x.closing() {
			r.log.Info("asynchronous event left unfinished: shutting down")
			return nil
		}
		if x.now().Add(wait).Sub(req.Queued) > r.maxAge {
			// The next try would come too late: the event ends now, as on
			// AWS, which does not wait for an event to expire.
			r.log.Warn("asynchronous event expired: its next try would pass the maximum event age", "attempts", r.out.Attempts)
			r.out.Condition = ConditionEventAgeExceeded
			return &r.out
		}
		select {
		case <-time.After(wait):
		case <-x.ctx.Done():
			r.log.Info("asynchronous event left unfinished: shutting down")
			return nil
		}
	}
}

// tryAsync makes one try of r's event, resolving its target again first
// if this is a retry. It reports whether the event is finished (r.out
// says how), or else the wait before the next try.
func (x *Executor) tryAsync(r *asyncRun, retry bool) (wait time.Duration, finished bool) {
	if retry && r.req.Refresh != nil {
		t, err := r.req.Refresh(x.ctx)
		switch {
		case err == nil:
			r.req.Target = t
			r.out.Target = t
		case x.closing():
			return 0, false
		case lambdahost.ErrorTypeOf(err) == lambdahost.ResourceNotFoundException:
			r.log.Warn("asynchronous event dropped: its function no longer exists", lambdahost.LogKeyError, err)
			r.out.Condition = ""
			return 0, true
		default:
			r.log.Debug("asynchronous event waits: its function cannot run now", lambdahost.LogKeyError, err)
			return r.throttled(), false
		}
	}
	if rc := r.req.Target.ReservedConcurrency; rc != nil && *rc == 0 {
		r.log.Warn("asynchronous event not run: the function's reserved concurrency is zero", "attempts", r.out.Attempts)
		r.out.Condition = ConditionZeroReservedConcurrency
		return 0, true
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
			r.out.Condition, r.out.Err = ConditionRetriesExhausted, err
			return 0, true
		}
		return r.throttled(), false
	case res.FunctionError != "":
		if x.closing() {
			return 0, false
		}
		r.out.Attempts++
		r.out.Result = res
		if r.out.Attempts > r.retries {
			r.log.Warn("asynchronous invocation failed after retries", "error_type", res.ErrorType, "attempts", r.out.Attempts)
			r.out.Condition = ConditionRetriesExhausted
			return 0, true
		}
		return x.retryDelay(r.out.Attempts - 1), false
	}
	r.out.Attempts++
	r.out.Result = res
	r.out.Condition = ConditionSuccess
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

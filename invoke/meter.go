package invoke

import (
	"errors"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// What the executor measures for an operator's metrics: every invocation
// with its type and outcome, cold starts, throttles (Meter), and the
// gauges read when metrics are collected (Environments, AsyncQueue).

func (x *Executor) meter() lambdahost.Meter { return lambdahost.MeterOr(x.Meter) }

// meterInvocation reports an invocation of req that ended with res or
// err after elapsed.
func (x *Executor) meterInvocation(req *Request, res *Result, err error, elapsed time.Duration) {
	kind := "RequestResponse"
	if req.async {
		kind = "Event"
	}
	fn := req.Target.Function
	outcome := outcomeOf(res, err)
	if outcome == lambdahost.OutcomeThrottled {
		var e *lambdahost.Error
		errors.As(err, &e)
		x.meter().Throttled(fn, e.Reason)
	}
	x.meter().Invoked(fn, kind, outcome, elapsed)
}

// outcomeOf classifies an invocation's end (see lambdahost.Outcome*).
func outcomeOf(res *Result, err error) string {
	if err != nil {
		if lambdahost.ErrorTypeOf(err) == lambdahost.TooManyRequestsException {
			return lambdahost.OutcomeThrottled
		}
		return lambdahost.OutcomeError
	}
	switch {
	case res.FunctionError == "":
		return lambdahost.OutcomeSuccess
	case res.ErrorType == errTimedOut:
		return lambdahost.OutcomeTimeout
	case strings.HasPrefix(res.ErrorType, "Runtime."):
		return lambdahost.OutcomeRuntimeError
	}
	return lambdahost.OutcomeFunctionError
}

// Environments returns how many execution environments this executor
// has: idle ones (warm, waiting for an invocation) and busy ones
// (starting, or running an invocation).
func (x *Executor) Environments() (idle, busy int) {
	x.init()
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range x.slots {
		idle += len(p.idle)
	}
	return idle, max(len(x.live)-idle, 0)
}

// AsyncQueue returns how many asynchronous events this executor holds
// (running, or waiting for a try) and when the oldest was first queued
// (zero if none).
func (x *Executor) AsyncQueue() (depth int, oldest time.Time) {
	x.init()
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, queued := range x.queued {
		if oldest.IsZero() || queued.Before(oldest) {
			oldest = queued
		}
	}
	return len(x.queued), oldest
}

package invoke

import (
	"errors"
	"time"

	"github.com/lambdahost/lambdahost"
)

// InvokeAsync queues req and returns at once. The invocation runs in the
// background; if the function fails it is retried after each of
// RetryDelays, and while it is throttled it is retried with backoff for up
// to MaxEventAge. Queued events live in memory: a restart drops them.
func (x *Executor) InvokeAsync(req *Request) {
	x.init()
	req.Tail, req.Stream, req.ClientContext = false, nil, ""
	x.bg.Add(1)
	go func() {
		defer x.bg.Done()
		x.runAsync(req)
	}()
}

func (x *Executor) runAsync(req *Request) {
	log := x.Logger.With(lambdahost.LogKeyFunction, req.Target.InvokedARN, lambdahost.LogKeyRequestID, req.RequestID)
	queued := time.Now()
	backoff := time.Second
	for attempt := 0; ; {
		res, err := x.Invoke(x.ctx, req)
		var wait time.Duration
		switch {
		case err != nil:
			var apiErr *lambdahost.Error
			if !errors.As(err, &apiErr) || apiErr.Type != lambdahost.TooManyRequestsException {
				log.Warn("asynchronous invocation failed", lambdahost.LogKeyError, err)
				return
			}
			wait, backoff = backoff, min(2*backoff, 5*time.Minute)
			if time.Since(queued)+wait > x.MaxEventAge {
				log.Warn("asynchronous event dropped: throttled until its maximum age")
				return
			}
		case res.FunctionError != "":
			if attempt >= len(x.RetryDelays) {
				log.Warn("asynchronous invocation failed after retries", "error_type", res.ErrorType, "attempts", attempt+1)
				return
			}
			wait = x.RetryDelays[attempt]
			attempt++
			if time.Since(queued)+wait > x.MaxEventAge {
				log.Warn("asynchronous event dropped: maximum age reached")
				return
			}
		default:
			return
		}
		select {
		case <-time.After(wait):
		case <-x.ctx.Done():
			log.Warn("asynchronous event dropped: shutting down")
			return
		}
	}
}

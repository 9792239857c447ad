package invoke

import (
	"context"
	"fmt"
	"time"

	"github.com/lambdahost/lambdahost"
)

// admitShared counts an invocation under key with the Concurrency limiter,
// which counts those of every process.
func (x *Executor) admitShared(ctx context.Context, key string, limit int, reason string) (func(), error) {
	ok, err := x.Concurrency.Acquire(ctx, key, limit)
	if err != nil {
		e := lambdahost.Errorf(lambdahost.ServiceException, "An internal error occurred.")
		e.Err = fmt.Errorf("count concurrency: %w", err)
		return nil, e
	}
	if !ok {
		return nil, throttled(reason)
	}
	return func() {
		// The invocation is over even if its caller went away.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := x.Concurrency.Release(rctx, key); err != nil {
			// It counts until this node's registration ends.
			x.Logger.Warn("release concurrency", "key", key, lambdahost.LogKeyError, err)
		}
	}, nil
}

// Sync drains the pools of function fn that no longer match the store:
// all of them if the function is gone (versions is nil) or is another
// function of the same name now (created differs), else those of versions
// that are gone or whose code or configuration changed. Idle environments
// stop now, busy ones when they finish. Another process changed fn: Sync
// stops the old environments now rather than when they idle out; the next
// invocation resolves the new version anyway.
func (x *Executor) Sync(fn lambdahost.FunctionID, created time.Time, versions []*lambdahost.Version) {
	x.init()
	want := map[string]string{}
	for _, v := range versions {
		t := Target{Function: fn, Generation: created, Version: v, ExecutedVersion: v.Name}
		want[slotOf(t)] = hashOf(t)
	}
	var doomed []*env
	x.mu.Lock()
	for slot, p := range x.slots {
		if p.fn != fn {
			continue
		}
		if h, ok := want[slot]; !ok || h != p.hash {
			doomed = append(doomed, x.drainLocked(p)...)
		}
	}
	x.mu.Unlock()
	killAll(doomed)
}

// Functions returns the functions that have environments, for a caller
// that lost track of what changed to Sync them all.
func (x *Executor) Functions() []lambdahost.FunctionID {
	x.init()
	seen := map[lambdahost.FunctionID]bool{}
	var out []lambdahost.FunctionID
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range x.slots {
		if !seen[p.fn] {
			seen[p.fn] = true
			out = append(out, p.fn)
		}
	}
	return out
}

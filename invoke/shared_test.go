package invoke_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/invoke"
)

// TestSync checks that Sync drains exactly the pools that no longer match
// what the store holds: a drained pool starts a new environment at the
// next invocation, a kept one reuses its warm environment.
func TestSync(t *testing.T) {
	f := newFixture(t)
	a := target(t, "A")
	same := *a.Version
	changed := *a.Version
	changed.Config.MemorySize = 256
	published := *a.Version
	published.Name = "1"
	tests := []struct {
		name     string
		created  time.Time
		versions []*lambdahost.Version
		drained  bool
	}{
		{name: "unchanged", versions: []*lambdahost.Version{&same, &published}},
		{name: "config-changed", versions: []*lambdahost.Version{&changed}, drained: true},
		{name: "version-gone", versions: []*lambdahost.Version{&published}, drained: true},
		{name: "function-gone", drained: true},
		{name: "created-again", created: time.Unix(1, 0), versions: []*lambdahost.Version{&same}, drained: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decode(t, call(t, f.x, a, `{}`)) // warm
			if fns := f.x.Functions(); !slices.Contains(fns, a.Function) {
				t.Errorf("Functions = %v, want %v among them", fns, a.Function)
			}
			// Another function's change drains nothing of this one's.
			f.x.Sync(lambdahost.FunctionID{Account: a.Function.Account, Region: a.Function.Region, Name: "other"}, time.Time{}, nil)
			f.x.Sync(a.Function, tt.created, tt.versions)
			n := f.launcher.count()
			decode(t, call(t, f.x, a, `{}`))
			if got := f.launcher.count() - n; got != map[bool]int{false: 0, true: 1}[tt.drained] {
				t.Errorf("invocation after Sync launched %d environments (drained = %v)", got, tt.drained)
			}
		})
	}
}

// countingLimiter is a Limiter that allows limit at once and records keys.
type countingLimiter struct {
	mu       sync.Mutex
	inflight map[string]int
	keys     []string
	err      error
}

func (l *countingLimiter) Acquire(ctx context.Context, key string, limit int) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return false, l.err
	}
	l.keys = append(l.keys, key)
	if l.inflight[key] >= limit {
		return false, nil
	}
	l.inflight[key]++
	return true, nil
}

func (l *countingLimiter) Release(ctx context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight[key]--
	return nil
}

// TestSharedConcurrency checks that an Executor with a Limiter asks it,
// with the key and limit of the function or the account, and releases
// what it acquired.
func TestSharedConcurrency(t *testing.T) {
	f := newFixture(t)
	l := &countingLimiter{inflight: map[string]int{}}
	f.x.Concurrency = l
	tg := target(t, "A")
	decode(t, call(t, f.x, tg, `{}`))
	one := 1
	tg.ReservedConcurrency = &one
	l.inflight["fn:"+tg.Function.ARN()] = 1 // another node runs one
	_, err := f.x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: "r", Payload: []byte("{}")})
	var apiErr *lambdahost.Error
	if !errors.As(err, &apiErr) || apiErr.Type != lambdahost.TooManyRequestsException || apiErr.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Fatalf("invocation over the shared limit: err = %v, want throttled", err)
	}
	l.inflight["fn:"+tg.Function.ARN()] = 0
	decode(t, call(t, f.x, tg, `{}`))
	want := []string{"acct:000000000000:us-east-1", "fn:" + tg.Function.ARN(), "fn:" + tg.Function.ARN()}
	if !slices.Equal(l.keys, want) {
		t.Errorf("keys = %v, want %v", l.keys, want)
	}
	for k, n := range l.inflight {
		if n != 0 {
			t.Errorf("%s: %d in flight after the invocations ended", k, n)
		}
	}
	l.err = errors.New("database down")
	if _, err := f.x.Invoke(context.Background(), &invoke.Request{Target: tg, RequestID: "r", Payload: []byte("{}")}); lambdahost.ErrorTypeOf(err) != lambdahost.ServiceException {
		t.Errorf("invocation when the limiter fails: err = %v, want ServiceException", err)
	}
}

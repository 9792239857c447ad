package control

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// The mapping runner: every node looks at every mapping regularly (and at
// once when this node changes one), claims through the store the
// mappings that no live node polls (claim kind claimESM), polls what it
// holds, moves their states on (Creating,
// Enabling, Updating → Enabled; Disabling → Disabled) and stops polling
// what was disabled, changed or deleted. A node that dies leaves its
// claims to the others, which take them within its TTL and one round.

// Runner runs the invocations of event source mappings. http.Server
// implements it over the executor.
type Runner interface {
	// Run invokes inv synchronously with payload, under a new request ID,
	// with trace as its X-Ray header (a new one if empty).
	Run(ctx context.Context, inv *Invocation, payload []byte, trace string) (*RunResult, error)
}

// RunResult is the outcome of an invocation for an event source mapping.
type RunResult struct {
	Payload []byte
	// FunctionError is "Unhandled" when the function failed.
	FunctionError string
}

// Claim kinds of the runner.
const (
	// claimESM: key uuid. The node that holds a mapping polls its queue,
	// or every shard of its stream.
	claimESM = "event-source-mapping"
)

// DefaultESMInterval is how often a node looks at every mapping.
const DefaultESMInterval = time.Second

// poller is one running poll loop: a queue's mapping or a stream's shard.
type poller struct {
	generation string
	// lag is how far behind its source the poller is.
	lag    *mappingLag
	cancel context.CancelFunc
	done   chan struct{}
}

// runner is the state of this node's mapping runner.
type runner struct {
	mu      sync.Mutex
	pollers map[string]*poller // by claim key
	// wake asks for a round at once (esmChanged).
	wake chan struct{}
}

// esmChanged asks this node's runner to look at the mappings now.
func (s *Service) esmChanged() {
	select {
	case s.esm.wake <- struct{}{}:
	default:
	}
}

// esmLoop runs mappings until ctx is done, then stops every poller.
func (s *Service) esmLoop(ctx context.Context) {
	defer s.stopAllPollers()
	t := time.NewTicker(s.ESMInterval)
	defer t.Stop()
	for {
		if err := s.esmRound(ctx); err != nil && ctx.Err() == nil {
			s.Logger.WarnContext(ctx, "event source mappings", lambdahost.LogKeyError, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.esm.wake:
		}
	}
}

// esmRound is one look at every mapping.
func (s *Service) esmRound(ctx context.Context) error {
	ms, err := s.allMappings(ctx)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, m := range ms {
		if !m.active() {
			continue
		}
		want[m.UUID] = true
		var poll func(context.Context, *mappingLag)
		switch m.Source {
		case SourceSQS:
			poll = func(pctx context.Context, lag *mappingLag) { s.pollQueue(pctx, m, lag) }
		case SourceKinesis:
			poll = func(pctx context.Context, lag *mappingLag) { s.pollStream(pctx, m, lag) }
		default:
			continue
		}
		if s.runPoller(ctx, claimESM, m.UUID, m, poll) && m.State != ESMEnabled {
			s.setState(ctx, m, ESMEnabled)
		}
	}
	// Stop what was disabled, changed into something else, or deleted.
	s.esm.mu.Lock()
	var stale []string
	for key := range s.esm.pollers {
		if !want[key] {
			stale = append(stale, key)
		}
	}
	s.esm.mu.Unlock()
	for _, key := range stale {
		s.stopPoller(ctx, key)
	}
	// A disabled mapping is Disabled once no live node polls it: the node
	// that can claim it says so.
	for _, m := range ms {
		if m.active() || m.State == ESMDisabled || m.State == ESMDeleting {
			continue
		}
		won := false
		if err := s.store.Update(ctx, func(tx lambdahost.Tx) (err error) {
			won, err = tx.Claim(ctx, claimESM, m.UUID, s.Node)
			return err
		}); err != nil || !won {
			continue
		}
		s.setState(ctx, m, ESMDisabled)
		if err := s.store.Update(ctx, func(tx lambdahost.Tx) error { return tx.Unclaim(ctx, claimESM, m.UUID, s.Node) }); err != nil {
			s.Logger.WarnContext(ctx, "release event source mapping", "mapping", m.UUID, lambdahost.LogKeyError, err)
		}
	}
	return nil
}

// runPoller makes sure this node polls key for mapping m, if it holds
// key or can claim it, and reports whether it does. A poller of an older
// generation of m is stopped and started again.
func (s *Service) runPoller(ctx context.Context, kind, key string, m *EventSourceMapping, poll func(context.Context, *mappingLag)) bool {
	s.esm.mu.Lock()
	p := s.esm.pollers[key]
	s.esm.mu.Unlock()
	if p != nil && p.generation == m.Generation {
		return true
	}
	if p != nil {
		s.stopPoller(ctx, key) // restarts below with the new settings
	}
	won := false
	err := s.store.Update(ctx, func(tx lambdahost.Tx) (err error) {
		won, err = tx.Claim(ctx, kind, key, s.Node)
		return err
	})
	if err != nil {
		s.Logger.WarnContext(ctx, "claim event source", "key", key, lambdahost.LogKeyError, err)
		return false
	}
	if !won {
		return false
	}
	pctx, cancel := context.WithCancel(s.ctx)
	np := &poller{generation: m.Generation, lag: newMappingLag(m), cancel: cancel, done: make(chan struct{})}
	s.esm.mu.Lock()
	s.esm.pollers[key] = np
	s.esm.mu.Unlock()
	s.Logger.InfoContext(ctx, "polling event source", "mapping", m.UUID, "source", m.EventSourceARN, "key", key, lambdahost.LogKeyFunction, m.FunctionARN)
	go func() {
		defer close(np.done)
		poll(pctx, np.lag)
	}()
	return true
}

// stopPoller stops the poller of key, waits until its batch in flight is
// done, and releases its claim.
func (s *Service) stopPoller(ctx context.Context, key string) {
	s.esm.mu.Lock()
	p := s.esm.pollers[key]
	delete(s.esm.pollers, key)
	s.esm.mu.Unlock()
	if p == nil {
		return
	}
	p.cancel()
	<-p.done
	uctx := context.WithoutCancel(ctx)
	err := s.store.Update(uctx, func(tx lambdahost.Tx) error { return tx.Unclaim(uctx, claimESM, key, s.Node) })
	if err != nil {
		s.Logger.WarnContext(ctx, "release event source", "key", key, lambdahost.LogKeyError, err)
	}
}

// stopAllPollers stops every poller of this node, as it shuts down.
func (s *Service) stopAllPollers() {
	s.esm.mu.Lock()
	keys := make([]string, 0, len(s.esm.pollers))
	for k := range s.esm.pollers {
		keys = append(keys, k)
	}
	s.esm.mu.Unlock()
	for _, k := range keys {
		s.stopPoller(context.Background(), k)
	}
}

// setState moves mapping m to state if it is still the generation m is.
func (s *Service) setState(ctx context.Context, m *EventSourceMapping, state string) {
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		cur, err := getRecord[EventSourceMapping](ctx, tx, kindESM, m.key())
		if errors.Is(err, lambdahost.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Generation != m.Generation || cur.State == state {
			return nil
		}
		cur.State = state
		return putRecord(ctx, tx, kindESM, cur.key(), cur)
	})
	if err != nil && ctx.Err() == nil {
		s.Logger.WarnContext(ctx, "set event source mapping state", "mapping", m.UUID, "state", state, lambdahost.LogKeyError, err)
	}
}

// setResult records a stream mapping's LastProcessingResult, if it changed.
func (s *Service) setResult(ctx context.Context, m *EventSourceMapping, result string) {
	if m.LastProcessingResult == result {
		return
	}
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		cur, err := getRecord[EventSourceMapping](ctx, tx, kindESM, m.key())
		if errors.Is(err, lambdahost.ErrNotFound) {
			return nil
		}
		if err != nil || cur.LastProcessingResult == result {
			return err
		}
		cur.LastProcessingResult = result
		return putRecord(ctx, tx, kindESM, cur.key(), cur)
	})
	if err == nil {
		m.LastProcessingResult = result
	}
}

// sleep waits d, or less if ctx is done, and reports whether ctx is still
// live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// mappingInvocation resolves what mapping m invokes now. A function that
// no longer exists (AWS keeps the mapping) is waited for, with the log
// saying so once.
func (s *Service) mappingInvocation(ctx context.Context, m *EventSourceMapping, warned *bool) (*Invocation, bool) {
	for {
		inv, err := s.resolveInvocation(ctx, m.Function, m.Qualifier)
		if err == nil {
			*warned = false
			return inv, true
		}
		if ctx.Err() != nil {
			return nil, false
		}
		if !*warned {
			s.Logger.WarnContext(ctx, "event source mapping waits: its function cannot run", "mapping", m.UUID, lambdahost.LogKeyFunction, m.FunctionARN, lambdahost.LogKeyError, err)
			*warned = true
			if m.Stream() {
				s.setResult(ctx, m, "PROBLEM: Function call failed")
			}
		}
		if !sleep(ctx, 5*time.Second) {
			return nil, false
		}
	}
}

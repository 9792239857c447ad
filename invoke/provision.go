package invoke

import (
	"errors"
	"fmt"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Provisioned concurrency: environments started and initialised ahead of
// any invocation (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency),
// kept however long they idle, and taken first by invocations of their
// version with the same code and configuration. Each set of them belongs
// to a key (a version's or alias's provisioned concurrency config) and is
// its own pool, outside the slots of on-demand environments.

// InitTypeProvisioned is AWS_LAMBDA_INITIALIZATION_TYPE of provisioned
// environments.
const InitTypeProvisioned = "provisioned-concurrency"

// ErrInitFailed is what a provisioned set reports when its function's
// initialisation failed (AWS: FUNCTION_ERROR_INIT_FAILURE).
var ErrInitFailed = errors.New("function initialization failed")

// provSet is the provisioned environments of one key.
type provSet struct {
	pool   *pool
	target Target
	want   int
	// starting counts the environments being started and initialised.
	starting int
	// failed is set once an initialisation failed: no more are started.
	failed error
}

// ProvisionStatus is how far a key's provisioned environments are.
type ProvisionStatus struct {
	// Ready counts the environments initialised, idle or busy.
	Ready int
	// Err is ErrInitFailed (wrapped) if initialisation failed.
	Err error
}

// Provision keeps n environments of t initialised under key, starting or
// stopping environments in the background to get there, and answers how
// far it is. A new t (another version, or code or configuration) replaces
// the key's environments; n 0 stops them all. Once an initialisation has
// failed, no more are started until the key's target changes or it is
// provisioned again after 0.
func (x *Executor) Provision(key string, t Target, n int) ProvisionStatus {
	x.init()
	t.InitType = InitTypeProvisioned
	var doomed []*env
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return ProvisionStatus{}
	}
	ps := x.provs[key]
	if ps != nil && (n == 0 || ps.pool.slot != slotOf(t) || ps.pool.hash != hashOf(t)) {
		doomed = x.drainLocked(ps.pool)
		delete(x.provs, key)
		ps = nil
	}
	if n == 0 {
		x.mu.Unlock()
		killAll(doomed)
		return ProvisionStatus{}
	}
	if ps == nil {
		ps = &provSet{target: t, pool: &pool{fn: t.Function, slot: slotOf(t), hash: hashOf(t), memoryMB: memoryOf(t.Version), provisioned: true}}
		x.provs[key] = ps
	}
	ps.want = n
	// Too many: stop idle ones.
	for ps.pool.live > n && len(ps.pool.idle) > 0 {
		e := ps.pool.idle[len(ps.pool.idle)-1]
		ps.pool.idle = ps.pool.idle[:len(ps.pool.idle)-1]
		x.dropLocked(ps.pool, e)
		doomed = append(doomed, e)
	}
	start := 0
	if ps.failed == nil {
		start = n - ps.pool.live
	}
	for range max(start, 0) {
		if !x.reserveLocked(ps.pool) {
			break
		}
		ps.starting++
		x.bg.Add(1)
		go func() {
			defer x.bg.Done()
			x.startProvisioned(key, ps)
		}()
	}
	st := ProvisionStatus{Ready: ps.pool.live - ps.starting, Err: ps.failed}
	x.mu.Unlock()
	killAll(doomed)
	return st
}

// reserveLocked counts one more environment of p against the memory
// budget, stopping idle on-demand environments to make room. It reports
// false when there is no room.
func (x *Executor) reserveLocked(p *pool) bool {
	for x.memUsed+p.memoryMB > x.MemoryBudgetMB && x.memUsed > 0 {
		victim := x.oldestIdleLocked()
		if victim == nil {
			return false
		}
		go victim.kill()
	}
	p.live++
	x.memUsed += p.memoryMB
	return true
}

// startProvisioned starts one environment of ps and waits until its
// runtime is initialised (asks for its first invocation), then makes it
// idle in ps's pool.
func (x *Executor) startProvisioned(key string, ps *provSet) {
	log := x.Logger.With(lambdahost.LogKeyFunction, ps.target.InvokedARN, "provisioned", key)
	e, err := x.start(x.ctx, ps.pool, ps.target)
	if err == nil {
		err = x.awaitReady(e)
	}
	x.mu.Lock()
	ps.starting--
	switch {
	case err == nil && !x.closed && !ps.pool.draining:
		e.cold = false
		e.idleSince = time.Now()
		x.live[e] = struct{}{}
		ps.pool.idle = append(ps.pool.idle, e)
		x.freedLocked()
		x.mu.Unlock()
		log.Debug("provisioned environment ready", "env", e.id)
		return
	case err != nil && !x.closed && x.provs[key] == ps:
		ps.failed = err
		log.Warn("provisioned environment failed to initialize", lambdahost.LogKeyError, err)
	}
	x.dropLocked(ps.pool, nil)
	x.mu.Unlock()
	if e != nil {
		e.kill()
	}
}

// awaitReady waits until e's runtime asks for its first invocation. It
// answers an error wrapping ErrInitFailed if the runtime reports an init
// error, exits or does not get there in InitTimeout.
func (x *Executor) awaitReady(e *env) error {
	timer := time.NewTimer(x.InitTimeout)
	defer timer.Stop()
	select {
	case <-e.ready:
		return nil
	case <-e.initFailed:
		return fmt.Errorf("%w: %s: %s", ErrInitFailed, e.initType, e.initDoc)
	case <-e.proc.Done():
		return fmt.Errorf("%w: the runtime exited: %s", ErrInitFailed, e.proc.Exit())
	case <-timer.C:
		return fmt.Errorf("%w: the runtime did not start within %v", ErrInitFailed, x.InitTimeout)
	case <-x.ctx.Done():
		return x.ctx.Err()
	}
}

// takeProvisionedLocked takes an idle provisioned environment that can
// run t, if there is one.
func (x *Executor) takeProvisionedLocked(t Target) *env {
	slot, hash := slotOf(t), hashOf(t)
	for _, ps := range x.provs {
		p := ps.pool
		if p.slot != slot || p.hash != hash {
			continue
		}
		for n := len(p.idle); n > 0; n = len(p.idle) {
			e := p.idle[n-1]
			p.idle = p.idle[:n-1]
			select {
			case <-e.proc.Done():
				x.dropLocked(p, e)
				go e.kill()
				continue
			default:
			}
			return e
		}
	}
	return nil
}

// ProvisionedKeys returns the keys that have provisioned environments, for
// the control plane to release those whose configs are gone.
func (x *Executor) ProvisionedKeys() []string {
	x.init()
	x.mu.Lock()
	defer x.mu.Unlock()
	keys := make([]string, 0, len(x.provs))
	for k := range x.provs {
		keys = append(keys, k)
	}
	return keys
}

package control

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// The provisioner: each node looks at every provisioned concurrency config
// regularly (and at once when this node changes one), claims through the
// store those no live node keeps (claim kind claimProvisioned), asks its
// executor to keep their environments initialised, and writes how far
// they are back into the configs: IN_PROGRESS with the environments up so
// far, READY once all are, FAILED if the function's initialisation fails.
// A node that dies leaves its configs to the others.

// claimProvisioned: key "<account>/<region>/<function>/<qualifier>".
const claimProvisioned = "provisioned-concurrency"

// DefaultProvisionInterval is how often a node looks at the configs.
const DefaultProvisionInterval = time.Second

// Provisioner keeps environments initialised. http.Server implements it
// over the executor.
type Provisioner interface {
	// Provision keeps n environments of inv's version initialised under
	// key (n 0 stops them) and answers how far that is.
	Provision(key string, inv *Invocation, n int) ProvisionState
	// ProvisionedKeys returns the keys that have environments.
	ProvisionedKeys() []string
}

// ProvisionState is how far a key's environments are.
type ProvisionState struct {
	// Ready counts the environments initialised.
	Ready int
	// Failed reports that the function's initialisation failed.
	Failed bool
}

// provisioner is this node's provisioner state.
type provisioner struct {
	mu sync.Mutex
	// held maps the keys this node keeps to the generation it keeps.
	held map[string]string
}

// StartProvisioning starts keeping the environments of provisioned
// concurrency configs through p, until Close. Call it after Start.
func (s *Service) StartProvisioning(p Provisioner) {
	s.init()
	s.Provisioner = p
	s.loops.Go(func() { s.provisionLoop(s.loopCtx) })
}

func (s *Service) provisionLoop(ctx context.Context) {
	t := time.NewTicker(s.ProvisionInterval)
	defer t.Stop()
	for {
		if err := s.provisionRound(ctx); err != nil && ctx.Err() == nil {
			s.Logger.WarnContext(ctx, "provisioned concurrency", lambdahost.LogKeyError, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.provisionWake:
		}
	}
}

// provisionRound is one look at every config.
func (s *Service) provisionRound(ctx context.Context) error {
	var recs []*provisionedRecord
	err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		recs, _, err = scanRecords(ctx, tx, kindProvisionedConcurrency, "", "", math.MaxInt,
			func(*provisionedRecord) bool { return true }, func(r *provisionedRecord) string { return r.key() })
		return err
	})
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, rec := range recs {
		key := rec.key()
		live[key] = true
		s.prov.mu.Lock()
		gen, held := s.prov.held[key]
		s.prov.mu.Unlock()
		if !held {
			won := false
			if err := s.store.Update(ctx, func(tx lambdahost.Tx) (err error) {
				won, err = tx.Claim(ctx, claimProvisioned, key, s.Node)
				return err
			}); err != nil || !won {
				continue
			}
		}
		if held && gen != rec.Generation {
			// Put again: start over, even after a failure.
			s.Provisioner.Provision(key, nil, 0)
		}
		s.prov.mu.Lock()
		s.prov.held[key] = rec.Generation
		s.prov.mu.Unlock()
		s.provisionOne(ctx, rec)
	}
	// Configs deleted (or whose function or alias went): stop their
	// environments and release them.
	s.prov.mu.Lock()
	var gone []string
	for key := range s.prov.held {
		if !live[key] {
			gone = append(gone, key)
			delete(s.prov.held, key)
		}
	}
	s.prov.mu.Unlock()
	for _, key := range s.Provisioner.ProvisionedKeys() {
		if !live[key] {
			gone = append(gone, key)
		}
	}
	for _, key := range gone {
		s.Provisioner.Provision(key, nil, 0)
		if err := s.store.Update(ctx, func(tx lambdahost.Tx) error { return tx.Unclaim(ctx, claimProvisioned, key, s.Node) }); err != nil {
			s.Logger.WarnContext(ctx, "release provisioned concurrency", "key", key, lambdahost.LogKeyError, err)
		}
	}
	return nil
}

// provisionOne keeps rec's environments and writes how far they are.
func (s *Service) provisionOne(ctx context.Context, rec *provisionedRecord) {
	version := rec.Qualifier
	if lambdahost.VersionOrder(version) == -3 {
		var a *lambdahost.Alias
		err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
			a, err = tx.Alias(ctx, rec.Function, rec.Qualifier)
			return err
		})
		if err != nil {
			return // the alias went: its config goes with it
		}
		version = a.FunctionVersion
	}
	inv, err := s.resolveInvocation(ctx, rec.Function, version)
	if err != nil {
		return
	}
	st := s.Provisioner.Provision(rec.key(), inv, rec.Requested)
	status, reason, n := ProvisionedInProgress, "", st.Ready
	switch {
	case st.Failed:
		status, reason, n = ProvisionedFailed, "FUNCTION_ERROR_INIT_FAILURE", 0
	case st.Ready >= rec.Requested:
		status, n = ProvisionedReady, rec.Requested
	}
	if rec.Status == status && rec.Allocated == n && rec.StatusReason == reason && rec.Version == version {
		return
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		cur, err := getRecord[provisionedRecord](ctx, tx, kindProvisionedConcurrency, rec.key())
		if errors.Is(err, lambdahost.ErrNotFound) {
			return nil
		}
		if err != nil || cur.Generation != rec.Generation {
			return err
		}
		cur.Status, cur.StatusReason, cur.Allocated, cur.Available, cur.Version = status, reason, n, n, version
		return putRecord(ctx, tx, kindProvisionedConcurrency, cur.key(), cur)
	})
	if err != nil && ctx.Err() == nil {
		s.Logger.WarnContext(ctx, "write provisioned concurrency status", "key", rec.key(), lambdahost.LogKeyError, err)
	}
}

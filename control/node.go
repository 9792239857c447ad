package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lambdahost/lambdahost"
)

// DefaultNodeTTL is how long a node's registration lasts without renewal.
const DefaultNodeTTL = 10 * time.Second

// heartbeat renews the node's registration every NodeTTL/3 until ctx is
// done.
func (s *Service) heartbeat(ctx context.Context) {
	t := time.NewTicker(s.NodeTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hctx, cancel := context.WithTimeout(ctx, s.NodeTTL/3)
		err := s.store.Heartbeat(hctx, s.Node, s.NodeTTL)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.Logger.WarnContext(ctx, "renew node registration: other nodes take over this one's work if it lapses",
				"node", s.Node, lambdahost.LogKeyError, err)
		}
	}
}

// Sweep takes over the work that must happen once and that no live node
// holds (see lambdahost.Coordinator): it settles the versions left Pending
// or InProgress by a node that stopped or died, and sends the messages for
// destinations that such a node stored. Start runs it; serving nodes run it regularly, so
// that the work of a node that dies is taken over within its TTL and that
// interval.
func (s *Service) Sweep(ctx context.Context) error {
	s.init()
	var unsettled []*lambdahost.Version
	if err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		unsettled, err = tx.Unsettled(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("find unsettled versions: %w", err)
	}
	for _, v := range unsettled {
		won := false
		if err := s.store.Update(ctx, func(tx lambdahost.Tx) (err error) {
			won, err = tx.Claim(ctx, claimSettle, settleKey(v.Function, v.Name, v.RevisionID), s.Node)
			return err
		}); err != nil {
			return fmt.Errorf("claim unsettled version: %w", err)
		}
		if !won {
			continue // a live node settles it
		}
		s.Logger.InfoContext(ctx, "settling version left unsettled", lambdahost.LogKeyFunction, v.ARN())
		s.settle(ctx, v.Function, v.Name, v.RevisionID)
	}
	// Messages for destinations that no live node sends.
	return s.claimDeliveries(ctx)
}

// FunctionState reads function id and every version of it in one snapshot,
// without a caller, for a node told that another changed it. It answers
// nil, nil, nil if the function does not exist.
func (s *Service) FunctionState(ctx context.Context, id lambdahost.FunctionID) (*lambdahost.Function, []*lambdahost.Version, error) {
	s.init()
	var (
		fn       *lambdahost.Function
		versions []*lambdahost.Version
	)
	err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		fn, err = tx.Function(ctx, id)
		if err != nil {
			return err
		}
		versions, err = tx.ListVersions(ctx, id, -3, 0)
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read function %s: %w", id.ARN(), err)
	}
	return fn, versions, nil
}

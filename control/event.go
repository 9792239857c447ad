package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/lambdahost/lambdahost"
)

// replayPage is how many stored events ReplayEvents reads at a time.
const replayPage = 100

// EnqueueEvent stores the event of an asynchronous Invoke of inv, in one
// write transaction: once it returns, the event survives a crash, so
// Invoke may answer 202. The event keeps the qualifier as invoked, so that
// a retry or a replay resolves it again.
//
// It answers ResourceNotFoundException if the function was deleted (or
// deleted and created again) since inv was resolved.
func (s *Service) EnqueueEvent(ctx context.Context, inv *Invocation, payload []byte, requestID, traceID string) (*lambdahost.AsyncEvent, error) {
	s.init()
	now := s.Now().UTC()
	ev := &lambdahost.AsyncEvent{
		ID:        lambdahost.NewEventID(now),
		Function:  inv.Function.ID,
		Qualifier: inv.Qualifier,
		Payload:   payload,
		RequestID: requestID,
		TraceID:   traceID,
		Created:   now,
		// This node runs it; if it dies first, another claims it.
		Node: s.Node,
	}
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		fn, err := tx.Function(ctx, ev.Function)
		if err == nil && !fn.Created.Equal(inv.Function.Created) {
			// Another function of the same name: not the one resolved.
			err = lambdahost.ErrNotFound
		}
		if err == nil {
			err = tx.PutEvent(ctx, ev)
		}
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, notFound(ev.Function, invokedQualifier(ev.Qualifier))
	}
	if err != nil {
		return nil, internal("enqueue event", err)
	}
	s.Metrics.AsyncEventsReceived.Add(1)
	return ev, nil
}

// DeleteEvent deletes a stored asynchronous event once its invocation is
// finished for good. Deleting an event that is gone (deleted with its
// function) is not an error.
func (s *Service) DeleteEvent(ctx context.Context, id string) error {
	s.init()
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error { return tx.DeleteEvent(ctx, id) })
	if err != nil {
		return fmt.Errorf("delete event %s: %w", id, err)
	}
	return nil
}

// ResolveEvent finds what a stored asynchronous event runs now, from its
// function and qualifier, as ResolveInvoke does for a caller: an alias's
// routing is drawn again, and the function's current reserved concurrency
// and configuration apply. It needs no caller in ctx: the event was
// authorized when it was stored.
//
// It answers ResourceNotFoundException if the function, version or alias
// no longer exists, and ResolveInvoke's errors for a version that cannot
// run now.
func (s *Service) ResolveEvent(ctx context.Context, ev *lambdahost.AsyncEvent) (*Invocation, error) {
	s.init()
	return s.resolveInvocation(ctx, ev.Function, ev.Qualifier)
}

// ReplayEvents claims the stored asynchronous events that no live node
// runs (their node stopped or died before it finished them) and hands
// each to fn, oldest first, with what it runs now (see ResolveEvent).
// Nodes call it at start-up, before they store new events, and then
// regularly, so that the events of a node that dies are run again by
// another within its TTL and that interval (at least once).
//
// An event whose function, version or alias no longer exists is deleted,
// with a log line: it can never run. One whose version cannot run now
// (Pending or Failed) stays claimed by this node, with a log line, and
// runs again at its next start or after it is gone. DeleteFunction
// deletes a function's events with it, so these are only events of
// deleted versions and aliases.
func (s *Service) ReplayEvents(ctx context.Context, fn func(inv *Invocation, ev *lambdahost.AsyncEvent)) error {
	s.init()
	after, replayed, dropped := "", 0, 0
	for {
		var page []*lambdahost.AsyncEvent
		err := s.store.Update(ctx, func(tx lambdahost.Tx) (err error) {
			page, err = tx.ClaimEvents(ctx, s.Node, after, replayPage)
			return err
		})
		if err != nil {
			return fmt.Errorf("replay events: %w", err)
		}
		if len(page) == 0 {
			break
		}
		// The cursor is compared, not looked up, so fn may finish and
		// delete events of this page before the next is claimed.
		after = page[len(page)-1].ID
		for _, ev := range page {
			log := s.Logger.With(lambdahost.LogKeyFunction, ev.Function.QualifiedARN(ev.Qualifier), lambdahost.LogKeyRequestID, ev.RequestID)
			inv, err := s.ResolveEvent(ctx, ev)
			switch typ := lambdahost.ErrorTypeOf(err); {
			case err == nil:
			case typ == lambdahost.ResourceNotFoundException:
				log.WarnContext(ctx, "asynchronous event dropped: its function no longer exists", lambdahost.LogKeyError, err)
				if err := s.DeleteEvent(ctx, ev.ID); err != nil {
					return fmt.Errorf("replay events: %w", err)
				}
				dropped++
				continue
			case typ == lambdahost.ServiceException || typ == "":
				// The store failed, or ctx is done.
				return fmt.Errorf("replay events: %w", err)
			default:
				log.WarnContext(ctx, "asynchronous event kept for the next start: its function cannot run now", lambdahost.LogKeyError, err)
				continue
			}
			fn(inv, ev)
			replayed++
		}
	}
	if replayed > 0 || dropped > 0 {
		s.Logger.InfoContext(ctx, "replayed stored asynchronous events", "replayed", replayed, "dropped", dropped)
	}
	return nil
}

// invokedQualifier is the qualifier AWS names in an Invoke's not-found
// error: what was invoked, or $LATEST when nothing was (as LocalStack's
// AWS-validated Invoke does).
func invokedQualifier(q string) string {
	if q == "" {
		return lambdahost.VersionLatest
	}
	return q
}

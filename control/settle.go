package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Reason texts that AWS reports while a version is being created or updated.
const (
	reasonCreating     = "The function is being created."
	reasonCodeCreating = "Creating"
)

// put writes v, the version an operation answers with. When settling has
// nothing left to do (no Preparer: the code is already durable and
// checked), the settled state is written instead, in the same
// transaction, under its own RevisionId: the answer still says Pending or
// InProgress as AWS's does, and its RevisionId is stale once the caller
// reads the function again, as on AWS. Otherwise v is written as it is and
// returned for schedule.
func (s *Service) put(ctx context.Context, tx lambdahost.Tx, v *lambdahost.Version) (unsettled *lambdahost.Version, err error) {
	return s.putWith(ctx, tx, nil, v)
}

// putWith is put for a version whose code failed to stage with fail (its
// KMS key is missing or disabled): it is written settled Failed with
// that reason at once, the answer still saying Pending or InProgress.
func (s *Service) putWith(ctx context.Context, tx lambdahost.Tx, fail error, v *lambdahost.Version) (unsettled *lambdahost.Version, err error) {
	if fail != nil {
		settled := *v
		finish(&settled, fail)
		settled.RevisionID = s.NewRevisionID()
		return nil, tx.PutVersion(ctx, &settled)
	}
	if s.preparesLater(v) {
		// The node settles what it wrote; the claim keeps other nodes
		// off it while this one lives (see Sweep).
		if _, err := tx.Claim(ctx, claimSettle, settleKey(v.Function, v.Name, v.RevisionID), s.Node); err != nil {
			return nil, err
		}
		return v, tx.PutVersion(ctx, v)
	}
	settled := *v
	finish(&settled, nil)
	settled.RevisionID = s.NewRevisionID()
	return nil, tx.PutVersion(ctx, &settled)
}

// claimSettle is the kind of claim on settling a version at a revision.
const claimSettle = "settle"

// settleKey names the work of settling version name of id at revision rev.
func settleKey(id lambdahost.FunctionID, name, rev string) string {
	return id.QualifiedARN(name) + "@" + rev
}

// schedule settles each version once the operation that wrote it has
// committed. Settling runs right away, in the background, so the response
// is not delayed by it.
func (s *Service) schedule(vs ...*lambdahost.Version) {
	for _, v := range vs {
		if v == nil {
			continue
		}
		id, name, rev := v.Function, v.Name, v.RevisionID
		if s.SettleSync {
			s.settle(s.ctx, id, name, rev)
			continue
		}
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.settle(s.ctx, id, name, rev)
		}()
	}
}

// settle moves version name of id from Pending/InProgress to its final
// state, provided it is still at revision rev (a later change supersedes it
// and will settle itself).
func (s *Service) settle(ctx context.Context, id lambdahost.FunctionID, name, rev string) {
	log := s.Logger.With(lambdahost.LogKeyFunction, id.QualifiedARN(name))
	var v *lambdahost.Version
	err := s.store.View(ctx, func(tx lambdahost.Tx) error {
		var err error
		v, err = tx.Version(ctx, id, name)
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) || (err == nil && v.RevisionID != rev) {
		// Deleted or superseded meanwhile: nothing to settle.
		if err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
			return tx.Unclaim(ctx, claimSettle, settleKey(id, name, rev), s.Node)
		}); err != nil {
			log.WarnContext(ctx, "settle: release claim", lambdahost.LogKeyError, err)
		}
		return
	}
	if err != nil {
		log.ErrorContext(ctx, "settle: read version", lambdahost.LogKeyError, err)
		return
	}
	prepErr := s.prepare(ctx, v)
	var hist *Deployment
	for attempt := 0; ; attempt++ {
		err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
			hist = nil
			if err := tx.Unclaim(ctx, claimSettle, settleKey(id, name, rev), s.Node); err != nil {
				return err
			}
			cur, err := tx.Version(ctx, id, name)
			if err != nil {
				return err
			}
			if cur.RevisionID != rev {
				return nil
			}
			finish(cur, prepErr)
			cur.RevisionID = s.NewRevisionID()
			if err := tx.PutVersion(ctx, cur); err != nil {
				return err
			}
			if name != lambdahost.VersionLatest {
				return nil
			}
			hist, err = s.settledDeployment(ctx, tx, id, cur)
			return err
		})
		if err == nil || errors.Is(err, lambdahost.ErrNotFound) || ctx.Err() != nil || attempt == 4 {
			break
		}
		time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
	}
	if err != nil && !errors.Is(err, lambdahost.ErrNotFound) {
		// Left unsettled: the next Start settles it.
		log.ErrorContext(ctx, "settle: write version", lambdahost.LogKeyError, err)
	}
	if err == nil {
		s.meterSettled(hist)
	}
	if prepErr != nil {
		log.WarnContext(ctx, "update failed", lambdahost.LogKeyError, prepErr)
	}
}

// imagePreparer is the Images source's ability to ready an image (pull
// and unpack its layers) while the version settles.
func (s *Service) imagePreparer() Preparer {
	p, _ := s.Images.(Preparer)
	return p
}

// preparesLater reports whether settling v has work left after its commit.
func (s *Service) preparesLater(v *lambdahost.Version) bool {
	if s.Preparer != nil {
		return true
	}
	return v.Code.PackageType == lambdahost.PackageImage && s.imagePreparer() != nil
}

// prepare checks that v's code and its layers' are in place and lets the
// preparers ready it.
// Their *lambdahost.ReasonError fails the update with that reason.
func (s *Service) prepare(ctx context.Context, v *lambdahost.Version) error {
	b, err := s.OpenCode(ctx, v.Code)
	var kp *keyProblem
	if errors.As(err, &kp) {
		return kp.reasonError()
	}
	if err != nil {
		return fmt.Errorf("check code: %w", err)
	}
	b.Close()
	// The layers' code must be in place too, sealed under keys that work.
	for _, l := range v.Config.Layers {
		b, err := s.OpenCode(ctx, l.Code())
		if errors.As(err, &kp) {
			return kp.reasonError()
		}
		if err != nil {
			return fmt.Errorf("check layer %s: %w", l.ARN, err)
		}
		b.Close()
	}
	if v.Code.PackageType == lambdahost.PackageImage {
		if p := s.imagePreparer(); p != nil {
			if err := p.Prepare(ctx, v); err != nil {
				return err
			}
		}
	}
	if s.Preparer != nil {
		return s.Preparer.Prepare(ctx, v)
	}
	return nil
}

// finish sets the final state of a settled version.
func finish(v *lambdahost.Version, err error) {
	creating := v.Status.State == lambdahost.StatePending
	if err == nil {
		v.Status = lambdahost.Status{State: lambdahost.StateActive, LastUpdateStatus: lambdahost.UpdateSuccessful}
		return
	}
	code, msg := "InternalError", "An internal error occurred while preparing the function code."
	var fr *lambdahost.ReasonError
	if errors.As(err, &fr) {
		code, msg = fr.Code, fr.Message
	}
	if creating {
		v.Status = lambdahost.Status{
			State: lambdahost.StateFailed, StateReason: msg, StateReasonCode: code,
			LastUpdateStatus: lambdahost.UpdateFailed, LastUpdateStatusReason: msg, LastUpdateStatusReasonCode: code,
		}
		return
	}
	v.Status = lambdahost.Status{
		State:            lambdahost.StateActive,
		LastUpdateStatus: lambdahost.UpdateFailed, LastUpdateStatusReason: msg, LastUpdateStatusReasonCode: code,
	}
}

// pending is the status of a version that is being created.
func pending() lambdahost.Status {
	return lambdahost.Status{State: lambdahost.StatePending, StateReason: reasonCreating, StateReasonCode: reasonCodeCreating}
}

// updating is the status of $LATEST while an update is in progress. AWS
// reports the creation reason texts here too (recorded responses).
func updating() lambdahost.Status {
	return lambdahost.Status{
		State:                      lambdahost.StateActive,
		LastUpdateStatus:           lambdahost.UpdateInProgress,
		LastUpdateStatusReason:     reasonCreating,
		LastUpdateStatusReasonCode: reasonCodeCreating,
	}
}

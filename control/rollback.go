package control

import (
	"context"
	"errors"
	"slices"

	"github.com/lambdahost/lambdahost"
)

// RollbackInput is a rollback of a function's $LATEST to the code of one
// of its published versions.
type RollbackInput struct {
	FunctionName string
	// Version is the published version whose code $LATEST takes back.
	Version string
	// RevisionID, if set, must be $LATEST's, as for UpdateFunctionCode.
	RevisionID *string
	// Publish publishes $LATEST as a new version once it has the code.
	Publish bool
}

// RollbackCode deploys to $LATEST the code (and architecture) of the
// published version in.Version: an UpdateFunctionCode whose package is
// the one that version runs. Code is stored by its content, so nothing is
// uploaded or copied: $LATEST references the version's package. It is
// checked as any deployment is, against the function's code signing
// config of now, and answers as UpdateFunctionCode does ($LATEST's
// configuration, InProgress) with its errors: ResourceNotFoundException
// if the function or version does not exist, ResourceConflictException
// while an update is in progress, PreconditionFailedException for a stale
// RevisionId. Rolling an alias back is an UpdateAlias to the earlier
// version.
func (s *Service) RollbackCode(ctx context.Context, in *RollbackInput) (*FunctionConfig, error) {
	s.init()
	began := s.Now()
	t, err := resolveFunction(ctx, in.FunctionName, ruleLatestOnly)
	if err != nil {
		return nil, err
	}
	if lambdahost.VersionOrder(in.Version) < 1 {
		var v lambdahost.Validation
		v.Add("version", lambdahost.Quote(in.Version), "Member must be a published version number")
		return nil, v.Err()
	}
	var cur, from *lambdahost.Version
	var cscARN string
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		cur, err = tx.Version(ctx, t.id, lambdahost.VersionLatest)
		if err != nil {
			return err
		}
		from, err = tx.Version(ctx, t.id, in.Version)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return notFound(t.id, in.Version)
		}
		if err != nil {
			return err
		}
		if cscARN, err = boundCSC(ctx, tx, t.id); err != nil {
			return err
		}
		return checkWritable(t.id, cur, in.RevisionID)
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "read function")
	}
	if from.Code.Digest.IsZero() {
		return nil, invalidf("Version %s has no code to roll back to.", in.Version)
	}
	code := from.Code
	code.SigningProfileVersionARN, code.SigningJobARN = "", ""
	st := &staged{code: code, commit: func(context.Context) error { return nil }}
	if cscARN != "" {
		// The signature travels in the package: read it from the stored
		// code, as UpdateFunctionCode reads it from an upload.
		b, err := s.OpenCode(ctx, from.Code)
		if err != nil {
			return nil, internal("open code", err)
		}
		defer b.Close()
		st.zip = b
		st.readSignature()
	}
	return s.deployCode(ctx, deployInput{
		op: "UpdateFunctionCode", id: t.id, began: began, st: st, cur: cur,
		publish: in.Publish, revisionID: in.RevisionID,
		architectures: slices.Clone(from.Config.Architectures), cscARN: cscARN,
		rolledBackTo: from.Name,
		// The version, and with it the reference that keeps its code
		// stored, must still be there when $LATEST takes the code over.
		check: func(ctx context.Context, tx lambdahost.Tx) error {
			v, err := tx.Version(ctx, t.id, in.Version)
			if errors.Is(err, lambdahost.ErrNotFound) {
				return notFound(t.id, in.Version)
			}
			if err != nil {
				return err
			}
			if v.Code.Digest != code.Digest || v.Code.SealedWith != code.SealedWith {
				return lambdahost.Errorf(lambdahost.ResourceConflictException, "The code of version %s changed during the rollback.", in.Version)
			}
			return nil
		},
	})
}

package control

import (
	"context"
	"fmt"
	"math"

	"github.com/lambdahost/lambdahost"
)

// Which stored code is referenced, and by whom, is decided here alone:
// garbage collection keeps what codeHolders' refs list, and check, backup
// and restore verify and copy what their uses list. A new kind of
// resource that holds code is one more codeHolder, and every one of them
// learns about it at once.

// CodeUse is one resource's reference to stored code.
type CodeUse struct {
	lambdahost.CodeRef
	// Holder is the ARN of the resource that references the code: a
	// function version's qualified ARN, or a layer version's ARN.
	Holder string
	// Layer is, for the code of a layer that a function version uses
	// (Config.Layers), that layer version's ARN; "" for a version's own
	// code. The version keeps the code after the layer version is deleted.
	Layer string
	// Unstored says the code was never stored, by design: the holder's
	// creation or update failed because its KMS key could not seal the
	// code, and the holder reports that failure (see staged.fail).
	Unstored bool
}

// codeHolder is a kind of resource that references stored code.
type codeHolder struct {
	// kind names the resources, for messages.
	kind string
	// refs returns the distinct code the resources reference. Garbage
	// collection calls it in its write transaction, so it must be cheap.
	refs func(ctx context.Context, tx lambdahost.Tx) ([]lambdahost.CodeRef, error)
	// uses calls fn for each resource's reference, naming the resource.
	// The CodeRefs it gives are exactly those refs returns.
	uses func(ctx context.Context, tx lambdahost.Tx, fn func(CodeUse) error) error
}

// codeHolders are every kind of resource that references stored code.
var codeHolders = []codeHolder{
	{kind: "function version", refs: versionRefs, uses: versionUses},
	{kind: "layer version", refs: layerVersionRefs, uses: layerVersionUses},
}

// referencedCode returns the code that some resource references, each
// once.
func referencedCode(ctx context.Context, tx lambdahost.Tx) ([]lambdahost.CodeRef, error) {
	var out []lambdahost.CodeRef
	seen := map[lambdahost.CodeRef]bool{}
	for _, h := range codeHolders {
		refs, err := h.refs(ctx, tx)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// CodeUses calls fn for every reference of every resource to stored code,
// as tx sees them. The distinct CodeRefs it gives are the code garbage
// collection keeps.
func CodeUses(ctx context.Context, tx lambdahost.Tx, fn func(CodeUse) error) error {
	for _, h := range codeHolders {
		if err := h.uses(ctx, tx, fn); err != nil {
			return err
		}
	}
	return nil
}

// versionRefs returns the code of versions: their own and their layers'
// (Tx.CodeRefs includes both).
func versionRefs(ctx context.Context, tx lambdahost.Tx) ([]lambdahost.CodeRef, error) {
	return tx.CodeRefs(ctx)
}

// allFunctionsPage is how many functions a walk of the whole store reads
// at a time.
const allFunctionsPage = 100

// eachFunction calls fn for every function of every account and region.
func eachFunction(ctx context.Context, tx lambdahost.Tx, fn func(*lambdahost.Function) error) error {
	var after lambdahost.FunctionID
	for {
		page, err := tx.AllFunctions(ctx, after, allFunctionsPage)
		if err != nil {
			return err
		}
		for _, f := range page {
			if err := fn(f); err != nil {
				return err
			}
		}
		if len(page) < allFunctionsPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func versionUses(ctx context.Context, tx lambdahost.Tx, fn func(CodeUse) error) error {
	return eachFunction(ctx, tx, func(f *lambdahost.Function) error {
		vs, err := tx.ListVersions(ctx, f.ID, math.MinInt64, 0)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if v.Code.Digest.IsZero() {
				continue // no code (CodeRefs leaves these out too)
			}
			err := fn(CodeUse{
				CodeRef:  lambdahost.CodeRef{Digest: v.Code.Digest, SealedWith: v.Code.SealedWith},
				Holder:   v.ARN(),
				Unstored: unstored(v.Status),
			})
			if err != nil {
				return err
			}
		}
		for _, v := range vs {
			// A layer's code was stored when the layer version was
			// published, so it is never Unstored.
			for _, l := range v.Config.Layers {
				err := fn(CodeUse{
					CodeRef: lambdahost.CodeRef{Digest: l.Digest, SealedWith: l.SealedWith},
					Holder:  v.ARN(),
					Layer:   l.ARN,
				})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// layerVersionRefs returns the code of every layer version of every
// account, used by a function or not.
func layerVersionRefs(ctx context.Context, tx lambdahost.Tx) ([]lambdahost.CodeRef, error) {
	var refs []lambdahost.CodeRef
	err := layerVersionUses(ctx, tx, func(u CodeUse) error {
		refs = append(refs, u.CodeRef)
		return nil
	})
	return refs, err
}

// layerVersionUses calls fn for the code of every layer version. A layer
// version's code is stored before its record is written (PublishLayerVersion
// fails otherwise), so it is never Unstored.
func layerVersionUses(ctx context.Context, tx lambdahost.Tx, fn func(CodeUse) error) error {
	return eachRecord(ctx, tx, kindLayerVersion, func(r lambdahost.Record) error {
		lv, err := decodeRecord[layerVersionRecord](r)
		if err != nil {
			return err
		}
		d, err := lv.digest()
		if err != nil {
			return fmt.Errorf("layer version %s: %w", lv.arn(), err)
		}
		return fn(CodeUse{CodeRef: lambdahost.CodeRef{Digest: d, SealedWith: lv.SealedWith}, Holder: lv.arn()})
	})
}

// Reason codes of a version whose key could not seal its code, as
// keyProblem reports them.
const (
	reasonKMSKeyNotFound = "KMSKeyNotFound"
	reasonDisabledKMSKey = "DisabledKMSKey"
)

// unstored reports whether a version with status st failed because its
// KMS key could not seal its code, which was then never stored.
func unstored(st lambdahost.Status) bool {
	if st.LastUpdateStatus != lambdahost.UpdateFailed {
		return false
	}
	switch st.LastUpdateStatusReasonCode {
	case reasonKMSKeyNotFound, reasonDisabledKMSKey:
		return true
	}
	return false
}

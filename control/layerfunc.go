package control

import (
	"context"
	"errors"
	"slices"

	"github.com/lambdahost/lambdahost"
)

// attachLayers resolves the Layers of a CreateFunction or
// UpdateFunctionConfiguration request of function fn within tx: each must
// be a version of a layer in fn's region that exists and that fn's account
// may get, and no two may be versions of one layer. The order is kept: it
// is the order in which they are extracted into /opt. An empty list
// removes every layer (nil).
//
// It answers InvalidParameterValueException worded as AWS's for a layer of
// another region, two versions of one layer and a version that does not
// exist, and AccessDeniedException for another account's layer version
// that its policy does not let fn's account get.
func attachLayers(ctx context.Context, tx lambdahost.Tx, c lambdahost.Caller, fn lambdahost.FunctionID, arns []string) ([]lambdahost.Layer, []*layerVersionRecord, error) {
	if len(arns) == 0 {
		return nil, nil, nil
	}
	refs := make([]lambdahost.LayerVersionRef, len(arns))
	for i, arn := range arns {
		ref, _ := lambdahost.ParseLayerVersionARN(arn) // validateConfig checked the pattern
		if !ref.AWSLayer && ref.Layer.Region != fn.Region {
			return nil, nil, invalidf("Layers are not in the same region as the function. Layers are expected to be in region %s.", fn.Region)
		}
		refs[i] = ref
	}
	for j := 1; j < len(refs); j++ {
		for i := range j {
			if !refs[i].AWSLayer && refs[i].Layer == refs[j].Layer {
				return nil, nil, invalidf("Two different versions of the same layer are not allowed to be referenced in the same function. %s and %s are versions of the same layer.", arns[i], arns[j])
			}
		}
	}
	layers := make([]lambdahost.Layer, 0, len(arns))
	recs := make([]*layerVersionRecord, 0, len(arns))
	for i, ref := range refs {
		if ref.AWSLayer || ref.Partition != "aws" || ref.Version < 1 {
			return nil, nil, invalidf("Layer version %s does not exist.", arns[i])
		}
		rec, err := readLayerVersion(ctx, tx, c, ref.Layer, ref.Version, actionGetLayerVersion)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return nil, nil, invalidf("Layer version %s does not exist.", arns[i])
		}
		if err != nil {
			return nil, nil, err
		}
		l, err := rec.layer()
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, l)
		recs = append(recs, rec)
	}
	return layers, recs, nil
}

// checkUnzippedWithLayers answers AWS's error when a zip function's code
// and its layers unzip to more than lambdahost.MaxUnzippedSize bytes
// together. (The code alone was checked when it was uploaded.)
func checkUnzippedWithLayers(code lambdahost.Code, layers []lambdahost.Layer) error {
	if code.PackageType == lambdahost.PackageImage || len(layers) == 0 {
		return nil
	}
	total := code.UnzippedSize
	for _, l := range layers {
		total += l.UnzippedSize
	}
	if total > lambdahost.MaxUnzippedSize {
		return invalidf("Function code combined with layers exceeds the maximum allowed size of %d bytes. The actual size is %d bytes.", lambdahost.MaxUnzippedSize, total)
	}
	return nil
}

// verifyLayers checks the layer versions a deployment adds to function id
// (those of recs not among prior, the layers it had) against the code
// signing config cscARN ("" for none), as verifyCode checks its code: with
// Enforce, an unsigned layer, or one signed by a profile the config does
// not allow, or whose signature expired or was revoked, is refused with
// CodeVerificationFailedException; with Warn it is logged and counted. A
// layer whose signature failed its integrity check when it was published
// is refused whatever the policy.
func (s *Service) verifyLayers(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, cscARN string, recs []*layerVersionRecord, prior []lambdahost.Layer) error {
	if cscARN == "" {
		return nil
	}
	var rec *cscRecord
	for _, lv := range recs {
		arn := lv.arn()
		if slices.ContainsFunc(prior, func(l lambdahost.Layer) bool { return l.ARN == arn }) {
			continue
		}
		if rec == nil {
			var err error
			if rec, err = readCSC(ctx, tx, cscARN, cscNotFoundForFunction); err != nil {
				return err
			}
		}
		failed, err := s.checkLayerSignature(ctx, tx, rec, lv)
		if err != nil {
			return err
		}
		if failed == "" {
			continue
		}
		if rec.Policy == PolicyEnforce {
			return lambdahost.Errorf(lambdahost.CodeVerificationFailedException,
				"Lambda cannot deploy the function. The function or layer might be signed using a signature that the client is not configured to accept. Check the provided signature for %s.", arn)
		}
		n := signatureValidationErrors.Add(1)
		s.Logger.WarnContext(ctx, "attaching a layer that failed a signature check: the code signing policy is Warn",
			lambdahost.LogKeyFunction, id.ARN(), "layer", arn, "check", failed, "code_signing_config", cscARN,
			"signature_validation_errors", n)
	}
	return nil
}

// checkLayerSignature runs the policy's checks on layer version lv's
// signature, whose integrity was checked when it was published. It
// returns the name of the first check that failed ("" if none), or
// InvalidCodeSignatureException for a signature that is not intact.
func (s *Service) checkLayerSignature(ctx context.Context, tx lambdahost.Tx, rec *cscRecord, lv *layerVersionRecord) (string, error) {
	sig := lv.Signature
	switch {
	case sig == nil:
		return checkMismatch, nil
	case sig.Bad:
		return "", invalidLayerSignature(lv.arn())
	}
	allowed := slices.Contains(rec.AllowedPublishers, sig.ProfileVersionARN)
	if !sig.Verified {
		// Signed by a profile lambdahost did not know when the layer was
		// published: its signature could not be verified.
		if !allowed {
			return checkMismatch, nil
		}
		return "", invalidLayerSignature(lv.arn())
	}
	pub, err := s.publisher(ctx, tx, sig.ProfileVersionARN)
	if errors.Is(err, lambdahost.ErrNotFound) {
		return checkMismatch, nil
	}
	if err != nil {
		return "", err
	}
	return s.signaturePolicy(ctx, tx, rec, lambdahost.CodeSignature{
		ProfileVersionARN: sig.ProfileVersionARN, JobARN: sig.JobARN, SignedAt: sig.SignedAt, ExpiresAt: sig.ExpiresAt,
	}, pub)
}

func invalidLayerSignature(arn string) error {
	return lambdahost.Errorf(lambdahost.InvalidCodeSignatureException,
		"Lambda cannot deploy the function. The code signature failed the integrity check for %s: the package or its signature changed after it was signed.", arn)
}

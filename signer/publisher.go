package signer

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/lambdahost/lambdahost"
)

// Publisher implements lambdahost.Publishers: the publisher of
// profileVersionARN, in any account; an error wrapping
// lambdahost.ErrNotFound if there is none.
func (s *Service) Publisher(ctx context.Context, tx lambdahost.Tx, profileVersionARN string) (*lambdahost.Publisher, error) {
	ver, err := lambdahost.GetRecord[profileVersion](ctx, tx, kindSigningProfileVersion, profileVersionARN)
	if err != nil {
		return nil, fmt.Errorf("profile version %s: %w", profileVersionARN, err)
	}
	pk, err := x509.ParsePKIXPublicKey(ver.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("parse public key of %s: %w", profileVersionARN, err)
	}
	key, ok := pk.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key of %s is %T, not ECDSA", profileVersionARN, pk)
	}
	p, err := lambdahost.GetRecord[SigningProfile](ctx, tx, kindSigningProfile, profileKey(ver.Account, ver.Region, ver.Name))
	if err != nil {
		return nil, fmt.Errorf("profile of %s: %w", profileVersionARN, err)
	}
	pub := &lambdahost.Publisher{Key: key, Status: p.Status, CanceledAt: p.CanceledAt}
	if p.Status == ProfileRevoked && p.Revocation != nil && p.Version == ver.Version {
		pub.RevokedFrom = p.Revocation.EffectiveFrom
	}
	return pub, nil
}

// SignatureRevoked implements lambdahost.Publishers: whether
// RevokeSignature revoked the job jobARN names; false for a job lambdahost
// does not know, such as one made offline by lambdahost sign.
func (s *Service) SignatureRevoked(ctx context.Context, tx lambdahost.Tx, jobARN string) (bool, error) {
	region, account, id, ok := parseJobARN(jobARN)
	if !ok {
		return false, nil
	}
	j, err := lambdahost.GetRecord[SigningJob](ctx, tx, kindSigningJob, jobKey(account, region, id))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("signing job %s: %w", jobARN, err)
	}
	return j.Revocation != nil, nil
}

package signer

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// unsealKey opens a profile version's private key.
func (s *Service) unsealKey(versionARN string, ver *profileVersion) (*ecdsa.PrivateKey, error) {
	der, err := lambdahost.Unseal(s.masterKey, ver.SealedKey, []byte(versionARN))
	if err != nil {
		return nil, fmt.Errorf("unseal key of %s: %w", versionARN, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse key of %s: %w", versionARN, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key of %s is %T, not ECDSA", versionARN, k)
	}
	return ek, nil
}

// ExportedKey is a profile version's private key, with what signing
// offline needs to know of its profile.
type ExportedKey struct {
	Key               *ecdsa.PrivateKey
	ProfileVersionARN string
	Validity          ValidityPeriod
}

// ExportProfileKey returns the private key of profileVersionARN, unsealed
// with the master key, for lambdahost signer export-key. It is no API
// operation: only the operator, who holds the data directory and the
// master key, can export a key. A profile that is not Active signs no
// more, so its key is not exported: an error wrapping ErrNotFound for an
// unknown version, an *lambdahost.Error for one that is not Active.
func (s *Service) ExportProfileKey(ctx context.Context, profileVersionARN string) (*ExportedKey, error) {
	s.init()
	var (
		ver *profileVersion
		p   *SigningProfile
	)
	err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		if ver, err = lambdahost.GetRecord[profileVersion](ctx, tx, kindSigningProfileVersion, profileVersionARN); err != nil {
			return err
		}
		p, err = lambdahost.GetRecord[SigningProfile](ctx, tx, kindSigningProfile, profileKey(ver.Account, ver.Region, ver.Name))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("profile version %s: %w", profileVersionARN, err)
	}
	if p.Status != ProfileActive || p.Version != ver.Version {
		return nil, lambdahost.Errorf(lambdahost.ValidationException, "Signing profile %s is %s; only an Active profile's key can be exported.", p.Name, strings.ToLower(p.Status))
	}
	key, err := s.unsealKey(profileVersionARN, ver)
	if err != nil {
		return nil, err
	}
	return &ExportedKey{Key: key, ProfileVersionARN: profileVersionARN, Validity: p.Validity}, nil
}

// ExportSigningKey returns the private key of profileVersionARN whatever
// its profile's status; see ExportProfileKey.
func (s *Service) ExportSigningKey(ctx context.Context, profileVersionARN string) (*ecdsa.PrivateKey, error) {
	s.init()
	var ver *profileVersion
	err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		ver, err = lambdahost.GetRecord[profileVersion](ctx, tx, kindSigningProfileVersion, profileVersionARN)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("profile version %s: %w", profileVersionARN, err)
	}
	return s.unsealKey(profileVersionARN, ver)
}

package signer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Signing profile statuses, as AWS Signer spells them.
const (
	ProfileActive   = "Active"
	ProfileCanceled = "Canceled"
	ProfileRevoked  = "Revoked"
)

// Validity period units.
const (
	ValidityDays   = "DAYS"
	ValidityMonths = "MONTHS"
	ValidityYears  = "YEARS"
)

// DefaultSignatureValidity is AWS Signer's default: 135 months.
var DefaultSignatureValidity = ValidityPeriod{Value: 135, Type: ValidityMonths}

// ValidityPeriod is how long a profile's signatures stay valid.
type ValidityPeriod struct {
	Value int
	Type  string // DAYS, MONTHS or YEARS
}

// After returns t plus the period: when a signature made at t expires.
func (p ValidityPeriod) After(t time.Time) time.Time {
	switch p.Type {
	case ValidityDays:
		return t.AddDate(0, 0, p.Value)
	case ValidityYears:
		return t.AddDate(p.Value, 0, 0)
	default:
		return t.AddDate(0, p.Value, 0)
	}
}

// SigningProfile is an AWS Signer signing profile. lambdahost keeps one
// version per profile: a name is never reused, even once canceled.
type SigningProfile struct {
	Account    string
	Region     string
	Name       string
	Version    string
	PlatformID string
	Validity   ValidityPeriod
	Parameters map[string]string
	Tags       map[string]string
	Status     string
	// Revocation is set once the profile is revoked.
	Revocation *ProfileRevocation
	CreatedAt  time.Time
	// CanceledAt is when CancelSigningProfile canceled it; zero if it did not.
	CanceledAt time.Time
}

// ProfileRevocation records RevokeSigningProfile.
type ProfileRevocation struct {
	// EffectiveFrom: signatures made at or after it are revoked.
	EffectiveFrom time.Time
	RevokedAt     time.Time
	RevokedBy     string
	Reason        string
}

// ARN is arn:aws:signer:<region>:<account>:/signing-profiles/<name>.
func (p *SigningProfile) ARN() string {
	return fmt.Sprintf("arn:aws:signer:%s:%s:/signing-profiles/%s", p.Region, p.Account, p.Name)
}

// VersionARN is the profile ARN followed by /<version>.
func (p *SigningProfile) VersionARN() string { return p.ARN() + "/" + p.Version }

// profileVersion holds a profile version's keys. The private key is
// sealed with the master key, bound to the version ARN.
type profileVersion struct {
	Account   string
	Region    string
	Name      string
	Version   string
	PublicKey []byte // PKIX DER
	SealedKey []byte // PKCS #8 DER, sealed
}

// PutSigningProfileInput is PutSigningProfile's request.
type PutSigningProfileInput struct {
	Name       string
	PlatformID string
	// Validity is the signature validity period; nil means DefaultSignatureValidity.
	Validity   *ValidityPeriod
	Parameters map[string]string
	Tags       map[string]string
}

// ListSigningProfilesInput is ListSigningProfiles' request.
type ListSigningProfilesInput struct {
	IncludeCanceled bool
	PlatformID      string
	Statuses        []string
	// MaxResults is 1 to 25; zero means 25.
	MaxResults int
	NextToken  string
}

var profileNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_]{2,}$`)

// validProfileName adds the model's constraints on a profile name to v.
func validProfileName(v *lambdahost.Validation, member, name string) {
	switch {
	case len(name) < 2:
		v.Add(member, lambdahost.Quote(name), "Member must have length greater than or equal to 2")
	case len(name) > 64:
		v.Add(member, lambdahost.Quote(name), "Member must have length less than or equal to 64")
	case !profileNamePattern.MatchString(name):
		v.Add(member, lambdahost.Quote(name), "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]{2,}")
	}
}

// profileKey is a profile's record key.
func profileKey(account, region, name string) string { return account + "/" + region + "/" + name }

func profileNotFound(name string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Profile %s not found.", name)
}

// PutSigningProfile creates a profile with a new ECDSA P-384 key, sealed
// with the master key. A name already used in the account and region, even
// by a canceled or revoked profile, is refused: AWS Signer never reuses a
// profile name.
func (s *Service) PutSigningProfile(ctx context.Context, in PutSigningProfileInput) (*SigningProfile, error) {
	s.init()
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return nil, lambdahost.Internal("put signing profile", err)
	}
	var v lambdahost.Validation
	validProfileName(&v, "profileName", in.Name)
	validity := DefaultSignatureValidity
	if in.Validity != nil {
		validity = *in.Validity
		switch validity.Type {
		case ValidityDays, ValidityMonths, ValidityYears:
		default:
			v.Add("signatureValidityPeriod.type", lambdahost.Quote(validity.Type), "Member must satisfy enum value set: [DAYS, MONTHS, YEARS]")
		}
	}
	if len(in.Tags) > 200 {
		v.Add("tags", "", "Member must have length less than or equal to 200")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.Validity != nil && validity.Value <= 0 {
		return nil, lambdahost.Errorf(lambdahost.ValidationException, "Signature validity period must be a positive number.")
	}
	if in.PlatformID != SigningPlatformID {
		return nil, lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Platform %s not found.", in.PlatformID)
	}
	if len(s.masterKey) != lambdahost.MasterKeySize {
		return nil, lambdahost.Internal("put signing profile", errors.New("no master key configured"))
	}

	p := &SigningProfile{
		Account: c.Account, Region: c.Region, Name: in.Name,
		Version:    s.newProfileVersion(),
		PlatformID: in.PlatformID, Validity: validity,
		Parameters: in.Parameters, Tags: in.Tags,
		Status: ProfileActive, CreatedAt: s.now(),
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, lambdahost.Internal("generate signing key", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, lambdahost.Internal("marshal signing key", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, lambdahost.Internal("marshal public key", err)
	}
	sealed, err := lambdahost.Seal(s.masterKey, priv, []byte(p.VersionARN()))
	if err != nil {
		return nil, lambdahost.Internal("seal signing key", err)
	}
	ver := &profileVersion{Account: p.Account, Region: p.Region, Name: p.Name, Version: p.Version, PublicKey: pub, SealedKey: sealed}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := lambdahost.CreateRecord(ctx, tx, kindSigningProfile, profileKey(p.Account, p.Region, p.Name), p); err != nil {
			if errors.Is(err, lambdahost.ErrExists) {
				return lambdahost.Errorf(lambdahost.ValidationException, "A signing profile with name %s already exists.", p.Name)
			}
			return err
		}
		return lambdahost.CreateRecord(ctx, tx, kindSigningProfileVersion, p.VersionARN(), ver)
	})
	if err != nil {
		return nil, lambdahost.Internal("put signing profile", err)
	}
	return p, nil
}

// newProfileVersion returns 10 alphanumeric characters. They come from
// NewID, so that tests that fix it get fixed versions.
func (s *Service) newProfileVersion() string {
	var b []byte
	for _, c := range []byte(s.newID()) {
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			b = append(b, c)
		}
	}
	for len(b) < 10 {
		b = append([]byte{'0'}, b...)
	}
	return string(b[len(b)-10:])
}

// readProfile reads the caller's profile name.
func readProfile(ctx context.Context, tx lambdahost.Tx, c lambdahost.Caller, name string) (*SigningProfile, error) {
	p, err := lambdahost.GetRecord[SigningProfile](ctx, tx, kindSigningProfile, profileKey(c.Account, c.Region, name))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, profileNotFound(name)
	}
	return p, err
}

func putProfile(ctx context.Context, tx lambdahost.Tx, p *SigningProfile) error {
	return lambdahost.PutRecord(ctx, tx, kindSigningProfile, profileKey(p.Account, p.Region, p.Name), p)
}

// GetSigningProfile returns the caller's profile name. owner, if not
// empty, must be the caller's account.
func (s *Service) GetSigningProfile(ctx context.Context, name, owner string) (*SigningProfile, error) {
	s.init()
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return nil, lambdahost.Internal("get signing profile", err)
	}
	var v lambdahost.Validation
	validProfileName(&v, "profileName", name)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := ownAccount(c, "profileOwner", owner, fmt.Sprintf("arn:aws:signer:%s:%s:/signing-profiles/%s", c.Region, owner, name)); err != nil {
		return nil, err
	}
	var p *SigningProfile
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		p, err = readProfile(ctx, tx, c, name)
		return err
	})
	return p, lambdahost.Internal("get signing profile", err)
}

// ListSigningProfiles lists the caller's profiles in name order; canceled
// ones only if IncludeCanceled. NextToken is the last name answered.
func (s *Service) ListSigningProfiles(ctx context.Context, in ListSigningProfilesInput) ([]*SigningProfile, string, error) {
	s.init()
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return nil, "", lambdahost.Internal("list signing profiles", err)
	}
	limit, err := listLimit(in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	for _, st := range in.Statuses {
		if st != ProfileActive && st != ProfileCanceled && st != ProfileRevoked {
			var v lambdahost.Validation
			v.Add("statuses", lambdahost.Quote(st), "Member must satisfy enum value set: [Active, Canceled, Revoked]")
			return nil, "", v.Err()
		}
	}
	keep := func(p *SigningProfile) bool {
		if p.Status == ProfileCanceled && !in.IncludeCanceled {
			return false
		}
		if in.PlatformID != "" && p.PlatformID != in.PlatformID {
			return false
		}
		return len(in.Statuses) == 0 || slices.Contains(in.Statuses, p.Status)
	}
	prefix := profileKey(c.Account, c.Region, "")
	var out []*SigningProfile
	var next string
	err = s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		out, next, err = lambdahost.ScanRecords(ctx, tx, kindSigningProfile, prefix, in.NextToken, limit, keep, func(p *SigningProfile) string { return p.Name })
		return err
	})
	if err != nil {
		return nil, "", lambdahost.Internal("list signing profiles", err)
	}
	return out, next, nil
}

// CancelSigningProfile makes an Active profile Canceled: it signs no more.
// Canceling a canceled or revoked profile changes nothing.
func (s *Service) CancelSigningProfile(ctx context.Context, name string) error {
	s.init()
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return lambdahost.Internal("cancel signing profile", err)
	}
	var v lambdahost.Validation
	validProfileName(&v, "profileName", name)
	if err := v.Err(); err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		p, err := readProfile(ctx, tx, c, name)
		if err != nil {
			return err
		}
		if p.Status != ProfileActive {
			return nil
		}
		p.Status, p.CanceledAt = ProfileCanceled, s.now()
		return putProfile(ctx, tx, p)
	})
	return lambdahost.Internal("cancel signing profile", err)
}

// RevokeSigningProfile revokes version of profile name: signatures it made
// at or after effective are no longer trusted. A profile is revoked once.
func (s *Service) RevokeSigningProfile(ctx context.Context, name, version, reason string, effective time.Time) error {
	s.init()
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return lambdahost.Internal("revoke signing profile", err)
	}
	var v lambdahost.Validation
	validProfileName(&v, "profileName", name)
	switch {
	case version == "":
		v.Add("profileVersion", "null", "Member must not be null")
	case len(version) != 10 || strings.Trim(version, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "":
		v.Add("profileVersion", lambdahost.Quote(version), "Member must satisfy regular expression pattern: ^[a-zA-Z0-9]{10}$")
	}
	validReason(&v, reason)
	if effective.IsZero() {
		v.Add("effectiveTime", "null", "Member must not be null")
	}
	if err := v.Err(); err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		p, err := readProfile(ctx, tx, c, name)
		if err != nil {
			return err
		}
		if p.Version != version {
			return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Profile %s version %s not found.", name, version)
		}
		if p.Status == ProfileRevoked {
			return lambdahost.Errorf(lambdahost.ValidationException, "Profile %s version %s is already revoked.", name, version)
		}
		p.Status = ProfileRevoked
		p.Revocation = &ProfileRevocation{EffectiveFrom: effective.UTC(), RevokedAt: s.now(), RevokedBy: requester(c), Reason: reason}
		return putProfile(ctx, tx, p)
	})
	return lambdahost.Internal("revoke signing profile", err)
}

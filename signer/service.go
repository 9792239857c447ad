package signer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// The AWS Signer API subset lambdahost serves, so that the aws CLI's
// signer commands and the SDKs' Signer clients work against it
// (https://docs.aws.amazon.com/signer/latest/api/). Profiles, their
// versions and jobs are store records:
//
//	signing-profile          <account>/<region>/<name>     SigningProfile
//	signing-profile-version  <profile version ARN>         profileVersion (keys)
//	signing-job              <account>/<region>/<jobId>    SigningJob
//	signing-job-token        <account>/<region>/<token>    job ID, for idempotency
//	signing-job-running      <account>/<region>/<jobId>    empty, while a job runs
//
// Profile versions are keyed by their ARN so that the verifier finds the
// publisher of a signature from the ARN inside it, whatever the account.
const (
	kindSigningProfile        = "signing-profile"
	kindSigningProfileVersion = "signing-profile-version"
	kindSigningJob            = "signing-job"
	kindSigningJobToken       = "signing-job-token"
	kindSigningJobRunning     = "signing-job-running"
)

// Service is lambdahost's AWS Signer: signing profiles, whose private
// keys it generates and keeps sealed with the master key, and signing
// jobs, which sign a zip read from S3 and write the signed zip back. It
// implements lambdahost.Publishers for the control plane's code signing
// checks.
type Service struct {
	store     lambdahost.Store
	blobs     lambdahost.BlobStore
	masterKey []byte

	// S3 reads the source objects of signing jobs and Objects writes the
	// signed zips. If either is nil, signing jobs fail.
	S3      lambdahost.CodeSource
	Objects lambdahost.ObjectStore
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
	// NewID returns a signing job's ID; profile versions are made from it
	// too. If nil, a random UUID is used.
	NewID func() string
	// Logger receives the service's logs. If nil, slog.Default is used.
	Logger *slog.Logger

	once sync.Once
}

var _ lambdahost.Publishers = (*Service)(nil)

// New returns the Signer over store, staging the zips of signing jobs in
// blobs and sealing profiles' private keys with masterKey
// (lambdahost.MasterKeySize bytes). Call Start before serving.
func New(store lambdahost.Store, blobs lambdahost.BlobStore, masterKey []byte) *Service {
	return &Service{store: store, blobs: blobs, masterKey: masterKey}
}

func (s *Service) init() {
	s.once.Do(func() {
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
		s.Logger = s.Logger.With(lambdahost.LogKeyComponent, "signer")
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.NewID == nil {
			s.NewID = lambdahost.NewID
		}
	})
}

// now returns the current time truncated to milliseconds in UTC, the
// precision of Signer's timestamps.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Service) newID() string { return s.NewID() }

// Start fails the signing jobs a previous process left InProgress.
func (s *Service) Start(ctx context.Context) error {
	s.init()
	return s.failInterruptedSigningJobs(ctx)
}

// SigningPlatformID is the one signing platform lambdahost offers: AWS
// Lambda's, ECDSA over P-384 with SHA-384.
const SigningPlatformID = "AWSLambda-SHA384-ECDSA"

// Signing profile statuses, as AWS Signer spells them.
const (
	ProfileActive   = "Active"
	ProfileCanceled = "Canceled"
	ProfileRevoked  = "Revoked"
)

// Signing job statuses, as AWS Signer spells them.
const (
	JobInProgress = "InProgress"
	JobFailed     = "Failed"
	JobSucceeded  = "Succeeded"
)

// Validity period units.
const (
	ValidityDays   = "DAYS"
	ValidityMonths = "MONTHS"
	ValidityYears  = "YEARS"
)

// DefaultSignatureValidity is AWS Signer's default: 135 months.
var DefaultSignatureValidity = ValidityPeriod{Value: 135, Type: ValidityMonths}

// SigningPlatform is a signing platform as GetSigningPlatform answers it.
type SigningPlatform struct {
	PlatformID                 string
	DisplayName                string
	Partner                    string
	Target                     string
	Category                   string
	EncryptionAlgorithms       []string
	DefaultEncryptionAlgorithm string
	HashAlgorithms             []string
	DefaultHashAlgorithm       string
	ImageFormats               []string
	DefaultImageFormat         string
	MaxSizeInMB                int
	RevocationSupported        bool
}

// lambdaPlatform is AWS Signer's AWSLambda-SHA384-ECDSA platform.
var lambdaPlatform = SigningPlatform{
	PlatformID:                 SigningPlatformID,
	DisplayName:                "AWS Lambda",
	Partner:                    "AWSLambda",
	Target:                     "SHA384-ECDSA",
	Category:                   "AWS",
	EncryptionAlgorithms:       []string{"ECDSA"},
	DefaultEncryptionAlgorithm: "ECDSA",
	HashAlgorithms:             []string{"SHA384"},
	DefaultHashAlgorithm:       "SHA384",
	ImageFormats:               []string{"JSONDetached"},
	DefaultImageFormat:         "JSONDetached",
	MaxSizeInMB:                250,
	RevocationSupported:        true,
}

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

// SigningJob is an AWS Signer signing job.
type SigningJob struct {
	Account            string
	Region             string
	ID                 string
	ClientRequestToken string
	Source             S3Object
	DestinationBucket  string
	DestinationPrefix  string
	ProfileName        string
	ProfileVersion     string
	PlatformID         string
	RequestedBy        string
	Status             string
	StatusReason       string
	CreatedAt          time.Time
	// CompletedAt and SignatureExpiresAt are zero until the job succeeds.
	CompletedAt        time.Time
	SignatureExpiresAt time.Time
	// SignedObject is where the signed zip was written, once it succeeded.
	SignedObject *S3Object
	// Revocation is set once RevokeSignature revoked the job's signature.
	Revocation *JobRevocation
}

// S3Object names an object: a signing job's source (with Version) or the
// signed object it wrote (without).
type S3Object struct {
	Bucket  string
	Key     string
	Version string
}

// JobRevocation records RevokeSignature.
type JobRevocation struct {
	Reason    string
	RevokedAt time.Time
	RevokedBy string
}

// ARN is arn:aws:signer:<region>:<account>:/signing-jobs/<jobId>.
func (j *SigningJob) ARN() string {
	return fmt.Sprintf("arn:aws:signer:%s:%s:/signing-jobs/%s", j.Region, j.Account, j.ID)
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

// StartSigningJobInput is StartSigningJob's request.
type StartSigningJobInput struct {
	Source             S3Object
	DestinationBucket  string
	DestinationPrefix  string
	ProfileName        string
	ProfileOwner       string
	ClientRequestToken string
}

// ListSigningJobsInput is ListSigningJobs' request.
type ListSigningJobsInput struct {
	Status                 string
	PlatformID             string
	RequestedBy            string
	IsRevoked              *bool
	SignatureExpiresBefore time.Time
	SignatureExpiresAfter  time.Time
	JobInvoker             string
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

// GetSigningPlatform returns the platform named id; ResourceNotFoundException
// for any but AWSLambda-SHA384-ECDSA.
func (s *Service) GetSigningPlatform(ctx context.Context, id string) (*SigningPlatform, error) {
	if id != SigningPlatformID {
		return nil, lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Platform %s not found.", id)
	}
	p := lambdaPlatform
	return &p, nil
}

// ListSigningPlatforms returns the platforms matching the filters given
// (empty ones match all).
func (s *Service) ListSigningPlatforms(ctx context.Context, category, partner, target string) []SigningPlatform {
	p := lambdaPlatform
	if (category != "" && category != p.Category) || (partner != "" && partner != p.Partner) || (target != "" && target != p.Target) {
		return []SigningPlatform{}
	}
	return []SigningPlatform{p}
}

// profileKey is a profile's record key.
func profileKey(account, region, name string) string { return account + "/" + region + "/" + name }

// requester is the identity AWS Signer records as requestedBy and revokedBy.
func requester(c lambdahost.Caller) string {
	return fmt.Sprintf("arn:aws:iam::%s:user/%s", c.Account, c.AccessKey)
}

func profileNotFound(name string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Profile %s not found.", name)
}

// ownAccount checks an optional owner member: lambdahost has no
// cross-account profile permissions, so naming another account is denied.
func ownAccount(c lambdahost.Caller, member, owner, resource string) error {
	if owner == "" || owner == c.Account {
		return nil
	}
	if len(owner) != 12 || strings.Trim(owner, "0123456789") != "" {
		var v lambdahost.Validation
		v.Add(member, lambdahost.Quote(owner), "Member must satisfy regular expression pattern: ^[0-9]{12}$")
		return v.Err()
	}
	return lambdahost.AccessDenied(c, resource)
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

// maxListResults is the model's maximum of maxResults.
const maxListResults = 25

func listLimit(n int) (int, error) {
	if n == 0 {
		return maxListResults, nil
	}
	if n < 1 || n > maxListResults {
		var v lambdahost.Validation
		v.Add("maxResults", fmt.Sprint(n), fmt.Sprintf("Member must have value between 1 and %d", maxListResults))
		return 0, v.Err()
	}
	return n, nil
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

// validReason adds the model's constraints on a revocation reason to v.
func validReason(v *lambdahost.Validation, reason string) {
	switch {
	case reason == "":
		v.Add("reason", "null", "Member must not be null")
	case len(reason) > 500:
		v.Add("reason", lambdahost.Quote(reason), "Member must have length less than or equal to 500")
	}
}

// jobKey is a job's record key.
func jobKey(account, region, id string) string { return account + "/" + region + "/" + id }

func jobNotFound(id string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Job %s not found.", id)
}

func readJob(ctx context.Context, tx lambdahost.Tx, account, region, id string) (*SigningJob, error) {
	j, err := lambdahost.GetRecord[SigningJob](ctx, tx, kindSigningJob, jobKey(account, region, id))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, jobNotFound(id)
	}
	return j, err
}

func putJob(ctx context.Context, tx lambdahost.Tx, j *SigningJob) error {
	return lambdahost.PutRecord(ctx, tx, kindSigningJob, jobKey(j.Account, j.Region, j.ID), j)
}

// StartSigningJob signs the zip at Source (an S3 object version) with the
// profile's key and writes it to <DestinationPrefix><jobId>.zip in
// DestinationBucket. The job runs before StartSigningJob returns; its
// outcome (Succeeded, or Failed with a statusReason, as for a source that
// does not exist) is recorded and read with DescribeSigningJob. A second
// call with the same ClientRequestToken answers the first call's job.
func (s *Service) StartSigningJob(ctx context.Context, in StartSigningJobInput) (*SigningJob, error) {
	s.init()
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return nil, lambdahost.Internal("start signing job", err)
	}
	var v lambdahost.Validation
	validProfileName(&v, "profileName", in.ProfileName)
	if in.Source.Bucket == "" {
		v.Add("source.s3.bucketName", "null", "Member must not be null")
	}
	if in.Source.Key == "" {
		v.Add("source.s3.key", "null", "Member must not be null")
	}
	if in.Source.Version == "" {
		v.Add("source.s3.version", "null", "Member must not be null")
	}
	if in.DestinationBucket == "" {
		v.Add("destination.s3.bucketName", "null", "Member must not be null")
	}
	if in.ClientRequestToken == "" {
		v.Add("clientRequestToken", "null", "Member must not be null")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := ownAccount(c, "profileOwner", in.ProfileOwner, fmt.Sprintf("arn:aws:signer:%s:%s:/signing-profiles/%s", c.Region, in.ProfileOwner, in.ProfileName)); err != nil {
		return nil, err
	}

	now := s.now()
	job := &SigningJob{
		Account: c.Account, Region: c.Region, ID: s.newID(),
		ClientRequestToken: in.ClientRequestToken,
		Source:             in.Source,
		DestinationBucket:  in.DestinationBucket, DestinationPrefix: in.DestinationPrefix,
		ProfileName: in.ProfileName,
		RequestedBy: requester(c),
		Status:      JobInProgress,
		CreatedAt:   now,
	}
	var (
		profile *SigningProfile
		ver     *profileVersion
		earlier *SigningJob
	)
	tokenKey := jobKey(c.Account, c.Region, in.ClientRequestToken)
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		id, err := tx.Record(ctx, kindSigningJobToken, tokenKey)
		if err == nil {
			earlier, err = readJob(ctx, tx, c.Account, c.Region, string(id))
			return err
		}
		if !errors.Is(err, lambdahost.ErrNotFound) {
			return err
		}
		profile, err = readProfile(ctx, tx, c, in.ProfileName)
		if err != nil {
			return err
		}
		if profile.Status != ProfileActive {
			return lambdahost.Errorf(lambdahost.ValidationException, "Signing profile %s is %s; only an Active profile can sign.", profile.Name, strings.ToLower(profile.Status))
		}
		ver, err = lambdahost.GetRecord[profileVersion](ctx, tx, kindSigningProfileVersion, profile.VersionARN())
		if err != nil {
			return fmt.Errorf("read profile version %s: %w", profile.VersionARN(), err)
		}
		job.ProfileVersion, job.PlatformID = profile.Version, profile.PlatformID
		if err := tx.CreateRecord(ctx, kindSigningJobToken, tokenKey, []byte(job.ID)); err != nil {
			return err
		}
		if err := tx.CreateRecord(ctx, kindSigningJobRunning, jobKey(job.Account, job.Region, job.ID), []byte{}); err != nil {
			return err
		}
		return lambdahost.CreateRecord(ctx, tx, kindSigningJob, jobKey(job.Account, job.Region, job.ID), job)
	})
	if err != nil {
		return nil, lambdahost.Internal("start signing job", err)
	}
	if earlier != nil {
		return earlier, nil
	}

	// The job is recorded InProgress; run it, then record its outcome.
	// Its outcome must be recorded even if the caller goes away.
	rctx := context.WithoutCancel(ctx)
	signed, expires, runErr := s.runSigningJob(rctx, job, profile, ver)
	done := s.now()
	if runErr != nil {
		job.Status = JobFailed
		job.StatusReason = failureReason(runErr)
		s.Logger.WarnContext(ctx, "signing job failed", "job", job.ARN(), lambdahost.LogKeyError, runErr)
	} else {
		job.Status = JobSucceeded
		job.CompletedAt = done
		job.SignatureExpiresAt = expires
		job.SignedObject = signed
	}
	if err := s.store.Update(rctx, func(tx lambdahost.Tx) error { return finishJob(rctx, tx, job) }); err != nil {
		return nil, lambdahost.Internal("record signing job", err)
	}
	return job, nil
}

// finishJob records a job's outcome and that it no longer runs.
func finishJob(ctx context.Context, tx lambdahost.Tx, j *SigningJob) error {
	if err := putJob(ctx, tx, j); err != nil {
		return err
	}
	return tx.DeleteRecord(ctx, kindSigningJobRunning, jobKey(j.Account, j.Region, j.ID))
}

// interruptedReason is the statusReason of a job whose process stopped
// while it ran.
const interruptedReason = "The signing job was interrupted before it completed."

// failInterruptedSigningJobs fails the jobs a previous process left
// InProgress (it stopped between recording a job and its outcome), so that
// DescribeSigningJob and the CLI's waiter see an end. Jobs run in the
// process that started them, so at start-up none of them still runs.
func (s *Service) failInterruptedSigningJobs(ctx context.Context) error {
	var running []lambdahost.Record
	if err := s.store.View(ctx, func(tx lambdahost.Tx) error {
		var err error
		running, err = tx.ListRecords(ctx, kindSigningJobRunning, "", "", 0)
		return err
	}); err != nil {
		return fmt.Errorf("find running signing jobs: %w", err)
	}
	for _, r := range running {
		account, rest, _ := strings.Cut(r.Key, "/")
		region, id, _ := strings.Cut(rest, "/")
		err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
			j, err := readJob(ctx, tx, account, region, id)
			if lambdahost.ErrorTypeOf(err) == lambdahost.ResourceNotFoundException {
				return tx.DeleteRecord(ctx, kindSigningJobRunning, r.Key)
			}
			if err != nil {
				return err
			}
			if j.Status == JobInProgress {
				j.Status, j.StatusReason = JobFailed, interruptedReason
				s.Logger.InfoContext(ctx, "failing signing job left in progress", "job", j.ARN())
			}
			return finishJob(ctx, tx, j)
		})
		if err != nil {
			return fmt.Errorf("fail interrupted signing job %s: %w", r.Key, err)
		}
	}
	return nil
}

// failureReason is the statusReason of a failed job: an API error's
// message, or a generic one whose cause is only logged.
func failureReason(err error) string {
	var e *lambdahost.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// runSigningJob fetches the job's source, signs it and writes the signed
// zip. It returns where it wrote it and when the signature expires.
func (s *Service) runSigningJob(ctx context.Context, job *SigningJob, p *SigningProfile, ver *profileVersion) (*S3Object, time.Time, error) {
	if s.S3 == nil || s.Objects == nil {
		return nil, time.Time{}, lambdahost.Errorf(lambdahost.ValidationException, "No S3 endpoint is configured for signing jobs.")
	}
	key, err := s.unsealKey(p.VersionARN(), ver)
	if err != nil {
		return nil, time.Time{}, err
	}
	src, err := s.blobs.Create(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer src.Abort()
	loc := lambdahost.CodeLocation{S3Bucket: job.Source.Bucket, S3Key: job.Source.Key, S3ObjectVersion: job.Source.Version}
	if _, err := s.S3.Fetch(ctx, job.Account, loc, src); err != nil {
		return nil, time.Time{}, err
	}
	if src.Size() == 0 {
		return nil, time.Time{}, lambdahost.Errorf(lambdahost.ValidationException, "The source object is empty.")
	}
	// AWS Signer fails a job whose zip already carries a signature.
	if _, err := lambdahost.ReadCodeSignature(src, src.Size()); !errors.Is(err, lambdahost.ErrNotSigned) {
		return nil, time.Time{}, lambdahost.Errorf(lambdahost.ValidationException, "The source object is already signed.")
	}
	out, err := s.blobs.Create(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer out.Abort()
	signedAt := s.now()
	sig := lambdahost.CodeSignature{
		ProfileVersionARN: p.VersionARN(),
		JobARN:            job.ARN(),
		SignedAt:          signedAt,
		ExpiresAt:         p.Validity.After(signedAt),
	}
	if err := lambdahost.SignZip(src, src.Size(), out, sig, key); err != nil {
		return nil, time.Time{}, invalidSource(err)
	}
	dst := &S3Object{Bucket: job.DestinationBucket, Key: job.DestinationPrefix + job.ID + ".zip"}
	if err := s.Objects.PutObject(ctx, job.Account, dst.Bucket, dst.Key, io.NewSectionReader(out, 0, out.Size()), out.Size()); err != nil {
		return nil, time.Time{}, err
	}
	return dst, sig.ExpiresAt, nil
}

// invalidSource words SignZip's refusal of the source (not a zip) for the
// job's statusReason.
func invalidSource(err error) error {
	e := lambdahost.Errorf(lambdahost.ValidationException, "The source object is not a valid zip file.")
	e.Err = err
	return e
}

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

// DescribeSigningJob returns the caller's job id.
func (s *Service) DescribeSigningJob(ctx context.Context, id string) (*SigningJob, error) {
	s.init()
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return nil, lambdahost.Internal("describe signing job", err)
	}
	var j *SigningJob
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		j, err = readJob(ctx, tx, c.Account, c.Region, id)
		return err
	})
	return j, lambdahost.Internal("describe signing job", err)
}

// ListSigningJobs lists the caller's jobs that match the filters, in job
// ID order. NextToken is the last job ID answered.
func (s *Service) ListSigningJobs(ctx context.Context, in ListSigningJobsInput) ([]*SigningJob, string, error) {
	s.init()
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return nil, "", lambdahost.Internal("list signing jobs", err)
	}
	limit, err := listLimit(in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	if in.Status != "" && in.Status != JobInProgress && in.Status != JobFailed && in.Status != JobSucceeded {
		var v lambdahost.Validation
		v.Add("status", lambdahost.Quote(in.Status), "Member must satisfy enum value set: [InProgress, Failed, Succeeded]")
		return nil, "", v.Err()
	}
	keep := func(j *SigningJob) bool {
		switch {
		case in.Status != "" && j.Status != in.Status,
			in.PlatformID != "" && j.PlatformID != in.PlatformID,
			in.RequestedBy != "" && j.RequestedBy != in.RequestedBy,
			in.JobInvoker != "" && j.Account != in.JobInvoker,
			in.IsRevoked != nil && (j.Revocation != nil) != *in.IsRevoked,
			!in.SignatureExpiresBefore.IsZero() && (j.SignatureExpiresAt.IsZero() || !j.SignatureExpiresAt.Before(in.SignatureExpiresBefore)),
			!in.SignatureExpiresAfter.IsZero() && (j.SignatureExpiresAt.IsZero() || !j.SignatureExpiresAt.After(in.SignatureExpiresAfter)):
			return false
		}
		return true
	}
	prefix := jobKey(c.Account, c.Region, "")
	var out []*SigningJob
	var next string
	err = s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		out, next, err = lambdahost.ScanRecords(ctx, tx, kindSigningJob, prefix, in.NextToken, limit, keep, func(j *SigningJob) string { return j.ID })
		return err
	})
	if err != nil {
		return nil, "", lambdahost.Internal("list signing jobs", err)
	}
	return out, next, nil
}

// RevokeSignature revokes the signature the caller's job id made.
// Revoking it again changes nothing.
func (s *Service) RevokeSignature(ctx context.Context, id, owner, reason string) error {
	s.init()
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return lambdahost.Internal("revoke signature", err)
	}
	var v lambdahost.Validation
	validReason(&v, reason)
	if err := v.Err(); err != nil {
		return err
	}
	if err := ownAccount(c, "jobOwner", owner, fmt.Sprintf("arn:aws:signer:%s:%s:/signing-jobs/%s", c.Region, owner, id)); err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		j, err := readJob(ctx, tx, c.Account, c.Region, id)
		if err != nil {
			return err
		}
		if j.Revocation != nil {
			return nil
		}
		j.Revocation = &JobRevocation{Reason: reason, RevokedAt: s.now(), RevokedBy: requester(c)}
		return putJob(ctx, tx, j)
	})
	return lambdahost.Internal("revoke signature", err)
}

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

// parseJobARN splits arn:aws:signer:<region>:<account>:/signing-jobs/<id>.
func parseJobARN(arn string) (region, account, id string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "signer" {
		return "", "", "", false
	}
	id, ok = strings.CutPrefix(parts[5], "/signing-jobs/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", "", "", false
	}
	return parts[3], parts[4], id, true
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

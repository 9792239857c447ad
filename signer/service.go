package signer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Profiles (profile.go), their versions and jobs (job.go) are store
// records:
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
	// Node is this process among those serving the store (see
	// lambdahost.Coordinator): a signing job is claimed by the node that
	// runs it, and failed by another once that node is gone. If empty,
	// a new node ID, which no other process has.
	Node string

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
		if s.Node == "" {
			s.Node = lambdahost.NewNodeID()
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
	return s.Sweep(ctx)
}

// Sweep fails the signing jobs left InProgress by a node that is gone.
// Start runs it; serving nodes run it regularly.
func (s *Service) Sweep(ctx context.Context) error {
	s.init()
	return s.failInterruptedSigningJobs(ctx)
}

// requester is the identity AWS Signer records as requestedBy and revokedBy.
func requester(c lambdahost.Caller) string {
	return fmt.Sprintf("arn:aws:iam::%s:user/%s", c.Account, c.AccessKey)
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

// validReason adds the model's constraints on a revocation reason to v.
func validReason(v *lambdahost.Validation, reason string) {
	switch {
	case reason == "":
		v.Add("reason", "null", "Member must not be null")
	case len(reason) > 500:
		v.Add("reason", lambdahost.Quote(reason), "Member must have length less than or equal to 500")
	}
}

package signer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Signing job statuses, as AWS Signer spells them.
const (
	JobInProgress = "InProgress"
	JobFailed     = "Failed"
	JobSucceeded  = "Succeeded"
)

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
		// This node runs the job; if it dies, another fails it (Sweep).
		if _, err := tx.Claim(ctx, kindSigningJobRunning, jobKey(job.Account, job.Region, job.ID), s.Node); err != nil {
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
	if err := s.store.Update(rctx, func(tx lambdahost.Tx) error { return s.finishJob(rctx, tx, job) }); err != nil {
		return nil, lambdahost.Internal("record signing job", err)
	}
	return job, nil
}

// finishJob records a job's outcome and that it no longer runs.
func (s *Service) finishJob(ctx context.Context, tx lambdahost.Tx, j *SigningJob) error {
	if err := putJob(ctx, tx, j); err != nil {
		return err
	}
	key := jobKey(j.Account, j.Region, j.ID)
	if err := tx.Unclaim(ctx, kindSigningJobRunning, key, s.Node); err != nil {
		return err
	}
	return tx.DeleteRecord(ctx, kindSigningJobRunning, key)
}

// interruptedReason is the statusReason of a job whose process stopped
// while it ran.
const interruptedReason = "The signing job was interrupted before it completed."

// failInterruptedSigningJobs fails the jobs a node that is gone left
// InProgress (it stopped between recording a job and its outcome), so that
// DescribeSigningJob and the CLI's waiter see an end. A job runs in the
// node that started it, which claims it; a job whose claim another node
// can take has lost its node.
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
			if won, err := tx.Claim(ctx, kindSigningJobRunning, r.Key, s.Node); err != nil || !won {
				return err // a live node runs it
			}
			j, err := readJob(ctx, tx, account, region, id)
			if lambdahost.ErrorTypeOf(err) == lambdahost.ResourceNotFoundException {
				if err := tx.Unclaim(ctx, kindSigningJobRunning, r.Key, s.Node); err != nil {
					return err
				}
				return tx.DeleteRecord(ctx, kindSigningJobRunning, r.Key)
			}
			if err != nil {
				return err
			}
			if j.Status == JobInProgress {
				j.Status, j.StatusReason = JobFailed, interruptedReason
				s.Logger.InfoContext(ctx, "failing signing job left in progress", "job", j.ARN())
			}
			return s.finishJob(ctx, tx, j)
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

package signer

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/sigv4"
)

// Server serves the AWS Signer API subset (REST-JSON, signing name
// "signer"), as the 2017-08-25 model AWS's SDKs ship describes it:
// https://docs.aws.amazon.com/signer/latest/api/.
type Server struct {
	service *Service
	auth    *awsapi.Auth
	mux     *http.ServeMux

	// Logger receives request logs. If nil, slog.Default is used.
	Logger *slog.Logger
	// NewRequestID returns a request ID. If nil, a random UUID is used.
	NewRequestID func() string
}

// NewServer returns a Server for service, authenticating with verifier.
func NewServer(service *Service, verifier *sigv4.Verifier) *Server {
	s := &Server{service: service, mux: http.NewServeMux()}
	s.auth = &awsapi.Auth{Verifier: verifier, Service: "signer", WriteError: s.writeError}
	s.routes()
	return s
}

// routes registers every operation, named as AWS names it.
func (s *Server) routes() {
	s.handle("GET /signing-platforms", "ListSigningPlatforms", s.handleListSigningPlatforms)
	s.handle("GET /signing-platforms/{platformId}", "GetSigningPlatform", s.handleGetSigningPlatform)
	s.handle("GET /signing-profiles", "ListSigningProfiles", s.handleListSigningProfiles)
	s.handle("PUT /signing-profiles/{profileName}", "PutSigningProfile", s.handlePutSigningProfile)
	s.handle("GET /signing-profiles/{profileName}", "GetSigningProfile", s.handleGetSigningProfile)
	s.handle("DELETE /signing-profiles/{profileName}", "CancelSigningProfile", s.handleCancelSigningProfile)
	s.handle("PUT /signing-profiles/{profileName}/revoke", "RevokeSigningProfile", s.handleRevokeSigningProfile)
	s.handle("POST /signing-jobs", "StartSigningJob", s.handleStartSigningJob)
	s.handle("GET /signing-jobs", "ListSigningJobs", s.handleListSigningJobs)
	s.handle("GET /signing-jobs/{jobId}", "DescribeSigningJob", s.handleDescribeSigningJob)
	s.handle("PUT /signing-jobs/{jobId}/revoke", "RevokeSignature", s.handleRevokeSignature)
	s.handle("/", "", s.handleUnknown)
}

// handle registers h, authenticated, as operation op.
func (s *Server) handle(pattern, op string, h http.HandlerFunc) {
	authed := s.auth.Buffered(h)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		authed(w, awsapi.WithOperation(r, op))
	})
}

// handleUnknown answers a Signer path and method that is no operation.
func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, lambdahost.Errorf(lambdahost.UnknownOperationException, "Unknown operation %s %s", r.Method, r.URL.EscapedPath()))
}

// SigningName is "signer".
func (s *Server) SigningName() string { return "signer" }

// resources are the first path segments of Signer's operations.
var resources = []string{"/signing-platforms", "/signing-profiles", "/signing-jobs"}

// Serves reports whether r's path is one of Signer's resources.
func (s *Server) Serves(r *http.Request) bool {
	for _, p := range resources {
		if rest, ok := strings.CutPrefix(r.URL.Path, p); ok && (rest == "" || rest[0] == '/') {
			return true
		}
	}
	return false
}

// ServeHTTP gives r an ID, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, awsapi.StartRequest(w, r, s.NewRequestID))
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// writeError is the one writer of Signer's errors: REST-JSON as Signer
// writes them, {"message": ...} with no Type member, and
// InternalServiceErrorException for an internal error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	awsapi.RESTJSON{Logger: s.logger(), Internal: lambdahost.InternalServiceErrorException}.WriteError(w, r, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) { awsapi.WriteJSON(w, status, v) }

// decodeSigner decodes a Signer request body into v.
func decodeSigner(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		e := lambdahost.Errorf(lambdahost.ValidationException, "Could not parse request body into json.")
		e.Err = err
		return e
	}
	return nil
}

// Wire shapes.

type algorithmOptions struct {
	AllowedValues []string `json:"allowedValues"`
	DefaultValue  string   `json:"defaultValue"`
}

type signingConfigurationWire struct {
	EncryptionAlgorithmOptions algorithmOptions `json:"encryptionAlgorithmOptions"`
	HashAlgorithmOptions       algorithmOptions `json:"hashAlgorithmOptions"`
}

type signingImageFormatWire struct {
	SupportedFormats []string `json:"supportedFormats"`
	DefaultFormat    string   `json:"defaultFormat"`
}

type signingPlatformWire struct {
	PlatformID           string                   `json:"platformId"`
	DisplayName          string                   `json:"displayName"`
	Partner              string                   `json:"partner"`
	Target               string                   `json:"target"`
	Category             string                   `json:"category"`
	SigningConfiguration signingConfigurationWire `json:"signingConfiguration"`
	SigningImageFormat   signingImageFormatWire   `json:"signingImageFormat"`
	MaxSizeInMB          int                      `json:"maxSizeInMB"`
	RevocationSupported  bool                     `json:"revocationSupported"`
}

func platformWire(p *SigningPlatform) signingPlatformWire {
	return signingPlatformWire{
		PlatformID: p.PlatformID, DisplayName: p.DisplayName, Partner: p.Partner, Target: p.Target, Category: p.Category,
		SigningConfiguration: signingConfigurationWire{
			EncryptionAlgorithmOptions: algorithmOptions{AllowedValues: p.EncryptionAlgorithms, DefaultValue: p.DefaultEncryptionAlgorithm},
			HashAlgorithmOptions:       algorithmOptions{AllowedValues: p.HashAlgorithms, DefaultValue: p.DefaultHashAlgorithm},
		},
		SigningImageFormat:  signingImageFormatWire{SupportedFormats: p.ImageFormats, DefaultFormat: p.DefaultImageFormat},
		MaxSizeInMB:         p.MaxSizeInMB,
		RevocationSupported: p.RevocationSupported,
	}
}

type validityWire struct {
	Value int    `json:"value"`
	Type  string `json:"type"`
}

type profileRevocationWire struct {
	RevocationEffectiveFrom *awsapi.Epoch `json:"revocationEffectiveFrom,omitempty"`
	RevokedAt               *awsapi.Epoch `json:"revokedAt,omitempty"`
	RevokedBy               string        `json:"revokedBy,omitempty"`
}

// signingProfileWire is GetSigningProfile's response and, without
// revocationRecord and statusReason, ListSigningProfiles' SigningProfile.
type signingProfileWire struct {
	ProfileName             string                 `json:"profileName"`
	ProfileVersion          string                 `json:"profileVersion"`
	ProfileVersionArn       string                 `json:"profileVersionArn"`
	RevocationRecord        *profileRevocationWire `json:"revocationRecord,omitempty"`
	PlatformID              string                 `json:"platformId"`
	PlatformDisplayName     string                 `json:"platformDisplayName"`
	SignatureValidityPeriod validityWire           `json:"signatureValidityPeriod"`
	SigningParameters       map[string]string      `json:"signingParameters,omitempty"`
	Status                  string                 `json:"status"`
	Arn                     string                 `json:"arn"`
	Tags                    map[string]string      `json:"tags,omitempty"`
}

func profileWire(p *SigningProfile, withRevocation bool) signingProfileWire {
	w := signingProfileWire{
		ProfileName: p.Name, ProfileVersion: p.Version, ProfileVersionArn: p.VersionARN(),
		PlatformID: p.PlatformID, PlatformDisplayName: platformDisplayName(p.PlatformID),
		SignatureValidityPeriod: validityWire{Value: p.Validity.Value, Type: p.Validity.Type},
		SigningParameters:       p.Parameters,
		Status:                  p.Status,
		Arn:                     p.ARN(),
		Tags:                    p.Tags,
	}
	if withRevocation && p.Revocation != nil {
		w.RevocationRecord = &profileRevocationWire{
			RevocationEffectiveFrom: awsapi.EpochPtr(p.Revocation.EffectiveFrom),
			RevokedAt:               awsapi.EpochPtr(p.Revocation.RevokedAt),
			RevokedBy:               p.Revocation.RevokedBy,
		}
	}
	return w
}

func platformDisplayName(id string) string {
	if id == SigningPlatformID {
		return "AWS Lambda"
	}
	return ""
}

type s3SourceWire struct {
	BucketName string `json:"bucketName"`
	Key        string `json:"key"`
	Version    string `json:"version"`
}

type sourceWire struct {
	S3 *s3SourceWire `json:"s3,omitempty"`
}

type s3DestinationWire struct {
	BucketName string `json:"bucketName"`
	Prefix     string `json:"prefix"`
}

type destinationWire struct {
	S3 *s3DestinationWire `json:"s3,omitempty"`
}

type s3SignedObjectWire struct {
	BucketName string `json:"bucketName"`
	Key        string `json:"key"`
}

type signedObjectWire struct {
	S3 *s3SignedObjectWire `json:"s3,omitempty"`
}

type jobRevocationWire struct {
	Reason    string        `json:"reason,omitempty"`
	RevokedAt *awsapi.Epoch `json:"revokedAt,omitempty"`
	RevokedBy string        `json:"revokedBy,omitempty"`
}

type describeSigningJobResponse struct {
	JobID               string             `json:"jobId"`
	Source              sourceWire         `json:"source"`
	PlatformID          string             `json:"platformId,omitempty"`
	PlatformDisplayName string             `json:"platformDisplayName,omitempty"`
	ProfileName         string             `json:"profileName"`
	ProfileVersion      string             `json:"profileVersion,omitempty"`
	CreatedAt           awsapi.Epoch       `json:"createdAt"`
	CompletedAt         *awsapi.Epoch      `json:"completedAt,omitempty"`
	SignatureExpiresAt  *awsapi.Epoch      `json:"signatureExpiresAt,omitempty"`
	RequestedBy         string             `json:"requestedBy"`
	Status              string             `json:"status"`
	StatusReason        string             `json:"statusReason,omitempty"`
	RevocationRecord    *jobRevocationWire `json:"revocationRecord,omitempty"`
	SignedObject        *signedObjectWire  `json:"signedObject,omitempty"`
	JobOwner            string             `json:"jobOwner"`
	JobInvoker          string             `json:"jobInvoker"`
}

func jobSource(j *SigningJob) sourceWire {
	return sourceWire{S3: &s3SourceWire{BucketName: j.Source.Bucket, Key: j.Source.Key, Version: j.Source.Version}}
}

func jobSigned(j *SigningJob) *signedObjectWire {
	if j.SignedObject == nil {
		return nil
	}
	return &signedObjectWire{S3: &s3SignedObjectWire{BucketName: j.SignedObject.Bucket, Key: j.SignedObject.Key}}
}

func jobWire(j *SigningJob) describeSigningJobResponse {
	w := describeSigningJobResponse{
		JobID: j.ID, Source: jobSource(j),
		PlatformID: j.PlatformID, PlatformDisplayName: platformDisplayName(j.PlatformID),
		ProfileName: j.ProfileName, ProfileVersion: j.ProfileVersion,
		CreatedAt:          awsapi.Epoch(j.CreatedAt),
		CompletedAt:        awsapi.EpochPtr(j.CompletedAt),
		SignatureExpiresAt: awsapi.EpochPtr(j.SignatureExpiresAt),
		RequestedBy:        j.RequestedBy,
		Status:             j.Status, StatusReason: j.StatusReason,
		SignedObject: jobSigned(j),
		JobOwner:     j.Account, JobInvoker: j.Account,
	}
	if r := j.Revocation; r != nil {
		w.RevocationRecord = &jobRevocationWire{Reason: r.Reason, RevokedAt: awsapi.EpochPtr(r.RevokedAt), RevokedBy: r.RevokedBy}
	}
	return w
}

// signingJobWire is ListSigningJobs' SigningJob.
type signingJobWire struct {
	JobID               string            `json:"jobId"`
	Source              sourceWire        `json:"source"`
	SignedObject        *signedObjectWire `json:"signedObject,omitempty"`
	CreatedAt           awsapi.Epoch      `json:"createdAt"`
	Status              string            `json:"status"`
	IsRevoked           bool              `json:"isRevoked"`
	ProfileName         string            `json:"profileName"`
	ProfileVersion      string            `json:"profileVersion,omitempty"`
	PlatformID          string            `json:"platformId,omitempty"`
	PlatformDisplayName string            `json:"platformDisplayName,omitempty"`
	SignatureExpiresAt  *awsapi.Epoch     `json:"signatureExpiresAt,omitempty"`
	JobOwner            string            `json:"jobOwner"`
	JobInvoker          string            `json:"jobInvoker"`
}

// Handlers.

func (s *Server) handleGetSigningPlatform(w http.ResponseWriter, r *http.Request) {
	p, err := s.service.GetSigningPlatform(r.Context(), r.PathValue("platformId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, platformWire(p))
}

type listSigningPlatformsResponse struct {
	Platforms []signingPlatformWire `json:"platforms"`
	NextToken string                `json:"nextToken,omitempty"`
}

func (s *Server) handleListSigningPlatforms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, err := queryMaxResults(q.Get("maxResults")); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := listSigningPlatformsResponse{Platforms: []signingPlatformWire{}}
	for _, p := range s.service.ListSigningPlatforms(r.Context(), q.Get("category"), q.Get("partner"), q.Get("target")) {
		out.Platforms = append(out.Platforms, platformWire(&p))
	}
	writeJSON(w, http.StatusOK, out)
}

// queryMaxResults parses the maxResults query parameter; 0 if absent.
func queryMaxResults(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 25 {
		var val lambdahost.Validation
		val.Add("maxResults", v, "Member must have value between 1 and 25")
		return 0, val.Err()
	}
	return n, nil
}

// queryBool parses a boolean query parameter.
func queryBool(name, v string) (*bool, error) {
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, lambdahost.Errorf(lambdahost.ValidationException, "Invalid value for %s: %s", name, v)
	}
	return &b, nil
}

type putSigningProfileRequest struct {
	PlatformID              string            `json:"platformId"`
	SignatureValidityPeriod *validityWire     `json:"signatureValidityPeriod"`
	SigningParameters       map[string]string `json:"signingParameters"`
	Tags                    map[string]string `json:"tags"`
	SigningMaterial         *struct {
		CertificateArn string `json:"certificateArn"`
	} `json:"signingMaterial"`
}

type putSigningProfileResponse struct {
	Arn               string `json:"arn"`
	ProfileVersion    string `json:"profileVersion"`
	ProfileVersionArn string `json:"profileVersionArn"`
}

func (s *Server) handlePutSigningProfile(w http.ResponseWriter, r *http.Request) {
	var req putSigningProfileRequest
	if err := decodeSigner(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.SigningMaterial != nil {
		// The Lambda platform signs with keys Signer manages; there is no
		// certificate to name (and no ACM behind lambdahost).
		s.writeError(w, r, lambdahost.Errorf(lambdahost.ValidationException, "Signing material is not supported for platform %s.", req.PlatformID))
		return
	}
	in := PutSigningProfileInput{
		Name: r.PathValue("profileName"), PlatformID: req.PlatformID,
		Parameters: req.SigningParameters, Tags: req.Tags,
	}
	if v := req.SignatureValidityPeriod; v != nil {
		in.Validity = &ValidityPeriod{Value: v.Value, Type: v.Type}
	}
	p, err := s.service.PutSigningProfile(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, putSigningProfileResponse{Arn: p.ARN(), ProfileVersion: p.Version, ProfileVersionArn: p.VersionARN()})
}

func (s *Server) handleGetSigningProfile(w http.ResponseWriter, r *http.Request) {
	p, err := s.service.GetSigningProfile(r.Context(), r.PathValue("profileName"), r.URL.Query().Get("profileOwner"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, profileWire(p, true))
}

type listSigningProfilesResponse struct {
	Profiles  []signingProfileWire `json:"profiles"`
	NextToken string               `json:"nextToken,omitempty"`
}

func (s *Server) handleListSigningProfiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := queryMaxResults(q.Get("maxResults"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	canceled, err := queryBool("includeCanceled", q.Get("includeCanceled"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in := ListSigningProfilesInput{
		IncludeCanceled: canceled != nil && *canceled,
		PlatformID:      q.Get("platformId"), Statuses: q["statuses"],
		MaxResults: n, NextToken: q.Get("nextToken"),
	}
	ps, next, err := s.service.ListSigningProfiles(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := listSigningProfilesResponse{Profiles: []signingProfileWire{}, NextToken: next}
	for _, p := range ps {
		out.Profiles = append(out.Profiles, profileWire(p, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCancelSigningProfile(w http.ResponseWriter, r *http.Request) {
	if err := s.service.CancelSigningProfile(r.Context(), r.PathValue("profileName")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

type revokeSigningProfileRequest struct {
	ProfileVersion string        `json:"profileVersion"`
	Reason         string        `json:"reason"`
	EffectiveTime  *awsapi.Epoch `json:"effectiveTime"`
}

func (s *Server) handleRevokeSigningProfile(w http.ResponseWriter, r *http.Request) {
	var req revokeSigningProfileRequest
	if err := decodeSigner(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var effective time.Time
	if req.EffectiveTime != nil {
		effective = time.Time(*req.EffectiveTime)
	}
	if err := s.service.RevokeSigningProfile(r.Context(), r.PathValue("profileName"), req.ProfileVersion, req.Reason, effective); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

type startSigningJobRequest struct {
	Source             sourceWire      `json:"source"`
	Destination        destinationWire `json:"destination"`
	ProfileName        string          `json:"profileName"`
	ClientRequestToken string          `json:"clientRequestToken"`
	ProfileOwner       string          `json:"profileOwner"`
}

type startSigningJobResponse struct {
	JobID    string `json:"jobId"`
	JobOwner string `json:"jobOwner"`
}

func (s *Server) handleStartSigningJob(w http.ResponseWriter, r *http.Request) {
	var req startSigningJobRequest
	if err := decodeSigner(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := StartSigningJobInput{
		ProfileName: req.ProfileName, ProfileOwner: req.ProfileOwner, ClientRequestToken: req.ClientRequestToken,
	}
	if src := req.Source.S3; src != nil {
		in.Source = S3Object{Bucket: src.BucketName, Key: src.Key, Version: src.Version}
	}
	if dst := req.Destination.S3; dst != nil {
		in.DestinationBucket, in.DestinationPrefix = dst.BucketName, dst.Prefix
	}
	j, err := s.service.StartSigningJob(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, startSigningJobResponse{JobID: j.ID, JobOwner: j.Account})
}

func (s *Server) handleDescribeSigningJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.service.DescribeSigningJob(r.Context(), r.PathValue("jobId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobWire(j))
}

type listSigningJobsResponse struct {
	Jobs      []signingJobWire `json:"jobs"`
	NextToken string           `json:"nextToken,omitempty"`
}

func (s *Server) handleListSigningJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := queryMaxResults(q.Get("maxResults"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	revoked, err := queryBool("isRevoked", q.Get("isRevoked"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in := ListSigningJobsInput{
		Status: q.Get("status"), PlatformID: q.Get("platformId"), RequestedBy: q.Get("requestedBy"),
		IsRevoked: revoked, JobInvoker: q.Get("jobInvoker"), MaxResults: n, NextToken: q.Get("nextToken"),
	}
	for name, dst := range map[string]*time.Time{"signatureExpiresBefore": &in.SignatureExpiresBefore, "signatureExpiresAfter": &in.SignatureExpiresAfter} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				s.writeError(w, r, lambdahost.Errorf(lambdahost.ValidationException, "Invalid value for %s: %s", name, v))
				return
			}
			*dst = t
		}
	}
	jobs, next, err := s.service.ListSigningJobs(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := listSigningJobsResponse{Jobs: []signingJobWire{}, NextToken: next}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, signingJobWire{
			JobID: j.ID, Source: jobSource(j), SignedObject: jobSigned(j),
			CreatedAt: awsapi.Epoch(j.CreatedAt), Status: j.Status, IsRevoked: j.Revocation != nil,
			ProfileName: j.ProfileName, ProfileVersion: j.ProfileVersion,
			PlatformID: j.PlatformID, PlatformDisplayName: platformDisplayName(j.PlatformID),
			SignatureExpiresAt: awsapi.EpochPtr(j.SignatureExpiresAt),
			JobOwner:           j.Account, JobInvoker: j.Account,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

type revokeSignatureRequest struct {
	JobOwner string `json:"jobOwner"`
	Reason   string `json:"reason"`
}

func (s *Server) handleRevokeSignature(w http.ResponseWriter, r *http.Request) {
	var req revokeSignatureRequest
	if err := decodeSigner(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.service.RevokeSignature(r.Context(), r.PathValue("jobId"), req.JobOwner, req.Reason); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

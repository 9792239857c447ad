package control

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Code signing policies (CodeSigningPolicies.UntrustedArtifactOnDeployment).
const (
	PolicyWarn    = "Warn"
	PolicyEnforce = "Enforce"
)

// Record kinds of code signing.
const (
	// kindCSC: "<account>/<region>/<csc-id>" → a cscRecord.
	kindCSC = "code-signing-config"
	// kindFunctionCSC: "<account>/<region>/<function>" → the config's ARN.
	kindFunctionCSC = "function-csc"
	// kindCSCFunction: "<account>/<region>/<csc-id>/<function>" → nothing:
	// the functions that use a config, for ListFunctionsByCodeSigningConfig
	// and for refusing to delete a config in use.
	kindCSCFunction = "csc-function"
)

// CodeSigningConfig is a code signing configuration.
type CodeSigningConfig struct {
	ID                string
	ARN               string
	Description       string
	AllowedPublishers []string
	// Policy is UntrustedArtifactOnDeployment: PolicyWarn or PolicyEnforce.
	Policy       string
	LastModified time.Time
	Tags         map[string]string
}

// cscRecord is a CodeSigningConfig as stored.
type cscRecord struct {
	ID                string            `json:"id"`
	Account           string            `json:"account"`
	Region            string            `json:"region"`
	Description       string            `json:"description"`
	AllowedPublishers []string          `json:"allowedPublishers"`
	Policy            string            `json:"policy"`
	LastModified      time.Time         `json:"lastModified"`
	Tags              map[string]string `json:"tags,omitempty"`
}

func (r *cscRecord) arn() string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:code-signing-config:%s", r.Region, r.Account, r.ID)
}

// key is the config's record key.
func (r *cscRecord) key() string { return cscKey(r.Account, r.Region, r.ID) }

func (r *cscRecord) config() *CodeSigningConfig {
	return &CodeSigningConfig{ID: r.ID, ARN: r.arn(), Description: r.Description,
		AllowedPublishers: slices.Clone(r.AllowedPublishers), Policy: r.Policy,
		LastModified: r.LastModified, Tags: maps.Clone(r.Tags)}
}

// CodeSigningConfigInput is a Create or UpdateCodeSigningConfig request;
// nil members are absent.
type CodeSigningConfigInput struct {
	Description *string
	// AllowedPublishers is AllowedPublishers.SigningProfileVersionArns;
	// HasPublishers tells an absent AllowedPublishers from an empty list.
	AllowedPublishers []string
	HasPublishers     bool
	Policy            *string
	Tags              map[string]string
}

const patternCSCARN = `arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}:\d{12}:code-signing-config:csc-[a-z0-9]{17}`

var (
	reCSCARN = regexp.MustCompile(`^(` + patternCSCARN + `)$`)
	// The model's Arn shape, which each allowed publisher must match.
	patternARN = `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
	reARN      = regexp.MustCompile(`^(` + patternARN + `)$`)
)

func validateCSCInput(in *CodeSigningConfigInput, create bool) error {
	var v lambdahost.Validation
	if in.Description != nil && len(*in.Description) > 256 {
		v.Add("description", lambdahost.Quote(*in.Description), "Member must have length less than or equal to 256")
	}
	if create && !in.HasPublishers {
		v.Add("allowedPublishers", "null", "Member must not be null")
	}
	if in.HasPublishers {
		pubs := in.AllowedPublishers
		switch {
		case len(pubs) < 1:
			v.Add("allowedPublishers.signingProfileVersionArns", "[]", "Member must have length greater than or equal to 1")
		case len(pubs) > 20:
			v.Add("allowedPublishers.signingProfileVersionArns", "["+strings.Join(pubs, ", ")+"]", "Member must have length less than or equal to 20")
		}
		for _, a := range pubs {
			if !reARN.MatchString(a) {
				v.Add("allowedPublishers.signingProfileVersionArns", "["+strings.Join(pubs, ", ")+"]",
					"Member must satisfy constraint: [Member must satisfy regular expression pattern: "+patternARN+"]")
				break
			}
		}
	}
	if p := in.Policy; p != nil && *p != PolicyWarn && *p != PolicyEnforce {
		v.Add("codeSigningPolicies.untrustedArtifactOnDeployment", lambdahost.Quote(*p), "Member must satisfy enum value set: [Warn, Enforce]")
	}
	if err := v.Err(); err != nil {
		return err
	}
	return validateTags(in.Tags, false)
}

// newCSCID returns "csc-" and 17 random lowercase letters and digits.
func newCSCID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 17)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "csc-" + string(b)
}

func cscKey(account, region, id string) string { return account + "/" + region + "/" + id }

// CreateCodeSigningConfig creates a code signing configuration in the
// caller's account and region. The policy defaults to Warn.
func (s *Service) CreateCodeSigningConfig(ctx context.Context, in *CodeSigningConfigInput) (*CodeSigningConfig, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("create code signing config", err)
	}
	if err := validateCSCInput(in, true); err != nil {
		return nil, err
	}
	rec := &cscRecord{ID: s.NewCodeSigningConfigID(), Account: c.Account, Region: c.Region, Policy: PolicyWarn,
		AllowedPublishers: slices.Clone(in.AllowedPublishers), LastModified: s.now()}
	if in.Description != nil {
		rec.Description = *in.Description
	}
	if in.Policy != nil {
		rec.Policy = *in.Policy
	}
	if len(in.Tags) > 0 {
		rec.Tags = maps.Clone(in.Tags)
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		return createRecord(ctx, tx, kindCSC, rec.key(), rec)
	})
	if err != nil {
		return nil, internal("create code signing config", err)
	}
	return rec.config(), nil
}

// parseCSCARN checks a CodeSigningConfigArn path parameter and returns the
// record key it names. Another account's or region's config is not found,
// as AWS answers for a config the caller cannot see.
func parseCSCARN(ctx context.Context, arn string) (key string, err error) {
	c, err := caller(ctx)
	if err != nil {
		return "", internal("code signing config", err)
	}
	if len(arn) > 200 || !reCSCARN.MatchString(arn) {
		var v lambdahost.Validation
		if len(arn) > 200 {
			v.Add("codeSigningConfigArn", lambdahost.Quote(arn), "Member must have length less than or equal to 200")
		}
		if !reCSCARN.MatchString(arn) {
			v.Add("codeSigningConfigArn", lambdahost.Quote(arn), "Member must satisfy regular expression pattern: "+patternCSCARN)
		}
		return "", v.Err()
	}
	parts := strings.Split(arn, ":")
	region, account, id := parts[3], parts[4], parts[6]
	if account != c.Account || region != c.Region {
		return "", nil
	}
	return cscKey(account, region, id), nil
}

func cscNotFound(arn string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The Lambda code signing configuration %s can not be found.", arn)
}

// readCSC reads the config arn names within tx; notFound answers a config
// that does not exist (or that the caller cannot see).
func readCSC(ctx context.Context, tx lambdahost.Tx, arn string, notFound func(string) error) (*cscRecord, error) {
	key, err := parseCSCARN(ctx, arn)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, notFound(arn)
	}
	rec, err := getRecord[cscRecord](ctx, tx, kindCSC, key)
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, notFound(arn)
	}
	return rec, err
}

// GetCodeSigningConfig answers the config arn names.
func (s *Service) GetCodeSigningConfig(ctx context.Context, arn string) (*CodeSigningConfig, error) {
	s.init()
	var rec *cscRecord
	err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		rec, err = readCSC(ctx, tx, arn, cscNotFound)
		return err
	})
	if err != nil {
		return nil, internal("get code signing config", err)
	}
	return rec.config(), nil
}

// UpdateCodeSigningConfig changes the members in is given. Deployments
// check the config as it is when they commit.
func (s *Service) UpdateCodeSigningConfig(ctx context.Context, arn string, in *CodeSigningConfigInput) (*CodeSigningConfig, error) {
	s.init()
	if err := validateCSCInput(in, false); err != nil {
		return nil, err
	}
	var rec *cscRecord
	err := s.store.Update(ctx, func(tx lambdahost.Tx) (err error) {
		rec, err = readCSC(ctx, tx, arn, cscNotFound)
		if err != nil {
			return err
		}
		if in.Description != nil {
			rec.Description = *in.Description
		}
		if in.HasPublishers {
			rec.AllowedPublishers = slices.Clone(in.AllowedPublishers)
		}
		if in.Policy != nil {
			rec.Policy = *in.Policy
		}
		rec.LastModified = s.now()
		return putRecord(ctx, tx, kindCSC, rec.key(), rec)
	})
	if err != nil {
		return nil, internal("update code signing config", err)
	}
	return rec.config(), nil
}

// DeleteCodeSigningConfig deletes a config that no function uses.
func (s *Service) DeleteCodeSigningConfig(ctx context.Context, arn string) error {
	s.init()
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		rec, err := readCSC(ctx, tx, arn, cscNotFound)
		if err != nil {
			return err
		}
		key := rec.key()
		users, err := tx.ListRecords(ctx, kindCSCFunction, key+"/", "", 1)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return lambdahost.Errorf(lambdahost.ResourceConflictException,
				"The code signing configuration %s cannot be deleted because it is used by one or more functions.", arn)
		}
		return tx.DeleteRecord(ctx, kindCSC, key)
	})
	return internal("delete code signing config", err)
}

// ListCodeSigningConfigsOutput is a page of configs.
type ListCodeSigningConfigsOutput struct {
	Configs    []*CodeSigningConfig
	NextMarker string
}

// ListCodeSigningConfigs answers the caller's configs in its region.
func (s *Service) ListCodeSigningConfigs(ctx context.Context, in ListInput) (*ListCodeSigningConfigsOutput, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("list code signing configs", err)
	}
	limit, marker, err := in.page(1)
	if err != nil {
		return nil, err
	}
	token := ""
	if marker != nil {
		token = marker[0]
	}
	var recs []*cscRecord
	var next string
	err = s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		recs, next, err = scanRecords(ctx, tx, kindCSC, cscKey(c.Account, c.Region, ""), token, limit,
			func(*cscRecord) bool { return true }, func(r *cscRecord) string { return r.ID })
		return err
	})
	if err != nil {
		return nil, internal("list code signing configs", err)
	}
	out := &ListCodeSigningConfigsOutput{Configs: []*CodeSigningConfig{}}
	if next != "" {
		out.NextMarker = encodeMarker(next)
	}
	for _, r := range recs {
		out.Configs = append(out.Configs, r.config())
	}
	return out, nil
}

// ListFunctionsByCodeSigningConfigOutput is a page of function ARNs.
type ListFunctionsByCodeSigningConfigOutput struct {
	FunctionARNs []string
	NextMarker   string
}

// ListFunctionsByCodeSigningConfig answers the functions that use a config.
func (s *Service) ListFunctionsByCodeSigningConfig(ctx context.Context, arn string, in ListInput) (*ListFunctionsByCodeSigningConfigOutput, error) {
	s.init()
	limit, marker, err := in.page(1)
	if err != nil {
		return nil, err
	}
	out := &ListFunctionsByCodeSigningConfigOutput{FunctionARNs: []string{}}
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		rec, err := readCSC(ctx, tx, arn, cscNotFound)
		if err != nil {
			return err
		}
		prefix := rec.key() + "/"
		after := ""
		if marker != nil {
			after = prefix + marker[0]
		}
		users, err := tx.ListRecords(ctx, kindCSCFunction, prefix, after, limit+1)
		if err != nil {
			return err
		}
		for i, u := range users {
			name := strings.TrimPrefix(u.Key, prefix)
			if i == limit {
				out.NextMarker = encodeMarker(strings.TrimPrefix(users[i-1].Key, prefix))
				break
			}
			out.FunctionARNs = append(out.FunctionARNs, lambdahost.FunctionID{Account: rec.Account, Region: rec.Region, Name: name}.ARN())
		}
		return nil
	})
	if err != nil {
		return nil, internal("list functions by code signing config", err)
	}
	return out, nil
}

// cscNotFoundForFunction is AWS's answer when a function operation names a
// config that does not exist.
func cscNotFoundForFunction(arn string) error {
	return lambdahost.Errorf(lambdahost.CodeSigningConfigNotFoundException,
		"The code signing configuration cannot be found. Check that the provided configuration is not deleted: %s.", arn)
}

func functionKey(id lambdahost.FunctionID) string { return cscKey(id.Account, id.Region, id.Name) }

// boundCSC returns the ARN of the config function id uses, "" if none.
func boundCSC(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID) (string, error) {
	b, err := tx.Record(ctx, kindFunctionCSC, functionKey(id))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return "", nil
	}
	return string(b), err
}

// bindCSC makes function id use rec (replacing any config it used).
func bindCSC(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, rec *cscRecord) error {
	if err := unbindCSC(ctx, tx, id); err != nil {
		return err
	}
	if err := tx.PutRecord(ctx, kindFunctionCSC, functionKey(id), []byte(rec.arn())); err != nil {
		return err
	}
	return tx.PutRecord(ctx, kindCSCFunction, rec.key()+"/"+id.Name, nil)
}

// unbindCSC removes function id's config, if any: when it is removed, and
// when the function is deleted.
func unbindCSC(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID) error {
	arn, err := boundCSC(ctx, tx, id)
	if err != nil || arn == "" {
		return err
	}
	cscID := arn[strings.LastIndexByte(arn, ':')+1:]
	if err := tx.DeleteRecord(ctx, kindCSCFunction, cscKey(id.Account, id.Region, cscID)+"/"+id.Name); err != nil {
		return err
	}
	return tx.DeleteRecord(ctx, kindFunctionCSC, functionKey(id))
}

// FunctionCodeSigningConfig is Put/GetFunctionCodeSigningConfig's answer.
type FunctionCodeSigningConfig struct {
	CodeSigningConfigARN string
	FunctionName         string
}

// PutFunctionCodeSigningConfig makes a function use a config: its later
// deployments are verified against it. Code already deployed is not.
func (s *Service) PutFunctionCodeSigningConfig(ctx context.Context, functionName, arn string) (*FunctionCodeSigningConfig, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, "")
	if err != nil {
		return nil, err
	}
	if err := t.unqualified(); err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		latest, err := tx.Version(ctx, t.id, lambdahost.VersionLatest)
		if err != nil {
			return err
		}
		rec, err := readCSC(ctx, tx, arn, cscNotFoundForFunction)
		if err != nil {
			return err
		}
		if latest.Code.PackageType == lambdahost.PackageImage {
			return errImageCodeSigning()
		}
		return bindCSC(ctx, tx, t.id, rec)
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "put function code signing config")
	}
	return &FunctionCodeSigningConfig{CodeSigningConfigARN: arn, FunctionName: t.id.Name}, nil
}

func errImageCodeSigning() error {
	return invalidf("Code signing is not supported for functions with package type Image.")
}

// GetFunctionCodeSigningConfig answers the config a function uses; its
// CodeSigningConfigARN is "" when it uses none.
func (s *Service) GetFunctionCodeSigningConfig(ctx context.Context, functionName string) (*FunctionCodeSigningConfig, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, "")
	if err != nil {
		return nil, err
	}
	if err := t.unqualified(); err != nil {
		return nil, err
	}
	out := &FunctionCodeSigningConfig{FunctionName: t.id.Name}
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, t.id); err != nil {
			return err
		}
		out.CodeSigningConfigARN, err = boundCSC(ctx, tx, t.id)
		return err
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "get function code signing config")
	}
	return out, nil
}

// DeleteFunctionCodeSigningConfig removes a function's config, if any.
func (s *Service) DeleteFunctionCodeSigningConfig(ctx context.Context, functionName string) error {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, "")
	if err != nil {
		return err
	}
	if err := t.unqualified(); err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, t.id); err != nil {
			return err
		}
		return unbindCSC(ctx, tx, t.id)
	})
	if err != nil {
		return s.notFoundOr(t, err, "delete function code signing config")
	}
	return nil
}

// The signature checks of a deployment, as AWS names them.
const (
	checkMismatch = "mismatch" // unsigned, or signed by a profile the config does not allow
	checkExpiry   = "expiry"
	checkRevoked  = "revocation"
)

// signatureCheck is the result of reading a staged package's signature,
// done once, before the transaction that verifies it (hashing a large
// package must not hold the store's write lock).
type signatureCheck struct {
	done   bool
	signed *lambdahost.SignedCode
	err    error
}

func (st *staged) readSignature() *signatureCheck {
	if !st.sig.done && st.zip != nil {
		defer timed(&st.timing.Hash, time.Now())
		st.sig.signed, st.sig.err = lambdahost.ReadCodeSignature(st.zip, st.code.Size)
		st.sig.done = true
	}
	return &st.sig
}

// signatureValidationErrors counts deployments that failed a signature check
// and went ahead under the Warn policy: AWS's SignatureValidationErrors
// metric.
var signatureValidationErrors atomic.Int64

// SignatureValidationErrors returns how many deployments this process let
// through with a failed signature check under the Warn policy.
func SignatureValidationErrors() int64 { return signatureValidationErrors.Load() }

// verifyCode checks the staged package of function id against the config
// cscARN ("" for none) within tx, sets the code's signing fields and
// returns the config it checked against (nil for none). With
// Enforce, a failed check refuses the deployment with
// CodeVerificationFailedException; with Warn, it is logged and counted. An
// integrity failure (changed content, or a signature that does not verify)
// is refused whatever the policy, with InvalidCodeSignatureException.
func (s *Service) verifyCode(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, cscARN string, st *staged) (*cscRecord, error) {
	st.code.SigningProfileVersionARN, st.code.SigningJobARN = "", ""
	st.warnedSignature = nil
	if cscARN == "" {
		return nil, nil
	}
	if st.code.PackageType == lambdahost.PackageImage {
		return nil, errImageCodeSigning()
	}
	rec, err := readCSC(ctx, tx, cscARN, cscNotFoundForFunction)
	if err != nil {
		return nil, err
	}
	failed, err := s.checkSignature(ctx, tx, id, rec, st)
	if err != nil {
		return nil, err
	}
	if failed == "" {
		return rec, nil
	}
	if rec.Policy == PolicyEnforce {
		return nil, lambdahost.Errorf(lambdahost.CodeVerificationFailedException,
			"Lambda cannot deploy the function. The function or layer might be signed using a signature that the client is not configured to accept. Check the provided signature for %s.", id.Name)
	}
	// Counted once the deployment commits (warnedSignature): the
	// transaction may run again.
	st.warnedSignature = &signatureWarning{check: failed, csc: cscARN}
	return rec, nil
}

// signatureWarning is a failed signature check that a Warn policy let
// through.
type signatureWarning struct{ check, csc string }

// countSignatureWarning counts and logs, once the deployment of st to
// function id has committed, a signature check that failed under a Warn
// policy.
func (s *Service) countSignatureWarning(ctx context.Context, id lambdahost.FunctionID, st *staged) {
	w := st.warnedSignature
	if w == nil {
		return
	}
	n := signatureValidationErrors.Add(1)
	s.meter().SignatureValidationError(id)
	s.Logger.WarnContext(ctx, "deployed code that failed a signature check: the code signing policy is Warn",
		lambdahost.LogKeyFunction, id.ARN(), "check", w.check, "code_signing_config", w.csc,
		"signing_profile_version", st.code.SigningProfileVersionARN, "signature_validation_errors", n)
}

// checkSignature runs the checks; it returns the name of the first
// policy-governed check that failed ("" if all passed), or an error for an
// integrity failure.
func (s *Service) checkSignature(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, rec *cscRecord, st *staged) (string, error) {
	sc := st.readSignature()
	switch {
	case errors.Is(sc.err, lambdahost.ErrNotSigned):
		return checkMismatch, nil
	case sc.err != nil && errors.Is(sc.err, lambdahost.ErrBadSignature):
		return "", invalidSignature(id)
	case sc.err != nil:
		return "", internal("read code signature", sc.err)
	}
	sig := sc.signed.Signature
	allowed := slices.Contains(rec.AllowedPublishers, sig.ProfileVersionARN)
	pub, err := s.publisher(ctx, tx, sig.ProfileVersionARN)
	switch {
	case errors.Is(err, lambdahost.ErrNotFound) && !allowed:
		// A profile lambdahost does not know, and not allowed anyway.
		return checkMismatch, nil
	case errors.Is(err, lambdahost.ErrNotFound):
		// Allowed, but its key is unknown: the signature cannot be verified.
		return "", invalidSignature(id)
	case err != nil:
		return "", err
	}
	if err := sc.signed.Verify(pub.Key); err != nil {
		return "", invalidSignature(id)
	}
	st.code.SigningProfileVersionARN, st.code.SigningJobARN = sig.ProfileVersionARN, sig.JobARN
	return s.signaturePolicy(ctx, tx, rec, sig, pub)
}

// signaturePolicy runs the checks the config rec's policy governs on a
// signature whose integrity verified with pub, its profile's key: the
// profile is allowed, the signature has not expired, and neither it nor
// its profile was revoked. It returns the name of the first that failed,
// or "".
func (s *Service) signaturePolicy(ctx context.Context, tx lambdahost.Tx, rec *cscRecord, sig lambdahost.CodeSignature, pub *lambdahost.Publisher) (string, error) {
	if !slices.Contains(rec.AllowedPublishers, sig.ProfileVersionARN) {
		return checkMismatch, nil
	}
	if !sig.ExpiresAt.IsZero() && !s.now().Before(sig.ExpiresAt) {
		return checkExpiry, nil
	}
	if !pub.RevokedFrom.IsZero() && !sig.SignedAt.Before(pub.RevokedFrom) {
		return checkRevoked, nil
	}
	// A canceled profile signs nothing more: a signature dated after the
	// cancellation was made offline with an exported key, and is not trusted.
	if !pub.CanceledAt.IsZero() && !sig.SignedAt.Before(pub.CanceledAt) {
		return checkRevoked, nil
	}
	revoked, err := s.Publishers.SignatureRevoked(ctx, tx, sig.JobARN)
	if err != nil {
		return "", err
	}
	if revoked {
		return checkRevoked, nil
	}
	return "", nil
}

// publisher asks Publishers who made a signature; without Publishers no
// publisher is known.
func (s *Service) publisher(ctx context.Context, tx lambdahost.Tx, profileVersionARN string) (*lambdahost.Publisher, error) {
	if s.Publishers == nil {
		return nil, fmt.Errorf("profile version %s: no signer configured: %w", profileVersionARN, lambdahost.ErrNotFound)
	}
	return s.Publishers.Publisher(ctx, tx, profileVersionARN)
}

func invalidSignature(id lambdahost.FunctionID) error {
	return lambdahost.Errorf(lambdahost.InvalidCodeSignatureException,
		"Lambda cannot deploy the function. The code signature failed the integrity check for %s: the package or its signature changed after it was signed.", id.Name)
}

// updateCSCTags changes a config's tags: TagResource and UntagResource
// take code signing config ARNs as well as function ARNs.
func (s *Service) updateCSCTags(ctx context.Context, arn string, change func(map[string]string)) error {
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		rec, err := readCSC(ctx, tx, arn, cscNotFound)
		if err != nil {
			return err
		}
		if rec.Tags == nil {
			rec.Tags = map[string]string{}
		}
		change(rec.Tags)
		if len(rec.Tags) > maxTags {
			return invalidf("Number of tags exceeds resource tag limit.")
		}
		if len(rec.Tags) == 0 {
			rec.Tags = nil
		}
		return putRecord(ctx, tx, kindCSC, rec.key(), rec)
	})
	return internal("update tags", err)
}

// cscTags answers ListTags for a code signing config.
func (s *Service) cscTags(ctx context.Context, arn string) (map[string]string, error) {
	c, err := s.GetCodeSigningConfig(ctx, arn)
	if err != nil {
		return nil, err
	}
	if c.Tags == nil {
		return map[string]string{}, nil
	}
	return c.Tags, nil
}

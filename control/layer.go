package control

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Layers are records of the store, all keyed under the layer's
// "<account>/<region>/<name>":
const (
	// kindLayer: "<account>/<region>/<name>" → a layerRecord: the last
	// version number published, kept when every version is deleted so that
	// numbers are never reused (AWS numbers again from the last one).
	kindLayer = "layer"
	// kindLayerVersion: "<account>/<region>/<name>/<inverted version>" →
	// a layerVersionRecord. The version is stored as MaxInt64 minus the
	// number, zero-padded, so that a layer's versions list newest first.
	kindLayerVersion = "layer-version"
	// kindLayerPolicy: the same key as the version → a layerPolicy, the
	// version's resource-based policy, absent while it has no statement.
	kindLayerPolicy = "layer-policy"
	// kindLayerUsage: "<account>/<region>" → a layerUsage: the bytes that
	// the account's layer versions store there, for the code storage quota.
	kindLayerUsage = "layer-usage"
)

// Layer limits, as AWS states them.
const (
	maxLayers                  = 5
	maxCompatibleRuntimes      = 15
	maxCompatibleArchitectures = 2
	maxLicenseInfo             = 512
	maxLayerPage               = 50
	// actionGetLayerVersion is the one action a layer policy grants.
	actionGetLayerVersion = "lambda:GetLayerVersion"
)

// LayerVersion is a published version of a layer.
type LayerVersion struct {
	Layer   lambdahost.LayerID
	Version int64
	// Description is "" when none was given; AWS answers it always.
	Description string
	// LicenseInfo is nil when none was given: AWS then omits it.
	LicenseInfo *string
	// CompatibleRuntimes and CompatibleArchitectures are nil when not
	// given (omitted in answers), empty when given empty.
	CompatibleRuntimes      []string
	CompatibleArchitectures []string
	Created                 time.Time
	// Code is the layer's zip, with the signing ARNs of a signature that
	// verified when it was published.
	Code lambdahost.Code
}

// ARN returns the layer version ARN.
func (v *LayerVersion) ARN() string { return v.Layer.VersionARN(v.Version) }

// layerRecord is the layer itself: its version counter.
type layerRecord struct {
	LastVersion int64 `json:"lastVersion"`
}

// layerUsage is the code an account's layer versions store in a region.
type layerUsage struct {
	Bytes int64 `json:"bytes"`
}

// layerVersionRecord is a LayerVersion as stored.
type layerVersionRecord struct {
	Account                 string    `json:"account"`
	Region                  string    `json:"region"`
	Name                    string    `json:"name"`
	Version                 int64     `json:"version"`
	Description             string    `json:"description,omitzero"`
	LicenseInfo             *string   `json:"licenseInfo,omitzero"`
	CompatibleRuntimes      []string  `json:"compatibleRuntimes,omitzero"`
	CompatibleArchitectures []string  `json:"compatibleArchitectures,omitzero"`
	Created                 time.Time `json:"created"`
	Digest                  string    `json:"digest"` // lowercase hex
	Size                    int64     `json:"size"`
	UnzippedSize            int64     `json:"unzippedSize"`
	SealedWith              string    `json:"sealedWith,omitzero"`
	// Signature is what the zip's signature block says, nil if it has none.
	Signature *layerSignature `json:"signature,omitzero"`
}

// layerSignature is the signature of a layer's zip, checked when it was
// published: the content is immutable, so its integrity needs no second
// check when a function that uses code signing attaches the layer.
type layerSignature struct {
	ProfileVersionARN string    `json:"profileVersionArn,omitzero"`
	JobARN            string    `json:"jobArn,omitzero"`
	SignedAt          time.Time `json:"signedAt,omitzero"`
	ExpiresAt         time.Time `json:"expiresAt,omitzero"`
	// Verified: the signature verified with its profile's key. Bad: it is
	// malformed or did not verify. Neither: its profile was unknown.
	Verified bool `json:"verified,omitzero"`
	Bad      bool `json:"bad,omitzero"`
}

func (r *layerVersionRecord) id() lambdahost.LayerID {
	return lambdahost.LayerID{Account: r.Account, Region: r.Region, Name: r.Name}
}

func (r *layerVersionRecord) arn() string { return r.id().VersionARN(r.Version) }

func (r *layerVersionRecord) digest() (lambdahost.Digest, error) {
	return lambdahost.ParseDigestHex(r.Digest)
}

// code returns the layer's package; the signing ARNs are set only for a
// signature that verified.
func (r *layerVersionRecord) code() (lambdahost.Code, error) {
	d, err := r.digest()
	if err != nil {
		return lambdahost.Code{}, fmt.Errorf("layer version %s: %w", r.arn(), err)
	}
	c := lambdahost.Code{PackageType: lambdahost.PackageZip, Digest: d, Size: r.Size, UnzippedSize: r.UnzippedSize, SealedWith: r.SealedWith}
	if sig := r.Signature; sig != nil && sig.Verified {
		c.SigningProfileVersionARN, c.SigningJobARN = sig.ProfileVersionARN, sig.JobARN
	}
	return c, nil
}

func (r *layerVersionRecord) layerVersion() (*LayerVersion, error) {
	c, err := r.code()
	if err != nil {
		return nil, err
	}
	return &LayerVersion{
		Layer: r.id(), Version: r.Version, Description: r.Description, LicenseInfo: r.LicenseInfo,
		CompatibleRuntimes: slices.Clone(r.CompatibleRuntimes), CompatibleArchitectures: slices.Clone(r.CompatibleArchitectures),
		Created: r.Created, Code: c,
	}, nil
}

// layer returns the entry of a function's Layers that stands for r.
func (r *layerVersionRecord) layer() (lambdahost.Layer, error) {
	c, err := r.code()
	if err != nil {
		return lambdahost.Layer{}, err
	}
	return lambdahost.Layer{
		ARN: r.arn(), Digest: c.Digest, Size: c.Size, UnzippedSize: c.UnzippedSize, SealedWith: c.SealedWith,
		SigningProfileVersionARN: c.SigningProfileVersionARN, SigningJobARN: c.SigningJobARN,
	}, nil
}

func layerKey(id lambdahost.LayerID) string { return id.Account + "/" + id.Region + "/" + id.Name }

// layerVersionKey is the key of version n of layer id: keys of one layer
// sort newest version first.
func layerVersionKey(id lambdahost.LayerID, n int64) string {
	return layerKey(id) + "/" + fmt.Sprintf("%019d", math.MaxInt64-n)
}

func layerUsageKey(account, region string) string { return account + "/" + region }

// errNoLayerVersion is the ResourceNotFoundException of a missing layer
// version for GetLayerVersion, GetLayerVersionByArn and ListLayerVersions.
func errNoLayerVersion() error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
}

// errLayerVersionNotFound is the one the policy operations answer.
func errLayerVersionNotFound(arn string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Layer version %s does not exist.", arn)
}

// layerAccessDenied is AWS's answer to a caller using another account's
// layer version that no statement of its policy lets it use.
func layerAccessDenied(c lambdahost.Caller, action, resource string) error {
	return lambdahost.Errorf(lambdahost.AccessDeniedException,
		"User: arn:aws:iam::%s:user/%s is not authorized to perform: %s on resource: %s because no resource-based policy allows the %s action",
		c.Account, c.AccessKey, action, resource, action)
}

// layerTarget resolves a LayerName path parameter against the caller. A
// layer ARN may name another account's layer (own is false); one of
// another region names nothing the caller can reach here.
func layerTarget(ctx context.Context, name string) (c lambdahost.Caller, id lambdahost.LayerID, own bool, err error) {
	c, err = caller(ctx)
	if err != nil {
		return c, id, false, internal("resolve layer", err)
	}
	ref, err := lambdahost.ParseLayerName(name)
	if err != nil {
		return c, id, false, err
	}
	id = lambdahost.LayerID{Account: c.Account, Region: c.Region, Name: ref.Name}
	if ref.Account != "" {
		id.Account = ref.Account
	}
	if ref.Region != "" && ref.Region != c.Region {
		return c, id, false, errNoLayerVersion()
	}
	return c, id, id.Account == c.Account, nil
}

// checkVersionNumber answers AWS's error for a version number below 1.
func checkVersionNumber(n int64) error {
	if n < 1 {
		return invalidf("Layer Version Cannot be less than 1")
	}
	return nil
}

// layerRuntimes is the model's Runtime enum: every runtime AWS has had. A
// layer may name any of them, deprecated ones included.
var layerRuntimes = []string{"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x", "java8", "java8.al2", "java11", "python2.7", "python3.6", "python3.7", "python3.8", "python3.9", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "dotnet8", "nodejs4.3-edge", "go1.x", "ruby2.5", "ruby2.7", "provided", "provided.al2", "nodejs18.x", "python3.10", "java17", "ruby3.2", "ruby3.3", "ruby3.4", "python3.11", "nodejs20.x", "provided.al2023", "python3.12", "java21", "python3.13", "nodejs22.x", "nodejs24.x", "python3.14", "java25", "dotnet10", "ruby4.0"}

var architectures = []string{"x86_64", "arm64"}

const archConstraint = "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]"

// PublishLayerVersionInput is a PublishLayerVersion request.
type PublishLayerVersionInput struct {
	LayerName string
	// Content is nil when the request had none.
	Content                 *CodeInput
	Description             *string
	LicenseInfo             *string
	CompatibleRuntimes      []string
	CompatibleArchitectures []string
}

func validatePublishLayer(in *PublishLayerVersionInput) error {
	var v lambdahost.Validation
	checkDescription(&v, in.Description)
	if in.Content == nil {
		v.Add("content", "null", "Member must not be null")
	}
	if l := in.LicenseInfo; l != nil && len(*l) > maxLicenseInfo {
		v.Add("licenseInfo", lambdahost.Quote(*l), "Member must have length less than or equal to 512")
	}
	if rs := in.CompatibleRuntimes; rs != nil {
		for _, r := range rs {
			if !slices.Contains(layerRuntimes, r) {
				v.Add("compatibleRuntimes", listValue(rs), "Member must satisfy enum value set: ["+strings.Join(supportedRuntimes, ", ")+"]")
				break
			}
		}
		if len(rs) > maxCompatibleRuntimes {
			v.Add("compatibleRuntimes", listValue(rs), "Member must have length less than or equal to 15")
		}
	}
	if as := in.CompatibleArchitectures; as != nil {
		for _, a := range as {
			if !slices.Contains(architectures, a) {
				v.Add("compatibleArchitectures", listValue(as), archConstraint)
				break
			}
		}
		if len(as) > maxCompatibleArchitectures {
			v.Add("compatibleArchitectures", listValue(as), "Member must have length less than or equal to 2")
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if err := validateCode(in.Content); err != nil {
		return err
	}
	if in.Content.ImageURI != nil || in.Content.SourceKMSKeyARN != nil {
		return invalidf("Please provide a ZipFile, or an S3Bucket and S3Key, as the layer's content.")
	}
	if in.Content.Zip == nil && !in.Content.hasS3() {
		return invalidf("Please provide a source for layer code.")
	}
	return nil
}

// PublishLayerVersion publishes a new version of a layer of the caller's,
// creating the layer with version 1 if it has none. Version numbers are
// never reused, even after versions are deleted. The content is stored
// and sealed as function code is; it counts against the code storage
// quota.
// (https://docs.aws.amazon.com/lambda/latest/api/API_PublishLayerVersion.html)
func (s *Service) PublishLayerVersion(ctx context.Context, in *PublishLayerVersionInput) (*LayerVersion, error) {
	s.init()
	c, id, own, err := layerTarget(ctx, in.LayerName)
	if err != nil {
		return nil, err
	}
	if !own {
		return nil, layerAccessDenied(c, "lambda:PublishLayerVersion", id.ARN())
	}
	if err := validatePublishLayer(in); err != nil {
		return nil, err
	}
	st, err := s.stage(ctx, c.Account, in.Content, lambdahost.PackageZip, "x86_64")
	if err != nil {
		return nil, err
	}
	if st.fail != nil {
		return nil, internal("seal layer", st.fail)
	}
	d := st.code.Digest
	// Hash a signed package for its signature before the write transaction.
	sig := st.readSignature()
	unlock, err := s.store.LockCode(ctx, false) // see CreateFunction
	if err != nil {
		return nil, internal("lock code", err)
	}
	defer unlock()
	if err := st.commit(ctx); err != nil {
		return nil, internal("commit layer", err)
	}
	rec := &layerVersionRecord{
		Account: id.Account, Region: id.Region, Name: id.Name,
		LicenseInfo: in.LicenseInfo, Created: s.now(),
		CompatibleRuntimes: slices.Clone(in.CompatibleRuntimes), CompatibleArchitectures: slices.Clone(in.CompatibleArchitectures),
		Digest: d.Hex(), Size: st.code.Size, UnzippedSize: st.code.UnzippedSize, SealedWith: st.code.SealedWith,
	}
	if in.Description != nil {
		rec.Description = *in.Description
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := s.checkAccountStorage(ctx, tx, id.Account, id.Region, rec.Size); err != nil {
			return err
		}
		var err error
		if rec.Signature, err = s.layerSignature(ctx, tx, sig); err != nil {
			return err
		}
		l, err := getRecord[layerRecord](ctx, tx, kindLayer, layerKey(id))
		if errors.Is(err, lambdahost.ErrNotFound) {
			l, err = &layerRecord{}, nil
		}
		if err != nil {
			return err
		}
		l.LastVersion++
		rec.Version = l.LastVersion
		if err := putRecord(ctx, tx, kindLayer, layerKey(id), l); err != nil {
			return err
		}
		if err := createRecord(ctx, tx, kindLayerVersion, layerVersionKey(id, rec.Version), rec); err != nil {
			return err
		}
		if err := addLayerUsage(ctx, tx, id.Account, id.Region, rec.Size); err != nil {
			return err
		}
		return st.store(ctx, tx)
	})
	if err != nil {
		return nil, internal("publish layer version", err)
	}
	lv, err := rec.layerVersion()
	return lv, internal("publish layer version", err)
}

// layerSignature records what a published layer's signature says, and
// whether it verifies with its profile's key.
func (s *Service) layerSignature(ctx context.Context, tx lambdahost.Tx, sc *signatureCheck) (*layerSignature, error) {
	switch {
	case errors.Is(sc.err, lambdahost.ErrNotSigned):
		return nil, nil
	case errors.Is(sc.err, lambdahost.ErrBadSignature):
		return &layerSignature{Bad: true}, nil
	case sc.err != nil:
		return nil, internal("read layer signature", sc.err)
	case sc.signed == nil:
		return nil, nil
	}
	sig := sc.signed.Signature
	out := &layerSignature{ProfileVersionARN: sig.ProfileVersionARN, JobARN: sig.JobARN, SignedAt: sig.SignedAt, ExpiresAt: sig.ExpiresAt}
	pub, err := s.publisher(ctx, tx, sig.ProfileVersionARN)
	switch {
	case errors.Is(err, lambdahost.ErrNotFound):
		return out, nil
	case err != nil:
		return nil, err
	}
	if sc.signed.Verify(pub.Key) != nil {
		return &layerSignature{Bad: true}, nil
	}
	out.Verified = true
	return out, nil
}

func addLayerUsage(ctx context.Context, tx lambdahost.Tx, account, region string, delta int64) error {
	u, err := getRecord[layerUsage](ctx, tx, kindLayerUsage, layerUsageKey(account, region))
	if errors.Is(err, lambdahost.ErrNotFound) {
		u, err = &layerUsage{}, nil
	}
	if err != nil {
		return err
	}
	u.Bytes = max(0, u.Bytes+delta)
	if u.Bytes == 0 {
		return tx.DeleteRecord(ctx, kindLayerUsage, layerUsageKey(account, region))
	}
	return putRecord(ctx, tx, kindLayerUsage, layerUsageKey(account, region), u)
}

// readLayerVersion reads version n of layer id within tx for caller c:
// its own, or another account's whose policy lets c get it. A missing
// version is an error wrapping lambdahost.ErrNotFound; another account's
// that c may not get, AccessDeniedException for action.
func readLayerVersion(ctx context.Context, tx lambdahost.Tx, c lambdahost.Caller, id lambdahost.LayerID, n int64, action string) (*layerVersionRecord, error) {
	if id.Account != c.Account {
		p, err := getRecord[layerPolicy](ctx, tx, kindLayerPolicy, layerVersionKey(id, n))
		if err != nil && !errors.Is(err, lambdahost.ErrNotFound) {
			return nil, err
		}
		if err != nil || !p.allows(c.Account) {
			return nil, layerAccessDenied(c, action, id.VersionARN(n))
		}
	}
	return getRecord[layerVersionRecord](ctx, tx, kindLayerVersion, layerVersionKey(id, n))
}

// GetLayerVersion answers a version of a layer: the caller's own, or
// another account's whose policy grants it lambda:GetLayerVersion.
// (https://docs.aws.amazon.com/lambda/latest/api/API_GetLayerVersion.html)
func (s *Service) GetLayerVersion(ctx context.Context, layerName string, version int64) (*LayerVersion, error) {
	s.init()
	c, id, _, err := layerTarget(ctx, layerName)
	if err != nil {
		return nil, err
	}
	if err := checkVersionNumber(version); err != nil {
		return nil, err
	}
	return s.getLayerVersion(ctx, c, id, version)
}

func (s *Service) getLayerVersion(ctx context.Context, c lambdahost.Caller, id lambdahost.LayerID, version int64) (*LayerVersion, error) {
	var rec *layerVersionRecord
	err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		rec, err = readLayerVersion(ctx, tx, c, id, version, actionGetLayerVersion)
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, errNoLayerVersion()
	}
	if err != nil {
		return nil, internal("get layer version", err)
	}
	lv, err := rec.layerVersion()
	return lv, internal("get layer version", err)
}

// GetLayerVersionByArn answers the layer version arn names, as
// GetLayerVersion does.
// (https://docs.aws.amazon.com/lambda/latest/api/API_GetLayerVersionByArn.html)
func (s *Service) GetLayerVersionByArn(ctx context.Context, arn string) (*LayerVersion, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("get layer version", err)
	}
	ref, ok := lambdahost.ParseLayerVersionARN(arn)
	if !ok || len(arn) > lambdahost.MaxLayerNameLength {
		var v lambdahost.Validation
		if len(arn) > lambdahost.MaxLayerNameLength {
			v.Add("arn", lambdahost.Quote(arn), "Member must have length less than or equal to 140")
		}
		if !ok {
			v.Add("arn", lambdahost.Quote(arn), "Member must satisfy regular expression pattern: "+lambdahost.PatternLayerVersionARN)
		}
		return nil, v.Err()
	}
	if ref.AWSLayer || ref.Partition != "aws" || ref.Layer.Region != c.Region {
		return nil, errNoLayerVersion()
	}
	if err := checkVersionNumber(ref.Version); err != nil {
		return nil, err
	}
	return s.getLayerVersion(ctx, c, ref.Layer, ref.Version)
}

// LayerFilter selects layer versions by what they declare compatible.
// Nil members select all.
type LayerFilter struct {
	CompatibleRuntime      *string
	CompatibleArchitecture *string
}

func (f LayerFilter) validate() error {
	var v lambdahost.Validation
	if r := f.CompatibleRuntime; r != nil && !slices.Contains(layerRuntimes, *r) {
		v.Add("compatibleRuntime", lambdahost.Quote(*r), "Member must satisfy enum value set: ["+strings.Join(layerRuntimes, ", ")+"]")
	}
	if a := f.CompatibleArchitecture; a != nil && !slices.Contains(architectures, *a) {
		v.Add("compatibleArchitecture", lambdahost.Quote(*a), "Member must satisfy enum value set: [x86_64, arm64]")
	}
	return v.Err()
}

// match reports whether r declares what f asks for: a version that
// declares no runtimes (or architectures) matches no such filter.
func (f LayerFilter) match(r *layerVersionRecord) bool {
	if f.CompatibleRuntime != nil && !slices.Contains(r.CompatibleRuntimes, *f.CompatibleRuntime) {
		return false
	}
	if f.CompatibleArchitecture != nil && !slices.Contains(r.CompatibleArchitectures, *f.CompatibleArchitecture) {
		return false
	}
	return true
}

// layerPage checks MaxItems of the layer lists (1 to 50) and returns the
// page size.
func layerPage(in ListInput) (int, error) {
	if in.MaxItems == nil {
		return maxLayerPage, nil
	}
	n := *in.MaxItems
	var v lambdahost.Validation
	if n < 1 {
		v.Add("maxItems", lambdahost.Quote(strconv.Itoa(n)), "Member must have value greater than or equal to 1")
	}
	if n > maxLayerPage {
		v.Add("maxItems", lambdahost.Quote(strconv.Itoa(n)), "Member must have value less than or equal to 50")
	}
	return n, v.Err()
}

// ListLayerVersionsOutput is a page of a layer's versions, newest first.
type ListLayerVersionsOutput struct {
	Versions   []*LayerVersion
	NextMarker string
}

// ListLayerVersions answers the versions of one of the caller's layers
// that match f, newest first. An unknown layer has no versions.
// (https://docs.aws.amazon.com/lambda/latest/api/API_ListLayerVersions.html)
func (s *Service) ListLayerVersions(ctx context.Context, layerName string, f LayerFilter, in ListInput) (*ListLayerVersionsOutput, error) {
	s.init()
	c, id, own, err := layerTarget(ctx, layerName)
	if err != nil {
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	limit, err := layerPage(in)
	if err != nil {
		return nil, err
	}
	marker, err := decodeMarker(in.Marker, 1)
	if err != nil {
		return nil, err
	}
	if !own {
		return nil, layerAccessDenied(c, "lambda:ListLayerVersions", id.ARN())
	}
	token := ""
	if marker != nil {
		token = marker[0]
	}
	var recs []*layerVersionRecord
	var next string
	err = s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		recs, next, err = scanRecords(ctx, tx, kindLayerVersion, layerKey(id)+"/", token, limit, f.match,
			func(r *layerVersionRecord) string {
				return strings.TrimPrefix(layerVersionKey(id, r.Version), layerKey(id)+"/")
			})
		return err
	})
	if err != nil {
		return nil, internal("list layer versions", err)
	}
	out := &ListLayerVersionsOutput{Versions: []*LayerVersion{}}
	if next != "" {
		out.NextMarker = encodeMarker(next)
	}
	for _, r := range recs {
		lv, err := r.layerVersion()
		if err != nil {
			return nil, internal("list layer versions", err)
		}
		out.Versions = append(out.Versions, lv)
	}
	return out, nil
}

// ListLayersOutput is a page of layers, each with its latest version that
// matches the filter.
type ListLayersOutput struct {
	Layers     []*LayerVersion
	NextMarker string
}

// ListLayers answers the caller's layers in its region, in name order,
// each with its newest version that matches f; layers without one are
// left out.
// (https://docs.aws.amazon.com/lambda/latest/api/API_ListLayers.html)
func (s *Service) ListLayers(ctx context.Context, f LayerFilter, in ListInput) (*ListLayersOutput, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("list layers", err)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	limit, err := layerPage(in)
	if err != nil {
		return nil, err
	}
	marker, err := decodeMarker(in.Marker, 1)
	if err != nil {
		return nil, err
	}
	prefix := c.Account + "/" + c.Region + "/"
	after := ""
	if marker != nil {
		after = prefix + marker[0]
	}
	out := &ListLayersOutput{Layers: []*LayerVersion{}}
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		for {
			layers, err := tx.ListRecords(ctx, kindLayer, prefix, after, 100)
			if err != nil {
				return err
			}
			for _, l := range layers {
				name := strings.TrimPrefix(l.Key, prefix)
				id := lambdahost.LayerID{Account: c.Account, Region: c.Region, Name: name}
				latest, _, err := scanRecords(ctx, tx, kindLayerVersion, layerKey(id)+"/", "", 1, f.match,
					func(*layerVersionRecord) string { return "" })
				if err != nil {
					return err
				}
				if len(latest) == 0 {
					continue
				}
				if len(out.Layers) == limit {
					out.NextMarker = encodeMarker(out.Layers[limit-1].Layer.Name)
					return nil
				}
				lv, err := latest[0].layerVersion()
				if err != nil {
					return err
				}
				out.Layers = append(out.Layers, lv)
			}
			if len(layers) < 100 {
				return nil
			}
			after = layers[len(layers)-1].Key
		}
	})
	if err != nil {
		return nil, internal("list layers", err)
	}
	return out, nil
}

// DeleteLayerVersion deletes a version of one of the caller's layers, and
// its policy. Deleting a version that does not exist succeeds. Functions
// that use it keep it: its code stays stored as long as one does.
// (https://docs.aws.amazon.com/lambda/latest/api/API_DeleteLayerVersion.html)
func (s *Service) DeleteLayerVersion(ctx context.Context, layerName string, version int64) error {
	s.init()
	c, id, own, err := layerTarget(ctx, layerName)
	if lambdahost.ErrorTypeOf(err) == lambdahost.ResourceNotFoundException {
		return nil // another region's: nothing of the caller's here
	}
	if err != nil {
		return err
	}
	if err := checkVersionNumber(version); err != nil {
		return err
	}
	if !own {
		return layerAccessDenied(c, "lambda:DeleteLayerVersion", id.VersionARN(version))
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		key := layerVersionKey(id, version)
		rec, err := getRecord[layerVersionRecord](ctx, tx, kindLayerVersion, key)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteRecord(ctx, kindLayerVersion, key); err != nil {
			return err
		}
		if err := tx.DeleteRecord(ctx, kindLayerPolicy, key); err != nil {
			return err
		}
		return addLayerUsage(ctx, tx, id.Account, id.Region, -rec.Size)
	})
	return internal("delete layer version", err)
}

// layerUsageBytes returns the code account's layer versions store in region.
func layerUsageBytes(ctx context.Context, tx lambdahost.Tx, account, region string) (int64, error) {
	u, err := getRecord[layerUsage](ctx, tx, kindLayerUsage, layerUsageKey(account, region))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return u.Bytes, nil
}

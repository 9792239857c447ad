package control_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/signer"
)

// signingFixture is a service with a clock the test moves, a master key,
// and a signing profile whose key the test signs with.
type signingFixture struct {
	*fixture
	now     time.Time
	profile string // profile version ARN
	key     *ecdsa.PrivateKey
}

func newSigningFixture(t *testing.T) *signingFixture {
	t.Helper()
	sf := &signingFixture{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	sf.fixture = newFixture(t, func(s *control.Service) {
		s.Now = func() time.Time { return sf.now }
	})
	p, err := sf.signer.PutSigningProfile(sf.ctx, signer.PutSigningProfileInput{Name: "publisher", PlatformID: "AWSLambda-SHA384-ECDSA"})
	if err != nil {
		t.Fatal(err)
	}
	sf.profile = p.VersionARN()
	if sf.key, err = sf.signer.ExportSigningKey(sf.ctx, sf.profile); err != nil {
		t.Fatal(err)
	}
	return sf
}

// signed returns a zip of content signed at the fixture's time by key as
// profile, valid for a year.
func (sf *signingFixture) signed(t testing.TB, content, profile string, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	z := zipOf(t, content)
	var out bytes.Buffer
	sig := lambdahost.CodeSignature{ProfileVersionARN: profile, JobARN: "arn:aws:signer:us-east-1:000000000000:/signing-jobs/offline-1",
		SignedAt: sf.now, ExpiresAt: sf.now.AddDate(1, 0, 0)}
	if err := lambdahost.SignZip(bytes.NewReader(z), int64(len(z)), &out, sig, key); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func (sf *signingFixture) csc(t testing.TB, policy string, publishers ...string) string {
	t.Helper()
	c, err := sf.svc.CreateCodeSigningConfig(sf.ctx, &control.CodeSigningConfigInput{
		AllowedPublishers: publishers, HasPublishers: true, Policy: &policy})
	if err != nil {
		t.Fatal(err)
	}
	return c.ARN
}

func (sf *signingFixture) deploy(t testing.TB, name string, zip []byte) (*control.FunctionConfig, error) {
	return sf.svc.UpdateFunctionCode(sf.ctx, &control.UpdateCodeInput{FunctionName: name, Code: control.CodeInput{Zip: sf.stage(t, zip)}})
}

// TestCodeVerification runs every check of a deployment under both
// policies: what is refused, with which error, and what is deployed.
func TestCodeVerification(t *testing.T) {
	sf := newSigningFixture(t)
	stranger, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	other, err := sf.signer.PutSigningProfile(sf.ctx, signer.PutSigningProfileInput{Name: "other", PlatformID: "AWSLambda-SHA384-ECDSA"})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := sf.signer.ExportSigningKey(sf.ctx, other.VersionARN())
	good := sf.signed(t, "v-good", sf.profile, sf.key)
	tampered := bytes.Clone(good)
	tampered[40] ^= 0xff
	expired := func() []byte {
		z := zipOf(t, "v-expired")
		var out bytes.Buffer
		sig := lambdahost.CodeSignature{ProfileVersionARN: sf.profile, JobARN: "j", SignedAt: sf.now.AddDate(-2, 0, 0), ExpiresAt: sf.now.Add(-time.Hour)}
		if err := lambdahost.SignZip(bytes.NewReader(z), int64(len(z)), &out, sig, sf.key); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}()
	unknownProfile := "arn:aws:signer:us-east-1:000000000000:/signing-profiles/ghost/abcdefghij"

	const (
		mismatch  = "Lambda cannot deploy the function. The function or layer might be signed using a signature that the client is not configured to accept. Check the provided signature for %s."
		integrity = "Lambda cannot deploy the function. The code signature failed the integrity check for %s: the package or its signature changed after it was signed."
	)
	cases := []struct {
		name string
		zip  []byte
		// enforce is the error type with Enforce ("" = deployed); warn
		// likewise with Warn.
		enforce, warn lambdahost.ErrorType
		msg           string
		// signedBy is the SigningProfileVersionArn a deployed version shows.
		signedBy string
	}{
		{"Trusted", good, "", "", "", sf.profile},
		{"Unsigned", zipOf(t, "v-unsigned"), lambdahost.CodeVerificationFailedException, "", mismatch, ""},
		{"OtherComment", withZipComment(zipOf(t, "v-c"), "hello"), lambdahost.CodeVerificationFailedException, "", mismatch, ""},
		{"UntrustedPublisher", sf.signed(t, "v-other", other.VersionARN(), otherKey), lambdahost.CodeVerificationFailedException, "", mismatch, other.VersionARN()},
		{"UnknownProfileNotAllowed", sf.signed(t, "v-ghost", unknownProfile, stranger), lambdahost.CodeVerificationFailedException, "", mismatch, ""},
		{"Expired", expired, lambdahost.CodeVerificationFailedException, "", mismatch, sf.profile},
		{"Tampered", tampered, lambdahost.InvalidCodeSignatureException, lambdahost.InvalidCodeSignatureException, integrity, ""},
		{"ForgedWithAllowedARN", sf.signed(t, "v-forged", sf.profile, stranger), lambdahost.InvalidCodeSignatureException, lambdahost.InvalidCodeSignatureException, integrity, ""},
	}
	for _, policy := range []string{control.PolicyEnforce, control.PolicyWarn} {
		for _, tc := range cases {
			t.Run(policy+"/"+tc.name, func(t *testing.T) {
				name := strings.ToLower(policy + "-" + tc.name)
				sf.create(t, name, "unsigned original")
				arn := sf.csc(t, policy, sf.profile)
				if _, err := sf.svc.PutFunctionCodeSigningConfig(sf.ctx, name, arn); err != nil {
					t.Fatal(err)
				}
				before := sf.get(t, name).Version
				warnings := control.SignatureValidationErrors()
				out, err := sf.deploy(t, name, tc.zip)
				want := tc.enforce
				if policy == control.PolicyWarn {
					want = tc.warn
				}
				if want != "" {
					wantAPIError(t, err, want, strings.ReplaceAll(tc.msg, "%s", name))
					after := sf.get(t, name).Version
					if after.RevisionID != before.RevisionID || after.Code.Digest != before.Code.Digest {
						t.Fatal("a refused deployment changed the function")
					}
					return
				}
				if err != nil {
					t.Fatalf("deploy: %v", err)
				}
				if got := out.Version.Code.SigningProfileVersionARN; got != tc.signedBy {
					t.Errorf("SigningProfileVersionArn = %q, want %q", got, tc.signedBy)
				}
				if tc.signedBy != "" && out.Version.Code.SigningJobARN == "" {
					t.Error("SigningJobArn is empty")
				}
				failedCheck := tc.enforce != ""
				if got := control.SignatureValidationErrors() - warnings; failedCheck && got != 1 || !failedCheck && got != 0 {
					t.Errorf("SignatureValidationErrors grew by %d", got)
				}
			})
		}
	}
}

// withZipComment sets a zip's comment.
func withZipComment(z []byte, c string) []byte {
	out := bytes.Clone(z[:len(z)-2])
	return append(append(out, byte(len(c)), byte(len(c)>>8)), c...)
}

// TestCodeVerificationRevocation: a revoked profile refuses what it signed
// from the revocation's effective time on, not before.
func TestCodeVerificationRevocation(t *testing.T) {
	sf := newSigningFixture(t)
	sf.create(t, "fn", "x")
	arn := sf.csc(t, control.PolicyEnforce, sf.profile)
	if _, err := sf.svc.PutFunctionCodeSigningConfig(sf.ctx, "fn", arn); err != nil {
		t.Fatal(err)
	}
	old := sf.signed(t, "before revocation", sf.profile, sf.key)
	sf.now = sf.now.Add(48 * time.Hour)
	recent := sf.signed(t, "after revocation", sf.profile, sf.key)
	version := sf.profile[strings.LastIndexByte(sf.profile, '/')+1:]
	if err := sf.signer.RevokeSigningProfile(sf.ctx, "publisher", version, "key leaked", sf.now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.deploy(t, "fn", recent); !isType(err, lambdahost.CodeVerificationFailedException) {
		t.Fatalf("signed after the revocation: %v", err)
	}
	if _, err := sf.deploy(t, "fn", old); err != nil {
		t.Fatalf("signed before the revocation: %v", err)
	}
}

// TestCodeVerificationCanceledProfile: what a profile signed before it was
// canceled stays trusted; a signature dated after (made offline with an
// exported key) is not.
func TestCodeVerificationCanceledProfile(t *testing.T) {
	sf := newSigningFixture(t)
	sf.create(t, "fn", "x")
	arn := sf.csc(t, control.PolicyEnforce, sf.profile)
	if _, err := sf.svc.PutFunctionCodeSigningConfig(sf.ctx, "fn", arn); err != nil {
		t.Fatal(err)
	}
	before := sf.signed(t, "before cancel", sf.profile, sf.key)
	sf.now = sf.now.Add(time.Hour)
	if err := sf.signer.CancelSigningProfile(sf.ctx, "publisher"); err != nil {
		t.Fatal(err)
	}
	sf.now = sf.now.Add(time.Hour)
	after := sf.signed(t, "after cancel", sf.profile, sf.key)
	if _, err := sf.deploy(t, "fn", after); !isType(err, lambdahost.CodeVerificationFailedException) {
		t.Fatalf("signed after the cancellation: %v", err)
	}
	if _, err := sf.deploy(t, "fn", before); err != nil {
		t.Fatalf("signed before the cancellation: %v", err)
	}
}

func isType(err error, typ lambdahost.ErrorType) bool {
	var e *lambdahost.Error
	return errors.As(err, &e) && e.Type == typ
}

// TestCodeSigningConfigs covers the configs' own operations and the
// function bindings, with AWS's errors.
func TestCodeSigningConfigs(t *testing.T) {
	sf := newSigningFixture(t)
	ctx := sf.ctx
	c, err := sf.svc.CreateCodeSigningConfig(ctx, &control.CodeSigningConfigInput{Description: ptr("d"), AllowedPublishers: []string{sf.profile}, HasPublishers: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy != control.PolicyWarn || !strings.HasPrefix(c.ARN, "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-") || len(c.ID) != 21 {
		t.Fatalf("created %+v", c)
	}
	missing := "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdefg"

	t.Run("Validation", func(t *testing.T) {
		for _, in := range []*control.CodeSigningConfigInput{
			{},
			{HasPublishers: true},
			{HasPublishers: true, AllowedPublishers: []string{"not-an-arn"}},
			{HasPublishers: true, AllowedPublishers: []string{sf.profile}, Policy: ptr("Block")},
			{HasPublishers: true, AllowedPublishers: []string{sf.profile}, Description: ptr(strings.Repeat("d", 257))},
		} {
			if _, err := sf.svc.CreateCodeSigningConfig(ctx, in); !isType(err, lambdahost.ValidationException) {
				t.Errorf("Create(%+v) = %v, want ValidationException", in, err)
			}
		}
		if _, err := sf.svc.GetCodeSigningConfig(ctx, "csc-nope"); !isType(err, lambdahost.ValidationException) {
			t.Errorf("Get of a malformed ARN = %v", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		_, err := sf.svc.GetCodeSigningConfig(ctx, missing)
		wantAPIError(t, err, lambdahost.ResourceNotFoundException, "The Lambda code signing configuration "+missing+" can not be found.")
		err = sf.svc.DeleteCodeSigningConfig(ctx, missing)
		wantAPIError(t, err, lambdahost.ResourceNotFoundException, "The Lambda code signing configuration "+missing+" can not be found.")
		// Another region's caller does not see it.
		if _, err := sf.svc.GetCodeSigningConfig(callerIn(ctx, "eu-west-1"), c.ARN); !isType(err, lambdahost.ResourceNotFoundException) {
			t.Errorf("from another region: %v", err)
		}
	})
	t.Run("Update", func(t *testing.T) {
		sf.now = sf.now.Add(time.Minute)
		u, err := sf.svc.UpdateCodeSigningConfig(ctx, c.ARN, &control.CodeSigningConfigInput{Policy: ptr(control.PolicyEnforce)})
		if err != nil {
			t.Fatal(err)
		}
		if u.Policy != control.PolicyEnforce || u.Description != "d" || len(u.AllowedPublishers) != 1 || !u.LastModified.After(c.LastModified) {
			t.Fatalf("updated %+v", u)
		}
	})
	t.Run("Bindings", func(t *testing.T) {
		_, err := sf.svc.PutFunctionCodeSigningConfig(ctx, "nofn", c.ARN)
		wantAPIError(t, err, lambdahost.ResourceNotFoundException, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nofn")
		sf.create(t, "bound", "x")
		_, err = sf.svc.PutFunctionCodeSigningConfig(ctx, "bound", missing)
		wantAPIError(t, err, lambdahost.CodeSigningConfigNotFoundException,
			"The code signing configuration cannot be found. Check that the provided configuration is not deleted: "+missing+".")
		if _, err := sf.svc.PutFunctionCodeSigningConfig(ctx, "bound:1", c.ARN); !isType(err, lambdahost.InvalidParameterValueException) {
			t.Errorf("qualified name: %v", err)
		}
		if got, err := sf.svc.GetFunctionCodeSigningConfig(ctx, "bound"); err != nil || got.CodeSigningConfigARN != "" || got.FunctionName != "bound" {
			t.Fatalf("unbound: %+v, %v", got, err)
		}
		if _, err := sf.svc.PutFunctionCodeSigningConfig(ctx, "bound", c.ARN); err != nil {
			t.Fatal(err)
		}
		if got, err := sf.svc.GetFunctionCodeSigningConfig(ctx, "arn:aws:lambda:us-east-1:000000000000:function:bound"); err != nil || got.CodeSigningConfigARN != c.ARN {
			t.Fatalf("bound: %+v, %v", got, err)
		}
		list, err := sf.svc.ListFunctionsByCodeSigningConfig(ctx, c.ARN, control.ListInput{})
		if err != nil || len(list.FunctionARNs) != 1 || list.FunctionARNs[0] != "arn:aws:lambda:us-east-1:000000000000:function:bound" {
			t.Fatalf("ListFunctionsByCodeSigningConfig = %+v, %v", list, err)
		}
		if err := sf.svc.DeleteCodeSigningConfig(ctx, c.ARN); !isType(err, lambdahost.ResourceConflictException) {
			t.Fatalf("deleting a config in use: %v", err)
		}
		// Deleting the function releases the config.
		if err := sf.svc.DeleteFunction(ctx, "bound", ""); err != nil {
			t.Fatal(err)
		}
		if list, _ := sf.svc.ListFunctionsByCodeSigningConfig(ctx, c.ARN, control.ListInput{}); len(list.FunctionARNs) != 0 {
			t.Fatalf("deleted function still listed: %v", list.FunctionARNs)
		}
		if err := sf.svc.DeleteFunctionCodeSigningConfig(ctx, "bound"); !isType(err, lambdahost.ResourceNotFoundException) {
			t.Fatalf("DeleteFunctionCodeSigningConfig of a deleted function: %v", err)
		}
		if err := sf.svc.DeleteCodeSigningConfig(ctx, c.ARN); err != nil {
			t.Fatal(err)
		}
		if _, err := sf.svc.GetCodeSigningConfig(ctx, c.ARN); !isType(err, lambdahost.ResourceNotFoundException) {
			t.Fatalf("after delete: %v", err)
		}
	})
	t.Run("CreateFunctionWithConfig", func(t *testing.T) {
		arn := sf.csc(t, control.PolicyEnforce, sf.profile)
		create := func(name string, zip []byte, csc string) error {
			_, err := sf.svc.CreateFunction(ctx, &control.CreateFunctionInput{
				FunctionName: name, CodeSigningConfigARN: &csc,
				Config: control.ConfigInput{Runtime: ptr("python3.12"), Role: ptr("arn:aws:iam::000000000000:role/r"), Handler: ptr("app.handler")},
				Code:   &control.CodeInput{Zip: sf.stage(t, zip)},
			})
			return err
		}
		if err := create("refused", zipOf(t, "unsigned"), arn); !isType(err, lambdahost.CodeVerificationFailedException) {
			t.Fatalf("unsigned create under Enforce: %v", err)
		}
		if _, err := sf.svc.GetFunction(ctx, "refused", ""); !isType(err, lambdahost.ResourceNotFoundException) {
			t.Fatalf("a refused create left a function: %v", err)
		}
		err := create("nocsc", zipOf(t, "x"), missing)
		wantAPIError(t, err, lambdahost.CodeSigningConfigNotFoundException,
			"The code signing configuration cannot be found. Check that the provided configuration is not deleted: "+missing+".")
		if err := create("signed", sf.signed(t, "ok", sf.profile, sf.key), arn); err != nil {
			t.Fatal(err)
		}
		got, err := sf.svc.GetFunctionCodeSigningConfig(ctx, "signed")
		if err != nil || got.CodeSigningConfigARN != arn {
			t.Fatalf("created with a config: %+v, %v", got, err)
		}
		if v := sf.get(t, "signed").Version; v.Code.SigningProfileVersionARN != sf.profile {
			t.Fatalf("SigningProfileVersionArn = %q", v.Code.SigningProfileVersionARN)
		}
	})
	t.Run("Tags", func(t *testing.T) {
		tagged, err := sf.svc.CreateCodeSigningConfig(ctx, &control.CodeSigningConfigInput{
			AllowedPublishers: []string{sf.profile}, HasPublishers: true, Tags: map[string]string{"team": "a"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := sf.svc.TagResource(ctx, tagged.ARN, map[string]string{"stage": "prod"}); err != nil {
			t.Fatal(err)
		}
		if err := sf.svc.UntagResource(ctx, tagged.ARN, []string{"team"}); err != nil {
			t.Fatal(err)
		}
		tags, err := sf.svc.ListTags(ctx, tagged.ARN)
		if err != nil || len(tags) != 1 || tags["stage"] != "prod" {
			t.Fatalf("ListTags = %v, %v", tags, err)
		}
		if _, err := sf.svc.ListTags(ctx, missing); !isType(err, lambdahost.ResourceNotFoundException) {
			t.Fatalf("ListTags of a missing config: %v", err)
		}
		if err := sf.svc.DeleteCodeSigningConfig(ctx, tagged.ARN); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("List", func(t *testing.T) {
		for range 3 {
			sf.csc(t, control.PolicyWarn, sf.profile)
		}
		var all []string
		in := control.ListInput{MaxItems: ptr(2)}
		for {
			page, err := sf.svc.ListCodeSigningConfigs(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Configs {
				all = append(all, c.ARN)
			}
			if page.NextMarker == "" {
				break
			}
			in.Marker = &page.NextMarker
		}
		if len(all) != 4 { // three here and CreateFunctionWithConfig's
			t.Fatalf("listed %d configs: %v", len(all), all)
		}
		if other, _ := sf.svc.ListCodeSigningConfigs(callerIn(ctx, "eu-west-1"), control.ListInput{}); len(other.Configs) != 0 {
			t.Fatalf("another region lists %d configs", len(other.Configs))
		}
	})
}

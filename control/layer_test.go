package control_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

const depsARN = "arn:aws:lambda:us-east-1:000000000000:layer:deps"

func (f *fixture) publish(t testing.TB, name, content string) *control.LayerVersion {
	t.Helper()
	lv, err := f.svc.PublishLayerVersion(f.ctx, &control.PublishLayerVersionInput{
		LayerName: name, Content: &control.CodeInput{Zip: f.stage(t, zipOf(t, content))},
	})
	if err != nil {
		t.Fatal(err)
	}
	return lv
}

func (f *fixture) setLayers(t testing.TB, name string, arns ...string) (*control.FunctionConfig, error) {
	t.Helper()
	return f.svc.UpdateFunctionConfiguration(f.ctx, &control.UpdateConfigInput{FunctionName: name, Config: control.ConfigInput{Layers: &arns}})
}

// TestLayerVersionNumbers checks that numbers go up from 1 per layer, are
// never reused after deletion, and that concurrent publishers each get
// their own.
func TestLayerVersionNumbers(t *testing.T) {
	f := newFixture(t, nil)
	for want := int64(1); want <= 2; want++ {
		if got := f.publish(t, "deps", "v").Version; got != want {
			t.Fatalf("Version = %d, want %d", got, want)
		}
	}
	if got := f.publish(t, "other", "v").Version; got != 1 {
		t.Errorf("another layer's first Version = %d, want 1", got)
	}
	for _, n := range []int64{1, 2} {
		if err := f.svc.DeleteLayerVersion(f.ctx, "deps", n); err != nil {
			t.Fatal(err)
		}
	}
	out, err := f.svc.ListLayerVersions(f.ctx, "deps", control.LayerFilter{}, control.ListInput{})
	if err != nil || len(out.Versions) != 0 {
		t.Fatalf("ListLayerVersions after deleting all = %v, %v; want none", out, err)
	}
	if got := f.publish(t, "deps", "v").Version; got != 3 {
		t.Errorf("Version after deleting 1 and 2 = %d, want 3", got)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []int64
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lv := f.publish(t, "race", fmt.Sprint(i))
			mu.Lock()
			got = append(got, lv.Version)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(got)
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(got, want) {
		t.Errorf("concurrent publishes got versions %v, want %v", got, want)
	}
}

// TestLayerCodeKept checks that a layer's code is kept while a layer
// version or a function version uses it, and collected after, and that
// it counts in the account's code storage while the layer version exists.
func TestLayerCodeKept(t *testing.T) {
	now := time.Now()
	f := newFixture(t, func(s *control.Service) { s.Now = func() time.Time { return now }; s.InlineCodeMax = -1 })
	f.create(t, "f", "fn")
	before, err := f.svc.GetAccountSettings(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	lv := f.publish(t, "deps", "layer code")
	after, err := f.svc.GetAccountSettings(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Usage.TotalCodeSize != before.Usage.TotalCodeSize+lv.Code.Size {
		t.Errorf("TotalCodeSize %d after publishing %d bytes, was %d", after.Usage.TotalCodeSize, lv.Code.Size, before.Usage.TotalCodeSize)
	}
	stored := storedAt(lv.Code)
	gc := func() {
		t.Helper()
		now = now.Add(2 * time.Hour)
		if _, err := f.svc.CollectGarbage(f.ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	kept := func(want bool, when string) {
		t.Helper()
		_, err := f.blobs.Stat(f.ctx, stored)
		if want && err != nil {
			t.Errorf("%s: layer code collected: %v", when, err)
		}
		if !want && !errors.Is(err, lambdahost.ErrBlobNotFound) {
			t.Errorf("%s: layer code kept: %v", when, err)
		}
	}
	gc()
	kept(true, "a layer version uses it")
	if _, err := f.setLayers(t, "f", depsARN+":1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteLayerVersion(f.ctx, "deps", 1); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.svc.GetAccountSettings(f.ctx); s.Usage.TotalCodeSize != before.Usage.TotalCodeSize {
		t.Errorf("TotalCodeSize %d after deleting the layer version, want %d", s.Usage.TotalCodeSize, before.Usage.TotalCodeSize)
	}
	gc()
	kept(true, "a function uses its deleted layer version")
	if got := f.get(t, "f").Config.Layers; len(got) != 1 || got[0].ARN != depsARN+":1" {
		t.Errorf("the function's layers after the version was deleted: %+v", got)
	}
	if _, err := f.setLayers(t, "f"); err != nil {
		t.Fatal(err)
	}
	gc()
	kept(false, "nothing uses it")
}

// TestLayerStorageLimit checks that layers count against the quota.
func TestLayerStorageLimit(t *testing.T) {
	f := newFixture(t, nil)
	lv := f.publish(t, "deps", "first")
	f.svc.CodeStorageLimit = lv.Code.Size + 10
	_, err := f.svc.PublishLayerVersion(f.ctx, &control.PublishLayerVersionInput{
		LayerName: "deps", Content: &control.CodeInput{Zip: f.stage(t, zipOf(t, "second"))},
	})
	if !isType(err, lambdahost.CodeStorageExceededException) {
		t.Errorf("publishing past the quota: %v, want CodeStorageExceededException", err)
	}
}

// TestLayerSigning checks a function's code signing config against the
// layers it adds: an unsigned one is refused under Enforce and attached
// under Warn, a signed one by an allowed profile is attached and shows
// who signed it, and layers already attached are not checked again.
func TestLayerSigning(t *testing.T) {
	sf := newSigningFixture(t)
	sf.create(t, "f", "fn")
	publish := func(name string, zip []byte) *control.LayerVersion {
		t.Helper()
		lv, err := sf.svc.PublishLayerVersion(sf.ctx, &control.PublishLayerVersionInput{LayerName: name, Content: &control.CodeInput{Zip: sf.stage(t, zip)}})
		if err != nil {
			t.Fatal(err)
		}
		return lv
	}
	unsigned := publish("unsigned", zipOf(t, "plain"))
	signed := publish("signed", sf.signed(t, "signed layer", sf.profile, sf.key))
	if signed.Code.SigningProfileVersionARN != sf.profile || signed.Code.SigningJobARN == "" {
		t.Errorf("signed layer's Content: %+v", signed.Code)
	}
	if unsigned.Code.SigningProfileVersionARN != "" {
		t.Errorf("unsigned layer shows a signer: %+v", unsigned.Code)
	}
	// A layer attached before the config is not checked when the config
	// comes; adding more layers later is.
	if _, err := sf.setLayers(t, "f", unsigned.ARN()); err != nil {
		t.Fatal(err)
	}
	enforce := sf.csc(t, control.PolicyEnforce, sf.profile)
	if _, err := sf.svc.PutFunctionCodeSigningConfig(sf.ctx, "f", enforce); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.setLayers(t, "f", unsigned.ARN(), signed.ARN()); err != nil {
		t.Errorf("adding a signed layer beside an attached unsigned one: %v", err)
	}
	got := sf.get(t, "f").Config.Layers
	if len(got) != 2 || got[1].SigningProfileVersionARN != sf.profile || got[1].SigningJobARN != signed.Code.SigningJobARN {
		t.Errorf("Layers = %+v, want the signed layer's signer on it", got)
	}
	if _, err := sf.setLayers(t, "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.setLayers(t, "f", unsigned.ARN()); !isType(err, lambdahost.CodeVerificationFailedException) {
		t.Errorf("adding an unsigned layer under Enforce: %v, want CodeVerificationFailedException", err)
	}
	// A function created with the config checks its layers too.
	_, err := sf.svc.CreateFunction(sf.ctx, &control.CreateFunctionInput{
		FunctionName: "g", Code: &control.CodeInput{Zip: sf.stage(t, sf.signed(t, "g code", sf.profile, sf.key))},
		Config: control.ConfigInput{Runtime: ptr("python3.12"), Role: ptr("arn:aws:iam::000000000000:role/r"), Handler: ptr("app.handler"),
			Layers: &[]string{unsigned.ARN()}},
		CodeSigningConfigARN: &enforce,
	})
	if !isType(err, lambdahost.CodeVerificationFailedException) {
		t.Errorf("creating a function with an unsigned layer under Enforce: %v, want CodeVerificationFailedException", err)
	}
	warn := control.PolicyWarn
	if _, err := sf.svc.UpdateCodeSigningConfig(sf.ctx, enforce, &control.CodeSigningConfigInput{Policy: &warn}); err != nil {
		t.Fatal(err)
	}
	n := control.SignatureValidationErrors()
	if _, err := sf.setLayers(t, "f", unsigned.ARN()); err != nil {
		t.Errorf("adding an unsigned layer under Warn: %v", err)
	}
	if control.SignatureValidationErrors() <= n {
		t.Error("Warn did not count the failed check")
	}
	// A tampered signed layer fails its integrity check at publish time,
	// and is refused whatever the policy.
	tampered := sf.signed(t, "tampered layer", sf.profile, sf.key)
	tampered[40] ^= 1
	bad := publish("tampered", tampered)
	if bad.Code.SigningProfileVersionARN != "" {
		t.Errorf("tampered layer shows a signer: %+v", bad.Code)
	}
	if _, err := sf.setLayers(t, "f", bad.ARN()); !isType(err, lambdahost.InvalidCodeSignatureException) {
		t.Errorf("adding a tampered layer: %v, want InvalidCodeSignatureException", err)
	}
}

// TestLayerPolicyAccess checks another account's use of a layer version:
// refused until a statement lets it in, for reading and attaching alike.
func TestLayerPolicyAccess(t *testing.T) {
	f := newFixture(t, nil)
	f.publish(t, "deps", "shared")
	other := lambdahost.WithCaller(f.ctx, lambdahost.Caller{AccessKey: "other", Account: "111111111111", Region: "us-east-1"})
	otherF := &fixture{svc: f.svc, store: f.store, blobs: f.blobs, ctx: other}
	otherF.create(t, "g", "g")
	attach := func() error {
		_, err := otherF.setLayers(t, "g", depsARN+":1")
		return err
	}
	if _, err := f.svc.GetLayerVersion(other, depsARN, 1); !isType(err, lambdahost.AccessDeniedException) {
		t.Errorf("GetLayerVersion without a policy: %v, want AccessDeniedException", err)
	}
	if err := attach(); !isType(err, lambdahost.AccessDeniedException) {
		t.Errorf("attaching without a policy: %v, want AccessDeniedException", err)
	}
	add := func(sid, principal string, org *string) {
		t.Helper()
		if _, err := f.svc.AddLayerVersionPermission(f.ctx, &control.LayerVersionPermissionInput{
			LayerName: "deps", Version: 1, StatementID: sid, Action: "lambda:GetLayerVersion", Principal: principal, OrganizationID: org,
		}); err != nil {
			t.Fatal(err)
		}
	}
	add("someone-else", "222222222222", nil)
	add("org", "*", ptr("o-abcdefghij"))
	if err := attach(); !isType(err, lambdahost.AccessDeniedException) {
		t.Errorf("attaching with statements for others: %v, want AccessDeniedException", err)
	}
	add("other", "arn:aws:iam::111111111111:root", nil)
	if _, err := f.svc.GetLayerVersion(other, depsARN, 1); err != nil {
		t.Errorf("GetLayerVersion allowed: %v", err)
	}
	if err := attach(); err != nil {
		t.Errorf("attaching allowed: %v", err)
	}
	// The policy is the owner's alone to change, and the layer its to delete.
	if _, err := f.svc.AddLayerVersionPermission(other, &control.LayerVersionPermissionInput{
		LayerName: depsARN, Version: 1, StatementID: "x", Action: "lambda:GetLayerVersion", Principal: "*",
	}); !isType(err, lambdahost.AccessDeniedException) {
		t.Errorf("AddLayerVersionPermission by another account: %v, want AccessDeniedException", err)
	}
	if err := f.svc.DeleteLayerVersion(other, depsARN, 1); !isType(err, lambdahost.AccessDeniedException) {
		t.Errorf("DeleteLayerVersion by another account: %v, want AccessDeniedException", err)
	}
	// Removing the statement locks the other account out again; the
	// function that attached the layer keeps it.
	if err := f.svc.RemoveLayerVersionPermission(f.ctx, "deps", 1, "other", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetLayerVersion(other, depsARN, 1); !isType(err, lambdahost.AccessDeniedException) {
		t.Errorf("GetLayerVersion after the statement was removed: %v, want AccessDeniedException", err)
	}
	if got := otherF.get(t, "g").Config.Layers; len(got) != 1 {
		t.Errorf("g's layers: %+v", got)
	}
}

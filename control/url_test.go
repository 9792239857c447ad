package control_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// as returns ctx with the caller moved to account (access key key).
func as(ctx context.Context, key, account string) context.Context {
	return lambdahost.WithCaller(ctx, lambdahost.Caller{AccessKey: key, Account: account, Region: "us-east-1"})
}

// TestCrossAccountGrants: another account reaches a function by ARN only
// for what the function's policy (of the qualifier named) grants it.
func TestCrossAccountGrants(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	if _, err := f.svc.PublishVersion(f.ctx, &control.PublishVersionInput{FunctionName: "f"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateAlias(f.ctx, &control.AliasInput{FunctionName: "f", Name: "live", FunctionVersion: ptr("1")}); err != nil {
		t.Fatal(err)
	}
	b := as(f.ctx, "AKIAB", "111111111111")
	c := as(f.ctx, "AKIAC", "333333333333")
	denied := func(ctx context.Context, resource string, err error) {
		t.Helper()
		c, _ := lambdahost.CallerFrom(ctx)
		wantErr(t, err, lambdahost.AccessDeniedException, "User: arn:aws:iam::"+c.Account+":user/"+c.AccessKey+
			" is not authorized to perform this action on resource: "+resource+" because no resource-based policy allows it")
	}
	_, err := f.svc.ResolveInvoke(b, arnF, "")
	denied(b, arnF, err)

	if _, err := f.svc.AddPermission(f.ctx, permission("b", "lambda:InvokeFunction", "111111111111")); err != nil {
		t.Fatal(err)
	}
	inv, err := f.svc.ResolveInvoke(b, arnF, "")
	if err != nil {
		t.Fatal(err)
	}
	if inv.InvokedARN != arnF || inv.Version.Name != lambdahost.VersionLatest {
		t.Errorf("B invokes %s version %s", inv.InvokedARN, inv.Version.Name)
	}
	if _, err := f.svc.ResolveInvoke(b, "000000000000:function:f", ""); err != nil {
		t.Errorf("by partial ARN: %v", err)
	}
	_, err = f.svc.ResolveInvoke(c, arnF, "")
	denied(c, arnF, err)
	// The unqualified policy grants neither a version nor an alias.
	_, err = f.svc.ResolveInvoke(b, arnF+":live", "")
	denied(b, arnF+":live", err)
	_, err = f.svc.ResolveInvoke(b, arnF, "1")
	denied(b, arnF, err)
	// Nor another action.
	_, err = f.svc.GetFunction(b, arnF, "")
	denied(b, arnF, err)
	// By bare name, B names its own (missing) function.
	_, err = f.svc.ResolveInvoke(b, "f", "")
	wantErr(t, err, lambdahost.ResourceNotFoundException, "Function not found: arn:aws:lambda:us-east-1:111111111111:function:f:$LATEST")

	alias := permission("b", "lambda:InvokeFunction", "arn:aws:iam::111111111111:root")
	alias.Qualifier = "live"
	if _, err := f.svc.AddPermission(f.ctx, alias); err != nil {
		t.Fatal(err)
	}
	if inv, err := f.svc.ResolveInvoke(b, arnF+":live", ""); err != nil || inv.ExecutedVersion != "1" {
		t.Errorf("B invokes the alias: %v", err)
	}
	// A qualifier parameter that contradicts the name is told only to
	// those who are let in.
	_, err = f.svc.ResolveInvoke(b, arnF+":live", "1")
	wantErr(t, err, lambdahost.InvalidParameterValueException, "")
	_, err = f.svc.ResolveInvoke(c, arnF+":live", "1")
	denied(c, arnF+":live", err)

	get := permission("get", "lambda:GetFunction", "111111111111")
	if _, err := f.svc.AddPermission(f.ctx, get); err != nil {
		t.Fatal(err)
	}
	info, err := f.svc.GetFunction(b, arnF, "")
	if err != nil || info.ARN != arnF {
		t.Errorf("B's GetFunction: %v", err)
	}
	_, err = f.svc.GetFunctionConfiguration(b, arnF, "")
	denied(b, arnF, err)
	// Everything else stays refused.
	_, err = f.svc.GetPolicy(b, arnF, "")
	denied(b, arnF, err)
	_, err = f.svc.UpdateFunctionConfiguration(b, &control.UpdateConfigInput{FunctionName: arnF, Config: control.ConfigInput{Description: ptr("x")}})
	denied(b, arnF, err)

	if err := f.svc.RemovePermission(f.ctx, "f", "b", "", nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ResolveInvoke(b, arnF, "")
	denied(b, arnF, err)
	// Another region's function is never reached.
	_, err = f.svc.ResolveInvoke(b, "arn:aws:lambda:eu-west-1:000000000000:function:f", "")
	wantErr(t, err, lambdahost.AccessDeniedException, "")
}

func urlInput(name, qualifier, auth string) *control.FunctionURLInput {
	return &control.FunctionURLInput{FunctionName: name, Qualifier: qualifier, AuthType: &auth}
}

func TestFunctionURLConfigs(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	ids := 0
	f := newFixture(t, func(s *control.Service) {
		s.Now = func() time.Time { return clock }
		s.NewURLID = func() string { ids++; return fmt.Sprintf("%032d", ids) }
	})
	f.create(t, "f", "v1")
	if _, err := f.svc.CreateAlias(f.ctx, &control.AliasInput{FunctionName: "f", Name: "live", FunctionVersion: ptr("$LATEST")}); err != nil {
		t.Fatal(err)
	}
	in := urlInput("f", "", "NONE")
	in.Cors = &control.Cors{AllowOrigins: []string{"https://example.com"}, MaxAge: ptr(60)}
	c, err := f.svc.CreateFunctionUrlConfig(f.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.URLID != fmt.Sprintf("%032d", 1) || c.FunctionARN != arnF || c.AuthType != "NONE" || c.InvokeMode != "" || c.Mode() != control.InvokeModeBuffered ||
		!c.Created.Equal(clock.Truncate(time.Microsecond)) || c.Cors == nil || c.Cors.AllowOrigins[0] != "https://example.com" {
		t.Errorf("created %+v", c)
	}
	_, err = f.svc.CreateFunctionUrlConfig(f.ctx, urlInput("f", "", "NONE"))
	wantErr(t, err, lambdahost.ResourceConflictException,
		"Failed to create function url config for [functionArn = "+arnF+"]. Error message:  FunctionUrlConfig exists for this Lambda function")
	alias := urlInput("f", "live", "AWS_IAM")
	alias.InvokeMode = ptr(control.InvokeModeStream)
	if c, err := f.svc.CreateFunctionUrlConfig(f.ctx, alias); err != nil || c.FunctionARN != arnF+":live" || c.Mode() != control.InvokeModeStream {
		t.Fatalf("alias URL: %+v %v", c, err)
	}

	clock = clock.Add(time.Minute)
	up, err := f.svc.UpdateFunctionUrlConfig(f.ctx, &control.FunctionURLInput{FunctionName: "f", AuthType: ptr("AWS_IAM")})
	if err != nil {
		t.Fatal(err)
	}
	if up.URLID != c.URLID || up.AuthType != "AWS_IAM" || up.Cors == nil || !up.Created.Equal(c.Created) || !up.LastModified.After(c.Created) {
		t.Errorf("updated %+v", up)
	}
	up, err = f.svc.UpdateFunctionUrlConfig(f.ctx, &control.FunctionURLInput{FunctionName: "f", InvokeMode: ptr(control.InvokeModeStream)})
	if err != nil || up.Mode() != control.InvokeModeStream || up.AuthType != "AWS_IAM" {
		t.Fatalf("update InvokeMode: %+v %v", up, err)
	}
	if up, err = f.svc.UpdateFunctionUrlConfig(f.ctx, &control.FunctionURLInput{FunctionName: "f"}); err != nil || up.Mode() != control.InvokeModeStream {
		t.Errorf("an empty update reset InvokeMode: %+v %v", up, err)
	}

	page, err := f.svc.ListFunctionUrlConfigs(f.ctx, "f", control.ListInput{MaxItems: ptr(1)})
	if err != nil || len(page.Configs) != 1 || page.Configs[0].FunctionARN != arnF || page.NextMarker == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = f.svc.ListFunctionUrlConfigs(f.ctx, "f", control.ListInput{MaxItems: ptr(1), Marker: &page.NextMarker})
	if err != nil || len(page.Configs) != 1 || page.Configs[0].FunctionARN != arnF+":live" || page.NextMarker != "" {
		t.Fatalf("second page: %+v %v", page, err)
	}

	// The URL is found by its ID until it is deleted.
	e, err := f.svc.FunctionURL(f.ctx, c.URLID)
	if err != nil || e.Function.Name != "f" || e.Qualifier != "" {
		t.Fatalf("FunctionURL: %+v %v", e, err)
	}
	if err := f.svc.DeleteFunctionUrlConfig(f.ctx, "f", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FunctionURL(f.ctx, c.URLID); !errors.Is(err, control.ErrURLNotFound) {
		t.Errorf("a deleted URL: %v", err)
	}
	_, err = f.svc.GetFunctionUrlConfig(f.ctx, "f", "")
	wantErr(t, err, lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
	if _, err := f.svc.GetFunctionUrlConfig(f.ctx, "f", "live"); err != nil {
		t.Errorf("deleting $LATEST's URL deleted the alias's: %v", err)
	}
	// Deleting the alias deletes its URL.
	aliasURL, _ := f.svc.GetFunctionUrlConfig(f.ctx, "f", "live")
	if err := f.svc.DeleteAlias(f.ctx, "f", "live"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FunctionURL(f.ctx, aliasURL.URLID); !errors.Is(err, control.ErrURLNotFound) {
		t.Errorf("the URL of a deleted alias: %v", err)
	}
	page, err = f.svc.ListFunctionUrlConfigs(f.ctx, "f", control.ListInput{})
	if err != nil || len(page.Configs) != 0 {
		t.Errorf("list after deletes: %+v %v", page, err)
	}
}

func TestFunctionURLConfigErrors(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	if _, err := f.svc.CreateAlias(f.ctx, &control.AliasInput{FunctionName: "f", Name: "urlalias", FunctionVersion: ptr("$LATEST")}); err != nil {
		t.Fatal(err)
	}
	v := func(q string) string {
		return "1 validation error detected: Value '" + q + "' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)"
	}
	const (
		fnMissing  = "Function does not exist"
		resMissing = "The resource you requested does not exist."
		mismatch   = "The derived qualifier from the function name does not match the specified qualifier."
	)
	type want struct {
		typ lambdahost.ErrorType
		msg string
	}
	ops := []struct {
		op  string
		run func(name, qualifier string) error
	}{
		{"create", func(n, q string) error {
			_, err := f.svc.CreateFunctionUrlConfig(f.ctx, urlInput(n, q, "NONE"))
			return err
		}},
		{"get", func(n, q string) error { _, err := f.svc.GetFunctionUrlConfig(f.ctx, n, q); return err }},
		{"delete", func(n, q string) error { return f.svc.DeleteFunctionUrlConfig(f.ctx, n, q) }},
		{"update", func(n, q string) error {
			_, err := f.svc.UpdateFunctionUrlConfig(f.ctx, &control.FunctionURLInput{FunctionName: n, Qualifier: q})
			return err
		}},
	}
	tests := []struct {
		name, fn, qualifier string
		want                [4]want // create, get, delete, update
	}{
		{"no-function", "doesnotexist", "", [4]want{{lambdahost.ResourceNotFoundException, fnMissing}, {lambdahost.ResourceNotFoundException, resMissing}, {lambdahost.ResourceNotFoundException, resMissing}, {lambdahost.ResourceNotFoundException, fnMissing}}},
		{"no-function-arn", "arn:aws:lambda:us-east-1:000000000000:function:doesnotexist", "", [4]want{{lambdahost.ResourceNotFoundException, fnMissing}, {lambdahost.ResourceNotFoundException, resMissing}, {lambdahost.ResourceNotFoundException, resMissing}, {lambdahost.ResourceNotFoundException, fnMissing}}},
		{"version", "f", "1", [4]want{{lambdahost.ValidationException, v("1")}, {lambdahost.ValidationException, v("1")}, {lambdahost.ValidationException, v("1")}, {lambdahost.ValidationException, v("1")}}},
		{"version-unknown-function", "doesnotexist", "2", [4]want{{lambdahost.ValidationException, v("2")}, {lambdahost.ValidationException, v("2")}, {lambdahost.ValidationException, v("2")}, {lambdahost.ValidationException, v("2")}}},
		{"latest", "f", "$LATEST", [4]want{{lambdahost.ValidationException, v("$LATEST")}, {lambdahost.ValidationException, v("$LATEST")}, {lambdahost.ValidationException, v("$LATEST")}, {lambdahost.ValidationException, v("$LATEST")}}},
		{"no-alias", "f", "v1", [4]want{{lambdahost.ResourceNotFoundException, fnMissing}, {lambdahost.ResourceNotFoundException, resMissing}, {lambdahost.ResourceNotFoundException, resMissing}, {lambdahost.ResourceNotFoundException, fnMissing}}},
		{"mismatch", "f:urlalias-doesnotmatch", "urlalias", [4]want{{lambdahost.InvalidParameterValueException, mismatch}, {lambdahost.InvalidParameterValueException, mismatch}, {lambdahost.InvalidParameterValueException, mismatch}, {lambdahost.InvalidParameterValueException, mismatch}}},
		{"no-config", "f", "", [4]want{{}, {lambdahost.ResourceNotFoundException, resMissing}, {lambdahost.ResourceNotFoundException, resMissing}, {lambdahost.ResourceNotFoundException, resMissing}}},
	}
	for _, tt := range tests {
		for i, op := range ops {
			if tt.want[i].typ == "" {
				continue
			}
			t.Run(tt.name+"/"+op.op, func(t *testing.T) {
				wantErr(t, op.run(tt.fn, tt.qualifier), tt.want[i].typ, tt.want[i].msg)
			})
		}
	}
	bad := urlInput("f", "", "NONE")
	bad.InvokeMode = ptr("UNKNOWN")
	_, err := f.svc.CreateFunctionUrlConfig(f.ctx, bad)
	wantErr(t, err, lambdahost.ValidationException,
		"1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]")
	_, err = f.svc.CreateFunctionUrlConfig(f.ctx, &control.FunctionURLInput{FunctionName: "f"})
	wantErr(t, err, lambdahost.ValidationException,
		"1 validation error detected: Value null at 'authType' failed to satisfy constraint: Member must not be null")
	_, err = f.svc.ListFunctionUrlConfigs(f.ctx, "doesnotexist", control.ListInput{})
	wantErr(t, err, lambdahost.ResourceNotFoundException, fnMissing)
	_, err = f.svc.ListFunctionUrlConfigs(f.ctx, "f", control.ListInput{MaxItems: ptr(51)})
	wantErr(t, err, lambdahost.ValidationException,
		"1 validation error detected: Value '51' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50")
}

// TestAuthorizeURL: who may invoke a URL, by its AuthType and the policy.
func TestAuthorizeURL(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	none, err := f.svc.CreateFunctionUrlConfig(f.ctx, urlInput("f", "", "NONE"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.svc.FunctionURL(f.ctx, none.URLID)
	if err != nil {
		t.Fatal(err)
	}
	own := &lambdahost.Caller{AccessKey: "test", Account: "000000000000", Region: "us-east-1"}
	other := &lambdahost.Caller{AccessKey: "AKIAB", Account: "111111111111", Region: "us-east-1"}
	check := func(c *lambdahost.Caller, want error) {
		t.Helper()
		inv, err := f.svc.AuthorizeURL(f.ctx, e, c)
		if !errors.Is(err, want) || want == nil && (err != nil || inv.InvokedARN != arnF) {
			t.Errorf("AuthorizeURL(%v) = %v, want %v", c, err, want)
		}
	}
	check(nil, control.ErrURLForbidden)
	// An IAM-only statement does not open a NONE URL.
	iamOnly := permission("iam", "lambda:InvokeFunctionUrl", "*")
	iamOnly.FunctionURLAuthType = ptr("AWS_IAM")
	if _, err := f.svc.AddPermission(f.ctx, iamOnly); err != nil {
		t.Fatal(err)
	}
	check(nil, control.ErrURLForbidden)
	public := permission("public", "lambda:InvokeFunctionUrl", "*")
	public.FunctionURLAuthType = ptr("NONE")
	if _, err := f.svc.AddPermission(f.ctx, public); err != nil {
		t.Fatal(err)
	}
	check(nil, nil)

	if _, err := f.svc.UpdateFunctionUrlConfig(f.ctx, &control.FunctionURLInput{FunctionName: "f", AuthType: ptr("AWS_IAM")}); err != nil {
		t.Fatal(err)
	}
	if e, err = f.svc.FunctionURL(f.ctx, none.URLID); err != nil {
		t.Fatal(err)
	}
	check(own, nil)   // the owner's identity suffices
	check(other, nil) // the IAM-only statement allows everyone signed
	if err := f.svc.RemovePermission(f.ctx, "f", "iam", "", nil); err != nil {
		t.Fatal(err)
	}
	check(own, nil)
	check(other, control.ErrURLForbidden)
	acct := permission("b", "lambda:InvokeFunctionUrl", "111111111111")
	if _, err := f.svc.AddPermission(f.ctx, acct); err != nil {
		t.Fatal(err)
	}
	check(other, nil)

	if err := f.svc.DeleteFunction(f.ctx, "f", ""); err != nil {
		t.Fatal(err)
	}
	check(own, control.ErrURLNotFound)
	if _, err := f.svc.FunctionURL(f.ctx, none.URLID); !errors.Is(err, control.ErrURLNotFound) {
		t.Errorf("the URL of a deleted function: %v", err)
	}
}

// TestCheckAccessRecords: Check finds policies and URLs whose function,
// version or alias is gone, and URLs and URL IDs that do not name each
// other.
func TestCheckAccessRecords(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	if _, err := f.svc.CreateAlias(f.ctx, &control.AliasInput{FunctionName: "f", Name: "live", FunctionVersion: ptr("$LATEST")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"", "live"} {
		in := permission("s", "lambda:InvokeFunction", "*")
		in.Qualifier = q
		if _, err := f.svc.AddPermission(f.ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreateFunctionUrlConfig(f.ctx, urlInput("f", q, "NONE")); err != nil {
			t.Fatal(err)
		}
	}
	check := func() []string {
		t.Helper()
		rep, err := f.svc.Check(f.ctx, control.CheckOptions{Grace: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range rep.Problems {
			out = append(out, p.String())
		}
		return out
	}
	if got := check(); len(got) != 0 {
		t.Fatalf("an intact store: %q", got)
	}
	latest, err := f.svc.GetFunctionUrlConfig(f.ctx, "f", "")
	if err != nil {
		t.Fatal(err)
	}
	// Damage the store behind the service's back: an alias deleted
	// without its policy and URL, an index entry lost, one left over.
	id := lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: "f"}
	if err := f.store.Update(f.ctx, func(tx lambdahost.Tx) error {
		if err := tx.DeleteAlias(f.ctx, id, "live"); err != nil {
			return err
		}
		if err := tx.DeleteRecord(f.ctx, "function-url-id", latest.URLID); err != nil {
			return err
		}
		return tx.PutRecord(f.ctx, "function-url-id", "stray00000000000000000000000000x", []byte("000000000000/us-east-1/gone/$LATEST"))
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		arnF + ":live: has a policy record but no such version or alias",
		arnF + ":live: has a function URL record but no such version or alias",
		arnF + ": has function URL " + latest.URLID + ", which its ID does not find",
		"function URL ID stray00000000000000000000000000x names 000000000000/us-east-1/gone/$LATEST, which has no URL",
	}
	got := check()
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("Check did not report %q; it reported %q", w, got)
		}
	}
}

package control_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

const arnF = "arn:aws:lambda:us-east-1:000000000000:function:f"

func permission(sid, action, principal string) *control.AddPermissionInput {
	return &control.AddPermissionInput{FunctionName: "f", StatementID: &sid, Action: &action, Principal: &principal}
}

// wantErr checks that err is an API error of type typ and, unless msg is
// empty, exactly that message.
func wantErr(t testing.TB, err error, typ lambdahost.ErrorType, msg string) {
	t.Helper()
	var e *lambdahost.Error
	if !errors.As(err, &e) || e.Type != typ {
		t.Fatalf("error %v, want %s", err, typ)
	}
	if msg != "" && e.Message != msg {
		t.Errorf("message\n got %s\nwant %s", e.Message, msg)
	}
}

func (f *fixture) policyDoc(t testing.TB, name, qualifier string) (map[string]any, string) {
	t.Helper()
	p, err := f.svc.GetPolicy(f.ctx, name, qualifier)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(p.Document), &doc); err != nil {
		t.Fatal(err)
	}
	return doc, p.RevisionID
}

func sids(doc map[string]any) []string {
	var out []string
	for _, s := range doc["Statement"].([]any) {
		out = append(out, s.(map[string]any)["Sid"].(string))
	}
	return out
}

func TestPermissionLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	if _, err := f.svc.GetPolicy(f.ctx, "f", ""); err != nil {
		wantErr(t, err, lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
	} else {
		t.Fatal("a new function has a policy")
	}

	s3 := permission("s3", "lambda:InvokeFunction", "s3.amazonaws.com")
	s3.SourceArn = ptr("arn:aws:s3:::bucket")
	stmt, err := f.svc.AddPermission(f.ctx, s3)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + arnF + `","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}`; stmt != want {
		t.Errorf("statement\n got %s\nwant %s", stmt, want)
	}
	doc, rev := f.policyDoc(t, "f", "")
	if doc["Version"] != "2012-10-17" || doc["Id"] != "default" || sids(doc)[0] != "s3" {
		t.Errorf("policy %v", doc)
	}
	if rev != f.get(t, "f").RevisionID {
		t.Errorf("policy RevisionId %s, function's %s: AddPermission gives both the same", rev, f.get(t, "f").RevisionID)
	}
	p, _ := f.svc.GetPolicy(f.ctx, "f", "")
	if !strings.HasPrefix(p.Document, `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"s3"`) {
		t.Errorf("document %s", p.Document)
	}
	if _, again := f.policyDoc(t, "f", ""); again != rev {
		t.Error("GetPolicy twice answers two RevisionIds")
	}

	for _, sid := range []string{"sqs", "logs"} {
		if _, err := f.svc.AddPermission(f.ctx, permission(sid, "lambda:InvokeFunction", sid+".amazonaws.com")); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.svc.AddPermission(f.ctx, permission("sqs", "lambda:InvokeFunction", "sqs.amazonaws.com"))
	wantErr(t, err, lambdahost.ResourceConflictException,
		"The statement id (sqs) provided already exists. Please provide a new statement id, or remove the existing statement.")

	if err := f.svc.RemovePermission(f.ctx, "f", "sqs", "", nil); err != nil {
		t.Fatal(err)
	}
	doc, rev2 := f.policyDoc(t, "f", "")
	if got := strings.Join(sids(doc), ","); got != "s3,logs" {
		t.Errorf("statements after removing sqs: %s, want s3,logs", got)
	}
	if rev2 == rev || rev2 != f.get(t, "f").RevisionID {
		t.Error("RemovePermission did not give the policy and the function a new RevisionId")
	}
	err = f.svc.RemovePermission(f.ctx, "f", "non-existent", "", nil)
	wantErr(t, err, lambdahost.ResourceNotFoundException, "Statement non-existent is not found in resource policy.")
	err = f.svc.RemovePermission(f.ctx, "f", "s3", "", ptr("wrong"))
	wantErr(t, err, lambdahost.PreconditionFailedException,
		"The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	for _, sid := range []string{"s3", "logs"} {
		if err := f.svc.RemovePermission(f.ctx, "f", sid, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.svc.GetPolicy(f.ctx, "f", "")
	wantErr(t, err, lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
	err = f.svc.RemovePermission(f.ctx, "f", "s3", "", nil)
	wantErr(t, err, lambdahost.ResourceNotFoundException, "No policy is associated with the given resource.")
}

func TestPermissionRevisionID(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	// Without a policy, the function's RevisionId is the one to give.
	in := permission("a", "lambda:InvokeFunction", "111111111111")
	in.RevisionID = ptr("wrong")
	_, err := f.svc.AddPermission(f.ctx, in)
	wantErr(t, err, lambdahost.PreconditionFailedException, "")
	in.RevisionID = ptr(f.get(t, "f").RevisionID)
	if _, err := f.svc.AddPermission(f.ctx, in); err != nil {
		t.Fatal(err)
	}
	_, rev := f.policyDoc(t, "f", "")
	// A change of $LATEST does not change the policy's RevisionId, which
	// stays the one to give.
	if _, err := f.svc.UpdateFunctionConfiguration(f.ctx, &control.UpdateConfigInput{FunctionName: "f", Config: control.ConfigInput{Description: ptr("d")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PublishVersion(f.ctx, &control.PublishVersionInput{FunctionName: "f"}); err != nil {
		t.Fatal(err)
	}
	if _, after := f.policyDoc(t, "f", ""); after != rev {
		t.Errorf("the policy's RevisionId changed with $LATEST: %s → %s", rev, after)
	}
	if f.get(t, "f").RevisionID == rev {
		t.Error("UpdateFunctionConfiguration did not change $LATEST's RevisionId")
	}
	in = permission("b", "lambda:InvokeFunction", "111111111111")
	in.RevisionID = &rev
	if _, err := f.svc.AddPermission(f.ctx, in); err != nil {
		t.Fatalf("AddPermission with the policy's RevisionId: %v", err)
	}
	// An alias's RevisionId, when its policy does not exist yet.
	a, err := f.svc.CreateAlias(f.ctx, &control.AliasInput{FunctionName: "f", Name: "live", FunctionVersion: ptr("1")})
	if err != nil {
		t.Fatal(err)
	}
	in = permission("a", "lambda:InvokeFunction", "111111111111")
	in.Qualifier, in.RevisionID = "live", &a.RevisionID
	if _, err := f.svc.AddPermission(f.ctx, in); err != nil {
		t.Fatalf("AddPermission with the alias's RevisionId: %v", err)
	}
	got, err := f.svc.GetAlias(f.ctx, "f", "live")
	if err != nil {
		t.Fatal(err)
	}
	if _, prev := f.policyDoc(t, "f", "live"); got.RevisionID != prev || prev == a.RevisionID {
		t.Errorf("alias RevisionId %s, its policy's %s, before %s", got.RevisionID, prev, a.RevisionID)
	}
}

// TestPermissionQualifiers: each of $LATEST, a version and an alias has its
// own policy; the same Sid may be in each.
func TestPermissionQualifiers(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	if _, err := f.svc.AddPermission(f.ctx, permission("s", "lambda:InvokeFunction", "*")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PublishVersion(f.ctx, &control.PublishVersionInput{FunctionName: "f"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.GetPolicy(f.ctx, "f", "1")
	wantErr(t, err, lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
	if _, err := f.svc.CreateAlias(f.ctx, &control.AliasInput{FunctionName: "f", Name: "live", FunctionVersion: ptr("1")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct{ name, qualifier, resource string }{
		{"f", "1", arnF + ":1"}, {"f:1", "1", arnF + ":1"}, {"f", "live", arnF + ":live"}, {"f:live", "", arnF + ":live"},
	} {
		in := permission("s-"+strings.ReplaceAll(q.name, ":", "-"), "lambda:InvokeFunction", "*")
		in.FunctionName, in.Qualifier = q.name, q.qualifier
		stmt, err := f.svc.AddPermission(f.ctx, in)
		if err != nil {
			t.Fatalf("%s %s: %v", q.name, q.qualifier, err)
		}
		if !strings.Contains(stmt, `"Resource":"`+q.resource+`"`) {
			t.Errorf("%s %s: statement %s, want Resource %s", q.name, q.qualifier, stmt, q.resource)
		}
	}
	doc, _ := f.policyDoc(t, "f", "")
	if got := strings.Join(sids(doc), ","); got != "s" {
		t.Errorf("$LATEST's statements: %s", got)
	}
	// $LATEST, in the name or as Qualifier, is the unqualified policy.
	if doc, _ := f.policyDoc(t, "f", "$LATEST"); strings.Join(sids(doc), ",") != "s" {
		t.Error("GetPolicy $LATEST is not the function's policy")
	}
	if doc, _ := f.policyDoc(t, "f", "1"); strings.Join(sids(doc), ",") != "s-f,s-f-1" {
		t.Errorf("version 1's statements: %v", sids(doc))
	}

	// Deleting the alias, the version and the function deletes their policies.
	if err := f.svc.DeleteAlias(f.ctx, "f", "live"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateAlias(f.ctx, &control.AliasInput{FunctionName: "f", Name: "live", FunctionVersion: ptr("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.GetPolicy(f.ctx, "f", "live")
	wantErr(t, err, lambdahost.ResourceNotFoundException, "")
	if err := f.svc.DeleteAlias(f.ctx, "f", "live"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteFunction(f.ctx, "f", "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteFunction(f.ctx, "f", ""); err != nil {
		t.Fatal(err)
	}
	f.create(t, "f", "v1")
	_, err = f.svc.GetPolicy(f.ctx, "f", "")
	wantErr(t, err, lambdahost.ResourceNotFoundException, "")
	n := 0
	if err := f.store.View(f.ctx, func(tx lambdahost.Tx) error {
		for _, kind := range []string{"function-policy", "function-url", "function-url-id"} {
			recs, err := tx.ListRecords(f.ctx, kind, "", "", 0)
			n += len(recs)
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d policy or URL records left after the function was deleted", n)
	}
}

func TestPermissionErrors(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	const qualifierPattern = `\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+`
	tests := []struct {
		name    string
		in      *control.AddPermissionInput
		wantTyp lambdahost.ErrorType
		wantMsg string
	}{
		{"statement-id-pattern", permission("example.com", "lambda:InvokeFunction", "s3.amazonaws.com"), lambdahost.ValidationException,
			"1 validation error detected: Value 'example.com' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"},
		{"missing-members", &control.AddPermissionInput{FunctionName: "f"}, lambdahost.ValidationException,
			"3 validation errors detected: Value null at 'statementId' failed to satisfy constraint: Member must not be null; Value null at 'action' failed to satisfy constraint: Member must not be null; Value null at 'principal' failed to satisfy constraint: Member must not be null"},
		{"bad-action", permission("a", "s3:GetObject", "*"), lambdahost.ValidationException,
			"1 validation error detected: Value 's3:GetObject' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"},
		{"qualifier-mismatch", func() *control.AddPermissionInput {
			in := permission("a", "lambda:InvokeFunction", "*")
			in.FunctionName, in.Qualifier = "f:alias-not-42", "42"
			return in
		}(), lambdahost.InvalidParameterValueException, "The derived qualifier from the function name does not match the specified qualifier."},
		{"latest", func() *control.AddPermissionInput {
			in := permission("a", "lambda:InvokeFunction", "*")
			in.FunctionName, in.Qualifier = "f:$LATEST", "$LATEST"
			return in
		}(), lambdahost.InvalidParameterValueException, "We currently do not support adding policies for $LATEST."},
		{"bad-principal", permission("a", "lambda:InvokeFunction", "invalid.nonaws.com"), lambdahost.InvalidParameterValueException,
			"The provided principal was invalid. Please check the principal and try again."},
		{"no-function", func() *control.AddPermissionInput {
			in := permission("a", "lambda:InvokeFunction", "*")
			in.FunctionName = "doesnotexist"
			return in
		}(), lambdahost.ResourceNotFoundException, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:doesnotexist"},
		{"no-version", func() *control.AddPermissionInput {
			in := permission("a", "lambda:InvokeFunction", "*")
			in.Qualifier = "42"
			return in
		}(), lambdahost.ResourceNotFoundException, "Function not found: " + arnF + ":42"},
		{"no-alias", func() *control.AddPermissionInput {
			in := permission("a", "lambda:InvokeFunction", "*")
			in.FunctionName = "f:alias-doesnotexist"
			return in
		}(), lambdahost.ResourceNotFoundException, "Cannot find alias arn: " + arnF + ":alias-doesnotexist"},
		{"bad-qualifier", func() *control.AddPermissionInput {
			in := permission("a", "lambda:InvokeFunction", "*")
			in.Qualifier = "invalid-qualifier-with-?-char"
			return in
		}(), lambdahost.ValidationException, "1 validation error detected: Value 'invalid-qualifier-with-?-char' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: " + qualifierPattern},
		{"dollar-qualifier", func() *control.AddPermissionInput {
			in := permission("a", "lambda:InvokeFunction", "*")
			in.Qualifier = "valid-with-$-but-doesnotexist"
			return in
		}(), lambdahost.ResourceNotFoundException, "Function not found: " + arnF + ":valid-with-$-but-doesnotexist"},
		{"other-account", func() *control.AddPermissionInput {
			in := permission("a", "lambda:InvokeFunction", "*")
			in.FunctionName = "arn:aws:lambda:us-east-1:111111111111:function:f"
			return in
		}(), lambdahost.AccessDeniedException, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.AddPermission(f.ctx, tt.in)
			wantErr(t, err, tt.wantTyp, tt.wantMsg)
		})
	}
	if _, err := f.svc.GetPolicy(f.ctx, "doesnotexist", ""); err != nil {
		wantErr(t, err, lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
	}
	_, err := f.svc.GetPolicy(f.ctx, "f", "77")
	wantErr(t, err, lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
	err = f.svc.RemovePermission(f.ctx, "doesnotexist", "s", "", nil)
	wantErr(t, err, lambdahost.ResourceNotFoundException, "No policy found for: arn:aws:lambda:us-east-1:000000000000:function:doesnotexist")
	err = f.svc.RemovePermission(f.ctx, "f", "s", "alias-doesnotexist", nil)
	wantErr(t, err, lambdahost.ResourceNotFoundException, "Cannot find alias arn: "+arnF+":alias-doesnotexist")
}

// TestPolicySizeLimit: a policy may not pass 20480 bytes.
func TestPolicySizeLimit(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	arn := "arn:aws:s3:::" + strings.Repeat("b", 180)
	var err error
	added := 0
	for i := 0; i < 200 && err == nil; i++ {
		in := permission(fmt.Sprintf("sid%03d", i), "lambda:InvokeFunction", "s3.amazonaws.com")
		in.SourceArn = &arn
		_, err = f.svc.AddPermission(f.ctx, in)
		if err == nil {
			added++
		}
	}
	wantErr(t, err, lambdahost.PolicyLengthExceededException, "")
	if !strings.Contains(err.Error(), "is bigger than the limit (20480).") {
		t.Errorf("message %s", err)
	}
	p, _ := f.svc.GetPolicy(f.ctx, "f", "")
	if len(p.Document) > 20480 || strings.Count(p.Document, `"Sid"`) != added {
		t.Errorf("policy of %d bytes with %d statements after %d were added", len(p.Document), strings.Count(p.Document, `"Sid"`), added)
	}
}

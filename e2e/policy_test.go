//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// policyOf returns the decoded policy document of a GetPolicy result.
func policyOf(t testing.TB, r *Result) map[string]any {
	t.Helper()
	r.OK(t)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.Str("Policy")), &doc); err != nil {
		t.Fatalf("%s GetPolicy: Policy is not JSON: %v", r.Driver, err)
	}
	return doc
}

func statementIDs(doc map[string]any) string {
	var sids []string
	for _, s := range doc["Statement"].([]any) {
		sids = append(sids, s.(map[string]any)["Sid"].(string))
	}
	return strings.Join(sids, ",")
}

// TestPermissions: AddPermission with every parameter, GetPolicy and
// RemovePermission, their RevisionIds and errors, through each client.
func TestPermissions(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "perm-" + d.Name()
		arn := functionARN("us-east-1", TestCredentials.AccountID, name)
		mustCreate(t, d, name, handlerZip(t, "perm"))
		r := d.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "s3", "Action": "lambda:InvokeFunction",
			"Principal": "s3.amazonaws.com", "SourceArn": "arn:aws:s3:::bucket"})
		r.OK(t).WantStatus(t, 201)
		wantStr(t, r, "Statement", `{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"`+arn+`","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}`)
		if _, ok := r.Body["RevisionId"]; ok {
			t.Errorf("%s AddPermission answers a RevisionId", d.Name())
		}
		r = d.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "url", "Action": "lambda:InvokeFunctionUrl", "Principal": "*",
			"SourceArn": "arn:aws:s3:::b", "SourceAccount": "111111111111", "PrincipalOrgID": "o-1234567890", "FunctionUrlAuthType": "NONE"})
		wantStr(t, r.OK(t), "Statement", `{"Sid":"url","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"`+arn+`","Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111","lambda:FunctionUrlAuthType":"NONE","aws:PrincipalOrgID":"o-1234567890"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}}`)
		r = d.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "via", "Action": "lambda:InvokeFunction", "Principal": "111111111111",
			"InvokedViaFunctionUrl": true})
		wantStr(t, r.OK(t), "Statement", `{"Sid":"via","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"lambda:InvokeFunction","Resource":"`+arn+`","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`)

		got := d.Call(t, "GetPolicy", Params{"FunctionName": name})
		if doc := policyOf(t, got); doc["Version"] != "2012-10-17" || doc["Id"] != "default" || statementIDs(doc) != "s3,url,via" {
			t.Errorf("%s policy %v", d.Name(), doc)
		}
		rev := got.Str("RevisionId")
		if fn := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t); fn.Str("Configuration.RevisionId") != rev {
			t.Errorf("%s policy RevisionId %s, function's %s", d.Name(), rev, fn.Str("Configuration.RevisionId"))
		}

		d.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "s3", "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com"}).
			WantError(t, 409, "ResourceConflictException", "The statement id (s3) provided already exists. Please provide a new statement id, or remove the existing statement.")
		d.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "x", "Action": "lambda:InvokeFunction", "Principal": "*", "RevisionId": "wrong"}).
			WantError(t, 412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
		d.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "x", "Action": "lambda:InvokeFunction", "Principal": "invalid.nonaws.com"}).
			WantError(t, 400, "InvalidParameterValueException", "The provided principal was invalid. Please check the principal and try again.")
		d.Call(t, "AddPermission", Params{"FunctionName": name + ":$LATEST", "Qualifier": "$LATEST", "StatementId": "x", "Action": "lambda:InvokeFunction", "Principal": "*"}).
			WantError(t, 400, "InvalidParameterValueException", "We currently do not support adding policies for $LATEST.")
		d.Call(t, "AddPermission", Params{"FunctionName": name, "Qualifier": "42", "StatementId": "x", "Action": "lambda:InvokeFunction", "Principal": "*"}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arn+":42")

		d.Call(t, "RemovePermission", Params{"FunctionName": name, "StatementId": "url", "RevisionId": "wrong"}).
			WantError(t, 412, "PreconditionFailedException", "")
		d.Call(t, "RemovePermission", Params{"FunctionName": name, "StatementId": "url", "RevisionId": rev}).OK(t).WantStatus(t, 204)
		d.Call(t, "RemovePermission", Params{"FunctionName": name, "StatementId": "non-existent"}).
			WantError(t, 404, "ResourceNotFoundException", "Statement non-existent is not found in resource policy.")
		if doc := policyOf(t, d.Call(t, "GetPolicy", Params{"FunctionName": name})); statementIDs(doc) != "s3,via" {
			t.Errorf("%s statements after removing url: %s", d.Name(), statementIDs(doc))
		}
		d.Call(t, "RemovePermission", Params{"FunctionName": name, "StatementId": "s3"}).OK(t)
		d.Call(t, "RemovePermission", Params{"FunctionName": name, "StatementId": "via"}).OK(t)
		d.Call(t, "GetPolicy", Params{"FunctionName": name}).WantError(t, 404, "ResourceNotFoundException", "The resource you requested does not exist.")
		d.Call(t, "RemovePermission", Params{"FunctionName": name, "StatementId": "s3"}).
			WantError(t, 404, "ResourceNotFoundException", "No policy is associated with the given resource.")

		// A version and an alias have their own policies, with their own
		// RevisionIds, which go with them.
		wantStr(t, d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t), "Version", "1")
		alias := d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "1"}).OK(t)
		r = d.Call(t, "AddPermission", Params{"FunctionName": name, "Qualifier": "live", "StatementId": "s", "Action": "lambda:InvokeFunction",
			"Principal": "*", "RevisionId": alias.Str("RevisionId")})
		if !strings.Contains(r.OK(t).Str("Statement"), `"Resource":"`+arn+`:live"`) {
			t.Errorf("%s alias statement %s", d.Name(), r.Str("Statement"))
		}
		d.Call(t, "AddPermission", Params{"FunctionName": name + ":1", "StatementId": "s", "Action": "lambda:InvokeFunction", "Principal": "*"}).OK(t)
		d.Call(t, "GetPolicy", Params{"FunctionName": name}).WantError(t, 404, "ResourceNotFoundException", "")
		policyOf(t, d.Call(t, "GetPolicy", Params{"FunctionName": name, "Qualifier": "1"}))
		p := d.Call(t, "GetPolicy", Params{"FunctionName": name, "Qualifier": "live"}).OK(t)
		if a := d.Call(t, "GetAlias", Params{"FunctionName": name, "Name": "live"}).OK(t); a.Str("RevisionId") != p.Str("RevisionId") {
			t.Errorf("%s alias RevisionId %s, its policy's %s", d.Name(), a.Str("RevisionId"), p.Str("RevisionId"))
		}
		d.Call(t, "DeleteAlias", Params{"FunctionName": name, "Name": "live"}).OK(t)
		d.Call(t, "DeleteFunction", Params{"FunctionName": name}).OK(t)
		mustCreate(t, d, name, handlerZip(t, "perm 2"))
		d.Call(t, "GetPolicy", Params{"FunctionName": name, "Qualifier": "1"}).WantError(t, 404, "ResourceNotFoundException", "")
	})
}

// TestCrossAccountPermissions: account B invokes account A's function by
// ARN only while A's policy allows B, and reads it only where granted.
func TestCrossAccountPermissions(t *testing.T) {
	t.Parallel()
	credsA := Credentials{AccessKeyID: "AKIAOWNER00000000001", SecretAccessKey: "secret-of-a", AccountID: "111111111111"}
	credsB := Credentials{AccessKeyID: "AKIAGUEST00000000002", SecretAccessKey: "secret-of-b", AccountID: "222222222222"}
	srv := Start(t, WithCredentials(WriteCredentialsFile(t, credsA, credsB)))
	for _, kind := range allDrivers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := NewDriver(t, kind, srv, credsA, "us-east-1")
			b := NewDriver(t, kind, srv, credsB, "us-east-1")
			name := "shared-" + kind
			arn := functionARN("us-east-1", credsA.AccountID, name)
			createFunction(t, a, name, goFn, "owner-A", nil)
			denied := func(r *Result, resource string) {
				t.Helper()
				r.WantError(t, 403, "AccessDeniedException", "User: arn:aws:iam::"+credsB.AccountID+":user/"+credsB.AccessKeyID+
					" is not authorized to perform this action on resource: "+resource+" because no resource-based policy allows it")
			}

			denied(invoke(t, b, arn, map[string]any{}), arn)
			a.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "b-invokes", "Action": "lambda:InvokeFunction",
				"Principal": credsB.AccountID}).OK(t)
			wantVersion(t, invoke(t, b, arn, map[string]any{}), "owner-A")
			wantVersion(t, invoke(t, b, credsA.AccountID+":function:"+name, map[string]any{}), "owner-A")
			if kind != CLIDriver {
				r := b.Call(t, "Invoke", Params{"FunctionName": arn, "Payload": []byte(`{}`), "InvocationType": "DryRun"})
				r.OK(t).WantStatus(t, 204)
			}
			// Invoke only: not GetFunction, and not B's own namespace.
			denied(b.Call(t, "GetFunction", Params{"FunctionName": arn}), arn)
			invoke(t, b, name, map[string]any{}).WantError(t, 404, "ResourceNotFoundException", "")

			a.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "b-reads", "Action": "lambda:GetFunction",
				"Principal": "arn:aws:iam::" + credsB.AccountID + ":root"}).OK(t)
			wantStr(t, b.Call(t, "GetFunction", Params{"FunctionName": arn}).OK(t), "Configuration.FunctionArn", arn)
			denied(b.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": arn, "Description": "B was here"}), arn)
			denied(b.Call(t, "GetPolicy", Params{"FunctionName": arn}), arn)

			a.Call(t, "RemovePermission", Params{"FunctionName": name, "StatementId": "b-invokes"}).OK(t)
			denied(invoke(t, b, arn, map[string]any{}), arn)
			if desc := a.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t).Str("Configuration.Description"); desc != "" {
				t.Errorf("B changed A's function: Description %q", desc)
			}
		})
	}
}

//go:build e2e

package e2e

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Messages and reasons AWS answers (see the recorded responses).
const (
	msgCreating         = "The function is being created."
	msgStaleRevision    = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
	msgCannotUnzip      = "Could not unzip uploaded file. Please check your file, then try to upload again."
	msgImageUriOnZip    = "Please don't provide ImageUri when updating a function with packageType Zip."
	msgNoSuchBucket     = "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist"
	msgS3Unreachable    = "Error occurred while GetObject. S3 Error Code: ServiceUnavailable. S3 Error Message: Service is unable to handle request."
	patternFunctionName = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
)

// TestLifecycle creates a function, waits for it, checks that GetFunction's
// Code.Location serves exactly the uploaded zip, updates the code and waits
// for the update (scenario 1).
func TestLifecycle(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "lifecycle-" + d.Name()
		zip1 := handlerZip(t, name+" v1")
		create := d.Call(t, "CreateFunction", createParams(name, zip1)).OK(t)
		create.WantStatus(t, 201)
		wantCode(t, create, "", zip1)
		wantStr(t, create, "FunctionArn", functionARN("us-east-1", "000000000000", name))
		mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": name})

		// The function answers to its ARN and partial ARN as to its name.
		for _, ref := range []string{functionARN("us-east-1", "000000000000", name), "000000000000:function:" + name} {
			byRef := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": ref}).OK(t)
			wantCode(t, byRef, "", zip1)
			wantStr(t, byRef, "FunctionName", name)
		}

		get := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
		wantCode(t, get, "Configuration.", zip1)
		wantStr(t, get, "Configuration.State", "Active")
		wantStr(t, get, "Configuration.LastUpdateStatus", "Successful")
		wantStr(t, get, "Code.RepositoryType", "S3")
		if got := download(t, get.Str("Code.Location")); !bytes.Equal(got, zip1) {
			t.Errorf("Code.Location served %d bytes (sha %s), want the uploaded zip (%d bytes, sha %s)", len(got), codeSHA(got), len(zip1), codeSHA(zip1))
		}

		zip2 := handlerZip(t, name+" v2")
		update := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": zip2}).OK(t)
		update.WantStatus(t, 200)
		wantCode(t, update, "", zip2)
		wantStr(t, update, "LastUpdateStatus", "InProgress")
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})

		get = d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
		wantCode(t, get, "Configuration.", zip2)
		wantStr(t, get, "Configuration.State", "Active")
		wantStr(t, get, "Configuration.LastUpdateStatus", "Successful")
		if got := download(t, get.Str("Code.Location")); !bytes.Equal(got, zip2) {
			t.Errorf("after update, Code.Location served sha %s, want %s", codeSHA(got), codeSHA(zip2))
		}
	})
}

// TestStateAndRevisionID follows State, LastUpdateStatus, their reasons and
// RevisionId through create and update as AWS reports them: a RevisionId
// read from an update's response is stale once the update completes
// (scenario 2).
func TestStateAndRevisionID(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "revisions-" + d.Name()
		create := d.Call(t, "CreateFunction", createParams(name, handlerZip(t, name))).OK(t)
		wantStr(t, create, "State", "Pending")
		wantStr(t, create, "StateReason", msgCreating)
		wantStr(t, create, "StateReasonCode", "Creating")
		mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": name})

		active := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t)
		wantStr(t, active, "State", "Active")
		wantStr(t, active, "LastUpdateStatus", "Successful")
		wantAbsent(t, active, "StateReason")
		wantAbsent(t, active, "StateReasonCode")
		if active.Str("RevisionId") == create.Str("RevisionId") {
			t.Errorf("RevisionId did not change when the function became Active: %s", active.Str("RevisionId"))
		}

		update := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": handlerZip(t, name+" 2"), "RevisionId": active.Str("RevisionId")}).OK(t)
		wantStr(t, update, "State", "Active")
		wantStr(t, update, "LastUpdateStatus", "InProgress")
		wantStr(t, update, "LastUpdateStatusReason", msgCreating)
		wantStr(t, update, "LastUpdateStatusReasonCode", "Creating")
		if update.Str("RevisionId") == active.Str("RevisionId") {
			t.Errorf("UpdateFunctionCode answered the old RevisionId %s", update.Str("RevisionId"))
		}
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})

		done := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t)
		wantStr(t, done, "LastUpdateStatus", "Successful")
		wantAbsent(t, done, "LastUpdateStatusReason")
		wantAbsent(t, done, "LastUpdateStatusReasonCode")
		if done.Str("RevisionId") == update.Str("RevisionId") {
			t.Errorf("RevisionId did not change when the update completed: %s", done.Str("RevisionId"))
		}

		stale := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": handlerZip(t, name+" 3"), "RevisionId": update.Str("RevisionId")})
		stale.WantError(t, 412, "PreconditionFailedException", msgStaleRevision)

		current := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": handlerZip(t, name+" 3"), "RevisionId": done.Str("RevisionId")}).OK(t)
		wantStr(t, current, "LastUpdateStatus", "InProgress")
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})

		// UpdateFunctionConfiguration follows the same sequence.
		cfg := d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": name, "Description": "second", "Timeout": 10}).OK(t)
		wantStr(t, cfg, "LastUpdateStatus", "InProgress")
		wantStr(t, cfg, "LastUpdateStatusReasonCode", "Creating")
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})
		after := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t)
		wantStr(t, after, "LastUpdateStatus", "Successful")
		wantStr(t, after, "Description", "second")
		if after.Int("Timeout") != 10 {
			t.Errorf("Timeout = %d, want 10", after.Int("Timeout"))
		}
		d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": name, "Description": "third", "RevisionId": cfg.Str("RevisionId")}).
			WantError(t, 412, "PreconditionFailedException", msgStaleRevision)
	})
}

// TestUpdateFunctionCodeOptions exercises UpdateFunctionCode's Publish,
// PublishTo, DryRun, Architectures and SourceKMSKeyArn (scenario 3).
func TestUpdateFunctionCodeOptions(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	// SourceKMSKeyArn must name a key of the local key service.
	key := lookup(kms(t, NewCLI(t, srv.Endpoint, TestCredentials, "us-east-1"), "create-key"), "KeyMetadata.Arn").(string)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "options-" + d.Name()
		fn := Params{"FunctionName": name}
		mustCreate(t, d, name, handlerZip(t, name))

		// Publish answers the new version, Pending.
		zipB := handlerZip(t, name+" B")
		v1 := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": zipB, "Publish": true}).OK(t)
		wantStr(t, v1, "Version", "1")
		wantStr(t, v1, "FunctionArn", functionARN("us-east-1", "000000000000", name)+":1")
		wantStr(t, v1, "State", "Pending")
		wantStr(t, v1, "StateReason", msgCreating)
		wantStr(t, v1, "StateReasonCode", "Creating")
		wantCode(t, v1, "", zipB)
		mustWait(t, d, "PublishedVersionActive", Params{"FunctionName": name, "Qualifier": "1"})
		mustWait(t, d, "FunctionUpdatedV2", fn)
		got := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name, "Qualifier": "1"}).OK(t)
		wantStr(t, got, "State", "Active")
		wantCode(t, got, "", zipB)

		// Every UpdateFunctionCode is a change: the same zip publishes version 2.
		v2 := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": zipB, "Publish": true}).OK(t)
		wantStr(t, v2, "Version", "2")
		mustWait(t, d, "PublishedVersionActive", Params{"FunctionName": name, "Qualifier": "2"})
		mustWait(t, d, "FunctionUpdatedV2", fn)

		zipC := handlerZip(t, name+" C")
		lp := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": zipC, "PublishTo": "LATEST_PUBLISHED"}).OK(t)
		if arn := lp.Str("FunctionArn"); !strings.HasSuffix(arn, ":$LATEST.PUBLISHED") {
			t.Errorf("PublishTo=LATEST_PUBLISHED: FunctionArn = %q, want it to end in :$LATEST.PUBLISHED", arn)
		}
		mustWait(t, d, "FunctionUpdatedV2", fn)
		wantCode(t, d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name, "Qualifier": "$LATEST.PUBLISHED"}).OK(t), "", zipC)

		// DryRun changes nothing, not even the update status.
		before := d.Call(t, "GetFunction", fn).OK(t)
		dry := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": handlerZip(t, name+" D"), "DryRun": true}).OK(t)
		wantStr(t, dry, "FunctionName", name)
		after := d.Call(t, "GetFunction", fn).OK(t)
		if diff := cmp.Diff(before.Get("Configuration"), after.Get("Configuration")); diff != "" {
			t.Errorf("DryRun changed the function (-before +after):\n%s", diff)
		}

		zipE := handlerZip(t, name+" E")
		arm := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": zipE, "Architectures": []string{"arm64"}}).OK(t)
		if diff := cmp.Diff([]any{"arm64"}, arm.Get("Architectures")); diff != "" {
			t.Errorf("update answered Architectures (-want +got):\n%s", diff)
		}
		mustWait(t, d, "FunctionUpdatedV2", fn)
		got = d.Call(t, "GetFunction", fn).OK(t)
		if diff := cmp.Diff([]any{"arm64"}, got.Get("Configuration.Architectures")); diff != "" {
			t.Errorf("GetFunction Architectures (-want +got):\n%s", diff)
		}
		wantCode(t, got, "Configuration.", zipE)

		d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": handlerZip(t, name+" F"), "SourceKMSKeyArn": key}).OK(t)
		mustWait(t, d, "FunctionUpdatedV2", fn)
		got = d.Call(t, "GetFunction", fn).OK(t)
		wantStr(t, got, "Code.SourceKMSKeyArn", key)
	})
}

// TestUpdateFunctionCodeErrors checks UpdateFunctionCode's error answers,
// and that none of them changes the function (scenario 3).
func TestUpdateFunctionCodeErrors(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	long := strings.Repeat("a", 65)
	tests := []struct {
		name    string
		drivers []string // nil: all
		params  func(fn string, zip []byte) Params
		status  int
		code    string
		message string // "" leaves the message unchecked
		prefix  string // the message must start with this
	}{
		{
			name: "two-architectures",
			params: func(fn string, zip []byte) Params {
				return Params{"FunctionName": fn, "ZipFile": zip, "Architectures": []string{"x86_64", "arm64"}}
			},
			status: 400, code: "ValidationException",
			message: "1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1",
		},
		{
			name: "invalid-kms-key-arn",
			params: func(fn string, zip []byte) Params {
				return Params{"FunctionName": fn, "ZipFile": zip, "SourceKMSKeyArn": "not-a-key"}
			},
			status: 400, code: "ValidationException",
			prefix: "1 validation error detected: Value 'not-a-key' at 'sourceKMSKeyArn' failed to satisfy constraint: ",
		},
		{
			name:   "qualified-name",
			params: func(fn string, zip []byte) Params { return Params{"FunctionName": fn + ":1", "ZipFile": zip} },
			status: 400, code: "InvalidParameterValueException",
		},
		{
			name: "invalid-name",
			params: func(fn string, zip []byte) Params {
				return Params{"FunctionName": "invalid:function:name", "ZipFile": zip}
			},
			status: 400, code: "ValidationException",
			message: "1 validation error detected: Value 'invalid:function:name' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + patternFunctionName,
		},
		{
			name:   "name-65-characters",
			params: func(fn string, zip []byte) Params { return Params{"FunctionName": long, "ZipFile": zip} },
			status: 400, code: "InvalidParameterValueException",
			message: "1 validation error detected: Value '" + long + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64",
		},
		{
			// The CLI checks --zip-file is a zip before sending it.
			name:    "not-a-zip",
			drivers: []string{Boto3Driver, SDKDriver},
			params: func(fn string, _ []byte) Params {
				return Params{"FunctionName": fn, "ZipFile": []byte("this is not a zip file")}
			},
			status: 400, code: "InvalidParameterValueException", message: msgCannotUnzip,
		},
		{
			name: "zip-and-s3",
			params: func(fn string, zip []byte) Params {
				return Params{"FunctionName": fn, "ZipFile": zip, "S3Bucket": "my-bucket", "S3Key": "code.zip"}
			},
			status: 400, code: "InvalidParameterValueException",
		},
		{
			// This server has no S3 endpoint it can reach: the answer comes
			// quickly, in AWS's words, and changes nothing. (TestS3Code
			// covers a reachable S3.)
			name: "s3-unreachable",
			params: func(fn string, _ []byte) Params {
				return Params{"FunctionName": fn, "S3Bucket": "my-bucket", "S3Key": "code.zip"}
			},
			status: 400, code: "InvalidParameterValueException", message: msgS3Unreachable,
		},
		{
			name: "image-uri-on-zip-function",
			params: func(fn string, _ []byte) Params {
				return Params{"FunctionName": fn, "ImageUri": "000000000000.dkr.ecr.us-east-1.amazonaws.com/repo:latest"}
			},
			status: 400, code: "InvalidParameterValueException", message: msgImageUriOnZip,
		},
		{
			name:   "unknown-function",
			params: func(fn string, zip []byte) Params { return Params{"FunctionName": fn + "-missing", "ZipFile": zip} },
			status: 404, code: "ResourceNotFoundException",
		},
	}
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "code-errors-" + d.Name()
		fn := Params{"FunctionName": name}
		mustCreate(t, d, name, handlerZip(t, name))
		before := d.Call(t, "GetFunctionConfiguration", fn).OK(t)
		zip := handlerZip(t, name+" never stored")
		for _, tt := range tests {
			if tt.drivers != nil && !slices.Contains(tt.drivers, d.Name()) {
				continue
			}
			t.Run(tt.name, func(t *testing.T) {
				r := d.Call(t, "UpdateFunctionCode", tt.params(name, zip))
				message := tt.message
				if tt.name == "unknown-function" {
					message = "Function not found: " + functionARN("us-east-1", "000000000000", name+"-missing")
				}
				r.WantError(t, tt.status, tt.code, message)
				if tt.prefix != "" && !strings.HasPrefix(r.Message, tt.prefix) {
					t.Errorf("message %q, want prefix %q", r.Message, tt.prefix)
				}
			})
		}
		after := d.Call(t, "GetFunctionConfiguration", fn).OK(t)
		if diff := cmp.Diff(before.Body, after.Body); diff != "" {
			t.Errorf("failed updates changed the function (-before +after):\n%s", diff)
		}
	})
}

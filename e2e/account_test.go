//go:build e2e

package e2e

import (
	"slices"
	"testing"
	"time"
)

// TestAccountSettings checks that GetAccountSettings' usage follows the
// functions and versions created, updated and deleted (scenario 10).
func TestAccountSettings(t *testing.T) {
	t.Parallel()
	for _, kind := range sdkDrivers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := Start(t)
			d := NewDriver(t, kind, srv, TestCredentials, "us-east-1")
			wantUsage := func(count, size int) {
				t.Helper()
				r := d.Call(t, "GetAccountSettings", Params{}).OK(t)
				if got := r.Int("AccountUsage.FunctionCount"); got != int64(count) {
					t.Errorf("AccountUsage.FunctionCount = %d, want %d", got, count)
				}
				if got := r.Int("AccountUsage.TotalCodeSize"); got != int64(size) {
					t.Errorf("AccountUsage.TotalCodeSize = %d, want %d", got, size)
				}
			}
			r := d.Call(t, "GetAccountSettings", Params{}).OK(t)
			for path, want := range map[string]int64{
				"AccountLimit.CodeSizeZipped":   52428800,
				"AccountLimit.CodeSizeUnzipped": 262144000,
				"AccountLimit.TotalCodeSize":    80530636800,
			} {
				if got := r.Int(path); got != want {
					t.Errorf("%s = %d, want %d", path, got, want)
				}
			}
			wantUsage(0, 0)

			zip1, zip2, zip3 := handlerZip(t, "one"), handlerZip(t, "two, longer"), handlerZip(t, "three, longer still")
			mustCreate(t, d, "usage-1", zip1)
			mustCreate(t, d, "usage-2", zip2)
			wantUsage(2, len(zip1)+len(zip2))
			// Replaced code no longer counts.
			mustUpdateCode(t, d, "usage-1", zip3)
			wantUsage(2, len(zip3)+len(zip2))
			// A published version keeps its own copy.
			d.Call(t, "PublishVersion", Params{"FunctionName": "usage-2"}).OK(t)
			wantUsage(2, len(zip3)+2*len(zip2))
			d.Call(t, "DeleteFunction", Params{"FunctionName": "usage-1"}).OK(t)
			wantUsage(1, 2*len(zip2))
		})
	}
}

// TestCodeStorageLimit runs with --code-storage-limit 1000: code that
// would pass it is refused with CodeStorageExceededException and nothing
// changes (scenario 10).
func TestCodeStorageLimit(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithArgs("--code-storage-limit", "1000"))
	forEachDriver(t, srv, sdkDrivers, func(t *testing.T, d Driver) {
		name := "quota-" + d.Name()
		small := handlerZip(t, name)
		big := storedZip(t, 1200, 7)
		// The drivers share the account's quota: each keeps at most one small zip.
		mustCreate(t, d, name, small)
		before := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)

		d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": big}).
			WantError(t, 400, "CodeStorageExceededException", "")
		d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": big, "Publish": true}).
			WantError(t, 400, "CodeStorageExceededException", "")
		after := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
		for _, path := range []string{"Configuration.CodeSha256", "Configuration.RevisionId", "Configuration.LastModified", "Configuration.LastUpdateStatus"} {
			wantStr(t, after, path, before.Str(path))
		}
		versions := d.Paginate(t, "ListVersionsByFunction", Params{"FunctionName": name}, 50)
		if len(versions) != 1 {
			t.Errorf("ListVersionsByFunction: %d versions after refused updates, want only $LATEST", len(versions))
		}

		big2 := storedZip(t, 1200, 8)
		d.Call(t, "CreateFunction", createParams(name+"-big", big2)).WantError(t, 400, "CodeStorageExceededException", "")
		d.Call(t, "GetFunction", Params{"FunctionName": name + "-big"}).WantError(t, 404, "ResourceNotFoundException", "")
	})

	// Replacing $LATEST's code frees the old code's storage: an update
	// whose result fits the quota goes through.
	for _, kind := range sdkDrivers {
		t.Run("replace-within-quota-"+kind, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, WithArgs("--code-storage-limit", "1000"))
			d := NewDriver(t, kind, srv, TestCredentials, "us-east-1")
			name := "replace-" + kind
			first, second := storedZip(t, 450, 11), storedZip(t, 450, 12)
			mustCreate(t, d, name, first)
			r := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": second})
			if r.Code != "" || r.Err != nil {
				t.Errorf("UpdateFunctionCode replacing %d bytes with %d under a 1000-byte quota: %v %d %s %q, want success",
					len(first), len(second), r.Err, r.Status, r.Code, r.Message)
				return
			}
			mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})
			usage := d.Call(t, "GetAccountSettings", Params{}).OK(t)
			if got := usage.Int("AccountUsage.TotalCodeSize"); got != int64(len(second)) {
				t.Errorf("AccountUsage.TotalCodeSize = %d, want %d", got, len(second))
			}
		})
	}
}

// TestDeleteFunction deletes a version, refuses to delete $LATEST alone,
// deletes the whole function, and runs the function-exists waiter before
// and after creation (scenario 11).
func TestDeleteFunction(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "delete-" + d.Name()
		arn := functionARN("us-east-1", "000000000000", name)
		fn := Params{"FunctionName": name}
		// The CLI's function-exists waiter polls 20 times a second apart: too
		// slow to wait out here.
		quickWaiter := d.Name() != CLIDriver
		if quickWaiter {
			if err := d.Wait(t, "FunctionExists", fn, 1500*time.Millisecond); err == nil {
				t.Error("function-exists waiter succeeded before the function was created")
			}
		}
		create := createParams(name, handlerZip(t, name))
		create["Tags"] = Params{"generation": "first"}
		d.Call(t, "CreateFunction", create).OK(t)
		mustWait(t, d, "FunctionExists", fn)
		mustWait(t, d, "FunctionActiveV2", fn)
		wantStr(t, d.Call(t, "PublishVersion", fn).OK(t), "Version", "1")
		mustUpdateCode(t, d, name, handlerZip(t, name+" 2"))
		wantStr(t, d.Call(t, "PublishVersion", fn).OK(t), "Version", "2")
		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "2"}).OK(t)

		d.Call(t, "DeleteFunction", Params{"FunctionName": name, "Qualifier": "$LATEST"}).
			WantError(t, 400, "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function.")
		d.Call(t, "DeleteFunction", Params{"FunctionName": name, "Qualifier": "1"}).OK(t).WantStatus(t, 204)
		d.Call(t, "GetFunction", Params{"FunctionName": name, "Qualifier": "1"}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arn+":1")
		d.Call(t, "GetFunction", fn).OK(t)
		var versions []string
		for _, v := range d.Paginate(t, "ListVersionsByFunction", fn, 50) {
			versions = append(versions, str(v, "Version"))
		}
		if !slices.Equal(versions, []string{"$LATEST", "2"}) {
			t.Errorf("versions after deleting version 1: %v, want [$LATEST 2]", versions)
		}

		d.Call(t, "DeleteFunction", fn).OK(t).WantStatus(t, 204)
		d.Call(t, "GetFunction", fn).WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arn)
		d.Call(t, "GetFunctionConfiguration", fn).WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arn)
		d.Call(t, "DeleteFunction", fn).WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arn)
		for _, f := range d.Paginate(t, "ListFunctions", Params{}, 50) {
			if str(f, "FunctionName") == name {
				t.Errorf("ListFunctions still lists %s after DeleteFunction", name)
			}
		}
		if quickWaiter {
			if err := d.Wait(t, "FunctionExists", fn, 1500*time.Millisecond); err == nil {
				t.Error("function-exists waiter succeeded after the function was deleted")
			}
		}

		// A function created again under the name starts afresh: no versions,
		// aliases or tags of the deleted one.
		zip := handlerZip(t, name+" again")
		mustCreate(t, d, name, zip)
		again := d.Call(t, "GetFunction", fn).OK(t)
		wantCode(t, again, "Configuration.", zip)
		wantAbsent(t, again, "Tags")
		versions = nil
		for _, v := range d.Paginate(t, "ListVersionsByFunction", fn, 50) {
			versions = append(versions, str(v, "Version"))
		}
		if !slices.Equal(versions, []string{"$LATEST"}) {
			t.Errorf("versions of the function created again: %v, want [$LATEST]", versions)
		}
		if as := d.Paginate(t, "ListAliases", fn, 50); len(as) != 0 {
			t.Errorf("aliases of the function created again: %v, want none", as)
		}
		d.Call(t, "GetAlias", Params{"FunctionName": name, "Name": "live"}).WantError(t, 404, "ResourceNotFoundException", "")
		wantStr(t, d.Call(t, "PublishVersion", fn).OK(t), "Version", "1")
	})
}

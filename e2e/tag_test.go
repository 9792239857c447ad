//go:build e2e

package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTags creates a function with tags, tags and untags it, and checks
// TagResource's errors for a qualified ARN and an unknown function
// (scenario 9).
func TestTags(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "tags-" + d.Name()
		arn := functionARN("us-east-1", "000000000000", name)
		create := createParams(name, handlerZip(t, name))
		create["Tags"] = Params{"team": "core", "env": "dev"}
		d.Call(t, "CreateFunction", create).OK(t)
		mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": name})

		wantTags := func(want map[string]any) {
			t.Helper()
			r := d.Call(t, "ListTags", Params{"Resource": arn}).OK(t)
			if diff := cmp.Diff(want, r.Get("Tags")); diff != "" {
				t.Errorf("ListTags (-want +got):\n%s", diff)
			}
			g := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
			if diff := cmp.Diff(want, g.Get("Tags")); diff != "" {
				t.Errorf("GetFunction Tags (-want +got):\n%s", diff)
			}
		}
		wantTags(map[string]any{"team": "core", "env": "dev"})

		d.Call(t, "TagResource", Params{"Resource": arn, "Tags": Params{"env": "prod", "cost-center": "42"}}).OK(t).WantStatus(t, 204)
		wantTags(map[string]any{"team": "core", "env": "prod", "cost-center": "42"})

		d.Call(t, "UntagResource", Params{"Resource": arn, "TagKeys": []string{"team", "not-there"}}).OK(t).WantStatus(t, 204)
		wantTags(map[string]any{"env": "prod", "cost-center": "42"})

		d.Call(t, "TagResource", Params{"Resource": arn + ":1", "Tags": Params{"x": "y"}}).
			WantError(t, 400, "InvalidParameterValueException", "Tags on function aliases and versions are not supported. Please specify a function ARN.")
		missing := functionARN("us-east-1", "000000000000", "doesnotexist")
		d.Call(t, "TagResource", Params{"Resource": missing, "Tags": Params{"x": "y"}}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+missing)
		d.Call(t, "ListTags", Params{"Resource": missing}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+missing)
		d.Call(t, "UntagResource", Params{"Resource": missing, "TagKeys": []string{"x"}}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+missing)
		wantTags(map[string]any{"env": "prod", "cost-center": "42"})
	})
}

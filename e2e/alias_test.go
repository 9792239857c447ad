//go:build e2e

package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAliases creates, reads, updates, lists and deletes aliases with
// weighted routing, checks their errors, and that a version an alias
// routes to cannot be deleted (scenario 7).
func TestAliases(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "aliases-" + d.Name()
		arn := functionARN("us-east-1", "000000000000", name)
		mustCreate(t, d, name, handlerZip(t, name+" 1"))
		wantStr(t, d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t), "Version", "1")
		mustUpdateCode(t, d, name, handlerZip(t, name+" 2"))
		wantStr(t, d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t), "Version", "2")

		live := d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "1", "Description": "production"}).OK(t)
		live.WantStatus(t, 201)
		wantStr(t, live, "AliasArn", arn+":live")
		wantStr(t, live, "FunctionVersion", "1")
		wantStr(t, live, "Description", "production")
		if live.Str("RevisionId") == "" {
			t.Error("CreateAlias answered no RevisionId")
		}
		got := d.Call(t, "GetAlias", Params{"FunctionName": name, "Name": "live"}).OK(t)
		if diff := cmp.Diff(live.Body, got.Body); diff != "" {
			t.Errorf("GetAlias differs from CreateAlias's answer (-create +get):\n%s", diff)
		}

		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "2"}).
			WantError(t, 409, "ResourceConflictException", "Alias already exists: "+arn+":live")
		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "broken", "FunctionVersion": "9"}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arn+":9")
		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "heavy", "FunctionVersion": "1",
			"RoutingConfig": Params{"AdditionalVersionWeights": Params{"2": 2.0}}}).
			WantError(t, 400, "ValidationException", "1 validation error detected: Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "self", "FunctionVersion": "1",
			"RoutingConfig": Params{"AdditionalVersionWeights": Params{"1": 0.5}}}).
			WantError(t, 400, "InvalidParameterValueException", "Invalid function version 1. Function version 1 is already included in routing configuration.")
		d.Call(t, "GetAlias", Params{"FunctionName": name, "Name": "missing"}).
			WantError(t, 404, "ResourceNotFoundException", "Cannot find alias arn: "+arn+":missing")

		routed := d.Call(t, "UpdateAlias", Params{"FunctionName": name, "Name": "live", "RevisionId": live.Str("RevisionId"),
			"RoutingConfig": Params{"AdditionalVersionWeights": Params{"2": 0.25}}}).OK(t)
		if diff := cmp.Diff(map[string]any{"2": 0.25}, routed.Get("RoutingConfig.AdditionalVersionWeights")); diff != "" {
			t.Errorf("UpdateAlias RoutingConfig (-want +got):\n%s", diff)
		}
		wantStr(t, routed, "FunctionVersion", "1")
		wantStr(t, routed, "Description", "production")
		if routed.Str("RevisionId") == live.Str("RevisionId") {
			t.Error("UpdateAlias did not change the alias's RevisionId")
		}
		d.Call(t, "UpdateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "2", "RevisionId": live.Str("RevisionId")}).
			WantError(t, 412, "PreconditionFailedException", msgStaleRevision)
		d.Call(t, "UpdateAlias", Params{"FunctionName": name, "Name": "missing", "FunctionVersion": "2"}).
			WantError(t, 404, "ResourceNotFoundException", "Alias not found: "+arn+":missing")

		// An empty RoutingConfig removes the routing; it is then put back.
		cleared := d.Call(t, "UpdateAlias", Params{"FunctionName": name, "Name": "live", "RoutingConfig": Params{"AdditionalVersionWeights": Params{}}}).OK(t)
		wantAbsent(t, cleared, "RoutingConfig.AdditionalVersionWeights.2")
		d.Call(t, "UpdateAlias", Params{"FunctionName": name, "Name": "live", "RoutingConfig": Params{"AdditionalVersionWeights": Params{"2": 0.25}}}).OK(t)

		// The alias resolves: GetFunctionConfiguration by alias answers version 1.
		byAlias := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name, "Qualifier": "live"}).OK(t)
		wantStr(t, byAlias, "Version", "1")
		wantStr(t, byAlias, "FunctionArn", arn+":live")

		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "beta", "FunctionVersion": "$LATEST"}).OK(t)
		var names []string
		for _, a := range d.Paginate(t, "ListAliases", Params{"FunctionName": name}, 1) {
			names = append(names, str(a, "Name"))
			if str(a, "Name") == "live" {
				if diff := cmp.Diff(map[string]any{"2": 0.25}, lookup(a, "RoutingConfig.AdditionalVersionWeights")); diff != "" {
					t.Errorf("ListAliases: live's RoutingConfig (-want +got):\n%s", diff)
				}
			}
		}
		if diff := cmp.Diff([]string{"beta", "live"}, names); diff != "" {
			t.Errorf("ListAliases (-want +got):\n%s", diff)
		}
		onlyV1 := d.Call(t, "ListAliases", Params{"FunctionName": name, "FunctionVersion": "1"}).OK(t)
		if as := items(onlyV1.Get("Aliases")); len(as) != 1 || str(as[0], "Name") != "live" {
			t.Errorf("ListAliases FunctionVersion=1: %v, want only live", as)
		}

		// Versions an alias points or routes to cannot be deleted.
		for _, v := range []string{"1", "2"} {
			d.Call(t, "DeleteFunction", Params{"FunctionName": name, "Qualifier": v}).WantError(t, 409, "ResourceConflictException", "")
			d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name, "Qualifier": v}).OK(t)
		}
		d.Call(t, "DeleteAlias", Params{"FunctionName": name, "Name": "live"}).OK(t).WantStatus(t, 204)
		d.Call(t, "GetAlias", Params{"FunctionName": name, "Name": "live"}).
			WantError(t, 404, "ResourceNotFoundException", "Cannot find alias arn: "+arn+":live")
		d.Call(t, "DeleteFunction", Params{"FunctionName": name, "Qualifier": "2"}).OK(t).WantStatus(t, 204)
		d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name, "Qualifier": "2"}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arn+":2")
	})
}

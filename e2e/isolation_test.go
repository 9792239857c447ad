//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAccountIsolationSuite runs with two accounts in the credentials
// file. Account A (the attacker) tries every operation on B's function:
// by bare name it is answered 404, as A has no such function; by B's full
// or partial ARN, qualified or not, AccessDeniedException worded as AWS
// words it. Invocations of each kind are refused the same way, and so are
// the policy and function URL operations (B's policy lets in a third
// account, not A). After every attempt B's function, versions, aliases,
// tags, concurrency, policy, URL config and code are unchanged and it
// still runs B's code. Likewise for B's layer: A may not read, list,
// delete, publish to or attach it, nor read or change its policy. The same
// name in both
// accounts is two functions with their own code, and an ARN of another
// region is refused (scenario 24).
func TestAccountIsolationSuite(t *testing.T) {
	t.Parallel()
	credsA := Credentials{AccessKeyID: "AKIAATTACKER00000001", SecretAccessKey: "secret-of-a", AccountID: "111111111111"}
	credsB := Credentials{AccessKeyID: "AKIAVICTIM0000000002", SecretAccessKey: "secret-of-b", AccountID: "222222222222"}
	srv := Start(t, WithCredentials(WriteCredentialsFile(t, credsA, credsB)))
	for _, kind := range []string{Boto3Driver, SDKDriver} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a := NewDriver(t, kind, srv, credsA, "us-east-1")
			b := NewDriver(t, kind, srv, credsB, "us-east-1")
			name := "victim-" + kind
			zipB := handlerZip(t, "B's code "+kind)
			arnB := functionARN("us-east-1", credsB.AccountID, name)
			partialB := credsB.AccountID + ":function:" + name
			mustCreate(t, b, name, zipB)
			wantStr(t, b.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t), "Version", "1")
			b.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "1"}).OK(t)
			b.Call(t, "TagResource", Params{"Resource": arnB, "Tags": Params{"owner": "b"}}).OK(t)
			b.Call(t, "PutFunctionConcurrency", Params{"FunctionName": name, "ReservedConcurrentExecutions": 3}).OK(t)
			// B's policy lets a third account in, not A; B's function has a URL.
			b.Call(t, "AddPermission", Params{"FunctionName": name, "StatementId": "third", "Action": "lambda:InvokeFunction", "Principal": "333333333333"}).OK(t)
			b.Call(t, "CreateFunctionUrlConfig", Params{"FunctionName": name, "AuthType": "AWS_IAM"}).OK(t)
			snapshot := func() map[string]any {
				t.Helper()
				fn := Params{"FunctionName": name}
				return map[string]any{
					"function":    b.Call(t, "GetFunction", fn).OK(t).Body,
					"version1":    b.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name, "Qualifier": "1"}).OK(t).Body,
					"versions":    b.Paginate(t, "ListVersionsByFunction", fn, 50),
					"aliases":     b.Paginate(t, "ListAliases", fn, 50),
					"tags":        b.Call(t, "ListTags", Params{"Resource": arnB}).OK(t).Body,
					"concurrency": b.Call(t, "GetFunctionConcurrency", fn).OK(t).Body,
					"policy":      b.Call(t, "GetPolicy", fn).OK(t).Body,
					"url":         b.Call(t, "GetFunctionUrlConfig", fn).OK(t).Body,
				}
			}
			before := snapshot()
			// Code.Location is a fresh signed URL on every call.
			stable := cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Code.Location" || p.Last().String() == `["Location"]` }, cmp.Ignore())
			unchanged := func(after string) {
				t.Helper()
				now := snapshot()
				if diff := cmp.Diff(before, now, stable); diff != "" {
					t.Errorf("after %s, B's function changed (-before +after):\n%s", after, diff)
				}
				r := b.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
				wantCode(t, r, "Configuration.", zipB)
				if got := download(t, r.Str("Code.Location")); codeSHA(got) != codeSHA(zipB) {
					t.Errorf("after %s, B's code downloads as %s, want %s", after, codeSHA(got), codeSHA(zipB))
				}
			}

			// Every operation on a function, by each way of naming B's.
			ops := func(ref string) []struct {
				op     string
				params Params
			} {
				return []struct {
					op     string
					params Params
				}{
					{"GetFunction", Params{"FunctionName": ref}},
					{"GetFunctionConfiguration", Params{"FunctionName": ref}},
					{"ListVersionsByFunction", Params{"FunctionName": ref}},
					{"UpdateFunctionCode", Params{"FunctionName": ref, "ZipFile": handlerZip(t, "A's code")}},
					{"UpdateFunctionCode", Params{"FunctionName": ref, "ZipFile": handlerZip(t, "A's code"), "Publish": true}},
					{"UpdateFunctionConfiguration", Params{"FunctionName": ref, "Handler": "index.other", "Environment": Params{"Variables": Params{"STOLEN": "1"}}}},
					{"PublishVersion", Params{"FunctionName": ref}},
					{"CreateAlias", Params{"FunctionName": ref, "Name": "mine", "FunctionVersion": "1"}},
					{"GetAlias", Params{"FunctionName": ref, "Name": "live"}},
					{"UpdateAlias", Params{"FunctionName": ref, "Name": "live", "FunctionVersion": "$LATEST"}},
					{"DeleteAlias", Params{"FunctionName": ref, "Name": "live"}},
					{"ListAliases", Params{"FunctionName": ref}},
					{"PutFunctionConcurrency", Params{"FunctionName": ref, "ReservedConcurrentExecutions": 0}},
					{"GetFunctionConcurrency", Params{"FunctionName": ref}},
					{"DeleteFunctionConcurrency", Params{"FunctionName": ref}},
					{"Invoke", Params{"FunctionName": ref, "Payload": []byte(`{}`)}},
					{"Invoke", Params{"FunctionName": ref, "Payload": []byte(`{}`), "InvocationType": "Event"}},
					{"Invoke", Params{"FunctionName": ref, "Payload": []byte(`{}`), "InvocationType": "DryRun"}},
					{"InvokeWithResponseStream", Params{"FunctionName": ref, "Payload": []byte(`{}`)}},
					{"AddPermission", Params{"FunctionName": ref, "StatementId": "mine", "Action": "lambda:*", "Principal": credsA.AccountID}},
					{"GetPolicy", Params{"FunctionName": ref}},
					{"RemovePermission", Params{"FunctionName": ref, "StatementId": "third"}},
					{"CreateFunctionUrlConfig", Params{"FunctionName": ref, "AuthType": "NONE"}},
					{"GetFunctionUrlConfig", Params{"FunctionName": ref}},
					{"UpdateFunctionUrlConfig", Params{"FunctionName": ref, "AuthType": "NONE"}},
					{"ListFunctionUrlConfigs", Params{"FunctionName": ref}},
					{"DeleteFunctionUrlConfig", Params{"FunctionName": ref}},
					{"DeleteFunction", Params{"FunctionName": ref, "Qualifier": "1"}},
					{"DeleteFunction", Params{"FunctionName": ref}},
				}
			}

			t.Run("by-name", func(t *testing.T) {
				arnA := functionARN("us-east-1", credsA.AccountID, name)
				for _, o := range ops(name) {
					r := a.Call(t, o.op, o.params)
					switch o.op {
					case "DeleteAlias":
						// Deleting a missing alias succeeds, as on AWS: A
						// deletes nothing of B's (checked below).
						r.OK(t)
					case "GetAlias":
						r.WantError(t, 404, "ResourceNotFoundException", "Cannot find alias arn: "+arnA+":live")
					case "UpdateAlias":
						r.WantError(t, 404, "ResourceNotFoundException", "Alias not found: "+arnA+":live")
					case "Invoke", "InvokeWithResponseStream", "PutFunctionConcurrency", "DeleteFunctionConcurrency":
						// These name the version they would act on.
						r.WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arnA+":$LATEST")
					case "GetPolicy", "GetFunctionUrlConfig", "DeleteFunctionUrlConfig":
						r.WantError(t, 404, "ResourceNotFoundException", "The resource you requested does not exist.")
					case "RemovePermission":
						r.WantError(t, 404, "ResourceNotFoundException", "No policy found for: "+arnA)
					case "CreateFunctionUrlConfig", "UpdateFunctionUrlConfig", "ListFunctionUrlConfigs":
						r.WantError(t, 404, "ResourceNotFoundException", "Function does not exist")
					default:
						r.WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arnA)
					}
				}
				for _, version := range []string{"", "ALL"} {
					p := Params{}
					if version != "" {
						p["FunctionVersion"] = version
					}
					for _, f := range a.Paginate(t, "ListFunctions", p, 50) {
						if !strings.Contains(str(f, "FunctionArn"), ":"+credsA.AccountID+":") {
							t.Errorf("A lists %s (FunctionVersion %q)", str(f, "FunctionArn"), version)
						}
					}
				}
				unchanged("A's requests by name")
			})

			for _, ref := range []struct{ name, ref, resource string }{
				{"full-arn", arnB, arnB},
				{"partial-arn", partialB, arnB},
				{"qualified-arn", arnB + ":live", arnB + ":live"},
				{"qualified-partial-arn", partialB + ":1", arnB + ":1"},
			} {
				t.Run(ref.name, func(t *testing.T) {
					denied := "User: arn:aws:iam::" + credsA.AccountID + ":user/" + credsA.AccessKeyID +
						" is not authorized to perform this action on resource: " + ref.resource + " because no resource-based policy allows it"
					for _, o := range ops(ref.ref) {
						if o.params["Qualifier"] != nil && ref.ref != arnB && ref.ref != partialB {
							continue // a qualifier in both the name and the parameter
						}
						// The resource is the function as named; a
						// separate Qualifier parameter is not in it.
						a.Call(t, o.op, o.params).WantError(t, 403, "AccessDeniedException", denied)
					}
					unchanged("A's requests by " + ref.name)
				})
			}

			t.Run("tags", func(t *testing.T) {
				denied := "User: arn:aws:iam::" + credsA.AccountID + ":user/" + credsA.AccessKeyID +
					" is not authorized to perform this action on resource: " + arnB + " because no resource-based policy allows it"
				a.Call(t, "TagResource", Params{"Resource": arnB, "Tags": Params{"owner": "a"}}).WantError(t, 403, "AccessDeniedException", denied)
				a.Call(t, "UntagResource", Params{"Resource": arnB, "TagKeys": []string{"owner"}}).WantError(t, 403, "AccessDeniedException", denied)
				a.Call(t, "ListTags", Params{"Resource": arnB}).WantError(t, 403, "AccessDeniedException", denied)
				unchanged("A's tag requests")
			})

			t.Run("other-region", func(t *testing.T) {
				westB := functionARN("eu-west-1", credsB.AccountID, name)
				a.Call(t, "GetFunction", Params{"FunctionName": westB}).WantError(t, 403, "AccessDeniedException", "")
				a.Call(t, "Invoke", Params{"FunctionName": westB, "Payload": []byte(`{}`)}).WantError(t, 403, "AccessDeniedException", "")
				own := "own-" + kind
				mustCreate(t, a, own, handlerZip(t, "A's own"))
				westA := functionARN("eu-west-1", credsA.AccountID, own)
				unreachable := "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"
				a.Call(t, "GetFunction", Params{"FunctionName": westA}).WantError(t, 404, "ResourceNotFoundException", unreachable)
				a.Call(t, "UpdateFunctionCode", Params{"FunctionName": westA, "ZipFile": handlerZip(t, "moved")}).WantError(t, 404, "ResourceNotFoundException", unreachable)
				a.Call(t, "Invoke", Params{"FunctionName": westA, "Payload": []byte(`{}`)}).WantError(t, 404, "ResourceNotFoundException", unreachable)
				a.Call(t, "DeleteFunction", Params{"FunctionName": westA}).WantError(t, 404, "ResourceNotFoundException", unreachable)
				a.Call(t, "TagResource", Params{"Resource": westA, "Tags": Params{"k": "v"}}).WantError(t, 404, "ResourceNotFoundException", unreachable)
				wantCode(t, a.Call(t, "GetFunction", Params{"FunctionName": own}).OK(t), "Configuration.", handlerZip(t, "A's own"))
			})

			t.Run("same-name", func(t *testing.T) {
				shared := "shared-" + kind
				zipA, zipB := handlerZip(t, "A's shared"), handlerZip(t, "B's shared")
				wantStr(t, mustCreate(t, a, shared, zipA), "FunctionArn", functionARN("us-east-1", credsA.AccountID, shared))
				wantStr(t, mustCreate(t, b, shared, zipB), "FunctionArn", functionARN("us-east-1", credsB.AccountID, shared))
				wantCode(t, a.Call(t, "GetFunction", Params{"FunctionName": shared}).OK(t), "Configuration.", zipA)
				wantCode(t, b.Call(t, "GetFunction", Params{"FunctionName": shared}).OK(t), "Configuration.", zipB)
				wantPayload(t, invoke(t, a, shared, map[string]any{}), `"A's shared"`)
				wantPayload(t, invoke(t, b, shared, map[string]any{}), `"B's shared"`)
				// A replaces and deletes its own: B's is untouched.
				mustUpdateCode(t, a, shared, handlerZip(t, "A's shared 2"))
				wantPayload(t, invoke(t, a, shared, map[string]any{}), `"A's shared 2"`)
				wantPayload(t, invoke(t, b, shared, map[string]any{}), `"B's shared"`)
				a.Call(t, "DeleteFunction", Params{"FunctionName": shared}).OK(t)
				wantCode(t, b.Call(t, "GetFunction", Params{"FunctionName": shared}).OK(t), "Configuration.", zipB)
				wantPayload(t, invoke(t, b, shared, map[string]any{}), `"B's shared"`)
			})

			t.Run("layers", func(t *testing.T) {
				layer := "victim-layer-" + kind
				zipL := libsLayer(t, "B's "+kind)
				v := publishLayer(t, b, layer, zipL, nil)
				layerARN, versionARN := v.Str("LayerArn"), v.Str("LayerVersionArn")
				b.Call(t, "AddLayerVersionPermission", Params{"LayerName": layer, "VersionNumber": 1, "StatementId": "c",
					"Action": "lambda:GetLayerVersion", "Principal": "333333333333"}).OK(t)
				policy := b.Call(t, "GetLayerVersionPolicy", Params{"LayerName": layer, "VersionNumber": 1}).OK(t).Body
				denied := func(action, resource string) string {
					return "User: arn:aws:iam::" + credsA.AccountID + ":user/" + credsA.AccessKeyID + " is not authorized to perform: " +
						action + " on resource: " + resource + " because no resource-based policy allows the " + action + " action"
				}
				for _, o := range []struct {
					op, action, resource string
					params               Params
				}{
					{"GetLayerVersion", "lambda:GetLayerVersion", versionARN, Params{"LayerName": layerARN, "VersionNumber": 1}},
					{"GetLayerVersionByArn", "lambda:GetLayerVersion", versionARN, Params{"Arn": versionARN}},
					{"ListLayerVersions", "lambda:ListLayerVersions", layerARN, Params{"LayerName": layerARN}},
					{"DeleteLayerVersion", "lambda:DeleteLayerVersion", versionARN, Params{"LayerName": layerARN, "VersionNumber": 1}},
					{"GetLayerVersionPolicy", "lambda:GetLayerVersionPolicy", versionARN, Params{"LayerName": layerARN, "VersionNumber": 1}},
					{"AddLayerVersionPermission", "lambda:AddLayerVersionPermission", versionARN, Params{"LayerName": layerARN, "VersionNumber": 1,
						"StatementId": "a", "Action": "lambda:GetLayerVersion", "Principal": credsA.AccountID}},
					{"RemoveLayerVersionPermission", "lambda:RemoveLayerVersionPermission", versionARN, Params{"LayerName": layerARN, "VersionNumber": 1, "StatementId": "c"}},
					{"PublishLayerVersion", "lambda:PublishLayerVersion", layerARN, Params{"LayerName": layerARN, "Content": Params{"ZipFile": libsLayer(t, "A's")}}},
					{"CreateFunction", "lambda:GetLayerVersion", versionARN, Params{"FunctionName": "a-uses-" + kind, "Runtime": "python3.12", "Role": testRole,
						"Handler": "index.handler", "Code": Params{"ZipFile": handlerZip(t, "A")}, "Layers": []string{versionARN}}},
				} {
					a.Call(t, o.op, o.params).WantError(t, 403, "AccessDeniedException", denied(o.action, o.resource))
				}
				// By name, A names its own layer, which does not exist.
				a.Call(t, "GetLayerVersion", Params{"LayerName": layer, "VersionNumber": 1}).
					WantError(t, 404, "ResourceNotFoundException", "The resource you requested does not exist.")
				if vs := items(a.Call(t, "ListLayerVersions", Params{"LayerName": layer}).OK(t).Get("LayerVersions")); len(vs) != 0 {
					t.Errorf("A lists versions of %s: %v", layer, vs)
				}
				// B's layer, its versions and its policy are unchanged.
				got := b.Call(t, "GetLayerVersion", Params{"LayerName": layer, "VersionNumber": 1}).OK(t)
				wantStr(t, got, "Content.CodeSha256", codeSHA(zipL))
				if vs := items(b.Call(t, "ListLayerVersions", Params{"LayerName": layer}).OK(t).Get("LayerVersions")); len(vs) != 1 {
					t.Errorf("B's layer has %d versions after A's requests, want 1", len(vs))
				}
				if d := cmp.Diff(policy, b.Call(t, "GetLayerVersionPolicy", Params{"LayerName": layer, "VersionNumber": 1}).OK(t).Body); d != "" {
					t.Errorf("B's layer policy changed (-before +after):\n%s", d)
				}
			})

			// B's function still runs B's code, through its alias too.
			wantPayload(t, invoke(t, b, name, map[string]any{}), `"B's code `+kind+`"`)
			wantPayload(t, invoke(t, b, name, map[string]any{}, Params{"Qualifier": "live"}), `"B's code `+kind+`"`)
			unchanged("all of A's requests")
		})
	}
}

// wantPayload checks that an invocation succeeded with exactly payload.
func wantPayload(t testing.TB, r *Result, payload string) {
	t.Helper()
	r.OK(t)
	if r.FunctionError != "" || string(r.Payload) != payload {
		t.Errorf("%s %s: function error %q, payload %s, want %s", r.Driver, r.Op, r.FunctionError, r.Payload, payload)
	}
}

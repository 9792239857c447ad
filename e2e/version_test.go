//go:build e2e

package e2e

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPublishVersion checks PublishVersion's CodeSha256 and RevisionId
// preconditions, that publishing without a change answers the same
// version while any UpdateFunctionCode counts as a change, and
// ListVersionsByFunction's paging (scenario 6).
func TestPublishVersion(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "publish-" + d.Name()
		arn := functionARN("us-east-1", "000000000000", name)
		zipA, zipB := handlerZip(t, name+" A"), handlerZip(t, name+" B")
		mustCreate(t, d, name, zipA)

		d.Call(t, "PublishVersion", Params{"FunctionName": name, "CodeSha256": "wrongsha"}).WantError(t, 400, "InvalidParameterValueException",
			fmt.Sprintf("CodeSHA256 (wrongsha) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", codeSHA(zipA)))
		d.Call(t, "PublishVersion", Params{"FunctionName": name, "RevisionId": "00000000-0000-4000-8000-000000000000"}).
			WantError(t, 412, "PreconditionFailedException", msgStaleRevision)

		v1 := d.Call(t, "PublishVersion", Params{"FunctionName": name, "CodeSha256": codeSHA(zipA), "Description": "first"}).OK(t)
		v1.WantStatus(t, 201)
		wantStr(t, v1, "Version", "1")
		wantStr(t, v1, "FunctionArn", arn+":1")
		wantStr(t, v1, "Description", "first")
		wantCode(t, v1, "", zipA)
		again := d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t)
		wantStr(t, again, "Version", "1")
		mustWait(t, d, "PublishedVersionActive", Params{"FunctionName": name, "Qualifier": "1"})

		// An update with byte-identical code still counts as a change.
		mustUpdateCode(t, d, name, zipA)
		wantStr(t, d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t), "Version", "2")
		wantStr(t, d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t), "Version", "2")

		mustUpdateCode(t, d, name, zipB)
		rev := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t).Str("RevisionId")
		v3 := d.Call(t, "PublishVersion", Params{"FunctionName": name, "CodeSha256": codeSHA(zipB), "RevisionId": rev}).OK(t)
		wantStr(t, v3, "Version", "3")
		wantCode(t, v3, "", zipB)

		want := []string{"$LATEST", "1", "2", "3"}
		wantSHA := map[string]string{"$LATEST": codeSHA(zipB), "1": codeSHA(zipA), "2": codeSHA(zipA), "3": codeSHA(zipB)}
		// One request per page, following NextMarker by hand.
		var got []string
		var marker string
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("ListVersionsByFunction: NextMarker never ends")
			}
			p := Params{"FunctionName": name, "MaxItems": 2}
			if marker != "" {
				p["Marker"] = marker
			}
			r := d.Call(t, "ListVersionsByFunction", p).OK(t)
			vs := items(r.Get("Versions"))
			if len(vs) > 2 {
				t.Errorf("page %d has %d versions, want at most MaxItems=2", page, len(vs))
			}
			for _, v := range vs {
				got = append(got, str(v, "Version"))
				if sha := str(v, "CodeSha256"); sha != wantSHA[str(v, "Version")] {
					t.Errorf("version %s: CodeSha256 = %s, want %s", str(v, "Version"), sha, wantSHA[str(v, "Version")])
				}
				if ver := str(v, "Version"); ver != "$LATEST" && str(v, "FunctionArn") != arn+":"+ver {
					t.Errorf("version %s: FunctionArn = %s, want %s", ver, str(v, "FunctionArn"), arn+":"+ver)
				}
			}
			if marker = r.Str("NextMarker"); marker == "" {
				break
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListVersionsByFunction by hand, MaxItems=2 (-want +got):\n%s", diff)
		}
		got = nil
		for _, v := range d.Paginate(t, "ListVersionsByFunction", Params{"FunctionName": name}, 1) {
			got = append(got, str(v, "Version"))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListVersionsByFunction through the %s paginator, page size 1 (-want +got):\n%s", d.Name(), diff)
		}
	})
}

// TestCreateFunctionPublish: CreateFunction with Publish answers version
// 1's configuration under the unqualified FunctionArn, as AWS does, so
// that a client passing that ARN on addresses the function, not version 1.
func TestCreateFunctionPublish(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "publish-on-create-" + d.Name()
		p := createParams(name, handlerZip(t, name))
		p["Publish"] = true
		created := d.Call(t, "CreateFunction", p).OK(t)
		wantStr(t, created, "FunctionArn", functionARN("us-east-1", "000000000000", name))
		wantStr(t, created, "Version", "1")
		mustWait(t, d, "PublishedVersionActive", Params{"FunctionName": name, "Qualifier": "1"})
		latest := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": created.Str("FunctionArn")}).OK(t)
		wantStr(t, latest, "Version", "$LATEST")
	})
}

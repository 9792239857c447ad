//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestListFunctions pages through 7 functions three at a time, by hand and
// with each client's paginator, and lists every version with
// FunctionVersion=ALL (scenario 8).
func TestListFunctions(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	setup := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}
	var names []string
	for i := range 7 {
		name := fmt.Sprintf("list-%d", i)
		names = append(names, name)
		setup.Call(t, "CreateFunction", createParams(name, handlerZip(t, name))).OK(t)
	}
	for _, name := range names {
		mustWait(t, setup, "FunctionActiveV2", Params{"FunctionName": name})
	}
	// Version 1 of two functions, for FunctionVersion=ALL.
	for _, name := range names[:2] {
		wantStr(t, setup.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t), "Version", "1")
	}
	wantAll := []string{}
	for _, name := range names {
		wantAll = append(wantAll, name+":$LATEST")
	}
	wantAll = append(wantAll, names[0]+":1", names[1]+":1")
	slices.Sort(wantAll)

	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		// By hand: one request per page of MaxItems=3.
		var got []string
		var sizes []int
		marker := ""
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("ListFunctions: NextMarker never ends")
			}
			p := Params{"MaxItems": 3}
			if marker != "" {
				p["Marker"] = marker
			}
			r := d.Call(t, "ListFunctions", p).OK(t)
			fs := items(r.Get("Functions"))
			sizes = append(sizes, len(fs))
			for _, f := range fs {
				got = append(got, str(f, "FunctionName"))
			}
			if marker = r.Str("NextMarker"); marker == "" {
				break
			}
		}
		if diff := cmp.Diff([]int{3, 3, 1}, sizes); diff != "" {
			t.Errorf("ListFunctions MaxItems=3 page sizes (-want +got):\n%s", diff)
		}
		slices.Sort(got)
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("ListFunctions by hand (-want +got):\n%s", diff)
		}

		got = nil
		for _, f := range d.Paginate(t, "ListFunctions", Params{}, 3) {
			got = append(got, str(f, "FunctionName"))
			wantStr(t, &Result{Body: f}, "Version", "$LATEST")
		}
		slices.Sort(got)
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("ListFunctions through the %s paginator, page size 3 (-want +got):\n%s", d.Name(), diff)
		}

		got = nil
		for _, f := range d.Paginate(t, "ListFunctions", Params{"FunctionVersion": "ALL"}, 2) {
			got = append(got, str(f, "FunctionName")+":"+str(f, "Version"))
		}
		slices.Sort(got)
		if diff := cmp.Diff(wantAll, got); diff != "" {
			t.Errorf("ListFunctions FunctionVersion=ALL, page size 2 (-want +got):\n%s", diff)
		}
	})

	t.Run("cli-max-items", func(t *testing.T) {
		t.Parallel()
		// --max-items makes the CLI stop early and answer a NextToken that
		// --starting-token resumes from.
		cli := NewCLI(t, srv.Endpoint, TestCredentials, "us-east-1")
		var got []string
		token := ""
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("NextToken never ends")
			}
			args := []string{"lambda", "list-functions", "--max-items", "3", "--page-size", "2"}
			if token != "" {
				args = append(args, "--starting-token", token)
			}
			out := cli.Run(t, args...)
			if out.ExitCode != 0 {
				t.Fatalf("aws %v: exit status %d: %s", args, out.ExitCode, out.Stderr)
			}
			fs := items(out.JSON["Functions"])
			if len(fs) > 3 {
				t.Errorf("--max-items 3 printed %d functions", len(fs))
			}
			for _, f := range fs {
				got = append(got, str(f, "FunctionName"))
			}
			if token = str(out.JSON, "NextToken"); token == "" {
				break
			}
		}
		slices.Sort(got)
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("aws lambda list-functions --max-items 3 (-want +got):\n%s", diff)
		}
	})
}

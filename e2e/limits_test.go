//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
)

// AWS's code size limits (recorded responses).
const (
	maxZippedSize  = 52428800
	maxRequestBody = 70167211
)

// snapshot is what must not change when a request is refused.
type snapshot struct {
	Configuration any
	Usage         any
	Functions     int
}

func takeSnapshot(t testing.TB, d Driver, name string) snapshot {
	t.Helper()
	return snapshot{
		Configuration: d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t).Body,
		Usage:         d.Call(t, "GetAccountSettings", Params{}).OK(t).Get("AccountUsage"),
		Functions:     len(d.Paginate(t, "ListFunctions", Params{}, 50)),
	}
}

// TestOversizeZip uploads a zip one chunk over 52428800 bytes in a body
// under the request limit: 413 "Zipped size must be smaller than 52428800
// bytes", and nothing changes (scenario 4).
func TestOversizeZip(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	zip := storedZip(t, maxZippedSize, 9)
	if len(zip) <= maxZippedSize || (len(zip)+2)/3*4+64 >= maxRequestBody {
		t.Fatalf("zip of %d bytes: want it over the zipped limit with its request under the body limit", len(zip))
	}
	msg := fmt.Sprintf("Zipped size must be smaller than %d bytes", maxZippedSize)
	for _, kind := range []string{SDKDriver, Boto3Driver} {
		t.Run(kind, func(t *testing.T) {
			d := NewDriver(t, kind, srv, TestCredentials, "us-east-1")
			name := "oversize-zip-" + kind
			mustCreate(t, d, name, handlerZip(t, name))
			before := takeSnapshot(t, d, name)

			d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": zip}).
				WantError(t, 413, "RequestEntityTooLargeException", msg)
			d.Call(t, "CreateFunction", createParams(name+"-new", zip)).
				WantError(t, 413, "RequestEntityTooLargeException", msg)

			if diff := cmp.Diff(before, takeSnapshot(t, d, name)); diff != "" {
				t.Errorf("refused uploads changed something (-before +after):\n%s", diff)
			}
			// The server is fine afterwards.
			mustUpdateCode(t, d, name, handlerZip(t, name+" after"))
		})
	}
}

// TestOversizeBody sends UpdateFunctionCode and CreateFunction bodies over
// 70167211 bytes: 413 "Request must be smaller than 70167211 bytes for the
// <operation> operation", and nothing changes (scenario 4).
func TestOversizeBody(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	zip := storedZip(t, 52700000, 10)
	body := updateCodeBody(t, zip)
	if len(body) <= maxRequestBody {
		t.Fatalf("body of %d bytes: want it over %d", len(body), maxRequestBody)
	}
	msg := func(op string) string {
		return fmt.Sprintf("Request must be smaller than %d bytes for the %s operation", maxRequestBody, op)
	}
	sdk := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}

	t.Run("sdk", func(t *testing.T) {
		name := "oversize-body-sdk"
		mustCreate(t, sdk, name, handlerZip(t, name))
		before := takeSnapshot(t, sdk, name)
		sdk.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": zip}).
			WantError(t, 413, "RequestEntityTooLargeException", msg("UpdateFunctionCode"))
		sdk.Call(t, "CreateFunction", createParams(name+"-new", zip)).
			WantError(t, 413, "RequestEntityTooLargeException", msg("CreateFunction"))
		if diff := cmp.Diff(before, takeSnapshot(t, sdk, name)); diff != "" {
			t.Errorf("refused uploads changed something (-before +after):\n%s", diff)
		}
		mustUpdateCode(t, sdk, name, handlerZip(t, name+" after"))
	})
	t.Run("raw", func(t *testing.T) {
		name := "oversize-body-raw"
		mustCreate(t, sdk, name, handlerZip(t, name))
		before := takeSnapshot(t, sdk, name)
		url := srv.Endpoint + "/2015-03-31/functions/" + name + "/code"
		doRaw(t, nil, rawRequest(t, "PUT", url, &TestCredentials, "us-east-1", body, body)).
			wantError(t, 413, "RequestEntityTooLargeException", msg("UpdateFunctionCode"))
		if diff := cmp.Diff(before, takeSnapshot(t, sdk, name)); diff != "" {
			t.Errorf("refused upload changed something (-before +after):\n%s", diff)
		}
		mustUpdateCode(t, sdk, name, handlerZip(t, name+" after"))
	})
}

// concurrentOutcome checks the results of concurrent updates that all
// carried the same RevisionId: exactly one succeeded, the others were
// refused with 412 or 409, and the function ends with the winner's code.
func concurrentOutcome(t testing.TB, d Driver, name string, zips [][]byte, results []*Result) {
	t.Helper()
	arn := functionARN("us-east-1", "000000000000", name)
	winner := -1
	for i, r := range results {
		switch {
		case r.Err == nil && r.Code == "":
			if winner >= 0 {
				t.Errorf("updates %d and %d both succeeded with the same RevisionId", winner, i)
			}
			winner = i
			r.WantStatus(t, 200)
			wantStr(t, r, "CodeSha256", codeSHA(zips[i]))
		case r.Code == "PreconditionFailedException":
			r.WantError(t, 412, r.Code, msgStaleRevision)
		case r.Code == "ResourceConflictException":
			r.WantError(t, 409, r.Code, "The operation cannot be performed at this time. An update is in progress for resource: "+arn)
		default:
			t.Errorf("update %d: %v %d %s %s, want 200, 412 or 409", i, r.Err, r.Status, r.Code, r.Message)
		}
	}
	if winner < 0 {
		t.Fatal("no update succeeded")
	}
	mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})
	get := d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
	wantCode(t, get, "Configuration.", zips[winner])
	if got := download(t, get.Str("Code.Location")); codeSHA(got) != codeSHA(zips[winner]) {
		t.Errorf("Code.Location serves sha %s, want the winner's %s", codeSHA(got), codeSHA(zips[winner]))
	}
}

// TestConcurrentUpdates sends 10 UpdateFunctionCode calls at once, all with
// the same RevisionId: exactly one wins (scenario 5).
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	const n = 10

	t.Run("sdk", func(t *testing.T) {
		t.Parallel()
		d := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}
		name := "concurrent-sdk"
		mustCreate(t, d, name, handlerZip(t, name))
		for round := range 3 {
			rev := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t).Str("RevisionId")
			var zips [][]byte
			for i := range n {
				zips = append(zips, handlerZip(t, fmt.Sprintf("%s round %d update %d", name, round, i)))
			}
			results := make([]*Result, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				// A client each, as separate processes would have.
				client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
				wg.Go(func() {
					<-start
					out, err := client.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{
						FunctionName: aws.String(name), ZipFile: zips[i], RevisionId: aws.String(rev),
					})
					results[i] = sdkResult(t, "UpdateFunctionCode", out, err)
				})
			}
			close(start)
			wg.Wait()
			concurrentOutcome(t, d, name, zips, results)
		}
	})
	t.Run("sdk-create", func(t *testing.T) {
		t.Parallel()
		// Ten CreateFunction calls for one name at once: exactly one creates it.
		name := "created-once"
		results := make([]*Result, n)
		var zips [][]byte
		for i := range n {
			zips = append(zips, handlerZip(t, fmt.Sprintf("%s %d", name, i)))
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			d := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}
			wg.Go(func() {
				<-start
				results[i] = d.Call(t, "CreateFunction", createParams(name, zips[i]))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, r := range results {
			if r.Err == nil && r.Code == "" {
				if winner >= 0 {
					t.Errorf("CreateFunction %d and %d both succeeded", winner, i)
				}
				winner = i
				continue
			}
			r.WantError(t, 409, "ResourceConflictException", "Function already exist: "+name)
		}
		if winner < 0 {
			t.Fatal("no CreateFunction succeeded")
		}
		d := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}
		mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": name})
		wantCode(t, d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t), "Configuration.", zips[winner])
		var functions int
		for _, f := range d.Paginate(t, "ListFunctions", Params{}, 50) {
			if str(f, "FunctionName") == name {
				functions++
			}
		}
		if functions != 1 {
			t.Errorf("ListFunctions lists %s %d times", name, functions)
		}
	})
	t.Run("boto3", func(t *testing.T) {
		t.Parallel()
		python := needBoto3(t)
		d := NewBoto3(t, srv.Endpoint, TestCredentials, "us-east-1")
		name := "concurrent-boto3"
		mustCreate(t, d, name, handlerZip(t, name))
		rev := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t).Str("RevisionId")
		dir := t.TempDir()
		var zips [][]byte
		var paths []string
		for i := range n {
			zip := handlerZip(t, fmt.Sprintf("%s update %d", name, i))
			path := filepath.Join(dir, fmt.Sprintf("%d.zip", i))
			if err := os.WriteFile(path, zip, 0o600); err != nil {
				t.Fatal(err)
			}
			zips, paths = append(zips, zip), append(paths, path)
		}
		req, _ := json.Marshal(map[string]any{"function": name, "revision_id": rev, "zips": paths})
		cmd := exec.Command(python, boto3Script(t, "concurrent_update.py"))
		cmd.Env = boto3Env(dir, srv.Endpoint, TestCredentials, "us-east-1")
		cmd.Stdin = bytes.NewReader(req)
		cmd.Stderr = &logWriter{t: t, prefix: "concurrent_update.py: "}
		dieWithTest(cmd)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("concurrent_update.py: %v", err)
		}
		var answers []boto3Answer
		if err := json.Unmarshal(out, &answers); err != nil {
			t.Fatalf("concurrent_update.py: %v: %s", err, out)
		}
		var results []*Result
		for _, a := range answers {
			r := &Result{Driver: Boto3Driver, Op: "UpdateFunctionCode", Status: a.Status, Code: a.Code, Message: a.Message}
			if a.Error != "" {
				r.Err = errors.New(a.Error)
			}
			if a.OK {
				r.Body = map[string]any{"CodeSha256": a.CodeSHA256}
			}
			results = append(results, r)
		}
		concurrentOutcome(t, d, name, zips, results)
	})
}

package control_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// recordingMeter keeps what the service reports.
type recordingMeter struct {
	lambdahost.NopMeter
	mu       sync.Mutex
	deployed []string
	settled  []string
	timings  []lambdahost.DeployTiming
	deleted  []lambdahost.FunctionID
}

func (m *recordingMeter) CodeDeployed(op string, t *lambdahost.DeployTiming) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deployed = append(m.deployed, op)
	m.timings = append(m.timings, *t)
}

func (m *recordingMeter) UpdateSettled(op, status string, elapsed time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settled = append(m.settled, op+":"+status)
}

func (m *recordingMeter) FunctionDeleted(fn lambdahost.FunctionID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleted = append(m.deleted, fn)
}

// slowPreparer makes every version settle after its operation returns.
type slowPreparer struct{}

func (slowPreparer) Prepare(context.Context, *lambdahost.Version) error { return nil }

func TestDeploymentHistory(t *testing.T) {
	for _, tt := range []struct {
		name     string
		preparer control.Preparer
	}{
		{name: "settled-in-the-commit"},
		{name: "settled-after", preparer: slowPreparer{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &recordingMeter{}
			f := newFixture(t, func(s *control.Service) { s.Meter, s.Preparer = m, tt.preparer })
			ctx := lambdahost.WithClient(f.ctx, lambdahost.Client{SourceIP: "192.0.2.7", UserAgent: "deploy-test/1.0"})
			f.ctx = ctx
			created := f.create(t, "f", "v1")
			timing := &lambdahost.DeployTiming{Received: time.Millisecond}
			updated, err := f.svc.UpdateFunctionCode(lambdahost.WithDeployTiming(ctx, timing), &control.UpdateCodeInput{
				FunctionName: "f", Code: control.CodeInput{Zip: f.stage(t, zipOf(t, "v2"))}, Publish: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if timing.Bytes != updated.Code.Size || timing.Commit <= 0 || timing.Hash <= 0 || timing.Received != time.Millisecond {
				t.Errorf("DeployTiming = %+v, want the package's size and measured phases", timing)
			}
			if _, err := f.svc.UpdateFunctionConfiguration(ctx, &control.UpdateConfigInput{FunctionName: "f", Config: control.ConfigInput{Timeout: ptr(9), MemorySize: ptr(256)}}); err != nil {
				t.Fatal(err)
			}
			hist, err := f.svc.ListDeployments(ctx, "f", 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != 3 {
				t.Fatalf("history has %d entries, want 3: %+v", len(hist), hist)
			}
			for i, want := range []struct {
				seq int64
				op  string
				sha string
			}{
				{3, "UpdateFunctionConfiguration", updated.Code.SHA256()},
				{2, "UpdateFunctionCode", updated.Code.SHA256()},
				{1, "CreateFunction", created.Code.SHA256()},
			} {
				d := hist[i]
				if d.Seq != want.seq || d.Operation != want.op || d.CodeSHA256 != want.sha {
					t.Errorf("entry %d = %d %s %s, want %d %s %s", i, d.Seq, d.Operation, d.CodeSHA256, want.seq, want.op, want.sha)
				}
				if d.Status != lambdahost.UpdateSuccessful || d.Settled.IsZero() || d.Settled.Before(d.Began) {
					t.Errorf("entry %d: status %s settled %v (began %v), want Successful once settled", i, d.Status, d.Settled, d.Began)
				}
				if d.AccessKey != "test" || d.Principal != "arn:aws:iam::000000000000:user/test" || d.SourceIP != "192.0.2.7" || d.UserAgent != "deploy-test/1.0" {
					t.Errorf("entry %d: who %s %s from %s %s", i, d.AccessKey, d.Principal, d.SourceIP, d.UserAgent)
				}
			}
			if hist[1].PublishedVersion != "1" || hist[1].Timing == nil || hist[1].Timing.Bytes != updated.Code.Size {
				t.Errorf("code update entry: published %q timing %+v", hist[1].PublishedVersion, hist[1].Timing)
			}
			if got := fmt.Sprint(hist[0].Changed); got != "[Timeout MemorySize]" {
				t.Errorf("configuration update changed %s, want [Timeout MemorySize]", got)
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			if got := fmt.Sprint(m.deployed); got != "[CreateFunction UpdateFunctionCode]" {
				t.Errorf("CodeDeployed for %s", got)
			}
			if got := fmt.Sprint(m.settled); got != "[CreateFunction:Successful UpdateFunctionCode:Successful UpdateFunctionConfiguration:Successful]" {
				t.Errorf("UpdateSettled for %s", got)
			}
		})
	}
}

func TestDeploymentHistoryBounded(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	for i := range control.DeploymentHistoryMax + 5 {
		if _, err := f.svc.UpdateFunctionConfiguration(f.ctx, &control.UpdateConfigInput{FunctionName: "f", Config: control.ConfigInput{Timeout: ptr(1 + i%30)}}); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := f.svc.ListDeployments(f.ctx, "f", 0)
	if err != nil {
		t.Fatal(err)
	}
	last := int64(control.DeploymentHistoryMax + 6)
	if len(hist) != control.DeploymentHistoryMax || hist[0].Seq != last || hist[len(hist)-1].Seq != last-control.DeploymentHistoryMax+1 {
		t.Fatalf("history has %d entries from %d to %d, want %d ending at %d", len(hist), hist[len(hist)-1].Seq, hist[0].Seq, control.DeploymentHistoryMax, last)
	}
	if n := f.countRecords(t, "deployment"); n != control.DeploymentHistoryMax {
		t.Errorf("%d deployment records stored, want %d", n, control.DeploymentHistoryMax)
	}
	few, err := f.svc.ListDeployments(f.ctx, "f", 3)
	if err != nil || len(few) != 3 || few[0].Seq != last {
		t.Errorf("ListDeployments limit 3: %d entries, %v", len(few), err)
	}
	// Deleting the function deletes its history.
	if err := f.svc.DeleteFunction(f.ctx, "f", ""); err != nil {
		t.Fatal(err)
	}
	if n := f.countRecords(t, "deployment"); n != 0 {
		t.Errorf("%d deployment records left after DeleteFunction", n)
	}
	if _, err := f.svc.ListDeployments(f.ctx, "f", 0); lambdahost.ErrorTypeOf(err) != lambdahost.ResourceNotFoundException {
		t.Errorf("ListDeployments of a deleted function: %v", err)
	}
}

func (f *fixture) countRecords(t testing.TB, kind string) int {
	t.Helper()
	var n int
	err := f.store.View(f.ctx, func(tx lambdahost.Tx) error {
		recs, err := tx.ListRecords(f.ctx, kind, "", "", 0)
		n = len(recs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRollbackCode(t *testing.T) {
	m := &recordingMeter{}
	f := newFixture(t, func(s *control.Service) { s.Meter = m })
	f.create(t, "f", "v1")
	v1, err := f.svc.PublishVersion(f.ctx, &control.PublishVersionInput{FunctionName: "f"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.updateCode("f", "v2", nil, false, t); err != nil {
		t.Fatal(err)
	}
	before := f.get(t, "f")
	if before.Code.Digest == v1.Code.Digest {
		t.Fatal("the update did not change the code")
	}

	for _, tt := range []struct {
		name    string
		in      control.RollbackInput
		wantErr lambdahost.ErrorType
	}{
		{name: "no-such-version", in: control.RollbackInput{FunctionName: "f", Version: "7"}, wantErr: lambdahost.ResourceNotFoundException},
		{name: "not-a-version", in: control.RollbackInput{FunctionName: "f", Version: "$LATEST"}, wantErr: lambdahost.ValidationException},
		{name: "no-such-function", in: control.RollbackInput{FunctionName: "g", Version: "1"}, wantErr: lambdahost.ResourceNotFoundException},
		{name: "stale-revision", in: control.RollbackInput{FunctionName: "f", Version: "1", RevisionID: ptr("nope")}, wantErr: lambdahost.PreconditionFailedException},
		{name: "qualified-name", in: control.RollbackInput{FunctionName: "f:1", Version: "1"}, wantErr: lambdahost.InvalidParameterValueException},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.RollbackCode(f.ctx, &tt.in)
			if got := lambdahost.ErrorTypeOf(err); got != tt.wantErr {
				t.Fatalf("error %v (%s), want %s", err, got, tt.wantErr)
			}
			if after := f.get(t, "f"); after.RevisionID != before.RevisionID {
				t.Error("a refused rollback changed $LATEST")
			}
		})
	}

	out, err := f.svc.RollbackCode(f.ctx, &control.RollbackInput{FunctionName: "f", Version: "1", RevisionID: ptr(before.RevisionID)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status.LastUpdateStatus != lambdahost.UpdateInProgress || out.Code.Digest != v1.Code.Digest {
		t.Errorf("rollback answered %s with %s, want InProgress with version 1's code", out.Status.LastUpdateStatus, out.Code.SHA256())
	}
	after := f.get(t, "f")
	if after.Code.Digest != v1.Code.Digest || after.Status.LastUpdateStatus != lambdahost.UpdateSuccessful {
		t.Errorf("after the rollback $LATEST has %s, %s", after.Code.SHA256(), after.Status.LastUpdateStatus)
	}
	// The rolled back code runs: it opens.
	b, err := f.svc.OpenCode(f.ctx, after.Code)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	hist, err := f.svc.ListDeployments(f.ctx, "f", 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := hist[0]; d.Operation != "UpdateFunctionCode" || d.RolledBackTo != "1" || d.CodeSHA256 != v1.Code.SHA256() || d.Status != lambdahost.UpdateSuccessful {
		t.Errorf("history entry of the rollback: %+v", d)
	}
	// Version 1's code is now referenced twice: garbage collection keeps it.
	if _, err := f.svc.CollectGarbage(f.ctx, 0); err != nil {
		t.Fatal(err)
	}
	if b, err := f.svc.OpenCode(f.ctx, after.Code); err != nil {
		t.Errorf("version 1's code after garbage collection: %v", err)
	} else {
		b.Close()
	}
}

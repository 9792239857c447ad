package control_test

import (
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
)

// TestSweep checks that Sweep settles the versions left InProgress by a
// node that is gone, and leaves those a live node is settling alone.
func TestSweep(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "orphan", "v1")
	f.create(t, "busy", "v1")
	inProgress := lambdahost.Status{State: lambdahost.StateActive, LastUpdateStatus: lambdahost.UpdateInProgress}
	f.setStatus(t, "orphan", lambdahost.VersionLatest, inProgress)
	f.setStatus(t, "busy", lambdahost.VersionLatest, inProgress)
	// Another node, alive, settles "busy": it claimed it when it wrote it.
	if err := f.store.Heartbeat(f.ctx, "other", time.Hour); err != nil {
		t.Fatal(err)
	}
	busy, err := f.svc.GetFunctionConfiguration(f.ctx, "busy", "")
	if err != nil {
		t.Fatal(err)
	}
	err = f.store.Update(f.ctx, func(tx lambdahost.Tx) error {
		_, err := tx.Claim(f.ctx, "settle", busy.Version.ARN()+"@"+busy.RevisionID, "other")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"orphan": lambdahost.UpdateSuccessful, "busy": lambdahost.UpdateInProgress} {
		v, err := f.svc.GetFunctionConfiguration(f.ctx, name, "")
		if err != nil {
			t.Fatal(err)
		}
		if v.Status.LastUpdateStatus != want {
			t.Errorf("%s: LastUpdateStatus %s after Sweep, want %s", name, v.Status.LastUpdateStatus, want)
		}
	}
	// Once the other node is gone, its work is taken over.
	if err := f.store.Leave(f.ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.GetFunctionConfiguration(f.ctx, "busy", ""); v.Status.LastUpdateStatus != lambdahost.UpdateSuccessful {
		t.Errorf("busy: LastUpdateStatus %s after its node left, want Successful", v.Status.LastUpdateStatus)
	}
}

package control_test

import (
	"crypto/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// newLayerCheckFixture is a store whose layers are used every way: layer
// deps has version 1 (a blob, attached to function f, with a policy) and
// version 2 (inline, unused); layer gone had version 1 (a blob), attached
// to f and then deleted, so that only f keeps its code.
func newLayerCheckFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	big := func() string {
		b := make([]byte, 2*lambdahost.SealedChunkSize)
		rand.Read(b)
		return string(b)
	}
	f.publish(t, "deps", big())
	f.publish(t, "deps", "deps v2")
	f.publish(t, "gone", big())
	if _, err := f.svc.AddLayerVersionPermission(f.ctx, &control.LayerVersionPermissionInput{
		LayerName: "deps", Version: 1, StatementID: "all", Action: "lambda:GetLayerVersion", Principal: "*",
	}); err != nil {
		t.Fatal(err)
	}
	f.create(t, "f", "fn")
	if _, err := f.setLayers(t, "f", depsARN+":1", goneARN+":1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteLayerVersion(f.ctx, "gone", 1); err != nil {
		t.Fatal(err)
	}
	return f
}

const goneARN = "arn:aws:lambda:us-east-1:000000000000:layer:gone"

func checkOf(t *testing.T, f *fixture) *control.CheckReport {
	t.Helper()
	rep, err := f.svc.Check(f.ctx, control.CheckOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestCheckLayers: Check verifies the code of layer versions and of the
// layers functions use (a deleted layer version's included), agrees with
// garbage collection about it, and finds layer records that point at
// nothing.
func TestCheckLayers(t *testing.T) {
	t.Run("intact", func(t *testing.T) {
		f := newLayerCheckFixture(t)
		rep := checkOf(t, f)
		if !rep.Intact() {
			t.Fatalf("Check of an intact store with layers: %v", rep.Problems)
		}
		// f's code, deps:1, deps:2 and gone:1 (kept for f).
		if rep.LayerVersions != 2 || rep.Packages != 4 || len(rep.Orphans) != 0 {
			t.Errorf("Check counted %d layer versions, %d packages, %d orphans; want 2, 4, 0", rep.LayerVersions, rep.Packages, len(rep.Orphans))
		}
	})

	tests := []struct {
		name   string
		damage func(t *testing.T, f *fixture)
		want   []string
	}{
		{
			name: "layer-blob-deleted",
			damage: func(t *testing.T, f *fixture) {
				lv, err := f.svc.GetLayerVersion(f.ctx, "deps", 1)
				if err != nil {
					t.Fatal(err)
				}
				mustRemove(t, filepath.Join(f.blobs.Dir(), "blobs", "sha256", storedAt(lv.Code).Hex()))
			},
			want: []string{
				depsARN + ":1: code sha256:", "missing",
				arn("f", "$LATEST") + ": layer " + depsARN + ":1: code sha256:",
			},
		},
		{
			name: "deleted-layer-version-code-damaged",
			damage: func(t *testing.T, f *fixture) {
				l := f.get(t, "f").Config.Layers[1]
				flip(t, filepath.Join(f.blobs.Dir(), "blobs", "sha256", lambdahost.CodeAddress(l.SealedWith, l.Digest).Hex()), 100)
			},
			want: []string{arn("f", "$LATEST") + ": layer " + goneARN + ":1: code"},
		},
		{
			name: "layer-version-record-deleted",
			damage: func(t *testing.T, f *fixture) {
				deleteRecords(t, f, "layer-version", func(key string) bool { return strings.HasPrefix(key, "000000000000/us-east-1/deps/") })
			},
			want: []string{
				depsARN + ":1: has a layer policy record but no layer version",
				"layer versions of 000000000000/us-east-1 store nothing, but the code storage quota counts",
			},
		},
		{
			name: "layer-counter-deleted",
			damage: func(t *testing.T, f *fixture) {
				deleteRecords(t, f, "layer", func(key string) bool { return key == "000000000000/us-east-1/deps" })
			},
			want: []string{depsARN + ":1: has no layer record", depsARN + ":2: has no layer record"},
		},
		{
			name: "layer-counter-behind",
			damage: func(t *testing.T, f *fixture) {
				mustUpdate(t, f, func(tx lambdahost.Tx) error {
					return tx.PutRecord(f.ctx, "layer", "000000000000/us-east-1/deps", []byte(`{"lastVersion":1}`))
				})
			},
			want: []string{depsARN + ":2: is past its layer's last version number, 1"},
		},
		{
			name: "layer-usage-wrong",
			damage: func(t *testing.T, f *fixture) {
				mustUpdate(t, f, func(tx lambdahost.Tx) error {
					return tx.PutRecord(f.ctx, "layer-usage", "000000000000/us-east-1", []byte(`{"bytes":1}`))
				})
			},
			want: []string{"layer versions of 000000000000/us-east-1 store", "but the code storage quota counts 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLayerCheckFixture(t)
			tt.damage(t, f)
			rep := checkOf(t, f)
			var lines []string
			for _, p := range rep.Problems {
				lines = append(lines, p.String())
			}
			all := strings.Join(lines, "\n")
			if rep.Intact() {
				t.Fatal("Check found nothing")
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems do not mention %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestCheckLayerOrphans: once nothing uses a layer's code, Check lists it
// as an orphan and garbage collection deletes it.
func TestCheckLayerOrphans(t *testing.T) {
	now := time.Now()
	f := newFixture(t, func(s *control.Service) { s.Now = func() time.Time { return now }; s.InlineCodeMax = -1 })
	lv := f.publish(t, "deps", "layer code")
	f.create(t, "f", "fn")
	if _, err := f.setLayers(t, "f", depsARN+":1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteLayerVersion(f.ctx, "deps", 1); err != nil {
		t.Fatal(err)
	}
	stored := storedAt(lv.Code)
	orphaned := func() bool {
		t.Helper()
		rep := checkOf(t, f)
		if !rep.Intact() {
			t.Fatal(rep.Problems)
		}
		return slices.ContainsFunc(rep.Orphans, func(o control.Orphan) bool { return o.Address == stored })
	}
	if orphaned() {
		t.Error("the code of a deleted layer version that f uses is an orphan")
	}
	if _, err := f.setLayers(t, "f"); err != nil {
		t.Fatal(err)
	}
	if !orphaned() {
		t.Error("the code of a layer nothing uses is no orphan")
	}
	now = now.Add(2 * time.Hour)
	if _, err := f.svc.CollectGarbage(f.ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if orphaned() {
		t.Error("garbage collection kept the orphaned layer code")
	}
}

func deleteRecords(t *testing.T, f *fixture, kind string, match func(key string) bool) {
	t.Helper()
	mustUpdate(t, f, func(tx lambdahost.Tx) error {
		recs, err := tx.ListRecords(f.ctx, kind, "", "", 0)
		if err != nil {
			return err
		}
		n := 0
		for _, r := range recs {
			if match(r.Key) {
				n++
				if err := tx.DeleteRecord(f.ctx, kind, r.Key); err != nil {
					return err
				}
			}
		}
		if n == 0 {
			t.Fatalf("no %s record matched", kind)
		}
		return nil
	})
}

package control_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/kms"
)

// checkFixture holds functions whose code is stored every way: "big" in
// the blob store, "small" inline, version 1 of "big" sharing its code, an
// alias on it, and "keyed" sealed under a customer key.
type checkFixture struct {
	*fixture
	now time.Time
}

func newCheckFixture(t *testing.T) *checkFixture {
	t.Helper()
	c := &checkFixture{now: time.Now()}
	c.fixture = newFixture(t, func(s *control.Service) { s.Now = func() time.Time { return c.now } })
	big := make([]byte, 3*lambdahost.SealedChunkSize)
	rand.Read(big)
	if _, err := c.createWith(t, "big", storedZip(t, string(big)), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.PublishVersion(c.ctx, &control.PublishVersionInput{FunctionName: "big"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.CreateAlias(c.ctx, &control.AliasInput{FunctionName: "big", Name: "live", FunctionVersion: ptr("1")}); err != nil {
		t.Fatal(err)
	}
	c.create(t, "small", "small and inline")
	if _, err := c.createWith(t, "keyed", storedZip(t, "keyed"), c.newKey(t)); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *checkFixture) check(t *testing.T, svc *control.Service) *control.CheckReport {
	t.Helper()
	if svc == nil {
		svc = c.svc
	}
	rep, err := svc.Check(c.ctx, control.CheckOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// blobPath is the file of the code of function name's $LATEST.
func (c *checkFixture) blobPath(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(c.blobs.Dir(), "blobs", "sha256", storedAt(c.get(t, name).Code).Hex())
}

// arn is the qualified ARN of a version or alias of the fixture's account.
func arn(name, qualifier string) string {
	return lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: name}.QualifiedARN(qualifier)
}

func TestCheckIntact(t *testing.T) {
	c := newCheckFixture(t)
	rep := c.check(t, nil)
	if !rep.Intact() {
		t.Fatalf("Check of an intact store: %v", rep.Problems)
	}
	if rep.Functions != 3 || rep.Versions != 4 || rep.Aliases != 1 || rep.Packages != 3 || rep.Unopened != 0 || len(rep.Orphans) != 0 {
		t.Errorf("Check counted %d functions, %d versions, %d aliases, %d packages, %d unopened, %d orphans; want 3, 4, 1, 3, 0, 0",
			rep.Functions, rep.Versions, rep.Aliases, rep.Packages, rep.Unopened, len(rep.Orphans))
	}

	t.Run("without-master-key", func(t *testing.T) {
		svc := control.New(c.store, c.blobs)
		rep := c.check(t, svc)
		if !rep.Intact() || rep.Unopened != 3 {
			t.Errorf("Check without a master key: problems %v, %d unopened; want none, 3", rep.Problems, rep.Unopened)
		}
	})

	t.Run("code-never-stored", func(t *testing.T) {
		// A version whose key was missing reports that failure; its
		// code was never stored, which is no damage.
		if _, err := c.createWith(t, "nokey", storedZip(t, "nokey"), "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000"); err != nil {
			t.Fatal(err)
		}
		if rep := c.check(t, nil); !rep.Intact() {
			t.Errorf("Check with a version that failed for its key: %v", rep.Problems)
		}
		if err := c.svc.DeleteFunction(c.ctx, "nokey", ""); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCheckFindsDamage damages the store in one way per case and checks
// that Check names every resource affected.
func TestCheckFindsDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, c *checkFixture)
		other  bool // check with a service holding another master key
		want   []string
	}{
		{
			name:   "blob-deleted",
			damage: func(t *testing.T, c *checkFixture) { mustRemove(t, c.blobPath(t, "big")) },
			want:   []string{arn("big", "$LATEST") + ": code sha256:", "missing", arn("big", "1") + ": code"},
		},
		{
			name: "blob-byte-flipped",
			damage: func(t *testing.T, c *checkFixture) {
				flip(t, c.blobPath(t, "big"), lambdahost.SealedChunkSize+100)
			},
			want: []string{arn("big", "$LATEST") + ": code", "does not open with its key", arn("big", "1")},
		},
		{
			name: "blob-truncated",
			damage: func(t *testing.T, c *checkFixture) {
				p := c.blobPath(t, "big")
				if err := os.Chmod(p, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(p, 1000); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{arn("big", "$LATEST") + ": code", "damaged"},
		},
		{
			name: "inline-code-deleted",
			damage: func(t *testing.T, c *checkFixture) {
				mustUpdate(t, c.fixture, func(tx lambdahost.Tx) error {
					_, err := tx.DeleteUnreferencedCode(c.ctx, nil)
					return err
				})
			},
			want: []string{arn("small", "$LATEST") + ": code", "missing"},
		},
		{
			name: "version-of-alias-deleted",
			damage: func(t *testing.T, c *checkFixture) {
				mustUpdate(t, c.fixture, func(tx lambdahost.Tx) error {
					return tx.DeleteVersion(c.ctx, lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: "big"}, "1")
				})
			},
			want: []string{arn("big", "live") + ": points at version 1, which does not exist"},
		},
		{
			name: "latest-deleted",
			damage: func(t *testing.T, c *checkFixture) {
				mustUpdate(t, c.fixture, func(tx lambdahost.Tx) error {
					return tx.DeleteVersion(c.ctx, lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: "small"}, "$LATEST")
				})
			},
			want: []string{arn("small", "") + ": has no $LATEST version"},
		},
		{
			name: "kms-key-deleted",
			damage: func(t *testing.T, c *checkFixture) {
				keyARN := c.get(t, "keyed").Code.SealedWith
				mustUpdate(t, c.fixture, func(tx lambdahost.Tx) error {
					recs, err := tx.ListRecords(c.ctx, "kms-key", "", "", 0)
					if err != nil {
						return err
					}
					for _, r := range recs {
						if strings.HasSuffix(keyARN, r.Key[strings.LastIndexByte(r.Key, '/'):]) {
							return tx.DeleteRecord(c.ctx, "kms-key", r.Key)
						}
					}
					t.Fatal("no record of the key")
					return nil
				})
			},
			want: []string{arn("keyed", "$LATEST") + ": code", "which does not exist"},
		},
		{
			name:   "other-master-key",
			damage: func(t *testing.T, c *checkFixture) {},
			other:  true,
			want:   []string{"does not open with this master key", arn("big", "$LATEST"), arn("small", "$LATEST"), arn("keyed", "$LATEST")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheckFixture(t)
			tt.damage(t, c)
			var svc *control.Service
			if tt.other {
				svc = control.New(c.store, c.blobs)
				svc.Keys = kms.New(c.store, bytes.Repeat([]byte{2}, lambdahost.MasterKeySize))
			}
			rep := c.check(t, svc)
			if rep.Intact() {
				t.Fatal("Check found nothing")
			}
			var lines []string
			for _, p := range rep.Problems {
				lines = append(lines, p.String())
			}
			all := strings.Join(lines, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems do not mention %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestCheckOrphans: unreferenced code is reported, collectable once it is
// older than the grace period, and garbage collection deletes exactly
// what Check said it would.
func TestCheckOrphans(t *testing.T) {
	c := newCheckFixture(t)
	oldBig := storedAt(c.get(t, "big").Code)
	oldSmall := storedAt(c.get(t, "small").Code)
	if err := c.svc.DeleteFunction(c.ctx, "small", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.DeleteAlias(c.ctx, "big", "live"); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.DeleteFunction(c.ctx, "big", "1"); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 2*lambdahost.SealedChunkSize)
	rand.Read(big)
	if _, err := c.updateWith(t, "big", storedZip(t, string(big)), ""); err != nil {
		t.Fatal(err)
	}

	orphans := func(rep *control.CheckReport) (all, collectable []lambdahost.Digest) {
		for _, o := range rep.Orphans {
			all = append(all, o.Address)
			if o.Collectable {
				collectable = append(collectable, o.Address)
			}
		}
		return all, collectable
	}
	rep := c.check(t, nil)
	if !rep.Intact() {
		t.Fatal(rep.Problems)
	}
	all, collectable := orphans(rep)
	if !slices.Contains(all, oldBig) || !slices.Contains(all, oldSmall) || len(all) != 2 {
		t.Errorf("orphans %v, want the old blob %s and the inline code %s", all, oldBig, oldSmall)
	}
	if !slices.Equal(collectable, []lambdahost.Digest{oldSmall}) {
		t.Errorf("collectable within the grace period: %v, want only the inline code", collectable)
	}

	c.now = c.now.Add(2 * time.Hour)
	_, collectable = orphans(c.check(t, nil))
	if len(collectable) != 2 {
		t.Errorf("collectable after the grace period: %v, want both", collectable)
	}
	if n, err := c.svc.CollectGarbage(c.ctx, time.Hour); err != nil || n != 2 {
		t.Errorf("CollectGarbage = %d, %v; want the 2 Check predicted", n, err)
	}
	if rep := c.check(t, nil); !rep.Intact() || len(rep.Orphans) != 0 {
		t.Errorf("after collecting: problems %v, orphans %v", rep.Problems, rep.Orphans)
	}
}

func mustRemove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// flip inverts a bit of the byte at off in the read-only file at path.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func mustUpdate(t *testing.T, f *fixture, fn func(tx lambdahost.Tx) error) {
	t.Helper()
	if err := f.store.Update(f.ctx, fn); err != nil {
		t.Fatal(err)
	}
}

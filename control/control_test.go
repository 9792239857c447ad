package control_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/signer"
	"github.com/lambdahost/lambdahost/sqlite"
)

type fixture struct {
	svc    *control.Service
	keys   *kms.Service
	signer *signer.Service
	store  *sqlite.Store
	blobs  *disk.BlobStore
	ctx    context.Context
}

func newFixture(t testing.TB, configure func(*control.Service)) *fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := disk.NewBlobStore(filepath.Join(dir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	keys := kms.New(store, bytes.Repeat([]byte{1}, lambdahost.MasterKeySize))
	svc := control.New(store, blobs)
	sg := signer.New(store, blobs, bytes.Repeat([]byte{1}, lambdahost.MasterKeySize))
	// The signer keeps the control plane's clock, which tests may move.
	sg.Now = func() time.Time { return svc.Now() }
	svc.Keys, svc.Publishers = keys, sg
	svc.SettleSync = true
	// No renewal during a test: replay ends the node's registration to
	// play a restart (see fixture.replay).
	svc.NodeTTL = time.Hour
	if configure != nil {
		configure(svc)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := sg.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); store.Close() })
	ctx := lambdahost.WithCaller(t.Context(), lambdahost.Caller{AccessKey: "test", Account: "000000000000", Region: "us-east-1"})
	return &fixture{svc: svc, keys: keys, signer: sg, store: store, blobs: blobs, ctx: ctx}
}

func zipOf(t testing.TB, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("app.py")
	w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stage writes data into a new blob writer, as the HTTP layer does.
func (f *fixture) stage(t testing.TB, data []byte) lambdahost.BlobWriter {
	t.Helper()
	w, err := f.svc.StageCode(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Abort() })
	return w
}

func ptr[T any](v T) *T { return &v }

// storedAt is where code c is stored: sealed code at its CodeAddress.
func storedAt(c lambdahost.Code) lambdahost.Digest {
	return lambdahost.CodeAddress(c.SealedWith, c.Digest)
}

func (f *fixture) create(t testing.TB, name, content string) *control.FunctionConfig {
	t.Helper()
	out, err := f.svc.CreateFunction(f.ctx, &control.CreateFunctionInput{
		FunctionName: name,
		Config:       control.ConfigInput{Runtime: ptr("python3.12"), Role: ptr("arn:aws:iam::000000000000:role/r"), Handler: ptr("app.handler")},
		Code:         &control.CodeInput{Zip: f.stage(t, zipOf(t, content))},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) get(t testing.TB, name string) *control.FunctionInfo {
	t.Helper()
	out, err := f.svc.GetFunction(f.ctx, name, "")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) updateCode(name, content string, rev *string, publish bool, t testing.TB) (*control.FunctionConfig, error) {
	return f.svc.UpdateFunctionCode(f.ctx, &control.UpdateCodeInput{FunctionName: name, Code: control.CodeInput{Zip: f.stage(t, zipOf(t, content))}, RevisionID: rev, Publish: publish})
}

// TestStateSequence checks the states and RevisionId moves AWS makes.
func TestStateSequence(t *testing.T) {
	f := newFixture(t, nil)
	created := f.create(t, "f", "v1")
	if created.Status.State != lambdahost.StatePending || created.Status.StateReasonCode != "Creating" {
		t.Fatalf("create answered %+v, want Pending/Creating", created.Status)
	}
	active := f.get(t, "f")
	if active.Status != (lambdahost.Status{State: lambdahost.StateActive, LastUpdateStatus: lambdahost.UpdateSuccessful}) {
		t.Fatalf("after settling: %+v", active.Status)
	}
	if active.RevisionID == created.RevisionID {
		t.Error("settling did not issue a new RevisionId")
	}
	updated, err := f.updateCode("f", "v2", ptr(active.RevisionID), false, t)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Status.LastUpdateStatus != lambdahost.UpdateInProgress || updated.RevisionID == active.RevisionID {
		t.Fatalf("update answered %+v rev %s", updated.Status, updated.RevisionID)
	}
	// The RevisionId of the update's answer is stale once it settled.
	if _, err := f.updateCode("f", "v3", ptr(updated.RevisionID), false, t); lambdahost.ErrorTypeOf(err) != lambdahost.PreconditionFailedException {
		t.Fatalf("update with stale revision: %v, want PreconditionFailedException", err)
	}
	if got := f.get(t, "f"); got.Code.Digest != updated.Code.Digest {
		t.Error("a refused update changed the code")
	}
}

// TestConcurrentUpdatesOneWinner: writers racing with one RevisionId have
// exactly one winner and no lost update.
func TestConcurrentUpdatesOneWinner(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v0")
	rev := f.get(t, "f").RevisionID
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []*control.FunctionConfig
		losers  = map[lambdahost.ErrorType]int{}
	)
	for i := range n {
		w := f.stage(t, zipOf(t, "v"+string(rune('a'+i))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := f.svc.UpdateFunctionCode(f.ctx, &control.UpdateCodeInput{FunctionName: "f", Code: control.CodeInput{Zip: w}, RevisionID: &rev})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				losers[lambdahost.ErrorTypeOf(err)]++
				return
			}
			winners = append(winners, out)
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d winners, want 1 (losers %v)", len(winners), losers)
	}
	for typ := range losers {
		if typ != lambdahost.PreconditionFailedException && typ != lambdahost.ResourceConflictException {
			t.Errorf("loser error type %q", typ)
		}
	}
	if got := f.get(t, "f"); got.Code.Digest != winners[0].Code.Digest {
		t.Errorf("final code %s is not the winner's %s", got.Code.Digest, winners[0].Code.Digest)
	}
}

// TestStartSettlesUnsettled: a crash between the InProgress commit and
// settling leaves the version InProgress; the next Start settles it.
func TestStartSettlesUnsettled(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	id := lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: "f"}
	err := f.store.Update(f.ctx, func(tx lambdahost.Tx) error {
		v, err := tx.Version(f.ctx, id, lambdahost.VersionLatest)
		if err != nil {
			return err
		}
		v.Status.LastUpdateStatus = lambdahost.UpdateInProgress
		v.RevisionID = "left-by-crash"
		return tx.PutVersion(f.ctx, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	restarted := control.New(f.store, f.blobs)
	restarted.Keys, restarted.Publishers = f.svc.Keys, f.svc.Publishers
	restarted.SettleSync = true
	if err := restarted.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	got, err := restarted.GetFunction(f.ctx, "f", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.LastUpdateStatus != lambdahost.UpdateSuccessful || got.RevisionID == "left-by-crash" {
		t.Errorf("after restart: %+v rev %s", got.Status, got.RevisionID)
	}
}

type failingPreparer struct{}

func (failingPreparer) Prepare(context.Context, *lambdahost.Version) error {
	return &lambdahost.ReasonError{Code: "InvalidZipFileException", Message: "Failed to unzip archive."}
}

func TestFailedSettling(t *testing.T) {
	f := newFixture(t, func(s *control.Service) { s.Preparer = failingPreparer{} })
	f.create(t, "f", "v1")
	got := f.get(t, "f")
	want := lambdahost.Status{
		State: lambdahost.StateFailed, StateReason: "Failed to unzip archive.", StateReasonCode: "InvalidZipFileException",
		LastUpdateStatus: lambdahost.UpdateFailed, LastUpdateStatusReason: "Failed to unzip archive.", LastUpdateStatusReasonCode: "InvalidZipFileException",
	}
	if got.Status != want {
		t.Errorf("status = %+v, want %+v", got.Status, want)
	}
}

// TestPublishRules: a version is published only when $LATEST changed,
// and every code update counts as a change, even with the same bytes.
func TestPublishRules(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	publish := func() string {
		t.Helper()
		out, err := f.svc.PublishVersion(f.ctx, &control.PublishVersionInput{FunctionName: "f"})
		if err != nil {
			t.Fatal(err)
		}
		return out.Name
	}
	steps := []struct {
		name   string
		before func()
		want   string
	}{
		{name: "first-publish", want: "1"},
		{name: "unchanged", want: "1"},
		{name: "same-bytes-update", before: func() {
			if _, err := f.updateCode("f", "v1", nil, false, t); err != nil {
				t.Fatal(err)
			}
		}, want: "2"},
		{name: "config-update", before: func() {
			if _, err := f.svc.UpdateFunctionConfiguration(f.ctx, &control.UpdateConfigInput{FunctionName: "f", Config: control.ConfigInput{Timeout: ptr(10)}}); err != nil {
				t.Fatal(err)
			}
		}, want: "3"},
		{name: "unchanged-again", want: "3"},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		if got := publish(); got != s.want {
			t.Errorf("%s: published %s, want %s", s.name, got, s.want)
		}
	}
	// Publish=true with identical code makes a new version every time.
	out, err := f.updateCode("f", "v1", nil, true, t)
	if err != nil {
		t.Fatal(err)
	}
	if out.Name != "4" {
		t.Errorf("UpdateFunctionCode Publish answered version %s, want 4", out.Name)
	}
}

func TestCollectGarbage(t *testing.T) {
	now := time.Now()
	// Inline code is collected without a grace period; this test is about
	// the blob store's.
	f := newFixture(t, func(s *control.Service) { s.Now = func() time.Time { return now }; s.InlineCodeMax = -1 })
	f.create(t, "f", "old")
	old := storedAt(f.get(t, "f").Code)
	if _, err := f.updateCode("f", "new", nil, false, t); err != nil {
		t.Fatal(err)
	}
	current := storedAt(f.get(t, "f").Code)
	// Within the grace period nothing is deleted.
	if n, err := f.svc.CollectGarbage(f.ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("CollectGarbage(1h) = %d, %v; want 0", n, err)
	}
	now = now.Add(2 * time.Hour)
	if n, err := f.svc.CollectGarbage(f.ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("CollectGarbage = %d, %v; want 1", n, err)
	}
	if _, err := f.blobs.Stat(f.ctx, old); !errors.Is(err, lambdahost.ErrBlobNotFound) {
		t.Errorf("unreferenced blob still there: %v", err)
	}
	if _, err := f.blobs.Stat(f.ctx, current); err != nil {
		t.Errorf("referenced blob deleted: %v", err)
	}
}

// TestDryRunChangesNothing: DryRun validates, answers, and writes nothing.
func TestDryRunChangesNothing(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	before := f.get(t, "f")
	out, err := f.svc.UpdateFunctionCode(f.ctx, &control.UpdateCodeInput{FunctionName: "f", Code: control.CodeInput{Zip: f.stage(t, zipOf(t, "v2"))}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	after := f.get(t, "f")
	if after.RevisionID != before.RevisionID || after.Code.Digest != before.Code.Digest {
		t.Error("DryRun changed the function")
	}
	if out.Code.Digest == before.Code.Digest {
		t.Error("DryRun did not answer the would-be code")
	}
	if _, err := f.svc.OpenCode(f.ctx, out.Code); !errors.Is(err, lambdahost.ErrBlobNotFound) {
		t.Errorf("DryRun stored its code: OpenCode = %v", err)
	}
	// DryRun still checks preconditions.
	_, err = f.svc.UpdateFunctionCode(f.ctx, &control.UpdateCodeInput{FunctionName: "f", Code: control.CodeInput{Zip: f.stage(t, zipOf(t, "v2"))}, DryRun: true, RevisionID: ptr("stale")})
	if lambdahost.ErrorTypeOf(err) != lambdahost.PreconditionFailedException {
		t.Errorf("DryRun with stale revision: %v", err)
	}
}

func TestCodeStorageLimit(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	size := f.get(t, "f").Code.Size
	f.svc.CodeStorageLimit = size + size/2
	// Replacing $LATEST's code frees the old code: it fits.
	if _, err := f.updateCode("f", "v2", nil, false, t); err != nil {
		t.Fatalf("replacing code within quota: %v", err)
	}
	// Publishing keeps a second copy counted: it does not.
	if _, err := f.updateCode("f", "v3", nil, true, t); lambdahost.ErrorTypeOf(err) != lambdahost.CodeStorageExceededException {
		t.Fatalf("update over quota: %v, want CodeStorageExceededException", err)
	}
	if got := f.get(t, "f"); got.Code.Digest.Base64() == "" || got.Status.LastUpdateStatus != lambdahost.UpdateSuccessful {
		t.Errorf("refused update changed the function: %+v", got.Status)
	}
	settings, err := f.svc.GetAccountSettings(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if settings.Usage.FunctionCount != 1 || settings.Usage.TotalCodeSize != size {
		t.Errorf("usage = %+v, want 1 function of %d bytes", settings.Usage, size)
	}
}

// TestCollectGarbageRacingDedup: an update that re-commits content GC has
// found old and unreferenced must never lose its blob.
func TestCollectGarbageRacingDedup(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	f := newFixture(t, func(s *control.Service) {
		s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s.InlineCodeMax = -1
	})
	f.create(t, "f", "a")
	for round := range 30 {
		// Make "b" unreferenced and old, then race an update back to "b"
		// against a collection.
		content := "b"
		if _, err := f.updateCode("f", content, nil, false, t); err != nil {
			t.Fatal(err)
		}
		if _, err := f.updateCode("f", "c", nil, false, t); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		now = now.Add(2 * time.Hour)
		mu.Unlock()
		w := f.stage(t, zipOf(t, content))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := f.svc.CollectGarbage(f.ctx, time.Hour); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := f.svc.UpdateFunctionCode(f.ctx, &control.UpdateCodeInput{FunctionName: "f", Code: control.CodeInput{Zip: w}}); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		got := f.get(t, "f")
		if _, err := f.blobs.Stat(f.ctx, storedAt(got.Code)); err != nil {
			t.Fatalf("round %d: the function's code is gone: %v", round, err)
		}
	}
}

// TestCodeTiers: small packages are stored with the metadata, larger ones
// in the blob store; OpenCode reads both, and GC collects both.
func TestCodeTiers(t *testing.T) {
	f := newFixture(t, func(s *control.Service) { s.InlineCodeMax = 1024 })
	big := make([]byte, 4096)
	rand.Read(big) // incompressible, so the zip stays over the threshold
	bigZip := zipOf(t, string(big))
	tests := []struct {
		name    string
		data    []byte
		inBlobs bool
	}{
		{name: "small-inline", data: zipOf(t, "small")},
		{name: "large-in-blob-store", data: bigZip, inBlobs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.svc.CreateFunction(f.ctx, &control.CreateFunctionInput{
				FunctionName: tt.name,
				Config:       control.ConfigInput{Runtime: ptr("python3.12"), Role: ptr("arn:aws:iam::000000000000:role/r"), Handler: ptr("app.handler")},
				Code:         &control.CodeInput{Zip: f.stage(t, tt.data)},
			})
			if err != nil {
				t.Fatal(err)
			}
			d := out.Code
			_, statErr := f.blobs.Stat(f.ctx, storedAt(d))
			if inBlobs := statErr == nil; inBlobs != tt.inBlobs {
				t.Errorf("in blob store = %v, want %v", inBlobs, tt.inBlobs)
			}
			b, err := f.svc.OpenCode(f.ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got := make([]byte, b.Size())
			if _, err := b.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Error("OpenCode returned other bytes")
			}
			if err := f.svc.DeleteFunction(f.ctx, tt.name, ""); err != nil {
				t.Fatal(err)
			}
			f.svc.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			if _, err := f.svc.CollectGarbage(f.ctx, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.OpenCode(f.ctx, d); !errors.Is(err, lambdahost.ErrBlobNotFound) {
				t.Errorf("after deleting the function and collecting, OpenCode = %v", err)
			}
		})
	}
}

// bytesSource is a CodeSource serving fixed bytes, standing in for S3
// here; the s3 package is tested against a real S3 server.
type bytesSource []byte

func (b bytesSource) Fetch(_ context.Context, _ string, _ lambdahost.CodeLocation, w lambdahost.BlobWriter) (lambdahost.Code, error) {
	_, err := w.Write(b)
	return lambdahost.Code{PackageType: lambdahost.PackageZip}, err
}

// TestFetchedCode: fetched zips get the unzipped-size limit, not the
// 50 MB zipped limit of direct uploads, and share digest and tier with
// uploads of the same bytes.
func TestFetchedCode(t *testing.T) {
	big := make([]byte, lambdahost.MaxZippedSize+1024)
	rand.Read(big[:1<<20])
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	fw, _ := zw.CreateHeader(&zip.FileHeader{Name: "blob", Method: zip.Store})
	fw.Write(big)
	zw.Close()
	large := buf.Bytes()
	small := zipOf(t, "small")
	tests := []struct {
		name string
		data []byte
	}{
		{name: "larger-than-upload-limit", data: large},
		{name: "small-inline", data: small},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(s *control.Service) { s.S3 = bytesSource(tt.data) })
			f.create(t, "f", "v1")
			out, err := f.svc.UpdateFunctionCode(f.ctx, &control.UpdateCodeInput{FunctionName: "f", Code: control.CodeInput{S3Bucket: ptr("bucket"), S3Key: ptr("k.zip")}})
			if err != nil {
				t.Fatalf("update from S3: %v", err)
			}
			if want := lambdahost.Digest(sha256.Sum256(tt.data)); out.Code.Digest != want || out.Code.Size != int64(len(tt.data)) {
				t.Errorf("code = %s (%d bytes), want %s (%d bytes)", out.Code.Digest, out.Code.Size, want, len(tt.data))
			}
			b, err := f.svc.OpenCode(f.ctx, out.Code)
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
		})
	}
}

package signer

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/sqlite"
)

// fakeS3 holds objects in memory: the S3 CodeSource and ObjectStore of
// signing jobs.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string][]byte // bucket/key?version
	buckets map[string]bool
}

func newFakeS3(buckets ...string) *fakeS3 {
	f := &fakeS3{objects: map[string][]byte{}, buckets: map[string]bool{}}
	for _, b := range buckets {
		f.buckets[b] = true
	}
	return f
}

func (f *fakeS3) Fetch(ctx context.Context, account string, loc lambdahost.CodeLocation, w lambdahost.BlobWriter) (lambdahost.Code, error) {
	f.mu.Lock()
	b, ok := f.objects[loc.S3Bucket+"/"+loc.S3Key+"?"+loc.S3ObjectVersion]
	f.mu.Unlock()
	if !ok {
		return lambdahost.Code{}, lambdahost.Errorf(lambdahost.InvalidParameterValueException,
			"Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.")
	}
	_, err := w.Write(b)
	return lambdahost.Code{PackageType: lambdahost.PackageZip}, err
}

func (f *fakeS3) PutObject(ctx context.Context, account, bucket, key string, body io.ReadSeeker, size int64) error {
	if !f.buckets[bucket] {
		return lambdahost.Errorf(lambdahost.ValidationException,
			"Error occurred while PutObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("read %d bytes, size %d", len(b), size)
	}
	f.put(bucket, key, "", b)
	return nil
}

func (f *fakeS3) put(bucket, key, version string, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[bucket+"/"+key+"?"+version] = b
}

func (f *fakeS3) get(bucket, key string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[bucket+"/"+key+"?"]
	return b, ok
}

var signerClock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newSignerService(t *testing.T) (*Service, *fakeS3) {
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
	s3 := newFakeS3("dst")
	svc := New(store, blobs, bytes.Repeat([]byte{7}, lambdahost.MasterKeySize))
	svc.S3, svc.Objects = s3, s3
	svc.Now = func() time.Time { return signerClock }
	n := 0
	svc.NewID = func() string {
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return svc, s3
}

func callerCtx(t *testing.T, account string) context.Context {
	return lambdahost.WithCaller(t.Context(), lambdahost.Caller{AccessKey: "k" + account[:1], Account: account, Region: "us-east-1"})
}

func testZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("app.py")
	w.Write([]byte("def handler(e, c): return 1\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wantType(t *testing.T, err error, want lambdahost.ErrorType) {
	t.Helper()
	if got := lambdahost.ErrorTypeOf(err); got != want {
		t.Fatalf("error %v, want type %s", err, want)
	}
}

// TestPutSigningProfileValidation checks the refusals of PutSigningProfile.
func TestPutSigningProfileValidation(t *testing.T) {
	svc, _ := newSignerService(t)
	ctx := callerCtx(t, "000000000000")
	tests := []struct {
		name string
		in   PutSigningProfileInput
		want lambdahost.ErrorType
	}{
		{"short-name", PutSigningProfileInput{Name: "a", PlatformID: SigningPlatformID}, lambdahost.ValidationException},
		{"dash-in-name", PutSigningProfileInput{Name: "a-b", PlatformID: SigningPlatformID}, lambdahost.ValidationException},
		{"long-name", PutSigningProfileInput{Name: string(bytes.Repeat([]byte("a"), 65)), PlatformID: SigningPlatformID}, lambdahost.ValidationException},
		{"unknown-platform", PutSigningProfileInput{Name: "ok", PlatformID: "AWSIoTDeviceManagement-SHA256-ECDSA"}, lambdahost.ResourceNotFoundException},
		{"bad-validity-type", PutSigningProfileInput{Name: "ok", PlatformID: SigningPlatformID, Validity: &ValidityPeriod{Value: 1, Type: "WEEKS"}}, lambdahost.ValidationException},
		{"zero-validity", PutSigningProfileInput{Name: "ok", PlatformID: SigningPlatformID, Validity: &ValidityPeriod{Value: 0, Type: ValidityDays}}, lambdahost.ValidationException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.PutSigningProfile(ctx, tt.in)
			wantType(t, err, tt.want)
		})
	}
}

// TestSigningProfileLifecycle puts, reads, lists, cancels and revokes
// profiles, and checks what the verifier sees of them.
func TestSigningProfileLifecycle(t *testing.T) {
	svc, _ := newSignerService(t)
	ctx := callerCtx(t, "000000000000")
	p, err := svc.PutSigningProfile(ctx, PutSigningProfileInput{Name: "prof_a", PlatformID: SigningPlatformID, Tags: map[string]string{"team": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.ARN(), "arn:aws:signer:us-east-1:000000000000:/signing-profiles/prof_a"; got != want {
		t.Errorf("ARN=%s, want %s", got, want)
	}
	if len(p.Version) != 10 || p.VersionARN() != p.ARN()+"/"+p.Version {
		t.Errorf("Version=%q VersionARN=%q", p.Version, p.VersionARN())
	}
	if p.Validity != DefaultSignatureValidity || p.Status != ProfileActive {
		t.Errorf("Validity=%v Status=%s", p.Validity, p.Status)
	}
	_, err = svc.PutSigningProfile(ctx, PutSigningProfileInput{Name: "prof_a", PlatformID: SigningPlatformID})
	wantType(t, err, lambdahost.ValidationException)

	got, err := svc.GetSigningProfile(ctx, "prof_a", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != p.Version || got.Tags["team"] != "x" {
		t.Errorf("GetSigningProfile=%+v", got)
	}
	if _, err := svc.PutSigningProfile(ctx, PutSigningProfileInput{Name: "prof_b", PlatformID: SigningPlatformID}); err != nil {
		t.Fatal(err)
	}
	if err := svc.CancelSigningProfile(ctx, "prof_b"); err != nil {
		t.Fatal(err)
	}
	list := func(in ListSigningProfilesInput) []string {
		t.Helper()
		ps, _, err := svc.ListSigningProfiles(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range ps {
			names = append(names, p.Name+":"+p.Status)
		}
		return names
	}
	if got := fmt.Sprint(list(ListSigningProfilesInput{})); got != "[prof_a:Active]" {
		t.Errorf("list=%s", got)
	}
	if got := fmt.Sprint(list(ListSigningProfilesInput{IncludeCanceled: true})); got != "[prof_a:Active prof_b:Canceled]" {
		t.Errorf("list includeCanceled=%s", got)
	}
	ps, next, err := svc.ListSigningProfiles(ctx, ListSigningProfilesInput{IncludeCanceled: true, MaxResults: 1})
	if err != nil || len(ps) != 1 || next != "prof_a" {
		t.Fatalf("page 1: %d profiles, next %q, %v", len(ps), next, err)
	}
	if got := fmt.Sprint(list(ListSigningProfilesInput{IncludeCanceled: true, NextToken: next})); got != "[prof_b:Canceled]" {
		t.Errorf("page 2=%s", got)
	}

	// Canceled: still a publisher, whose earlier signatures stay valid.
	b, err := svc.GetSigningProfile(ctx, "prof_b", "")
	if err != nil {
		t.Fatal(err)
	}
	pub := publisherOf(t, svc, b.VersionARN())
	if pub.Status != ProfileCanceled || !pub.RevokedFrom.IsZero() || !pub.CanceledAt.Equal(signerClock) {
		t.Errorf("canceled publisher=%+v", pub)
	}

	// Revoked: signatures from the effective time on are revoked.
	effective := signerClock.Add(-time.Hour)
	err = svc.RevokeSigningProfile(ctx, "prof_a", "0000000000", "lost", effective)
	wantType(t, err, lambdahost.ResourceNotFoundException)
	if err := svc.RevokeSigningProfile(ctx, "prof_a", p.Version, "lost", effective); err != nil {
		t.Fatal(err)
	}
	err = svc.RevokeSigningProfile(ctx, "prof_a", p.Version, "lost", effective)
	wantType(t, err, lambdahost.ValidationException)
	pub = publisherOf(t, svc, p.VersionARN())
	if pub.Status != ProfileRevoked || !pub.RevokedFrom.Equal(effective) || pub.Key == nil {
		t.Errorf("revoked publisher=%+v", pub)
	}
	got, _ = svc.GetSigningProfile(ctx, "prof_a", "")
	if got.Revocation == nil || got.Revocation.RevokedBy != "arn:aws:iam::000000000000:user/k0" {
		t.Errorf("revocation=%+v", got.Revocation)
	}

	err = svc.store.View(ctx, func(tx lambdahost.Tx) error {
		_, err := svc.Publisher(ctx, tx, p.ARN()+"/zzzzzzzzzz")
		return err
	})
	if !errors.Is(err, lambdahost.ErrNotFound) {
		t.Errorf("unknown version: %v, want ErrNotFound", err)
	}
}

func publisherOf(t *testing.T, svc *Service, arn string) *lambdahost.Publisher {
	t.Helper()
	var pub *lambdahost.Publisher
	err := svc.store.View(t.Context(), func(tx lambdahost.Tx) error {
		var err error
		pub, err = svc.Publisher(t.Context(), tx, arn)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func revoked(t *testing.T, svc *Service, jobARN string) bool {
	t.Helper()
	var r bool
	err := svc.store.View(t.Context(), func(tx lambdahost.Tx) error {
		var err error
		r, err = svc.SignatureRevoked(t.Context(), tx, jobARN)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSigningJob signs an S3 object, checks the signed zip, fails jobs
// for a missing source, a signed source, a missing bucket and a canceled
// profile, and revokes the signature.
func TestSigningJob(t *testing.T) {
	svc, s3 := newSignerService(t)
	ctx := callerCtx(t, "000000000000")
	p, err := svc.PutSigningProfile(ctx, PutSigningProfileInput{Name: "prof", PlatformID: SigningPlatformID, Validity: &ValidityPeriod{Value: 2, Type: ValidityYears}})
	if err != nil {
		t.Fatal(err)
	}
	code := testZip(t)
	s3.put("src", "app.zip", "v1", code)
	start := func(token, key, dst string) *SigningJob {
		t.Helper()
		j, err := svc.StartSigningJob(ctx, StartSigningJobInput{
			Source: S3Object{Bucket: "src", Key: key, Version: "v1"}, DestinationBucket: dst, DestinationPrefix: "signed/",
			ProfileName: "prof", ClientRequestToken: token,
		})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	j := start("t1", "app.zip", "dst")
	if j.Status != JobSucceeded || j.SignedObject == nil || j.SignedObject.Key != "signed/"+j.ID+".zip" {
		t.Fatalf("job=%+v", j)
	}
	if want := signerClock.AddDate(2, 0, 0); !j.SignatureExpiresAt.Equal(want) {
		t.Errorf("SignatureExpiresAt=%v, want %v", j.SignatureExpiresAt, want)
	}
	signed, ok := s3.get("dst", j.SignedObject.Key)
	if !ok {
		t.Fatal("no signed object")
	}
	sc, err := lambdahost.ReadCodeSignature(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Signature.ProfileVersionARN != p.VersionARN() || sc.Signature.JobARN != j.ARN() {
		t.Errorf("signature=%+v", sc.Signature)
	}
	if err := sc.Verify(publisherOf(t, svc, p.VersionARN()).Key); err != nil {
		t.Error(err)
	}
	if !bytes.Equal(signed[:len(code)-2], code[:len(code)-2]) {
		t.Error("signing changed the zip's content")
	}

	// The same token answers the same job.
	if again := start("t1", "other.zip", "dst"); again.ID != j.ID {
		t.Errorf("same token: job %s, want %s", again.ID, j.ID)
	}
	got, err := svc.DescribeSigningJob(ctx, j.ID)
	if err != nil || got.Status != JobSucceeded {
		t.Fatalf("describe: %+v, %v", got, err)
	}

	failed := []struct {
		name, key, dst, reason string
	}{
		{"missing-source", "nope.zip", "dst", "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."},
		{"missing-bucket", "app.zip", "nobucket", "Error occurred while PutObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist"},
		{"already-signed", "signed.zip", "dst", "The source object is already signed."},
		{"not-a-zip", "text.zip", "dst", "The source object is not a valid zip file."},
	}
	s3.put("src", "signed.zip", "v1", signed)
	s3.put("src", "text.zip", "v1", []byte("hello"))
	for _, tt := range failed {
		t.Run(tt.name, func(t *testing.T) {
			j := start(tt.name, tt.key, tt.dst)
			if j.Status != JobFailed || j.StatusReason != tt.reason || j.SignedObject != nil {
				t.Errorf("job status=%s reason=%q", j.Status, j.StatusReason)
			}
		})
	}

	// Revocation of the signature.
	if revoked(t, svc, j.ARN()) {
		t.Error("revoked before RevokeSignature")
	}
	if err := svc.RevokeSignature(ctx, j.ID, "", "bad build"); err != nil {
		t.Fatal(err)
	}
	if !revoked(t, svc, j.ARN()) {
		t.Error("not revoked after RevokeSignature")
	}
	if revoked(t, svc, "arn:aws:signer:us-east-1:000000000000:/signing-jobs/offline") {
		t.Error("unknown job revoked")
	}
	wantType(t, svc.RevokeSignature(ctx, "nope", "", "x"), lambdahost.ResourceNotFoundException)
	jobs, _, err := svc.ListSigningJobs(ctx, ListSigningJobsInput{IsRevoked: ptrTo(true)})
	if err != nil || len(jobs) != 1 || jobs[0].ID != j.ID {
		t.Errorf("revoked jobs: %d, %v", len(jobs), err)
	}
	jobs, _, _ = svc.ListSigningJobs(ctx, ListSigningJobsInput{Status: JobFailed})
	if len(jobs) != len(failed) {
		t.Errorf("failed jobs: %d, want %d", len(jobs), len(failed))
	}

	// The exported key is the profile's.
	exp, err := svc.ExportProfileKey(ctx, p.VersionARN())
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Key.PublicKey.Equal(publisherOf(t, svc, p.VersionARN()).Key) || exp.Validity != p.Validity {
		t.Error("exported key does not match the profile's public key and validity")
	}
	_, err = svc.ExportProfileKey(ctx, p.ARN()+"/zzzzzzzzzz")
	if !errors.Is(err, lambdahost.ErrNotFound) {
		t.Errorf("export of an unknown version: %v, want ErrNotFound", err)
	}

	// A canceled profile signs no more, and its key is not exported.
	if err := svc.CancelSigningProfile(ctx, "prof"); err != nil {
		t.Fatal(err)
	}
	_, err = svc.StartSigningJob(ctx, StartSigningJobInput{
		Source: S3Object{Bucket: "src", Key: "app.zip", Version: "v1"}, DestinationBucket: "dst",
		ProfileName: "prof", ClientRequestToken: "after-cancel",
	})
	wantType(t, err, lambdahost.ValidationException)

	_, err = svc.ExportProfileKey(ctx, p.VersionARN())
	wantType(t, err, lambdahost.ValidationException)
	if k, err := svc.ExportSigningKey(ctx, p.VersionARN()); err != nil || !k.Equal(exp.Key) {
		t.Errorf("ExportSigningKey of a canceled profile: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestSignerAccountIsolation checks that one account sees nothing of
// another's profiles and jobs.
func TestSignerAccountIsolation(t *testing.T) {
	svc, s3 := newSignerService(t)
	a, b := callerCtx(t, "000000000000"), callerCtx(t, "111111111111")
	if _, err := svc.PutSigningProfile(a, PutSigningProfileInput{Name: "prof", PlatformID: SigningPlatformID}); err != nil {
		t.Fatal(err)
	}
	s3.put("src", "app.zip", "v1", testZip(t))
	j, err := svc.StartSigningJob(a, StartSigningJobInput{Source: S3Object{Bucket: "src", Key: "app.zip", Version: "v1"}, DestinationBucket: "dst", ProfileName: "prof", ClientRequestToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.GetSigningProfile(b, "prof", "")
	wantType(t, err, lambdahost.ResourceNotFoundException)
	_, err = svc.GetSigningProfile(b, "prof", "000000000000")
	wantType(t, err, lambdahost.AccessDeniedException)
	_, err = svc.DescribeSigningJob(b, j.ID)
	wantType(t, err, lambdahost.ResourceNotFoundException)
	wantType(t, svc.RevokeSignature(b, j.ID, "", "x"), lambdahost.ResourceNotFoundException)
	wantType(t, svc.RevokeSignature(b, j.ID, "000000000000", "x"), lambdahost.AccessDeniedException)
	wantType(t, svc.CancelSigningProfile(b, "prof"), lambdahost.ResourceNotFoundException)
	_, err = svc.StartSigningJob(b, StartSigningJobInput{Source: S3Object{Bucket: "src", Key: "app.zip", Version: "v1"}, DestinationBucket: "dst", ProfileName: "prof", ClientRequestToken: "t"})
	wantType(t, err, lambdahost.ResourceNotFoundException)
	ps, _, err := svc.ListSigningProfiles(b, ListSigningProfilesInput{IncludeCanceled: true})
	if err != nil || len(ps) != 0 {
		t.Errorf("b lists %d profiles, %v", len(ps), err)
	}
	jobs, _, err := svc.ListSigningJobs(b, ListSigningJobsInput{})
	if err != nil || len(jobs) != 0 {
		t.Errorf("b lists %d jobs, %v", len(jobs), err)
	}
	// B may reuse the name A used.
	if _, err := svc.PutSigningProfile(b, PutSigningProfileInput{Name: "prof", PlatformID: SigningPlatformID}); err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedSigningJob checks that a job a stopped process left
// InProgress is failed at the next start, and that finished jobs leave
// nothing behind to recover.
func TestInterruptedSigningJob(t *testing.T) {
	svc, s3 := newSignerService(t)
	ctx := callerCtx(t, "000000000000")
	if _, err := svc.PutSigningProfile(ctx, PutSigningProfileInput{Name: "prof", PlatformID: SigningPlatformID}); err != nil {
		t.Fatal(err)
	}
	s3.put("src", "app.zip", "v1", testZip(t))
	done, err := svc.StartSigningJob(ctx, StartSigningJobInput{Source: S3Object{Bucket: "src", Key: "app.zip", Version: "v1"}, DestinationBucket: "dst", ProfileName: "prof", ClientRequestToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	// What a process that stopped mid-job leaves: the job InProgress and
	// its running record.
	stuck := &SigningJob{Account: "000000000000", Region: "us-east-1", ID: "stuck", ProfileName: "prof", Status: JobInProgress, CreatedAt: signerClock}
	if err := svc.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := putJob(ctx, tx, stuck); err != nil {
			return err
		}
		return tx.CreateRecord(ctx, kindSigningJobRunning, jobKey(stuck.Account, stuck.Region, stuck.ID), []byte{})
	}); err != nil {
		t.Fatal(err)
	}
	if err := svc.failInterruptedSigningJobs(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := svc.DescribeSigningJob(ctx, "stuck")
	if err != nil || got.Status != JobFailed || got.StatusReason != interruptedReason {
		t.Fatalf("stuck job: %+v, %v", got, err)
	}
	if got, _ := svc.DescribeSigningJob(ctx, done.ID); got.Status != JobSucceeded {
		t.Errorf("finished job became %s", got.Status)
	}
	err = svc.store.View(ctx, func(tx lambdahost.Tx) error {
		recs, err := tx.ListRecords(ctx, kindSigningJobRunning, "", "", 0)
		if len(recs) != 0 {
			t.Errorf("%d running records left", len(recs))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

package control_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/kms"
)

// marker is plaintext inside test packages; it must never reach the disk.
const marker = "MARKER-4f1d2c9e-plaintext-must-not-be-stored"

// storedZip returns a zip holding content without compression, so that
// content appears as it is in the zip's bytes.
func storedZip(t testing.TB, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "app.py", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (f *fixture) createWith(t testing.TB, name string, data []byte, key string) (*control.FunctionConfig, error) {
	t.Helper()
	in := &control.CodeInput{Zip: f.stage(t, data)}
	if key != "" {
		in.SourceKMSKeyARN = &key
	}
	return f.svc.CreateFunction(f.ctx, &control.CreateFunctionInput{
		FunctionName: name,
		Config:       control.ConfigInput{Runtime: ptr("python3.12"), Role: ptr("arn:aws:iam::000000000000:role/r"), Handler: ptr("app.handler")},
		Code:         in,
	})
}

func (f *fixture) updateWith(t testing.TB, name string, data []byte, key string) (*control.FunctionConfig, error) {
	t.Helper()
	in := control.CodeInput{Zip: f.stage(t, data)}
	if key != "" {
		in.SourceKMSKeyARN = &key
	}
	return f.svc.UpdateFunctionCode(f.ctx, &control.UpdateCodeInput{FunctionName: name, Code: in})
}

func (f *fixture) newKey(t testing.TB) string {
	t.Helper()
	k, err := f.keys.CreateKey(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return k.ARN
}

// grepDir fails t if any file under dir contains s.
func grepDir(t *testing.T, dir, s string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s holds plaintext code", p)
		}
		return nil
	})
}

// TestCodeSealedAtRest: neither the inline tier (in SQLite) nor the blob
// store holds code in plaintext, with or without SourceKMSKeyArn, and
// OpenCode gives the exact package back.
func TestCodeSealedAtRest(t *testing.T) {
	for _, tt := range []struct {
		name   string
		inline int64
		key    bool
	}{
		{"inline-default-key", 0, false},
		{"blob-default-key", -1, false},
		{"inline-customer-key", 0, true},
		{"blob-customer-key", -1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(s *control.Service) { s.InlineCodeMax = tt.inline })
			key := ""
			if tt.key {
				key = f.newKey(t)
			}
			data := storedZip(t, marker)
			out, err := f.createWith(t, "f", data, key)
			if err != nil {
				t.Fatal(err)
			}
			if tt.key && out.Code.SealedWith != key {
				t.Errorf("SealedWith=%q, want the SourceKMSKeyArn %q", out.Code.SealedWith, key)
			}
			if !tt.key {
				// The default key is Lambda's AWS managed key, alias/aws/lambda.
				k, err := f.keys.DescribeKey(f.ctx, "alias/aws/lambda")
				if err != nil || out.Code.SealedWith != k.ARN || k.KeyManager != kms.KeyManagerAWS {
					t.Errorf("SealedWith=%q; alias/aws/lambda: %+v, %v", out.Code.SealedWith, k, err)
				}
			}
			b, err := f.svc.OpenCode(f.ctx, out.Code)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, b.Size())
			if _, err := b.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			b.Close()
			if !bytes.Equal(got, data) {
				t.Error("OpenCode returned other bytes")
			}
			f.store.Close() // flush the WAL into the database file
			grepDir(t, filepath.Dir(f.blobs.Dir()), marker)
		})
	}
}

// TestCodeDedupPerKey: the same zip twice under one key is one blob;
// under two keys, two.
func TestCodeDedupPerKey(t *testing.T) {
	f := newFixture(t, func(s *control.Service) { s.InlineCodeMax = -1 })
	k1, k2 := f.newKey(t), f.newKey(t)
	data := storedZip(t, marker)
	count := func() int {
		n := 0
		f.blobs.Walk(f.ctx, func(lambdahost.Digest, int64, time.Time) error { n++; return nil })
		return n
	}
	if _, err := f.createWith(t, "a", data, k1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.createWith(t, "b", data, k1); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("same zip under one key: %d blobs, want 1", n)
	}
	if _, err := f.createWith(t, "c", data, k2); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Errorf("same zip under two keys: %d blobs, want 2", n)
	}
	// GC keeps both: each is referenced under its key.
	f.svc.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if n, err := f.svc.CollectGarbage(f.ctx, time.Hour); err != nil || n != 0 {
		t.Errorf("CollectGarbage = %d, %v; want 0", n, err)
	}
	if err := f.svc.DeleteFunction(f.ctx, "c", ""); err != nil {
		t.Fatal(err)
	}
	if n, err := f.svc.CollectGarbage(f.ctx, time.Hour); err != nil || n != 1 {
		t.Errorf("after deleting c, CollectGarbage = %d, %v; want 1", n, err)
	}
	if n := count(); n != 1 {
		t.Errorf("after GC: %d blobs, want 1", n)
	}
}

// TestDisabledKey: with its key disabled, an update is accepted and
// settles Failed with DisabledKMSKey, the code cannot be read (Invoke's
// KMSDisabledException), and re-enabling the key lets updates succeed.
func TestDisabledKey(t *testing.T) {
	f := newFixture(t, nil)
	key := f.newKey(t)
	if _, err := f.createWith(t, "f", storedZip(t, "v1"), key); err != nil {
		t.Fatal(err)
	}
	if err := f.keys.DisableKey(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	out, err := f.updateWith(t, "f", storedZip(t, "v2"), key)
	if err != nil {
		t.Fatalf("UpdateFunctionCode with a disabled key: %v", err)
	}
	if out.Status.LastUpdateStatus != lambdahost.UpdateInProgress {
		t.Errorf("answer LastUpdateStatus=%s, want InProgress", out.Status.LastUpdateStatus)
	}
	got := f.get(t, "f")
	if got.Status.LastUpdateStatus != lambdahost.UpdateFailed || got.Status.LastUpdateStatusReasonCode != "DisabledKMSKey" {
		t.Errorf("after update: %+v, want Failed with DisabledKMSKey", got.Status)
	}
	if _, err := f.svc.OpenCode(f.ctx, got.Code); lambdahost.ErrorTypeOf(err) != lambdahost.KMSDisabledException {
		t.Errorf("OpenCode with the key disabled = %v, want KMSDisabledException", err)
	}
	// Creating a function with the disabled key leaves it Failed.
	if _, err := f.createWith(t, "g", storedZip(t, "g"), key); err != nil {
		t.Fatal(err)
	}
	if st := f.get(t, "g").Status; st.State != lambdahost.StateFailed || st.StateReasonCode != "DisabledKMSKey" {
		t.Errorf("created with a disabled key: %+v, want State Failed, DisabledKMSKey", st)
	}
	if err := f.keys.EnableKey(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := f.updateWith(t, "f", storedZip(t, "v3"), key); err != nil {
		t.Fatal(err)
	}
	got = f.get(t, "f")
	if got.Status.LastUpdateStatus != lambdahost.UpdateSuccessful {
		t.Errorf("after enabling the key: %+v, want Successful", got.Status)
	}
	if b, err := f.svc.OpenCode(f.ctx, got.Code); err != nil {
		t.Errorf("OpenCode after enabling: %v", err)
	} else {
		b.Close()
	}
}

// TestUnknownKey: a SourceKMSKeyArn naming no key of the caller's account
// and region settles Failed with KMSKeyNotFound; so does another
// account's key.
func TestUnknownKey(t *testing.T) {
	f := newFixture(t, nil)
	own := f.newKey(t)
	other := lambdahost.WithCaller(context.Background(), lambdahost.Caller{AccessKey: "other", Account: "111111111111", Region: "us-east-1"})
	theirs, err := f.keys.CreateKey(other, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000",
		theirs.ARN,
		own[:len("arn:aws:kms:")] + "eu-west-1" + own[len("arn:aws:kms:us-east-1"):],
	} {
		if _, err := f.keys.DescribeKey(f.ctx, key); lambdahost.ErrorTypeOf(err) != lambdahost.NotFoundException {
			t.Errorf("DescribeKey(%s) = %v, want NotFoundException", key, err)
		}
		f.svc.DeleteFunction(f.ctx, "f", "")
		if _, err := f.createWith(t, "f", storedZip(t, "x"), key); err != nil {
			t.Fatal(err)
		}
		if st := f.get(t, "f").Status; st.State != lambdahost.StateFailed || st.StateReasonCode != "KMSKeyNotFound" {
			t.Errorf("SourceKMSKeyArn %s: %+v, want State Failed, KMSKeyNotFound", key, st)
		}
	}
	// The default key is the service's: it cannot be disabled.
	if _, err := f.createWith(t, "d", storedZip(t, "d"), ""); err != nil {
		t.Fatal(err)
	}
	if err := f.keys.DisableKey(f.ctx, f.get(t, "d").Code.SealedWith); lambdahost.ErrorTypeOf(err) != lambdahost.KMSInvalidStateException {
		t.Errorf("DisableKey of the default key = %v, want KMSInvalidStateException", err)
	}
}

// TestPlainCodeFromEarlierVersions: code stored before sealing (a version
// without SealedWith, plaintext at its digest, inline or in the blob
// store) is still read, and garbage collection keeps it while referenced.
func TestPlainCodeFromEarlierVersions(t *testing.T) {
	f := newFixture(t, func(s *control.Service) { s.InlineCodeMax = -1 })
	f.create(t, "f", "new")
	big, small := storedZip(t, marker+" big"), storedZip(t, marker+" small")
	w, err := f.blobs.Create(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(big)
	dBig, err := w.Commit(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	dSmall := lambdahost.Digest(sha256.Sum256(small))
	err = f.store.Update(f.ctx, func(tx lambdahost.Tx) error {
		v, err := tx.Version(f.ctx, lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: "f"}, lambdahost.VersionLatest)
		if err != nil {
			return err
		}
		if err := tx.PutCode(f.ctx, dSmall, small); err != nil {
			return err
		}
		v.Code.Digest, v.Code.SealedWith = dBig, ""
		if err := tx.PutVersion(f.ctx, v); err != nil {
			return err
		}
		v.Name, v.Code.Digest = "1", dSmall
		return tx.PutVersion(f.ctx, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := f.svc.CollectGarbage(f.ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d    lambdahost.Digest
		want []byte
	}{{dBig, big}, {dSmall, small}} {
		b, err := f.svc.OpenCode(f.ctx, lambdahost.Code{Digest: c.d})
		if err != nil {
			t.Fatalf("OpenCode of plain code after GC: %v", err)
		}
		got := make([]byte, b.Size())
		b.ReadAt(got, 0)
		b.Close()
		if !bytes.Equal(got, c.want) {
			t.Error("OpenCode of plain code returned other bytes")
		}
	}
}

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/testserver"
	"github.com/lambdahost/lambdahost/postgres"
	"github.com/lambdahost/lambdahost/signer"
	"github.com/lambdahost/lambdahost/sqlite"
)

// newProfile makes a data dir as serve leaves it, with one signing
// profile, and returns the dir, the profile version ARN and the service.
func newProfile(t *testing.T, validity *signer.ValidityPeriod) (string, string, *signer.Service) {
	t.Helper()
	dir := t.TempDir()
	key, err := loadMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "lambdahost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := signer.New(store, nil, key)
	ctx := lambdahost.WithCaller(t.Context(), lambdahost.Caller{AccessKey: "test", Account: "000000000000", Region: "us-east-1"})
	p, err := svc.PutSigningProfile(ctx, signer.PutSigningProfileInput{Name: "prof", PlatformID: signer.SigningPlatformID, Validity: validity})
	if err != nil {
		t.Fatal(err)
	}
	return dir, p.VersionARN(), svc
}

func runCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

func writeZip(t *testing.T, path string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("bootstrap")
	w.Write([]byte("#!/bin/sh\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExportKeyAndSign exports a profile key from a data dir and signs a
// zip offline with it: the signature names the profile version and a job
// in its account and region, and verifies with the profile's key.
func TestExportKeyAndSign(t *testing.T) {
	dir, arn, svc := newProfile(t, &signer.ValidityPeriod{Value: 30, Type: signer.ValidityDays})
	pemFile := filepath.Join(t.TempDir(), "key.pem")
	if code, out := runCmd(t, "signer", "export-key", "--data-dir", dir, "--profile-version-arn", arn, "--out", pemFile); code != 0 {
		t.Fatalf("export-key: exit %d: %s", code, out)
	}
	st, err := os.Stat(pemFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	pemBytes, _ := os.ReadFile(pemFile)
	for _, h := range []string{"Profile-Version-Arn: " + arn, "Signature-Validity: 30 DAYS"} {
		if !strings.Contains(string(pemBytes), h) {
			t.Errorf("key file lacks %q:\n%s", h, pemBytes)
		}
	}

	in, signedPath := filepath.Join(t.TempDir(), "code.zip"), filepath.Join(t.TempDir(), "signed.zip")
	original := writeZip(t, in)
	if code, out := runCmd(t, "sign", "--key", pemFile, "--in", in, "--out", signedPath); code != 0 {
		t.Fatalf("sign: exit %d: %s", code, out)
	}
	signed, err := os.ReadFile(signedPath)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := lambdahost.ReadCodeSignature(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Signature.ProfileVersionARN != arn {
		t.Errorf("ProfileVersionARN=%s, want %s", sc.Signature.ProfileVersionARN, arn)
	}
	if !strings.HasPrefix(sc.Signature.JobARN, "arn:aws:signer:us-east-1:000000000000:/signing-jobs/") {
		t.Errorf("JobARN=%s", sc.Signature.JobARN)
	}
	if want := sc.Signature.SignedAt.AddDate(0, 0, 30); !sc.Signature.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt=%v, want %v", sc.Signature.ExpiresAt, want)
	}
	key, err := svc.ExportSigningKey(t.Context(), arn)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Verify(&key.PublicKey); err != nil {
		t.Error(err)
	}
	if !bytes.Equal(signed[:len(original)-2], original[:len(original)-2]) {
		t.Error("signing changed the zip's content")
	}

	t.Run("already-signed", func(t *testing.T) {
		if code, out := runCmd(t, "sign", "--key", pemFile, "--in", signedPath, "--out", filepath.Join(t.TempDir(), "x.zip")); code != 1 || !strings.Contains(out, "already signed") {
			t.Errorf("exit %d: %s", code, out)
		}
	})
	t.Run("not-a-key", func(t *testing.T) {
		if code, out := runCmd(t, "sign", "--key", in, "--in", in, "--out", filepath.Join(t.TempDir(), "x.zip")); code != 1 || !strings.Contains(out, "PEM") {
			t.Errorf("exit %d: %s", code, out)
		}
	})
	t.Run("existing-key-file", func(t *testing.T) {
		if code, out := runCmd(t, "signer", "export-key", "--data-dir", dir, "--profile-version-arn", arn, "--out", pemFile); code != 1 {
			t.Errorf("export over an existing file: exit %d: %s", code, out)
		}
	})
	t.Run("unknown-profile-version", func(t *testing.T) {
		if code, out := runCmd(t, "signer", "export-key", "--data-dir", dir, "--profile-version-arn", arn[:len(arn)-1]+"x", "--out", "-"); code != 1 || !strings.Contains(out, "not found") {
			t.Errorf("exit %d: %s", code, out)
		}
	})
	t.Run("no-data-dir", func(t *testing.T) {
		empty := t.TempDir()
		if code, _ := runCmd(t, "signer", "export-key", "--data-dir", empty, "--profile-version-arn", arn, "--out", "-"); code != 1 {
			t.Errorf("exit %d", code)
		}
		if _, err := os.Stat(filepath.Join(empty, "master.key")); err == nil {
			t.Error("export-key created a master key")
		}
	})
	t.Run("missing-flags", func(t *testing.T) {
		if code, _ := runCmd(t, "sign", "--key", pemFile); code != 2 {
			t.Errorf("sign without --in: exit %d", code)
		}
		if code, _ := runCmd(t, "signer", "export-key", "--data-dir", dir); code != 2 {
			t.Errorf("export-key without --profile-version-arn: exit %d", code)
		}
		if code, _ := runCmd(t, "signer"); code != 2 {
			t.Errorf("signer without a subcommand: exit %d", code)
		}
	})
}

// TestExportKeyCanceledProfile checks that a canceled profile's key is not
// exported: it signs no more.
func TestExportKeyCanceledProfile(t *testing.T) {
	dir, arn, svc := newProfile(t, nil)
	ctx := lambdahost.WithCaller(t.Context(), lambdahost.Caller{AccessKey: "test", Account: "000000000000", Region: "us-east-1"})
	if err := svc.CancelSigningProfile(ctx, "prof"); err != nil {
		t.Fatal(err)
	}
	if code, out := runCmd(t, "signer", "export-key", "--data-dir", dir, "--profile-version-arn", arn, "--out", "-"); code != 1 || !strings.Contains(out, "canceled") {
		t.Errorf("exit %d: %s", code, out)
	}
}

// TestExportKeyFromPostgres exports a profile key from the PostgreSQL
// database several nodes share (--database), with their master key, and
// the key is the profile's.
func TestExportKeyFromPostgres(t *testing.T) {
	dsn := testserver.StartPostgres(t).NewDatabase(t)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	masterKey, err := loadMasterKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	store, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := signer.New(store, nil, masterKey)
	ctx := lambdahost.WithCaller(t.Context(), lambdahost.Caller{AccessKey: "test", Account: "000000000000", Region: "us-east-1"})
	p, err := svc.PutSigningProfile(ctx, signer.PutSigningProfileInput{Name: "shared", PlatformID: signer.SigningPlatformID})
	if err != nil {
		t.Fatal(err)
	}
	arn := p.VersionARN()

	pemFile := filepath.Join(t.TempDir(), "key.pem")
	if code, out := runCmd(t, "signer", "export-key", "--database", dsn, "--master-key-file", keyFile, "--profile-version-arn", arn, "--out", pemFile); code != 0 {
		t.Fatalf("export-key --database: exit %d: %s", code, out)
	}
	b, err := os.ReadFile(pemFile)
	if err != nil {
		t.Fatal(err)
	}
	exported, err := decodeProfileKey(b)
	if err != nil {
		t.Fatal(err)
	}
	want, err := svc.ExportSigningKey(t.Context(), arn)
	if err != nil {
		t.Fatal(err)
	}
	if exported.ProfileVersionARN != arn || !exported.Key.Equal(want) {
		t.Errorf("exported key for %s is not the profile's", exported.ProfileVersionARN)
	}

	t.Run("not-postgres", func(t *testing.T) {
		if code, out := runCmd(t, "signer", "export-key", "--database", "mysql://x", "--master-key-file", keyFile, "--profile-version-arn", arn, "--out", filepath.Join(t.TempDir(), "k.pem")); code == 0 || !strings.Contains(out, "postgres://") {
			t.Errorf("exit %d: %s", code, out)
		}
	})
	t.Run("another-master-key", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "master.key")
		if _, err := loadMasterKey(other); err != nil {
			t.Fatal(err)
		}
		if code, _ := runCmd(t, "signer", "export-key", "--database", dsn, "--master-key-file", other, "--profile-version-arn", arn, "--out", filepath.Join(t.TempDir(), "k.pem")); code == 0 {
			t.Error("export-key with another master key succeeded")
		}
	})
}

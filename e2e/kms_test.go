//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kmsZip returns a Python function returning label, stored uncompressed
// so that label appears in the zip's bytes, padded with n pseudo-random
// bytes (over 128 KiB puts it in the blob store rather than SQLite).
func kmsZip(t testing.TB, label string, n int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "index.py", Method: zip.Store, Modified: zipTime})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "def handler(event, context):\n    return %q\n", label)
	if n > 0 {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "pad.bin", Method: zip.Store, Modified: zipTime})
		if err != nil {
			t.Fatal(err)
		}
		io.CopyN(w, rand.NewChaCha8([32]byte{byte(seed), 2}), int64(n))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// kms runs "aws kms ARGS..." and returns its JSON output, failing t on an error.
func kms(t testing.TB, cli *CLI, args ...string) map[string]any {
	t.Helper()
	r := cli.Run(t, append([]string{"kms"}, args...)...)
	if r.ExitCode != 0 {
		t.Fatalf("aws kms %s: %s", strings.Join(args, " "), r.Stderr)
	}
	return r.JSON
}

// grepData fails t if a file of the data directory holds s, leaving out the
// executor's working directories, where packages are unpacked to run.
func grepData(t testing.TB, dir, s string) (files int) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if fi.IsDir() && (p == filepath.Join(dir, "exec") || p == filepath.Join(dir, "sandbox") || p == filepath.Join(dir, "runtime")) {
			return filepath.SkipDir
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		files++
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s holds plaintext code", p)
		}
		return nil
	})
	return files
}

// countBlobs returns the number of blobs in the data directory's blob store.
func countBlobs(t testing.TB, dir string) int {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, "code", "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// settled polls GetFunctionConfiguration until name's state and last
// update are no longer in progress.
func settled(t testing.TB, d Driver, name string) *Result {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		r := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t)
		if r.Str("State") != "Pending" && r.Str("LastUpdateStatus") != "InProgress" {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not settle", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSourceKMSKeyArn drives the local key service with the aws CLI and
// functions with aws-sdk-go-v2: code under a customer key runs, no code is
// in plaintext in the data directory (with or without a key), the same
// zip under one key is stored once, a disabled key fails updates with
// DisabledKMSKey until it is enabled again, and another account can
// neither see nor use the key.
func TestSourceKMSKeyArn(t *testing.T) {
	t.Parallel()
	other := Credentials{AccessKeyID: "other", SecretAccessKey: "other", AccountID: "111111111111"}
	srv := Start(t, WithCredentials(WriteCredentialsFile(t, TestCredentials, other)))
	cli := NewCLI(t, srv.Endpoint, TestCredentials, "us-east-1")
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")

	created := kms(t, cli, "create-key", "--description", "code key")
	key := lookup(created, "KeyMetadata.Arn").(string)
	if !strings.HasPrefix(key, "arn:aws:kms:us-east-1:000000000000:key/") {
		t.Fatalf("CreateKey Arn = %q", key)
	}
	if got := lookup(kms(t, cli, "describe-key", "--key-id", key), "KeyMetadata.KeyState"); got != "Enabled" {
		t.Errorf("KeyState = %v, want Enabled", got)
	}

	const markerA, markerB = "MARKER-A-3b8f0e6d-never-on-disk", "MARKER-B-9a41c2f7-never-on-disk"
	zipA := kmsZip(t, markerA, 200<<10, 1)
	create := func(name string, zip []byte, key string) *Result {
		t.Helper()
		code := Params{"ZipFile": zip}
		if key != "" {
			code["SourceKMSKeyArn"] = key
		}
		p := createParams(name, zip)
		p["Code"] = code
		return d.Call(t, "CreateFunction", p)
	}
	invoke := func(name, want string) {
		t.Helper()
		r := d.Call(t, "Invoke", Params{"FunctionName": name}).OK(t)
		if !bytes.Contains(r.Payload, []byte(want)) {
			t.Errorf("Invoke %s = %s, want %q", name, r.Payload, want)
		}
	}
	create("enc", zipA, key).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "enc"})
	r := d.Call(t, "GetFunction", Params{"FunctionName": "enc"}).OK(t)
	wantStr(t, r, "Code.SourceKMSKeyArn", key)
	// The download URL answers the exact zip, decrypted.
	if got := download(t, r.Str("Code.Location")); !bytes.Equal(got, zipA) {
		t.Error("Code.Location answered other bytes than the zip uploaded")
	}
	invoke("enc", markerA)
	// Without a key, the account's service-managed key seals the code.
	create("plain", kmsZip(t, markerB, 0, 2), "").OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "plain"})
	invoke("plain", markerB)
	for _, m := range []string{markerA, markerB} {
		if n := grepData(t, srv.DataDir, m); n == 0 {
			t.Fatal("no files in the data directory")
		}
	}

	// The same zip under the same key is stored once.
	blobs := countBlobs(t, srv.DataDir)
	create("enc2", zipA, key).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "enc2"})
	if n := countBlobs(t, srv.DataDir); n != blobs {
		t.Errorf("same zip under the same key: %d blobs, want %d", n, blobs)
	}
	// Under another key (the default one), it is stored again.
	create("enc3", zipA, "").OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "enc3"})
	if n := countBlobs(t, srv.DataDir); n != blobs+1 {
		t.Errorf("same zip under another key: %d blobs, want %d", n, blobs+1)
	}

	// A function never invoked yet, for a cold start with the key disabled.
	create("cold", kmsZip(t, "cold", 0, 5), key).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "cold"})

	// A disabled key fails updates with DisabledKMSKey.
	kms(t, cli, "disable-key", "--key-id", key)
	if got := lookup(kms(t, cli, "describe-key", "--key-id", key), "KeyMetadata.KeyState"); got != "Disabled" {
		t.Errorf("KeyState = %v, want Disabled", got)
	}
	zipC := kmsZip(t, "v3", 0, 3)
	r = d.Call(t, "UpdateFunctionCode", Params{"FunctionName": "enc", "ZipFile": zipC, "SourceKMSKeyArn": key}).OK(t)
	wantStr(t, r, "LastUpdateStatus", "InProgress")
	r = settled(t, d, "enc")
	wantStr(t, r, "LastUpdateStatus", "Failed")
	wantStr(t, r, "LastUpdateStatusReasonCode", "DisabledKMSKey")
	// A cold start answers Lambda's KMSDisabledException.
	d.Call(t, "Invoke", Params{"FunctionName": "cold"}).WantError(t, 502, "KMSDisabledException", "")
	// Enabled again, the update goes through.
	kms(t, cli, "enable-key", "--key-id", key)
	invoke("cold", "cold")
	d.Call(t, "UpdateFunctionCode", Params{"FunctionName": "enc", "ZipFile": zipC, "SourceKMSKeyArn": key}).OK(t)
	mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": "enc"})
	invoke("enc", "v3")

	// Another account neither sees the key nor can use it.
	cliB := NewCLI(t, srv.Endpoint, other, "us-east-1")
	out := cliB.Run(t, "kms", "describe-key", "--key-id", key)
	if out.ExitCode == 0 || !strings.Contains(out.Stderr, "(NotFoundException)") || !strings.Contains(out.Stderr, "Key '"+key+"' does not exist") {
		t.Errorf("other account's DescribeKey: exit %d, %s", out.ExitCode, out.Stderr)
	}
	if keys := cliB.Run(t, "kms", "list-keys").JSON["Keys"].([]any); len(keys) != 0 {
		t.Errorf("other account's ListKeys = %v, want none", keys)
	}
	dB := NewDriver(t, SDKDriver, srv, other, "us-east-1")
	p := createParams("stolen", kmsZip(t, "x", 0, 4))
	p["Code"] = Params{"ZipFile": kmsZip(t, "x", 0, 4), "SourceKMSKeyArn": key}
	dB.Call(t, "CreateFunction", p).OK(t)
	r = settled(t, dB, "stolen")
	wantStr(t, r, "State", "Failed")
	wantStr(t, r, "StateReasonCode", "KMSKeyNotFound")
}

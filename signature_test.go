package lambdahost_test

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
)

func signZip(t testing.TB, z []byte, sig lambdahost.CodeSignature, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := lambdahost.SignZip(bytes.NewReader(z), int64(len(z)), &out, sig, key); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func readSig(z []byte) (*lambdahost.SignedCode, error) {
	return lambdahost.ReadCodeSignature(bytes.NewReader(z), int64(len(z)))
}

func TestCodeSignature(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	now := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
	sig := lambdahost.CodeSignature{
		ProfileVersionARN: "arn:aws:signer:us-east-1:000000000000:/signing-profiles/p/abcdefghij",
		JobARN:            "arn:aws:signer:us-east-1:000000000000:/signing-jobs/0b0f3c1e-1111-2222-3333-444455556666",
		SignedAt:          now,
		ExpiresAt:         now.AddDate(0, 135, 0),
	}
	plain := makeZip(t, map[string][]byte{"bootstrap": []byte("#!/bin/sh\necho code-v1\n"), "lib/a.txt": []byte("aaaa")})
	signed := signZip(t, plain, sig, key)

	t.Run("Verifies", func(t *testing.T) {
		sc, err := readSig(signed)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Signature != sig {
			t.Fatalf("signature read as %+v, want %+v", sc.Signature, sig)
		}
		if err := sc.Verify(&key.PublicKey); err != nil {
			t.Fatal(err)
		}
		if err := sc.Verify(&other.PublicKey); !errors.Is(err, lambdahost.ErrBadSignature) {
			t.Fatalf("another key: %v, want ErrBadSignature", err)
		}
	})
	t.Run("FilesUnchanged", func(t *testing.T) {
		zr, err := zip.NewReader(bytes.NewReader(signed), int64(len(signed)))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != 2 {
			t.Fatalf("%d files", len(zr.File))
		}
		f, _ := zr.File[0].Open()
		b, _ := io.ReadAll(f)
		if zr.File[0].Name == "bootstrap" && string(b) != "#!/bin/sh\necho code-v1\n" {
			t.Fatalf("bootstrap = %q", b)
		}
		if _, err := lambdahost.InspectZip(bytes.NewReader(signed), int64(len(signed))); err != nil {
			t.Fatalf("InspectZip of a signed zip: %v", err)
		}
	})
	t.Run("ResignReplaces", func(t *testing.T) {
		sig2 := sig
		sig2.JobARN += "-2"
		again := signZip(t, signed, sig2, key)
		sc, err := readSig(again)
		if err != nil || sc.Signature.JobARN != sig2.JobARN || sc.Verify(&key.PublicKey) != nil {
			t.Fatalf("re-signed: %+v, %v", sc, err)
		}
		if !bytes.Equal(again[:len(plain)-2], signed[:len(plain)-2]) {
			t.Fatal("re-signing changed the content")
		}
	})

	tamper := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 0x20
		return b
	}
	idx := 45 // inside the first file: local header (30 bytes), name, data
	for _, tc := range []struct {
		name string
		z    []byte
		want error
	}{
		{"Unsigned", plain, lambdahost.ErrNotSigned},
		{"OtherComment", withComment(t, plain, "built by ci"), lambdahost.ErrNotSigned},
		{"NotAZip", []byte("hello, this is not a zip file at all"), lambdahost.ErrNotSigned},
		{"Empty", nil, lambdahost.ErrNotSigned},
		{"ContentTampered", tamper(signed, idx), lambdahost.ErrBadSignature},
		{"CentralDirectoryTampered", tamper(signed, len(plain)-30), lambdahost.ErrBadSignature},
		{"BlockTampered", tamper(signed, len(signed)-10), lambdahost.ErrBadSignature},
		{"FieldsSwapped", resignedFields(t, signed), lambdahost.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := readSig(tc.z)
			if err == nil {
				err = sc.Verify(&key.PublicKey)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// withComment returns z with its zip comment set to c.
func withComment(t testing.TB, z []byte, c string) []byte {
	t.Helper()
	out := bytes.Clone(z[:len(z)-2])
	return append(append(out, byte(len(c)), byte(len(c)>>8)), c...)
}

// resignedFields rewrites the job ARN in signed's signature block, keeping
// the genuine signature bytes: the fields are covered by the signature.
func resignedFields(t testing.TB, signed []byte) []byte {
	t.Helper()
	const magic = "lambdahost-code-signature-v1:"
	i := bytes.LastIndex(signed, []byte(magic))
	raw, err := base64.StdEncoding.DecodeString(string(signed[i+len(magic):]))
	if err != nil {
		t.Fatal(err)
	}
	var blk map[string]any
	if err := json.Unmarshal(raw, &blk); err != nil {
		t.Fatal(err)
	}
	blk["jobArn"] = "arn:aws:signer:us-east-1:000000000000:/signing-jobs/forged"
	raw, _ = json.Marshal(blk)
	eocd := bytes.LastIndex(signed[:i], []byte("PK\x05\x06"))
	return withComment(t, signed[:eocd+22], magic+base64.StdEncoding.EncodeToString(raw))
}

func FuzzReadCodeSignature(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	plain := makeZip(f, map[string][]byte{"bootstrap": []byte("x")})
	sig := lambdahost.CodeSignature{ProfileVersionARN: "arn:aws:signer:us-east-1:000000000000:/signing-profiles/p/abcdefghij", JobARN: "j", SignedAt: time.Unix(1, 0), ExpiresAt: time.Unix(2, 0)}
	signed := signZip(f, plain, sig, key)
	f.Add(plain)
	f.Add(signed)
	f.Add(withComment(f, plain, "lambdahost-code-signature-v1:e30="))
	f.Fuzz(func(t *testing.T, z []byte) {
		sc, err := readSig(z)
		if err != nil {
			if !errors.Is(err, lambdahost.ErrNotSigned) && !errors.Is(err, lambdahost.ErrBadSignature) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		// Only the genuine signature over the genuine content verifies.
		if sc.Verify(&key.PublicKey) == nil && !bytes.HasPrefix(z, plain[:len(plain)-2]) {
			t.Fatalf("a changed package verified")
		}
	})
}

// BenchmarkVerifyCodeSignature measures what code signing adds to a
// deployment: reading the signature, hashing the package (SHA-384) and
// verifying the ECDSA P-384 signature.
func BenchmarkVerifyCodeSignature(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, size := range []int{50 << 10, 1 << 20, 10 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		plain := makeZip(b, map[string][]byte{"blob": data})
		signed := signZip(b, plain, lambdahost.CodeSignature{ProfileVersionARN: "p", JobARN: "j", SignedAt: time.Unix(1, 0), ExpiresAt: time.Unix(2, 0)}, key)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(signed)))
			for b.Loop() {
				sc, err := readSig(signed)
				if err != nil {
					b.Fatal(err)
				}
				if err := sc.Verify(&key.PublicKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

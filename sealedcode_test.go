package lambdahost_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost"
)

// memWriter is a BlobWriter in memory.
type memWriter struct{ bytes.Buffer }

func (m *memWriter) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m.Bytes()).ReadAt(p, off)
}
func (m *memWriter) Size() int64                                       { return int64(m.Len()) }
func (m *memWriter) Digest() lambdahost.Digest                         { return sha256.Sum256(m.Bytes()) }
func (m *memWriter) Commit(context.Context) (lambdahost.Digest, error) { return m.Digest(), nil }
func (m *memWriter) CommitAs(context.Context, lambdahost.Digest) error { return nil }
func (m *memWriter) Abort() error                                      { return nil }

func seal(t testing.TB, plain []byte) (sealed, key []byte) {
	t.Helper()
	var m memWriter
	w, err := lambdahost.NewSealedWriter(&m)
	if err != nil {
		t.Fatal(err)
	}
	// Uneven writes cross chunk boundaries.
	for p := plain; len(p) > 0; {
		k := min(len(p), 7001)
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if w.Size() != int64(len(plain)) || w.Digest() != sha256.Sum256(plain) {
		t.Fatalf("Size=%d Digest=%s, want the plaintext's", w.Size(), w.Digest())
	}
	back := make([]byte, len(plain))
	if _, err := w.ReadAt(back, 0); err != nil && len(plain) > 0 {
		t.Fatalf("ReadAt before Finish: %v", err)
	}
	if !bytes.Equal(back, plain) {
		t.Fatal("ReadAt before Finish differs from what was written")
	}
	if err := w.Finish(lambdahost.SealedTrailer{KeyARN: "arn:aws:kms:us-east-1:000000000000:key/k", WrappedKey: []byte("wrapped")}); err != nil {
		t.Fatal(err)
	}
	back = make([]byte, len(plain))
	if _, err := w.ReadAt(back, 0); err != nil && len(plain) > 0 {
		t.Fatalf("ReadAt after Finish: %v", err)
	}
	if !bytes.Equal(back, plain) {
		t.Fatal("ReadAt after Finish differs from what was written")
	}
	return m.Bytes(), w.DataKey()
}

func open(sealed, key []byte) ([]byte, error) {
	r := bytes.NewReader(sealed)
	tr, n, err := lambdahost.ReadSealedTrailer(r, int64(len(sealed)))
	if err != nil {
		return nil, err
	}
	if tr.KeyARN != "arn:aws:kms:us-east-1:000000000000:key/k" || string(tr.WrappedKey) != "wrapped" {
		return nil, errors.New("trailer differs")
	}
	sr, err := lambdahost.NewSealedReader(r, n, key)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.NewSectionReader(sr, 0, sr.Size()))
}

func TestSealedCode(t *testing.T) {
	const c = lambdahost.SealedChunkSize
	for _, size := range []int{0, 1, c - 1, c, c + 1, 3*c + 17} {
		plain := make([]byte, size)
		rand.Read(plain)
		sealed, key := seal(t, plain)
		got, err := open(sealed, key)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("size %d: round trip differs", size)
		}
		if size > 16 && bytes.Contains(sealed, plain[:16]) {
			t.Fatalf("size %d: plaintext in sealed bytes", size)
		}
	}
}

func TestSealedCodeRefused(t *testing.T) {
	const c = lambdahost.SealedChunkSize
	plain := make([]byte, 2*c+100)
	rand.Read(plain)
	sealed, key := seal(t, plain)
	trailer := len(sealed) - (2*c + 100 + 3*16)
	tests := []struct {
		name   string
		sealed func() []byte
		key    []byte
	}{
		{"tampered-first-chunk", func() []byte { b := bytes.Clone(sealed); b[10] ^= 1; return b }, key},
		{"tampered-last-chunk", func() []byte { b := bytes.Clone(sealed); b[2*(c+16)+5] ^= 1; return b }, key},
		{"wrong-key", func() []byte { return sealed }, make([]byte, 32)},
		{"truncated-at-chunk-boundary", func() []byte {
			// Keep two full chunks and the trailer: the second is not marked last.
			return append(bytes.Clone(sealed[:2*(c+16)]), sealed[len(sealed)-trailer:]...)
		}, key},
		{"last-chunk-dropped-bytes", func() []byte {
			return append(bytes.Clone(sealed[:2*(c+16)+50]), sealed[len(sealed)-trailer:]...)
		}, key},
		{"chunks-swapped", func() []byte {
			b := bytes.Clone(sealed)
			copy(b[:c+16], sealed[c+16:2*(c+16)])
			copy(b[c+16:2*(c+16)], sealed[:c+16])
			return b
		}, key},
		{"no-trailer", func() []byte { return sealed[:len(sealed)-trailer] }, key},
		{"empty", func() []byte { return nil }, key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := open(tt.sealed(), tt.key)
			if !errors.Is(err, lambdahost.ErrSealedCode) {
				t.Fatalf("err=%v, want ErrSealedCode", err)
			}
		})
	}
}

func TestCodeAddress(t *testing.T) {
	d := lambdahost.Digest(sha256.Sum256([]byte("zip")))
	a, b := "arn:aws:kms:us-east-1:000000000000:key/a", "arn:aws:kms:us-east-1:000000000000:key/b"
	// Computed twice from equal but separate inputs: deterministic.
	if again := lambdahost.CodeAddress(strings.Clone(a), lambdahost.Digest(sha256.Sum256([]byte("zip")))); again != lambdahost.CodeAddress(a, d) {
		t.Error("same key and digest: addresses differ")
	}
	if lambdahost.CodeAddress(a, d) == lambdahost.CodeAddress(b, d) || lambdahost.CodeAddress(a, d) == d {
		t.Error("two keys, or key and plain digest: same address")
	}
}

// FuzzSealedCode feeds arbitrary bytes, as a blob file on disk could hold,
// to the sealed code parser: it never panics, and opens nothing without
// the data key.
func FuzzSealedCode(f *testing.F) {
	sealed, _ := seal(f, []byte("package"))
	f.Add(sealed)
	f.Add([]byte("LHSC"))
	f.Add(append(make([]byte, 20), 0, 0, 0, 9, 'L', 'H', 'S', 'C'))
	key := make([]byte, 32)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		tr, n, err := lambdahost.ReadSealedTrailer(r, int64(len(b)))
		if err != nil {
			return
		}
		if n < 0 || n > int64(len(b)) || len(tr.KeyARN) > len(b) {
			t.Fatalf("chunks size %d of %d bytes", n, len(b))
		}
		sr, err := lambdahost.NewSealedReader(r, n, key)
		if err == nil {
			if _, err := io.ReadAll(io.NewSectionReader(sr, 0, sr.Size())); err == nil && sr.Size() > 0 {
				t.Fatal("opened with a zero key")
			}
		}
	})
}

// BenchmarkSealedCode measures sealing a 10 MiB package as it streams in
// (64 KiB writes) and reading it back, the work added to every upload and
// cold start.
func BenchmarkSealedCode(b *testing.B) {
	plain := make([]byte, 10<<20)
	rand.Read(plain)
	b.Run("seal", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			var m memWriter
			m.Grow(len(plain) + len(plain)/1000 + 4096)
			w, _ := lambdahost.NewSealedWriter(&m)
			for p := plain; len(p) > 0; p = p[min(len(p), 64<<10):] {
				w.Write(p[:min(len(p), 64<<10)])
			}
			w.Finish(lambdahost.SealedTrailer{KeyARN: "k", WrappedKey: []byte("w")})
		}
	})
	b.Run("open", func(b *testing.B) {
		sealed, key := seal(b, plain)
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			r := bytes.NewReader(sealed)
			_, n, _ := lambdahost.ReadSealedTrailer(r, int64(len(sealed)))
			sr, err := lambdahost.NewSealedReader(r, n, key)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, io.NewSectionReader(sr, 0, sr.Size()))
		}
	})
}

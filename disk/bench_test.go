package disk_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/lambdahost/lambdahost/disk"
)

// benchSizes are the blob sizes benchmarked: a small function, a typical
// one, and a large one.
var benchSizes = []struct {
	name string
	size int
}{
	{"50KiB", 50 << 10},
	{"1MiB", 1 << 20},
	{"10MiB", 10 << 20},
}

// benchChunk is the size of each Write, as io.Copy from a request body might.
const benchChunk = 64 << 10

// BenchmarkWriteCommit measures Create, Write in 64 KiB chunks and Commit
// of new content. Compare with BenchmarkFloor to see what the store adds to
// writing and fsyncing a file: hashing, the link and the directory fsync.
func BenchmarkWriteCommit(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			s, err := disk.NewBlobStore(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			content := benchContent(bs.size)
			b.SetBytes(int64(bs.size))
			var i uint64
			for b.Loop() {
				// Vary the content so that every Commit stores a new blob.
				i++
				binary.LittleEndian.PutUint64(content, i)
				w, err := s.Create(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				for off := 0; off < len(content); off += benchChunk {
					if _, err := w.Write(content[off:min(off+benchChunk, len(content))]); err != nil {
						b.Fatal(err)
					}
				}
				d, err := w.Commit(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Delete(b.Context(), d); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkFloor measures what BenchmarkWriteCommit cannot beat: writing
// the same bytes in the same chunks to a new file and fsyncing it.
func BenchmarkFloor(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			dir := b.TempDir()
			content := benchContent(bs.size)
			b.SetBytes(int64(bs.size))
			var i uint64
			for b.Loop() {
				i++
				binary.LittleEndian.PutUint64(content, i)
				path := filepath.Join(dir, fmt.Sprint(i))
				f, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				for off := 0; off < len(content); off += benchChunk {
					if _, err := f.Write(content[off:min(off+benchChunk, len(content))]); err != nil {
						b.Fatal(err)
					}
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := os.Remove(path); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

func benchContent(n int) []byte {
	p := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(p)
	return p
}

package lambdahost

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"
)

// Code at rest is envelope-encrypted: a random data key per upload
// encrypts the package, and a KMS key (the function's SourceKMSKeyArn or
// the account's service-managed default key) wraps the data key.
//
// The sealed format is a sequence of chunks followed by a trailer:
//
//	chunk*   AES-256-GCM of SealedChunkSize plaintext bytes (the last
//	         one shorter, possibly empty) and its 16-byte tag
//	trailer  "LHSC" version(1) keyARNLen(2) keyARN wrappedLen(2) wrapped
//	tail     trailerLen(4) "LHSC"
//
// Chunk i is sealed with the nonce i (big endian, 12 bytes) and the
// additional data "lambdahost sealed code v1" followed by 1 for the last
// chunk and 0 for the others, so reordering, dropping or truncating chunks
// fails to open. Because the trailer comes last, an upload is encrypted
// as it streams in, before the key that wraps its data key is known, and
// the chunks can be read back (ReadAt) for inspection before commit.
const SealedChunkSize = 64 << 10

const (
	sealedMagic    = "LHSC"
	sealedVersion  = 1
	sealedTagSize  = 16
	sealedTailSize = 8 // trailer length (4) and magic (4)
	sealedDataKey  = 32
	// sealedMaxTrailer bounds the trailer a reader accepts.
	sealedMaxTrailer = 4 << 10
)

var sealedAAD = []byte("lambdahost sealed code v1")

// ErrSealedCode means sealed code is malformed, tampered with, truncated,
// or does not open with the data key given.
var ErrSealedCode = errors.New("sealed code does not open")

// SealedTrailer says how to open sealed code: which KMS key wrapped the
// data key, and the wrapped data key.
type SealedTrailer struct {
	KeyARN     string
	WrappedKey []byte
}

// CodeAddress is where code with plaintext digest d sealed under the KMS
// key keyARN is stored: identical code under the same key has the same
// address (and is stored once); under two keys, two.
func CodeAddress(keyARN string, d Digest) Digest {
	h := sha256.New()
	io.WriteString(h, "lambdahost sealed code address v1\x00")
	io.WriteString(h, keyARN)
	h.Write([]byte{0})
	h.Write(d[:])
	var a Digest
	h.Sum(a[:0])
	return a
}

func chunkNonce(i int64) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n[4:], uint64(i))
	return n
}

func chunkAAD(last bool) []byte {
	a := make([]byte, len(sealedAAD)+1)
	copy(a, sealedAAD)
	if last {
		a[len(sealedAAD)] = 1
	}
	return a
}

// SealedWriter encrypts code as it is written into an underlying staged
// blob, under a random data key. It is a BlobWriter whose Size, Digest and
// ReadAt are those of the plaintext, so that the code can be inspected
// before it is committed. Commit is refused: the owner of the KMS key
// calls Finish with the trailer, then commits the underlying blob under
// CodeAddress.
type SealedWriter struct {
	w    BlobWriter
	key  []byte
	aead cipher.AEAD

	mu       sync.Mutex
	buf      []byte // plaintext of the chunk being filled
	ct       []byte // ciphertext buffer, reused
	chunks   int64  // full chunks written to w
	size     int64
	h        hash.Hash
	finished bool
	// hashing and sealing are the time spent hashing and encrypting what
	// was written, for DeployTiming.
	hashing, sealing time.Duration
}

var _ BlobWriter = (*SealedWriter)(nil)

// NewSealedWriter returns a writer that seals what it is given into w
// under a new random data key.
func NewSealedWriter(w BlobWriter) (*SealedWriter, error) {
	key := make([]byte, sealedDataKey)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("new data key: %w", err)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &SealedWriter{w: w, key: key, aead: aead, buf: make([]byte, 0, SealedChunkSize), h: sha256.New()}, nil
}

// DataKey returns the plaintext data key, for the KMS key to wrap.
func (s *SealedWriter) DataKey() []byte { return s.key }

// Underlying returns the blob that receives the sealed bytes.
func (s *SealedWriter) Underlying() BlobWriter { return s.w }

// Write encrypts p, chunk by chunk.
func (s *SealedWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return 0, errors.New("write sealed code: finished")
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), SealedChunkSize-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		t := time.Now()
		s.h.Write(p[:k])
		s.hashing += time.Since(t)
		s.size += int64(k)
		n += k
		p = p[k:]
		if len(s.buf) == SealedChunkSize {
			if err := s.flush(false); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (s *SealedWriter) flush(last bool) error {
	t := time.Now()
	s.ct = s.aead.Seal(s.ct[:0], chunkNonce(s.chunks), s.buf, chunkAAD(last))
	s.sealing += time.Since(t)
	if _, err := s.w.Write(s.ct); err != nil {
		return fmt.Errorf("write sealed code: %w", err)
	}
	s.chunks++
	s.buf = s.buf[:0]
	return nil
}

// Timing returns the time spent so far hashing and encrypting what was
// written.
func (s *SealedWriter) Timing() (hashing, sealing time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hashing, s.sealing
}

// ReadAt reads back plaintext written so far.
func (s *SealedWriter) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return readChunked(p, off, s.size, func(i int64) ([]byte, error) {
		if i == s.chunks {
			return s.buf, nil // not sealed yet
		}
		// After Finish, the last chunk is short and marked last.
		last := s.finished && i == s.chunks-1
		l := int64(SealedChunkSize)
		if last {
			l = s.size - i*SealedChunkSize
		}
		return openChunk(s.aead, s.w, i, l, last)
	})
}

// readChunked reads into p the plaintext at off of a sealed package of
// size plaintext bytes, whose chunks chunk returns opened.
func readChunked(p []byte, off, size int64, chunk func(i int64) ([]byte, error)) (int, error) {
	if off < 0 {
		return 0, errors.New("read sealed code: negative offset")
	}
	n := 0
	for len(p) > 0 {
		if off >= size {
			return n, io.EOF
		}
		pt, err := chunk(off / SealedChunkSize)
		if err != nil {
			return n, err
		}
		k := copy(p, pt[off%SealedChunkSize:])
		n += k
		off += int64(k)
		p = p[k:]
	}
	return n, nil
}

// openChunk reads chunk i of the chunks in r, which holds plain bytes of
// plaintext (SealedChunkSize, or fewer for the last), and opens it.
func openChunk(aead cipher.AEAD, r io.ReaderAt, i, plain int64, last bool) ([]byte, error) {
	ct := make([]byte, plain+sealedTagSize)
	if _, err := r.ReadAt(ct, i*(SealedChunkSize+sealedTagSize)); err != nil {
		return nil, fmt.Errorf("read sealed code: %w", err)
	}
	pt, err := aead.Open(ct[:0], chunkNonce(i), ct, chunkAAD(last))
	if err != nil {
		return nil, fmt.Errorf("read sealed code chunk %d: %w", i, ErrSealedCode)
	}
	return pt, nil
}

// Size returns the number of plaintext bytes written.
func (s *SealedWriter) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Digest returns the SHA-256 of the plaintext written so far.
func (s *SealedWriter) Digest() Digest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d Digest
	s.h.Sum(d[:0])
	return d
}

// Finish seals the last chunk and appends the trailer. Writes fail after it.
func (s *SealedWriter) Finish(t SealedTrailer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return errors.New("finish sealed code: finished")
	}
	tr, err := encodeTrailer(t)
	if err != nil {
		return err
	}
	if err := s.flush(true); err != nil {
		return err
	}
	s.finished = true
	if _, err := s.w.Write(tr); err != nil {
		return fmt.Errorf("write sealed code trailer: %w", err)
	}
	return nil
}

// Commit is refused: sealed code is committed under its CodeAddress by
// whoever finished it, through Underlying.
func (s *SealedWriter) Commit(ctx context.Context) (Digest, error) {
	return Digest{}, errors.New("commit sealed code: finish it and commit the underlying blob under its address")
}

// CommitAs is refused, as Commit is.
func (s *SealedWriter) CommitAs(ctx context.Context, d Digest) error {
	_, err := s.Commit(ctx)
	return err
}

// Abort discards the underlying blob.
func (s *SealedWriter) Abort() error { return s.w.Abort() }

func encodeTrailer(t SealedTrailer) ([]byte, error) {
	if len(t.KeyARN) > 2048 || len(t.WrappedKey) > 1024 {
		return nil, errors.New("sealed code trailer too large")
	}
	b := []byte(sealedMagic)
	b = append(b, sealedVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.KeyARN)))
	b = append(b, t.KeyARN...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.WrappedKey)))
	b = append(b, t.WrappedKey...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(b)))
	return append(b, sealedMagic...), nil
}

// ReadSealedTrailer parses the trailer of sealed code r of size bytes,
// and returns it with the size of the chunks before it. The trailer is
// not authenticated by itself: a forged one names a key or a wrapped key
// under which the chunks do not open.
func ReadSealedTrailer(r io.ReaderAt, size int64) (SealedTrailer, int64, error) {
	var t SealedTrailer
	bad := func(why string) (SealedTrailer, int64, error) {
		return SealedTrailer{}, 0, fmt.Errorf("%w: %s", ErrSealedCode, why)
	}
	if size < sealedTailSize {
		return bad("too short")
	}
	var tail [sealedTailSize]byte
	if _, err := r.ReadAt(tail[:], size-sealedTailSize); err != nil {
		return SealedTrailer{}, 0, fmt.Errorf("read sealed code trailer: %w", err)
	}
	if string(tail[4:]) != sealedMagic {
		return bad("no trailer")
	}
	n := int64(binary.BigEndian.Uint32(tail[:4]))
	if n < 4+1+2+2 || n > sealedMaxTrailer || n > size-sealedTailSize {
		return bad("trailer length")
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, size-sealedTailSize-n); err != nil {
		return SealedTrailer{}, 0, fmt.Errorf("read sealed code trailer: %w", err)
	}
	if string(b[:4]) != sealedMagic || b[4] != sealedVersion {
		return bad("trailer version")
	}
	b = b[5:]
	k := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if k > len(b)-2 {
		return bad("key ARN length")
	}
	t.KeyARN = string(b[:k])
	b = b[k:]
	w := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if w != len(b) {
		return bad("wrapped key length")
	}
	t.WrappedKey = append([]byte(nil), b...)
	return t, size - sealedTailSize - n, nil
}

// SealedReader reads the plaintext of sealed chunks, opening each chunk
// it reads. It is an io.ReaderAt; NewSealedReader checks the last chunk,
// so that a truncated package fails to open rather than reading short.
type SealedReader struct {
	r    io.ReaderAt
	aead cipher.AEAD
	// n is the number of chunks, size the plaintext size.
	n, size int64

	// The last chunk opened, since readers such as archive/zip read a
	// chunk in many small pieces.
	mu      sync.Mutex
	cached  int64
	cachedP []byte
}

// NewSealedReader opens the chunks held in the first chunksSize bytes of r
// with dataKey.
func NewSealedReader(r io.ReaderAt, chunksSize int64, dataKey []byte) (*SealedReader, error) {
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	const full = SealedChunkSize + sealedTagSize
	if chunksSize < sealedTagSize {
		return nil, fmt.Errorf("%w: no chunks", ErrSealedCode)
	}
	n := (chunksSize + full - 1) / full
	lastLen := chunksSize - (n-1)*full
	if lastLen < sealedTagSize {
		return nil, fmt.Errorf("%w: short last chunk", ErrSealedCode)
	}
	s := &SealedReader{r: r, aead: aead, n: n, size: chunksSize - n*sealedTagSize}
	if _, err := s.chunk(n - 1); err != nil {
		return nil, err
	}
	return s, nil
}

// Size returns the plaintext size.
func (s *SealedReader) Size() int64 { return s.size }

func (s *SealedReader) chunk(i int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cachedP != nil && s.cached == i {
		return s.cachedP, nil
	}
	last := i == s.n-1
	l := int64(SealedChunkSize)
	if last {
		l = s.size - i*SealedChunkSize
	}
	pt, err := openChunk(s.aead, s.r, i, l, last)
	if err != nil {
		return nil, err
	}
	s.cached, s.cachedP = i, pt
	return pt, nil
}

// ReadAt reads plaintext at off.
func (s *SealedReader) ReadAt(p []byte, off int64) (int, error) {
	return readChunked(p, off, s.size, s.chunk)
}

// CheckSealedLayout reads the trailer of sealed code r of size bytes and
// checks that the chunks before it can be a sealed package, without
// opening them, which takes the data key. It returns the trailer and the
// plaintext size. Only opening the chunks proves the content intact.
func CheckSealedLayout(r io.ReaderAt, size int64) (SealedTrailer, int64, error) {
	t, n, err := ReadSealedTrailer(r, size)
	if err != nil {
		return SealedTrailer{}, 0, err
	}
	const full = SealedChunkSize + sealedTagSize
	if n < sealedTagSize {
		return SealedTrailer{}, 0, fmt.Errorf("%w: no chunks", ErrSealedCode)
	}
	chunks := (n + full - 1) / full
	if n-(chunks-1)*full < sealedTagSize {
		return SealedTrailer{}, 0, fmt.Errorf("%w: short last chunk", ErrSealedCode)
	}
	return t, n - chunks*sealedTagSize, nil
}

package lambdahost

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// Digest is a SHA-256 content digest.
type Digest [sha256.Size]byte

// Hex returns the digest in lowercase hex, as blob file names use it.
func (d Digest) Hex() string { return hex.EncodeToString(d[:]) }

// Base64 returns the digest as AWS's CodeSha256 prints it.
func (d Digest) Base64() string { return base64.StdEncoding.EncodeToString(d[:]) }

// String returns "sha256:<hex>".
func (d Digest) String() string { return "sha256:" + d.Hex() }

// IsZero reports whether d is the zero digest (no code).
func (d Digest) IsZero() bool { return d == Digest{} }

// ParseDigestHex parses a 64-character lowercase hex digest.
func ParseDigestHex(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*sha256.Size {
		return d, fmt.Errorf("parse digest %q: want %d hex characters", s, 2*sha256.Size)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return d, fmt.Errorf("parse digest %q: %w", s, err)
	}
	for _, c := range s {
		if c >= 'A' && c <= 'F' {
			return d, errors.New("parse digest: uppercase hex")
		}
	}
	copy(d[:], b)
	return d, nil
}

// BlobStore is a content-addressed store of code blobs.
// A blob is durable once Commit returns: metadata that references it may commit after.
type BlobStore interface {
	// Create starts a new blob. The caller writes the content, then calls
	// Commit or Abort. ctx covers only Create: an implementation that uploads
	// elsewhere spools the content and sends it in Commit.
	Create(ctx context.Context) (BlobWriter, error)
	// Open opens the blob with digest d.
	// Returns an error wrapping ErrBlobNotFound if there is none.
	Open(ctx context.Context, d Digest) (Blob, error)
	// Stat returns the size of blob d, or an error wrapping ErrBlobNotFound.
	Stat(ctx context.Context, d Digest) (int64, error)
	// Delete removes blob d. Deleting a missing blob is not an error.
	Delete(ctx context.Context, d Digest) error
	// Walk calls fn for every committed blob, with its size and the time it was
	// last committed (so that garbage collection can spare recent blobs).
	Walk(ctx context.Context, fn func(d Digest, size int64, committed time.Time) error) error
}

// BlobWriter receives a blob's content. It hashes what it is given.
type BlobWriter interface {
	io.Writer
	// ReadAt reads back content written so far, so it can be inspected
	// (for example as a zip archive) before Commit.
	io.ReaderAt
	// Size is the number of bytes written.
	Size() int64
	// Digest is the SHA-256 of the bytes written so far.
	Digest() Digest
	// Commit makes the blob durable under its digest and returns it. If a blob
	// with that digest exists, the new copy is dropped, the old one kept, and
	// its committed time (see Walk) set to now: garbage collection relies on
	// that to spare content that is about to be referenced again. Write and
	// Commit fail after Commit or Abort.
	Commit(ctx context.Context) (Digest, error)
	// CommitAs is Commit under address d instead of the content's digest,
	// for content addressed by something else: sealed code is stored under
	// its CodeAddress, so that identical code under one key dedups although
	// its ciphertext differs. The dedup and committed-time rules of Commit
	// apply to d.
	CommitAs(ctx context.Context, d Digest) error
	// Abort discards the content. It is safe to call after Commit, where it
	// does nothing, so callers may defer it.
	Abort() error
}

// Blob is an open, committed blob.
type Blob interface {
	io.ReadSeekCloser
	io.ReaderAt
	Size() int64
}

// CodeLocation names code held outside the request: an S3 object or an image.
type CodeLocation struct {
	S3Bucket        string
	S3Key           string
	S3ObjectVersion string
	ImageURI        string
	// Architecture is the function's ("x86_64" or "arm64"), for choosing
	// an image's platform.
	Architecture string
}

// CodeSource fetches code from outside lambdahost (S3, an OCI registry).
type CodeSource interface {
	// Fetch writes the package at loc into w, which control then inspects,
	// stores in the right tier and commits like an uploaded ZipFile, so
	// identical bytes are stored once whatever their source. For an image,
	// Fetch resolves the tag and writes the image manifest, whose digest is
	// the function's CodeSha256. The returned Code describes what was
	// fetched; Digest and Size are taken from w.
	//
	// Errors meant for the caller are *Error values worded as AWS's
	// (InvalidParameterValueException "Error occurred while GetObject. S3
	// Error Code: NoSuchKey. ..."); anything else is a ServiceException.
	Fetch(ctx context.Context, account string, loc CodeLocation, w BlobWriter) (Code, error)
}

package s3

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lambdahost/lambdahost"
)

// Settings of the blob store.
const (
	// SpoolMaxAge is the age beyond which NewBlobStore removes spool files
	// left behind by a crash.
	SpoolMaxAge = time.Hour
	// spoolPrefix starts the names of spool files.
	spoolPrefix = "lambdahost-s3-spool-"
	// readChunk is how much a blob's ReadAt fetches at a time, and keeps:
	// zip readers and sealed code read many small pieces in order.
	readChunk = 1 << 20
	// commitTimeout bounds a commit, which carries on when the request
	// that started it is cancelled.
	commitTimeout = 15 * time.Minute
	// committedMeta is the user metadata a refreshed blob carries, since
	// S3 changes LastModified only when an object is written.
	committedMeta = "lambdahost-committed"
)

// BlobStoreOptions configure a [BlobStore].
type BlobStoreOptions struct {
	// Options say how to reach S3, as for the code source: endpoint, path
	// style, region, credentials (the SDK's, if nil), retries, logger.
	Options
	// Bucket holds the blobs, under Prefix.
	Bucket string
	// Prefix starts every key: blobs are <Prefix>blobs/sha256/<hex>. A
	// prefix that does not end with '/' gets one.
	Prefix string
	// SpoolDir holds blobs being written until they are committed. If
	// empty, os.TempDir().
	SpoolDir string
}

// ParseBlobURL splits s3://bucket/prefix into the bucket and the prefix.
func ParseBlobURL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("blob store %q: want s3://BUCKET[/PREFIX]", s)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}

var _ lambdahost.BlobStore = (*BlobStore)(nil)

// BlobStore is a content-addressed lambdahost.BlobStore in an S3 bucket,
// which several lambdahost processes may share. A blob being written is
// spooled to a local file, so that it can be read back before Commit and
// is never held in memory whole; Commit uploads it from there, unless a
// blob is at its address already: then it only refreshes that blob's
// committed time. Create it with NewBlobStore.
type BlobStore struct {
	src    *CodeSource
	bucket string
	prefix string // ends with "/" or is empty
	spool  string
}

// NewBlobStore returns a store in opts.Bucket under opts.Prefix and
// removes spool files older than SpoolMaxAge. It checks that the bucket
// can be reached.
func NewBlobStore(ctx context.Context, opts BlobStoreOptions) (*BlobStore, error) {
	if opts.Bucket == "" {
		return nil, errors.New("s3 blob store: no bucket")
	}
	src, err := New(ctx, opts.Options)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: %w", err)
	}
	s := &BlobStore{src: src, bucket: opts.Bucket, prefix: opts.Prefix, spool: opts.SpoolDir}
	if s.prefix != "" && !strings.HasSuffix(s.prefix, "/") {
		s.prefix += "/"
	}
	if s.spool == "" {
		s.spool = os.TempDir()
	}
	if err := os.MkdirAll(s.spool, 0o700); err != nil {
		return nil, fmt.Errorf("s3 blob store: %w", err)
	}
	if err := s.CleanTemp(ctx, SpoolMaxAge); err != nil {
		return nil, fmt.Errorf("s3 blob store: %w", err)
	}
	if _, err := s.client(ctx).HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return nil, fmt.Errorf("s3 blob store: bucket %s: %w", s.bucket, err)
	}
	return s, nil
}

func (s *BlobStore) client(ctx context.Context) *awss3.Client { return s.src.s3Client(ctx) }

// URL returns s3://bucket/prefix.
func (s *BlobStore) URL() string { return "s3://" + s.bucket + "/" + s.prefix }

// key returns the object key of blob d.
func (s *BlobStore) key(d lambdahost.Digest) string { return s.prefix + "blobs/sha256/" + d.Hex() }

// isNotFound reports whether err is S3's answer for a missing object.
func isNotFound(err error) bool {
	var nk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nk) || errors.As(err, &nf) {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// isPreconditionFailed reports whether err refused a conditional write:
// the object exists (412), or another write of it is under way (409).
func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict)
}

// Create starts a blob in a spool file.
func (s *BlobStore) Create(ctx context.Context) (lambdahost.BlobWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	f, err := os.CreateTemp(s.spool, spoolPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	return &blobWriter{s: s, f: f, bw: bufio.NewWriterSize(f, 64<<10), h: sha256.New()}, nil
}

// Stat returns the size of blob d, or an error wrapping ErrBlobNotFound.
func (s *BlobStore) Stat(ctx context.Context, d lambdahost.Digest) (int64, error) {
	out, err := s.client(ctx).HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(d))})
	if isNotFound(err) {
		return 0, fmt.Errorf("stat blob %s: %w", d, lambdahost.ErrBlobNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Open opens blob d. It reads with ranged GETs of the object as Open found
// it (If-Match its ETag), so that a reader never mixes two versions.
func (s *BlobStore) Open(ctx context.Context, d lambdahost.Digest) (lambdahost.Blob, error) {
	key := s.key(d)
	out, err := s.client(ctx).HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if isNotFound(err) {
		return nil, fmt.Errorf("open blob %s: %w", d, lambdahost.ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &blob{s: s, ctx: bctx, cancel: cancel, key: key, etag: aws.ToString(out.ETag), size: aws.ToInt64(out.ContentLength)}, nil
}

// Delete deletes blob d; a missing blob is not an error.
func (s *BlobStore) Delete(ctx context.Context, d lambdahost.Digest) error {
	_, err := s.client(ctx).DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(d))})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete blob %s: %w", d, err)
	}
	return nil
}

// Walk calls fn for every blob, with its size and its LastModified, which
// Commit sets also when the blob existed already (see refresh). Keys that
// are not digests are skipped.
func (s *BlobStore) Walk(ctx context.Context, fn func(d lambdahost.Digest, size int64, committed time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	dir := s.prefix + "blobs/sha256/"
	p := awss3.NewListObjectsV2Paginator(s.client(ctx), &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &dir})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("walk blobs: %w", err)
		}
		for _, o := range page.Contents {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("walk blobs: %w", err)
			}
			d, err := lambdahost.ParseDigestHex(strings.TrimPrefix(aws.ToString(o.Key), dir))
			if err != nil {
				continue
			}
			if err := fn(d, aws.ToInt64(o.Size), aws.ToTime(o.LastModified)); err != nil {
				return err
			}
		}
	}
	return nil
}

// CleanTemp removes spool files last written more than maxAge ago; with 0,
// all of them, which is safe only while no blob is being written.
func (s *BlobStore) CleanTemp(ctx context.Context, maxAge time.Duration) error {
	entries, err := os.ReadDir(s.spool)
	if err != nil {
		return fmt.Errorf("clean spool: %w", err)
	}
	cutoff := time.Now().Add(-maxAge)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("clean spool: %w", err)
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), spoolPrefix) {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("clean spool: %w", err)
		}
		if maxAge > 0 && !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(s.spool, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clean spool: %w", err)
		}
	}
	return nil
}

// errWriterClosed is returned by a writer used after Commit or Abort.
var errWriterClosed = errors.New("blob writer is closed")

// blobWriter spools a blob to a local file, hashing it when asked.
type blobWriter struct {
	s *BlobStore

	mu     sync.Mutex
	f      *os.File
	bw     *bufio.Writer
	h      hash.Hash
	hashed int64
	size   int64
	err    error
	done   bool
}

func (w *blobWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return 0, fmt.Errorf("write blob: %w", errWriterClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.size += int64(n)
	if err != nil {
		w.err = fmt.Errorf("write blob: %w", err)
	}
	return n, w.err
}

func (w *blobWriter) flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("write blob: %w", err)
	}
	return w.err
}

func (w *blobWriter) ReadAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return 0, fmt.Errorf("read blob: %w", errWriterClosed)
	}
	if err := w.flush(); err != nil {
		return 0, err
	}
	return w.f.ReadAt(p, off)
}

func (w *blobWriter) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

func (w *blobWriter) Digest() lambdahost.Digest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.digest()
}

// digest hashes what was written since it last did; content committed
// under an address of its own (sealed code) is never hashed here.
func (w *blobWriter) digest() lambdahost.Digest {
	if w.hashed < w.size && !w.done && w.flush() == nil {
		if _, err := io.Copy(w.h, io.NewSectionReader(w.f, w.hashed, w.size-w.hashed)); err != nil {
			w.err = fmt.Errorf("hash blob: %w", err)
		} else {
			w.hashed = w.size
		}
	}
	var d lambdahost.Digest
	w.h.Sum(d[:0])
	return d
}

// Commit uploads the blob under its digest. If ctx is done on entry,
// Commit fails and the writer stays open; once it has begun, it carries on
// regardless of ctx (for up to 15 minutes), and if it fails the content
// is discarded as if by Abort.
func (w *blobWriter) Commit(ctx context.Context) (lambdahost.Digest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return lambdahost.Digest{}, fmt.Errorf("commit blob: %w", errWriterClosed)
	}
	if err := ctx.Err(); err != nil {
		return lambdahost.Digest{}, fmt.Errorf("commit blob: %w", err)
	}
	d := w.digest()
	if w.err != nil {
		w.discard()
		return lambdahost.Digest{}, fmt.Errorf("commit blob %s: %w", d, w.err)
	}
	if err := w.commit(ctx, d); err != nil {
		return lambdahost.Digest{}, fmt.Errorf("commit blob %s: %w", d, err)
	}
	return d, nil
}

// CommitAs is Commit under address d.
func (w *blobWriter) CommitAs(ctx context.Context, d lambdahost.Digest) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("commit blob: %w", errWriterClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commit blob: %w", err)
	}
	if err := w.commit(ctx, d); err != nil {
		return fmt.Errorf("commit blob %s: %w", d, err)
	}
	return nil
}

// commit stores the spooled content at address d, unless a blob is there
// already, and discards the spool file.
//
// The existing blob is kept, not replaced: readers may be reading it, and
// sealed code under one address differs in ciphertext from upload to
// upload. The upload is conditional (If-None-Match: *), so that of nodes
// committing the same address at once one writes it and the others find
// it; a server that ignores the condition makes the last writer win,
// which readers detect through the ETag.
func (w *blobWriter) commit(ctx context.Context, d lambdahost.Digest) error {
	defer w.discard()
	if err := w.flush(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	s := w.s
	key := s.key(d)
	c := s.client(ctx)
	if _, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &key}); err == nil {
		return s.refresh(ctx, key)
	} else if !isNotFound(err) {
		return err
	}
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          io.NewSectionReader(w.f, 0, w.size),
		ContentLength: aws.Int64(w.size),
		IfNoneMatch:   aws.String("*"),
	})
	if isPreconditionFailed(err) {
		return s.refresh(ctx, key)
	}
	if err != nil {
		// A server may refuse the condition before it has read the body
		// and close the connection, which the client sees as a failed
		// send, not as 412: if the blob is there now, another writer
		// committed it (an upload is atomic), as with 412.
		if _, herr := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &key}); herr == nil {
			return s.refresh(ctx, key)
		}
	}
	return err
}

// refresh sets the LastModified of object key to now, which Walk reports
// as its committed time, by copying it onto itself with new metadata, as
// S3 allows. The content and its ETag stay the same, so readers are not
// disturbed. A server that keeps the old LastModified for such a copy
// (versitygw's posix backend) gets the object copied away and back.
func (s *BlobStore) refresh(ctx context.Context, key string) error {
	start := time.Now().Add(-time.Second) // S3 keeps seconds
	out, err := s.copy(ctx, key, key)
	if err != nil {
		return fmt.Errorf("refresh %s: %w", key, err)
	}
	if out.CopyObjectResult != nil && !aws.ToTime(out.CopyObjectResult.LastModified).Before(start) {
		return nil
	}
	tmp := s.prefix + "tmp/refresh-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := s.copy(ctx, key, tmp); err != nil {
		return fmt.Errorf("refresh %s: %w", key, err)
	}
	_, err = s.copy(ctx, tmp, key)
	_, derr := s.client(ctx).DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: &tmp})
	if err := errors.Join(err, derr); err != nil {
		return fmt.Errorf("refresh %s: %w", key, err)
	}
	return nil
}

// copy copies object from to object to, with fresh metadata.
func (s *BlobStore) copy(ctx context.Context, from, to string) (*awss3.CopyObjectOutput, error) {
	return s.client(ctx).CopyObject(ctx, &awss3.CopyObjectInput{
		Bucket:            &s.bucket,
		Key:               &to,
		CopySource:        aws.String(url.PathEscape(s.bucket) + "/" + escapeKey(from)),
		MetadataDirective: types.MetadataDirectiveReplace,
		Metadata:          map[string]string{committedMeta: time.Now().UTC().Format(time.RFC3339Nano)},
	})
}

// escapeKey URL-escapes each segment of key, as CopySource wants it.
func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// discard closes and removes the spool file and marks the writer done.
func (w *blobWriter) discard() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// Abort discards the content. After Commit, or a second time, it does nothing.
func (w *blobWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done = true
	cerr := w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abort blob: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("abort blob: %w", cerr)
	}
	return nil
}

// blob reads a committed blob with ranged GETs. Read and Seek stream from
// the current offset; ReadAt fetches readChunk bytes around what it is
// asked and keeps the last chunk, so that readers of small pieces in
// order (zip, sealed code) make one request per chunk.
type blob struct {
	s      *BlobStore
	ctx    context.Context
	cancel context.CancelFunc
	key    string
	etag   string
	size   int64

	mu     sync.Mutex
	off    int64         // of Read
	body   io.ReadCloser // streaming from off, nil if none
	chunk  []byte        // cached for ReadAt
	chunkA int64         // offset of chunk
}

var (
	_ lambdahost.Blob = (*blob)(nil)
	_ io.WriterTo     = (*blob)(nil)
)

func (b *blob) Size() int64 { return b.size }

// get requests bytes [from, to) of the object as Open found it.
func (b *blob) get(from, to int64) (io.ReadCloser, error) {
	in := &awss3.GetObjectInput{
		Bucket: &b.s.bucket,
		Key:    &b.key,
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", from, to-1)),
	}
	if b.etag != "" {
		in.IfMatch = aws.String(b.etag)
	}
	out, err := b.s.client(b.ctx).GetObject(b.ctx, in)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("read blob %s: %w", b.key, lambdahost.ErrBlobNotFound)
		}
		return nil, fmt.Errorf("read blob %s: %w", b.key, err)
	}
	return out.Body, nil
}

func (b *blob) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.off >= b.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.body == nil {
		body, err := b.get(b.off, b.size)
		if err != nil {
			return 0, err
		}
		b.body = body
	}
	n, err := b.body.Read(p)
	b.off += int64(n)
	if err == io.EOF && b.off < b.size {
		err = fmt.Errorf("read blob %s: %w", b.key, io.ErrUnexpectedEOF)
	}
	if err == io.EOF {
		err = nil
		if b.off >= b.size {
			err = io.EOF
		}
	}
	return n, err
}

func (b *blob) Seek(offset int64, whence int) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.off
	case io.SeekEnd:
		offset += b.size
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	if offset != b.off && b.body != nil {
		b.body.Close()
		b.body = nil
	}
	b.off = offset
	return offset, nil
}

// WriteTo streams the rest of the blob to w in one request.
func (b *blob) WriteTo(w io.Writer) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.off >= b.size {
		return 0, nil
	}
	if b.body == nil {
		body, err := b.get(b.off, b.size)
		if err != nil {
			return 0, err
		}
		b.body = body
	}
	n, err := io.Copy(w, b.body)
	b.off += n
	if err == nil && b.off < b.size {
		err = fmt.Errorf("read blob %s: %w", b.key, io.ErrUnexpectedEOF)
	}
	return n, err
}

func (b *blob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("read at: negative offset")
	}
	n := 0
	for n < len(p) {
		if off >= b.size {
			return n, io.EOF
		}
		b.mu.Lock()
		if b.chunk == nil || off < b.chunkA || off >= b.chunkA+int64(len(b.chunk)) {
			from := off
			if len(p)-n < readChunk {
				from = off - off%readChunk
			}
			to := min(from+max(readChunk, int64(len(p)-n)), b.size)
			body, err := b.get(from, to)
			if err != nil {
				b.mu.Unlock()
				return n, err
			}
			buf := make([]byte, to-from)
			_, err = io.ReadFull(body, buf)
			body.Close()
			if err != nil {
				b.mu.Unlock()
				return n, fmt.Errorf("read blob %s: %w", b.key, err)
			}
			b.chunk, b.chunkA = buf, from
		}
		c := copy(p[n:], b.chunk[off-b.chunkA:])
		b.mu.Unlock()
		n += c
		off += int64(c)
	}
	return n, nil
}

func (b *blob) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.body != nil {
		b.body.Close()
		b.body = nil
	}
	b.chunk = nil
	b.cancel()
	return nil
}

package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// CodeInput is where a request's code comes from. Exactly one source must
// be given: ZipFile, an S3 object, or an image.
type CodeInput struct {
	// Zip is the staged ZipFile upload, nil if the request had none. The
	// service commits it when the operation succeeds; the caller defers Abort.
	Zip             lambdahost.BlobWriter
	S3Bucket        *string
	S3Key           *string
	S3ObjectVersion *string
	ImageURI        *string
	SourceKMSKeyARN *string
}

func (in *CodeInput) hasS3() bool {
	return in.S3Bucket != nil || in.S3Key != nil || in.S3ObjectVersion != nil
}

// staged is code ready to be referenced once commit has made it durable.
type staged struct {
	code   lambdahost.Code
	commit func(ctx context.Context) error
	// inline holds a small package that is stored with the metadata, in
	// the transaction that references it, instead of in the blob store.
	inline []byte
	// sealed is the staged code, encrypted as it streamed in; small says
	// it goes inline. addr is where it is stored: see seal.
	sealed *lambdahost.SealedWriter
	small  bool
	addr   lambdahost.Digest
	// fail is why the code's key cannot seal it (a missing or disabled
	// key): the operation is accepted and its version settles Failed
	// with that reason, as AWS reports KMS problems.
	fail error
	// zip reads the staged zip back (nil for an image), and sig is its
	// signature, read on demand when the function uses code signing.
	zip io.ReaderAt
	sig signatureCheck
	// timing measures the deployment's phases (see timed); fetched is
	// how long reading the code from its source took, when control read
	// it (S3, images), and streamed the hashing and sealing done while
	// it was read.
	timing           lambdahost.DeployTiming
	fetched          time.Duration
	streamedHash     time.Duration
	streamedSeal     time.Duration
	streamedMeasured bool
	warnedSignature  *signatureWarning
}

// measureStream notes the hashing and sealing done as the code streamed
// in, before commit seals its last chunk.
func (st *staged) measureStream() {
	if st.sealed == nil || st.streamedMeasured {
		return
	}
	st.streamedHash, st.streamedSeal = st.sealed.Timing()
	st.streamedMeasured = true
}

// finishTiming returns the phases of st's deployment measured so far:
// received is what the wire layer measured of reading a ZipFile upload
// (see lambdahost.DeployTiming.Received), zero for fetched code.
func (st *staged) finishTiming(received time.Duration) lambdahost.DeployTiming {
	st.measureStream()
	t := st.timing
	t.Bytes = st.code.Size
	if st.sealed != nil {
		hashing, sealing := st.sealed.Timing()
		t.Hash += hashing
		t.Seal += sealing
		if t.Bytes == 0 {
			t.Bytes = st.sealed.Size()
		}
	}
	if st.fetched > 0 {
		received = st.fetched
	}
	t.Receive = max(received-st.streamedHash-st.streamedSeal, 0)
	t.Received = received
	return t
}

// timed adds the time since start to *d.
func timed(d *time.Duration, start time.Time) { *d += time.Since(start) }

// store writes inline code within tx; for code in the blob store, commit
// has already made it durable.
func (st *staged) store(ctx context.Context, tx lambdahost.Tx) error {
	if st.inline == nil {
		return nil
	}
	return tx.PutCode(ctx, st.addr, st.inline)
}

var reS3Bucket = regexp.MustCompile(`^[0-9A-Za-z\.\-_]*$`)

// validateCode checks the code fields' own constraints (model patterns and
// lengths, one source) without touching any store.
func validateCode(in *CodeInput) error {
	var v lambdahost.Validation
	if b := in.S3Bucket; b != nil {
		if len(*b) < 3 {
			v.Add("s3Bucket", lambdahost.Quote(*b), "Member must have length greater than or equal to 3")
		}
		if len(*b) > 63 {
			v.Add("s3Bucket", lambdahost.Quote(*b), "Member must have length less than or equal to 63")
		}
		if !reS3Bucket.MatchString(*b) || strings.HasSuffix(*b, ".") {
			v.Add("s3Bucket", lambdahost.Quote(*b), `Member must satisfy regular expression pattern: [0-9A-Za-z\.\-_]*(?<!\.)`)
		}
	}
	for _, f := range []struct {
		name string
		val  *string
	}{{"s3Key", in.S3Key}, {"s3ObjectVersion", in.S3ObjectVersion}} {
		if f.val != nil && len(*f.val) < 1 {
			v.Add(f.name, lambdahost.Quote(*f.val), "Member must have length greater than or equal to 1")
		}
		if f.val != nil && len(*f.val) > 1024 {
			v.Add(f.name, lambdahost.Quote(*f.val), "Member must have length less than or equal to 1024")
		}
	}
	if k := in.SourceKMSKeyARN; k != nil && !reKMSKey.MatchString(*k) {
		v.Add("sourceKMSKeyArn", lambdahost.Quote(*k), "Member must satisfy regular expression pattern: "+patternKMSKey)
	}
	if err := v.Err(); err != nil {
		return err
	}
	n := 0
	if in.Zip != nil {
		n++
	}
	if in.hasS3() {
		n++
	}
	if in.ImageURI != nil {
		n++
	}
	if n > 1 {
		return invalidf("Please provide only one of ZipFile, S3Bucket/S3Key/S3ObjectVersion or ImageUri.")
	}
	if in.hasS3() && (in.S3Bucket == nil || in.S3Key == nil) {
		return invalidf("Please provide both S3Bucket and S3Key.")
	}
	return nil
}

// checkPackageType enforces which sources a package type takes. verb is
// "creating" or "updating".
func checkPackageType(in *CodeInput, packageType, verb string) error {
	switch packageType {
	case lambdahost.PackageImage:
		if in.ImageURI == nil {
			return invalidf("Please provide ImageUri when %s a function with packageType Image.", verb)
		}
	default:
		if in.ImageURI != nil {
			return invalidf("Please don't provide ImageUri when %s a function with packageType Zip.", verb)
		}
		if in.Zip == nil && !in.hasS3() {
			return invalidf("Please provide a source for function code.")
		}
	}
	return nil
}

// stage inspects or fetches the code of in for account. Nothing referenced
// by metadata changes: the zip is committed by the returned commit only.
func (s *Service) stage(ctx context.Context, account string, in *CodeInput, packageType, architecture string) (*staged, error) {
	st, err := s.stageCode(ctx, account, in, packageType, architecture)
	if err != nil {
		return nil, err
	}
	if err := s.seal(ctx, st); err != nil {
		return nil, err
	}
	return st, nil
}

// StageCode starts staging an uploaded package: what is written is sealed
// as it streams in, under a random data key that the code's KMS key wraps
// when the operation commits it. The caller Aborts it when done.
func (s *Service) StageCode(ctx context.Context) (lambdahost.BlobWriter, error) {
	w, err := s.blobs.Create(ctx)
	if err != nil {
		return nil, err
	}
	sw, err := lambdahost.NewSealedWriter(w)
	if err != nil {
		w.Abort()
		return nil, err
	}
	return sw, nil
}

// seal decides the key that seals st's code: its SourceKMSKeyArn, or the
// account's service-managed key. Commit then wraps the data key, appends
// the trailer and stores the code at CodeAddress(key, digest), so that
// identical code under one key is stored once.
func (s *Service) seal(ctx context.Context, st *staged) error {
	c, err := caller(ctx)
	if err != nil {
		return internal("seal code", err)
	}
	defer timed(&st.timing.Seal, time.Now())
	key, err := s.codeKeyFor(ctx, c.Account, c.Region, st.code.SourceKMSKeyARN)
	var kp *keyProblem
	if errors.As(err, &kp) {
		st.fail = kp.reasonError()
		st.code.SealedWith = st.code.SourceKMSKeyARN
		st.commit = func(context.Context) error { return nil }
		st.inline = nil
		return nil
	}
	if err != nil {
		return internal("seal code", err)
	}
	wrapped, err := key.Wrap(st.sealed.DataKey())
	if err != nil {
		return internal("seal code", err)
	}
	st.code.SealedWith = key.ARN()
	st.addr = lambdahost.CodeAddress(key.ARN(), st.code.Digest)
	trailer := lambdahost.SealedTrailer{KeyARN: key.ARN(), WrappedKey: wrapped}
	st.commit = func(ctx context.Context) error {
		st.measureStream()
		if err := st.sealed.Finish(trailer); err != nil {
			return err
		}
		defer timed(&st.timing.Store, time.Now())
		u := st.sealed.Underlying()
		if st.small {
			st.inline = make([]byte, u.Size())
			if _, err := u.ReadAt(st.inline, 0); err != nil {
				return fmt.Errorf("read sealed code: %w", err)
			}
			return nil
		}
		return u.CommitAs(ctx, st.addr)
	}
	return nil
}

// stageCode inspects or fetches the code of in for account.
func (s *Service) stageCode(ctx context.Context, account string, in *CodeInput, packageType, architecture string) (*staged, error) {
	var st staged
	switch {
	case in.Zip != nil:
		// The zipped-size limit is AWS's for ZipFile uploads only; S3
		// packages are bounded by their unzipped size.
		if in.Zip.Size() > lambdahost.MaxZippedSize {
			return nil, lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Zipped size must be smaller than %d bytes", lambdahost.MaxZippedSize)
		}
		if err := s.stageZip(ctx, &st, in.Zip); err != nil {
			return nil, err
		}
	case in.hasS3():
		loc := lambdahost.CodeLocation{S3Bucket: *in.S3Bucket, S3Key: *in.S3Key}
		if in.S3ObjectVersion != nil {
			loc.S3ObjectVersion = *in.S3ObjectVersion
		}
		if s.S3 == nil {
			return nil, invalidf("Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
		}
		return s.stageFetched(ctx, account, s.S3, loc, in, packageType)
	case in.ImageURI != nil:
		if s.Images == nil {
			return nil, invalidf("Source image %s does not exist. Provide a valid source image.", *in.ImageURI)
		}
		loc := lambdahost.CodeLocation{ImageURI: *in.ImageURI, Architecture: architecture}
		return s.stageFetched(ctx, account, s.Images, loc, in, packageType)
	}
	st.code.PackageType = packageType
	if in.SourceKMSKeyARN != nil {
		st.code.SourceKMSKeyARN = *in.SourceKMSKeyARN
	}
	return &st, nil
}

// stageFetched fetches code from src into a staged blob and stages it as an
// uploaded zip is staged, so the bytes land in the same tier and dedup with
// uploads. Image manifests are not zips and are staged as they are.
func (s *Service) stageFetched(ctx context.Context, account string, src lambdahost.CodeSource, loc lambdahost.CodeLocation, in *CodeInput, packageType string) (*staged, error) {
	w, err := s.StageCode(ctx)
	if err != nil {
		return nil, internal("stage fetched code", err)
	}
	// The staged blob lives until the operation ends: commit takes it, and
	// the caller's Abort of in.Zip does not cover it, so it is aborted when
	// the request's context ends.
	context.AfterFunc(ctx, func() { w.Abort() })
	began := time.Now()
	code, err := src.Fetch(ctx, account, loc, w)
	if err != nil {
		return nil, internal("fetch code", err)
	}
	fetched := time.Since(began)
	if packageType == lambdahost.PackageImage {
		st := &staged{code: code}
		st.code.Digest, st.code.Size = w.Digest(), 0
		st.code.PackageType = packageType
		if in.SourceKMSKeyARN != nil {
			st.code.SourceKMSKeyARN = *in.SourceKMSKeyARN
		}
		if err := s.tier(ctx, st, w); err != nil {
			return nil, err
		}
		st.fetched = fetched
		return st, nil
	}
	st := &staged{fetched: fetched}
	if err := s.stageZip(ctx, st, w); err != nil {
		return nil, err
	}
	if in.SourceKMSKeyARN != nil {
		st.code.SourceKMSKeyARN = *in.SourceKMSKeyARN
	}
	return st, nil
}

// stageZip inspects the zip staged in w and decides its tier.
func (s *Service) stageZip(ctx context.Context, st *staged, w lambdahost.BlobWriter) error {
	size := w.Size()
	if size == 0 {
		return invalidf("Uploaded file must be a non-empty zip")
	}
	began := time.Now()
	unzipped, err := lambdahost.InspectZip(w, size)
	timed(&st.timing.Hash, began)
	if err != nil {
		return err
	}
	st.code = lambdahost.Code{PackageType: lambdahost.PackageZip, Digest: w.Digest(), Size: size, UnzippedSize: unzipped}
	st.zip = w
	return s.tier(ctx, st, w)
}

// tier decides where staged content w is stored: inline with the metadata
// when small, else in the blob store. seal decides how commit stores it.
func (s *Service) tier(ctx context.Context, st *staged, w lambdahost.BlobWriter) error {
	sw, ok := w.(*lambdahost.SealedWriter)
	if !ok {
		return internal("stage code", errors.New("staged code is not sealed: stage it with StageCode"))
	}
	st.sealed = sw
	st.small = sw.Size() <= s.inlineCodeMax()
	return nil
}

// checkStorage answers CodeStorageExceededException if changing the code
// stored by id's account in its region by delta bytes would pass the limit.
// Every version counts its code, as AWS counts it.
func (s *Service) checkStorage(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, delta int64) error {
	return s.checkAccountStorage(ctx, tx, id.Account, id.Region, delta)
}

// checkAccountStorage is checkStorage for account in region.
func (s *Service) checkAccountStorage(ctx context.Context, tx lambdahost.Tx, account, region string, delta int64) error {
	u, err := usage(ctx, tx, account, region)
	if err != nil {
		return err
	}
	if delta > 0 && u.TotalCodeSize+delta > s.CodeStorageLimit {
		return lambdahost.Errorf(lambdahost.CodeStorageExceededException, "Code storage limit exceeded.")
	}
	return nil
}

// usage is what account uses in region, as AWS counts it: the code of its
// functions' versions and of its layer versions, its functions and their
// reserved concurrency.
func usage(ctx context.Context, tx lambdahost.Tx, account, region string) (lambdahost.AccountUsage, error) {
	u, err := tx.Usage(ctx, account, region)
	if err != nil {
		return u, err
	}
	layers, err := layerUsageBytes(ctx, tx, account, region)
	u.TotalCodeSize += layers
	return u, err
}

// DefaultInlineCodeMax is the largest package stored with the metadata.
const DefaultInlineCodeMax = 128 << 10

func (s *Service) inlineCodeMax() int64 {
	switch {
	case s.InlineCodeMax < 0:
		return -1
	case s.InlineCodeMax == 0:
		return DefaultInlineCodeMax
	}
	return s.InlineCodeMax
}

// OpenCode opens package c, wherever it is stored, and decrypts it with
// the key it is sealed under. Returns an error wrapping ErrBlobNotFound if
// there is none, and Invoke's KMS errors (KMSDisabledException,
// KMSNotFoundException) if its key cannot be used.
func (s *Service) OpenCode(ctx context.Context, c lambdahost.Code) (lambdahost.Blob, error) {
	s.init()
	if c.SealedWith == "" {
		// Code stored before lambdahost sealed code is plain, at its digest.
		return s.openStored(ctx, c.Digest)
	}
	key, err := s.codeKeyByARN(ctx, c.SealedWith)
	var kp *keyProblem
	if errors.As(err, &kp) {
		return nil, kp.apiError()
	}
	if err != nil {
		return nil, fmt.Errorf("open code %s: %w", c.Digest, err)
	}
	b, err := s.openStored(ctx, lambdahost.CodeAddress(c.SealedWith, c.Digest))
	if err != nil {
		return nil, err
	}
	sb, err := openSealed(b, key)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open code %s: %w", c.Digest, err)
	}
	return sb, nil
}

// CheckCode answers Invoke's KMS error (KMSDisabledException,
// KMSNotFoundException) if the key that seals c cannot be used, so that a
// cold start fails as on AWS even when the executor has the package
// unpacked already.
func (s *Service) CheckCode(ctx context.Context, c lambdahost.Code) error {
	s.init()
	if c.SealedWith == "" {
		return nil
	}
	_, err := s.codeKeyByARN(ctx, c.SealedWith)
	var kp *keyProblem
	if errors.As(err, &kp) {
		return kp.apiError()
	}
	if err != nil {
		return fmt.Errorf("check code key: %w", err)
	}
	return nil
}

// openStored opens what is stored at address d, inline or in the blob store.
func (s *Service) openStored(ctx context.Context, d lambdahost.Digest) (lambdahost.Blob, error) {
	var data []byte
	err := s.store.View(ctx, func(tx lambdahost.Tx) error {
		var err error
		data, err = tx.Code(ctx, d)
		return err
	})
	if err == nil {
		return &inlineBlob{bytes.NewReader(data)}, nil
	}
	if !errors.Is(err, lambdahost.ErrBlobNotFound) {
		return nil, fmt.Errorf("open code %s: %w", d, err)
	}
	return s.blobs.Open(ctx, d)
}

// openSealed opens sealed code b with key, which must be the one its
// trailer names.
func openSealed(b lambdahost.Blob, key lambdahost.CodeKey) (lambdahost.Blob, error) {
	tr, n, err := lambdahost.ReadSealedTrailer(b, b.Size())
	if err != nil {
		return nil, err
	}
	if tr.KeyARN != key.ARN() {
		return nil, fmt.Errorf("%w: sealed under %s, want %s", lambdahost.ErrSealedCode, tr.KeyARN, key.ARN())
	}
	dataKey, err := key.Unwrap(tr.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", lambdahost.ErrSealedCode, err)
	}
	r, err := lambdahost.NewSealedReader(b, n, dataKey)
	if err != nil {
		return nil, err
	}
	return &sealedBlob{SectionReader: io.NewSectionReader(r, 0, r.Size()), c: b}, nil
}

// sealedBlob is the plaintext of sealed code as a lambdahost.Blob.
type sealedBlob struct {
	*io.SectionReader
	c io.Closer
}

func (b *sealedBlob) Close() error { return b.c.Close() }

// inlineBlob is inline code as a lambdahost.Blob.
type inlineBlob struct{ *bytes.Reader }

func (b *inlineBlob) Close() error { return nil }

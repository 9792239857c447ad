package control

import (
	"context"
	"regexp"
	"strings"

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
func (s *Service) stage(ctx context.Context, account string, in *CodeInput, packageType string) (*staged, error) {
	var st staged
	switch {
	case in.Zip != nil:
		size := in.Zip.Size()
		if size > lambdahost.MaxZippedSize {
			return nil, lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Zipped size must be smaller than %d bytes", lambdahost.MaxZippedSize)
		}
		if size == 0 {
			return nil, invalidf("Uploaded file must be a non-empty zip")
		}
		unzipped, err := lambdahost.InspectZip(in.Zip, size)
		if err != nil {
			return nil, err
		}
		st.code = lambdahost.Code{PackageType: lambdahost.PackageZip, Digest: in.Zip.Digest(), Size: size, UnzippedSize: unzipped}
		zip := in.Zip
		st.commit = func(ctx context.Context) error {
			_, err := zip.Commit(ctx)
			return err
		}
	case in.hasS3():
		loc := lambdahost.CodeLocation{S3Bucket: *in.S3Bucket, S3Key: *in.S3Key}
		if in.S3ObjectVersion != nil {
			loc.S3ObjectVersion = *in.S3ObjectVersion
		}
		if s.S3 == nil {
			return nil, invalidf("Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
		}
		code, err := s.S3.Fetch(ctx, account, loc, s.blobs)
		if err != nil {
			return nil, internal("fetch s3 code", err)
		}
		st.code = code
	case in.ImageURI != nil:
		if s.Images == nil {
			return nil, invalidf("Source image %s does not exist. Provide a valid source image.", *in.ImageURI)
		}
		code, err := s.Images.Fetch(ctx, account, lambdahost.CodeLocation{ImageURI: *in.ImageURI}, s.blobs)
		if err != nil {
			return nil, internal("fetch image", err)
		}
		st.code = code
	}
	st.code.PackageType = packageType
	if in.SourceKMSKeyARN != nil {
		st.code.SourceKMSKeyARN = *in.SourceKMSKeyARN
	}
	if st.commit == nil {
		st.commit = func(context.Context) error { return nil }
	}
	return &st, nil
}

// checkStorage answers CodeStorageExceededException if adding bytes to the
// account's stored code would pass the limit.
func (s *Service) checkStorage(ctx context.Context, tx lambdahost.Tx, account string, bytes int64) error {
	u, err := tx.Usage(ctx, account)
	if err != nil {
		return err
	}
	if u.TotalCodeSize+bytes > s.CodeStorageLimit {
		return lambdahost.Errorf(lambdahost.CodeStorageExceededException, "Code storage limit exceeded.")
	}
	return nil
}

var reCodeSigningConfig = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}:\d{12}:code-signing-config:csc-[a-z0-9]{17}$`)

// codeSigningConfigNotFound answers a CodeSigningConfigArn: lambdahost has
// no code signing configs yet, so a well-formed ARN names none.
func codeSigningConfigNotFound(arn string) error {
	if len(arn) > 200 || !reCodeSigningConfig.MatchString(arn) {
		var v lambdahost.Validation
		v.Add("codeSigningConfigArn", lambdahost.Quote(arn), `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}:\d{12}:code-signing-config:csc-[a-z0-9]{17}`)
		return v.Err()
	}
	return lambdahost.Errorf(lambdahost.CodeSigningConfigNotFoundException,
		"The code signing configuration cannot be found. Check that the provided configuration is not deleted: %s.", arn)
}

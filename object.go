package lambdahost

import (
	"context"
	"io"
)

// ObjectStore writes objects into S3 buckets: AWS Signer's signing jobs put
// the signed zip there. Signing jobs read their source through the S3
// CodeSource; s3/ implements both.
type ObjectStore interface {
	// PutObject writes size bytes of body as bucket/key. body may be read
	// more than once (the SDK rewinds it to retry). All accounts write with
	// the same credentials: account is for logs.
	//
	// Errors meant for the caller are *Error values worded as AWS's, such
	// as "Error occurred while PutObject. S3 Error Code: NoSuchBucket. ...".
	PutObject(ctx context.Context, account, bucket, key string, body io.ReadSeeker, size int64) error
}

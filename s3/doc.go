// Package s3 fetches function code from Amazon S3 or any S3-compatible
// server: [CodeSource] implements [lambdahost.CodeSource] for the S3Bucket,
// S3Key and S3ObjectVersion members of CreateFunction and
// UpdateFunctionCode
// (https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCode.html).
//
// # Configuration
//
// [New] loads configuration as every AWS SDK does, with
// config.LoadDefaultConfig: AWS_REGION, AWS_ACCESS_KEY_ID and the other
// AWS_* variables, the shared config and credentials files (AWS_PROFILE),
// and the endpoint settings AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL and
// endpoint_url in the profile. [Options] override it: Endpoint wins over
// every endpoint setting, PathStyle addresses buckets as
// http://host/bucket/key (which S3-compatible servers without wildcard DNS
// need; the SDK uses path style by itself for an endpoint given as an IP
// address). If no credentials are configured at all, New falls back to
// anonymous requests, which can read public buckets.
//
// # Errors
//
// Fetch answers S3's refusals as AWS Lambda does, with an
// InvalidParameterValueException whose message carries S3's error code and
// message:
//
//	Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.
//
// For NoSuchBucket, NoSuchKey and NoSuchVersion the message is always
// Amazon S3's text, whatever the server said, so that callers see the same
// message against any S3-compatible server. Other codes (AccessDenied,
// SignatureDoesNotMatch, InvalidArgument for a malformed version ID, ...)
// carry the server's own message.
//
// AWS documents no wording for an S3 that cannot be reached. When the
// endpoint refuses connections, cannot be resolved, does not answer within
// [Options.Timeout] or stalls in the middle of an object for
// [Options.StallTimeout], Fetch answers with S3's own wording for an
// unavailable service:
//
//	Error occurred while GetObject. S3 Error Code: ServiceUnavailable. S3 Error Message: Service is unable to handle request.
//
// The cause (the address, the network error) goes only into [lambdahost.Error].Err
// and the log: it describes lambdahost's configuration, not the caller's request.
//
// An object larger than [Options.MaxSize], by default
// [lambdahost.MaxUnzippedSize], is refused with the message AWS gives for
// Lambda's limit on unzipped size, "Unzipped size must be smaller than
// 262144000 bytes": an archive bigger than the limit would have to unzip to
// less than its own size to pass, which only the few bytes of zip headers
// around stored entries allow. The object is not read at all if S3 announces
// its length, and reading stops, with nothing written past the limit, if
// the bytes received pass it.
//
// # Streaming and integrity
//
// The object is copied from the response body straight into the
// [lambdahost.BlobWriter], which hashes it, through one buffer of at most
// 256 KiB: it is never held in memory whole. The SDK checks the object's
// CRC against the checksum S3 sends, as it does by default, and a mismatch
// fails the fetch; that costs about a fifth of the throughput on a fast
// local server, and AWS_RESPONSE_CHECKSUM_VALIDATION=when_required turns it
// off.
//
// # Logging
//
// Failures that lie on lambdahost's side (wrong credentials, S3 server
// errors, an S3 that cannot be reached) are logged as warnings as well as
// returned: the caller receives them as 400s, which the HTTP edge logs only
// at debug level, and the operator must see them.
package s3

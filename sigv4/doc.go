// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests,
// the server side of what the aws CLI, boto3 and aws-sdk-go-v2 do when they
// sign a Lambda API call.
//
// Verification is split in two so that the HTTP layer can stream and hash a
// large body while it reads it. [Verifier.Start] does everything that needs
// only the request line and headers: it parses the Authorization header (or a
// presigned query string), checks the date against the clock, looks up the
// access key, derives the signing key and builds the canonical request up to
// the payload hash. [Pending.Finish] then takes the SHA-256 of the body as
// received and compares signatures in constant time.
//
// Every failure is an [*Error] whose Code is the AWS error type and whose
// Message is the text AWS sends, so the HTTP layer can write it unchanged.
//
// The algorithm is described in the IAM User Guide:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
// and the canonical request in particular at
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
//
// This package imports only the standard library (see deps_test.go).
package sigv4

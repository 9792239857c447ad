// Package http serves the AWS Lambda REST API (2015-03-31) over net/http:
// routes, the wire structs whose JSON AWS dictates, and the one writer of
// the Lambda API's error responses. Its Router serves Lambda and every
// other AWS service lambdahost offers (packages kms, signer, ...) on one
// listener, each request going to the service its SigV4 credential scope
// and its shape name (see Router).
//
// Large bodies (CreateFunction and UpdateFunctionCode with ZipFile) are
// never held in memory: ZipFile is base64-decoded straight from the request
// into a staged blob while the body is hashed for the signature, which is
// verified when the body ends and before anything is changed.
//
// API reference: https://docs.aws.amazon.com/lambda/latest/api/API_Operations.html
package http

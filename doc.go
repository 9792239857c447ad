// Package lambdahost holds the domain of a self-hosted AWS Lambda API:
// functions, versions, aliases and their code, the interfaces that storage,
// code and execution adapters implement, the small interfaces through which
// the Lambda control plane uses the other AWS services lambdahost serves
// (KeyService, implemented by kms; Publishers, by signer), and the API
// error type that every service writes. It imports only the standard
// library (see deps_test.go).
//
// The wire contract is the AWS Lambda API, version 2015-03-31:
// https://docs.aws.amazon.com/lambda/latest/api/welcome.html
package lambdahost

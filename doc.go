// Package lambdahost holds the domain of a self-hosted AWS Lambda API:
// functions, versions, aliases and their code, the interfaces that storage,
// code and execution adapters implement, and the API error type that the
// HTTP layer writes. It imports only the standard library (see deps_test.go).
//
// The wire contract is the AWS Lambda API, version 2015-03-31:
// https://docs.aws.amazon.com/lambda/latest/api/welcome.html
package lambdahost

// Package signer is lambdahost's AWS Signer: the subset of Signer's API
// that signing Lambda code needs (the AWSLambda-SHA384-ECDSA platform,
// signing profiles and signing jobs), served on lambdahost's listener in
// Signer's protocol, REST-JSON, so that `aws signer --endpoint-url` and
// the SDKs' Signer clients work against it.
//
// Service owns the domain: profiles, whose ECDSA P-384 private keys it
// generates and keeps sealed with the operator's master key; signing jobs,
// which read a zip from S3, sign it and write the signed zip back; the
// operator's key export for signing offline. It implements
// lambdahost.Publishers, through which the Lambda control plane checks a
// deployment's signature against code signing configs. Server (server.go)
// is the wire layer: routes, the wire structs and the one writer of
// Signer's errors. Its golden files are in testdata/golden.
//
// API reference: https://docs.aws.amazon.com/signer/latest/api/
package signer

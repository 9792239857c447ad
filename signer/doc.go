// Package signer is lambdahost's AWS Signer: the subset of Signer's API
// (signing platforms, profiles and jobs) that signing Lambda code needs,
// served on lambdahost's listener in Signer's protocol, REST-JSON, so that
// `aws signer --endpoint-url` and the SDKs' Signer clients work against it.
//
// API reference: https://docs.aws.amazon.com/signer/latest/api/
package signer

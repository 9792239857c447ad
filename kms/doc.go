// Package kms is lambdahost's local key service: a KMS-compatible subset
// (CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey) for symmetric
// keys, per account and region, served on lambdahost's listener in KMS's
// protocol, AWS JSON 1.1, so that `aws kms --endpoint-url` and the SDKs'
// KMS clients work against it.
//
// Service owns the keys: they are records of the store, their key material
// sealed with the operator's master key, and it implements
// lambdahost.KeyService, through which the Lambda control plane seals code
// at rest under a function's SourceKMSKeyArn or the account's
// service-managed key (alias/aws/lambda, created on first use). Server
// (server.go) is the wire layer: authentication, dispatch on X-Amz-Target,
// the wire structs and the one writer of the service's errors. Its golden
// files are in testdata/golden.
//
// API reference: https://docs.aws.amazon.com/kms/latest/APIReference/
package kms

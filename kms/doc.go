// Package kms is lambdahost's local key service: a KMS-compatible subset
// (CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey) served on
// lambdahost's listener in KMS's protocol, AWS JSON 1.1, so that
// `aws kms --endpoint-url` and the SDKs' KMS clients work against it.
//
// API reference: https://docs.aws.amazon.com/kms/latest/APIReference/
package kms

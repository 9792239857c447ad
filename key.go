package lambdahost

import (
	"context"
	"errors"
)

// KeyService is the key service that seals code at rest (package kms): a
// package is encrypted under a random data key, and a KMS key wraps that
// data key. The Lambda control plane asks it for the KMS key of a
// deployment and for the key that opens stored code.
type KeyService interface {
	// CodeKey returns the key that seals new code of account in region:
	// the key keyARN names (a function's SourceKMSKeyArn) or, if keyARN is
	// empty, the account's service-managed key for Lambda
	// (alias/aws/lambda), created on first use. A key that does not exist,
	// is another account's or region's, or is disabled is a *KeyError.
	CodeKey(ctx context.Context, account, region, keyARN string) (CodeKey, error)
	// CodeKeyByARN returns the key keyARN names, whichever account's and
	// region's it is, to open code sealed under it. A key that does not
	// exist or is disabled is a *KeyError.
	CodeKeyByARN(ctx context.Context, keyARN string) (CodeKey, error)
}

// CodeKey is a KMS key ready to wrap and unwrap the data keys of code.
type CodeKey interface {
	// ARN is the key's ARN, which code sealed under it records.
	ARN() string
	// Wrap encrypts dataKey under the key, bound to its ARN.
	Wrap(dataKey []byte) ([]byte, error)
	// Unwrap decrypts what Wrap returned; it fails for anything else.
	Unwrap(wrapped []byte) ([]byte, error)
}

// Why a KMS key cannot be used, in a *KeyError.
var (
	// ErrKeyNotFound means the key does not exist, or is not the caller's.
	ErrKeyNotFound = errors.New("kms key not found")
	// ErrKeyDisabled means the key exists and is disabled.
	ErrKeyDisabled = errors.New("kms key disabled")
)

// KeyError reports a KMS key that cannot seal or open code. Err is
// ErrKeyNotFound or ErrKeyDisabled; control/ words it as Lambda does.
type KeyError struct {
	// ARN is the key's: the ARN asked for if it was not found, the key's
	// own if it is disabled.
	ARN string
	Err error
}

func (e *KeyError) Error() string { return "kms key " + e.ARN + ": " + e.Err.Error() }

func (e *KeyError) Unwrap() error { return e.Err }

// KeyAuditor is a KeyService that an integrity check (lambdahost check)
// can ask about keys whatever their state. Package kms implements it.
type KeyAuditor interface {
	// AuditKeys calls problem for every key whose material does not open
	// with the master key, reading the keys in tx.
	AuditKeys(ctx context.Context, tx Tx, problem func(keyARN, message string)) error
	// AuditKey returns the key keyARN names, enabled or not, read in tx,
	// to open code sealed under it. A key that does not exist is a
	// *KeyError wrapping ErrKeyNotFound; a key whose material does not
	// open with the master key is an error wrapping ErrKeyUnopenable.
	AuditKey(ctx context.Context, tx Tx, keyARN string) (CodeKey, error)
}

// ErrKeyUnopenable means a key's material does not open with the master
// key: the data was sealed under another master key, or is damaged.
var ErrKeyUnopenable = errors.New("kms key material does not open with the master key")

package lambdahost

import (
	"context"
	"crypto/ecdsa"
	"time"
)

// Publisher is what verifying a code signature needs to know of the AWS
// Signer profile version that made it.
type Publisher struct {
	// Key is the profile version's public key.
	Key *ecdsa.PublicKey
	// Status is the profile's: Active, Canceled or Revoked. A canceled
	// profile's earlier signatures stay valid.
	Status string
	// RevokedFrom is zero unless the profile version is revoked:
	// signatures made at or after it are revoked.
	RevokedFrom time.Time
	// CanceledAt is zero unless the profile was canceled. Signing jobs
	// stop then, but a key exported before can still sign offline: a
	// verifier may distrust signatures dated at or after it.
	CanceledAt time.Time
}

// Publishers answers what the Lambda control plane's code signing checks
// ask AWS Signer (package signer): who made a signature, and whether it
// was revoked. Lookups run in the caller's transaction, so that a
// deployment is checked against one snapshot of the store.
type Publishers interface {
	// Publisher returns the publisher of the signing profile version
	// profileVersionARN, in any account. Returns an error wrapping
	// ErrNotFound if there is none.
	Publisher(ctx context.Context, tx Tx, profileVersionARN string) (*Publisher, error)
	// SignatureRevoked reports whether the signature that the signing job
	// jobARN made was revoked (RevokeSignature); false for a job it does
	// not know, such as one signed offline.
	SignatureRevoked(ctx context.Context, tx Tx, jobARN string) (bool, error)
}

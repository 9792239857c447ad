package lambdahost

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// MasterKeySize is the size of the operator's master key: an AES-256 key.
const MasterKeySize = 32

// ErrUnseal is returned by Unseal for sealed data that does not open with
// the key and additional data given: a wrong key, or tampered data.
var ErrUnseal = errors.New("sealed data does not open with this key")

// Seal encrypts plaintext with key (MasterKeySize bytes) by AES-256-GCM,
// binding aad (which is not stored) to it. The result is a random nonce
// followed by the ciphertext and tag. Secrets lambdahost keeps (profile
// signing keys, key material of local KMS keys) are sealed with the
// operator's master key, so that the metadata store never holds them in
// plaintext; aad names what was sealed, so that sealed values cannot be
// swapped between records.
func Seal(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

// Unseal opens what Seal sealed with the same key and aad. It returns an
// error wrapping ErrUnseal if they do not match.
func Unseal(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, fmt.Errorf("unseal: %w", ErrUnseal)
	}
	out, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("unseal: %w", ErrUnseal)
	}
	return out, nil
}

// newGCM returns AES-256-GCM with key: the master key, a KMS key's
// material or a code data key, all 32 bytes.
func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("AES-256-GCM key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

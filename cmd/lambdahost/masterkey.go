package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lambdahost/lambdahost"
)

// loadMasterKey reads the operator's master key, which seals every secret
// lambdahost keeps in its metadata (signing profiles' private keys, local
// KMS key material). A missing file is created with a new random key; an
// existing file that is not exactly one key is an error and is never
// replaced, since that would make everything sealed with it unreadable.
// Several serve processes sharing one store must be given the same file.
func loadMasterKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(b) == lambdahost.MasterKeySize:
		return b, nil
	case err == nil:
		return nil, fmt.Errorf("master key %s: %d bytes, want %d random bytes", path, len(b), lambdahost.MasterKeySize)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read master key: %w", err)
	}
	key := make([]byte, lambdahost.MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// O_EXCL: a concurrent first start of another process must not
	// write a second key over the first.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadMasterKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	if _, err = f.Write(key); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write master key: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return key, nil
}

package lambdahost_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lambdahost/lambdahost"
)

func TestSeal(t *testing.T) {
	key := bytes.Repeat([]byte{7}, lambdahost.MasterKeySize)
	other := bytes.Repeat([]byte{8}, lambdahost.MasterKeySize)
	secret := []byte("profile signing key")
	sealed, err := lambdahost.Seal(key, secret, []byte("arn:a"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value holds the plaintext")
	}
	again, _ := lambdahost.Seal(key, secret, []byte("arn:a"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one value are equal: nonce not random")
	}
	got, err := lambdahost.Unseal(key, sealed, []byte("arn:a"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Unseal = %q, %v", got, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, tc := range map[string]struct {
		key, sealed, aad []byte
	}{
		"WrongKey":  {other, sealed, []byte("arn:a")},
		"WrongAAD":  {key, sealed, []byte("arn:b")},
		"Tampered":  {key, flipped, []byte("arn:a")},
		"Truncated": {key, sealed[:10], []byte("arn:a")},
		"Empty":     {key, nil, []byte("arn:a")},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := lambdahost.Unseal(tc.key, tc.sealed, tc.aad); !errors.Is(err, lambdahost.ErrUnseal) {
				t.Fatalf("Unseal = %v, want ErrUnseal", err)
			}
		})
	}
	if _, err := lambdahost.Seal(key[:16], secret, nil); err == nil {
		t.Fatal("Seal took a 16-byte key")
	}
}

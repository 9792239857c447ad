package lambdahost_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/lambdahost/lambdahost"
)

func TestCheckSealedLayout(t *testing.T) {
	const c = lambdahost.SealedChunkSize
	for _, size := range []int{0, 1, c - 1, c, c + 1, 3*c + 17} {
		plain := make([]byte, size)
		rand.Read(plain)
		sealed, _ := seal(t, plain)
		tr, n, err := lambdahost.CheckSealedLayout(bytes.NewReader(sealed), int64(len(sealed)))
		if err != nil || n != int64(size) || tr.KeyARN != "arn:aws:kms:us-east-1:000000000000:key/k" {
			t.Errorf("size %d: CheckSealedLayout = %q, %d, %v; want the key, %d, nil", size, tr.KeyARN, n, err, size)
		}
	}

	plain := make([]byte, c+100)
	rand.Read(plain)
	sealed, _ := seal(t, plain)
	trailer := sealed[c+16+100+16:]
	tests := []struct {
		name   string
		sealed []byte
	}{
		{"empty", nil},
		{"no-trailer", sealed[:c+16+100+16]},
		{"chunks-shorter-than-a-tag", append(bytes.Repeat([]byte{1}, 10), trailer...)},
		{"last-chunk-shorter-than-a-tag", append(bytes.Clone(sealed[:c+16+5]), trailer...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := lambdahost.CheckSealedLayout(bytes.NewReader(tt.sealed), int64(len(tt.sealed)))
			if !errors.Is(err, lambdahost.ErrSealedCode) {
				t.Errorf("err=%v, want ErrSealedCode", err)
			}
		})
	}
}

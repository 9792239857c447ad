package kms_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/lambdahost/lambdahost"
)

func callerCtx(t testing.TB, account string) context.Context {
	return lambdahost.WithCaller(t.Context(), lambdahost.Caller{AccessKey: "k", Account: account, Region: "us-east-1"})
}

// TestCodeKey covers the key service as the Lambda control plane uses it:
// which key seals code, and why a key cannot.
func TestCodeKey(t *testing.T) {
	e := newEnv(t)
	ctx := callerCtx(t, "000000000000")
	mine, err := e.svc.CreateKey(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := e.svc.CreateKey(callerCtx(t, "111111111111"), "")
	if err != nil {
		t.Fatal(err)
	}
	disabled, err := e.svc.CreateKey(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DisableKey(ctx, disabled.KeyID); err != nil {
		t.Fatal(err)
	}
	missing := "arn:aws:kms:us-east-1:000000000000:key/11111111-1111-4111-8111-999999999999"
	def, err := e.svc.DescribeKey(ctx, "alias/aws/lambda")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		keyARN  string
		wantARN string
		wantErr error
	}{
		{name: "default-key", keyARN: "", wantARN: def.ARN},
		{name: "customer-key", keyARN: mine.ARN, wantARN: mine.ARN},
		{name: "other-account", keyARN: theirs.ARN, wantARN: theirs.ARN, wantErr: lambdahost.ErrKeyNotFound},
		{name: "missing", keyARN: missing, wantARN: missing, wantErr: lambdahost.ErrKeyNotFound},
		{name: "not-an-arn", keyARN: "key", wantARN: "key", wantErr: lambdahost.ErrKeyNotFound},
		{name: "disabled", keyARN: disabled.ARN, wantARN: disabled.ARN, wantErr: lambdahost.ErrKeyDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := e.svc.CodeKey(ctx, "000000000000", "us-east-1", tt.keyARN)
			if tt.wantErr != nil {
				var ke *lambdahost.KeyError
				if !errors.As(err, &ke) || !errors.Is(err, tt.wantErr) || ke.ARN != tt.wantARN {
					t.Fatalf("CodeKey: %v, want a KeyError of %s for %v", err, tt.wantARN, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.ARN() != tt.wantARN {
				t.Errorf("ARN = %s, want %s", k.ARN(), tt.wantARN)
			}
			dataKey := bytes.Repeat([]byte{9}, 32)
			wrapped, err := k.Wrap(dataKey)
			if err != nil {
				t.Fatal(err)
			}
			// Opening code finds the key by its ARN alone.
			opener, err := e.svc.CodeKeyByARN(t.Context(), k.ARN())
			if err != nil {
				t.Fatal(err)
			}
			if got, err := opener.Unwrap(wrapped); err != nil || !bytes.Equal(got, dataKey) {
				t.Errorf("Unwrap = %x, %v", got, err)
			}
			if _, err := opener.Unwrap(append(wrapped[:len(wrapped)-1:len(wrapped)-1], wrapped[len(wrapped)-1]^1)); err == nil {
				t.Error("a changed wrapped key unwrapped")
			}
		})
	}
	// Another account's default key is its own.
	k, err := e.svc.CodeKey(ctx, "111111111111", "us-east-1", "")
	if err != nil || k.ARN() == def.ARN {
		t.Errorf("default key of another account: %v, %v", k, err)
	}
}

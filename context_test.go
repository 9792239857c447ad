package lambdahost_test

import (
	"testing"

	"github.com/lambdahost/lambdahost"
)

func TestCallerPrincipal(t *testing.T) {
	tests := []struct {
		name          string
		caller        lambdahost.Caller
		wantARN, want string
	}{
		{name: "operator-key", caller: lambdahost.Caller{AccessKey: "AKIDEXAMPLE", Account: "123456789012"},
			wantARN: "arn:aws:iam::123456789012:user/AKIDEXAMPLE", want: "AKIDEXAMPLE"},
		{name: "session", caller: lambdahost.Caller{AccessKey: "ASIAEXAMPLE", Account: "123456789012",
			ARN: "arn:aws:sts::123456789012:assumed-role/role/fn", UserID: "AROAEXAMPLE:fn"},
			wantARN: "arn:aws:sts::123456789012:assumed-role/role/fn", want: "AROAEXAMPLE:fn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.caller.PrincipalARN(); got != tt.wantARN {
				t.Errorf("PrincipalARN = %q, want %q", got, tt.wantARN)
			}
			if got := tt.caller.PrincipalID(); got != tt.want {
				t.Errorf("PrincipalID = %q, want %q", got, tt.want)
			}
		})
	}
}

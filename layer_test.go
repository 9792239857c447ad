package lambdahost_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
)

func TestParseLayerName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    lambdahost.LayerRef
		wantErr bool
	}{
		{name: "name", in: "deps", want: lambdahost.LayerRef{Name: "deps"}},
		{name: "arn", in: "arn:aws:lambda:us-east-1:123456789012:layer:deps", want: lambdahost.LayerRef{Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "deps"}},
		{name: "version-arn", in: "arn:aws:lambda:us-east-1:123456789012:layer:deps:1", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "space", in: "my layer", wantErr: true},
		{name: "too-long", in: strings.Repeat("a", 141), wantErr: true},
		{name: "longest", in: strings.Repeat("a", 140), want: lambdahost.LayerRef{Name: strings.Repeat("a", 140)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambdahost.ParseLayerName(tt.in)
			if tt.wantErr {
				if lambdahost.ErrorTypeOf(err) != lambdahost.ValidationException {
					t.Fatalf("error = %v, want a ValidationException", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseLayerVersionARN(t *testing.T) {
	deps := lambdahost.LayerID{Account: "123456789012", Region: "us-east-1", Name: "deps"}
	tests := []struct {
		name   string
		in     string
		want   lambdahost.LayerVersionRef
		wantOK bool
	}{
		{name: "version", in: deps.VersionARN(7), want: lambdahost.LayerVersionRef{Layer: deps, Version: 7, Partition: "aws"}, wantOK: true},
		{name: "gov", in: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:layer:x:1", want: lambdahost.LayerVersionRef{Layer: lambdahost.LayerID{Account: "123456789012", Region: "us-gov-west-1", Name: "x"}, Version: 1, Partition: "aws-us-gov"}, wantOK: true},
		{name: "aws-layer", in: "arn:aws:lambda:::awslayer:AWSLambda-Python", want: lambdahost.LayerVersionRef{AWSLayer: true}, wantOK: true},
		{name: "huge-version", in: deps.ARN() + ":99999999999999999999", want: lambdahost.LayerVersionRef{Layer: deps, Version: -1, Partition: "aws"}, wantOK: true},
		{name: "unversioned", in: deps.ARN()},
		{name: "function", in: "arn:aws:lambda:us-east-1:123456789012:function:f:1"},
		{name: "bad-region", in: "arn:aws:lambda:useast1:123456789012:layer:x:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := lambdahost.ParseLayerVersionARN(tt.in)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if d := cmp.Diff(tt.want, got); ok && d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if ok != lambdahost.ValidLayerVersionARN(tt.in) {
				t.Errorf("ValidLayerVersionARN = %v, ParseLayerVersionARN ok = %v", !ok, ok)
			}
		})
	}
}

// FuzzParseLayerVersionARN: formatting a parsed layer version ARN and
// parsing it again gives the same layer and version, and validity agrees
// with parsing.
func FuzzParseLayerVersionARN(f *testing.F) {
	for _, s := range []string{"arn:aws:lambda:us-east-1:123456789012:layer:deps:1", "arn:aws:lambda:::awslayer:x", "deps", "arn:aws:lambda:eu-west-1:123456789012:layer:a-b_c:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok := lambdahost.ParseLayerVersionARN(s)
		if ok != lambdahost.ValidLayerVersionARN(s) {
			t.Fatalf("ParseLayerVersionARN ok = %v, ValidLayerVersionARN = %v", ok, !ok)
		}
		if ok && !ref.AWSLayer && ref.Version >= 0 {
			again, ok := lambdahost.ParseLayerVersionARN(ref.Layer.VersionARN(ref.Version))
			if !ok || again.Layer != ref.Layer || again.Version != ref.Version {
				t.Fatalf("%q parsed as %+v, formatted and parsed again as %+v (ok %v)", s, ref, again, ok)
			}
		}
		if _, err := lambdahost.ParseLayerName(s); err == nil && strings.HasPrefix(s, "arn:") && ok {
			t.Fatalf("%q is both a layer name and a layer version ARN", s)
		}
	})
}

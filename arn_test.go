package lambdahost_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
)

func TestParseFunctionName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kind    lambdahost.NameKind
		want    lambdahost.FunctionRef
		wantErr lambdahost.ErrorType
		wantMsg string
	}{
		{name: "plain-name", in: "my-fn", want: lambdahost.FunctionRef{Name: "my-fn"}},
		{name: "name-with-version", in: "my-fn:1", want: lambdahost.FunctionRef{Name: "my-fn", Qualifier: "1"}},
		{name: "name-with-latest", in: "my-fn:$LATEST", want: lambdahost.FunctionRef{Name: "my-fn", Qualifier: "$LATEST"}},
		{name: "partial-arn", in: "123456789012:function:my-fn", want: lambdahost.FunctionRef{Account: "123456789012", Name: "my-fn"}},
		{name: "full-arn", in: "arn:aws:lambda:us-east-1:123456789012:function:my-fn", want: lambdahost.FunctionRef{Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "my-fn"}},
		{name: "full-arn-alias", in: "arn:aws:lambda:eu-west-1:123456789012:function:my-fn:live", want: lambdahost.FunctionRef{Partition: "aws", Region: "eu-west-1", Account: "123456789012", Name: "my-fn", Qualifier: "live"}},
		{name: "gov-region", in: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f", want: lambdahost.FunctionRef{Partition: "aws-us-gov", Region: "us-gov-west-1", Account: "123456789012", Name: "f"}},
		{name: "latest-published-namespaced", in: "f:$LATEST.PUBLISHED", kind: lambdahost.NameNamespaced, want: lambdahost.FunctionRef{Name: "f", Qualifier: "$LATEST.PUBLISHED"}},
		{name: "dot-in-namespaced-name", in: "f.g", kind: lambdahost.NameNamespaced, want: lambdahost.FunctionRef{Name: "f.g"}},
		{
			name: "latest-published-not-in-function-name", in: "f:$LATEST.PUBLISHED", wantErr: lambdahost.ValidationException,
			wantMsg: `1 validation error detected: Value 'f:$LATEST.PUBLISHED' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`,
		},
		{
			name: "bad-pattern", in: "invalid:function:name", wantErr: lambdahost.ValidationException,
			wantMsg: `1 validation error detected: Value 'invalid:function:name' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`,
		},
		{
			name: "name-longer-than-64", in: strings.Repeat("a", 65), wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "1 validation error detected: Value '" + strings.Repeat("a", 65) + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64",
		},
		{
			name: "arn-longer-than-140", in: "arn:aws:lambda:us-east-1:123456789012:function:" + strings.Repeat("a", 94), wantErr: lambdahost.ValidationException,
			wantMsg: "1 validation error detected: Value 'arn:aws:lambda:us-east-1:123456789012:function:" + strings.Repeat("a", 94) + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 140",
		},
		{name: "empty", in: "", wantErr: lambdahost.ValidationException},
		{name: "short-account", in: "arn:aws:lambda:us-east-1:123:function:f", wantErr: lambdahost.ValidationException},
		{name: "path-traversal", in: "../etc/passwd", wantErr: lambdahost.ValidationException},
		{name: "space", in: "my fn", wantErr: lambdahost.ValidationException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambdahost.ParseFunctionName(tt.in, tt.kind)
			if tt.wantErr != "" {
				if typ := lambdahost.ErrorTypeOf(err); typ != tt.wantErr {
					t.Fatalf("error type = %q (%v), want %q", typ, err, tt.wantErr)
				}
				var e *lambdahost.Error
				_ = asError(err, &e)
				if tt.wantMsg != "" && e.Message != tt.wantMsg {
					t.Errorf("message:\n got %s\nwant %s", e.Message, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ref (-want +got):\n%s", diff)
			}
		})
	}
}

func asError(err error, target **lambdahost.Error) bool {
	e, ok := err.(*lambdahost.Error)
	if ok {
		*target = e
	}
	return ok
}

// FuzzParseFunctionName checks that whatever parses formats back to a name
// that parses to the same reference, and that failures are API errors.
func FuzzParseFunctionName(f *testing.F) {
	for _, s := range []string{"f", "f:1", "f:$LATEST", "123456789012:function:f", "arn:aws:lambda:us-east-1:123456789012:function:f:alias", "us-east-1:123456789012:function:f", "f.g:$LATEST.PUBLISHED", "", ":::", "arn:aws:lambda:::"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, namespaced bool) {
		kind := lambdahost.NameFunction
		if namespaced {
			kind = lambdahost.NameNamespaced
		}
		ref, err := lambdahost.ParseFunctionName(s, kind)
		if err != nil {
			if lambdahost.ErrorTypeOf(err) == "" {
				t.Fatalf("error %v is not an API error", err)
			}
			return
		}
		if ref.Name == "" || len(ref.Name) > lambdahost.MaxFunctionNameLength {
			t.Fatalf("parsed %q to bad name %q", s, ref.Name)
		}
		again, err := lambdahost.ParseFunctionName(ref.String(), kind)
		if err != nil {
			t.Fatalf("ParseFunctionName(%q) = %+v; its String %q does not parse: %v", s, ref, ref.String(), err)
		}
		if again != ref {
			t.Fatalf("round trip of %q: %+v → %q → %+v", s, ref, ref.String(), again)
		}
	})
}

func TestParseTaggableResource(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    lambdahost.ResourceRef
		wantErr bool
	}{
		{name: "function", in: "arn:aws:lambda:us-east-1:123456789012:function:f", want: lambdahost.ResourceRef{Region: "us-east-1", Account: "123456789012", Name: "f"}},
		{name: "qualified", in: "arn:aws:lambda:us-east-1:123456789012:function:f:1", want: lambdahost.ResourceRef{Region: "us-east-1", Account: "123456789012", Name: "f", Qualifier: "1"}},
		{name: "code-signing-config", in: "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdefg", want: lambdahost.ResourceRef{Region: "us-east-1", Account: "123456789012"}},
		{name: "other-service", in: "arn:aws:s3:us-east-1:123456789012:function:f", wantErr: true},
		{name: "name-only", in: "f", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambdahost.ParseTaggableResource(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if err != nil && lambdahost.ErrorTypeOf(err) != lambdahost.ValidationException {
				t.Errorf("error type = %q, want ValidationException", lambdahost.ErrorTypeOf(err))
			}
		})
	}
}

func TestVersionOrder(t *testing.T) {
	names := []string{"$LATEST", "$LATEST.PUBLISHED", "1", "2", "10", "11"}
	for i := 1; i < len(names); i++ {
		if lambdahost.VersionOrder(names[i-1]) >= lambdahost.VersionOrder(names[i]) {
			t.Errorf("VersionOrder(%q) >= VersionOrder(%q)", names[i-1], names[i])
		}
	}
	for _, bad := range []string{"", "0", "-1", "live", "01x"} {
		if got := lambdahost.VersionOrder(bad); got != -3 {
			t.Errorf("VersionOrder(%q) = %d, want -3", bad, got)
		}
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"role-ok", lambdahost.ValidRole, "arn:aws:iam::123456789012:role/service-role/x", true},
		{"role-short-account", lambdahost.ValidRole, "arn:aws:iam::1234:role/x", false},
		{"role-not-iam", lambdahost.ValidRole, "r1", false},
		{"alias-ok", lambdahost.ValidAliasName, "live", true},
		{"alias-digits", lambdahost.ValidAliasName, "2024", false},
		{"alias-long", lambdahost.ValidAliasName, strings.Repeat("a", 129), false},
		{"qualifier-latest", lambdahost.ValidQualifier, "$LATEST", true},
		{"qualifier-bad-char", lambdahost.ValidQualifier, "a?b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzParseTaggableResource: a resource ARN either is refused with a
// ValidationException or names a 12-digit account, a region, and (for a
// function) a name that ParseFunctionName accepts too, unless too long.
func FuzzParseTaggableResource(f *testing.F) {
	for _, s := range []string{"arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:lambda:us-east-1:123456789012:function:f:live",
		"arn:aws:lambda:eu-west-1:123456789012:layer:l", "arn:aws:lambda:us-east-1:123456789012:function:../x", "arn:aws:lambda:us-east-1:123456789012:function:f%00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := lambdahost.ParseTaggableResource(s)
		if err != nil {
			if lambdahost.ErrorTypeOf(err) != lambdahost.ValidationException {
				t.Fatalf("error %v is not a ValidationException", err)
			}
			return
		}
		if len(r.Account) != 12 || r.Region == "" {
			t.Fatalf("parsed %q to account %q region %q", s, r.Account, r.Region)
		}
		if r.Name != "" {
			// Over 64 characters, the name is well-formed but no function's.
			if _, err := lambdahost.ParseFunctionName(r.Name, lambdahost.NameFunction); err != nil && len(r.Name) <= lambdahost.MaxFunctionNameLength {
				t.Fatalf("parsed %q to function name %q, which ParseFunctionName refuses: %v", s, r.Name, err)
			}
		}
	})
}

package sigv4

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const sdkHeader = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request, " +
	"SignedHeaders=content-length;content-type;host;x-amz-date, " +
	"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

var parseTests = []struct {
	name    string
	in      string
	want    authorization
	wantErr Kind
}{
	{
		name: "sdk",
		in:   sdkHeader,
		want: authorization{
			Algorithm:     "AWS4-HMAC-SHA256",
			Credential:    "AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request",
			SignedHeaders: "content-length;content-type;host;x-amz-date",
			Signature:     "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
		},
	},
	{
		name: "commas-no-spaces",
		in:   "AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=00",
		want: authorization{Algorithm: "AWS4-HMAC-SHA256", Credential: "a/b/c/d/e", SignedHeaders: "host", Signature: "00"},
	},
	{
		name: "spaces-no-commas-any-order",
		in:   "AWS4-HMAC-SHA256  Signature=00 \tCredential=a/b/c/d/e SignedHeaders=host",
		want: authorization{Algorithm: "AWS4-HMAC-SHA256", Credential: "a/b/c/d/e", SignedHeaders: "host", Signature: "00"},
	},
	{
		name: "unknown-parameter-ignored",
		in:   "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, Extra=1, SignedHeaders=host, Signature=00",
		want: authorization{Algorithm: "AWS4-HMAC-SHA256", Credential: "a/b/c/d/e", SignedHeaders: "host", Signature: "00"},
	},
	{
		name: "value-with-equals",
		in:   "AWS4-HMAC-SHA256 Credential=a=b",
		want: authorization{Algorithm: "AWS4-HMAC-SHA256", Credential: "a=b"},
	},
	{name: "algorithm-only", in: "AWS4-HMAC-SHA256", want: authorization{Algorithm: "AWS4-HMAC-SHA256"}},
	{name: "empty", in: ""},
	{name: "bearer-not-parsed", in: "Bearer eyJ.x.y", want: authorization{Algorithm: "Bearer"}},
	{name: "basic-not-parsed", in: "Basic dXNlcjpwYXNz", want: authorization{Algorithm: "Basic"}},
	{name: "missing-equal-sign", in: "AWS4-HMAC-SHA256 Credential", wantErr: IncompleteSignatureException},
	{name: "duplicate", in: "AWS4-HMAC-SHA256 Signature=1, Signature=2", wantErr: IncompleteSignatureException},
	{name: "duplicate-after-empty", in: "AWS4-HMAC-SHA256 Signature=, Signature=2", wantErr: IncompleteSignatureException},
}

func TestParseAuthorization(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAuthorization(tt.in)
			var e *Error
			if tt.wantErr != "" {
				if !errors.As(err, &e) || e.Code != tt.wantErr {
					t.Fatalf("error = %v, want code %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("authorization mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemoveDotSegments(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/b/", "/a/b/"},
		{"//a//b//", "/a/b/"},
		{"/a/./b/../c", "/a/c"},
		{"/a/b/..", "/a"},
		{"/..", "/"},
		{"/a%2F../b", "/a%2F../b"},
		{"/a/%2E%2E/b", "/a/%2E%2E/b"},
	}
	for _, tt := range tests {
		if got := removeDotSegments(tt.in); got != tt.want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseAuthorization checks that parsing never panics, that what it
// accepts formats and parses back to itself, and that Start never panics
// on the header and fails, if it does, with an *Error.
func FuzzParseAuthorization(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	v := &Verifier{
		Lookup: func(k string) (Credential, bool) { return Credential{AccessKey: k, Secret: "s"}, k == "AKIDEXAMPLE" },
		Now:    func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := parseAuthorization(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != IncompleteSignatureException {
				t.Fatalf("error %v is not an IncompleteSignatureException", err)
			}
		} else if a.Algorithm == algorithm && len(a.missing()) == 0 {
			for _, f := range []string{a.Credential, a.SignedHeaders, a.Signature} {
				if strings.ContainsAny(f, ", \t") {
					t.Fatalf("field %q of %q holds a separator", f, in)
				}
			}
			b, err := parseAuthorization(a.String())
			if err != nil {
				t.Fatalf("parse %q (from %q): %v", a.String(), in, err)
			}
			if diff := cmp.Diff(a, b); diff != "" {
				t.Fatalf("round trip of %q through %q (-first +second):\n%s", in, a.String(), diff)
			}
		}

		r, err := http.NewRequest("GET", "http://lambda.test/2015-03-31/functions", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", in)
		r.Header.Set("X-Amz-Date", "20240101T000000Z")
		if p, err := v.Start(r); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Start error %v is not an *Error", err)
			}
		} else if _, err := p.Finish(strings.Repeat("0", 64)); err == nil {
			t.Fatalf("header %q verified with a made-up signature", in)
		}
	})
}

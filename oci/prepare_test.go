package oci_test

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/oci"
)

// TestPrepareReasons: an image that goes away or is refused between an
// update's resolution and its unpacking fails the update with AWS's reason
// code, not an internal error.
func TestPrepareReasons(t *testing.T) {
	anon, auth := mustRegistries(t)
	img := lambdaImage(t, "amd64", "v1")
	d := manifestDigest(t, img)
	pushedAnon := push(t, repo(t, anon.Host)+":v1", img, anonymous)
	pushedAuth := push(t, repo(t, auth.Host)+":v1", img, credsFor(auth.Host, "lambdahost", "s3cret-pass"))
	var digest lambdahost.Digest
	if _, err := hex.Decode(digest[:], []byte(d.Hex)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		resolved string
		wantCode string
	}{
		{name: "present", resolved: repo(t, anon.Host) + "@" + pushedAnon.String()},
		{name: "deleted", resolved: repo(t, anon.Host) + "-gone@" + d.String(), wantCode: "ImageDeleted"},
		{name: "access-denied", resolved: repo(t, auth.Host) + "@" + pushedAuth.String(), wantCode: "ImageAccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := oci.NewSource(t.TempDir())
			s.Keychain = anonymous
			v := &lambdahost.Version{Code: lambdahost.Code{PackageType: lambdahost.PackageImage, Digest: digest, ResolvedImageURI: tt.resolved}}
			err := s.Prepare(t.Context(), v)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Prepare: %v", err)
				}
				return
			}
			var re *lambdahost.ReasonError
			if !errors.As(err, &re) || re.Code != tt.wantCode || re.Message == "" {
				t.Fatalf("Prepare = %v, want a ReasonError %s", err, tt.wantCode)
			}
		})
	}
}

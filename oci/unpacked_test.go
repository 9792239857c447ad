package oci_test

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/oci"
)

func TestUnpacked(t *testing.T) {
	s := oci.NewSource(t.TempDir())
	if got, err := s.Unpacked(); err != nil || len(got) != 0 {
		t.Errorf("Unpacked before any image = %v, %v; want none", got, err)
	}
	images := filepath.Join(s.Dir, "images", "sha256")
	d := lambdahost.Digest(sha256.Sum256([]byte("image")))
	file := lambdahost.Digest(sha256.Sum256([]byte("a file")))
	for _, dir := range []string{d.Hex(), "not-a-digest"} {
		if err := os.MkdirAll(filepath.Join(images, dir, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(images, file.Hex()), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := s.Unpacked()
	if err != nil || !slices.Equal(got, []lambdahost.Digest{d}) {
		t.Errorf("Unpacked = %v, %v; want only %s", got, err, d)
	}
}

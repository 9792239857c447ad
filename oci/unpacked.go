package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/lambdahost/lambdahost"
)

// Unpacked returns the manifest digests of the images unpacked under Dir,
// for a tool that compares them with what is referenced (lambdahost
// check). Unpacks in progress are not listed.
func (s *Source) Unpacked() ([]lambdahost.Digest, error) {
	entries, err := os.ReadDir(s.imagesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list unpacked images: %w", err)
	}
	var out []lambdahost.Digest
	for _, e := range entries {
		if d, err := lambdahost.ParseDigestHex(e.Name()); err == nil && e.IsDir() {
			out = append(out, d)
		}
	}
	return out, nil
}

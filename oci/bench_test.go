package oci_test

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/oci"
)

// BenchmarkFetchUnpack measures what CreateFunction and the first invoke
// of an image function cost: Fetch, then Unpack, of a 20 MiB image of four
// incompressible layers from a local docker-registry. Cold unpacks into an
// empty Dir; warm finds the image unpacked already, so Unpack is a stat and
// the cost is Fetch's registry round trips.
func BenchmarkFetchUnpack(b *testing.B) {
	anon, _ := mustRegistries(b)
	const layerSize, layers = 5 << 20, 4
	img, err := random.Image(layerSize, layers)
	if err != nil {
		b.Fatal(err)
	}
	ref := repo(b, anon.Host) + ":v1"
	push(b, ref, img, anonymous)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	fetchUnpack := func(b *testing.B, s *oci.Source) {
		var w memBlob
		code, err := s.Fetch(b.Context(), "", lambdahost.CodeLocation{ImageURI: ref}, &w)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Unpack(b.Context(), w.Digest(), code.ResolvedImageURI); err != nil {
			b.Fatal(err)
		}
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	}

	b.Run("cold", func(b *testing.B) {
		b.SetBytes(layerSize * layers)
		parent := b.TempDir()
		for range b.N {
			b.StopTimer()
			dir, err := os.MkdirTemp(parent, "")
			if err != nil {
				b.Fatal(err)
			}
			s := oci.NewSource(dir)
			s.Keychain, s.Logger = anonymous, quiet
			b.StartTimer()
			fetchUnpack(b, s)
			b.StopTimer()
			if _, err := s.Collect(b.Context(), nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		report(b)
	})
	b.Run("warm", func(b *testing.B) {
		b.SetBytes(layerSize * layers)
		s := oci.NewSource(b.TempDir())
		s.Keychain, s.Logger = anonymous, quiet
		fetchUnpack(b, s)
		b.ResetTimer()
		for range b.N {
			fetchUnpack(b, s)
		}
		report(b)
	})
}

package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// handlerSource is the small file every bench zip carries, so that the
// zips are plausible Python deployment packages.
const handlerSource = "def handler(event, context):\n    return event\n"

// makeZip returns a zip of exactly size bytes (or the smallest possible, if
// size is smaller): index.py plus a stored (uncompressed) file of random,
// hence incompressible, bytes drawn from rng.
func makeZip(size int, rng *rand.ChaCha8) ([]byte, error) {
	overhead, err := buildZip(nil)
	if err != nil {
		return nil, err
	}
	n := max(size-len(overhead), 0)
	data := make([]byte, n)
	rng.Read(data)
	z, err := buildZip(data)
	if err != nil {
		return nil, err
	}
	if n > 0 && len(z) != size {
		return nil, fmt.Errorf("zip is %d bytes, want %d", len(z), size)
	}
	return z, nil
}

func buildZip(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"index.py", []byte(handlerSource)}, {"random.bin", data}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// zipFileBody returns the JSON body botocore sends for a ZipFile member:
// prefix, the zip in standard base64, suffix.
func zipFileBody(prefix string, z []byte, suffix string) []byte {
	b := make([]byte, len(prefix)+base64.StdEncoding.EncodedLen(len(z))+len(suffix))
	copy(b, prefix)
	base64.StdEncoding.Encode(b[len(prefix):], z)
	copy(b[len(b)-len(suffix):], suffix)
	return b
}

// updateCodePrefix starts every UpdateFunctionCode body; the floor skips it.
const updateCodePrefix = `{"ZipFile": "`

// updateCodeBody is an UpdateFunctionCode request body, as botocore
// serializes it (json.dumps, which puts a space after the colon).
func updateCodeBody(z []byte) []byte {
	return zipFileBody(updateCodePrefix, z, `"}`)
}

// createFunctionBody is a CreateFunction request body for a Python
// function named name with code z.
func createFunctionBody(name, role string, z []byte) []byte {
	prefix := fmt.Sprintf(`{"FunctionName": %q, "Runtime": "python3.12", "Role": %q, "Handler": "index.handler", "Code": {"ZipFile": "`, name, role)
	return zipFileBody(prefix, z, `"}}`)
}

// parseSize parses sizes such as 50KiB, 1MiB, 10MiB, 1000 (bytes).
func parseSize(s string) (int, error) {
	units := []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"KB", 1000}, {"MB", 1000 * 1000}, {"B", 1}}
	mult := 1
	num := s
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = v, u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional KiB, MiB, KB, MB or B suffix", s)
	}
	return int(n * float64(mult)), nil
}

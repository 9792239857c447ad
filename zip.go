package lambdahost

import (
	"archive/zip"
	"io"
	"strconv"
)

// Code size limits, as AWS states them in its error messages.
const (
	// MaxRequestBody is the largest CreateFunction/UpdateFunctionCode body.
	MaxRequestBody = 70167211
	// MaxZippedSize is the largest zip uploaded directly in the request.
	MaxZippedSize = 52428800
	// MaxUnzippedSize is the largest total uncompressed size of a package.
	MaxUnzippedSize = 262144000
	// maxZipEntries bounds the central directory a package may declare.
	maxZipEntries = 100000
)

// Messages AWS answers for bad packages.
const (
	msgCannotUnzip = "Could not unzip uploaded file. Please check your file, then try to upload again."
)

// InspectZip reads the central directory of the zip archive in r and
// returns the sum of the entries' uncompressed sizes. It answers AWS's
// InvalidParameterValueException when r is not a zip archive or when the
// package unzips to MaxUnzippedSize bytes or more.
//
// It does not decompress: a lying archive is caught when it is extracted,
// which must enforce the same limit on the bytes it actually writes.
func InspectZip(r io.ReaderAt, size int64) (unzipped int64, err error) {
	zr, err := zip.NewReader(r, size)
	if err != nil || len(zr.File) > maxZipEntries {
		e := Errorf(InvalidParameterValueException, msgCannotUnzip)
		e.Err = err
		return 0, e
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total >= MaxUnzippedSize || f.UncompressedSize64 >= MaxUnzippedSize {
			return 0, Errorf(InvalidParameterValueException, "Unzipped size must be smaller than %s bytes", strconv.Itoa(MaxUnzippedSize))
		}
	}
	return int64(total), nil
}

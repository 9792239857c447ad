package lambdahost_test

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/lambdahost/lambdahost"
)

func makeZip(tb testing.TB, files map[string][]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// lyingZip declares an entry of the given uncompressed size without storing it.
func lyingZip(tb testing.TB, declared uint64) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "big", Method: zip.Store, UncompressedSize64: declared, CompressedSize64: 1, CRC32: 0}
	w, err := zw.CreateRaw(h)
	if err != nil {
		tb.Fatal(err)
	}
	w.Write([]byte{0})
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestInspectZip(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    int64
		wantMsg string
	}{
		{name: "one-file", data: makeZip(t, map[string][]byte{"app.py": []byte("def h(e, c): pass\n")}), want: 18},
		{name: "empty-archive", data: makeZip(t, nil), want: 0},
		{name: "not-a-zip", data: []byte("hello, world"), wantMsg: "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{name: "truncated", data: makeZip(t, map[string][]byte{"a": []byte("x")})[:20], wantMsg: "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{name: "over-unzipped-limit", data: lyingZip(t, lambdahost.MaxUnzippedSize), wantMsg: "Unzipped size must be smaller than 262144000 bytes"},
		{name: "just-under-limit", data: lyingZip(t, lambdahost.MaxUnzippedSize-1), want: lambdahost.MaxUnzippedSize - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambdahost.InspectZip(bytes.NewReader(tt.data), int64(len(tt.data)))
			if tt.wantMsg != "" {
				e, ok := err.(*lambdahost.Error)
				if !ok || e.Type != lambdahost.InvalidParameterValueException || e.Message != tt.wantMsg {
					t.Fatalf("err = %v, want InvalidParameterValueException %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("unzipped = %d, want %d", got, tt.want)
			}
		})
	}
}

// FuzzInspectZip: any input either is refused with an API error or is
// accepted with a size under the limit; never a panic.
func FuzzInspectZip(f *testing.F) {
	f.Add(makeZip(f, map[string][]byte{"a": []byte("x")}))
	f.Add(makeZip(f, nil))
	f.Add(lyingZip(f, 1<<40))
	f.Add([]byte("PK\x05\x06"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := lambdahost.InspectZip(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if lambdahost.ErrorTypeOf(err) != lambdahost.InvalidParameterValueException {
				t.Fatalf("error %v is not InvalidParameterValueException", err)
			}
			return
		}
		if n < 0 || n >= lambdahost.MaxUnzippedSize {
			t.Fatalf("accepted with unzipped size %d", n)
		}
	})
}

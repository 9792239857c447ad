package s3

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lambdahost/lambdahost"
)

// Fetch's streaming limit is tested here on plain readers: an S3 server
// always announces the object's length, which Fetch checks first, so a body
// longer than announced cannot be served by a real server.
func TestCopyLimited(t *testing.T) {
	errBroken := errors.New("connection reset")
	tests := []struct {
		name    string
		r       io.Reader
		limit   int64
		buf     int
		want    string
		wantErr error
	}{
		{name: "empty", r: strings.NewReader(""), limit: 10, buf: 4},
		{name: "under-limit", r: strings.NewReader("abc"), limit: 10, buf: 4, want: "abc"},
		{name: "exactly-limit", r: strings.NewReader("abcdefghij"), limit: 10, buf: 4, want: "abcdefghij"},
		{name: "exactly-limit-one-read", r: strings.NewReader("abcdefghij"), limit: 10, buf: 64, want: "abcdefghij"},
		{name: "one-over", r: strings.NewReader("abcdefghijk"), limit: 10, buf: 4, want: "abcdefgh", wantErr: errTooLarge},
		{name: "one-over-one-read", r: strings.NewReader("abcdefghijk"), limit: 10, buf: 64, wantErr: errTooLarge},
		{name: "one-over-byte-reads", r: iotest.OneByteReader(strings.NewReader("abcdefghijk")), limit: 10, buf: 4, want: "abcdefghij", wantErr: errTooLarge},
		{name: "data-with-eof", r: iotest.DataErrReader(strings.NewReader("abc")), limit: 10, buf: 4, want: "abc"},
		{name: "zero-limit", r: strings.NewReader("a"), limit: 0, buf: 4, wantErr: errTooLarge},
		{name: "read-error", r: io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(errBroken)), limit: 10, buf: 4, want: "abc", wantErr: errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w bytes.Buffer
			n, err := copyLimited(&w, tt.r, tt.limit, make([]byte, tt.buf))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == errBroken {
				var re *readError
				if !errors.As(err, &re) {
					t.Errorf("err = %T, want *readError", err)
				}
			}
			if w.String() != tt.want || n != int64(len(tt.want)) {
				t.Errorf("wrote %q (n=%d), want %q", w.String(), n, tt.want)
			}
		})
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCopyLimitedWriteError(t *testing.T) {
	_, err := copyLimited(failWriter{}, strings.NewReader("abc"), 10, make([]byte, 4))
	var re *readError
	if err == nil || errors.As(err, &re) {
		t.Fatalf("err = %v, want the writer's error, not a *readError", err)
	}
}

func FuzzCopyLimited(f *testing.F) {
	f.Add([]byte("abcdefghijk"), int64(10), uint16(4), false)
	f.Add([]byte("abc"), int64(10), uint16(64), true)
	f.Add([]byte{}, int64(0), uint16(1), false)
	f.Fuzz(func(t *testing.T, data []byte, limit int64, buf uint16, oneByte bool) {
		if limit < 0 || buf == 0 {
			return
		}
		var r io.Reader = bytes.NewReader(data)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		var w bytes.Buffer
		n, err := copyLimited(&w, r, limit, make([]byte, buf))
		if n != int64(w.Len()) {
			t.Fatalf("n = %d, wrote %d", n, w.Len())
		}
		if n > limit {
			t.Fatalf("wrote %d bytes, limit %d", n, limit)
		}
		if !bytes.HasPrefix(data, w.Bytes()) {
			t.Fatalf("wrote bytes that are not a prefix of the input")
		}
		switch {
		case int64(len(data)) > limit && !errors.Is(err, errTooLarge):
			t.Fatalf("%d bytes, limit %d: err = %v, want errTooLarge", len(data), limit, err)
		case int64(len(data)) <= limit && (err != nil || n != int64(len(data))):
			t.Fatalf("%d bytes, limit %d: n, err = %d, %v, want everything", len(data), limit, n, err)
		}
	})
}

func TestBufferSize(t *testing.T) {
	tests := []struct {
		size int64
		want int
	}{
		{size: 0, want: maxBuffer},
		{size: 1, want: minBuffer},
		{size: 4096, want: 4097},
		{size: maxBuffer - 1, want: maxBuffer},
		{size: maxBuffer, want: maxBuffer},
		{size: 50 << 20, want: maxBuffer},
	}
	for _, tt := range tests {
		if got := bufferSize(tt.size); got != tt.want {
			t.Errorf("bufferSize(%d) = %d, want %d", tt.size, got, tt.want)
		}
	}
}

func TestObjectURL(t *testing.T) {
	tests := []struct {
		loc  lambdahost.CodeLocation
		want string
	}{
		{lambdahost.CodeLocation{S3Bucket: "b", S3Key: "k.zip"}, "s3://b/k.zip"},
		{lambdahost.CodeLocation{S3Bucket: "b", S3Key: "dir/a b.zip", S3ObjectVersion: "v+1"}, "s3://b/dir/a%20b.zip?versionId=v%2B1"},
	}
	for _, tt := range tests {
		if got := objectURL(tt.loc); got != tt.want {
			t.Errorf("objectURL(%+v) = %q, want %q", tt.loc, got, tt.want)
		}
	}
}

// TestNewDefaults checks the options New fills in, without any server.
func TestNewDefaults(t *testing.T) {
	s, err := New(t.Context(), Options{Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err != nil {
		t.Fatal(err)
	}
	if s.maxSize != lambdahost.MaxUnzippedSize || s.timeout != DefaultTimeout || s.stall != DefaultStallTimeout {
		t.Errorf("maxSize, timeout, stall = %d, %v, %v", s.maxSize, s.timeout, s.stall)
	}
	o := s.s3Client(t.Context()).Options()
	if o.Region != DefaultRegion {
		t.Errorf("Region = %q, want %q", o.Region, DefaultRegion)
	}
	if o.BaseEndpoint != nil {
		t.Errorf("BaseEndpoint = %q, want AWS's", aws.ToString(o.BaseEndpoint))
	}
	if got := o.Retryer.MaxAttempts(); got != DefaultMaxAttempts {
		t.Errorf("MaxAttempts = %d, want %d", got, DefaultMaxAttempts)
	}

	s, err = New(t.Context(), Options{Region: "eu-west-1", MaxAttempts: 5, Endpoint: "http://127.0.0.1:1", Credentials: aws.AnonymousCredentials{}})
	if err != nil {
		t.Fatal(err)
	}
	o = s.s3Client(t.Context()).Options()
	if o.Region != "eu-west-1" || aws.ToString(o.BaseEndpoint) != "http://127.0.0.1:1" || o.Retryer.MaxAttempts() != 5 || o.Credentials != nil {
		t.Errorf("Region, BaseEndpoint, MaxAttempts, Credentials = %q, %q, %d, %v",
			o.Region, aws.ToString(o.BaseEndpoint), o.Retryer.MaxAttempts(), o.Credentials)
	}
}

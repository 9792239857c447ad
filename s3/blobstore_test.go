package s3_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/blobtest"
	"github.com/lambdahost/lambdahost/internal/testserver"
	fns3 "github.com/lambdahost/lambdahost/s3"
)

var blobPrefixes atomic.Int64

// mustBlobStore returns a store under a prefix of its own in bucket
// "blobs" of srv, which it creates on first use.
func mustBlobStore(t *testing.T, srv *testserver.S3) *fns3.BlobStore {
	t.Helper()
	opts := fns3.Options{
		Endpoint: srv.Endpoint, PathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
	}
	c := awss3.New(awss3.Options{
		BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true, Region: "us-east-1", Credentials: opts.Credentials,
	})
	_, _ = c.CreateBucket(t.Context(), &awss3.CreateBucketInput{Bucket: aws.String("blobs")})
	s, err := fns3.NewBlobStore(t.Context(), fns3.BlobStoreOptions{
		Options: opts, Bucket: "blobs",
		Prefix:   fmt.Sprintf("t%d", blobPrefixes.Add(1)),
		SpoolDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBlobStore(t *testing.T) {
	srv := testserver.StartS3(t)
	blobtest.Run(t, func(t *testing.T) lambdahost.BlobStore { return mustBlobStore(t, srv) })
}

func TestParseBlobURL(t *testing.T) {
	tests := []struct {
		in             string
		bucket, prefix string
		bad            bool
	}{
		{in: "s3://code", bucket: "code"},
		{in: "s3://code/", bucket: "code"},
		{in: "s3://code/lambdahost/prod", bucket: "code", prefix: "lambdahost/prod"},
		{in: "s3://", bad: true},
		{in: "http://code/x", bad: true},
		{in: "s3://code/x?versionId=1", bad: true},
		{in: "code/x", bad: true},
	}
	for _, tt := range tests {
		b, p, err := fns3.ParseBlobURL(tt.in)
		if (err != nil) != tt.bad || b != tt.bucket || p != tt.prefix {
			t.Errorf("ParseBlobURL(%q) = %q, %q, %v", tt.in, b, p, err)
		}
	}
}

// TestBlobStoreSharedByNodes has two stores on one prefix, as two nodes
// have, commit the same code at once: it is stored once, whole.
func TestBlobStoreSharedByNodes(t *testing.T) {
	srv := testserver.StartS3(t)
	a := mustBlobStore(t, srv)
	b, err := fns3.NewBlobStore(t.Context(), fns3.BlobStoreOptions{
		Options: fns3.Options{Endpoint: srv.Endpoint, PathStyle: true, Region: "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, "")},
		Bucket: "blobs", Prefix: strings.TrimPrefix(strings.TrimSuffix(a.URL(), "/"), "s3://blobs/"), SpoolDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("shared code "), 200_000)
	var wg sync.WaitGroup
	for i := range 8 {
		s := []lambdahost.BlobStore{a, b}[i%2]
		wg.Go(func() { blobtest.MustPut(t, s, content) })
	}
	wg.Wait()
	n := 0
	err = b.Walk(t.Context(), func(d lambdahost.Digest, size int64, _ time.Time) error {
		n++
		if d != sha256.Sum256(content) || size != int64(len(content)) {
			t.Errorf("Walk listed %s (%d bytes)", d, size)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("Walk listed %d blobs, %v; want 1", n, err)
	}
	blob, err := a.Open(t.Context(), sha256.Sum256(content))
	if err != nil {
		t.Fatal(err)
	}
	defer blob.Close()
	got, err := io.ReadAll(blob)
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("content read back differs (%v)", err)
	}
}

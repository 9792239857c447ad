package s3_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/disk"
	fns3 "github.com/lambdahost/lambdahost/s3"
)

// Buckets and keys of the shared fixture.
const (
	plainBucket     = "lh-plain"
	versionedBucket = "lh-versioned"
	publicBucket    = "lh-public"
	zipKey          = "function.zip"
	largeKey        = "large.bin"
	largeSize       = 1 << 20
)

// Messages Fetch answers, as AWS Lambda words them.
const (
	msgNoSuchBucket  = "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist"
	msgNoSuchKey     = "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."
	msgNoSuchVersion = "Error occurred while GetObject. S3 Error Code: NoSuchVersion. S3 Error Message: The specified version does not exist."
	msgUnavailable   = "Error occurred while GetObject. S3 Error Code: ServiceUnavailable. S3 Error Message: Service is unable to handle request."
)

// fixture is the content the tests fetch, put once into the shared gateway.
type fixture struct {
	g          *gateway
	zip        []byte // plainBucket/zipKey and publicBucket/zipKey
	v1, v2     []byte // the two versions of versionedBucket/zipKey
	v1ID, v2ID string
	large      []byte // plainBucket/largeKey
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

// mustFixture returns the shared fixture, creating it on first use.
func mustFixture(tb testing.TB) *fixture {
	tb.Helper()
	g := mustGateway(tb)
	fixOnce.Do(func() { fix, fixErr = newFixture(g) })
	if fixErr != nil {
		tb.Fatalf("create fixture: %v", fixErr)
	}
	return fix
}

func newFixture(g *gateway) (*fixture, error) {
	ctx := context.Background()
	c := g.Client()
	f := &fixture{
		g:     g,
		zip:   makeZip("index.mjs", "export const handler = async () => 'plain';"),
		v1:    makeZip("index.mjs", "export const handler = async () => 'v1';"),
		v2:    makeZip("index.mjs", "export const handler = async () => 'version two';"),
		large: make([]byte, largeSize),
	}
	rand.Read(f.large)
	for _, b := range []string{plainBucket, versionedBucket, publicBucket} {
		if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{
		Bucket:                  aws.String(versionedBucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		return nil, fmt.Errorf("enable versioning: %w", err)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, publicBucket)
	if _, err := c.PutBucketPolicy(ctx, &awss3.PutBucketPolicyInput{Bucket: aws.String(publicBucket), Policy: aws.String(policy)}); err != nil {
		return nil, fmt.Errorf("make bucket public: %w", err)
	}
	put := func(bucket, key string, body []byte) (string, error) {
		out, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			return "", fmt.Errorf("put %s/%s: %w", bucket, key, err)
		}
		return aws.ToString(out.VersionId), nil
	}
	var err error
	for _, o := range []struct {
		bucket, key string
		body        []byte
		version     *string
	}{
		{plainBucket, zipKey, f.zip, nil},
		{publicBucket, zipKey, f.zip, nil},
		{plainBucket, largeKey, f.large, nil},
		{versionedBucket, zipKey, f.v1, &f.v1ID},
		{versionedBucket, zipKey, f.v2, &f.v2ID},
	} {
		var id string
		if id, err = put(o.bucket, o.key, o.body); err != nil {
			return nil, err
		}
		if o.version != nil {
			if id == "" {
				return nil, fmt.Errorf("put %s/%s: no version ID", o.bucket, o.key)
			}
			*o.version = id
		}
	}
	if f.v1ID == f.v2ID {
		return nil, fmt.Errorf("both versions have ID %s", f.v1ID)
	}
	return f, nil
}

// makeZip returns a zip archive holding one file.
func makeZip(name, content string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		panic(err)
	}
	w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// newSource returns a CodeSource for the gateway, signed as its root user,
// with opts applied over that.
func (f *fixture) newSource(tb testing.TB, opts fns3.Options) *fns3.CodeSource {
	tb.Helper()
	if opts.Endpoint == "" {
		opts.Endpoint = f.g.Endpoint
	}
	if opts.Credentials == nil {
		opts.Credentials = credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, "")
	}
	opts.PathStyle = true
	if opts.Logger == nil {
		opts.Logger = testLogger(tb)
	}
	src, err := fns3.New(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return src
}

// testLogger returns a logger that writes into the test's output.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newBlob returns a writer of a real disk blob store, aborted when the test ends.
func newBlob(tb testing.TB) lambdahost.BlobWriter {
	tb.Helper()
	store, err := disk.NewBlobStore(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	w, err := store.Create(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Abort() })
	return w
}

// checkFetched checks that Fetch returned a Zip code and wrote exactly want into w.
func checkFetched(t *testing.T, code lambdahost.Code, err error, w lambdahost.BlobWriter, want []byte) {
	t.Helper()
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if code != (lambdahost.Code{PackageType: lambdahost.PackageZip}) {
		t.Errorf("Code = %+v, want PackageType Zip and nothing else", code)
	}
	if got := w.Size(); got != int64(len(want)) {
		t.Fatalf("Size() = %d, want %d", got, len(want))
	}
	if got, want := w.Digest(), lambdahost.Digest(sha256.Sum256(want)); got != want {
		t.Errorf("Digest() = %v, want %v", got, want)
	}
	got := make([]byte, len(want))
	if _, err := w.ReadAt(got, 0); err != nil {
		t.Fatalf("ReadAt: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("fetched content differs from the object")
	}
}

// checkAPIError checks that err is an InvalidParameterValueException with
// message msg.
func checkAPIError(t *testing.T, err error, msg string) {
	t.Helper()
	var e *lambdahost.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *lambdahost.Error", err)
	}
	if e.Type != lambdahost.InvalidParameterValueException || e.Status != 400 {
		t.Errorf("Type, Status = %s, %d, want InvalidParameterValueException, 400", e.Type, e.Status)
	}
	if e.Message != msg {
		t.Errorf("Message = %q\nwant      %q", e.Message, msg)
	}
}

func TestFetch(t *testing.T) {
	t.Parallel()
	f := mustFixture(t)
	// A well-formed version ID that names no version.
	missingVersion := f.v1ID[:len(f.v1ID)-1] + "0"
	if missingVersion == f.v1ID {
		missingVersion = f.v1ID[:len(f.v1ID)-1] + "1"
	}
	tests := []struct {
		name    string
		opts    fns3.Options
		loc     lambdahost.CodeLocation
		want    []byte // content, if Fetch succeeds
		wantMsg string // InvalidParameterValueException message, if it fails
		maxSize int64  // bytes w may hold after a failure
	}{
		{name: "ok", loc: loc(plainBucket, zipKey, ""), want: f.zip},
		{name: "large", loc: loc(plainBucket, largeKey, ""), want: f.large},
		{name: "latest-version", loc: loc(versionedBucket, zipKey, ""), want: f.v2},
		{name: "first-version", loc: loc(versionedBucket, zipKey, f.v1ID), want: f.v1},
		{name: "second-version", loc: loc(versionedBucket, zipKey, f.v2ID), want: f.v2},
		{name: "no-such-bucket", loc: loc("lh-missing", zipKey, ""), wantMsg: msgNoSuchBucket},
		{name: "no-such-key", loc: loc(plainBucket, "missing.zip", ""), wantMsg: msgNoSuchKey},
		{name: "no-such-version", loc: loc(versionedBucket, zipKey, missingVersion), wantMsg: msgNoSuchVersion},
		{
			name:    "malformed-version",
			loc:     loc(versionedBucket, zipKey, "not-a-version"),
			wantMsg: "Error occurred while GetObject. S3 Error Code: InvalidArgument. S3 Error Message: Invalid version id specified",
		},
		{
			name:    "wrong-secret",
			opts:    fns3.Options{Credentials: credentials.NewStaticCredentialsProvider(testAccessKey, "wrong-secret", "")},
			loc:     loc(plainBucket, zipKey, ""),
			wantMsg: "Error occurred while GetObject. S3 Error Code: SignatureDoesNotMatch. S3 Error Message: The request signature we calculated does not match the signature you provided. Check your key and signing method.",
		},
		{
			// versitygw ends AccessDenied's message with a period; S3 does
			// not. Fetch passes that message on as it is.
			name:    "anonymous-private-bucket",
			opts:    fns3.Options{Credentials: aws.AnonymousCredentials{}},
			loc:     loc(plainBucket, zipKey, ""),
			wantMsg: "Error occurred while GetObject. S3 Error Code: AccessDenied. S3 Error Message: Access Denied.",
		},
		{name: "anonymous-public-bucket", opts: fns3.Options{Credentials: aws.AnonymousCredentials{}}, loc: loc(publicBucket, zipKey, ""), want: f.zip},
		{
			name:    "larger-than-max-size",
			opts:    fns3.Options{MaxSize: int64(len(f.zip)) - 1},
			loc:     loc(plainBucket, zipKey, ""),
			wantMsg: fmt.Sprintf("Unzipped size must be smaller than %d bytes", len(f.zip)-1),
		},
		{name: "exactly-max-size", opts: fns3.Options{MaxSize: int64(len(f.zip))}, loc: loc(plainBucket, zipKey, ""), want: f.zip},
		{
			name:    "large-over-max-size",
			opts:    fns3.Options{MaxSize: 1000},
			loc:     loc(plainBucket, largeKey, ""),
			wantMsg: "Unzipped size must be smaller than 1000 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := f.newSource(t, tt.opts)
			w := newBlob(t)
			code, err := src.Fetch(t.Context(), "123456789012", tt.loc, w)
			if tt.wantMsg == "" {
				checkFetched(t, code, err, w, tt.want)
				return
			}
			checkAPIError(t, err, tt.wantMsg)
			if w.Size() > tt.maxSize {
				t.Errorf("Size() = %d after failing, want at most %d", w.Size(), tt.maxSize)
			}
		})
	}
}

func loc(bucket, key, version string) lambdahost.CodeLocation {
	return lambdahost.CodeLocation{S3Bucket: bucket, S3Key: key, S3ObjectVersion: version}
}

// TestFetchAWSCLI puts objects with the aws CLI and fetches them, so that
// what another S3 client wrote, versions included, is what Fetch reads.
func TestFetchAWSCLI(t *testing.T) {
	t.Parallel()
	f := mustFixture(t)
	lookAWSCLI(t)
	const bucket = "lh-cli"
	dir := t.TempDir()
	v1, v2 := filepath.Join(dir, "v1.zip"), filepath.Join(dir, "v2.zip")
	os.WriteFile(v1, f.v1, 0o644)
	os.WriteFile(v2, f.v2, 0o644)
	f.g.awsCLI(t, "s3api", "create-bucket", "--bucket", bucket)
	f.g.awsCLI(t, "s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
	var ids []string
	for _, body := range []string{v1, v2} {
		var out struct{ VersionId string }
		if err := json.Unmarshal(f.g.awsCLI(t, "s3api", "put-object", "--bucket", bucket, "--key", zipKey, "--body", body), &out); err != nil {
			t.Fatalf("put-object output: %v", err)
		}
		if out.VersionId == "" {
			t.Fatalf("put-object: no VersionId")
		}
		ids = append(ids, out.VersionId)
	}

	src := f.newSource(t, fns3.Options{})
	for i, want := range [][]byte{f.v1, f.v2} {
		t.Run(fmt.Sprintf("version-%d", i+1), func(t *testing.T) {
			w := newBlob(t)
			code, err := src.Fetch(t.Context(), "123456789012", loc(bucket, zipKey, ids[i]), w)
			checkFetched(t, code, err, w, want)
		})
	}
	t.Run("latest", func(t *testing.T) {
		w := newBlob(t)
		code, err := src.Fetch(t.Context(), "123456789012", loc(bucket, zipKey, ""), w)
		checkFetched(t, code, err, w, f.v2)
	})
}

// TestFetchUnreachable checks that an S3 that cannot be reached gives an
// API error, and in bounded time, with the default timeouts.
func TestFetchUnreachable(t *testing.T) {
	t.Parallel()
	f := mustFixture(t)
	tests := []struct {
		name     string
		endpoint string
	}{
		{name: "connection-refused", endpoint: closedEndpoint(t)},
		{name: "unknown-host", endpoint: "http://lambdahost-s3-test.invalid"},
		{name: "never-answers", endpoint: silentEndpoint(t)},
		// The gateway answers, but the response never gets through.
		{name: "response-lost", endpoint: startProxy(t, f.g.Endpoint, 0, false).Endpoint},
	}
	// Without DefaultTimeout the last two would never answer; with it,
	// every one answers in about that time at most. The margin is wide:
	// a loaded machine's delays decide nothing.
	const within = fns3.DefaultTimeout + waitBound
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := f.newSource(t, fns3.Options{Endpoint: tt.endpoint})
			w := newBlob(t)
			start := time.Now()
			_, err := src.Fetch(t.Context(), "123456789012", loc(plainBucket, zipKey, ""), w)
			elapsed := time.Since(start)
			t.Logf("answered after %v: %v", elapsed.Round(time.Millisecond), err)
			checkAPIError(t, err, msgUnavailable)
			if elapsed > within {
				t.Errorf("answered after %v, want within %v", elapsed, within)
			}
		})
	}
}

// TestFetchBodyFails checks a connection that stalls or breaks after S3
// started sending the object.
func TestFetchBodyFails(t *testing.T) {
	t.Parallel()
	f := mustFixture(t)
	const passed = 64 << 10 // bytes of the response that get through
	tests := []struct {
		name string
		cut  bool
	}{
		{name: "stalls", cut: false},
		{name: "cut", cut: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, f.g.Endpoint, passed, tt.cut)
			// Only StallTimeout can end the stalled body, and it must
			// long before waitBound; it is long enough that the bytes
			// that got through are surely read first.
			src := f.newSource(t, fns3.Options{Endpoint: p.Endpoint, StallTimeout: 5 * time.Second})
			w := newBlob(t)
			start := time.Now()
			_, err := src.Fetch(t.Context(), "123456789012", loc(plainBucket, largeKey, ""), w)
			elapsed := time.Since(start)
			checkAPIError(t, err, msgUnavailable)
			if w.Size() == 0 || w.Size() >= largeSize {
				t.Errorf("Size() = %d, want part of the object", w.Size())
			}
			if elapsed > waitBound {
				t.Errorf("answered after %v", elapsed)
			}
		})
	}
}

// TestFetchCancelled checks that the caller's cancellation is not an API error.
func TestFetchCancelled(t *testing.T) {
	t.Parallel()
	f := mustFixture(t)
	src := f.newSource(t, fns3.Options{Endpoint: silentEndpoint(t)})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := src.Fetch(ctx, "123456789012", loc(plainBucket, zipKey, ""), newBlob(t))
	if err == nil || lambdahost.ErrorTypeOf(err) != "" {
		t.Fatalf("err = %v, want a non-API error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

// TestNewConfiguration checks that New takes its configuration from where
// every AWS SDK does, and that Options override it.
func TestNewConfiguration(t *testing.T) {
	f := mustFixture(t)
	dead := closedEndpoint(t)
	keys := map[string]string{"AWS_ACCESS_KEY_ID": testAccessKey, "AWS_SECRET_ACCESS_KEY": testSecretKey}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	// A profile whose credentials and S3 endpoint come from the shared files.
	dir := t.TempDir()
	configFile, credentialsFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	os.WriteFile(configFile, []byte(fmt.Sprintf(`[profile lh]
region = us-east-1
services = lh-services

[services lh-services]
s3 =
  endpoint_url = %s
`, f.g.Endpoint)), 0o600)
	os.WriteFile(credentialsFile, []byte(fmt.Sprintf("[lh]\naws_access_key_id = %s\naws_secret_access_key = %s\n", testAccessKey, testSecretKey)), 0o600)

	tests := []struct {
		name    string
		env     map[string]string
		opts    fns3.Options
		loc     lambdahost.CodeLocation
		wantMsg string // "" if Fetch succeeds
	}{
		{name: "service-endpoint-env", env: with(keys, "AWS_ENDPOINT_URL_S3", f.g.Endpoint)},
		{name: "global-endpoint-env", env: with(keys, "AWS_ENDPOINT_URL", f.g.Endpoint)},
		{name: "service-endpoint-beats-global", env: with(keys, "AWS_ENDPOINT_URL", dead, "AWS_ENDPOINT_URL_S3", f.g.Endpoint)},
		{name: "option-beats-env", env: with(keys, "AWS_ENDPOINT_URL_S3", dead), opts: fns3.Options{Endpoint: f.g.Endpoint}},
		{name: "option-beats-env-dead", env: with(keys, "AWS_ENDPOINT_URL_S3", f.g.Endpoint), opts: fns3.Options{Endpoint: dead}, wantMsg: msgUnavailable},
		{
			name: "shared-files-profile",
			env:  map[string]string{"AWS_PROFILE": "lh", "AWS_CONFIG_FILE": configFile, "AWS_SHARED_CREDENTIALS_FILE": credentialsFile},
		},
		{name: "no-credentials-public-bucket", env: map[string]string{"AWS_ENDPOINT_URL_S3": f.g.Endpoint}, loc: loc(publicBucket, zipKey, "")},
		{
			name:    "no-credentials-private-bucket",
			env:     map[string]string{"AWS_ENDPOINT_URL_S3": f.g.Endpoint},
			wantMsg: "Error occurred while GetObject. S3 Error Code: AccessDenied. S3 Error Message: Access Denied.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.loc == (lambdahost.CodeLocation{}) {
				tt.loc = loc(plainBucket, zipKey, "")
			}
			tt.opts.Logger = testLogger(t)
			src, err := fns3.New(t.Context(), tt.opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			w := newBlob(t)
			code, err := src.Fetch(t.Context(), "123456789012", tt.loc, w)
			if tt.wantMsg != "" {
				checkAPIError(t, err, tt.wantMsg)
				return
			}
			checkFetched(t, code, err, w, f.zip)
		})
	}
}

// TestNewSendsNoRequest checks that New reaches nothing: not S3, and not
// the EC2 metadata service that the default credential chain falls back
// to, which a server that may never read S3 must not wait on at start-up.
// Fetch then asks for credentials, and goes on without.
func TestNewSendsNoRequest(t *testing.T) {
	var hits atomic.Int32
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer rec.Close()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", rec.URL)
	src, err := fns3.New(t.Context(), fns3.Options{Endpoint: rec.URL, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("New sent %d requests", n)
	}
	_, err = src.Fetch(t.Context(), "123456789012", loc(plainBucket, zipKey, ""), newBlob(t))
	if err == nil {
		t.Fatal("Fetch from a server that answers 404 to everything succeeded")
	}
	if hits.Load() == 0 {
		t.Error("Fetch sent no request")
	}
}

func BenchmarkFetch(b *testing.B) {
	f := mustFixture(b)
	c := f.g.Client()
	for _, size := range []int{1 << 20, 50 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			key := fmt.Sprintf("bench-%d.bin", size)
			body := make([]byte, size)
			rand.Read(body)
			if _, err := c.PutObject(b.Context(), &awss3.PutObjectInput{Bucket: aws.String(plainBucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
				b.Fatal(err)
			}
			src := f.newSource(b, fns3.Options{})
			store, err := disk.NewBlobStore(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			for b.Loop() {
				w, err := store.Create(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := src.Fetch(b.Context(), "123456789012", loc(plainBucket, key, ""), w); err != nil {
					b.Fatal(err)
				}
				if w.Size() != int64(size) {
					b.Fatalf("Size() = %d", w.Size())
				}
				w.Abort()
			}
		})
	}
}

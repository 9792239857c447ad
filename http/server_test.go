package http_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	fnhttp "github.com/lambdahost/lambdahost/http"
	"github.com/lambdahost/lambdahost/internal/apitest"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/sqlite"
)

// clock is the fixed time of golden tests: requests are signed at it and
// the service stamps LastModified with it.
var clock = apitest.Clock

const testHost = apitest.Host

// env is an in-process lambdahost over real sqlite and disk adapters.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	api     *fnhttp.Server
	svc     *control.Service
	keys    *kms.Service
	store   lambdahost.Store
	blobs   lambdahost.BlobStore
	blocked *blockingPreparer
	creds   aws.Credentials
	region  string
	// dbPath is the SQLite database file.
	dbPath string
}

type envOption func(*env)

func withCodeStorageLimit(n int64) envOption { return func(e *env) { e.svc.CodeStorageLimit = n } }

// withBlockedSettling keeps updates InProgress until release is called.
func withBlockedSettling() envOption {
	return func(e *env) {
		e.blocked = &blockingPreparer{release: make(chan struct{})}
		e.svc.Preparer = e.blocked
		e.svc.SettleSync = false
	}
}

type blockingPreparer struct {
	release chan struct{}
	once    sync.Once
}

func (b *blockingPreparer) Prepare(ctx context.Context, v *lambdahost.Version) error {
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return nil
}

func (b *blockingPreparer) Release() { b.once.Do(func() { close(b.release) }) }

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := disk.NewBlobStore(filepath.Join(dir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	keys := kms.New(store, bytes.Repeat([]byte{1}, lambdahost.MasterKeySize))
	keys.Now = func() time.Time { return clock }
	keys.NewKeyID = apitest.Counter("11111111-1111-4111-8111-%012d")
	svc := control.New(store, blobs)
	svc.Keys = keys
	svc.Now = func() time.Time { return clock }
	svc.NewCodeSigningConfigID = apitest.Counter("csc-0000000000000%04d")
	svc.NewRevisionID = apitest.Counter("00000000-0000-4000-8000-%012d")
	svc.NewMappingID = apitest.Counter("a1b2c3d4-0000-4000-8000-%012d")
	svc.Queues, svc.Streams = fakeSources{}, fakeSources{}
	svc.NewURLID = apitest.Counter("url%029d")
	svc.SettleSync = true
	// No renewal during a test: storedEvents ends the node's registration
	// to play a restart.
	svc.NodeTTL = time.Hour
	e := &env{t: t, svc: svc, keys: keys, store: store, blobs: blobs, creds: apitest.Test, region: apitest.Region, dbPath: filepath.Join(dir, "db")}
	for _, o := range opts {
		o(e)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	api := fnhttp.NewServer(svc, blobs, apitest.Verifier("lambda"))
	api.URLKey = []byte("0123456789abcdef0123456789abcdef")
	api.Now = func() time.Time { return clock }
	api.NewRequestID = apitest.Counter("req-%04d")
	api.Invoker = &fakeInvoker{}
	e.api = api
	e.srv = httptest.NewServer(api)
	t.Cleanup(func() {
		if e.blocked != nil {
			e.blocked.Release()
		}
		e.srv.Close()
		svc.Close()
		store.Close()
	})
	return e
}

// response is what a golden file pins.
type response = apitest.Response

// do sends a request signed as the aws CLI would sign it.
func (e *env) do(method, path, body string) response {
	e.t.Helper()
	return e.doWith(method, path, body, e.creds, e.region, nil)
}

func (e *env) doWith(method, path, body string, creds aws.Credentials, region string, mutate func(*http.Request)) response {
	e.t.Helper()
	return e.send("lambda", method, path, body, creds, region, nil, mutate)
}

// send sends a request for service with header set,
// signed as creds in region (unsigned if creds has no key); mutate, if
// set, changes the request after signing. It records the status, the
// headers the golden files compare and the indented JSON body.
func (e *env) send(service, method, path, body string, creds aws.Credentials, region string, header http.Header, mutate func(*http.Request)) response {
	e.t.Helper()
	return apitest.Send(e.t, e.srv.URL, apitest.Request{Service: service, Method: method, Path: path, Body: body, Creds: creds, Region: region, Header: header, Mutate: mutate})
}

// signedHeaders returns the headers of a request signed as e.do signs it.
func (e *env) signedHeaders(method, path, body string) http.Header {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Host = testHost
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), e.creds, req, hex.EncodeToString(sum[:]), "lambda", e.region, clock); err != nil {
		e.t.Fatal(err)
	}
	return req.Header
}

// rawOversized declares a body of n bytes but sends none of it: the server
// must answer from Content-Length alone, without waiting for the body.
func (e *env) rawOversized(method, path string, n int64) response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	req.Host = testHost
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner().SignHTTP(context.Background(), e.creds, req, "UNSIGNED-PAYLOAD", "lambda", e.region, clock); err != nil {
		e.t.Fatal(err)
	}
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	// Only a server waiting for the body could take this long.
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, path, testHost, n)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(conn, "%s: %s\r\n", k, v)
		}
	}
	io.WriteString(conn, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var buf bytes.Buffer
	json.Indent(&buf, b, "", "  ")
	return response{Status: resp.StatusCode, Headers: map[string]string{"Content-Type": resp.Header.Get("Content-Type"), "X-Amzn-Errortype": resp.Header.Get("X-Amzn-Errortype")}, Body: buf.Bytes()}
}

// must sends a setup request and fails unless it succeeds.
func (e *env) must(method, path, body string) response {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.Status >= 300 {
		e.t.Fatalf("setup %s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}

func testZip(t testing.TB, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "app.py", Method: zip.Store, Modified: clock})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// createBody is a CreateFunction body for a python function named name.
func createBody(t testing.TB, name string, extra string) string {
	body := `{"FunctionName":"` + name + `","Runtime":"python3.12","Role":"arn:aws:iam::000000000000:role/r","Handler":"app.handler","Code":{"ZipFile":"` + b64(testZip(t, "v1")) + `"}`
	if extra != "" {
		body += "," + extra
	}
	return body + "}"
}

// checkGolden compares got with testdata/golden/<op>/<name>.json.
func checkGolden(t *testing.T, op, name string, got response) {
	t.Helper()
	apitest.CheckGolden(t, op, name, got)
}

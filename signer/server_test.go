package signer_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/internal/apitest"
	"github.com/lambdahost/lambdahost/signer"
	"github.com/lambdahost/lambdahost/sqlite"
)

// memS3 is an in-memory S3 for signing jobs: the source objects they read
// and the bucket "dst" they write to.
type memS3 struct {
	mu      sync.Mutex
	objects map[string][]byte // bucket/key?version
}

func (m *memS3) Fetch(ctx context.Context, account string, loc lambdahost.CodeLocation, w lambdahost.BlobWriter) (lambdahost.Code, error) {
	m.mu.Lock()
	b, ok := m.objects[loc.S3Bucket+"/"+loc.S3Key+"?"+loc.S3ObjectVersion]
	m.mu.Unlock()
	if !ok {
		return lambdahost.Code{}, lambdahost.Errorf(lambdahost.InvalidParameterValueException,
			"Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.")
	}
	_, err := w.Write(b)
	return lambdahost.Code{PackageType: lambdahost.PackageZip}, err
}

func (m *memS3) PutObject(ctx context.Context, account, bucket, key string, body io.ReadSeeker, size int64) error {
	if bucket != "dst" {
		return lambdahost.Errorf(lambdahost.ValidationException,
			"Error occurred while PutObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[bucket+"/"+key+"?"] = b
	return nil
}

// env is the Signer over real sqlite and disk adapters and an in-memory
// S3 holding src/app.zip at version v1, served in process.
type env struct {
	t   testing.TB
	svc *signer.Service
	api *signer.Server
	srv *httptest.Server
}

func newEnv(t testing.TB) *env {
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
	s3 := &memS3{objects: map[string][]byte{"src/app.zip?v1": testZip(t, "v1")}}
	svc := signer.New(store, blobs, bytes.Repeat([]byte{7}, lambdahost.MasterKeySize))
	svc.S3, svc.Objects = s3, s3
	svc.Now = func() time.Time { return apitest.Clock }
	svc.NewID = apitest.Counter("00000000-0000-4000-8000-%012d")
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	api := signer.NewServer(svc, apitest.Verifier("signer"))
	api.NewRequestID = apitest.Counter("req-%04d")
	e := &env{t: t, svc: svc, api: api, srv: httptest.NewServer(api)}
	t.Cleanup(func() {
		e.srv.Close()
		store.Close()
	})
	return e
}

func testZip(t testing.TB, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "app.py", Method: zip.Store, Modified: apitest.Clock})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// goldenCase is one request whose apitest.Response a golden file pins.
type goldenCase struct {
	op, name string
	setup    func(e *env)
	req      func(e *env) apitest.Response
}

// signer sends a request signed for AWS Signer, as the aws CLI signs it.
func (e *env) signer(method, path, body string) apitest.Response {
	e.t.Helper()
	return e.signerAs(apitest.Test, method, path, body)
}

func (e *env) signerAs(creds aws.Credentials, method, path, body string) apitest.Response {
	e.t.Helper()
	return apitest.Send(e.t, e.srv.URL, apitest.Request{Service: "signer", Method: method, Path: path, Body: body, Creds: creds})
}

func (e *env) mustSigner(method, path, body string) apitest.Response {
	e.t.Helper()
	r := e.signer(method, path, body)
	if r.Status != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}

const putProfileBody = `{"platformId":"AWSLambda-SHA384-ECDSA"}`

func withProfile(name string) func(e *env) {
	return func(e *env) { e.mustSigner("PUT", "/signing-profiles/"+name, putProfileBody) }
}

// startJob starts a signing job of src/<key> and returns its ID.
func startJob(e *env, token, key string) string {
	e.t.Helper()
	r := e.mustSigner("POST", "/signing-jobs", `{"source":{"s3":{"bucketName":"src","key":"`+key+`","version":"v1"}},"destination":{"s3":{"bucketName":"dst","prefix":"signed/"}},"profileName":"prof","clientRequestToken":"`+token+`"}`)
	var out struct {
		JobID string `json:"jobId"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		e.t.Fatal(err)
	}
	return out.JobID
}

func profileVersion(e *env, name string) string {
	e.t.Helper()
	var p struct {
		ProfileVersion string `json:"profileVersion"`
	}
	if err := json.Unmarshal(e.mustSigner("GET", "/signing-profiles/"+name, "").Body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p.ProfileVersion
}

func signerGoldenCases() []goldenCase {
	other := apitest.Other
	sreq := func(method, path, body string) func(e *env) apitest.Response {
		return func(e *env) apitest.Response { return e.signer(method, path, body) }
	}
	return []goldenCase{
		{op: "GetSigningPlatform", name: "lambda", req: sreq("GET", "/signing-platforms/AWSLambda-SHA384-ECDSA", "")},
		{op: "GetSigningPlatform", name: "not-found", req: sreq("GET", "/signing-platforms/AmazonFreeRTOS-Default", "")},
		{op: "ListSigningPlatforms", name: "all", req: sreq("GET", "/signing-platforms", "")},

		{op: "PutSigningProfile", name: "created", req: sreq("PUT", "/signing-profiles/prof", `{"platformId":"AWSLambda-SHA384-ECDSA","signatureValidityPeriod":{"value":12,"type":"MONTHS"},"tags":{"team":"x"}}`)},
		{op: "PutSigningProfile", name: "duplicate", setup: withProfile("prof"), req: sreq("PUT", "/signing-profiles/prof", putProfileBody)},
		{op: "PutSigningProfile", name: "bad-name", req: sreq("PUT", "/signing-profiles/a-b", putProfileBody)},
		{op: "PutSigningProfile", name: "unknown-platform", req: sreq("PUT", "/signing-profiles/prof", `{"platformId":"AmazonFreeRTOS-Default"}`)},
		{op: "PutSigningProfile", name: "wrong-service-scope", req: func(e *env) apitest.Response {
			return apitest.Send(e.t, e.srv.URL, apitest.Request{Service: "lambda", Method: "PUT", Path: "/signing-profiles/prof", Body: putProfileBody, Creds: apitest.Test})
		}},

		{op: "GetSigningProfile", name: "active", setup: withProfile("prof"), req: sreq("GET", "/signing-profiles/prof", "")},
		{op: "GetSigningProfile", name: "revoked", setup: func(e *env) {
			withProfile("prof")(e)
			e.mustSigner("PUT", "/signing-profiles/prof/revoke", `{"profileVersion":"`+profileVersion(e, "prof")+`","reason":"lost","effectiveTime":1767322800}`)
		}, req: sreq("GET", "/signing-profiles/prof", "")},
		{op: "GetSigningProfile", name: "not-found", req: sreq("GET", "/signing-profiles/nope", "")},
		{op: "GetSigningProfile", name: "other-account", setup: withProfile("prof"), req: func(e *env) apitest.Response {
			return e.signerAs(other, "GET", "/signing-profiles/prof", "")
		}},
		{op: "GetSigningProfile", name: "other-owner", setup: withProfile("prof"), req: func(e *env) apitest.Response {
			return e.signerAs(other, "GET", "/signing-profiles/prof?profileOwner=000000000000", "")
		}},

		{op: "ListSigningProfiles", name: "include-canceled", setup: func(e *env) {
			withProfile("a_prof")(e)
			withProfile("b_prof")(e)
			e.mustSigner("DELETE", "/signing-profiles/b_prof", "")
		}, req: sreq("GET", "/signing-profiles?includeCanceled=true", "")},
		{op: "ListSigningProfiles", name: "empty", req: sreq("GET", "/signing-profiles", "")},
		{op: "ListSigningProfiles", name: "bad-max-results", req: sreq("GET", "/signing-profiles?maxResults=26", "")},

		{op: "CancelSigningProfile", name: "canceled", setup: withProfile("prof"), req: sreq("DELETE", "/signing-profiles/prof", "")},
		{op: "CancelSigningProfile", name: "not-found", req: sreq("DELETE", "/signing-profiles/prof", "")},

		{op: "RevokeSigningProfile", name: "wrong-version", setup: withProfile("prof"), req: sreq("PUT", "/signing-profiles/prof/revoke", `{"profileVersion":"ABCDEFGHIJ","reason":"lost","effectiveTime":1767322800}`)},
		{op: "RevokeSigningProfile", name: "missing-reason", setup: withProfile("prof"), req: sreq("PUT", "/signing-profiles/prof/revoke", `{"profileVersion":"ABCDEFGHIJ","effectiveTime":1767322800}`)},

		{op: "StartSigningJob", name: "started", setup: withProfile("prof"),
			req: sreq("POST", "/signing-jobs", `{"source":{"s3":{"bucketName":"src","key":"app.zip","version":"v1"}},"destination":{"s3":{"bucketName":"dst","prefix":"signed/"}},"profileName":"prof","clientRequestToken":"t1"}`)},
		{op: "StartSigningJob", name: "unknown-profile",
			req: sreq("POST", "/signing-jobs", `{"source":{"s3":{"bucketName":"src","key":"app.zip","version":"v1"}},"destination":{"s3":{"bucketName":"dst"}},"profileName":"prof","clientRequestToken":"t1"}`)},
		{op: "StartSigningJob", name: "missing-version", setup: withProfile("prof"),
			req: sreq("POST", "/signing-jobs", `{"source":{"s3":{"bucketName":"src","key":"app.zip"}},"destination":{"s3":{"bucketName":"dst"}},"profileName":"prof","clientRequestToken":"t1"}`)},

		{op: "DescribeSigningJob", name: "succeeded", req: func(e *env) apitest.Response {
			withProfile("prof")(e)
			return e.signer("GET", "/signing-jobs/"+startJob(e, "t1", "app.zip"), "")
		}},
		{op: "DescribeSigningJob", name: "failed", req: func(e *env) apitest.Response {
			withProfile("prof")(e)
			return e.signer("GET", "/signing-jobs/"+startJob(e, "t1", "nope.zip"), "")
		}},
		{op: "DescribeSigningJob", name: "revoked", req: func(e *env) apitest.Response {
			withProfile("prof")(e)
			id := startJob(e, "t1", "app.zip")
			e.mustSigner("PUT", "/signing-jobs/"+id+"/revoke", `{"reason":"bad build"}`)
			return e.signer("GET", "/signing-jobs/"+id, "")
		}},
		{op: "DescribeSigningJob", name: "other-account", req: func(e *env) apitest.Response {
			withProfile("prof")(e)
			return e.signerAs(other, "GET", "/signing-jobs/"+startJob(e, "t1", "app.zip"), "")
		}},
		{op: "DescribeSigningJob", name: "not-found", req: sreq("GET", "/signing-jobs/00000000-0000-4000-8000-000000000099", "")},

		{op: "ListSigningJobs", name: "all", req: func(e *env) apitest.Response {
			withProfile("prof")(e)
			startJob(e, "t1", "app.zip")
			return e.signer("GET", "/signing-jobs", "")
		}},

		{op: "RevokeSignature", name: "revoked", req: func(e *env) apitest.Response {
			withProfile("prof")(e)
			return e.signer("PUT", "/signing-jobs/"+startJob(e, "t1", "app.zip")+"/revoke", `{"reason":"bad build"}`)
		}},
		{op: "RevokeSignature", name: "not-found", req: sreq("PUT", "/signing-jobs/nope/revoke", `{"reason":"bad build"}`)},
	}
}

func TestSignerGolden(t *testing.T) {
	for _, tc := range signerGoldenCases() {
		t.Run(tc.op+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			apitest.CheckGolden(t, tc.op, tc.name, tc.req(e))
		})
	}
}

// signerFuzzRoutes are the AWS Signer operations FuzzSigner sends its
// bodies to; "{n}" is replaced by the fuzzed name (profile or job ID).
var signerFuzzRoutes = []struct{ method, path string }{
	{"PUT", "/signing-profiles/{n}"},
	{"GET", "/signing-profiles/{n}"},
	{"DELETE", "/signing-profiles/{n}"},
	{"PUT", "/signing-profiles/{n}/revoke"},
	{"GET", "/signing-profiles"},
	{"POST", "/signing-jobs"},
	{"GET", "/signing-jobs/{n}"},
	{"GET", "/signing-jobs"},
	{"PUT", "/signing-jobs/{n}/revoke"},
	{"GET", "/signing-platforms/{n}"},
	{"GET", "/signing-platforms"},
}

// FuzzSigner is FuzzAPI for the AWS Signer operations: whatever the body,
// name and query, the server answers success or an AWS-shaped client
// error, never a 5xx.
func FuzzSigner(f *testing.F) {
	e := newEnv(f)
	e.mustSigner("PUT", "/signing-profiles/prof", putProfileBody)
	f.Add(uint8(0), "p2", "", `{"platformId":"AWSLambda-SHA384-ECDSA","signatureValidityPeriod":{"value":1,"type":"DAYS"},"tags":{"a":"b"}}`)
	f.Add(uint8(0), "p3", "", `{"platformId":"AWSLambda-SHA384-ECDSA","signatureValidityPeriod":{"value":-1,"type":"YEARS"}}`)
	f.Add(uint8(1), "prof", "profileOwner=111111111111", ``)
	f.Add(uint8(3), "prof", "", `{"profileVersion":"abcdefghij","reason":"r","effectiveTime":1e300}`)
	f.Add(uint8(3), "prof", "", `{"profileVersion":"abcdefghij","reason":"r","effectiveTime":"x"}`)
	f.Add(uint8(4), "", "maxResults=0&statuses=Active&statuses=Bad&includeCanceled=maybe&nextToken=%00", ``)
	f.Add(uint8(5), "", "", `{"source":{"s3":{"bucketName":"src","key":"app.zip","version":"v1"}},"destination":{"s3":{"bucketName":"dst","prefix":"../"}},"profileName":"prof","clientRequestToken":"t"}`)
	f.Add(uint8(5), "", "", `{"source":{"s3":{"bucketName":"src","key":"app.zip","version":"v1"}},"destination":{"s3":{"bucketName":"x"}},"profileName":"prof","profileOwner":"1","clientRequestToken":"u"}`)
	f.Add(uint8(6), "..%2f..", "", ``)
	f.Add(uint8(7), "", "signatureExpiresBefore=2026-01-01T00:00:00Z&isRevoked=true&status=Nope", ``)
	f.Add(uint8(8), "x", "", `{"reason":"`+strings.Repeat("r", 501)+`"}`)
	f.Add(uint8(9), "AWSLambda-SHA384-ECDSA", "", ``)
	f.Add(uint8(10), "", "maxResults=26", ``)
	f.Fuzz(func(t *testing.T, route uint8, name, query, body string) {
		rt := signerFuzzRoutes[int(route)%len(signerFuzzRoutes)]
		path := strings.ReplaceAll(rt.path, "{n}", name)
		req, err := http.NewRequestWithContext(context.Background(), rt.method, "http://"+apitest.Host+path, strings.NewReader(body))
		if err != nil || req.URL.Path == "" {
			return
		}
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/json")
		apitest.ServeFuzzed(t, e.api, req, body, "signer", true)
	})
}

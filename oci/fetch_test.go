package oci_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lambdahost/lambdahost"
)

// entry is a file in a test layer: a regular file unless typ says
// otherwise.
type entry struct {
	name string
	body string
	mode int64
	typ  byte
	link string
}

// layer returns a gzip-compressed OCI layer holding entries.
func layer(tb testing.TB, entries ...entry) v1.Layer {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body)), ModTime: time.Unix(1700000000, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// image returns an OCI image of layers for linux/arch, with a Lambda-like
// config.
func image(tb testing.TB, arch string, layers ...v1.Layer) v1.Image {
	tb.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		tb.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Entrypoint = []string{"/lambda-entrypoint.sh"}
	cf.Config.Cmd = []string{"app.handler"}
	cf.Config.WorkingDir = "/var/task"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin", "LAMBDA_TASK_ROOT=/var/task"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		tb.Fatal(err)
	}
	return img
}

// index returns an OCI index of imgs, each for linux and its config's
// architecture, plus a buildx-style attestation manifest.
func index(tb testing.TB, imgs ...v1.Image) v1.ImageIndex {
	tb.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			tb.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Platform:  &v1.Platform{OS: "linux", Architecture: cf.Architecture},
		}})
	}
	att := image(tb, "unknown", layer(tb, entry{name: "provenance.json", body: "{}"}))
	adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		MediaType: types.OCIManifestSchema1,
		Platform:  &v1.Platform{OS: "unknown", Architecture: "unknown"},
	}})
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return idx
}

// lambdaImage is a Lambda-style image of two layers: a base, and an app
// layer that adds /var/task/bootstrap, deletes a base file with a
// whiteout and replaces a directory's contents with an opaque whiteout.
func lambdaImage(tb testing.TB, arch, version string) v1.Image {
	base := layer(tb,
		entry{name: "etc/", typ: tar.TypeDir},
		entry{name: "etc/os-release", body: "ID=test\n"},
		entry{name: "usr/lib/", typ: tar.TypeDir},
		entry{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"},
		entry{name: "var/task/old.py", body: "old"},
		entry{name: "opt/ext/a", body: "a"},
		entry{name: "opt/ext/b", body: "b"},
	)
	app := layer(tb,
		entry{name: "var/task/bootstrap", body: "#!/bin/sh\necho " + version + "\n", mode: 0o755},
		entry{name: "var/task/.wh.old.py"},
		entry{name: "opt/ext/.wh..wh..opq"},
		entry{name: "opt/ext/c", body: "c"},
		entry{name: "lib/libapp.so", body: "elf"},
	)
	return image(tb, arch, base, app)
}

// repo returns a repository name of the test's own on host.
func repo(tb testing.TB, host string) string {
	r := strings.NewReplacer("/", "-", "_", "-", "#", "-")
	return host + "/" + strings.ToLower(r.Replace(tb.Name()))
}

func manifestDigest(tb testing.TB, img v1.Image) v1.Hash {
	tb.Helper()
	d, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func TestFetch(t *testing.T) {
	anon, auth := mustRegistries(t)

	amd := lambdaImage(t, "amd64", "amd64")
	arm := lambdaImage(t, "arm64", "arm64")
	single := repo(t, anon.Host) + "/single"
	push(t, single+":v1", amd, anonymous)
	multi := repo(t, anon.Host) + "/multi"
	pushIndex(t, multi+":v1", index(t, amd, arm))
	amdOnly := repo(t, anon.Host) + "/amd-only"
	pushIndex(t, amdOnly+":v1", index(t, amd))
	private := repo(t, auth.Host) + "/private"
	push(t, private+":v1", amd, credsFor(auth.Host, testUser, testPassword))
	windows := repo(t, anon.Host) + "/windows"
	winImg := mutateOS(t, image(t, "amd64", layer(t, entry{name: "a", body: "a"})), "windows")
	push(t, windows+":v1", winImg, anonymous)
	artifact := repo(t, anon.Host) + "/artifact"
	push(t, artifact+":v1", mutate.ConfigMediaType(image(t, "amd64"), "application/vnd.example.chart.config.v1+json"), anonymous)

	amdDigest, armDigest := manifestDigest(t, amd), manifestDigest(t, arm)
	creds := credsFor(auth.Host, testUser, testPassword)

	tests := []struct {
		name     string
		uri      string
		arch     string
		keychain authn.Keychain
		// want is the manifest digest written; wantErr and wantMsg the
		// error otherwise.
		want    v1.Hash
		wantErr lambdahost.ErrorType
		wantMsg string
	}{
		{name: "tag", uri: single + ":v1", arch: "x86_64", want: amdDigest},
		{name: "default-architecture", uri: single + ":v1", want: amdDigest},
		{name: "digest", uri: single + "@" + amdDigest.String(), arch: "x86_64", want: amdDigest},
		{name: "tag-and-digest", uri: single + ":v1@" + amdDigest.String(), arch: "x86_64", want: amdDigest},
		{name: "index-amd64", uri: multi + ":v1", arch: "x86_64", want: amdDigest},
		{name: "index-arm64", uri: multi + ":v1", arch: "arm64", want: armDigest},
		{
			name: "index-without-platform", uri: amdOnly + ":v1", arch: "arm64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "The architecture of the source image " + amdOnly + ":v1 (x86_64) does not match the architecture of the function (arm64).",
		},
		{
			name: "architecture-mismatch", uri: single + ":v1", arch: "arm64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "The architecture of the source image " + single + ":v1 (x86_64) does not match the architecture of the function (arm64).",
		},
		{
			name: "missing-tag", uri: single + ":nope", arch: "x86_64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "Source image " + single + ":nope does not exist. Provide a valid source image.",
		},
		{
			name: "missing-repository", uri: anon.Host + "/no/such/repo:v1", arch: "x86_64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "Source image " + anon.Host + "/no/such/repo:v1 does not exist. Provide a valid source image.",
		},
		{
			name: "missing-digest", uri: single + "@sha256:" + strings.Repeat("0", 64), arch: "x86_64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "Source image " + single + "@sha256:" + strings.Repeat("0", 64) + " does not exist. Provide a valid source image.",
		},
		{
			name: "no-tag", uri: single, arch: "x86_64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "Source image " + single + " is not valid. Provide a valid source image.",
		},
		{
			name: "no-registry", uri: "my-repo:latest", arch: "x86_64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "Source image my-repo:latest is not valid. Provide a valid source image.",
		},
		{
			name: "malformed", uri: anon.Host + "/UPPER:v1", arch: "x86_64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "Source image " + anon.Host + "/UPPER:v1 is not valid. Provide a valid source image.",
		},
		{
			name: "windows-image", uri: windows + ":v1", arch: "x86_64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "The image manifest, config or layer media type for the source image " + windows + ":v1 is not supported.",
		},
		{
			name: "artifact-not-image", uri: artifact + ":v1", arch: "x86_64",
			wantErr: lambdahost.InvalidParameterValueException,
			wantMsg: "The image manifest, config or layer media type for the source image " + artifact + ":v1 is not supported.",
		},
		{name: "basic-auth", uri: private + ":v1", arch: "x86_64", keychain: creds, want: amdDigest},
		{
			name: "basic-auth-missing", uri: private + ":v1", arch: "x86_64",
			wantErr: lambdahost.AccessDeniedException,
			wantMsg: "Lambda does not have permission to access the ECR image. Check the ECR permissions.",
		},
		{
			name: "basic-auth-wrong-password", uri: private + ":v1", arch: "x86_64", keychain: credsFor(auth.Host, testUser, "wrong"),
			wantErr: lambdahost.AccessDeniedException,
			wantMsg: "Lambda does not have permission to access the ECR image. Check the ECR permissions.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t)
			if tt.keychain != nil {
				s.Keychain = tt.keychain
			}
			var w memBlob
			code, err := s.Fetch(t.Context(), "123456789012", lambdahost.CodeLocation{ImageURI: tt.uri, Architecture: tt.arch}, &w)
			if tt.wantErr != "" {
				checkAPIError(t, err, tt.wantErr, tt.wantMsg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(w.Bytes())
			if got := hex.EncodeToString(sum[:]); got != tt.want.Hex {
				t.Errorf("manifest written has digest %s, want %s", got, tt.want.Hex)
			}
			repoName := tt.uri[:strings.LastIndex(tt.uri, "/")] + "/" + strings.FieldsFunc(tt.uri[strings.LastIndex(tt.uri, "/")+1:], func(r rune) bool { return r == ':' || r == '@' })[0]
			want := lambdahost.Code{PackageType: "Image", ImageURI: tt.uri, ResolvedImageURI: repoName + "@" + tt.want.String()}
			if code != want {
				t.Errorf("Code = %+v, want %+v", code, want)
			}
		})
	}
}

func mutateOS(tb testing.TB, img v1.Image, os string) v1.Image {
	tb.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS = os
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

func checkAPIError(tb testing.TB, err error, typ lambdahost.ErrorType, msg string) {
	tb.Helper()
	var e *lambdahost.Error
	if !errors.As(err, &e) {
		tb.Fatalf("err = %v, want a *lambdahost.Error", err)
	}
	if e.Type != typ || e.Message != msg {
		tb.Errorf("error = %s: %q\nwant    %s: %q", e.Type, e.Message, typ, msg)
	}
	if e.Status != typ.Status() {
		tb.Errorf("Status = %d, want %d", e.Status, typ.Status())
	}
}

// TestFetchTagMoves checks that a tag moved to another image resolves to
// the new image, and that the image resolved before stays pullable by the
// digest Fetch returned: a version keeps running what it was created with.
func TestFetchTagMoves(t *testing.T) {
	anon, _ := mustRegistries(t)
	ref := repo(t, anon.Host) + ":latest"
	s := newSource(t)

	v1img := lambdaImage(t, "amd64", "one")
	push(t, ref, v1img, anonymous)
	var w1 memBlob
	code1, err := s.Fetch(t.Context(), "", lambdahost.CodeLocation{ImageURI: ref}, &w1)
	if err != nil {
		t.Fatal(err)
	}

	v2img := lambdaImage(t, "amd64", "two")
	push(t, ref, v2img, anonymous)
	var w2 memBlob
	code2, err := s.Fetch(t.Context(), "", lambdahost.CodeLocation{ImageURI: ref}, &w2)
	if err != nil {
		t.Fatal(err)
	}
	if w1.Digest() == w2.Digest() || code1.ResolvedImageURI == code2.ResolvedImageURI {
		t.Fatalf("digest did not change when the tag moved: %s", code1.ResolvedImageURI)
	}
	if w1.Digest().Hex() != manifestDigest(t, v1img).Hex || w2.Digest().Hex() != manifestDigest(t, v2img).Hex {
		t.Errorf("digests %s, %s; want %s, %s", w1.Digest(), w2.Digest(), manifestDigest(t, v1img), manifestDigest(t, v2img))
	}

	rootfs, err := s.Unpack(t.Context(), w1.Digest(), code1.ResolvedImageURI)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, rootfs, "var/task/bootstrap", "#!/bin/sh\necho one\n")
}

// TestFetchUnreachable checks that a registry that cannot be reached, or
// that accepts connections and never answers, fails Fetch within its
// timeout.
func TestFetchUnreachable(t *testing.T) {
	// A port nothing listens on: connections are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	// A listener that accepts and never answers.
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()

	tests := []struct {
		name string
		host string
	}{
		{"connection-refused", closed},
		{"no-answer", hole.Addr().String()},
		{"no-such-host", "registry.invalid:5000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t)
			// The hole never answers: only FetchTimeout can end that
			// Fetch, and it must, long before waitBound.
			s.FetchTimeout = 500 * time.Millisecond
			uri := tt.host + "/fn:latest"
			done := make(chan error, 1)
			go func() {
				_, err := s.Fetch(t.Context(), "", lambdahost.CodeLocation{ImageURI: uri}, &memBlob{})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(waitBound):
				t.Fatalf("Fetch still running after %v with a FetchTimeout of %v", waitBound, s.FetchTimeout)
			}
			checkAPIError(t, err, lambdahost.InvalidParameterValueException, "Source image "+uri+" does not exist. Provide a valid source image.")
		})
	}

	t.Run("caller-cancels", func(t *testing.T) {
		s := newSource(t)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := s.Fetch(ctx, "", lambdahost.CodeLocation{ImageURI: hole.Addr().String() + "/fn:latest"}, &memBlob{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the caller's context error", err)
		}
	})
}

// TestFetchHTTPS fetches from a registry served over TLS, which is what
// any registry but a loopback or listed insecure one must use.
func TestFetchHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the TLS failures below
	srv.StartTLS()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	ref := host + "/tls/fn:v1"
	img := lambdaImage(t, "amd64", "tls")
	// remote.Write with the test server's client, which trusts its cert.
	pushTLS(t, ref, img, srv.Client().Transport)

	s := newSource(t)
	s.Transport = srv.Client().Transport
	var w memBlob
	code, err := s.Fetch(t.Context(), "", lambdahost.CodeLocation{ImageURI: ref}, &w)
	if err != nil {
		t.Fatal(err)
	}
	if w.Digest().Hex() != manifestDigest(t, img).Hex {
		t.Errorf("digest %s, want %s", w.Digest(), manifestDigest(t, img))
	}
	rootfs, err := s.Unpack(t.Context(), w.Digest(), code.ResolvedImageURI)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, rootfs, "var/task/bootstrap", "#!/bin/sh\necho tls\n")

	// Without the test CA, TLS fails and Fetch answers, quickly.
	s2 := newSource(t)
	_, err = s2.Fetch(t.Context(), "", lambdahost.CodeLocation{ImageURI: ref}, &memBlob{})
	checkAPIError(t, err, lambdahost.InvalidParameterValueException, "Source image "+ref+" does not exist. Provide a valid source image.")
}

// TestPlainHTTPRefused checks that a registry that is neither loopback
// nor listed in Insecure is never spoken to in plain HTTP, even where
// go-containerregistry would fall back to it (private addresses).
func TestPlainHTTPRefused(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	s := newSource(t)
	// Send every request to the plain HTTP server, whatever its host, as
	// if 10.1.2.3 were that server.
	s.Transport = redirectTransport{to: strings.TrimPrefix(srv.URL, "http://")}
	uri := "10.1.2.3:5000/fn:v1"
	_, err := s.Fetch(t.Context(), "", lambdahost.CodeLocation{ImageURI: uri}, &memBlob{})
	checkAPIError(t, err, lambdahost.InvalidParameterValueException, "Source image "+uri+" does not exist. Provide a valid source image.")
	var e *lambdahost.Error
	if errors.As(err, &e) && !strings.Contains(fmt.Sprint(e.Err), "plain HTTP to 10.1.2.3:5000 refused") {
		t.Errorf("cause = %v, want plain HTTP refused", e.Err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d plain HTTP requests reached the server", n)
	}

	// Listed as insecure, it may.
	s = newSource(t)
	s.Insecure = []string{"10.1.2.3:5000"}
	s.Transport = redirectTransport{to: strings.TrimPrefix(srv.URL, "http://")}
	s.Fetch(t.Context(), "", lambdahost.CodeLocation{ImageURI: uri}, &memBlob{})
	if hits.Load() == 0 {
		t.Errorf("no request reached the insecure registry")
	}
}

// redirectTransport sends every request to host to, in plain HTTP, and
// refuses HTTPS as a server speaking only HTTP would.
type redirectTransport struct{ to string }

func (rt redirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "https" {
		return nil, errors.New("tls: first record does not look like a TLS handshake")
	}
	r = r.Clone(r.Context())
	r.URL.Host = rt.to
	return http.DefaultTransport.RoundTrip(r)
}

// pushTLS writes img to ref through transport tr.
func pushTLS(tb testing.TB, ref string, img v1.Image, tr http.RoundTripper) {
	tb.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithTransport(tr), remote.WithContext(tb.Context())); err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
}

package oci_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lambdahost/lambdahost"
)

// requireEnv makes a missing docker-registry fail the tests instead of
// skipping them, as CI sets it.
const requireEnv = "LAMBDAHOST_E2E_REQUIRE"

// registryEnv names the registry binary explicitly, overriding PATH.
const registryEnv = "LAMBDAHOST_DOCKER_REGISTRY"

// waitBound bounds every wait for something that happens at once when the
// code works (a registry starting, a Fetch past its FetchTimeout): it only
// decides how long a broken build takes to fail.
const waitBound = 2 * time.Minute

// The user of the registry with basic auth. htpasswdEntry is its line,
// made with `htpasswd -nbB -C 5 lambdahost s3cret-pass` (the registry
// accepts only bcrypt), so that the tests need no htpasswd or bcrypt.
const (
	testUser      = "lambdahost"
	testPassword  = "s3cret-pass"
	htpasswdEntry = "lambdahost:$2y$05$8rZIR5fS30TsytPT4Cwf.uGw0069IO3dSHCIcWt9mqhHQ4KquH0Qm\n"
)

// registry is a running distribution registry (Debian's docker-registry)
// with filesystem storage, listening on 127.0.0.1.
type registry struct {
	Host string // 127.0.0.1:port
	cmd  *exec.Cmd
	dir  string
	done chan error
}

var (
	regOnce  sync.Once
	regAnon  *registry // no auth
	regAuth  *registry // htpasswd basic auth
	regErr   error
	regSkip  bool
	regStops []*registry
)

func TestMain(m *testing.M) {
	// Keep the developer's Docker credentials out of the tests.
	os.Setenv("DOCKER_CONFIG", filepath.Join(os.TempDir(), "lambdahost-oci-test-no-docker-config"))
	code := m.Run()
	for _, r := range regStops {
		r.stop()
	}
	os.Exit(code)
}

// mustRegistries returns the package's two registries, anonymous and
// with basic auth, starting them on first use. Tests isolate themselves
// by repository name. If docker-registry is not installed the test is
// skipped, or fails if LAMBDAHOST_E2E_REQUIRE=1.
func mustRegistries(tb testing.TB) (anon, auth *registry) {
	tb.Helper()
	regOnce.Do(func() {
		bin := os.Getenv(registryEnv)
		if bin == "" {
			var err error
			if bin, err = exec.LookPath("docker-registry"); err != nil {
				regErr, regSkip = err, true
				return
			}
		}
		if regAnon, regErr = startRegistry(bin, false); regErr != nil {
			return
		}
		regAuth, regErr = startRegistry(bin, true)
	})
	switch {
	case regAnon != nil && regAuth != nil:
		return regAnon, regAuth
	case regSkip && os.Getenv(requireEnv) != "1":
		tb.Skipf("docker-registry not installed (%v); on Debian: apt-get install docker-registry", regErr)
	default:
		tb.Fatalf("docker-registry: %v", regErr)
	}
	return nil, nil
}

// startRegistry starts docker-registry with a config of its own, trying
// again on another port if the one probed is taken before it listens.
func startRegistry(bin string, withAuth bool) (*registry, error) {
	var err error
	for range 3 {
		var r *registry
		if r, err = startRegistryOnce(bin, withAuth); err == nil {
			regStops = append(regStops, r)
			return r, nil
		}
	}
	return nil, err
}

func startRegistryOnce(bin string, withAuth bool) (*registry, error) {
	dir, err := os.MkdirTemp("", "lambdahost-oci-registry-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	host := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: lambdahost-test-secret
`, filepath.Join(dir, "data"), host)
	if withAuth {
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswdEntry), 0o600); err != nil {
			return nil, err
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: lambdahost-test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	logf.Close()
	r := &registry{Host: host, cmd: cmd, dir: dir, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		select {
		case err := <-r.done:
			out, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("exited before serving: %v: %s", err, out)
		default:
		}
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return r, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()
	return nil, fmt.Errorf("not serving after %v", waitBound)
}

func (r *registry) stop() {
	r.cmd.Process.Kill()
	<-r.done
	os.RemoveAll(r.dir)
}

// keychain holds credentials by registry host.
type keychain map[string]authn.Authenticator

func (k keychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if a, ok := k[res.RegistryStr()]; ok {
		return a, nil
	}
	return authn.Anonymous, nil
}

// anonymous is a keychain with no credentials.
var anonymous = keychain{}

func credsFor(host, user, password string) keychain {
	return keychain{host: &authn.Basic{Username: user, Password: password}}
}

// push writes img to ref ("<host>/<repo>:<tag>") and returns its digest.
func push(tb testing.TB, ref string, img v1.Image, kc authn.Keychain) v1.Hash {
	tb.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuthFromKeychain(kc), remote.WithContext(tb.Context())); err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// pushIndex writes idx to ref and returns its digest.
func pushIndex(tb testing.TB, ref string, idx v1.ImageIndex) v1.Hash {
	tb.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, remote.WithContext(tb.Context())); err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// memBlob is a lambdahost.BlobWriter in memory.
type memBlob struct {
	bytes.Buffer
	committed bool
}

var _ lambdahost.BlobWriter = (*memBlob)(nil)

func (b *memBlob) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(b.Bytes()).ReadAt(p, off)
}
func (b *memBlob) Size() int64 { return int64(b.Len()) }
func (b *memBlob) Digest() lambdahost.Digest {
	return lambdahost.Digest(sha256.Sum256(b.Bytes()))
}
func (b *memBlob) Commit(context.Context) (lambdahost.Digest, error) {
	b.committed = true
	return b.Digest(), nil
}
func (b *memBlob) CommitAs(context.Context, lambdahost.Digest) error {
	b.committed = true
	return nil
}
func (b *memBlob) Abort() error { return nil }

// countingTransport counts requests by method and kind ("blobs",
// "manifests").
type countingTransport struct {
	mu   sync.Mutex
	n    map[string]int
	next http.RoundTripper
}

func newCountingTransport() *countingTransport {
	return &countingTransport{n: make(map[string]int), next: http.DefaultTransport}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := "other"
	for _, k := range []string{"/blobs/", "/manifests/"} {
		if bytes.Contains([]byte(r.URL.Path), []byte(k)) {
			kind = k[1 : len(k)-1]
		}
	}
	c.mu.Lock()
	c.n[r.Method+" "+kind]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

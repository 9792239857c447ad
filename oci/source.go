package oci

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lambdahost/lambdahost"
)

// Limits and defaults.
const (
	// DefaultMaxSize is AWS's limit on an image's uncompressed size, all
	// layers included, "10 GB", taken as 10 GiB.
	DefaultMaxSize = 10 << 30
	// DefaultMaxFiles bounds the entries of all layers together. Large
	// images (a Python base with PyTorch) hold a few hundred thousand.
	DefaultMaxFiles = 1 << 20
	// DefaultFetchTimeout bounds a Fetch, registry round trips included.
	DefaultFetchTimeout = 30 * time.Second

	// maxManifestSize is the distribution registry's own limit on manifests.
	maxManifestSize = 4 << 20
	// maxConfigSize bounds an image config, which is read into memory.
	maxConfigSize = 8 << 20
)

// Source fetches images from OCI registries and unpacks them. It
// implements [lambdahost.CodeSource]. Set its fields before first use.
type Source struct {
	// Dir holds unpacked images (see the package documentation). It
	// belongs to one Source: Collect removes whatever it does not know.
	Dir string
	// Insecure lists registries ("host" or "host:port") that may be
	// reached over plain HTTP. Loopback registries (localhost, 127.0.0.0/8,
	// ::1) always may; any other registry must use HTTPS.
	Insecure []string
	// Keychain finds credentials for a registry. If nil,
	// authn.DefaultKeychain is used: the Docker config file
	// ($DOCKER_CONFIG/config.json or ~/.docker/config.json) and its
	// credential helpers; registries it has nothing for are read anonymously.
	Keychain authn.Keychain
	// Transport carries registry requests. If nil, a transport with dial,
	// TLS handshake and response header timeouts is used. Either way,
	// plain HTTP is refused to registries not allowed by Insecure.
	Transport http.RoundTripper
	// MaxSize bounds an image, in bytes: the sum of its layers'
	// uncompressed sizes (so what Unpack writes), and the sum of their
	// compressed sizes (what it downloads). If zero, DefaultMaxSize is used.
	MaxSize int64
	// MaxFiles bounds the number of entries in an image's layers. If zero,
	// DefaultMaxFiles is used.
	MaxFiles int64
	// FetchTimeout bounds a Fetch. If zero, DefaultFetchTimeout is used.
	FetchTimeout time.Duration
	// Logger receives a line per unpacked or removed image. If nil,
	// slog.Default is used.
	Logger *slog.Logger

	initOnce  sync.Once
	transport *guard

	mu sync.Mutex
	// flights are the unpacks in progress, by manifest digest.
	flights map[lambdahost.Digest]*flight
	// temps are the names under images/tmp that unpacks in progress own.
	temps map[string]bool
}

var _ lambdahost.CodeSource = (*Source)(nil)

// NewSource returns a Source that keeps unpacked images under dir.
func NewSource(dir string) *Source {
	return &Source{Dir: dir}
}

func (s *Source) init() {
	s.initOnce.Do(func() {
		next := s.Transport
		if next == nil {
			next = newTransport()
		}
		allowed := make(map[string]bool, len(s.Insecure))
		for _, h := range s.Insecure {
			allowed[strings.ToLower(h)] = true
		}
		s.transport = &guard{next: next, insecure: allowed}
		s.flights = make(map[lambdahost.Digest]*flight)
		s.temps = make(map[string]bool)
	})
}

func (s *Source) logger() *slog.Logger {
	l := s.Logger
	if l == nil {
		l = slog.Default()
	}
	return l.With(lambdahost.LogKeyComponent, "oci")
}

func (s *Source) maxSize() int64 {
	if s.MaxSize > 0 {
		return s.MaxSize
	}
	return DefaultMaxSize
}

func (s *Source) maxFiles() int64 {
	if s.MaxFiles > 0 {
		return s.MaxFiles
	}
	return DefaultMaxFiles
}

func (s *Source) fetchTimeout() time.Duration {
	if s.FetchTimeout > 0 {
		return s.FetchTimeout
	}
	return DefaultFetchTimeout
}

func (s *Source) imagesDir() string { return filepath.Join(s.Dir, "images", "sha256") }
func (s *Source) tmpDir() string    { return filepath.Join(s.Dir, "images", "tmp") }

// imageDir is where the image with manifest digest d is unpacked.
func (s *Source) imageDir(d lambdahost.Digest) string {
	return filepath.Join(s.imagesDir(), d.Hex())
}

// nameOptions are the options for parsing references: strict (a tag or
// digest is required, as AWS requires one) and insecure for registries
// allowed plain HTTP, so that go-containerregistry falls back to it.
func (s *Source) nameOptions(uri string) []name.Option {
	opts := []name.Option{name.StrictValidation}
	if host, _, ok := strings.Cut(uri, "/"); ok && s.transport.allowHTTP(host) {
		opts = append(opts, name.Insecure)
	}
	return opts
}

// remoteOptions are the options of every registry call made under ctx.
func (s *Source) remoteOptions(ctx context.Context) []remote.Option {
	kc := s.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(s.transport),
		remote.WithUserAgent("lambdahost"),
		// Fewer and shorter retries than go-containerregistry's default
		// (1s, 3s), so that a Fetch answers within its timeout.
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 3, Jitter: 0.1, Steps: 3}),
	}
}

// newTransport returns the default transport: the standard one with
// timeouts on each step that could otherwise wait for ever on a registry
// that accepts connections and never answers.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	t.ExpectContinueTimeout = time.Second
	t.MaxIdleConnsPerHost = 16
	return t
}

// guard refuses plain HTTP except to loopback and insecure registries.
// go-containerregistry falls back to HTTP for any registry whose name is a
// private (RFC 1918) address; guard keeps credentials and images of those
// registries on TLS unless the operator listed them in Insecure. It also
// applies to redirects, which the client follows through the same
// transport.
type guard struct {
	next     http.RoundTripper
	insecure map[string]bool
}

func (g *guard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && !g.allowHTTP(r.URL.Host) {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("plain HTTP to %s refused: not a loopback address and not listed as insecure", r.URL.Host)
	}
	return g.next.RoundTrip(r)
}

// allowHTTP reports whether hostport ("host", "host:port", "[::1]:port")
// may be reached over plain HTTP.
func (g *guard) allowHTTP(hostport string) bool {
	hostport = strings.ToLower(hostport)
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	return g.insecure[hostport] || g.insecure[host]
}

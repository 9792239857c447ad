package sandbox_test

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox"
)

// mustPasta skips the test, or fails it in CI, if pasta is missing.
func mustPasta(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("pasta"); err != nil {
		skipOrFail(tb, "pasta not installed (apt-get install passt)")
	}
}

// netProbe runs testdata/netprobe.py with probes in an environment of l
// and returns its answers and the environment's /etc/hosts.
func netProbe(t *testing.T, l *sandbox.Launcher, probes ...string) (map[string]string, string, string) {
	t.Helper()
	var out buffer
	spec := &lambdahost.LaunchSpec{
		ID:       "netprobe",
		Mounts:   []lambdahost.Mount{{Source: netProbeDir(t), Target: "/var/task"}},
		Argv:     append([]string{python, "/var/task/netprobe.py"}, probes...),
		Env:      []string{"PATH=/usr/bin:/bin"},
		Dir:      "/var/task",
		MemoryMB: 256,
		Output:   &out,
	}
	p := mustLaunch(t, l, spec)
	if exit := waitDone(t, p); exit.Code != 0 {
		t.Fatalf("Exit=%v, output:\n%s", exit, out.String())
	}
	var got struct {
		Probes map[string]string `json:"probes"`
		Hosts  string            `json:"hosts"`
		Resolv string            `json:"resolv"`
	}
	decodeJSON(t, out.String(), &got)
	return got.Probes, got.Hosts, got.Resolv
}

// netProbeDir returns a directory holding testdata/netprobe.py.
func netProbeDir(tb testing.TB) string {
	tb.Helper()
	dir := publicDir(tb)
	b, err := os.ReadFile("testdata/netprobe.py")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "netprobe.py"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// The addresses probed outside the machine are only ever probed with UDP
// connects, which send nothing: what matters is whether the environment's
// routing lets them through.
const (
	privateProbe  = "udp:10.20.30.40:53"
	metadataProbe = "udp:169.254.169.254:80"
	publicProbe   = "udp:8.8.8.8:53"
)

// TestNetwork_Host checks that a NetworkHost environment reaches the
// host's loopback at sandbox.HostName, and other routes, but not the cloud
// metadata service.
func TestNetwork_Host(t *testing.T) {
	mustPython(t)
	mustPasta(t)
	l := mustNamespaces(t, sandbox.Options{Network: sandbox.NetworkHost})
	if got := l.Network(); got != sandbox.NetworkHost {
		t.Fatalf("Network()=%s, want host", got)
	}
	port, accepted := hostListener(t)
	hostTCP := "tcp:" + sandbox.HostName + ":" + strconv.Itoa(port)
	got, hosts, resolv := netProbe(t, l, hostTCP, privateProbe, publicProbe, metadataProbe, "tcp:127.0.0.1:"+strconv.Itoa(port))
	want := map[string]string{
		hostTCP:       "ok",
		privateProbe:  "ok",
		publicProbe:   "ok",
		metadataProbe: "EACCES",
		// The environment's own loopback, not the host's.
		"tcp:127.0.0.1:" + strconv.Itoa(port): "ECONNREFUSED",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	if !accepted() {
		t.Errorf("the host's listener saw no connection")
	}
	if !strings.Contains(hosts, "169.254.1.1\t"+sandbox.HostName+"\n") {
		t.Errorf("/etc/hosts lacks %s:\n%s", sandbox.HostName, hosts)
	}
	if !strings.HasPrefix(resolv, "nameserver 169.254.1.1\n") {
		t.Errorf("/etc/resolv.conf:\n%s", resolv)
	}
	if ep, ok := l.Endpoint(netip.MustParseAddrPort("127.0.0.1:9001")); !ok || ep != sandbox.HostName+":9001" {
		t.Errorf("Endpoint(127.0.0.1:9001)=%q, %v", ep, ok)
	}
}

// TestNetwork_Internet checks that a NetworkInternet environment reaches
// public addresses and lambdahost's own endpoint, and nothing else of the
// host or of private networks.
func TestNetwork_Internet(t *testing.T) {
	mustPython(t)
	mustPasta(t)
	apiPort, apiAccepted := hostListener(t)
	otherPort, otherAccepted := hostListener(t)
	l := mustNamespaces(t, sandbox.Options{
		Network:   sandbox.NetworkInternet,
		Endpoints: []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(apiPort))},
	})
	api := "tcp:" + sandbox.HostName + ":" + strconv.Itoa(apiPort)
	other := "tcp:" + sandbox.HostName + ":" + strconv.Itoa(otherPort)
	otherUDP := "udp:" + sandbox.HostName + ":" + strconv.Itoa(otherPort)
	got, _, _ := netProbe(t, l, api, other, otherUDP, privateProbe, publicProbe, metadataProbe, "udp:192.168.1.1:53", "udp:172.16.0.1:53")
	want := map[string]string{
		api:                  "ok",
		other:                "EACCES",
		otherUDP:             "EACCES",
		privateProbe:         "EACCES",
		metadataProbe:        "EACCES",
		"udp:192.168.1.1:53": "EACCES",
		"udp:172.16.0.1:53":  "EACCES",
		publicProbe:          "ok",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	if !apiAccepted() {
		t.Errorf("lambdahost's endpoint saw no connection")
	}
	if otherAccepted() {
		t.Errorf("another service on the host's loopback was reached")
	}
	if ep, ok := l.Endpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(apiPort))); !ok || ep != sandbox.HostName+":"+strconv.Itoa(apiPort) {
		t.Errorf("Endpoint(api)=%q, %v", ep, ok)
	}
	if ep, ok := l.Endpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(otherPort))); ok {
		t.Errorf("Endpoint(other)=%q, want none", ep)
	}
}

// TestNetwork_None checks that the default leaves only the loopback.
func TestNetwork_None(t *testing.T) {
	mustPython(t)
	l := mustNamespaces(t, sandbox.Options{})
	if got := l.Network(); got != sandbox.NetworkNone {
		t.Fatalf("Network()=%s, want none", got)
	}
	got, hosts, _ := netProbe(t, l, publicProbe, "tcp:127.0.0.1:1")
	if got[publicProbe] != "ENETUNREACH" {
		t.Errorf("%s: %s, want ENETUNREACH", publicProbe, got[publicProbe])
	}
	if strings.Contains(hosts, sandbox.HostName) {
		t.Errorf("/etc/hosts names %s without a network", sandbox.HostName)
	}
	if ep, ok := l.Endpoint(netip.MustParseAddrPort("127.0.0.1:9001")); ok {
		t.Errorf("Endpoint=%q, want none", ep)
	}
}

// TestNetwork_NoPasta checks that a network without pasta is refused with
// the fix.
func TestNetwork_NoPasta(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "namespaces mode needs root")
	}
	_, err := sandbox.New(sandbox.Options{Mode: sandbox.ModeNamespaces, StateDir: t.TempDir(), Network: sandbox.NetworkHost,
		Pasta: filepath.Join(t.TempDir(), "pasta")})
	if err == nil || !strings.Contains(err.Error(), "apt-get install passt") {
		t.Fatalf("New=%v, want an error naming passt", err)
	}
}

package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/lambdahost/lambdahost/sandbox/internal/nsinit"
)

// Network is what an environment reaches besides its Runtime API.
type Network string

const (
	// NetworkNone leaves environments with a loopback interface only: they
	// reach nothing outside themselves.
	NetworkNone Network = "none"
	// NetworkHost gives environments outbound connections through pasta,
	// and the host's loopback at HostName: lambdahost itself, and the
	// databases and emulators of a developer's machine.
	NetworkHost Network = "host"
	// NetworkInternet gives environments outbound connections to public
	// addresses only: the host's loopback and addresses, private,
	// link-local and other special ranges are refused, except the
	// addresses of lambdahost's own API (Options.Endpoints). It suits a
	// server shared by people who should not reach each other's or the
	// host's services.
	NetworkInternet Network = "internet"
	// NetworkShared is the network of ModeProcess environments: they are
	// plain processes on the host and share its network, loopback
	// included, whatever Options.Network says.
	NetworkShared Network = "shared"
)

// ParseNetwork parses the name of a network mode a user can choose: none,
// host or internet.
func ParseNetwork(s string) (Network, error) {
	switch n := Network(s); n {
	case NetworkNone, NetworkHost, NetworkInternet:
		return n, nil
	}
	return "", fmt.Errorf("unknown network mode %q: want host, internet or none", s)
}

// ErrNetwork is wrapped by New's error when namespaces work but the network
// asked for does not (pasta is missing or fails).
var ErrNetwork = errors.New("network unavailable")

// HostName is the name at which a namespaced environment with a network
// reaches the host's loopback (NetworkHost), or lambdahost's own API on it
// (NetworkInternet). Environments resolve it through their /etc/hosts.
const HostName = "host.lambdahost.internal"

// Addresses of a networked environment. They are link-local: nothing on
// any real network uses them for a service, and in NetworkInternet every
// other link-local address is refused. pasta maps connections to the
// gateway onto the host's loopback, and DNS queries to it onto the host's
// resolver.
var (
	gatewayAddr = netip.MustParseAddr("169.254.1.1")
	envAddr     = netip.MustParseAddr("169.254.1.2")
)

// envPrefixBits is the length of the environment's subnet.
const envPrefixBits = 24

// specialPrefixes are the IPv4 ranges NetworkInternet refuses: everything
// that is not a public unicast address (IANA's special-purpose registry),
// which includes the private ranges, the host's loopback and link-local
// addresses such as the cloud metadata service.
var specialPrefixes = []string{
	"0.0.0.0/8",       // this network
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // shared address space (carrier-grade NAT)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, cloud metadata services
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, broadcast
}

// linkLocal is refused in NetworkHost too, but for the gateway: on a cloud
// host it holds the instance metadata service, which hands out the host's
// own cloud credentials.
const linkLocal = "169.254.0.0/16"

// netConfig is a launcher's network: how pasta is started and what every
// environment gets.
type netConfig struct {
	mode  Network
	pasta string
	// endpoints are the host addresses of lambdahost's API.
	endpoints []netip.AddrPort
	// files are /etc/hosts and /etc/resolv.conf of environments built
	// on the host's /etc.
	files []nsinit.Mount
}

// newNetConfig prepares mode for a launcher in ModeNamespaces: it finds
// pasta and writes the environments' /etc/hosts and /etc/resolv.conf.
func newNetConfig(mode Network, pasta string, endpoints []netip.AddrPort) (*netConfig, error) {
	c := &netConfig{mode: mode, endpoints: endpoints}
	if mode == NetworkNone {
		return c, nil
	}
	if pasta == "" {
		pasta = "pasta"
	}
	p, err := exec.LookPath(pasta)
	if err != nil {
		return nil, fmt.Errorf("network %s needs pasta, from the passt package (apt-get install passt): %w", mode, err)
	}
	c.pasta = p
	hosts, _ := os.ReadFile("/etc/hosts")
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	c.files = []nsinit.Mount{
		{Target: "/etc/hosts", Content: hostsFile(hosts), File: true},
		{Target: "/etc/resolv.conf", Content: resolvFile(resolv), File: true},
	}
	return c, nil
}

// hostsFile returns the host's /etc/hosts with HostName added.
func hostsFile(host []byte) string {
	var b strings.Builder
	b.Write(host)
	if len(host) > 0 && !bytes.HasSuffix(host, []byte("\n")) {
		b.WriteByte('\n')
	}
	b.WriteString(gatewayAddr.String() + "\t" + HostName + "\n")
	return b.String()
}

// resolvFile returns the host's /etc/resolv.conf with the gateway as the
// only name server: pasta forwards what it receives there to the host's
// first resolver, wherever that is (a loopback stub resolver included).
func resolvFile(host []byte) string {
	var b strings.Builder
	b.WriteString("nameserver " + gatewayAddr.String() + "\n")
	for line := range bytes.Lines(host) {
		if f := bytes.Fields(line); len(f) > 0 && (string(f[0]) == "search" || string(f[0]) == "domain" || string(f[0]) == "options") {
			b.Write(bytes.TrimRight(line, "\n"))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// rules returns the policy routing rules of an environment: what it may
// not reach, with exceptions first.
func (c *netConfig) rules() []nsinit.Rule {
	gw := gatewayAddr.String() + "/32"
	switch c.mode {
	case NetworkHost:
		return []nsinit.Rule{
			{Prefix: gw, Allow: true},
			{Prefix: linkLocal},
		}
	case NetworkInternet:
		rules := []nsinit.Rule{{Prefix: gw, Proto: syscall.IPPROTO_UDP, Port: 53, Allow: true}}
		for _, ep := range c.endpoints {
			addr, ok := c.reach(ep)
			if !ok {
				continue
			}
			rules = append(rules, nsinit.Rule{Prefix: addr.Addr().String() + "/32", Proto: syscall.IPPROTO_TCP, Port: int(addr.Port()), Allow: true})
		}
		for _, p := range specialPrefixes {
			rules = append(rules, nsinit.Rule{Prefix: p})
		}
		// The host's own addresses: pasta's connections to them would
		// reach every service the host listens on.
		for _, a := range hostAddrs() {
			rules = append(rules, nsinit.Rule{Prefix: a.String() + "/32"})
		}
		return rules
	}
	return nil
}

// reach returns the address at which an environment reaches the host
// address ep: the gateway for the host's loopback or any address (pasta
// maps the gateway onto the loopback), ep itself for another IPv4 address.
func (c *netConfig) reach(ep netip.AddrPort) (netip.AddrPort, bool) {
	a := ep.Addr().Unmap()
	switch {
	case a.IsLoopback() && a.Is4(), a.IsUnspecified():
		return netip.AddrPortFrom(gatewayAddr, ep.Port()), true
	case a.Is4():
		return netip.AddrPortFrom(a, ep.Port()), true
	}
	return netip.AddrPort{}, false
}

// hostAddrs lists the host's IPv4 addresses outside the special ranges,
// read at each launch, as they may change.
var hostAddrs = func() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() && !special(ip.Unmap()) {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// special reports whether a is in one of specialPrefixes.
func special(a netip.Addr) bool {
	for _, s := range specialPrefixes {
		if netip.MustParsePrefix(s).Contains(a) {
			return true
		}
	}
	return false
}

// pastaArgs are the arguments of pasta for the init with pid, which will
// write its pid to descriptor 3 once the namespace is configured.
func (c *netConfig) pastaArgs(pid int) []string {
	return []string{
		"--foreground", "--quiet",
		// pasta drops to nobody by default, which may not join the
		// environment's user namespace (owned by root). As root it
		// still confines itself: it joins that namespace, where it has
		// no capability over the host, and runs in an empty mount
		// namespace under a seccomp filter.
		"--runas", "0",
		"--ipv4-only",
		"--config-net",
		"--ns-ifname", "eth0",
		"--address", envAddr.String(),
		"--netmask", strconv.Itoa(envPrefixBits),
		"--gateway", gatewayAddr.String(),
		"--dns-forward", gatewayAddr.String(),
		// Nothing is forwarded into the environment, and none of the
		// environment's ports are bound on the host, or the other way
		// round: the defaults ("auto") would mirror listening ports.
		"--tcp-ports", "none", "--udp-ports", "none",
		"--tcp-ns", "none", "--udp-ns", "none",
		"--pid", "/proc/self/fd/3",
		strconv.Itoa(pid),
	}
}

// netHelper is the pasta process of one environment.
type netHelper struct {
	cmd *exec.Cmd
	// ready is the read end of the pipe pasta writes its pid to once the
	// namespace is configured; it goes to the init.
	ready *os.File
	// stderr keeps the start of what pasta says, for errors.
	stderr   *capped
	done     chan struct{}
	stopOnce sync.Once
}

// startNetwork starts pasta for the init with pid.
func (c *netConfig) startNetwork(pid int) (*netHelper, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start pasta: %w", err)
	}
	defer w.Close()
	h := &netHelper{ready: r, stderr: &capped{max: 4 << 10}, done: make(chan struct{})}
	h.cmd = exec.Command(c.pasta, c.pastaArgs(pid)...)
	h.cmd.Env = []string{}
	h.cmd.Stdout = h.stderr
	h.cmd.Stderr = h.stderr
	h.cmd.ExtraFiles = []*os.File{w}
	// pasta dies with the launcher; otherwise it ends with the
	// environment's namespaces, or when the launcher kills it.
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := h.cmd.Start(); err != nil {
		r.Close()
		return nil, fmt.Errorf("start pasta: %w", err)
	}
	go func() {
		h.cmd.Wait()
		close(h.done)
	}()
	return h, nil
}

// stop kills pasta, which is reaped in the background: it holds nothing
// the launcher must wait for. It is safe to call more than once, and on
// nil.
func (h *netHelper) stop() {
	if h == nil {
		return
	}
	h.stopOnce.Do(func() {
		h.cmd.Process.Kill()
		h.ready.Close()
	})
}

// err describes how pasta ended, once it has.
func (h *netHelper) err() error {
	select {
	case <-h.done:
	default:
		return nil
	}
	msg := strings.TrimSpace(h.stderr.String())
	if msg == "" {
		msg = h.cmd.ProcessState.String()
	}
	return errors.New("pasta: " + msg)
}

// capped keeps the first max bytes written to it.
type capped struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.max - len(c.b); n > 0 {
		c.b = append(c.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.b)
}

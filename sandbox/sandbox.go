package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox/internal/nsinit"
)

var _ lambdahost.Launcher = (*Launcher)(nil)

// Mode is how a Launcher isolates environments.
type Mode string

const (
	// ModeNamespaces runs each environment in new user, mount, pid,
	// network, IPC and UTS namespaces with its own root file system.
	ModeNamespaces Mode = "namespaces"
	// ModeProcess runs each environment as a plain process group on the
	// host: the weaker fallback for hosts without user namespaces.
	ModeProcess Mode = "process"
)

// The function user inside an environment, as Lambda's.
const (
	UID      = 993
	GID      = 990
	UserName = "sbx_user1051"
)

// DefaultHostUID and DefaultHostGID are the host user and group that the
// function user maps to unless Options say otherwise: high, unprivileged
// ids that no account should use.
const (
	DefaultHostUID = 2_000_000_993
	DefaultHostGID = 2_000_000_990
)

// DefaultMaxProcs is the default limit on processes and threads of an
// environment, Lambda's as commonly observed.
const DefaultMaxProcs = 1024

// defaultTmpMB is Lambda's default ephemeral storage.
const defaultTmpMB = 512

// Options configure a Launcher. The zero value picks the best mode available.
type Options struct {
	// StateDir is a host directory for the launcher's state: the mount
	// point of environment roots, <StateDir>/root, which is only ever
	// mounted inside environments. If empty, lambdahost-sandbox in
	// os.TempDir() is used.
	StateDir string
	// ScratchDir is the host directory that holds environments' /tmp: the
	// unnamed sparse files of their file systems in ModeNamespaces, their
	// directories in ModeProcess (see scratch). It should be on a disk
	// (ext4 or xfs) with room for the /tmp in use. If empty, StateDir is
	// used.
	ScratchDir string
	// TmpSpares is how many /tmp file systems of each size in use the
	// launcher keeps formatted ahead of Launch in ModeNamespaces. If zero,
	// DefaultTmpSpares; if negative, none: each Launch formats its own,
	// which takes 15 to 50 ms. Close releases them.
	TmpSpares int
	// HostUID and HostGID are the unprivileged host user and group that
	// the function user (993:990 inside) maps to; no one else should use
	// them. In ModeProcess, a launcher running as root runs commands as
	// them. If zero, DefaultHostUID and DefaultHostGID are used.
	HostUID, HostGID uint32
	// Mode forces a mode. With ModeNamespaces, New fails if namespaces do
	// not work; with ModeProcess, New does not try them. If empty, New
	// uses namespaces when they work (as root with user namespaces
	// enabled) and falls back to ModeProcess otherwise.
	Mode Mode
	// CgroupParent is the cgroup, as a path in /proc/self/cgroup's terms
	// ("/lambdahost"), under which environments' cgroups are created, in
	// every hierarchy used. If empty, the launcher's own cgroup is used.
	CgroupParent string
	// NoCgroup disables cgroups: memory is then limited per process with
	// RLIMIT_DATA, and MaxMemory and OutOfMemory are not reported.
	NoCgroup bool
	// MaxProcs limits the processes and threads of an environment. If
	// zero, DefaultMaxProcs is used.
	MaxProcs int
	// Prestart is how many inits the launcher keeps started ahead of
	// Launch, in their namespaces, waiting for an environment to build:
	// it takes the start of a process (a few milliseconds) out of each
	// Launch, for a few megabytes of memory per spare. If zero, one is
	// kept; if negative, none. Close stops them.
	Prestart int
	// Network is what environments in ModeNamespaces reach besides their
	// Runtime API (see Network). If empty, NetworkNone. ModeProcess
	// environments share the host's network whatever it says.
	Network Network
	// Pasta is the pasta program (Debian's passt package) that connects a
	// networked environment's namespace to the host. If empty, "pasta" is
	// looked up in PATH.
	Pasta string
	// Endpoints are the host addresses of lambdahost's own API, which
	// NetworkInternet environments may still reach (TCP to exactly these);
	// a loopback or unspecified address stands for the host's loopback,
	// reached at HostName.
	Endpoints []netip.AddrPort
	// OutputDelay bounds how long an ended environment's output may stay
	// open, held by a process that escaped its process group in
	// ModeProcess. If zero, DefaultOutputDelay is used.
	OutputDelay time.Duration
	// Logger receives the launcher's decisions and clean-up failures. If
	// nil, slog.Default is used.
	Logger *slog.Logger
}

// Launcher starts execution environments. It is safe for concurrent use.
type Launcher struct {
	mode     Mode
	log      *slog.Logger
	stateDir string
	rootDir  string
	uid, gid uint32
	maxProcs int
	cgroups  *cgroups // nil without a usable memory cgroup
	scratch  *scratch
	mem      memWatch
	// net is the network of ModeNamespaces environments.
	net *netConfig
	// outputDelay is Options.OutputDelay or its default.
	outputDelay time.Duration

	// base are the mounts of every environment without RootFS: the host's
	// system directories and the function user's passwd and group.
	base []nsinit.Mount
	// system are the /proc and /dev mounts of every environment.
	system []nsinit.Mount
	// asRoot is true when the launcher runs as root, so that ModeProcess
	// drops to HostUID and HostGID.
	asRoot bool

	// spares holds inits started ahead of Launch, nil if none are kept.
	spares     chan *initProc
	closing    chan struct{}
	closeOnce  sync.Once
	keeperDone chan struct{}
}

// New returns a Launcher after choosing its mode, checking it by starting
// one environment when namespaces are to be used, and finding its cgroups.
func New(opts Options) (*Launcher, error) {
	l := &Launcher{
		log:      opts.Logger,
		stateDir: opts.StateDir,
		uid:      opts.HostUID,
		gid:      opts.HostGID,
		maxProcs: opts.MaxProcs,
		asRoot:   os.Geteuid() == 0,

		outputDelay: cmp.Or(opts.OutputDelay, DefaultOutputDelay),
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	l.log = l.log.With(lambdahost.LogKeyComponent, "sandbox")
	if l.stateDir == "" {
		l.stateDir = filepath.Join(os.TempDir(), "lambdahost-sandbox")
	}
	if l.uid == 0 {
		l.uid = DefaultHostUID
	}
	if l.gid == 0 {
		l.gid = DefaultHostGID
	}
	if l.maxProcs == 0 {
		l.maxProcs = DefaultMaxProcs
	}
	switch opts.Mode {
	case "", ModeNamespaces, ModeProcess:
	default:
		return nil, fmt.Errorf("sandbox: unknown mode %q", opts.Mode)
	}
	if err := os.MkdirAll(l.stateDir, 0o711); err != nil {
		return nil, fmt.Errorf("sandbox: state directory: %w", err)
	}
	l.rootDir = filepath.Join(l.stateDir, "root")
	if err := os.MkdirAll(l.rootDir, 0o755); err != nil {
		return nil, fmt.Errorf("sandbox: state directory: %w", err)
	}

	if !opts.NoCgroup {
		c, err := findCgroups(opts.CgroupParent)
		if err != nil {
			l.log.Warn("no usable memory cgroup: memory is limited per process with RLIMIT_DATA", lambdahost.LogKeyError, err)
		} else {
			l.cgroups = c
		}
	}

	scratchDir := opts.ScratchDir
	if scratchDir == "" {
		scratchDir = l.stateDir
	}
	tmpSpares := opts.TmpSpares
	if tmpSpares == 0 {
		tmpSpares = DefaultTmpSpares
	}
	sc, err := newScratch(scratchDir, l.log, opts.Mode != ModeProcess && l.asRoot, tmpSpares)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	l.scratch = sc

	netMode := opts.Network
	if netMode == "" {
		netMode = NetworkNone
	}
	if _, err := ParseNetwork(string(netMode)); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	none := &netConfig{mode: NetworkNone}
	l.net = none
	// The network is checked with the namespaces, by the same probe: one
	// environment start in the usual case. Only if that probe fails is
	// the network told apart from the namespaces, by a probe without it.
	var netErr error
	if netMode != NetworkNone && opts.Mode != ModeProcess {
		if l.net, netErr = newNetConfig(netMode, opts.Pasta, opts.Endpoints); netErr != nil {
			l.net = none
		}
	}
	l.mode = ModeProcess
	if opts.Mode != ModeProcess {
		err := l.tryNamespaces()
		if err != nil && l.net != none {
			if l.net = none; l.tryNamespaces() == nil {
				netErr, err = err, nil
			}
		}
		switch {
		case err == nil:
			l.mode = ModeNamespaces
		case opts.Mode == ModeNamespaces:
			sc.close()
			return nil, fmt.Errorf("sandbox: namespaces: %w", err)
		default:
			l.log.Warn("namespaces unavailable: environments run as plain processes, without file system or network isolation", lambdahost.LogKeyError, err)
		}
	}
	if l.mode == ModeNamespaces && netErr != nil {
		sc.close()
		return nil, fmt.Errorf("sandbox: %w: %s: %w", ErrNetwork, netMode, netErr)
	}
	if l.mode == ModeNamespaces {
		sc.start()
	} else {
		sc.mkfs = ""
	}

	prestart := opts.Prestart
	if prestart == 0 {
		prestart = 1
	}
	if prestart > 0 {
		l.spares = make(chan *initProc, prestart)
		l.closing = make(chan struct{})
		l.keeperDone = make(chan struct{})
		go l.keepSpares()
	}
	return l, nil
}

// Close stops the spare inits and releases the spare /tmp file systems.
// Environments already launched are not affected, and Launch still works,
// starting each init and formatting each /tmp on demand.
func (l *Launcher) Close() error {
	l.scratch.close()
	if l.spares == nil {
		return nil
	}
	l.closeOnce.Do(func() { close(l.closing) })
	<-l.keeperDone
	for {
		select {
		case ip := <-l.spares:
			ip.discard()
		default:
			return nil
		}
	}
}

// tryNamespaces prepares ModeNamespaces and starts one environment in probe
// mode, which does everything but execute a command.
func (l *Launcher) tryNamespaces() error {
	if !l.asRoot {
		return errors.New("the launcher is not root")
	}
	base, err := hostMounts()
	if err != nil {
		return err
	}
	l.base = base
	l.system = systemMounts()
	// The probe attaches the first /tmp file system, which also checks
	// that one can be made; without, /tmp is a directory.
	var tmp tmpStore
	if l.scratch.images() {
		var err error
		if tmp.img, err = l.scratch.useImages(); err != nil {
			l.log.Warn("/tmp cannot be a file system of its own: it is a directory whose size is not enforced", "scratch_dir", l.scratch.dir, lambdahost.LogKeyError, err)
		}
	}
	err = l.probe(tmp)
	if err != nil && tmp.img != nil {
		// Namespaces may work without attaching a file system.
		l.scratch.mkfs = ""
		attachErr := err
		if err = l.probe(tmpStore{}); err == nil {
			l.log.Warn("/tmp cannot be a file system of its own: it is a directory whose size is not enforced", "scratch_dir", l.scratch.dir, lambdahost.LogKeyError, attachErr)
		}
	}
	return err
}

// probe starts one environment in probe mode, with tmp as its /tmp, or a
// tmpfs if tmp is empty.
func (l *Launcher) probe(tmp tmpStore) error {
	tmpMount := nsinit.Mount{Target: "/tmp", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "size=1m"}
	if tmp.img != nil {
		tmpMount = nsinit.Mount{Target: "/tmp", Attach: 1}
	}
	spec := &nsinit.Spec{
		Probe:  true,
		Mounts: l.mounts(l.base, tmpMount, nil),
		Argv:   []string{"/probe"},
	}
	// Generous: the probe only ever waits this long if something hangs.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := l.launch(ctx, spec, "probe", 16, nil, nil, tmp)
	if err != nil {
		return err
	}
	p.Kill()
	return nil
}

// Mode reports how the launcher isolates environments.
func (l *Launcher) Mode() Mode { return l.mode }

// TmpEnforced reports whether each environment's /tmp is a file system of
// its own of exactly LaunchSpec.TmpMB; if not, it is a directory of the
// scratch directory whose size is not enforced.
func (l *Launcher) TmpEnforced() bool { return l.scratch.images() }

// Network reports what environments reach: the mode of Options.Network in
// ModeNamespaces, NetworkShared in ModeProcess.
func (l *Launcher) Network() Network {
	if l.mode == ModeProcess {
		return NetworkShared
	}
	return l.net.mode
}

// Endpoint returns the address ("host:port") at which an environment
// reaches a service that listens at addr on the host, and false if it
// cannot: with NetworkNone, with NetworkInternet unless addr is one of
// Options.Endpoints, or for an IPv6 address (environments have IPv4 only).
// A loopback or unspecified address is the host's loopback: HostName in a
// namespace, 127.0.0.1 in ModeProcess.
func (l *Launcher) Endpoint(addr netip.AddrPort) (string, bool) {
	a := addr.Addr().Unmap()
	port := strconv.Itoa(int(addr.Port()))
	if l.mode == ModeProcess {
		if a.IsLoopback() || a.IsUnspecified() {
			return net.JoinHostPort("127.0.0.1", port), true
		}
		return net.JoinHostPort(a.String(), port), true
	}
	switch l.net.mode {
	case NetworkHost:
	case NetworkInternet:
		if !slices.ContainsFunc(l.net.endpoints, func(e netip.AddrPort) bool {
			return e.Port() == addr.Port() && e.Addr().Unmap() == a
		}) {
			return "", false
		}
	default:
		return "", false
	}
	switch {
	case a.IsUnspecified(), a.IsLoopback() && a.Is4():
		return net.JoinHostPort(HostName, port), true
	case a.Is4():
		return net.JoinHostPort(a.String(), port), true
	}
	return "", false
}

// MemoryLimit reports how environments' memory is limited: "cgroup2",
// "cgroup1", or "rlimit" (RLIMIT_DATA per process).
func (l *Launcher) MemoryLimit() string {
	if l.cgroups == nil {
		return "rlimit"
	}
	return l.cgroups.name()
}

// Launch starts spec.Argv in a new environment. It returns once the command
// has been executed, or an error saying which step failed: a missing mount
// source, a mount, or the execution of Argv[0] inside the environment.
//
// An *os.File Output, such as the write end of a pipe, becomes the standard
// output and error of the environment's processes as it is (in blocking
// mode), so their output reaches it without a copy in between; any other
// writer is fed from a pipe by a goroutine. A nil Output discards.
func (l *Launcher) Launch(ctx context.Context, spec *lambdahost.LaunchSpec) (lambdahost.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(spec.Argv) == 0 {
		return nil, fmt.Errorf("launch %s: empty command", spec.ID)
	}
	for _, m := range spec.Mounts {
		if !filepath.IsAbs(m.Source) {
			return nil, fmt.Errorf("launch %s: mount source %q is not absolute", spec.ID, m.Source)
		}
		if !filepath.IsAbs(m.Target) || filepath.Clean(m.Target) != m.Target || m.Target == "/" {
			return nil, fmt.Errorf("launch %s: mount target %q is not a clean absolute path below /", spec.ID, m.Target)
		}
	}
	var p *Process
	var err error
	if l.mode == ModeNamespaces {
		p, err = l.launchNamespaces(ctx, spec)
	} else {
		p, err = l.launchProcess(ctx, spec)
	}
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", spec.ID, err)
	}
	return p, nil
}

func (l *Launcher) launchNamespaces(ctx context.Context, spec *lambdahost.LaunchSpec) (*Process, error) {
	base := l.base
	if spec.RootFS != "" {
		var err error
		if base, err = rootFSMounts(spec.RootFS); err != nil {
			return nil, err
		}
	}
	user, err := userMounts(spec.Mounts)
	if err != nil {
		return nil, err
	}
	tmpMB := spec.TmpMB
	if tmpMB <= 0 {
		tmpMB = defaultTmpMB
	}
	tmp, err := l.scratch.get(tmpMB)
	if err != nil {
		return nil, err
	}
	tmpMount := nsinit.Mount{Target: "/tmp", Attach: 1}
	if tmp.img == nil {
		tmpMount = nsinit.Mount{Target: "/tmp", Source: tmp.dir, Writable: true}
	}
	if l.net.mode != NetworkNone {
		if spec.RootFS == "" {
			base = slices.Concat(base, l.net.files)
		} else {
			base = slices.Concat(base, imageNetFiles(spec.RootFS, l.net.files))
		}
	}
	is := &nsinit.Spec{
		Mounts:   l.mounts(base, tmpMount, user),
		Hostname: hostname(spec.ID),
		Argv:     spec.Argv,
		Env:      setEnv(spec.Env, "AWS_LAMBDA_RUNTIME_API", lambdahost.RuntimeAPIAddress),
		Dir:      spec.Dir,
	}
	return l.launch(ctx, is, spec.ID, spec.MemoryMB, spec.Output, nil, tmp)
}

// imageNetFiles returns those of files (/etc/hosts, /etc/resolv.conf) that
// the image at rootfs has as regular files, to be replaced: a file the image
// lacks cannot be created in its read-only /etc.
func imageNetFiles(rootfs string, files []nsinit.Mount) []nsinit.Mount {
	var out []nsinit.Mount
	for _, f := range files {
		if fi, err := os.Lstat(filepath.Join(rootfs, f.Target)); err == nil && fi.Mode().IsRegular() {
			out = append(out, f)
		}
	}
	return out
}

// mounts orders the mounts of an environment: its base (host directories or
// RootFS), /tmp, /proc and /dev, then the LaunchSpec's.
func (l *Launcher) mounts(base []nsinit.Mount, tmp nsinit.Mount, user []nsinit.Mount) []nsinit.Mount {
	ms := make([]nsinit.Mount, 0, len(base)+1+len(l.system)+len(user))
	ms = append(ms, base...)
	ms = append(ms, tmp)
	ms = append(ms, l.system...)
	return append(ms, user...)
}

// hostSystemDirs are bound read-only into environments without RootFS.
var hostSystemDirs = []string{"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc"}

// hostMounts lists the host's system directories as mounts, once: links
// (merged /usr) are recreated as links, directories bound with their mount
// flags; and the function user is added to /etc/passwd and /etc/group.
func hostMounts() ([]nsinit.Mount, error) {
	var ms []nsinit.Mount
	for _, d := range hostSystemDirs {
		m, ok, err := entryMount(d, d)
		if err != nil {
			return nil, err
		}
		if ok {
			ms = append(ms, m)
		}
	}
	for _, f := range []struct {
		name, line string
		field      int
		id         string
	}{
		{"/etc/passwd", UserName + ":x:993:990::/tmp:/sbin/nologin\n", 2, "993"},
		{"/etc/group", UserName + ":x:990:\n", 2, "990"},
	} {
		b, err := os.ReadFile(f.name)
		if err != nil {
			continue
		}
		ms = append(ms, nsinit.Mount{Target: f.name, Content: withAccount(b, f.line, f.field, f.id), File: true})
	}
	return ms, nil
}

// withAccount returns the passwd or group file b with line appended and any
// other entry of the same name or id removed.
func withAccount(b []byte, line string, field int, id string) string {
	var out strings.Builder
	for l := range bytes.Lines(b) {
		fields := strings.Split(strings.TrimRight(string(l), "\n"), ":")
		if fields[0] == UserName || (len(fields) > field && fields[field] == id) {
			continue
		}
		out.Write(l)
		if !bytes.HasSuffix(l, []byte("\n")) {
			out.WriteByte('\n')
		}
	}
	out.WriteString(line)
	return out.String()
}

// rootFSMounts lists the top level of a RootFS directory as mounts: its
// directories and files bound read-only, its links recreated. /tmp, /proc
// and /dev are the environment's own.
func rootFSMounts(dir string) ([]nsinit.Mount, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("root file system: %w", err)
	}
	ms := make([]nsinit.Mount, 0, len(entries))
	for _, e := range entries {
		switch e.Name() {
		case "tmp", "proc", "dev":
			continue
		}
		m, ok, err := entryMount(filepath.Join(dir, e.Name()), "/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("root file system: %w", err)
		}
		if ok {
			ms = append(ms, m)
		}
	}
	return ms, nil
}

// entryMount describes how host path source appears at target: as a link,
// or bound read-only. Paths that are neither links, directories nor regular
// files, or that do not exist, are left out.
func entryMount(source, target string) (nsinit.Mount, bool, error) {
	fi, err := os.Lstat(source)
	if errors.Is(err, os.ErrNotExist) {
		return nsinit.Mount{}, false, nil
	}
	if err != nil {
		return nsinit.Mount{}, false, err
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		link, err := os.Readlink(source)
		if err != nil {
			return nsinit.Mount{}, false, err
		}
		return nsinit.Mount{Target: target, Link: link}, true, nil
	case fi.IsDir(), fi.Mode().IsRegular():
		flags, err := mountFlags(source)
		if err != nil {
			return nsinit.Mount{}, false, err
		}
		return nsinit.Mount{Target: target, Source: source, File: !fi.IsDir(), Flags: flags}, true, nil
	}
	return nsinit.Mount{}, false, nil
}

// userMounts turns a LaunchSpec's mounts into the init's, checking that
// their sources exist.
func userMounts(mounts []lambdahost.Mount) ([]nsinit.Mount, error) {
	ms := make([]nsinit.Mount, 0, len(mounts))
	for _, m := range mounts {
		fi, err := os.Stat(m.Source)
		if err != nil {
			return nil, fmt.Errorf("mount %s: %w", m.Target, err)
		}
		flags, err := mountFlags(m.Source)
		if err != nil {
			return nil, fmt.Errorf("mount %s: %w", m.Target, err)
		}
		ms = append(ms, nsinit.Mount{
			Target:   m.Target,
			Source:   m.Source,
			File:     !fi.IsDir(),
			Writable: m.Writable,
			Flags:    flags,
		})
	}
	return ms, nil
}

// mountFlags returns the flags of the mount holding path that a user
// namespace cannot clear on a bind mount of it.
func mountFlags(path string) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	var flags uintptr
	for _, f := range []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_RDONLY, unix.MS_RDONLY},
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if st.Flags&f.st != 0 {
			flags |= f.ms
		}
	}
	// Without either flag the mount uses strict atime, which must be
	// asked for: a remount defaults to relatime.
	if st.Flags&(unix.ST_NOATIME|unix.ST_RELATIME) == 0 {
		flags |= unix.MS_STRICTATIME
	}
	return flags, nil
}

// devices are the host device nodes bound into each environment's /dev.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// systemMounts returns the /proc and /dev of every environment.
func systemMounts() []nsinit.Mount {
	ms := []nsinit.Mount{
		{Target: "/proc", Type: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{Target: "/dev", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "mode=0755,size=64k"},
	}
	for _, d := range devices {
		if _, err := os.Stat("/dev/" + d); err != nil {
			continue
		}
		ms = append(ms, nsinit.Mount{Target: "/dev/" + d, Source: "/dev/" + d, File: true, Writable: true})
	}
	for _, l := range [][2]string{
		{"/dev/fd", "/proc/self/fd"},
		{"/dev/stdin", "/proc/self/fd/0"},
		{"/dev/stdout", "/proc/self/fd/1"},
		{"/dev/stderr", "/proc/self/fd/2"},
	} {
		ms = append(ms, nsinit.Mount{Target: l[0], Link: l[1]})
	}
	return ms
}

// hostname derives a Lambda-like host name ("169.254.x.y") from id.
func hostname(id string) string {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return fmt.Sprintf("169.254.%d.%d", h>>8&0xff, h&0xff)
}

// setEnv returns env with key set to value, replacing any previous value.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// runtimeAPIPort is the port of lambdahost.RuntimeAPIAddress.
var runtimeAPIPort = sync.OnceValue(func() int {
	_, port, err := net.SplitHostPort(lambdahost.RuntimeAPIAddress)
	if err != nil {
		panic(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		panic(err)
	}
	return n
})

// cgroupSeq numbers the cgroups of this process, whose launchers share a
// parent cgroup.
var cgroupSeq atomic.Uint64

// cgroupName names the cgroup of environment id.
func cgroupName(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%d-%d-", cgroupPrefix, os.Getpid(), cgroupSeq.Add(1))
	for _, r := range id {
		if b.Len() >= 200 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox/internal/nsinit"
)

var _ lambdahost.Process = (*Process)(nil)

// DefaultOutputDelay bounds how long an ended environment's output may stay
// open, held by a process that escaped its process group in ModeProcess.
const DefaultOutputDelay = 2 * time.Second

// devNull is the standard input of every environment.
var devNull = sync.OnceValues(func() (*os.File, error) {
	return os.Open(os.DevNull)
})

// launch builds the environment described by is with an init, started now
// or taken from the spares, in namespaces unless listener is set (the
// host-side listener of ModeProcess), and waits until the init has executed
// the command or failed. memoryMB sets the cgroup or rlimit. The mount of
// tmp.img, if set, is sent to the init for the Mount whose Attach is 1; the
// image is released, and tmp.dir removed, when the environment ends.
func (l *Launcher) launch(ctx context.Context, is *nsinit.Spec, id string, memoryMB int, output io.Writer, listener net.Listener, tmp tmpStore) (_ *Process, err error) {
	var mount *os.File
	if tmp.img != nil {
		// The init has its own copy once the Spec is sent; the image
		// keeps the file system through its root. Taken out before the
		// reaper may release the image.
		mount, tmp.img.mount = tmp.img.mount, nil
		defer mount.Close()
	}
	namespaces := listener == nil
	is.Namespaces = namespaces
	is.Root = l.rootDir
	is.ListenPort = runtimeAPIPort()
	is.UID, is.GID = -1, -1
	if namespaces {
		is.UID, is.GID = UID, GID
	} else if l.asRoot {
		is.UID, is.GID = int(l.uid), int(l.gid)
	}
	is.Rlimits = append(is.Rlimits, nsinit.Rlimit{Resource: unix.RLIMIT_NOFILE, Cur: 1024, Max: 1024})
	if namespaces {
		is.Rules = l.net.rules()
	}

	if output == nil {
		output = io.Discard
	}
	p := &Process{
		id:       id,
		group:    !namespaces,
		listener: listener,
		tmpDir:   tmp.dir,
		tmpImg:   tmp.img,
		scratch:  l.scratch,
		log:      l.log,
		outDelay: l.outputDelay,
		outDone:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	// outW is the launcher's copy of the write end of the output pipe; it
	// must be closed before the end of the output can be awaited.
	var outW *os.File
	// Until the reaper runs, a failure must release what was acquired;
	// after, it must stop the environment.
	reaping := false
	defer func() {
		if err == nil {
			return
		}
		if outW != nil {
			outW.Close()
		}
		if reaping {
			p.Kill()
		} else {
			p.release()
		}
	}()

	if l.cgroups != nil {
		if p.cg, err = l.cgroups.create(cgroupName(id), memoryMB, l.maxProcs); err != nil {
			return nil, err
		}
		p.watch = &l.mem
		p.watch.add(p.cg)
	}
	if p.cg == nil && memoryMB > 0 {
		limit := uint64(memoryMB) << 20
		is.Rlimits = append(is.Rlimits, nsinit.Rlimit{Resource: unix.RLIMIT_DATA, Cur: limit, Max: limit})
	}
	if p.cg == nil || p.cg.pids == "" {
		n := uint64(l.maxProcs)
		is.Rlimits = append(is.Rlimits, nsinit.Rlimit{Resource: unix.RLIMIT_NPROC, Cur: n, Max: n})
	}
	if p.cg != nil {
		is.Cgroups = p.cg.tasks()
	}

	// A file is handed to the environment as it is, so its output lands
	// there directly; any other writer is fed from a pipe.
	out, ok := output.(*os.File)
	if ok {
		close(p.outDone)
	} else {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		p.outR, out, outW = r, w, w
		go p.copyOutput(output)
	}

	ip, cloned := l.takeSpare(namespaces), false
	if ip == nil {
		cgroupFD := -1
		if p.cg != nil {
			cgroupFD = p.cg.fd
		}
		if ip, err = l.startInit(namespaces, cgroupFD); err != nil {
			return nil, err
		}
		cloned = cgroupFD >= 0
	}
	defer ip.conn.Close()
	p.proc = ip.proc
	if namespaces && l.net.mode != NetworkNone {
		// pasta configures the namespace while the init waits for its
		// Spec and builds the environment: the init waits for it only
		// just before executing the command. A spare usually has it
		// already.
		p.net, err = l.attachNetwork(ip)
		if err != nil {
			ip.discard()
			return nil, err
		}
	}
	reaping = true
	go p.wait()

	if p.cg != nil && p.cg.v2 && !cloned {
		if err := p.cg.join(ip.proc.Pid); err != nil {
			return nil, err
		}
	}
	fds := []*os.File{out}
	if p.net != nil {
		fds = append(fds, p.net.ready)
		is.NetworkReady = true
	}
	// The detached mounts come last: Mount.Attach n is the n-th of them.
	if mount != nil {
		fds = append(fds, mount)
	}
	data, err := json.Marshal(is)
	if err == nil {
		err = sendSpec(ip.conn, data, fds)
	}
	if outW != nil {
		outW.Close()
		outW = nil
	}
	if p.net != nil {
		// The init has its own copy, and only pasta may write to it.
		p.net.ready.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("send spec: %w", err)
	}
	r, err := readReply(ctx, ip.conn)
	if err != nil {
		return nil, err
	}
	if r.listener != nil {
		// The reaper may already have released the environment.
		p.mu.Lock()
		p.listener = r.listener
		ended := p.ended
		p.mu.Unlock()
		if ended {
			r.listener.Close()
		}
	}
	switch {
	case r.err != "" && p.net != nil && p.net.err() != nil:
		return nil, fmt.Errorf("%s: %w", r.err, p.net.err())
	case r.err != "":
		return nil, errors.New(r.err)
	case is.Probe && !r.probe:
		return nil, fmt.Errorf("probe: init ended without reporting: %v", p.waitExit())
	case namespaces && r.listener == nil:
		return nil, fmt.Errorf("init ended before starting the command: %v", p.waitExit())
	}
	return p, nil
}

// sendSpec sends the Spec, with files (the output, then the network's
// readiness pipe, if any, then the detached mounts) as SCM_RIGHTS, and ends the stream.
func sendSpec(conn *net.UnixConn, data []byte, files []*os.File) error {
	// Fd puts the output in blocking mode, as the environment's processes
	// expect of their standard output.
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	n, _, err := conn.WriteMsgUnix(data, unix.UnixRights(fds...), nil)
	if err != nil {
		return err
	}
	if _, err := conn.Write(data[n:]); err != nil {
		return err
	}
	return conn.CloseWrite()
}

// initProc is a started init, waiting for its Spec.
type initProc struct {
	proc *os.Process
	conn *net.UnixConn

	mu sync.Mutex
	// net is the init's pasta once attachNetwork started it, or nil.
	net    *netHelper
	netErr error
	// discarded forbids starting a pasta for a discarded init.
	discarded bool
}

// attachNetwork starts pasta for ip unless it has one: a spare's is
// started a little after the spare, or when it is taken if sooner.
func (l *Launcher) attachNetwork(ip *initProc) (*netHelper, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	if ip.net == nil && ip.netErr == nil && !ip.discarded {
		ip.net, ip.netErr = l.net.startNetwork(ip.proc.Pid)
	}
	if ip.discarded && ip.net == nil && ip.netErr == nil {
		return nil, errDiscarded
	}
	return ip.net, ip.netErr
}

// errDiscarded is attachNetwork's answer for an init discarded first.
var errDiscarded = errors.New("start pasta: the init was discarded")

// startInit starts an init, in new namespaces if namespaces is set, and in
// the v2 cgroup open as cgroupFD if that is not -1.
func (l *Launcher) startInit(namespaces bool, cgroupFD int) (*initProc, error) {
	conn, child, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer child.Close()
	stdin, err := devNull()
	if err != nil {
		conn.Close()
		return nil, err
	}
	sys := &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if namespaces {
		sys.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
			syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
		// Root stays root so the init can reach every mount source; the
		// function user maps to an unprivileged host id.
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: UID, HostID: int(l.uid), Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: GID, HostID: int(l.gid), Size: 1}}
		// The init must drop root's supplementary groups.
		sys.GidMappingsEnableSetgroups = true
	}
	if cgroupFD >= 0 {
		sys.UseCgroupFD = true
		sys.CgroupFD = cgroupFD
	}
	proc, err := os.StartProcess("/proc/self/exe", []string{nsinit.Arg0}, &os.ProcAttr{
		// The init needs no environment of its own. GORACE matters only
		// to race-enabled builds (go test -race), whose runtime would
		// otherwise sleep a second whenever an init exits without
		// executing a command.
		Env: []string{"GORACE=atexit_sleep_ms=0"},
		// Until it receives the environment's output, the init reports
		// crashes of its own on the launcher's standard error.
		Files: []*os.File{stdin, os.Stderr, os.Stderr, child},
		Sys:   sys,
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("start init: %w", err)
	}
	return &initProc{proc: proc, conn: conn}, nil
}

// exited reports whether the init, or its pasta, has ended, without
// reaping the init.
func (ip *initProc) exited() bool {
	ip.mu.Lock()
	n, netErr := ip.net, ip.netErr
	ip.mu.Unlock()
	if netErr != nil || (n != nil && n.err() != nil) {
		return true
	}
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, ip.proc.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err != nil || info.Signo != 0
}

// discard kills and reaps an unused init and its pasta.
func (ip *initProc) discard() {
	ip.mu.Lock()
	ip.discarded = true
	n := ip.net
	ip.mu.Unlock()
	ip.proc.Kill()
	ip.proc.Wait()
	ip.conn.Close()
	n.stop()
}

// keepSpares keeps inits started ahead of Launch until Close: each waits,
// in its new namespaces with its Go runtime up, for the Spec of the next
// environment, which saves Launch the start of a process.
func (l *Launcher) keepSpares() {
	defer close(l.keeperDone)
	namespaces := l.mode == ModeNamespaces
	for {
		ip, err := l.startInit(namespaces, -1)
		if err != nil {
			l.log.Warn("start a spare init", lambdahost.LogKeyError, err)
			select {
			case <-l.closing:
				return
			case <-time.After(time.Second):
				continue
			}
		}
		if namespaces && l.net.mode != NetworkNone {
			// Its pasta comes a little later, out of the way of the
			// cold start that the previous spare is likely serving
			// now (starting pasta costs several milliseconds of CPU).
			time.AfterFunc(spareNetworkDelay, func() {
				if _, err := l.attachNetwork(ip); err != nil && err != errDiscarded {
					l.log.Warn("start a spare's pasta", lambdahost.LogKeyError, err)
				}
			})
		}
		select {
		case l.spares <- ip:
		case <-l.closing:
			ip.discard()
			return
		}
		// The spare just handed over is usually starting an environment
		// now, and another spare (the one this loop was blocked on) is
		// ready: starting the next one at once would compete with that
		// cold start for the CPU (a fork into new namespaces costs a few
		// milliseconds of it).
		select {
		case <-time.After(spareDelay):
		case <-l.closing:
			return
		}
	}
}

// spareDelay is the pause before a spare init is replaced, and
// spareNetworkDelay the further pause before its pasta is started.
const (
	spareDelay        = 25 * time.Millisecond
	spareNetworkDelay = 100 * time.Millisecond
)

// takeSpare returns a live spare init for the mode, or nil.
func (l *Launcher) takeSpare(namespaces bool) *initProc {
	if l.spares == nil || namespaces != (l.mode == ModeNamespaces) {
		return nil
	}
	for {
		select {
		case ip := <-l.spares:
			if !ip.exited() {
				return ip
			}
			ip.discard()
		default:
			return nil
		}
	}
}

// socketPair returns the launcher's end of a Unix stream socket pair and the
// init's.
func socketPair() (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "sandbox-init")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "sandbox-init"), nil
}

// reply is what the init said before executing the command or exiting.
type reply struct {
	listener net.Listener
	probe    bool
	err      string
}

// readReply reads the init's messages up to end of file, which comes when
// the command is executed or the init exits.
func readReply(ctx context.Context, conn *net.UnixConn) (r reply, err error) {
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var msg []byte
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
		if err != nil && r.listener != nil {
			r.listener.Close()
			r.listener = nil
		}
	}()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		msg = append(msg, buf[:n]...)
		if oobn > 0 {
			cmsgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if perr == nil {
				for _, c := range cmsgs {
					if got, err := unix.ParseUnixRights(&c); err == nil {
						fds = append(fds, got...)
					}
				}
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0 && oobn == 0) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			return r, fmt.Errorf("read from init: %w", err)
		}
	}
	for i := 0; i < len(msg); i++ {
		switch msg[i] {
		case nsinit.MsgListener:
			if len(fds) == 0 || r.listener != nil {
				return r, errors.New("init sent no listener")
			}
			f := os.NewFile(uintptr(fds[0]), "runtime-api")
			fds = fds[1:]
			r.listener, err = net.FileListener(f)
			f.Close()
			if err != nil {
				return r, fmt.Errorf("runtime api listener: %w", err)
			}
		case nsinit.MsgProbe:
			r.probe = true
		case nsinit.MsgError:
			r.err = string(msg[i+1:])
			return r, nil
		default:
			return r, fmt.Errorf("unexpected message %q from init", msg[i:])
		}
	}
	return r, nil
}

// Process is a running execution environment.
type Process struct {
	id       string
	proc     *os.Process
	group    bool // ModeProcess: stop the whole process group
	listener net.Listener
	cg       *cgroup
	watch    *memWatch // samples cg
	net      *netHelper
	tmpDir   string
	tmpImg   *image
	scratch  *scratch // releases tmpImg
	log      *slog.Logger
	outR     *os.File
	outDelay time.Duration // Launcher.outputDelay
	outDone  chan struct{}
	done     chan struct{}

	mu     sync.Mutex
	reaped bool // the pid and process group id may have been reused
	ended  bool
	exit   lambdahost.ProcessExit
	maxMem int64
}

// Pid returns the host process id of the environment's first process.
func (p *Process) Pid() int { return p.proc.Pid }

// Listener returns the listener on which the environment's runtime reaches
// the Runtime API: 127.0.0.1:9001 inside its network namespace, or a random
// port of the host's loopback in ModeProcess. It is closed when the
// environment ends.
func (p *Process) Listener() net.Listener { return p.listener }

// Done is closed when the environment's first process has exited, every
// other process of it has been stopped, and its output has been delivered.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exit describes how the environment ended; it is the zero value before
// Done is closed.
func (p *Process) Exit() lambdahost.ProcessExit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

// MaxMemory returns the peak memory use of the environment's processes in
// bytes, or 0 without a cgroup: the high-water mark of its cgroup's usage
// less the page cache that no process maps, such as files written to /tmp
// (see memUse).
func (p *Process) MaxMemory() int64 {
	p.mu.Lock()
	ended, m := p.ended, p.maxMem
	p.mu.Unlock()
	if ended || p.cg == nil {
		return m
	}
	return p.cg.sample()
}

// Kill stops every process of the environment, waits until Done is closed
// and its resources (cgroup, listener, /tmp) are released. It is
// safe to call more than once and after the environment ended.
func (p *Process) Kill() error {
	p.mu.Lock()
	var err error
	if !p.reaped {
		err = p.signal()
	}
	p.mu.Unlock()
	<-p.done
	return err
}

// signal kills the environment; p.mu is held and the first process not yet
// reaped, so its pid and process group id are still its own.
func (p *Process) signal() error {
	if p.group {
		if err := unix.Kill(-p.proc.Pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
			return fmt.Errorf("kill %s: %w", p.id, err)
		}
		return nil
	}
	// The init is pid 1 of the environment's pid namespace: when it dies
	// the kernel kills the rest.
	if err := p.proc.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", p.id, err)
	}
	return nil
}

// wait reaps the environment and releases its resources.
func (p *Process) wait() {
	// Wait without reaping so that Kill can still signal the process
	// group, and stop the rest of the group before the pid is released.
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.proc.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	p.mu.Lock()
	if p.group {
		p.signal()
	}
	state, err := p.proc.Wait()
	p.reaped = true
	p.mu.Unlock()

	exit := lambdahost.ProcessExit{Code: -1}
	if err == nil {
		if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			exit.Signal = ws.Signal().String()
		} else {
			exit.Code = state.ExitCode()
		}
	}
	var peak int64
	if p.cg != nil {
		exit.OutOfMemory = p.cg.oomKilled()
		peak = p.cg.sample()
	}

	select {
	case <-p.outDone:
	case <-time.After(p.outDelay):
		p.outR.Close()
		<-p.outDone
	}
	p.mu.Lock()
	p.exit, p.maxMem, p.ended = exit, peak, true
	p.mu.Unlock()
	p.release()
	close(p.done)
}

// waitExit waits for the end of an environment whose start failed.
func (p *Process) waitExit() lambdahost.ProcessExit {
	<-p.done
	return p.Exit()
}

// release frees the environment's resources.
func (p *Process) release() {
	if p.watch != nil {
		p.watch.remove(p.cg)
	}
	p.net.stop()
	if p.cg != nil {
		if err := p.cg.remove(); err != nil {
			p.log.Warn("remove cgroup", "sandbox", p.id, lambdahost.LogKeyError, err)
		}
	}
	p.mu.Lock()
	l := p.listener
	p.mu.Unlock()
	if l != nil {
		l.Close()
	}
	if p.tmpImg != nil {
		p.scratch.release(p.tmpImg)
	}
	if p.tmpDir != "" {
		if err := os.RemoveAll(p.tmpDir); err != nil {
			p.log.Warn("remove /tmp", "sandbox", p.id, lambdahost.LogKeyError, err)
		}
	}
}

// copyOutput copies the environment's output to w. After a write error it
// keeps draining the pipe, so the runtime never blocks on it.
func (p *Process) copyOutput(w io.Writer) {
	defer close(p.outDone)
	defer p.outR.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := p.outR.Read(buf)
		if n > 0 && w != nil {
			if _, werr := w.Write(buf[:n]); werr != nil {
				w = nil
			}
		}
		if err != nil {
			return
		}
	}
}

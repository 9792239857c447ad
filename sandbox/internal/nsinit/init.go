package nsinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() {
	if len(os.Args) == 0 || os.Args[0] != Arg0 {
		return
	}
	// Package initialisation runs on the main thread, the thread group
	// leader; the init stays on it to the end. It moves this thread into v1
	// cgroups (memory is charged to the leader's cgroup), and no_new_privs
	// and the parent-death signal belong to the thread that executes the
	// command.
	runtime.LockOSThread()
	if err := run(); err != nil {
		report(err)
		os.Exit(1)
	}
	os.Exit(0)
}

// run builds the environment described by the Spec on SpecFD and executes
// its command. It returns only after a probe or on failure.
func run() error {
	spec, attach, err := readSpec()
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	for _, tasks := range spec.Cgroups {
		if err := joinCgroup(tasks); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	if spec.Namespaces {
		err := buildRoot(spec, attach)
		for _, fd := range attach {
			unix.Close(fd)
		}
		if err != nil {
			return err
		}
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("set host name: %w", err)
		}
		if err := listen(spec.ListenPort); err != nil {
			return err
		}
		if err := pivot(spec.Root); err != nil {
			return err
		}
		if spec.NetworkReady {
			if networkFD < 0 {
				return errors.New("no network readiness descriptor")
			}
			err := waitNetwork(networkFD)
			networkFD = -1
			if err != nil {
				return err
			}
		}
		// After the network helper's routes: the kernel checks a
		// route's gateway against the rules when the route is added,
		// and a rule refusing the gateway would refuse the default
		// route itself.
		if err := addRules(spec.Rules); err != nil {
			return err
		}
	}
	return start(spec)
}

// networkFD is the read end of the network helper's readiness pipe, the
// second descriptor that may come with the Spec (Spec.NetworkReady), or -1.
var networkFD = -1

// readSpec reads the JSON Spec from SpecFD up to end of file, and makes the
// first descriptor that comes with it the standard output and error. The
// next, when Spec.NetworkReady is set, is kept in networkFD; it returns the
// others, the detached mounts of Mount.Attach.
func readSpec() (*Spec, []int, error) {
	buf := make([]byte, 0, 16<<10)
	oob := make([]byte, unix.CmsgSpace(4*maxFDs))
	output := -1
	var attach []int
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, oobn, _, _, err := unix.Recvmsg(SpecFD, buf[len(buf):cap(buf)], oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if oobn > 0 {
			cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return nil, nil, err
			}
			for _, c := range cmsgs {
				fds, err := unix.ParseUnixRights(&c)
				if err != nil {
					return nil, nil, err
				}
				for _, fd := range fds {
					switch {
					case output < 0:
						output = fd
					default:
						attach = append(attach, fd)
					}
				}
			}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	if output < 0 {
		return nil, nil, errors.New("no output descriptor")
	}
	for _, fd := range []int{1, 2} {
		if err := unix.Dup3(output, fd, 0); err != nil {
			return nil, nil, fmt.Errorf("output: %w", err)
		}
	}
	unix.Close(output)
	spec := new(Spec)
	if err := json.Unmarshal(buf, spec); err != nil {
		return nil, nil, err
	}
	if len(spec.Argv) == 0 {
		return nil, nil, errors.New("empty command")
	}
	if spec.NetworkReady && len(attach) > 0 {
		networkFD, attach = attach[0], attach[1:]
	}
	return spec, attach, nil
}

// joinCgroup moves the calling thread, which is locked to the main thread,
// into the v1 cgroup whose tasks file is tasks. Memory is charged to the
// cgroup of the thread group leader, so every allocation of the init and
// of the command from now on is.
func joinCgroup(tasks string) error {
	fd, err := unix.Open(tasks, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	_, err = unix.Write(fd, []byte("0"))
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	return err
}

// report sends err to the launcher.
func report(err error) {
	writeAll(append([]byte{MsgError}, err.Error()...))
}

func writeAll(b []byte) {
	for len(b) > 0 {
		n, err := unix.Write(SpecFD, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		b = b[n:]
	}
}

// buildRoot mounts a tmpfs on spec.Root and fills it with spec.Mounts,
// attaching the detached mounts in attach where they say. The mount
// namespace is new and private, so none of this is seen by the host.
func buildRoot(spec *Spec, attach []int) error {
	unix.Umask(0)
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Mount("tmpfs", spec.Root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=4m"); err != nil {
		return fmt.Errorf("mount root tmpfs on %s: %w", spec.Root, err)
	}
	root, err := unix.Open(spec.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open root: %w", err)
	}
	defer unix.Close(root)
	for i := range spec.Mounts {
		if err := apply(root, &spec.Mounts[i], i, attach); err != nil {
			return err
		}
	}
	// The root itself is read-only, as on Lambda; /tmp is the place to write.
	if err := unix.Mount("", spec.Root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("make root read-only: %w", err)
	}
	return nil
}

// inRoot resolves paths relative to the new root: absolute symbolic links and
// ".." stay inside it, which matters for RootFS images, whose links must not
// lead the init, still privileged, to create mount points on the host.
var inRoot = unix.OpenHow{
	Flags:   unix.O_PATH | unix.O_CLOEXEC,
	Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
}

// apply performs one Mount inside the root open as root.
func apply(root int, m *Mount, i int, attach []int) error {
	rel := strings.TrimPrefix(m.Target, "/")
	if m.Link != "" {
		dir, err := resolve(root, path.Dir(rel), false)
		if err != nil {
			return fmt.Errorf("create %s: %w", path.Dir(m.Target), err)
		}
		defer unix.Close(dir)
		if err := unix.Symlinkat(m.Link, dir, path.Base(rel)); err != nil {
			return fmt.Errorf("link %s: %w", m.Target, err)
		}
		return nil
	}
	target, err := resolve(root, rel, m.File)
	if err != nil {
		return fmt.Errorf("create mount point %s: %w", m.Target, err)
	}
	defer unix.Close(target)
	switch {
	case m.Attach != 0:
		if m.Attach < 0 || m.Attach > len(attach) {
			return fmt.Errorf("attach %s: no mount %d was sent", m.Target, m.Attach)
		}
		if err := unix.MoveMount(attach[m.Attach-1], "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
			return fmt.Errorf("attach %s: %w", m.Target, err)
		}
		return nil
	case m.Type != "":
		if err := unix.Mount(m.Type, fdPath(target), m.Type, m.Flags, m.Data); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Type, m.Target, err)
		}
		return nil
	case m.Content != "":
		// Write the content beside the root, bind it, then unlink the
		// source name: the bind mount keeps the file alive.
		name := ".content-" + strconv.Itoa(i)
		if err := writeFileAt(root, name, m.Content); err != nil {
			return fmt.Errorf("write %s: %w", m.Target, err)
		}
		defer unix.Unlinkat(root, name, 0)
		return bind(root, rel, fdPath(root)+"/"+name, target, m.Target, false, unix.MS_NOSUID|unix.MS_NODEV)
	default:
		return bind(root, rel, m.Source, target, m.Target, m.Writable, m.Flags)
	}
}

// bind binds source at the mount point open as target and, unless writable,
// remounts it read-only, repeating the locked flags of the source's mount.
func bind(root int, rel, source string, target int, name string, writable bool, flags uintptr) error {
	if err := unix.Mount(source, fdPath(target), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s at %s: %w", source, name, err)
	}
	if writable {
		return nil
	}
	// target still names the directory under the new mount; the remount
	// needs the mount's own root, found by resolving the path again.
	top, err := unix.Openat2(root, rel, &inRoot)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(top)
	if err := unix.Mount("", fdPath(top), "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|flags, ""); err != nil {
		return fmt.Errorf("make %s read-only: %w", name, err)
	}
	return nil
}

// resolve opens rel inside root as an O_PATH descriptor, creating missing
// directories with mode 0755 and, if file is set, a missing last component
// as an empty file.
func resolve(root int, rel string, file bool) (int, error) {
	if rel == "" || rel == "." {
		return unix.Openat2(root, ".", &inRoot)
	}
	fd, err := unix.Openat2(root, rel, &inRoot)
	if err != unix.ENOENT {
		return fd, err
	}
	parts := strings.Split(rel, "/")
	parent, err := unix.Openat2(root, ".", &inRoot)
	if err != nil {
		return -1, err
	}
	for i, name := range parts {
		p := strings.Join(parts[:i+1], "/")
		fd, err := unix.Openat2(root, p, &inRoot)
		if err == unix.ENOENT {
			if file && i == len(parts)-1 {
				err = createAt(parent, name)
			} else {
				err = unix.Mkdirat(parent, name, 0o755)
			}
			if err == nil || err == unix.EEXIST {
				fd, err = unix.Openat2(root, p, &inRoot)
			}
		}
		unix.Close(parent)
		if err != nil {
			return -1, err
		}
		parent = fd
	}
	return parent, nil
}

func createAt(dir int, name string) error {
	fd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

func writeFileAt(dir int, name, content string) error {
	fd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	b := []byte(content)
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil && err != unix.EINTR {
			unix.Close(fd)
			return err
		}
		b = b[n:]
	}
	return unix.Close(fd)
}

func fdPath(fd int) string {
	return "/proc/self/fd/" + strconv.Itoa(fd)
}

// listen brings up the loopback interface of the new network namespace,
// listens on 127.0.0.1:port and hands the listener to the launcher.
func listen(port int) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	ifr, err := unix.NewIfreq("lo")
	if err == nil {
		err = unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr)
	}
	if err == nil {
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		err = unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
	}
	unix.Close(s)
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}

	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer unix.Close(l)
	if err := unix.SetsockoptInt(l, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := unix.Bind(l, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	if err := unix.Listen(l, 128); err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	if err := unix.Sendmsg(SpecFD, []byte{MsgListener}, unix.UnixRights(l), nil, 0); err != nil {
		return fmt.Errorf("send listener: %w", err)
	}
	return nil
}

// pivot makes root the root of the mount namespace and detaches the host's.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("pivot: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on the new one, where it
	// can be unmounted without a directory to put it in.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("pivot: %w", err)
	}
	return nil
}

// start drops privileges and executes the command.
func start(spec *Spec) error {
	if spec.Namespaces {
		// No nested user namespaces: a function could otherwise become
		// root, with every capability, in a namespace of its own, and
		// reach kernel code that only root usually can (new mount and
		// network namespaces, more netfilter and BPF surface). The limit
		// belongs to the environment's user namespace, not the host's.
		if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
			return fmt.Errorf("forbid nested user namespaces: %w", err)
		}
	}
	if spec.UID >= 0 || spec.GID >= 0 {
		// The init's supplementary groups are root's: drop them first.
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
	}
	if spec.GID >= 0 {
		if err := syscall.Setresgid(spec.GID, spec.GID, spec.GID); err != nil {
			return fmt.Errorf("setresgid %d: %w", spec.GID, err)
		}
	}
	if spec.UID >= 0 {
		// Leaving uid 0 clears every capability.
		if err := syscall.Setresuid(spec.UID, spec.UID, spec.UID); err != nil {
			return fmt.Errorf("setresuid %d: %w", spec.UID, err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	// A change of credentials clears the parent-death signal: set it
	// again, then make sure the launcher did not die in between (its end
	// of the socket hangs up when it does).
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("pdeathsig: %w", err)
	}
	fds := []unix.PollFd{{Fd: SpecFD, Events: unix.POLLRDHUP}}
	if _, err := unix.Poll(fds, 0); err == nil && fds[0].Revents&unix.POLLHUP != 0 {
		os.Exit(1)
	}

	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %s: %w", dir, err)
	}
	file, err := lookPath(spec.Argv[0], spec.Env)
	if err != nil {
		return err
	}
	if spec.Probe {
		writeAll([]byte{MsgProbe})
		return nil
	}
	unix.CloseOnExec(SpecFD)

	// Everything execve needs is prepared before the limits are set: with
	// RLIMIT_DATA below what the init has mapped, the Go runtime could not
	// map anything more.
	argv0, err := syscall.BytePtrFromString(file)
	if err != nil {
		return fmt.Errorf("exec %s: %w", spec.Argv[0], err)
	}
	argv, err := syscall.SlicePtrFromStrings(spec.Argv)
	if err != nil {
		return fmt.Errorf("exec %s: %w", spec.Argv[0], err)
	}
	env, err := syscall.SlicePtrFromStrings(spec.Env)
	if err != nil {
		return fmt.Errorf("exec %s: %w", spec.Argv[0], err)
	}
	for _, rl := range spec.Rlimits {
		lim := syscall.Rlimit{Cur: rl.Cur, Max: rl.Max}
		// syscall.Setrlimit also stops Go from restoring its own
		// RLIMIT_NOFILE at exec.
		if err := syscall.Setrlimit(rl.Resource, &lim); err != nil {
			return fmt.Errorf("setrlimit %d: %w", rl.Resource, err)
		}
	}
	// ETXTBSY: a process forked by lambdahost while it wrote the file
	// (unpacking the code) holds a copy of the writing descriptor until
	// that process executes (go.dev/issue/22315). The window is short:
	// try again, for up to about two seconds.
	var errno syscall.Errno
	for try := 0; ; try++ {
		_, _, errno = syscall.RawSyscall(syscall.SYS_EXECVE,
			uintptr(unsafe.Pointer(argv0)),
			uintptr(unsafe.Pointer(&argv[0])),
			uintptr(unsafe.Pointer(&env[0])))
		if errno != syscall.ETXTBSY || try == 200 {
			break
		}
		pause := unix.Timespec{Nsec: 10_000_000}
		unix.Nanosleep(&pause, nil)
	}
	return fmt.Errorf("exec %s: %w", spec.Argv[0], errno)
}

// lookPath finds name as execve would with the PATH of env, which is the
// command's, not the init's.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	dirs := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for dir := range strings.SplitSeq(dirs, ":") {
		if dir == "" {
			dir = "."
		}
		file := dir + "/" + name
		var st unix.Stat_t
		if unix.Stat(file, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && unix.Access(file, unix.X_OK) == nil {
			return file, nil
		}
	}
	return "", fmt.Errorf("exec %s: executable file not found in $PATH", name)
}

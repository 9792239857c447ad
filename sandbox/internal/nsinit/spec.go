// Package nsinit is the first process of an execution environment: the
// sandbox package re-executes the current binary with Arg0 as argv[0], and
// this package's init function takes over before main runs. It reads a Spec
// from file descriptor 3, builds the environment (mounts, loopback, Runtime
// API listener, limits, credentials) and executes the function's command in
// its own place.
//
// The package imports only the standard library and golang.org/x/sys, and it
// is initialised before the heavier packages of the binary, so a re-executed
// init reaches its work within a millisecond or two.
//
// # Protocol on file descriptor 3
//
// Descriptor 3 is one end of a Unix stream socket pair. The launcher writes
// the JSON Spec, with the descriptor of the environment's output as
// SCM_RIGHTS (followed, when Spec.NetworkReady is set, by the read end of
// the network helper's readiness pipe, then by the detached mounts for
// Mount.Attach), and shuts down its writing side; the init reads to end of
// file and makes the output its standard output and error. Before doing
// anything else it moves into the environment's v1 cgroups (Spec.Cgroups);
// a v2 init is already in its cgroup, cloned into it or moved by the
// launcher before the Spec is sent. So nothing the init does for the
// environment escapes its limits, and an init can be started before the
// environment it will build is known.
//
// The init answers with single-byte messages:
//
//   - 'L' carries the Runtime API listener as SCM_RIGHTS (namespaces only);
//   - 'P' reports a successful probe, after which the init exits 0;
//   - 'E' is followed by an error text up to the end of the stream.
//
// The socket is close-on-exec in the init, so end of file without 'E' means
// the command was executed.
package nsinit

// Arg0 is the argv[0] that makes a binary importing this package act as the
// init of an execution environment.
const Arg0 = "lambdahost-sandbox-init"

// SpecFD is the file descriptor on which the init receives its Spec.
const SpecFD = 3

// maxFDs is how many descriptors the init accepts with its Spec: the output
// and the detached mounts of Mount.Attach.
const maxFDs = 8

// Messages the init sends on SpecFD.
const (
	MsgListener = 'L'
	MsgProbe    = 'P'
	MsgError    = 'E'
)

// Spec tells the init how to build one environment and what to run in it.
type Spec struct {
	// Namespaces is true when the init runs in new user, mount, pid, network,
	// IPC and UTS namespaces and must build the root file system and the
	// loopback listener. When false the init only applies limits and
	// credentials and executes the command.
	Namespaces bool `json:"namespaces,omitempty"`
	// Probe makes the init do all of its work except executing the command:
	// it reports MsgProbe and exits 0.
	Probe bool `json:"probe,omitempty"`
	// Cgroups are v1 "tasks" files that the init moves its own thread
	// into, first of all. Moving a whole process (cgroup.procs) takes a
	// global lock and waits for an RCU grace period, 10 to 25 ms on a
	// small VM; a thread moving itself does not, and the thread that
	// executes the command is the only one the environment keeps.
	Cgroups []string `json:"cgroups,omitempty"`

	// Root is the host directory on which the new root tmpfs is mounted.
	Root string `json:"root,omitempty"`
	// Mounts are applied in order inside the new root.
	Mounts []Mount `json:"mounts,omitempty"`
	// TmpMB is the size of /tmp in MiB.
	TmpMB int `json:"tmpMB,omitempty"`
	// Devices are the host device nodes bound into /dev.
	Devices []string `json:"devices,omitempty"`
	// Hostname is the environment's host name.
	Hostname string `json:"hostname,omitempty"`
	// ListenPort is the port of the Runtime API listener on 127.0.0.1.
	ListenPort int `json:"listenPort,omitempty"`
	// Rules are installed, in order, as policy routing rules of the
	// network namespace once it is configured, before privileges are
	// dropped: they refuse destinations the environment may not reach,
	// with exceptions.
	Rules []Rule `json:"rules,omitempty"`
	// NetworkReady says that a second descriptor comes with the Spec: the
	// read end of a pipe whose writer, the network helper (pasta), writes
	// once it has configured the namespace's interface, addresses and
	// routes. The init waits for it just before executing the command,
	// so the helper's start overlaps the building of the environment.
	NetworkReady bool `json:"networkReady,omitempty"`

	// Rlimits are set just before the command is executed.
	Rlimits []Rlimit `json:"rlimits,omitempty"`
	// UID and GID are the credentials of the command; -1 keeps the init's.
	UID int `json:"uid"`
	GID int `json:"gid"`

	// Argv is the command; Argv[0] is a path, or a name looked up in the
	// PATH of Env.
	Argv []string `json:"argv"`
	// Env is the complete environment of the command.
	Env []string `json:"env"`
	// Dir is the working directory of the command.
	Dir string `json:"dir,omitempty"`
}

// Mount is one step in building the root file system. Exactly one of Link,
// Attach, Type, Content and Source says what it places at Target.
type Mount struct {
	// Target is an absolute path inside the new root. Missing parent
	// directories are created with mode 0755. Symbolic links met on the way
	// are resolved inside the new root, never on the host.
	Target string `json:"target"`
	// Link, if set, makes Target a symbolic link with this content.
	Link string `json:"link,omitempty"`
	// Attach, if not zero, attaches at Target a detached mount made by the
	// launcher (fsmount(2)): the Attach-th descriptor sent after the
	// output. Its flags are the ones it was made with.
	Attach int `json:"attach,omitempty"`
	// Type, if set, mounts a new file system of this type ("tmpfs",
	// "proc") with Flags and Data.
	Type string `json:"type,omitempty"`
	// Data is the option string of a Type mount ("size=64m,mode=1777").
	Data string `json:"data,omitempty"`
	// Content, if set, is placed at Target as a read-only file.
	Content string `json:"content,omitempty"`
	// Source is the host path bound at Target.
	Source string `json:"source,omitempty"`
	// File is true when Source or Content is not a directory.
	File bool `json:"file,omitempty"`
	// Writable leaves the bind mount writable.
	Writable bool `json:"writable,omitempty"`
	// Flags are the mount flags of a Type mount. For a bind mount they are
	// the flags (MS_NOSUID, MS_NODEV, MS_NOEXEC, atime flags, MS_RDONLY) of
	// the mount holding Source: a user namespace may not clear them, so the
	// read-only remount must repeat them or fail with EPERM.
	Flags uintptr `json:"flags,omitempty"`
}

// Rule is one policy routing rule (see ip-rule(8)) of an environment's
// network namespace, for IPv4 destinations.
type Rule struct {
	// Prefix is the destination, such as "10.0.0.0/8".
	Prefix string `json:"prefix"`
	// Proto and Port, if not zero, narrow the rule to one IP protocol
	// (6 for TCP, 17 for UDP) and one destination port.
	Proto int `json:"proto,omitempty"`
	Port  int `json:"port,omitempty"`
	// Allow sends matching traffic on to the main routing table. Without
	// it, matching traffic is refused: connect and send fail with EACCES
	// and nothing leaves the namespace.
	Allow bool `json:"allow,omitempty"`
}

// Rlimit is one resource limit for the command.
type Rlimit struct {
	Resource int    `json:"resource"`
	Cur      uint64 `json:"cur"`
	Max      uint64 `json:"max"`
}

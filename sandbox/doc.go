// Package sandbox implements lambdahost.Launcher natively, without Docker:
// each execution environment is a process tree in its own Linux namespaces
// and cgroup.
//
// # Modes
//
// In ModeNamespaces (the default when the launcher runs as root and the
// kernel allows it) an environment is started by re-executing the current
// binary (/proc/self/exe) with argv[0] set to an init marker, in new user,
// mount, pid, network, IPC and UTS namespaces. Importing this package is
// enough for any binary, the lambdahost server as well as test binaries, to
// act as that init: a package init function recognises the marker and never
// returns. The init receives the environment's description as JSON on an
// inherited socket, never in argv or the environment, and then:
//
//   - mounts a tmpfs on <StateDir>/root, visible only in the new mount
//     namespace, and builds the root file system in it: the host's /usr,
//     /lib*, /bin, /sbin and /etc bound read-only (merged-/usr links such
//     as /bin -> usr/bin are recreated as links), or the top level of
//     LaunchSpec.RootFS bound read-only instead; /etc/passwd and /etc/group
//     gain the function user sbx_user1051 (993:990);
//   - adds the environment's /tmp (see below), a /proc of the new pid
//     namespace, a minimal /dev (null, zero, full, random, urandom, tty, fd
//     and std* links) and the LaunchSpec's mounts (read-only unless
//     Writable);
//   - pivots into the new root and detaches the host's;
//   - brings up lo, listens on lambdahost.RuntimeAPIAddress and passes the
//     listener to the launcher (SCM_RIGHTS), which serves the Runtime API on
//     it: the environment has no other network and cannot reach the host's
//     ports;
//   - drops to uid 993 and gid 990 with no supplementary groups and no
//     capabilities, sets no_new_privs and the limits, and executes the
//     command.
//
// Mount points are created, with their parents (mode 0755), on the root's
// tmpfs, so /var/task or /root/.pyenv/versions/3.12.1 need nothing on the
// host; a mount point inside a bound directory (/usr/..., or /var/... when
// RootFS has a /var) must already exist there. Paths are resolved inside the
// new root (openat2 RESOLVE_IN_ROOT), so links in a RootFS cannot point the
// init, still privileged, at the host's directories.
//
// The command becomes pid 1 of the environment's pid namespace. There is no
// separate reaper: that keeps start-up to one exec, and killing pid 1 makes
// the kernel kill every other process of the environment, which is how Kill
// and the end of an environment work. The cost is that orphans of the
// runtime are reaped only when the environment ends, and that pid 1 ignores
// signals it installed no handler for; Lambda runtimes neither fork much nor
// rely on default signal actions.
//
// ModeProcess is the fallback for hosts without user namespaces (or when
// the launcher is not root): the command runs as a plain process in its own
// session and process group, as HostUID:HostGID when the launcher is root,
// with the same limits. It is much weaker: the command sees the host's
// files, processes and network, mounts are not read-only, and the paths of
// LaunchSpec.Mounts are rewritten to their host sources in the command, its
// directory and the values of its environment (a value such as
// PATH=/var/lang/bin:/usr/bin is rewritten element by element). /tmp is a
// fresh directory under ScratchDir, without a size limit, given as TMPDIR and
// rewritten like the mounts. The Runtime API listens on 127.0.0.1 on a
// random port, given in AWS_LAMBDA_RUNTIME_API. RootFS is not supported.
// When the first process exits, the rest of its process group is killed, as
// the end of a pid namespace would; processes that leave the group (setsid)
// escape, and Done waits at most two seconds for them to let go of the
// output.
//
// # /tmp
//
// An environment's /tmp is on disk, in Options.ScratchDir, as on Lambda,
// where it is storage apart from memory: a function of 256 MB may fill a
// /tmp of 512 MB. In ModeNamespaces each /tmp is an ext4 file system of its
// own, of exactly LaunchSpec.TmpMB for the function user (a write past it
// fails with ENOSPC), on a loop device whose file is sparse and unnamed
// (O_TMPFILE). The launcher mounts it with fsmount(2), attached nowhere, and
// passes the mount to the init with the Spec, which attaches it at /tmp
// inside the new mount namespace; the host never sees it. Nothing of it
// outlives its environment: when the environment has ended, everything in
// it is removed (through its root, so that no link left in it leads
// elsewhere) and, if it then has exactly its size free again, it is kept for
// another environment of the same size (up to twice Options.TmpSpares per
// size); otherwise, or past that, it is shut down (its page cache is
// dropped, not written) and let go of, the kernel unmounts it, the loop
// device detaches itself (autoclear) and the file, which has no name, is
// freed. A launcher killed with SIGKILL leaves nothing behind either: its
// environments die with it (PR_SET_PDEATHSIG), and its descriptors, the
// last holders of the file systems, are closed.
//
// Formatting a file system takes 15 to 50 ms (mke2fs, from e2fsprogs, is
// run), so each size is formatted once, as a template: the first one of a
// size measures how large the file system must be, and how many blocks to
// reserve for root, for exactly the size to be available, and its root is
// made sticky and writable by all. A new /tmp is a copy of the template's
// file (its metadata: a few hundred KB for 512 MB, 4 MB for 10 GB),
// attached and mounted, and the launcher keeps Options.TmpSpares of them for
// each size in use ready, new or emptied (only the first environment of a
// size waits for its template). They are made, and the file systems of
// ended environments emptied or let go of, in the background at a low CPU
// and I/O priority: that kernel work is done in the calling thread. The
// loop device does direct I/O on its file, so the file's pages are not
// cached twice, and the file system never asks it to flush: nothing in /tmp
// needs to survive a crash, a flush of a loop device fsyncs its file (a
// commit of the host's journal, which can take seconds on a busy disk), and
// fsync(2) in /tmp is then as cheap as on tmpfs. The file keeps the blocks
// /tmp has used (up to its size) until it is emptied: a file deleted in
// /tmp frees its blocks for /tmp, not on the host (online discard is
// synchronous without a journal, and would make unlink(2) wait for the
// host's disk); emptying gives them back (FITRIM punches holes in the file).
//
// Where a file system cannot be made (no loop devices, no mke2fs, no
// fsmount), and in ModeProcess, /tmp is a directory in ScratchDir whose size
// is not enforced; New logs why, and Launcher.TmpEnforced reports it. New
// removes the directories a launcher that died left there.
//
// What a function writes to /tmp passes through the page cache, which the
// kernel charges to the environment's memory cgroup. It is reclaimed (and
// written back first, if need be) when the cgroup reaches its limit, so it
// does not make the function run out of memory, but it does count in the
// cgroup's usage and peak; see Limits for how MaxMemory leaves it out.
//
// # Start-up
//
// Starting an init costs a few milliseconds: forking a large Go process
// into a new user namespace cannot use vfork, and the re-executed binary's
// runtime must start. The launcher therefore keeps Options.Prestart inits
// (one by default) started ahead, in their namespaces and waiting for the
// JSON of the next environment, which they build in about a millisecond.
// Spares are replaced in the background; Close stops them. A spare's mount
// namespace is a copy of the host's from when it started: file systems the
// host mounts later are not visible to it, directories created later are.
//
// The init joins a v1 cgroup itself, first of all, by writing its thread
// into the cgroup's tasks file: moving a whole process (cgroup.procs, as the
// launcher would) takes a global lock and waits for an RCU grace period,
// 10 to 25 ms on a small VM, while a thread moving itself does not. Nothing
// runs in the environment before that, so the join is as race-free as
// waiting for the launcher would be. A v2 init is cloned into its cgroup
// (CLONE_INTO_CGROUP), or moved there by the launcher before it is sent the
// environment if it is a spare.
//
// # Users
//
// The user namespace maps uid and gid 0 to the host's 0, so that the init,
// before it drops privileges, can reach mount sources that only root can
// traverse (code under a 0700 data directory, interpreters under /root),
// and maps the function user to Options.HostUID and HostGID. Nothing in the
// environment runs as uid 0 after the init has executed the command.
//
// # Limits
//
// Memory is limited by a cgroup created for each environment under the
// launcher's own cgroup (read from /proc/self/cgroup) or Options.CgroupParent:
// cgroup v2 when the unified hierarchy has the memory controller there
// (memory.max, memory.swap.max 0, memory.oom.group, pids.max; the init is
// cloned into the cgroup), cgroup v1 otherwise (memory.limit_in_bytes and
// memory.memsw.limit_in_bytes, pids.max; the init waits on its socket until
// the launcher has moved it into the cgroups). Process.MaxMemory reports
// the high-water mark of the cgroup's usage less the page cache no process
// maps (files written to /tmp, mostly), sampled every 10 ms against the
// kernel's peak (memory.peak or memory.max_usage_in_bytes) so that short
// peaks are not missed, and ProcessExit.OutOfMemory reports that the
// cgroup's oom_kill counter moved. When no memory cgroup
// is usable, RLIMIT_DATA is set to the memory size instead: it bounds the
// heap of each process, not the environment, and an exceeded limit shows as
// an allocation failure in the runtime (MemoryError, a Go or Node fatal
// error), not as OutOfMemory. RLIMIT_AS is never used: Go and Node reserve
// far more address space than they use and fail to start under it.
//
// RLIMIT_NOFILE is 1024 and the number of processes and threads is limited
// by pids.max, or RLIMIT_NPROC without a pids cgroup.
package sandbox

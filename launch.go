package lambdahost

import (
	"context"
	"io"
	"net"
	"strconv"
)

// RuntimeAPIAddress is the address at which an execution environment with
// its own network namespace finds the Lambda Runtime API, as on AWS.
const RuntimeAPIAddress = "127.0.0.1:9001"

// Launcher starts execution environments: one process tree, isolated from
// the host and from other environments, that runs a function's runtime.
type Launcher interface {
	// Launch starts spec.Argv in a new environment. The environment's Runtime
	// API listener is returned with the process; the launcher adds
	// AWS_LAMBDA_RUNTIME_API to spec.Env. Launch returns once the process
	// has been started; ctx bounds only the start-up.
	Launch(ctx context.Context, spec *LaunchSpec) (Process, error)
}

// Mount places a host directory or file inside an environment.
type Mount struct {
	// Source is the host path.
	Source string
	// Target is the absolute path inside the environment.
	Target string
	// Writable allows writes; mounts are read-only otherwise.
	Writable bool
}

// LaunchSpec describes an execution environment.
type LaunchSpec struct {
	// ID names the environment in logs, cgroups and its host name.
	ID string
	// RootFS, if set, is a read-only directory used as the environment's
	// root file system (a container image). If empty, the host's system
	// directories (/usr, /lib*, /bin, /sbin, /etc) are bound read-only.
	RootFS string
	// Mounts are added after the root, in order: code at /var/task, the
	// runtime's bootstrap at /var/runtime, an interpreter at /var/lang...
	Mounts []Mount
	// Argv is the command, with Argv[0] a path inside the environment.
	Argv []string
	// Env is the complete environment of the command, as "KEY=value".
	Env []string
	// Dir is the working directory inside the environment.
	Dir string
	// MemoryMB limits the memory of the whole environment.
	MemoryMB int
	// TmpMB is the size of the writable /tmp.
	TmpMB int
	// Output receives the environment's standard output and standard error,
	// merged. It must not block for long.
	Output io.Writer
}

// Process is a running execution environment.
type Process interface {
	// Listener accepts the runtime's connections to the Runtime API.
	Listener() net.Listener
	// Done is closed when the environment's main process has exited and
	// its output has been delivered.
	Done() <-chan struct{}
	// Exit describes how the environment ended; valid after Done.
	Exit() ProcessExit
	// MaxMemory is the peak memory use of the environment in bytes, or 0 if
	// the launcher cannot measure it.
	MaxMemory() int64
	// Kill stops every process of the environment and releases its
	// resources. It is safe to call more than once and after exit.
	Kill() error
}

// ProcessExit describes the end of an environment.
type ProcessExit struct {
	// Code is the exit status, or -1 if a signal ended the process.
	Code int
	// Signal names the signal that ended the process ("killed"), if any.
	Signal string
	// OutOfMemory reports that the memory limit was hit.
	OutOfMemory bool
}

// String formats the exit as Go's os/exec does ("exit status 2",
// "signal: killed"), which is how Lambda reports a runtime's exit.
func (e ProcessExit) String() string {
	if e.Signal != "" {
		return "signal: " + e.Signal
	}
	return "exit status " + strconv.Itoa(e.Code)
}

package bootstrap

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// NodeRuntimes are the Node.js runtime identifiers Discover maps to the
// host's node. Lambda runs each on its own Node.js major version; a host
// usually has one node, which then serves them all. Operators who want a
// strict match replace or delete entries of Host.Interpreters.
var NodeRuntimes = []string{"nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"}

// minPythonMinor is the oldest Python 3 minor version the Python runtime
// client supports and Discover maps (python3.9).
const minPythonMinor = 9

// Default environment variables of Lambda's managed runtimes, as
// "KEY=value". The executor also gives them to image functions.
const (
	DefaultPath          = "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
	DefaultLDLibraryPath = "LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
)

// systemDirs are the host directories an environment without its own root
// file system sees (see lambdahost.LaunchSpec.RootFS). Interpreters inside
// them run in place; others are bound at LangMount.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64"}

var (
	pythonRuntimeRE = regexp.MustCompile(`^python3\.(\d+)$`)
	nodeRuntimeRE   = regexp.MustCompile(`^nodejs(\d+)\.x$`)
	pyenvVersionRE  = regexp.MustCompile(`^3\.(\d+)\.(\d+)$`)
	// uvVersionRE matches uv's managed CPython builds
	// ("cpython-3.12.7-linux-x86_64-gnu"), not its free-threaded ones
	// ("cpython-3.13.0+freethreaded-...").
	uvVersionRE = regexp.MustCompile(`^cpython-3\.(\d+)\.(\d+)-`)
)

// Host knows the interpreters of this machine and how to run each runtime
// in an execution environment.
type Host struct {
	// Interpreters maps a runtime identifier ("python3.12", "nodejs20.x")
	// to the host path of the interpreter that runs it. Discover fills it;
	// operators may add, replace or delete entries before calling Resolve.
	// The provided.* runtimes need no entry.
	Interpreters map[string]string
	// BootstrapDir is the host directory holding the runtime clients, as
	// written by WriteTo. It is bound read-only at RuntimeMount. Resolve
	// fails for Python and Node.js runtimes while it is empty.
	BootstrapDir string
	// SDKDir is the host directory holding the AWS SDKs that functions
	// import without bundling them, as InstallSDK writes it: python/ for
	// boto3, nodejs/node_modules/ for the JavaScript SDK v3. If it holds
	// them, it is bound read-only at SDKMount and put on the runtimes'
	// search paths after the function's code and its layers. If empty,
	// functions get no SDK.
	SDKDir string
}

// Discover finds the interpreters of this machine:
//
//   - Python 3.9 and later from pyenv: every <root>/versions/3.X.Y with a
//     bin/python3.X, where root is $PYENV_ROOT, $HOME/.pyenv and
//     /root/.pyenv; and from uv: every <dir>/cpython-3.X.Y-* with a
//     bin/python3.X, where dir is $UV_PYTHON_INSTALL_DIR, or uv's default,
//     $XDG_DATA_HOME/uv/python, $HOME/.local/share/uv/python. The highest
//     patch release of either serves python3.X.
//   - Other Python minors from /usr/local/bin/python3.X, then
//     /usr/bin/python3.X.
//   - node from $PATH, then /usr/local/bin/node and /usr/bin/node, for
//     every identifier in NodeRuntimes.
//
// Discover only looks at files; it runs nothing.
func Discover() *Host {
	h := &Host{Interpreters: map[string]string{}}
	type found struct {
		path  string
		patch int
	}
	pythons := map[int]found{}
	seen := map[string]bool{}
	consider := func(minor, patch int, exe string) {
		if minor < minPythonMinor || !isExecutable(exe) {
			return
		}
		if f, ok := pythons[minor]; !ok || patch > f.patch {
			pythons[minor] = found{exe, patch}
		}
	}
	for _, root := range []string{os.Getenv("PYENV_ROOT"), homePyenv(), "/root/.pyenv"} {
		if root == "" || seen[filepath.Clean(root)] {
			continue
		}
		seen[filepath.Clean(root)] = true
		entries, _ := os.ReadDir(filepath.Join(root, "versions"))
		for _, e := range entries {
			m := pyenvVersionRE.FindStringSubmatch(e.Name())
			if m == nil {
				continue
			}
			minor, _ := strconv.Atoi(m[1])
			patch, _ := strconv.Atoi(m[2])
			consider(minor, patch, filepath.Join(root, "versions", e.Name(), "bin", "python3."+m[1]))
		}
	}
	for _, dir := range uvPythonDirs() {
		if dir == "" || seen[filepath.Clean(dir)] {
			continue
		}
		seen[filepath.Clean(dir)] = true
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			m := uvVersionRE.FindStringSubmatch(e.Name())
			if m == nil {
				continue
			}
			minor, _ := strconv.Atoi(m[1])
			patch, _ := strconv.Atoi(m[2])
			consider(minor, patch, filepath.Join(dir, e.Name(), "bin", "python3."+m[1]))
		}
	}
	for minor, f := range pythons {
		h.Interpreters["python3."+strconv.Itoa(minor)] = f.path
	}
	for _, dir := range []string{"/usr/local/bin", "/usr/bin"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			m := pythonRuntimeRE.FindStringSubmatch(e.Name())
			if m == nil {
				continue
			}
			minor, _ := strconv.Atoi(m[1])
			id := e.Name()
			exe := filepath.Join(dir, id)
			if minor < minPythonMinor || h.Interpreters[id] != "" || !isExecutable(exe) {
				continue
			}
			h.Interpreters[id] = exe
		}
	}
	if node := findNode(); node != "" {
		for _, id := range NodeRuntimes {
			h.Interpreters[id] = node
		}
	}
	return h
}

// uvPythonDirs are where uv may keep the Pythons it manages.
func uvPythonDirs() []string {
	if d := os.Getenv("UV_PYTHON_INSTALL_DIR"); d != "" {
		return []string{d}
	}
	dirs := []string{}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		dirs = append(dirs, filepath.Join(d, "uv", "python"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".local", "share", "uv", "python"))
	}
	return dirs
}

func homePyenv() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".pyenv")
}

func findNode() string {
	if p, err := exec.LookPath("node"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	for _, p := range []string{"/usr/local/bin/node", "/usr/bin/node"} {
		if isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Runtimes returns the identifiers Resolve can serve, sorted: those of
// Interpreters and the provided.* runtimes.
func (h *Host) Runtimes() []string {
	ids := []string{"provided.al2", "provided.al2023"}
	for id := range h.Interpreters {
		if pythonRuntimeRE.MatchString(id) || nodeRuntimeRE.MatchString(id) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return runtimeLess(ids[i], ids[j]) })
	return ids
}

// runtimeLess orders runtime identifiers by family, then version, so that
// python3.9 comes before python3.10.
func runtimeLess(a, b string) bool {
	fa, va := splitVersion(a)
	fb, vb := splitVersion(b)
	if fa != fb {
		return fa < fb
	}
	if va != vb {
		return va < vb
	}
	return a < b
}

// splitVersion splits "python3.12" into ("python3.", 12) and "nodejs20.x"
// into ("nodejs", 20).
func splitVersion(id string) (string, int) {
	if m := pythonRuntimeRE.FindStringSubmatch(id); m != nil {
		n, _ := strconv.Atoi(m[1])
		return "python3.", n
	}
	if m := nodeRuntimeRE.FindStringSubmatch(id); m != nil {
		n, _ := strconv.Atoi(m[1])
		return "nodejs", n
	}
	return id, 0
}

// Runtime says how to start a runtime in an execution environment.
type Runtime struct {
	// Name is the runtime identifier, such as "python3.12".
	Name string
	// Interpreter is the host path of the interpreter, or empty for the
	// provided.* runtimes.
	Interpreter string
	// Argv is the command, with paths inside the environment. For the
	// provided.* runtimes it is /var/task/bootstrap: the caller checks that
	// the code has one (Lambda then tries /opt/bootstrap, from layers).
	Argv []string
	// Mounts bind the interpreter's prefix at LangMount, if it is outside
	// the system directories, and the bootstrap directory at RuntimeMount.
	// All are read-only.
	Mounts []lambdahost.Mount
	// Env holds the runtime's variables ("KEY=value"): PATH,
	// LD_LIBRARY_PATH, AWS_EXECUTION_ENV and the language's own. They are
	// defaults, which the function's configuration may override, except
	// AWS_EXECUTION_ENV, which Lambda reserves. The caller adds the
	// variables every runtime gets (_HANDLER, LAMBDA_TASK_ROOT,
	// AWS_LAMBDA_RUNTIME_API...).
	Env []string
}

// UnavailableError reports a runtime this host cannot run. Its message is
// written for the caller of the Lambda API, who receives it as an
// InvalidRuntimeException.
type UnavailableError struct {
	// Runtime is the runtime identifier asked for.
	Runtime string
	// Reason says what is missing.
	Reason string
	// Fix, if not empty, says what the operator can do about it.
	Fix string
}

// Error returns "The runtime <id> is not available on this host: <reason>",
// followed by the fix.
func (e *UnavailableError) Error() string {
	msg := fmt.Sprintf("The runtime %s is not available on this host: %s", e.Runtime, e.Reason)
	if e.Fix != "" {
		msg += ". " + e.Fix
	}
	return msg
}

// fix says how an operator gives this host an interpreter for runtime.
func fix(runtime string) string {
	if m := pythonRuntimeRE.FindStringSubmatch(runtime); m != nil {
		v := "3." + m[1]
		return fmt.Sprintf("Install Python %s (for example `uv python install %s` or `pyenv install %s`) and restart lambdahost, or start it with --interpreter %s=PATH", v, v, v, runtime)
	}
	return fmt.Sprintf("Install Node.js (for example `apt-get install nodejs`) and restart lambdahost, or start it with --interpreter %s=PATH", runtime)
}

// Resolve says how to run runtime in an execution environment:
//
//   - python3.X runs the Python runtime client with the python3.X of
//     Interpreters, never another minor version;
//   - nodejsN.x runs the Node.js runtime client with the node of
//     Interpreters (see NodeRuntimes);
//   - provided.al2023 and provided.al2 run /var/task/bootstrap.
//
// It returns an *UnavailableError for an unknown runtime or one without an
// interpreter.
func (h *Host) Resolve(runtime string) (*Runtime, error) {
	switch runtime {
	case "provided.al2023", "provided.al2":
		return &Runtime{
			Name: runtime,
			Argv: []string{TaskRoot + "/bootstrap"},
			Env:  []string{DefaultPath, DefaultLDLibraryPath},
		}, nil
	}
	var (
		client string
		flags  []string
		env    []string
	)
	switch {
	case pythonRuntimeRE.MatchString(runtime):
		client = PythonBootstrap
		// -u: unbuffered output, so log lines appear as they are written;
		// -s: no user site-packages from the host.
		flags = []string{"-u", "-s"}
		env = []string{"PYTHONUNBUFFERED=1"}
		if h.hasSDK(sdkPython) {
			// After the function's code and /opt/python, which the
			// runtime client puts first, and before the standard
			// library, where Lambda has boto3.
			env = append(env, "PYTHONPATH="+SDKMount+"/"+sdkPython)
		}
	case nodeRuntimeRE.MatchString(runtime):
		client = NodeBootstrap
		flags = []string{"--expose-gc"}
		major := nodeRuntimeRE.FindStringSubmatch(runtime)[1]
		paths := []string{"/opt/nodejs/node" + major + "/node_modules", "/opt/nodejs/node_modules", "/var/runtime/node_modules"}
		if h.hasSDK(sdkNodeModules) {
			// After the layers' directories and Lambda's own.
			paths = append(paths, SDKMount+"/"+sdkNodeModules)
		}
		env = []string{"NODE_PATH=" + strings.Join(append(paths, "/var/runtime", "/var/task"), ":")}
	default:
		return nil, &UnavailableError{Runtime: runtime,
			Reason: "lambdahost runs Python (python3.X), Node.js (nodejsN.x) and OS-only (provided.al2023, provided.al2) runtimes",
			Fix:    "Package the function for provided.al2023 or as a container image"}
	}
	if m := pythonRuntimeRE.FindStringSubmatch(runtime); m != nil {
		if minor, _ := strconv.Atoi(m[1]); minor < minPythonMinor {
			return nil, &UnavailableError{Runtime: runtime, Reason: "lambdahost's Python runtime client needs Python 3.9 or later"}
		}
	}
	interp := h.Interpreters[runtime]
	if interp == "" {
		what := runtime
		if client == NodeBootstrap {
			what = "node for " + runtime
		}
		return nil, &UnavailableError{Runtime: runtime, Reason: "no " + what + " interpreter found", Fix: fix(runtime)}
	}
	if h.BootstrapDir == "" {
		return nil, &UnavailableError{Runtime: runtime, Reason: "the runtime clients have not been installed (Host.BootstrapDir is empty)"}
	}
	exePath, err := filepath.EvalSymlinks(interp)
	if err == nil && !isExecutable(exePath) {
		err = fmt.Errorf("%s is not an executable file", exePath)
	}
	if err != nil {
		return nil, &UnavailableError{Runtime: runtime, Reason: fmt.Sprintf("interpreter %s: %v", interp, errorText(err)), Fix: fix(runtime)}
	}
	rt := &Runtime{Name: runtime, Interpreter: exePath}
	exe := exePath
	if !underSystemDir(exePath) {
		// Bind the prefix (the parent of bin/) at /var/lang, or, for an
		// interpreter outside a bin directory, its directory at
		// /var/lang/bin.
		dir := filepath.Dir(exePath)
		src, dst := dir, LangMount+"/bin"
		if filepath.Base(dir) == "bin" {
			src, dst = filepath.Dir(dir), LangMount
		}
		rt.Mounts = append(rt.Mounts, lambdahost.Mount{Source: src, Target: dst})
		exe = LangMount + "/bin/" + filepath.Base(exePath)
	}
	rt.Mounts = append(rt.Mounts, lambdahost.Mount{Source: h.BootstrapDir, Target: RuntimeMount})
	if h.hasSDK(sdkPython) || h.hasSDK(sdkNodeModules) {
		// After the bootstrap directory: the SDK is bound inside it.
		rt.Mounts = append(rt.Mounts, lambdahost.Mount{Source: h.SDKDir, Target: SDKMount})
	}
	rt.Argv = append(append([]string{exe}, flags...), RuntimeMount+"/"+client)
	rt.Env = append([]string{DefaultPath, DefaultLDLibraryPath, "AWS_EXECUTION_ENV=AWS_Lambda_" + runtime}, env...)
	return rt, nil
}

// hasSDK reports whether SDKDir holds the SDK directory sub.
func (h *Host) hasSDK(sub string) bool {
	return h.SDKDir != "" && isDir(filepath.Join(h.SDKDir, sub))
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// errorText is err's message without the operation and path that os
// errors repeat.
func errorText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func underSystemDir(p string) bool {
	for _, d := range systemDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

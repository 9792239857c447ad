package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// listFlag is a repeatable flag; its default comes from an environment
// variable holding comma-separated entries.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// listDefault returns the entries of a comma-separated default.
func listDefault(v string) listFlag {
	var l listFlag
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			l = append(l, e)
		}
	}
	return l
}

// runtimeFlags are the flags of serve and runtimes that say which
// interpreters and SDKs serve the runtimes.
type runtimeFlags struct {
	// Interpreters maps a runtime to an interpreter's path, from
	// --interpreter RUNTIME=PATH.
	Interpreters map[string]string
	// RuntimesDir holds what lambdahost runtimes --install installs.
	RuntimesDir string

	interpreters listFlag
}

func (f *runtimeFlags) register(fs *flag.FlagSet, env func(name, def string) string, getenv func(string) string) {
	f.interpreters = listDefault(env("interpreter", ""))
	fs.Var(&f.interpreters, "interpreter", "RUNTIME=PATH: run RUNTIME (python3.X or nodejsN.x) with the interpreter at PATH; repeatable (LAMBDAHOST_INTERPRETER, comma-separated)")
	fs.StringVar(&f.RuntimesDir, "runtimes-dir", env("runtimes-dir", defaultRuntimesDir(getenv)), "directory of the AWS SDKs that lambdahost runtimes --install installs for functions (LAMBDAHOST_RUNTIMES_DIR)")
}

// check validates the flags once parsed.
func (f *runtimeFlags) check() error {
	f.Interpreters = map[string]string{}
	for _, e := range f.interpreters {
		rt, path, ok := strings.Cut(e, "=")
		if !ok || rt == "" || path == "" {
			return fmt.Errorf("--interpreter: want RUNTIME=PATH, got %q", e)
		}
		if !slices.Contains(control.Runtimes(), rt) || !(strings.HasPrefix(rt, "python3.") || strings.HasPrefix(rt, "nodejs")) {
			return fmt.Errorf("--interpreter %s: want a Python (python3.X) or Node.js (nodejsN.x) runtime of the Lambda API", rt)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("--interpreter %s: %w", rt, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("--interpreter %s: %s is not an executable file", rt, abs)
		}
		f.Interpreters[rt] = abs
	}
	return nil
}

// host discovers the host's interpreters and applies --interpreter and
// --runtimes-dir.
func (f *runtimeFlags) host() *bootstrap.Host {
	h := bootstrap.Discover()
	maps.Copy(h.Interpreters, f.Interpreters)
	h.SDKDir = f.sdkDir()
	return h
}

// sdkDir is where the SDKs are, or "" without a runtimes directory (no
// HOME to default to): functions then get none.
func (f *runtimeFlags) sdkDir() string {
	if f.RuntimesDir == "" {
		return ""
	}
	return filepath.Join(f.RuntimesDir, "sdk")
}

// defaultRuntimesDir is shared by every data directory of the user:
// $XDG_DATA_HOME/lambdahost/runtimes or ~/.local/share/lambdahost/runtimes.
func defaultRuntimesDir(getenv func(string) string) string {
	if d := defaultDataDir(getenv); d != "" {
		return filepath.Join(d, "runtimes")
	}
	return ""
}

// runRuntimes is lambdahost runtimes [--install]: it lists every runtime
// of the Lambda API with what serves it on this host, or what is missing,
// and the AWS SDKs functions get; --install installs those SDKs first.
func runRuntimes(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runtimes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := envDefault(getenv)
	var rf runtimeFlags
	rf.register(fs, env, getenv)
	install := fs.Bool("install", false, "install the AWS SDKs for Python (boto3, from Debian's packages) and Node.js (@aws-sdk v3, from npm) into --runtimes-dir, then list")
	err := parseFlags(fs, args)
	if err == nil {
		err = rf.check()
	}
	if err != nil {
		if err == errHelp {
			return 0
		}
		fmt.Fprintln(stderr, "lambdahost runtimes:", err)
		return 2
	}
	if *install {
		if rf.RuntimesDir == "" {
			fmt.Fprintln(stderr, "lambdahost runtimes: --runtimes-dir: no default directory (set HOME or XDG_DATA_HOME)")
			return 2
		}
		if err := bootstrap.InstallSDK(ctx, rf.sdkDir(), stderr); err != nil {
			fmt.Fprintln(stderr, "lambdahost runtimes:", err)
			return 1
		}
	}
	if err := listRuntimes(stdout, rf.host()); err != nil {
		fmt.Fprintln(stderr, "lambdahost runtimes:", err)
		return 1
	}
	return 0
}

// listRuntimes writes the table of runtimes and the SDKs of h.
func listRuntimes(w io.Writer, h *bootstrap.Host) error {
	h.BootstrapDir = "(runtime clients)" // Resolve only checks it is set.
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "RUNTIME\tSERVED BY")
	ids := control.Runtimes()
	slices.SortFunc(ids, compareRuntimes)
	for _, id := range ids {
		fmt.Fprintf(tw, "%s\t%s\n", id, servedBy(h, id))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if h.SDKDir == "" {
		fmt.Fprintln(w, "\nAWS SDKs for functions: none (no --runtimes-dir)")
		return nil
	}
	m, err := bootstrap.ReadSDKManifest(h.SDKDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nAWS SDKs for functions, in %s:\n", h.SDKDir)
	hint := "not installed: run `lambdahost runtimes --install`"
	if v := m.Python["boto3"]; v != "" {
		fmt.Fprintf(w, "  Python   boto3 %s, botocore %s\n", v, m.Python["botocore"])
	} else {
		fmt.Fprintf(w, "  Python   %s\n", hint)
	}
	if v := m.Node["@aws-sdk/client-lambda"]; v != "" {
		fmt.Fprintf(w, "  Node.js  %d @aws-sdk packages (client-lambda %s)\n", len(m.Node), v)
	} else {
		fmt.Fprintf(w, "  Node.js  %s\n", hint)
	}
	return nil
}

// servedBy says what runs runtime id on host h, or why nothing does.
func servedBy(h *bootstrap.Host, id string) string {
	rt, err := h.Resolve(id)
	if err != nil {
		var u *bootstrap.UnavailableError
		if errors.As(err, &u) {
			msg := "not available: " + u.Reason
			if u.Fix != "" {
				msg += ". " + u.Fix
			}
			return msg
		}
		return "not available: " + err.Error()
	}
	if rt.Interpreter == "" {
		return "the function's own bootstrap"
	}
	if strings.HasPrefix(id, "nodejs") {
		if out, err := exec.Command(rt.Interpreter, "--version").Output(); err == nil {
			return rt.Interpreter + " (Node.js " + strings.TrimSpace(string(out)) + ")"
		}
	}
	return rt.Interpreter
}

// compareRuntimes orders runtime identifiers by family, then by version
// number: python3.9 before python3.10.
func compareRuntimes(a, b string) int {
	fa, va := splitRuntime(a)
	fb, vb := splitRuntime(b)
	if c := strings.Compare(fa, fb); c != 0 {
		return c
	}
	if c := slices.Compare(va, vb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// splitRuntime splits "python3.12" into "python" and [3 12].
func splitRuntime(id string) (string, []int) {
	i := strings.IndexFunc(id, unicode.IsDigit)
	if i < 0 {
		return id, nil
	}
	var nums []int
	for _, f := range strings.FieldsFunc(id[i:], func(r rune) bool { return !unicode.IsDigit(r) }) {
		n, _ := strconv.Atoi(f)
		nums = append(nums, n)
	}
	return id[:i], nums
}

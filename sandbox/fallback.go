package sandbox

import (
	"context"
	"errors"
	"net"
	"os"
	"sort"
	"strings"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox/internal/nsinit"
)

// launchProcess starts spec as a plain process group (ModeProcess).
func (l *Launcher) launchProcess(ctx context.Context, spec *lambdahost.LaunchSpec) (_ *Process, err error) {
	if spec.RootFS != "" {
		return nil, errors.New("a root file system needs namespaces, unavailable on this host")
	}
	for _, m := range spec.Mounts {
		if _, err := os.Stat(m.Source); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// The command runs as HostUID when the launcher is root, as the
	// launcher's user otherwise.
	uid, gid := -1, -1
	if l.asRoot {
		uid, gid = int(l.uid), int(l.gid)
	}
	tmp, err := l.scratch.newDir(uid, gid, 0o700)
	if err != nil {
		ln.Close()
		return nil, err
	}
	defer func() {
		if err != nil {
			ln.Close()
			os.RemoveAll(tmp)
		}
	}()

	tr := newTranslator(spec.Mounts, tmp)
	argv := make([]string, len(spec.Argv))
	for i, a := range spec.Argv {
		argv[i] = tr.path(a)
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	env := make([]string, 0, len(spec.Env)+2)
	for _, kv := range spec.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			env = append(env, kv)
			continue
		}
		env = append(env, k+"="+tr.list(v))
	}
	env = setEnv(env, "TMPDIR", tmp)
	env = setEnv(env, "AWS_LAMBDA_RUNTIME_API", ln.Addr().String())
	is := &nsinit.Spec{
		Argv: argv,
		Env:  env,
		Dir:  tr.path(dir),
	}
	return l.launch(ctx, is, spec.ID, spec.MemoryMB, spec.Output, ln, tmpStore{dir: tmp})
}

// translator rewrites paths inside an environment to the host paths they
// come from, for ModeProcess, which has no mounts.
type translator struct {
	mounts []lambdahost.Mount // longest target first
}

func newTranslator(mounts []lambdahost.Mount, tmp string) *translator {
	ms := append([]lambdahost.Mount{{Source: tmp, Target: "/tmp"}}, mounts...)
	sort.SliceStable(ms, func(i, j int) bool { return len(ms[i].Target) > len(ms[j].Target) })
	return &translator{mounts: ms}
}

// path rewrites p if it is at or below a mount's target.
func (t *translator) path(p string) string {
	for _, m := range t.mounts {
		if rest, ok := strings.CutPrefix(p, m.Target); ok && (rest == "" || rest[0] == '/') {
			return m.Source + rest
		}
	}
	return p
}

// list rewrites each element of a colon-separated list such as PATH.
func (t *translator) list(v string) string {
	if !strings.Contains(v, "/") {
		return v
	}
	parts := strings.Split(v, ":")
	for i, p := range parts {
		parts[i] = t.path(p)
	}
	return strings.Join(parts, ":")
}

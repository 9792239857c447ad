package bootstrap_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// TestRelocatedEnvironment runs each runtime exactly as Resolve describes
// it — Argv, Mounts, Env — in a private mount namespace where the mounts
// are made and the interpreter's host prefix and the bootstrap directory
// are hidden. It proves that an interpreter bound at /var/lang finds its
// standard library and libpython there. It needs root and unshare(1); the
// sandbox itself is not involved.
func TestRelocatedEnvironment(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipping: no unshare command")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting needs root")
	}
	if out, err := exec.Command(unshare, "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", "/mnt").CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot mount in a new mount namespace: %v: %s", err, out)
	}
	h := host(t)
	for _, id := range h.Runtimes() {
		if strings.HasPrefix(id, "nodejs") && id != nodeRuntime || strings.HasPrefix(id, "provided") {
			continue // the same node as nodeRuntime; no client
		}
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			rt, err := h.Resolve(id)
			if err != nil {
				t.Fatal(err)
			}
			code := pythonCode
			handler := "app.echo"
			if rt.Name == nodeRuntime {
				code, handler = nodeCode, "index.handler"
			}
			taskRoot := writeFiles(t, code)
			script := []string{"set -e", "mount -t tmpfs -o size=1m tmpfs /var"}
			mounts := append([]lambdahost.Mount{{Source: taskRoot, Target: bootstrap.TaskRoot}}, rt.Mounts...)
			for _, m := range mounts {
				if strings.HasPrefix(m.Source, "/var/") {
					t.Skipf("skipping: %s is under /var, which the test covers", m.Source)
				}
				script = append(script, fmt.Sprintf("mkdir -p %s && mount -o bind,ro %s %s", quote(m.Target), quote(m.Source), quote(m.Target)))
			}
			for _, m := range rt.Mounts {
				script = append(script, "mount -t tmpfs -o size=1m tmpfs "+quote(m.Source))
			}
			script = append(script, "cd /var/task", `exec "$@"`)

			api := newFakeAPI(t)
			args := append([]string{"--mount", "--propagation", "private", "/bin/sh", "-c", strings.Join(script, "\n"), "sh"}, rt.Argv...)
			cmd := exec.Command(unshare, args...)
			cmd.Env = append(append([]string{}, rt.Env...), lambdaEnv(api, bootstrap.TaskRoot, handler)...)
			p := startCmd(t, api, cmd)
			var got struct {
				Event   map[string]any
				Version string
			}
			p.invoke(&invocation{Payload: `{"n":1}`}).decode(t, &got)
			if got.Event["n"] != 1.0 {
				t.Errorf("event %v, want n=1", got.Event)
			}
			if minor, ok := strings.CutPrefix(id, "python"); ok && got.Version != minor {
				t.Errorf("version %q, want %q", got.Version, minor)
			}
		})
	}
}

// quote quotes s for sh.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

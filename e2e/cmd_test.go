//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runBinary runs lambdahost with args and returns its output and exit status.
func runBinary(t testing.TB, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = envWithout(os.Environ(), "LAMBDAHOST_")
	dieWithTest(cmd)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("lambdahost %s: still running after %v", strings.Join(args, " "), timeout)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("lambdahost %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// TestCommandLine checks "lambdahost version" and that serve refuses a
// non-loopback address without a credentials file (scenario 16).
func TestCommandLine(t *testing.T) {
	t.Parallel()
	t.Run("version", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := runBinary(t, waitTimeout, "version")
		if code != 0 {
			t.Errorf("lambdahost version: exit status %d, stderr %q", code, stderr)
		}
		// The version, then the function network serve would give.
		if !regexp.MustCompile(`^lambdahost \S+\nfunction network: (host|internet|none) \([^\n]*\n$`).MatchString(stdout) {
			t.Errorf("lambdahost version printed %q, want \"lambdahost VERSION\\nfunction network: MODE (...)\\n\"", stdout)
		}
	})
	t.Run("public-listen-without-credentials", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ready := filepath.Join(dir, "ready.json")
		_, stderr, code := runBinary(t, waitTimeout, "serve", "--listen", "0.0.0.0:0",
			"--data-dir", filepath.Join(dir, "data"), "--ready-file", ready)
		if code == 0 {
			t.Errorf("serve --listen 0.0.0.0:0 without --credentials exited 0, want a failure")
		}
		// The message must say what to do about it.
		if !strings.Contains(stderr, "0.0.0.0:0") || !strings.Contains(stderr, "--credentials") {
			t.Errorf("stderr %q: want it to name the address and --credentials", stderr)
		}
		if _, err := os.Stat(ready); err == nil {
			t.Error("the refused server wrote its ready file")
		}
	})
	t.Run("unknown-command", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := runBinary(t, waitTimeout, "frobnicate")
		if code != 2 || !strings.Contains(stderr, "usage") {
			t.Errorf("lambdahost frobnicate: exit status %d, stderr %q; want 2 and a usage line", code, stderr)
		}
	})
}

package bootstrap_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// mkExecutable creates an executable file at p, with its directories.
func mkExecutable(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDiscoverPyenv(t *testing.T) {
	root := t.TempDir()
	t.Setenv("PYENV_ROOT", root)
	t.Setenv("HOME", t.TempDir())
	v := func(version, exe string) string {
		return mkExecutable(t, filepath.Join(root, "versions", version, "bin", exe))
	}
	v("3.42.1", "python3.42")
	want := v("3.42.10", "python3.42") // patch 10 beats patch 9
	v("3.42.9", "python3.42")
	v("3.8.18", "python3.8")           // older than the client supports
	v("pypy3.10-7.3.12", "python3.10") // not CPython
	v("3.43.0", "python3")             // no python3.43
	if err := os.MkdirAll(filepath.Join(root, "versions", "3.44.0", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}

	h := bootstrap.Discover()
	if got := h.Interpreters["python3.42"]; got != want {
		t.Errorf("python3.42 = %q, want %q", got, want)
	}
	for _, id := range []string{"python3.8", "python3.43", "python3.44"} {
		if got, ok := h.Interpreters[id]; ok {
			t.Errorf("%s = %q, want none", id, got)
		}
	}
	for _, id := range bootstrap.NodeRuntimes {
		if h.Interpreters[id] != h.Interpreters[bootstrap.NodeRuntimes[0]] {
			t.Errorf("%s = %q, want the same node as %s", id, h.Interpreters[id], bootstrap.NodeRuntimes[0])
		}
	}
}

// TestDiscoverUV finds uv's managed Pythons, and prefers the highest patch
// release between uv's and pyenv's.
func TestDiscoverUV(t *testing.T) {
	root, uv := t.TempDir(), t.TempDir()
	t.Setenv("PYENV_ROOT", root)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("UV_PYTHON_INSTALL_DIR", uv)
	mkExecutable(t, filepath.Join(root, "versions", "3.42.3", "bin", "python3.42"))
	want42 := mkExecutable(t, filepath.Join(uv, "cpython-3.42.5-linux-x86_64-gnu", "bin", "python3.42"))
	want41 := mkExecutable(t, filepath.Join(uv, "cpython-3.41.0-linux-x86_64-gnu", "bin", "python3.41"))
	want43 := mkExecutable(t, filepath.Join(root, "versions", "3.43.9", "bin", "python3.43"))
	mkExecutable(t, filepath.Join(uv, "cpython-3.43.1-linux-x86_64-gnu", "bin", "python3.43"))
	mkExecutable(t, filepath.Join(uv, "cpython-3.44.0+freethreaded-linux-x86_64-gnu", "bin", "python3.44"))
	mkExecutable(t, filepath.Join(uv, "pypy-3.45.0-linux-x86_64-gnu", "bin", "python3.45"))

	h := bootstrap.Discover()
	for id, want := range map[string]string{"python3.41": want41, "python3.42": want42, "python3.43": want43, "python3.44": "", "python3.45": ""} {
		if got := h.Interpreters[id]; got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}

	// Without UV_PYTHON_INSTALL_DIR, uv's default under XDG_DATA_HOME.
	t.Setenv("UV_PYTHON_INSTALL_DIR", "")
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	want := mkExecutable(t, filepath.Join(data, "uv", "python", "cpython-3.46.2-linux-aarch64-gnu", "bin", "python3.46"))
	if got := bootstrap.Discover().Interpreters["python3.46"]; got != want {
		t.Errorf("python3.46 = %q, want %q", got, want)
	}
}

func TestRuntimes(t *testing.T) {
	h := &bootstrap.Host{Interpreters: map[string]string{
		"python3.10": "/p", "python3.9": "/p", "nodejs20.x": "/n", "nodejs18.x": "/n", "ruby3.3": "/r",
	}}
	want := []string{"nodejs18.x", "nodejs20.x", "provided.al2", "provided.al2023", "python3.9", "python3.10"}
	if diff := cmp.Diff(want, h.Runtimes()); diff != "" {
		t.Errorf("Runtimes() mismatch (-want +got):\n%s", diff)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	boot := filepath.Join(dir, "runtime")
	prefix := filepath.Join(dir, "pyenv", "versions", "3.12.1")
	python := mkExecutable(t, filepath.Join(prefix, "bin", "python3.12"))
	if err := os.Symlink("python3.12", filepath.Join(prefix, "bin", "python3")); err != nil {
		t.Fatal(err)
	}
	loose := mkExecutable(t, filepath.Join(dir, "loose", "node"))
	h := &bootstrap.Host{
		BootstrapDir: boot,
		Interpreters: map[string]string{
			"python3.12": python,
			"python3.11": filepath.Join(prefix, "bin", "python3"), // a symlink
			"python3.10": filepath.Join(dir, "gone", "bin", "python3.10"),
			"nodejs22.x": loose,
			"nodejs20.x": "/usr/bin/env", // inside the system directories
		},
	}
	const (
		path    = "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
		libPath = "LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
	)
	runtimeMount := lambdahost.Mount{Source: boot, Target: "/var/runtime"}
	tests := []struct {
		name    string
		runtime string
		want    *bootstrap.Runtime
		wantErr string
	}{
		{
			name: "pyenv-python", runtime: "python3.12",
			want: &bootstrap.Runtime{
				Name: "python3.12", Interpreter: python,
				Argv:   []string{"/var/lang/bin/python3.12", "-u", "-s", "/var/runtime/bootstrap.py"},
				Mounts: []lambdahost.Mount{{Source: prefix, Target: "/var/lang"}, runtimeMount},
				Env:    []string{path, libPath, "AWS_EXECUTION_ENV=AWS_Lambda_python3.12", "PYTHONUNBUFFERED=1"},
			},
		},
		{
			name: "symlinked-interpreter", runtime: "python3.11",
			want: &bootstrap.Runtime{
				Name: "python3.11", Interpreter: python,
				Argv:   []string{"/var/lang/bin/python3.12", "-u", "-s", "/var/runtime/bootstrap.py"},
				Mounts: []lambdahost.Mount{{Source: prefix, Target: "/var/lang"}, runtimeMount},
				Env:    []string{path, libPath, "AWS_EXECUTION_ENV=AWS_Lambda_python3.11", "PYTHONUNBUFFERED=1"},
			},
		},
		{
			name: "interpreter-outside-bin", runtime: "nodejs22.x",
			want: &bootstrap.Runtime{
				Name: "nodejs22.x", Interpreter: loose,
				Argv:   []string{"/var/lang/bin/node", "--expose-gc", "/var/runtime/bootstrap.mjs"},
				Mounts: []lambdahost.Mount{{Source: filepath.Dir(loose), Target: "/var/lang/bin"}, runtimeMount},
				Env: []string{path, libPath, "AWS_EXECUTION_ENV=AWS_Lambda_nodejs22.x",
					"NODE_PATH=/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task"},
			},
		},
		{
			name: "system-interpreter-runs-in-place", runtime: "nodejs20.x",
			want: &bootstrap.Runtime{
				Name: "nodejs20.x", Interpreter: "/usr/bin/env",
				Argv:   []string{"/usr/bin/env", "--expose-gc", "/var/runtime/bootstrap.mjs"},
				Mounts: []lambdahost.Mount{runtimeMount},
				Env: []string{path, libPath, "AWS_EXECUTION_ENV=AWS_Lambda_nodejs20.x",
					"NODE_PATH=/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task"},
			},
		},
		{
			name: "provided-al2023", runtime: "provided.al2023",
			want: &bootstrap.Runtime{Name: "provided.al2023", Argv: []string{"/var/task/bootstrap"}, Env: []string{path, libPath}},
		},
		{
			name: "provided-al2", runtime: "provided.al2",
			want: &bootstrap.Runtime{Name: "provided.al2", Argv: []string{"/var/task/bootstrap"}, Env: []string{path, libPath}},
		},
		{
			name: "missing-python-minor", runtime: "python3.14",
			wantErr: "The runtime python3.14 is not available on this host: no python3.14 interpreter found. " +
				"Install Python 3.14 (for example `uv python install 3.14` or `pyenv install 3.14`) and restart lambdahost, or start it with --interpreter python3.14=PATH",
		},
		{
			name: "missing-node", runtime: "nodejs24.x",
			wantErr: "The runtime nodejs24.x is not available on this host: no node for nodejs24.x interpreter found. " +
				"Install Node.js (for example `apt-get install nodejs`) and restart lambdahost, or start it with --interpreter nodejs24.x=PATH",
		},
		{
			name: "interpreter-gone", runtime: "python3.10",
			wantErr: "The runtime python3.10 is not available on this host: interpreter " + filepath.Join(dir, "gone", "bin", "python3.10") + ": no such file or directory. " +
				"Install Python 3.10 (for example `uv python install 3.10` or `pyenv install 3.10`) and restart lambdahost, or start it with --interpreter python3.10=PATH",
		},
		{
			name: "unknown-runtime", runtime: "java21",
			wantErr: "The runtime java21 is not available on this host: lambdahost runs Python (python3.X), Node.js (nodejsN.x) and OS-only (provided.al2023, provided.al2) runtimes. " +
				"Package the function for provided.al2023 or as a container image",
		},
		{
			name: "python2", runtime: "python2.7",
			wantErr: "The runtime python2.7 is not available on this host: lambdahost runs Python (python3.X), Node.js (nodejsN.x) and OS-only (provided.al2023, provided.al2) runtimes. " +
				"Package the function for provided.al2023 or as a container image",
		},
		{
			name: "python-too-old", runtime: "python3.8",
			wantErr: "The runtime python3.8 is not available on this host: lambdahost's Python runtime client needs Python 3.9 or later",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Resolve(tt.runtime)
			if tt.wantErr != "" {
				var unavailable *bootstrap.UnavailableError
				if !errors.As(err, &unavailable) || unavailable.Runtime != tt.runtime {
					t.Fatalf("Resolve(%q) error %v, want an *UnavailableError for %s", tt.runtime, err, tt.runtime)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("error %q, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve(%q) mismatch (-want +got):\n%s", tt.runtime, diff)
			}
		})
	}

	t.Run("sdk", func(t *testing.T) {
		sdk := filepath.Join(dir, "sdk")
		for _, d := range []string{"python", "nodejs/node_modules"} {
			if err := os.MkdirAll(filepath.Join(sdk, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		h := &bootstrap.Host{BootstrapDir: boot, SDKDir: sdk, Interpreters: h.Interpreters}
		sdkMount := lambdahost.Mount{Source: sdk, Target: "/var/runtime/sdk"}
		py, err := h.Resolve("python3.12")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(py.Env, "PYTHONPATH=/var/runtime/sdk/python") || !slices.Equal(py.Mounts[len(py.Mounts)-2:], []lambdahost.Mount{runtimeMount, sdkMount}) {
			t.Errorf("python: Env %v, Mounts %v", py.Env, py.Mounts)
		}
		node, err := h.Resolve("nodejs20.x")
		if err != nil {
			t.Fatal(err)
		}
		const nodePath = "NODE_PATH=/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime/sdk/nodejs/node_modules:/var/runtime:/var/task"
		if !slices.Contains(node.Env, nodePath) || !slices.Equal(node.Mounts, []lambdahost.Mount{runtimeMount, sdkMount}) {
			t.Errorf("node: Env %v, Mounts %v", node.Env, node.Mounts)
		}
		// Without an SDK in the directory, nothing changes.
		h.SDKDir = t.TempDir()
		if py, err := h.Resolve("python3.12"); err != nil || slices.ContainsFunc(py.Env, func(e string) bool { return strings.HasPrefix(e, "PYTHONPATH=") }) || len(py.Mounts) != 2 {
			t.Errorf("python without an SDK: %v, %+v", err, py)
		}
	})

	t.Run("no-bootstrap-dir", func(t *testing.T) {
		h := &bootstrap.Host{Interpreters: h.Interpreters}
		_, err := h.Resolve("python3.12")
		var unavailable *bootstrap.UnavailableError
		if !errors.As(err, &unavailable) {
			t.Errorf("error %v, want an *UnavailableError", err)
		}
	})
}

func TestWriteTo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runtime")
	if err := bootstrap.WriteTo(dir); err != nil {
		t.Fatal(err)
	}
	names := []string{bootstrap.PythonBootstrap, "lambdahost_runtime.py", bootstrap.NodeBootstrap}
	stats := map[string]os.FileInfo{}
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o444 || fi.Size() == 0 {
			t.Errorf("%s: mode %v, size %d; want a non-empty read-only file", name, fi.Mode(), fi.Size())
		}
		stats[name] = fi
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(names)+1 {
		t.Errorf("dir holds %d entries, want %d and the SDK's mount point", len(entries), len(names))
	}
	if fi, err := os.Stat(filepath.Join(dir, "sdk")); err != nil || !fi.IsDir() {
		t.Errorf("no mount point for the SDK: %v", err)
	}

	// A second call leaves correct files alone and repairs others.
	p := filepath.Join(dir, bootstrap.NodeBootstrap)
	want, _ := os.ReadFile(p)
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bootstrap.WriteTo(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != string(want) {
		t.Errorf("%s not restored", bootstrap.NodeBootstrap)
	}
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o444 {
			t.Errorf("%s: mode %v after rewrite, want 0444", name, fi.Mode())
		}
		if name != bootstrap.NodeBootstrap && !os.SameFile(fi, stats[name]) {
			t.Errorf("%s was rewritten although it was unchanged", name)
		}
	}
}

func TestInstallCompilesPython(t *testing.T) {
	h := bootstrap.Discover()
	var minors []string
	for id := range h.Interpreters {
		if minor, ok := strings.CutPrefix(id, "python3."); ok {
			minors = append(minors, minor)
		}
	}
	if len(minors) == 0 {
		t.Skip("skipping: no Python interpreter on this host")
	}
	slices.Sort(minors)
	dir := filepath.Join(t.TempDir(), "runtime")
	if err := h.Install(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if h.BootstrapDir != dir {
		t.Errorf("BootstrapDir %q, want %q", h.BootstrapDir, dir)
	}
	for _, minor := range minors {
		pyc := filepath.Join(dir, "__pycache__", "lambdahost_runtime.cpython-3"+minor+".pyc")
		if _, err := os.Stat(pyc); err != nil {
			t.Errorf("python3.%s: %v", minor, err)
		}
	}
	// Installing again over read-only files works, and leaves current
	// bytecode alone: no interpreter is started for it.
	pyc := filepath.Join(dir, "__pycache__", "lambdahost_runtime.cpython-3"+minors[0]+".pyc")
	before, err := os.Stat(pyc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(pyc, time.Time{}, before.ModTime().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := h.Install(context.Background(), dir); err != nil {
		t.Errorf("second Install: %v", err)
	}
	if after, err := os.Stat(pyc); err != nil || !after.ModTime().Equal(before.ModTime().Add(-time.Hour)) {
		t.Errorf("current bytecode was compiled again (%v)", err)
	}
	// Bytecode of another version of the source is compiled again.
	if err := os.Remove(pyc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pyc, make([]byte, 16), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.Install(context.Background(), dir); err != nil {
		t.Errorf("third Install: %v", err)
	}
	if b, err := os.ReadFile(pyc); err != nil || len(b) <= 16 {
		t.Errorf("stale bytecode was not compiled again: %d bytes, %v", len(b), err)
	}
}

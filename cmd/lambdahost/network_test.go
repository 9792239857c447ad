package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost/sandbox"
)

// TestFunctionFlags parses --function-network, --function-env and
// --interpreter, from flags and from the environment.
func TestFunctionFlags(t *testing.T) {
	python := filepath.Join(t.TempDir(), "python3.14")
	if err := os.WriteFile(python, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(t.TempDir(), "python3.13")
	os.WriteFile(notExec, nil, 0o644)
	tests := []struct {
		name         string
		args         []string
		env          map[string]string
		network      string
		functionEnv  []string
		interpreters map[string]string
		wantErr      string
	}{
		{name: "defaults", interpreters: map[string]string{}},
		{name: "flags", args: []string{"--function-network", "internet", "--function-env", "AA=1", "--function-env", "AWS_ENDPOINT_URL_S3=http://h:7070/x=y",
			"--interpreter", "python3.14=" + python},
			network: "internet", functionEnv: []string{"AA=1", "AWS_ENDPOINT_URL_S3=http://h:7070/x=y"}, interpreters: map[string]string{"python3.14": python}},
		{name: "env", env: map[string]string{"LAMBDAHOST_FUNCTION_NETWORK": "none", "LAMBDAHOST_FUNCTION_ENV": "AA=1, BB=2", "LAMBDAHOST_INTERPRETER": "nodejs24.x=" + python},
			network: "none", functionEnv: []string{"AA=1", "BB=2"}, interpreters: map[string]string{"nodejs24.x": python}},
		{name: "flags-add-to-env", args: []string{"--function-env", "CC=3"}, env: map[string]string{"LAMBDAHOST_FUNCTION_ENV": "AA=1"},
			functionEnv: []string{"AA=1", "CC=3"}, interpreters: map[string]string{}},
		{name: "unknown-network", args: []string{"--function-network", "lan"}, wantErr: `unknown network mode "lan"`},
		{name: "env-without-value", args: []string{"--function-env", "AA"}, wantErr: "want NAME=VALUE"},
		{name: "env-bad-name", args: []string{"--function-env", "1A=x"}, wantErr: "want NAME=VALUE"},
		{name: "env-reserved", args: []string{"--function-env", "AWS_REGION=x"}, wantErr: "--function-env AWS_REGION: Lambda reserves this name"},
		{name: "env-credentials", args: []string{"--function-env", "AWS_SECRET_ACCESS_KEY=x"}, wantErr: "Lambda reserves this name"},
		{name: "interpreter-not-runtime", args: []string{"--interpreter", "java21=" + python}, wantErr: "--interpreter java21: want a Python"},
		{name: "interpreter-unknown", args: []string{"--interpreter", "python3.99=" + python}, wantErr: "--interpreter python3.99"},
		{name: "interpreter-missing", args: []string{"--interpreter", "python3.14=/nonexistent/python"}, wantErr: "is not an executable file"},
		{name: "interpreter-not-executable", args: []string{"--interpreter", "python3.13=" + notExec}, wantErr: "is not an executable file"},
		{name: "interpreter-no-path", args: []string{"--interpreter", "python3.14"}, wantErr: "want RUNTIME=PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HOME": "/home/u"}
			for k, v := range tt.env {
				env[k] = v
			}
			m := &Main{Stderr: &bytes.Buffer{}, Getenv: func(k string) string { return env[k] }}
			err := m.ParseFlags(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.FunctionNetwork != tt.network || !slices.Equal(m.FunctionEnv, tt.functionEnv) || len(m.runtime.Interpreters) != len(tt.interpreters) {
				t.Errorf("network %q, env %q, interpreters %v", m.FunctionNetwork, m.FunctionEnv, m.runtime.Interpreters)
			}
			for k, v := range tt.interpreters {
				if m.runtime.Interpreters[k] != v {
					t.Errorf("interpreter %s=%q, want %q", k, m.runtime.Interpreters[k], v)
				}
			}
			if want := "/home/u/.local/share/lambdahost/runtimes"; m.runtime.RuntimesDir != want {
				t.Errorf("RuntimesDir=%q, want %q", m.runtime.RuntimesDir, want)
			}
		})
	}
}

// TestNetworkFor checks the default network of each kind of listener.
func TestNetworkFor(t *testing.T) {
	tests := []struct {
		flag, listen string
		want         sandbox.Network
		explicit     bool
	}{
		{"", "127.0.0.1:9001", sandbox.NetworkHost, false},
		{"", "localhost:9001", sandbox.NetworkHost, false},
		{"", "[::1]:9001", sandbox.NetworkHost, false},
		{"", "0.0.0.0:9001", sandbox.NetworkInternet, false},
		{"", "192.168.1.5:9001", sandbox.NetworkInternet, false},
		{"", ":9001", sandbox.NetworkInternet, false},
		{"none", "127.0.0.1:9001", sandbox.NetworkNone, true},
		{"host", "0.0.0.0:9001", sandbox.NetworkHost, true},
	}
	for _, tt := range tests {
		got, explicit := networkFor(tt.flag, tt.listen)
		if got != tt.want || explicit != tt.explicit {
			t.Errorf("networkFor(%q, %q)=%s, %v; want %s, %v", tt.flag, tt.listen, got, explicit, tt.want, tt.explicit)
		}
	}
}

// TestVersionNetwork checks that version says which network functions get.
func TestVersionNetwork(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "function network: host (the default for --listen 127.0.0.1:9001;"},
		{map[string]string{"LAMBDAHOST_LISTEN": "0.0.0.0:9001"}, "function network: internet (the default for --listen 0.0.0.0:9001;"},
		{map[string]string{"LAMBDAHOST_FUNCTION_NETWORK": "none"}, "function network: none (LAMBDAHOST_FUNCTION_NETWORK;"},
	} {
		var stdout bytes.Buffer
		if code := run(context.Background(), []string{"version"}, func(k string) string { return tt.env[k] }, &stdout, &bytes.Buffer{}); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if !strings.Contains(stdout.String(), tt.want) {
			t.Errorf("version with %v:\n%s\nwant %q", tt.env, stdout.String(), tt.want)
		}
	}
}

// TestRuntimesList lists the runtimes of the model with what serves them.
func TestRuntimesList(t *testing.T) {
	python := filepath.Join(t.TempDir(), "bin", "python3.14")
	if err := os.MkdirAll(filepath.Dir(python), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(python, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	runtimes := t.TempDir()
	env := map[string]string{"HOME": t.TempDir(), "LAMBDAHOST_RUNTIMES_DIR": runtimes}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"runtimes", "--interpreter", "python3.14=" + python}, func(k string) string { return env[k] }, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"python3.14       " + python + "\n",
		"provided.al2023  the function's own bootstrap\n",
		"java21           not available: lambdahost runs Python (python3.X), Node.js (nodejsN.x) and OS-only (provided.al2023, provided.al2) runtimes. Package the function",
		"python3.8        not available: lambdahost's Python runtime client needs Python 3.9 or later\n",
		"AWS SDKs for functions, in " + filepath.Join(runtimes, "sdk") + ":\n  Python   not installed: run `lambdahost runtimes --install`",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "python3.9 "), strings.Index(out, "python3.10 "); i < 0 || j < i {
		t.Errorf("python3.9 is not listed before python3.10:\n%s", out)
	}
}

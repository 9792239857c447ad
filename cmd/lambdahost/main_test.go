package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flagValues is the comparable part of Main.
type flagValues struct {
	Listen, DataDir, ReadyFile, LogLevel, CredentialsFile string
	CodeStorageLimit                                      int64
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    flagValues
		wantErr string
	}{
		{name: "defaults", env: map[string]string{"HOME": "/home/u"}, want: flagValues{Listen: "127.0.0.1:9001", DataDir: "/home/u/.local/share/lambdahost", CodeStorageLimit: 80530636800, LogLevel: "info"}},
		{name: "xdg-data-home", env: map[string]string{"XDG_DATA_HOME": "/x"}, want: flagValues{Listen: "127.0.0.1:9001", DataDir: "/x/lambdahost", CodeStorageLimit: 80530636800, LogLevel: "info"}},
		{name: "env-vars", env: map[string]string{"LAMBDAHOST_LISTEN": "127.0.0.1:0", "LAMBDAHOST_DATA_DIR": "/d", "LAMBDAHOST_CODE_STORAGE_LIMIT": "1000", "LAMBDAHOST_READY_FILE": "/r"},
			want: flagValues{Listen: "127.0.0.1:0", DataDir: "/d", ReadyFile: "/r", CodeStorageLimit: 1000, LogLevel: "info"}},
		{name: "flags-beat-env", args: []string{"--listen", "127.0.0.1:1", "--data-dir", "/f"}, env: map[string]string{"LAMBDAHOST_LISTEN": "127.0.0.1:2"},
			want: flagValues{Listen: "127.0.0.1:1", DataDir: "/f", CodeStorageLimit: 80530636800, LogLevel: "info"}},
		{name: "bad-limit", args: []string{"--data-dir", "/d", "--code-storage-limit", "lots"}, wantErr: "--code-storage-limit"},
		{name: "no-data-dir", wantErr: "--data-dir"},
		{name: "extra-args", args: []string{"--data-dir", "/d", "now"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Main{Stderr: &bytes.Buffer{}, Getenv: func(k string) string { return tt.env[k] }}
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
			got := flagValues{Listen: m.Listen, DataDir: m.DataDir, ReadyFile: m.ReadyFile, CodeStorageLimit: m.CodeStorageLimit, LogLevel: m.LogLevel, CredentialsFile: m.CredentialsFile}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
		wantKey string
	}{
		{name: "default-test-key", path: "", wantKey: "test"},
		{name: "two-accounts", path: write("ok.json", `{"credentials":[{"access_key_id":"A","secret_access_key":"s","account_id":"111111111111"},{"access_key_id":"B","secret_access_key":"s","account_id":"222222222222"}]}`), wantKey: "B"},
		{name: "short-account", path: write("short.json", `{"credentials":[{"access_key_id":"A","secret_access_key":"s","account_id":"123"}]}`), wantErr: "12-digit"},
		{name: "duplicate-key", path: write("dup.json", `{"credentials":[{"access_key_id":"A","secret_access_key":"s","account_id":"111111111111"},{"access_key_id":"A","secret_access_key":"t","account_id":"111111111111"}]}`), wantErr: "twice"},
		{name: "empty", path: write("empty.json", `{"credentials":[]}`), wantErr: "no credentials"},
		{name: "not-json", path: write("bad.json", `access_key=A`), wantErr: "parse credentials"},
		{name: "missing-file", path: filepath.Join(dir, "nope.json"), wantErr: "read credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds, err := loadCredentials(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := creds[tt.wantKey]; !ok {
				t.Errorf("key %q missing from %v", tt.wantKey, creds)
			}
		})
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9001": true, "localhost:1": true, "[::1]:9": true, "127.1.2.3:0": true,
		"0.0.0.0:9001": false, ":9001": false, "10.0.0.1:80": false, "example.com:80": false, "garbage": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestRefuseNonLoopbackWithoutCredentials: the built-in test key must never
// be reachable from another machine.
func TestRefuseNonLoopbackWithoutCredentials(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--listen", "0.0.0.0:0", "--data-dir", t.TempDir()}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "refusing to listen") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestVersionCommand(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"version"}, os.Getenv, &stdout, &bytes.Buffer{}); code != 0 || !strings.HasPrefix(stdout.String(), "lambdahost ") {
		t.Errorf("exit %d, stdout %q", code, stdout.String())
	}
}

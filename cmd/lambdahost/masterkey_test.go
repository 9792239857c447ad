package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadMasterKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	key, err := loadMasterKey(path)
	if err != nil || len(key) != 32 {
		t.Fatalf("create: %d bytes, %v", len(key), err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file mode: %v, %v", fi, err)
	}
	again, err := loadMasterKey(path)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("reload gave another key (%v)", err)
	}
	// A damaged key file is an error, never silently replaced.
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadMasterKey(path); err == nil {
		t.Fatal("a 5-byte master key file was accepted")
	}
	if b, _ := os.ReadFile(path); string(b) != "short" {
		t.Fatal("a damaged master key file was overwritten")
	}
}

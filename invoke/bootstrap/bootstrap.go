package bootstrap

import (
	"bytes"
	"context"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Paths inside an execution environment, where Lambda has them.
const (
	// RuntimeMount is where the bootstrap directory is bound.
	RuntimeMount = "/var/runtime"
	// LangMount is where an interpreter's prefix is bound.
	LangMount = "/var/lang"
	// TaskRoot is where the function's code is bound.
	TaskRoot = "/var/task"
	// SDKMount is where Host.SDKDir is bound, inside RuntimeMount.
	SDKMount = RuntimeMount + "/" + sdkMountPoint
)

// sdkMountPoint is the empty directory WriteTo leaves in the bootstrap
// directory for SDKMount: a read-only bind mount cannot grow one.
const sdkMountPoint = "sdk"

// Names of the runtime clients in the bootstrap directory.
const (
	// PythonBootstrap starts the Python runtime client.
	PythonBootstrap = "bootstrap.py"
	// NodeBootstrap is the Node.js runtime client, an ES module.
	NodeBootstrap = "bootstrap.mjs"
)

// pythonModule is the Python runtime client proper, which PythonBootstrap
// imports.
const pythonModule = "lambdahost_runtime.py"

//go:embed runtime
var files embed.FS

// WriteTo writes the runtime clients into dir, creating it if needed, for
// environments to bind at RuntimeMount. The files are made read-only.
//
// WriteTo is idempotent: files that already hold the right content are left
// alone, and others are replaced by renaming, so environments running from
// dir keep a consistent copy while it is updated.
func WriteTo(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, sdkMountPoint), 0o755); err != nil {
		return fmt.Errorf("write bootstraps: %w", err)
	}
	entries, err := fs.ReadDir(files, "runtime")
	if err != nil {
		return fmt.Errorf("write bootstraps: %w", err)
	}
	for _, e := range entries {
		data, err := files.ReadFile("runtime/" + e.Name())
		if err != nil {
			return fmt.Errorf("write bootstraps: %w", err)
		}
		if err := writeFile(filepath.Join(dir, e.Name()), data); err != nil {
			return fmt.Errorf("write bootstraps: %w", err)
		}
	}
	return nil
}

// writeFile puts data at name, read-only, unless it is already there.
func writeFile(name string, data []byte) error {
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, data) {
		fi, err := os.Stat(name)
		if err != nil {
			return err
		}
		if fi.Mode().Perm() == 0o444 {
			return nil
		}
		return os.Chmod(name, 0o444)
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o444)
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Install writes the runtime clients to dir (see WriteTo), sets
// BootstrapDir to dir, and compiles the Python client with each Python
// interpreter of Interpreters, into dir/__pycache__.
//
// Compiling is an optimization: it spares every Python cold start the few
// milliseconds of compiling the client. If it fails for an interpreter,
// Install returns the error, but the clients are installed and usable:
// that interpreter then compiles the client at each start.
func (h *Host) Install(ctx context.Context, dir string) error {
	if err := WriteTo(dir); err != nil {
		return err
	}
	h.BootstrapDir = dir
	// The cache tag of each interpreter's bytecode ("cpython-312").
	tags := map[string]string{}
	for id, interp := range h.Interpreters {
		if pythonRuntimeRE.MatchString(id) {
			tags[interp] = "cpython-" + strings.ReplaceAll(strings.TrimPrefix(id, "python"), ".", "")
		}
	}
	pythons := slices.Sorted(maps.Keys(tags))
	var errs []error
	src := filepath.Join(dir, pythonModule)
	for _, python := range pythons {
		if bytecodeCurrent(src, tags[python]) {
			continue
		}
		// -E -s: no PYTHON* variables or user site of the operator's
		// environment, which could send the bytecode elsewhere.
		cmd := exec.CommandContext(ctx, python, "-E", "-s", "-c",
			"import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)", src)
		if out, err := cmd.CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("compile %s with %s: %w: %s", pythonModule, python, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// bytecodeCurrent reports whether src's bytecode for cache tag is in
// __pycache__ beside it and was compiled from src as it is now: the
// header of a .pyc records the source's modification time and size.
// Install then need not start the interpreter, which takes most of
// lambdahost's start-up.
func bytecodeCurrent(src, tag string) bool {
	fi, err := os.Stat(src)
	if err != nil {
		return false
	}
	name := strings.TrimSuffix(filepath.Base(src), ".py") + "." + tag + ".pyc"
	f, err := os.Open(filepath.Join(filepath.Dir(src), "__pycache__", name))
	if err != nil {
		return false
	}
	defer f.Close()
	var h [16]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return false
	}
	// Bytes 4-8 are flags: 0 means validated by time and size.
	return binary.LittleEndian.Uint32(h[4:8]) == 0 &&
		binary.LittleEndian.Uint32(h[8:12]) == uint32(fi.ModTime().Unix()) &&
		binary.LittleEndian.Uint32(h[12:16]) == uint32(fi.Size())
}

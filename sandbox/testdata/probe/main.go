// Command probe is a static program run inside environments by the sandbox
// tests: it needs nothing from the root file system.
//
//	probe exit            exits 0 at once (the benchmark's command)
//	probe get             sends one GET / to $AWS_LAMBDA_RUNTIME_API and exits
//	probe inspect ADDR    prints what it sees as JSON, with the answer of
//	                      the HTTP server at ADDR
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe exit | probe get | probe inspect ADDR")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "exit":
		return
	case "get":
		if body := get(os.Getenv("AWS_LAMBDA_RUNTIME_API")); strings.HasPrefix(body, "error: ") {
			fmt.Fprintln(os.Stderr, body)
			os.Exit(1)
		}
	case "inspect":
		inspect(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "probe: unknown command", os.Args[1])
		os.Exit(2)
	}
}

func inspect(addr string) {
	out := map[string]any{
		"uid": os.Getuid(),
		"gid": os.Getgid(),
		"pid": os.Getpid(),
	}
	var root []string
	entries, _ := os.ReadDir("/")
	for _, e := range entries {
		root = append(root, e.Name())
	}
	sort.Strings(root)
	out["root"] = root
	out["writeRoot"] = errnoName(os.WriteFile("/probe-write", nil, 0o644))
	out["writeTmp"] = errnoName(os.WriteFile("/tmp/probe-write", nil, 0o644))
	out["api"] = get(addr)
	json.NewEncoder(os.Stdout).Encode(out)
}

// get sends a GET / to addr and returns the response body, or the error.
func get(addr string) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "error: " + err.Error()
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "error: " + err.Error()
		}
		if line == "\r\n" {
			break
		}
	}
	body, _ := io.ReadAll(r)
	return string(body)
}

func errnoName(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &errno):
		return fmt.Sprint(int(errno))
	default:
		return err.Error()
	}
}

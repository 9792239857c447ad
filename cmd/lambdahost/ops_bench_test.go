package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkOps measures backup, restore and check of a data dir holding
// 1,000 functions with 1 GiB of code in all (one zip of about 1 MiB each,
// stored sealed in the blob store):
//
//	go test -run '^$' -bench BenchmarkOps -benchtime 3x ./cmd/lambdahost/
//
// LAMBDAHOST_BENCH_OPS_FUNCTIONS and LAMBDAHOST_BENCH_OPS_BYTES change the
// number of functions and the total code size; LAMBDAHOST_BENCH_OPS_DIR
// the parent of the data dir (default: the test's temporary directory),
// whose file system is what is measured. The data dir is made once, with
// the control plane in-process; each operation then runs as the command
// line runs it. The files are in the page cache when they are read: a
// cold cache adds the disk's read time for 1 GiB.
//
//	backup       hard links, hashing every blob for the manifest
//	backup-copy  copies (--copy), as to another file system
//	check        opens every sealed package and hashes its plaintext
//	restore      hard links, verifying every blob, then check's verification
func BenchmarkOps(b *testing.B) {
	functions := envInt(b, "LAMBDAHOST_BENCH_OPS_FUNCTIONS", 1000)
	total := envInt(b, "LAMBDAHOST_BENCH_OPS_BYTES", 1<<30)
	parent := os.Getenv("LAMBDAHOST_BENCH_OPS_DIR")
	if parent == "" {
		parent = b.TempDir()
	}
	work, err := os.MkdirTemp(parent, "bench-ops-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(work) })
	data := filepath.Join(work, "data")

	start := time.Now()
	o := openDataDir(b, data)
	for i := range functions {
		o.create(b, fmt.Sprintf("fn-%04d", i), total/functions)
	}
	o.close()
	b.Logf("created %d functions with %d bytes of code in %v", functions, total, time.Since(start).Round(time.Millisecond))
	bk := filepath.Join(work, "bk")
	wantRun(b, 0, "backup", "--data-dir", data, "--to", bk, "--include-master-key")

	// fresh returns a path that does not exist, removing the last one.
	n := 0
	fresh := func(b *testing.B, prefix string) string {
		b.StopTimer()
		defer b.StartTimer()
		p := filepath.Join(work, fmt.Sprintf("%s-%d", prefix, n))
		n++
		if err := os.RemoveAll(filepath.Join(work, fmt.Sprintf("%s-%d", prefix, n-2))); err != nil {
			b.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		args func(b *testing.B) []string
	}{
		{"backup", func(b *testing.B) []string {
			return []string{"backup", "--data-dir", data, "--to", fresh(b, "backup"), "--include-master-key"}
		}},
		{"backup-copy", func(b *testing.B) []string {
			return []string{"backup", "--data-dir", data, "--to", fresh(b, "backup-copy"), "--include-master-key", "--copy"}
		}},
		{"check", func(*testing.B) []string { return []string{"check", "--data-dir", data} }},
		{"restore", func(b *testing.B) []string {
			return []string{"restore", "--from", bk, "--data-dir", fresh(b, "restore")}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(total))
			for b.Loop() {
				wantRun(b, 0, c.args(b)...)
			}
		})
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s: want a positive number, got %q", name, v)
	}
	return n
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	fnhttp "github.com/lambdahost/lambdahost/http"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/sigv4"
	"github.com/lambdahost/lambdahost/sqlite"
)

// These benchmarks run the server in-process, wired as cmd/lambdahost
// serve wires it, so that its CPU time can be profiled:
//
//	go test ./bench -run '^$' -bench UpdateFunctionCode -cpuprofile cpu.out
//	go tool pprof -top bench.test cpu.out
//
// Off-CPU time (fsync) does not show in a CPU profile; run the benchmark
// under strace -f -T -e trace=fsync,fdatasync,sync_file_range to see it.

// inProcess is a lambdahost server on an httptest listener.
type inProcess struct {
	addr string
	dir  string
}

func startInProcess(tb testing.TB) *inProcess {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "lambdahost.db"))
	if err != nil {
		tb.Fatal(err)
	}
	blobs, err := disk.NewBlobStore(filepath.Join(dir, "code"))
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := control.New(store, blobs)
	svc.Keys = kms.New(store, bytes.Repeat([]byte{1}, lambdahost.MasterKeySize))
	svc.Logger = logger
	if err := svc.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	verifier := &sigv4.Verifier{Service: "lambda", Lookup: func(key string) (sigv4.Credential, bool) {
		return sigv4.Credential{AccessKey: "test", Secret: "test", Account: "000000000000"}, key == "test"
	}}
	api := fnhttp.NewServer(svc, blobs, verifier)
	api.URLKey = make([]byte, 32)
	rand.Read(api.URLKey)
	api.Logger = logger
	srv := httptest.NewServer(api)
	tb.Cleanup(func() {
		srv.Close()
		svc.Close()
		store.Close()
	})
	return &inProcess{addr: strings.TrimPrefix(srv.URL, "http://"), dir: dir}
}

// BenchmarkUpdateFunctionCode times UpdateFunctionCode over loopback HTTP
// against an in-process server; waiting for Successful is untimed.
func BenchmarkUpdateFunctionCode(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"50KiB", 50 << 10}, {"1MiB", 1 << 20}, {"10MiB", 10 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			s := startInProcess(b)
			c := newClient(s.addr)
			defer c.close()
			tiny, err := makeZip(0, mathrand.NewChaCha8([32]byte{}))
			if err != nil {
				b.Fatal(err)
			}
			if err := createFunction(c, s.addr, "f", tiny); err != nil {
				b.Fatal(err)
			}
			if err := waitSuccessful(c, s.addr, "f", 30*time.Second); err != nil {
				b.Fatal(err)
			}
			get, err := sign(s.addr, http.MethodGet, "/2015-03-31/functions/f", "", emptyBody, "", "lambda")
			if err != nil {
				b.Fatal(err)
			}
			rng := mathrand.NewChaCha8([32]byte{1})
			// A small ring of distinct zips, re-made when it runs out, so
			// that every update stores new content.
			var reqs []rawRequest
			refill := func() {
				reqs = reqs[:0]
				for range 8 {
					z, err := makeZip(size.bytes, rng)
					if err != nil {
						b.Fatal(err)
					}
					r, err := sign(s.addr, http.MethodPut, "/2015-03-31/functions/f/code", "", newBody(updateCodeBody(z)), "application/json", "lambda")
					if err != nil {
						b.Fatal(err)
					}
					reqs = append(reqs, r)
				}
			}
			var out bytes.Buffer
			b.SetBytes(int64(size.bytes))
			i := 0
			for b.Loop() {
				if i%8 == 0 {
					b.StopTimer()
					refill()
					b.StartTimer()
				}
				st, err := c.do(reqs[i%8], &out)
				if err != nil || st != http.StatusOK {
					b.Fatalf("update: %d %v: %s", st, err, trim(out.Bytes()))
				}
				b.StopTimer()
				if _, err := pollSuccessful(c, get, time.Now(), &out); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				i++
			}
		})
	}
}

package sandbox_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox"
)

// BenchmarkLaunch measures cold starts: ns/op runs from Launch to the end
// of the environment, including its clean-up. The metrics split it:
// launch-ms is the median time for Launch to return (the command is then
// executing), api-ms the median time until a static Go program inside has
// made its first Runtime API request, as a Go bootstrap's first /next.
// Launches are 20ms apart, untimed, as cold starts are rarely back to back:
// that leaves the launcher time to start its spare init.
func BenchmarkLaunch(b *testing.B) {
	code := publicDir(b)
	bin, err := os.ReadFile(probeBinary(b))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), bin, 0o755); err != nil {
		b.Fatal(err)
	}
	mounts := []lambdahost.Mount{{Source: code, Target: "/var/task"}}

	launchers := []struct {
		name string
		new  func(testing.TB, sandbox.Options) *sandbox.Launcher
		opts sandbox.Options
	}{
		{"namespaces", mustNamespaces, sandbox.Options{}},
		{"namespaces-no-prestart", mustNamespaces, sandbox.Options{Prestart: -1}},
		{"namespaces-host-network", mustNetwork, sandbox.Options{Network: sandbox.NetworkHost}},
		{"namespaces-host-network-no-prestart", mustNetwork, sandbox.Options{Network: sandbox.NetworkHost, Prestart: -1}},
		{"process", mustProcess, sandbox.Options{}},
	}
	commands := []struct {
		name string
		argv []string
		api  bool
	}{
		{"true", []string{"/bin/true"}, false},
		{"go-static", []string{"/var/task/bootstrap", "exit"}, false},
		{"go-runtime-api", []string{"/var/task/bootstrap", "get"}, true},
	}
	for _, lt := range launchers {
		for _, c := range commands {
			b.Run(lt.name+"/"+c.name, func(b *testing.B) {
				l := lt.new(b, lt.opts)
				var launches, apis []time.Duration
				for range b.N {
					b.StopTimer()
					time.Sleep(20 * time.Millisecond)
					b.StartTimer()
					argv := slices.Clone(c.argv)
					start := time.Now()
					p, err := l.Launch(context.Background(), &lambdahost.LaunchSpec{
						ID:       "bench",
						Mounts:   mounts,
						Argv:     argv,
						Env:      []string{"PATH=/usr/bin:/bin"},
						MemoryMB: 128,
						TmpMB:    64,
					})
					if err != nil {
						b.Fatal(err)
					}
					launches = append(launches, time.Since(start))
					var srv *http.Server
					if c.api {
						got := make(chan time.Duration, 1)
						srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							select {
							case got <- time.Since(start):
							default:
							}
						})}
						go srv.Serve(p.Listener())
						apis = append(apis, <-got)
					}
					<-p.Done()
					if srv != nil {
						srv.Close()
					}
					if exit := p.Exit(); exit.Code != 0 {
						b.Fatalf("Exit=%v", exit)
					}
				}
				b.ReportMetric(median(launches), "launch-ms")
				if c.api {
					b.ReportMetric(median(apis), "api-ms")
				}
			})
		}
	}
}

// mustNetwork is mustNamespaces for a launcher with a network, which needs
// pasta.
func mustNetwork(tb testing.TB, opts sandbox.Options) *sandbox.Launcher {
	tb.Helper()
	mustPasta(tb)
	return mustNamespaces(tb, opts)
}

func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[len(ds)/2].Microseconds()) / 1000
}

package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Invoke targets.
const (
	targetWarmOverhead = time.Millisecond      // warm invoke overhead, p50 and p99
	targetGoCold       = 15 * time.Millisecond // Go cold start round trip, p50 and p99
)

// invokeHeader heads the invoke table: lambdahost against the Runtime
// Interface Emulator; there is no floor.
var invokeHeader = row{"metric", "lambdahost", "RIE", "", "lambdahost / RIE", "target", "pass?"}

// invokeRows turns the invoke test's results into rows.
func invokeRows(res *invokeResult) []row {
	var rows []row
	for _, lang := range res.langs {
		o, r := res.ours[lang], res.rie[lang]
		// dur makes a latency row from a statistic of each side.
		dur := func(metric string, f func(*runSet) []time.Duration, q float64, target time.Duration) row {
			ov := percentile(f(o), q)
			x := row{metric: metric, ours: fmtDur(ov), moto: "—"}
			if r != nil {
				rv := percentile(f(r), q)
				x.moto = fmtDur(rv)
				x.ratio = fmtRatio(float64(ov) / float64(rv))
			}
			if target > 0 {
				x.target = "≤ " + fmtDur(target)
				x.pass = passMark(len(f(o)) > 0 && ov <= target)
			}
			return x
		}
		warmRTT := func(s *runSet) []time.Duration { return s.warm.rtt }
		warmDur := func(s *runSet) []time.Duration { return s.warm.duration }
		warmOver := func(s *runSet) []time.Duration { return s.warm.overhead }
		coldRTT := func(s *runSet) []time.Duration { return s.cold.rtt }
		var coldTarget time.Duration
		if lang == "Go" {
			coldTarget = targetGoCold
		}
		rows = append(rows,
			dur(lang+" warm overhead (round trip − REPORT Duration) p50", warmOver, .5, targetWarmOverhead),
			dur(lang+" warm overhead (round trip − REPORT Duration) p99", warmOver, .99, targetWarmOverhead),
			dur(lang+" warm round trip p50", warmRTT, .5, 0),
			dur(lang+" warm round trip p99", warmRTT, .99, 0),
			row{metric: lang + " warm round trip with LogType Tail p50", ours: fmtDur(percentile(o.warm.tailRTT, .5)), moto: "—"},
			dur(lang+" warm REPORT Duration p50", warmDur, .5, 0),
			dur(lang+" warm REPORT Duration p99", warmDur, .99, 0),
			dur(lang+" cold start round trip p50", coldRTT, .5, coldTarget),
			dur(lang+" cold start round trip p99", coldRTT, .99, coldTarget),
			initRow(lang+" cold REPORT Init Duration p50", o, r, .5),
			initRow(lang+" cold REPORT Init Duration p99", o, r, .99),
			row{metric: lang + " cold start round trip, new function p50", ours: fmtDur(percentile(o.coldNew.rtt, .5)), moto: "—"},
			row{metric: lang + " cold start round trip, new function p99", ours: fmtDur(percentile(o.coldNew.rtt, .99)), moto: "—"},
			row{metric: lang + " cold Init Duration, new function p50", ours: fmtDur(percentile(o.coldNew.init, .5)), moto: "—"},
		)
		for i, t := range o.tput {
			x := row{
				metric: fmt.Sprintf("%s throughput, %d clients (p50 / p99 round trip)", lang, t.conc),
				ours:   fmt.Sprintf("%.0f/s (%s / %s)", t.rate(), fmtDur(percentile(t.lat, .5)), fmtDur(percentile(t.lat, .99))),
				moto:   "—",
			}
			if t.errors > 0 {
				x.ours += fmt.Sprintf(", %d errors", t.errors)
			}
			if r != nil && i < len(r.tput) {
				rt := r.tput[i]
				x.moto = fmt.Sprintf("%.0f/s (%s / %s)", rt.rate(), fmtDur(percentile(rt.lat, .5)), fmtDur(percentile(rt.lat, .99)))
				if rt.errors > 0 {
					x.moto += fmt.Sprintf(", %d failed", rt.errors)
				}
				if rt.crashed != "" {
					x.moto = fmt.Sprintf("crashed after %d", rt.ok)
				} else {
					x.ratio = fmtRatio(t.rate() / rt.rate())
				}
			}
			rows = append(rows, x)
		}
		per := func(m envMem, v int64) int64 {
			if m.envs == 0 {
				return 0
			}
			return v / int64(m.envs)
		}
		memRow := func(metric string, f func(envMem) int64) row {
			x := row{metric: metric, ours: fmtBytes(per(o.mem, f(o.mem))), moto: "—"}
			if r != nil {
				x.moto = fmtBytes(per(r.mem, f(r.mem)))
				x.ratio = fmtRatio(float64(per(o.mem, f(o.mem))) / float64(per(r.mem, f(r.mem))))
			}
			return x
		}
		cg := "—"
		if o.mem.cgOK {
			cg = fmtBytes(per(o.mem, o.mem.cgroup))
		}
		rows = append(rows,
			memRow(fmt.Sprintf("%s memory per warm env: runtime RSS (%d envs)", lang, o.mem.envs), func(m envMem) int64 { return m.runtime.rss }),
			memRow(lang+" memory per warm env: runtime PSS", func(m envMem) int64 { return m.runtime.pss }),
			memRow(lang+" memory per warm env: host (server RSS growth; RIE: its RSS)", func(m envMem) int64 { return m.host }),
			memRow(lang+" memory per warm env: runtime RSS + host", func(m envMem) int64 { return m.runtime.rss + m.host }),
			row{metric: lang + " memory per warm env: memory cgroup usage", ours: cg, moto: "—"},
		)
		if len(o.tmp.mbps) > 0 || o.tmp.errors > 0 {
			rows = append(rows, tmpRows(lang, res.tmpMB, o, r)...)
		}
	}
	if res.pySkip != "" {
		rows = append(rows, row{metric: "Python", ours: "skipped (see notes)"})
	}
	return rows
}

// invokeNotes explains the invoke rows.
func invokeNotes(w io.Writer, cfg *config, res *invokeResult) {
	fmt.Fprintf(w, "- Invoke: a lambdahost of its own (own data dir), environments isolated by: %s. Idle RSS of the server before any invocation: %s. ", res.sandbox, fmtBytes(res.idleRSS))
	fmt.Fprintf(w, "The sandbox also keeps %d spare init(s) started ahead (the server binary re-executed in new namespaces, waiting for its environment; a fixed cost, not per environment, not in the rows): %s RSS, %s PSS.\n", res.spares.procs, fmtBytes(res.spares.rss), fmtBytes(res.spares.pss))
	fmt.Fprintf(w, "  Functions: Go is internal/testfn/gofn (aws-lambda-go, `CGO_ENABLED=0 go build -tags lambda.norpc`, %s), provided.al2023, an echo; Python (%s) is a handler that returns its request ID. MemorySize 128, payload `{}`.\n", fmtBytes(res.gofnSize), pyRuntime)
	fmt.Fprintln(w, "  lambdahost and RIE take turns: test by test, and in blocks of 50 warm pairs and of one cold start, so that load from elsewhere falls on both.")
	fmt.Fprintln(w, "  Client: aws-sdk-go-v2 Lambda Invoke (RequestResponse), keep-alive, loopback, no retries, SigV4 with test/test; the round trip is measured around the SDK call, so it includes signing and the SDK's own work.")
	fmt.Fprintf(w, "- Warm: %d untimed invocations, then %d pairs, one call at a time. The first of each pair is plain (its round trip is the \"round trip\" row); the second asks for the log (`LogType: Tail`), and its REPORT line's Duration is subtracted from its own round trip (the \"overhead\" rows). ", cfg.invokeWarmup, cfg.invokeN)
	fmt.Fprintln(w, "Duration runs from handing the event to the runtime's pending /next to receiving its response, so it counts the Runtime API exchange and aws-lambda-go's decoding and encoding along with the handler (a no-op): overhead ≥ round trip − Duration, and overhead ≤ round trip.")
	fmt.Fprintln(w, "  RIE has no LogType: every call is plain, and its REPORT line (RIE prints it on stdout, Duration from after its init to the response) is found by the request ID the function answers.")
	fmt.Fprintf(w, "- Cold: samples are 50 ms apart (cold starts are rarely back to back; the sandbox restarts its spare init in between). lambdahost: %d samples (after one untimed) of UpdateFunctionConfiguration (a new Environment variable, which gives the function a new environment), polling GetFunctionConfiguration until LastUpdateStatus is Successful, then one timed Invoke with `LogType: Tail` on the warm connection; Init Duration is from its REPORT line (launch → the runtime's first /next). ", cfg.invokeColdN)
	fmt.Fprintln(w, "The code is already unpacked; the previous environment is retired during that invocation. \"New function\" rows: CreateFunction with the same zip (so the code is already unpacked), wait for Active, then the timed Invoke: no environment to retire; each function is deleted afterwards, untimed. RIE: a new aws-lambda-rie per sample, a keep-alive connection opened before the timed first invocation (RIE starts the runtime lazily, at that invocation); Init Duration from its REPORT line.")
	for _, lang := range res.langs {
		o := res.ours[lang]
		fmt.Fprintf(w, "  %s: lambdahost n=%d (errors %d, not cold %d), UpdateFunctionConfiguration → Successful p50 %s; new functions n=%d (errors %d, not cold %d)", lang, len(o.cold.rtt), o.cold.errors, o.cold.notCold, fmtDur(percentile(o.cold.settle, .5)), len(o.coldNew.rtt), o.coldNew.errors, o.coldNew.notCold)
		if r := res.rie[lang]; r != nil {
			fmt.Fprintf(w, "; RIE n=%d (errors %d, not cold %d)", len(r.cold.rtt), r.cold.errors, r.cold.notCold)
		}
		fmt.Fprintf(w, "; warm errors: lambdahost %d", o.warm.errors)
		if r := res.rie[lang]; r != nil {
			fmt.Fprintf(w, ", RIE %d", r.warm.errors)
		}
		fmt.Fprintln(w, ".")
	}
	if o := res.ours["Go"]; o != nil && len(o.tput) > 0 {
		fmt.Fprintf(w, "- Throughput: N goroutines sharing one SDK client each invoke the Go function in a loop for %s; invokes/s counts successful answers. lambdahost first gets N concurrent 200 ms invocations, so N environments are warm. Clients, server and runtimes share the machine's %d CPUs. CPU per successful invocation (server / runtimes / clients):", cfg.invokeDur, runtime.NumCPU())
		r := res.rie["Go"]
		for i, t := range o.tput {
			fmt.Fprintf(w, " N=%d: lambdahost %s (%d envs)", t.conc, cpuPer(t), t.envs)
			if r != nil && i < len(r.tput) {
				if r.tput[i].crashed != "" {
					fmt.Fprint(w, ", RIE crashed")
				} else {
					fmt.Fprintf(w, ", RIE %s", cpuPer(r.tput[i]))
				}
			}
			if t.errors > 0 {
				fmt.Fprintf(w, ", lambdahost errors: %s", fmtCounts(t.statuses))
			}
			fmt.Fprint(w, ";")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "- Memory: lambdahost: %d invocations at once that sleep %d ms (so each gets its own environment) of a function with no environment yet; 0.5 s after they answer, the processes of the new environments are summed (Rss and Pss of /proc/PID/smaps_rollup) and divided by the environments found (children of the server running another executable than the server's, and not before; spare inits run the server's binary); the host row is the server's RSS growth over the test, divided likewise. ", cfg.invokeMemK, memSleepMS)
	fmt.Fprintln(w, "PSS shares pages mapped by several processes (the Go binary's text, libpython) among them; RSS counts them in every one. The cgroup row is the environments' memory cgroups' usage (page cache and /tmp included). The server's RSS growth includes Go GC noise. RIE: a new aws-lambda-rie, one invocation that sleeps as long, 0.5 s idle, then its runtime process (runtime rows) and aws-lambda-rie itself (host row): RIE is the host of one environment.")
	for _, lang := range res.langs {
		o := res.ours[lang]
		fmt.Fprintf(w, "  %s: lambdahost asked for %d environments, found %d (%d processes)", lang, o.mem.asked, o.mem.envs, o.mem.runtime.procs)
		if !o.mem.cgOK && o.mem.cgWhy != "" {
			fmt.Fprintf(w, ", no cgroup figure: %s", o.mem.cgWhy)
		}
		if r := res.rie[lang]; r != nil {
			fmt.Fprintf(w, "; RIE: aws-lambda-rie and %d runtime process(es)", r.mem.runtime.procs)
		}
		fmt.Fprintln(w, ".")
	}
	if o := res.ours["Python"]; o != nil && (len(o.tmp.mbps) > 0 || o.tmp.errors > 0) {
		fmt.Fprintf(w, "- /tmp: the Python function (MemorySize %d, EphemeralStorage %d) writes %d MiB to a new file of /tmp, 1 MiB per write(2), and times the writes and the close (no fsync), then removes the file; one untimed run, then %d timed, one at a time. lambdahost's /tmp is an ext4 file system of its own on a loop device over a sparse file in the data dir, so the page cache fills up to the memory limit and is then written back as the function writes; RIE's runtime writes to the host's /tmp (the bench's file system, with all the host's memory for its page cache). The Max Memory Used row is the range of the timed runs' REPORT lines (page cache of /tmp left out).\n", tmpMemoryMB, tmpStorageMB, res.tmpMB, cfg.invokeTmpN)
	}
	if res.rieSkip != "" {
		fmt.Fprintf(w, "- RIE skipped: %s.\n", res.rieSkip)
	} else {
		fmt.Fprintf(w, "- RIE: %s, installed with `GOFLAGS=-mod=mod go install %s@%s` into a temporary GOBIN, run as `aws-lambda-rie --runtime-interface-emulator-address 127.0.0.1:PORT --runtime-api-address 127.0.0.1:PORT2 BOOTSTRAP` (Python: the interpreter, `-u -s`, lambdahost's Python runtime client and `index.handler`), invoked at POST /2015-03-31/functions/function/invocations with the same SDK client. ", res.rieVer, rieModule, cfg.rieVersion)
		fmt.Fprintln(w, "**RIE is not a like-for-like server**: it has no sandbox (the runtime is a plain child process with the emulator's user, files and network), no authentication (no SigV4 check), no control plane (no function lookup, versions, configuration or code store), one environment that serves one invocation at a time, and no log capture into responses. Its figures are a lower bound for what a Runtime API host costs, not a competitor's.")
		if r := res.rie["Go"]; r != nil {
			for _, t := range r.tput {
				if t.crashed != "" {
					fmt.Fprintf(w, "  RIE with %d concurrent clients: %d invocations answered, then it crashed (%s); the clients then saw %s.\n", t.conc, t.ok, t.crashed, fmtCounts(t.statuses))
				} else if t.errors > 0 {
					fmt.Fprintf(w, "  RIE with %d concurrent clients: %d answered, %d failed (%s).\n", t.conc, t.ok, t.errors, fmtCounts(t.statuses))
				}
			}
		}
	}
	if res.pySkip != "" {
		fmt.Fprintf(w, "- Python skipped: %s.\n", res.pySkip)
	}
	if res.stopErr != nil {
		fmt.Fprintf(w, "- **The invoke lambdahost did not exit cleanly on SIGTERM: %v**\n", res.stopErr)
	} else {
		fmt.Fprintln(w, "- The invoke lambdahost exited cleanly on SIGTERM.")
	}
}

// tmpRows compares the /tmp writes: their rate, and lambdahost's Max
// Memory Used.
func tmpRows(lang string, mb int, o, r *runSet) []row {
	rate := func(s *runSet) string {
		if len(s.tmp.mbps) == 0 {
			return "—"
		}
		v := fmt.Sprintf("%.0f MiB/s", percentileFloat(s.tmp.mbps, .5))
		if s.tmp.errors > 0 {
			v += fmt.Sprintf(", %d errors", s.tmp.errors)
		}
		return v
	}
	x := row{metric: fmt.Sprintf("%s /tmp sequential write of %d MiB, MemorySize %d, /tmp %d MB, p50", lang, mb, tmpMemoryMB, tmpStorageMB), ours: rate(o), moto: "—"}
	if r != nil {
		x.moto = rate(r) + " (host /tmp)"
		if len(o.tmp.mbps) > 0 && len(r.tmp.mbps) > 0 {
			x.ratio = fmtRatio(percentileFloat(o.tmp.mbps, .5) / percentileFloat(r.tmp.mbps, .5))
		}
	}
	mem := "—"
	if len(o.tmp.maxMem) > 0 {
		mem = fmt.Sprintf("%d–%d MB", slices.Min(o.tmp.maxMem), slices.Max(o.tmp.maxMem))
	}
	return []row{x, {metric: lang + " /tmp write: REPORT Max Memory Used", ours: mem, moto: "—"}}
}

// percentileFloat returns the q-quantile of vs (nearest rank).
func percentileFloat(vs []float64, q float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// cpuPer formats the CPU each successful invocation cost: server (or RIE),
// runtimes, clients.
func cpuPer(t tputResult) string {
	if t.ok == 0 || t.crashed != "" {
		return "—"
	}
	n := time.Duration(t.ok)
	return fmtDur(t.cpuSrv/n) + " / " + fmtDur(t.cpuRT/n) + " / " + fmtDur(t.cpuCli/n)
}

// fmtCounts formats counts by kind, sorted: "HTTP 400 ×12".
func fmtCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// initRow compares Init Durations. RIE's is not comparable: it times only
// the dispatch of the init to its runtime's goroutine, not the runtime's
// start, which falls in its Duration-less gap before the invocation.
func initRow(metric string, o, r *runSet, q float64) row {
	x := row{metric: metric, ours: fmtDur(percentile(o.cold.init, q)), moto: "—"}
	if r != nil && len(r.cold.init) > 0 {
		x.moto = fmtDur(percentile(r.cold.init, q)) + " (dispatch only)"
	}
	return x
}

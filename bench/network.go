package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// networkModes are the --function-network modes the network test compares.
var networkModes = []string{"none", "host"}

// networkResult holds, per mode and language, the cold starts and warm
// invocations of the network test.
type networkResult struct {
	langs []string
	cold  map[string]map[string]*coldResult     // mode → language → samples
	warm  map[string]map[string][]time.Duration // mode → language → round trips
	errs  map[string]map[string]int             // mode → language → failed warm invocations
	n     struct{ cold, warm int }
}

// networkTest measures what a function network costs: cold starts and
// warm invocations of the Go and Python functions of the invoke test on two
// lambdahost processes, one with --function-network none and one with
// host, sample by sample in turn, so that both see the same machine.
func networkTest(tmp, moduleDir, bin string, cfg *config) (*networkResult, error) {
	if _, err := exec.LookPath("pasta"); err != nil {
		return nil, fmt.Errorf("the network test needs pasta (apt-get install passt): %w", err)
	}
	dir := filepath.Join(tmp, "network")
	if err := os.MkdirAll(filepath.Join(dir, "gofn"), 0o755); err != nil {
		return nil, err
	}
	logf("network: building internal/testfn/gofn")
	gofn, err := buildGoFunction(moduleDir, filepath.Join(dir, "gofn"))
	if err != nil {
		return nil, err
	}
	gobin, err := os.ReadFile(gofn)
	if err != nil {
		return nil, err
	}
	goZip, err := zipOf(map[string][]byte{"bootstrap": gobin}, 0o755)
	if err != nil {
		return nil, err
	}
	pyZip, err := zipOf(map[string][]byte{"index.py": []byte(pythonHandler)}, 0o644)
	if err != nil {
		return nil, err
	}
	langs := []invokeLang{{name: "Go", runtime: types.RuntimeProvidedal2023, handler: "bootstrap", zip: goZip}}
	if bootstrap.Discover().Interpreters[pyRuntime] != "" {
		langs = append(langs, invokeLang{name: "Python", runtime: pyRuntime, handler: "index.handler", zip: pyZip})
	} else {
		logf("network: Python skipped: no %s interpreter", pyRuntime)
	}

	res := &networkResult{cold: map[string]map[string]*coldResult{}, warm: map[string]map[string][]time.Duration{}, errs: map[string]map[string]int{}}
	res.n.cold, res.n.warm = cfg.invokeColdN, cfg.invokeN
	for _, l := range langs {
		res.langs = append(res.langs, l.name)
	}
	ctx := context.Background()
	eps := map[string]*endpoint{}
	for _, mode := range networkModes {
		d := filepath.Join(dir, mode)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		logf("network: starting lambdahost --function-network %s", mode)
		srv, err := startLambdahost(bin, d, nil, []string{"--sandbox", "namespaces", "--function-network", mode}, nil)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		lc, _ := newLambdaClient(srv.addr, 4)
		eps[mode] = &endpoint{lc: lc}
		res.cold[mode], res.warm[mode], res.errs[mode] = map[string]*coldResult{}, map[string][]time.Duration{}, map[string]int{}
		for _, l := range langs {
			res.cold[mode][l.name] = &coldResult{}
			for _, suffix := range []string{"", "-cold"} {
				fn := "bench-" + strings.ToLower(l.name) + suffix
				if err := createInvokeFunction(ctx, lc, fn, l); err != nil {
					return nil, err
				}
				if err := waitUpdated(ctx, lc, fn, 30*time.Second); err != nil {
					return nil, err
				}
			}
		}
	}

	for _, l := range langs {
		name := "bench-" + strings.ToLower(l.name)
		logf("network: %s cold: %d invocations per mode, in turn", l.name, cfg.invokeColdN)
		for i := range cfg.invokeColdN + 1 { // the first is an untimed warm-up
			for _, mode := range networkModes {
				time.Sleep(coldGap)
				if err := coldOurs(ctx, eps[mode].lc, name+"-cold", i, res.cold[mode][l.name]); err != nil {
					return nil, fmt.Errorf("%s %s cold: %w", mode, l.name, err)
				}
			}
		}
		logf("network: %s warm: %d invocations per mode, in blocks of 50 in turn", l.name, cfg.invokeN)
		for _, mode := range networkModes {
			ep := &endpoint{lc: eps[mode].lc, fn: name}
			for range cfg.invokeWarmup {
				if _, _, err := ep.invoke(ctx, []byte(`{}`), false); err != nil {
					return nil, fmt.Errorf("%s %s warm-up: %w", mode, l.name, err)
				}
			}
		}
		for done := 0; done < cfg.invokeN; done += 50 {
			for _, mode := range networkModes {
				ep := &endpoint{lc: eps[mode].lc, fn: name}
				for range min(50, cfg.invokeN-done) {
					rtt, _, err := ep.invoke(ctx, []byte(`{}`), false)
					if err != nil {
						res.errs[mode][l.name]++
						continue
					}
					res.warm[mode][l.name] = append(res.warm[mode][l.name], rtt)
				}
			}
		}
	}
	return res, nil
}

// networkHeader heads the network test's table.
var networkHeader = row{"metric", "--function-network none", "--function-network host", "", "host − none", "", ""}

// networkRows turns the network test's results into rows.
func networkRows(res *networkResult) []row {
	var rows []row
	diff := func(a, b time.Duration) string {
		d := b - a
		if d < 0 {
			return "−" + fmtDur(-d)
		}
		return "+" + fmtDur(d)
	}
	for _, lang := range res.langs {
		none, host := res.cold["none"][lang], res.cold["host"][lang]
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50", 0.5}, {"p99", 0.99}} {
			a, b := percentile(none.rtt, q.q), percentile(host.rtt, q.q)
			rows = append(rows, row{metric: fmt.Sprintf("cold start round trip %s, %s", q.name, lang), ours: fmtDur(a), moto: fmtDur(b), ratio: diff(a, b)})
		}
		a, b := percentile(none.init, 0.5), percentile(host.init, 0.5)
		rows = append(rows, row{metric: "cold start Init Duration p50, " + lang, ours: fmtDur(a), moto: fmtDur(b), ratio: diff(a, b)})
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50", 0.5}, {"p99", 0.99}} {
			a, b := percentile(res.warm["none"][lang], q.q), percentile(res.warm["host"][lang], q.q)
			rows = append(rows, row{metric: fmt.Sprintf("warm round trip %s, %s", q.name, lang), ours: fmtDur(a), moto: fmtDur(b), ratio: diff(a, b)})
		}
	}
	return rows
}

// networkNotes explains the network test.
func networkNotes(w io.Writer, res *networkResult) {
	fmt.Fprintf(w, "- Network: two lambdahost processes, --sandbox namespaces with --function-network none and host, side by side; "+
		"%d cold starts per runtime and mode (after UpdateFunctionConfiguration, %s apart, taken in turn), and %d warm invocations in blocks of 50 in turn. "+
		"A host-network environment's pasta is started for the sandbox's spare init, 100 ms after it, ahead of the cold start that takes it.\n",
		res.n.cold, coldGap, res.n.warm)
	for _, mode := range networkModes {
		for _, lang := range res.langs {
			c := res.cold[mode][lang]
			if c.errors > 0 || c.notCold > 0 || res.errs[mode][lang] > 0 {
				fmt.Fprintf(w, "- %s %s: %d cold invocations failed, %d were not cold, %d warm invocations failed.\n", mode, lang, c.errors, c.notCold, res.errs[mode][lang])
			}
		}
	}
}

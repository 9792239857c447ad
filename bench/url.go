package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// The URL test: a function URL's round trip against a warm Go function,
// next to a direct Invoke of the same function, and requests per second
// with several clients for each.

// urlResult is the outcome of the URL test.
type urlResult struct {
	urlRTT, invokeRTT []time.Duration
	urlTput, invTput  tputResult
	errors            int
	stopErr           error
}

// urlHeader heads the URL table.
var urlHeader = row{"metric", "function URL", "Invoke", "", "URL / Invoke", "", ""}

// urlTest measures function URLs on a lambdahost of its own (data dir
// under tmp/url) with internal/testfn/gofn, which answers a URL's /string
// with the JSON string "hello" and an Invoke's {} with a small echo.
func urlTest(tmp, moduleDir, bin string, cfg *config) (*urlResult, error) {
	dir := filepath.Join(tmp, "url")
	if err := os.MkdirAll(filepath.Join(dir, "gofn"), 0o755); err != nil {
		return nil, err
	}
	logf("url: building internal/testfn/gofn")
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
	logf("url: starting lambdahost")
	srv, err := startLambdahost(bin, dir, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	res := &urlResult{}
	stopped := false
	defer func() {
		if !stopped {
			srv.stop()
		}
	}()
	ctx := context.Background()
	lc, _ := newLambdaClient(srv.addr, cfg.urlClients)
	const fn = "bench-url"
	if err := createInvokeFunction(ctx, lc, fn, invokeLang{name: "Go", runtime: types.RuntimeProvidedal2023, handler: "bootstrap", zip: goZip}); err != nil {
		return nil, err
	}
	if err := waitUpdated(ctx, lc, fn, 30*time.Second); err != nil {
		return nil, err
	}
	cfgOut, err := lc.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(fn), AuthType: types.FunctionUrlAuthTypeNone})
	if err != nil {
		return nil, fmt.Errorf("create function URL: %w", err)
	}
	if _, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(fn), StatementId: aws.String("public"),
		Action: aws.String("lambda:InvokeFunctionUrl"), Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone}); err != nil {
		return nil, fmt.Errorf("add permission: %w", err)
	}
	// The URL by path on the listener: the bench needs no name resolution.
	id, _, _ := strings.Cut(strings.TrimPrefix(aws.ToString(cfgOut.FunctionUrl), "http://"), ".")
	target := "http://" + srv.addr + "/lambda-url/" + id + "/string"
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConns: 2 * cfg.urlClients, MaxIdleConnsPerHost: 2 * cfg.urlClients, DisableCompression: true}}
	get := func() (time.Duration, error) {
		t0 := time.Now()
		resp, err := hc.Get(target)
		if err != nil {
			return time.Since(t0), err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		rtt := time.Since(t0)
		if err == nil && (resp.StatusCode != 200 || string(b) != "hello") {
			err = fmt.Errorf("URL answered %d %q", resp.StatusCode, trim(b))
		}
		return rtt, err
	}
	ep := &endpoint{lc: lc, fn: fn}

	logf("url: %d warm-up calls each", cfg.invokeWarmup)
	for range cfg.invokeWarmup {
		if _, err := get(); err != nil {
			return nil, err
		}
		if _, _, err := ep.invoke(ctx, []byte(`{}`), false); err != nil {
			return nil, err
		}
	}
	logf("url: %d timed pairs, one call at a time", cfg.urlN)
	for range cfg.urlN {
		rtt, err := get()
		if err != nil {
			res.errors++
		} else {
			res.urlRTT = append(res.urlRTT, rtt)
		}
		rtt, _, err = ep.invoke(ctx, []byte(`{}`), false)
		if err != nil {
			res.errors++
		} else {
			res.invokeRTT = append(res.invokeRTT, rtt)
		}
	}

	c := cfg.urlClients
	logf("url: throughput, %d clients, %s each", c, cfg.invokeDur)
	// c sleeping invocations at once leave c warm environments.
	if _, err := concurrentInvokes(ctx, ep, c, []byte(`{"sleep_ms":200}`)); err != nil {
		return nil, err
	}
	res.urlTput = urlThroughput(get, c, cfg.invokeDur)
	res.invTput = measureThroughput(ctx, ep, c, cfg.invokeDur, srv.cmd.Process.Pid)

	stopped = true
	res.stopErr = srv.stop()
	return res, nil
}

// urlThroughput runs c clients calling get for d and counts the answers.
func urlThroughput(get func() (time.Duration, error), c int, d time.Duration) tputResult {
	res := tputResult{conc: c, statuses: map[string]int{}}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	t0 := time.Now()
	deadline := t0.Add(d)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			ok, failed := 0, 0
			for time.Now().Before(deadline) {
				rtt, err := get()
				if err != nil {
					failed++
					continue
				}
				ok++
				lat = append(lat, rtt)
			}
			mu.Lock()
			res.ok += ok
			res.errors += failed
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(t0)
	return res
}

// urlRows turns the URL test's results into rows.
func urlRows(res *urlResult) []row {
	lat := func(metric string, q float64) row {
		u, i := percentile(res.urlRTT, q), percentile(res.invokeRTT, q)
		return row{metric: metric, ours: fmtDur(u), moto: fmtDur(i), ratio: fmtRatio(float64(u) / float64(i))}
	}
	tput := func(q float64) row {
		return row{metric: fmt.Sprintf("Go warm latency under %d clients p%.0f", res.urlTput.conc, q*100),
			ours: fmtDur(percentile(res.urlTput.lat, q)), moto: fmtDur(percentile(res.invTput.lat, q)),
			ratio: fmtRatio(float64(percentile(res.urlTput.lat, q)) / float64(percentile(res.invTput.lat, q)))}
	}
	return []row{
		lat("Go warm round trip p50", .5),
		lat("Go warm round trip p99", .99),
		{metric: fmt.Sprintf("Go throughput, %d clients", res.urlTput.conc),
			ours: fmt.Sprintf("%.0f/s", res.urlTput.rate()), moto: fmt.Sprintf("%.0f/s", res.invTput.rate()),
			ratio: fmtRatio(res.urlTput.rate() / res.invTput.rate())},
		tput(.5),
		tput(.99),
	}
}

// urlNotes explains the URL table.
func urlNotes(w io.Writer, cfg *config, res *urlResult) {
	fmt.Fprintf(w, "- Function URL: a lambdahost of its own; function internal/testfn/gofn (provided.al2023, MemorySize 128) with a NONE URL that a policy statement opens to everyone. ")
	fmt.Fprintf(w, "The URL is called by path (GET /lambda-url/<id>/string on the listener, answered \"hello\") with net/http, keep-alive, no signing; Invoke with aws-sdk-go-v2 (payload `{}`, SigV4), as in the Invoke table. ")
	fmt.Fprintf(w, "%d warm-up calls of each, then %d pairs one call at a time; throughput: %d clients for %s each, URL first. Errors: %d sequential, %d URL and %d Invoke under load.\n",
		cfg.invokeWarmup, cfg.urlN, cfg.urlClients, cfg.invokeDur, res.errors, res.urlTput.errors, res.invTput.errors)
	fmt.Fprintln(w, "  A URL request is served without a signature to check, but builds the 2.0 event (headers, query, request context) and maps the function's answer to an HTTP response; its lookup of the URL and its policy check are two small read transactions.")
	if res.stopErr != nil {
		fmt.Fprintf(w, "  The URL test's server did not exit cleanly: %v.\n", res.stopErr)
	}
}

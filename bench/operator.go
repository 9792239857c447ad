package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	mrand "math/rand/v2"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/chromedp/chromedp"
)

// The operator test (-operator-only): how long the console's pages take
// with 1,000 functions, how long a save takes to run under lambdahost
// deploy --watch, and what metrics cost on warm invocations and on
// UpdateFunctionCode.

// operatorResult is the outcome of the operator test.
type operatorResult struct {
	functions int
	// pages are the console pages' server times (request to last byte)
	// and, with Chromium, their load times in a browser.
	pages []pageTiming
	// saves are save → the next invocation runs the new code, and
	// successful save → deploy printed Successful, per runtime.
	saves []saveTiming
	// invoke and update are the warm Invoke round trips and the
	// UpdateFunctionCode latencies of a server with metrics off ([0]), one
	// with metrics on ([1]) and another with metrics off ([2]), whose
	// difference from the first is the noise, interleaved.
	invoke, update [3][]time.Duration
	browser        string
}

type pageTiming struct {
	name            string
	bytes           int
	server, browser []time.Duration
}

type saveTiming struct {
	runtime          string
	running, success []time.Duration
}

func operatorTest(tmp, moduleDir, bin string, cfg *config) (*operatorResult, error) {
	res := &operatorResult{}
	if err := consolePages(tmp, bin, cfg, res); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if err := watchSaves(tmp, moduleDir, bin, cfg, res); err != nil {
		return nil, fmt.Errorf("deploy --watch: %w", err)
	}
	if err := metricsOverhead(tmp, moduleDir, bin, cfg, res); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return res, nil
}

// consolePages creates cfg.listFns functions and times the console's pages.
func consolePages(tmp, bin string, cfg *config, res *operatorResult) error {
	dir := filepath.Join(tmp, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	srv, err := startLambdahost(bin, dir, nil, nil, nil)
	if err != nil {
		return err
	}
	defer srv.stop()
	tiny, err := makeZip(0, mrand.NewChaCha8([32]byte{}))
	if err != nil {
		return err
	}
	logf("console: creating %d functions", cfg.listFns)
	if _, err := listTest(srv.addr, &config{listFns: cfg.listFns, createConc: cfg.createConc, listWalks: 0}, tiny); err != nil {
		return err
	}
	res.functions = cfg.listFns
	// A function with history: a few code and configuration changes.
	ctx := context.Background()
	lc, _ := newLambdaClient(srv.addr, 1)
	const fn = "list-0000"
	for i := range 5 {
		z, _ := randomZip(1000, uint64(i+1))
		if _, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fn), ZipFile: z, Publish: true}); err != nil {
			return err
		}
		if err := waitUpdated(ctx, lc, fn, time.Minute); err != nil {
			return err
		}
	}
	base := "http://" + srv.addr + "/_lambdahost/console/"
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.PostForm(base+"signin", url.Values{"access_key": {creds.AccessKeyID}, "secret_key": {creds.SecretAccessKey}, "region": {region}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	pages := []struct{ name, path string }{
		{fmt.Sprintf("functions list (%d functions)", cfg.listFns), "functions"},
		{"one function (5 versions)", "functions/" + fn},
		{"deployment history", "functions/" + fn + "/deployments"},
		{"live row update (fragment)", "functions?fragment=row&name=" + fn},
	}
	n := 20
	for _, p := range pages {
		pt := pageTiming{name: p.name}
		for i := range n + 2 { // two untimed
			t := time.Now()
			resp, err := hc.Get(base + p.path)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			d := time.Since(t)
			if err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %d %v", p.path, resp.StatusCode, err)
			}
			pt.bytes = len(b)
			if i >= 2 {
				pt.server = append(pt.server, d)
			}
		}
		res.pages = append(res.pages, pt)
	}
	return browserLoads(base, n, res)
}

// browserLoads times the console's pages in a headless Chromium (load
// event after navigation), if one is installed.
func browserLoads(base string, n int, res *operatorResult) error {
	path := ""
	for _, p := range []string{"/usr/lib/chromium/chromium", "chromium", "chromium-browser"} {
		if found, err := exec.LookPath(p); err == nil {
			path = found
			break
		}
	}
	if path == "" {
		res.browser = "no Chromium: browser load times not measured"
		return nil
	}
	res.browser = path
	dir, err := os.MkdirTemp("", "lambdahost-bench-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("no-proxy-server", true), chromedp.UserDataDir(dir), chromedp.WindowSize(1366, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}
	step, cancelStep := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelStep()
	if err := chromedp.Do(step,
		chromedp.Navigate(base+"signin"),
		chromedp.SendKeys(`#access_key`, creds.AccessKeyID),
		chromedp.SendKeys(`#secret_key`, creds.SecretAccessKey),
		chromedp.Submit(`#secret_key`),
		chromedp.WaitVisible(`#functions`),
	); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	paths := []string{"functions", "functions/list-0000", "functions/list-0000/deployments"}
	for i, p := range paths {
		for j := range n + 1 {
			if err := chromedp.Do(step, chromedp.Navigate(base+p)); err != nil {
				return err
			}
			ms, err := chromedp.Run(step, chromedp.Poll[float64](`(() => { const e = performance.getEntriesByType("navigation")[0]; return e && e.loadEventEnd > 0 ? e.loadEventEnd : 0; })()`, chromedp.WithPollingInterval(10*time.Millisecond)))
			if err != nil {
				return err
			}
			if j > 0 {
				res.pages[i].browser = append(res.pages[i].browser, time.Duration(ms*float64(time.Millisecond)))
			}
		}
	}
	return nil
}

// watchSaves measures save → running under lambdahost deploy --watch, for
// a Python and a Go function: each save alternates between two versions
// of the code, and the time until an invocation returns the new one is
// recorded.
func watchSaves(tmp, moduleDir, bin string, cfg *config, res *operatorResult) error {
	dir := filepath.Join(tmp, "watch")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	srv, err := startLambdahost(bin, dir, nil, nil, nil)
	if err != nil {
		return err
	}
	defer srv.stop()
	ctx := context.Background()
	lc, _ := newLambdaClient(srv.addr, 1)

	// Two builds of the Go function, which answer {"version": "A"} or "B".
	goBins := map[string][]byte{}
	for _, v := range []string{"A", "B"} {
		out := filepath.Join(dir, "gofn-"+v)
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-ldflags", "-X main.Version="+v, "-o", out, "./internal/testfn/gofn")
		cmd.Dir = moduleDir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build gofn: %v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		goBins[v] = b
	}
	pySource := func(label string) []byte {
		return []byte(fmt.Sprintf("def handler(event, context):\n    return {\"version\": %q}\n", label))
	}
	type side struct {
		name, runtime, handler, file string
		mode                         os.FileMode
		version                      func(i int) (string, []byte)
	}
	sides := []side{
		{"Python 3.12", "python3.12", "index.handler", "index.py", 0o644, func(i int) (string, []byte) {
			l := "p" + strconv.Itoa(i)
			return l, pySource(l)
		}},
		{"Go (provided.al2023)", "provided.al2023", "bootstrap", "bootstrap", 0o755, func(i int) (string, []byte) {
			v := []string{"A", "B"}[i%2]
			return v, goBins[v]
		}},
	}
	n := cfg.operatorSaves
	for _, sd := range sides {
		fn := "watch-" + strings.ToLower(strings.Fields(sd.name)[0])
		src := filepath.Join(dir, fn)
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		first, code := sd.version(0)
		if err := os.WriteFile(filepath.Join(src, sd.file), code, sd.mode); err != nil {
			return err
		}
		z, _ := zipOf(map[string][]byte{sd.file: code}, sd.mode)
		if err := createInvokeFunction(ctx, lc, fn, invokeLang{name: sd.name, runtime: types.Runtime(sd.runtime), handler: sd.handler, zip: z}); err != nil {
			return err
		}
		if err := waitUpdated(ctx, lc, fn, time.Minute); err != nil {
			return err
		}
		st := saveTiming{runtime: sd.name}
		w, err := startWatch(bin, srv.addr, fn, src, filepath.Join(dir, fn+".log"))
		if err != nil {
			return err
		}
		if err := w.next(2 * time.Minute); err != nil {
			w.stop()
			return err
		}
		if v, err := invokeVersion(ctx, lc, fn); err != nil || v != first {
			w.stop()
			return fmt.Errorf("%s runs %q after the first deployment, want %s: %v", fn, v, first, err)
		}
		logf("deploy --watch %s: %d saves", sd.name, n)
		for i := 1; i <= n; i++ {
			want, code := sd.version(i)
			saved := time.Now()
			if err := writeFile(filepath.Join(src, sd.file), code, sd.mode); err != nil {
				w.stop()
				return err
			}
			for {
				v, err := invokeVersion(ctx, lc, fn)
				if err != nil {
					w.stop()
					return err
				}
				if v == want {
					break
				}
				if time.Since(saved) > 2*time.Minute {
					w.stop()
					return fmt.Errorf("%s not running %s two minutes after the save", fn, want)
				}
			}
			st.running = append(st.running, time.Since(saved))
			d, err := w.nextSave(2 * time.Minute)
			if err != nil {
				w.stop()
				return err
			}
			st.success = append(st.success, d)
			time.Sleep(200 * time.Millisecond) // a pause between saves, as an editor's are
		}
		w.stop()
		res.saves = append(res.saves, st)
	}
	return nil
}

// writeFile writes a file as an editor saves one: a new file renamed over
// the old.
func writeFile(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// invokeVersion invokes fn and returns the "version" it answers.
func invokeVersion(ctx context.Context, lc *lambda.Client, fn string) (string, error) {
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte("{}")})
	if err != nil {
		return "", err
	}
	if out.FunctionError != nil {
		return "", fmt.Errorf("%s: %s", aws.ToString(out.FunctionError), out.Payload)
	}
	var r struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(out.Payload, &r); err != nil {
		return "", fmt.Errorf("reply %s: %w", out.Payload, err)
	}
	return r.Version, nil
}

// watch is a running lambdahost deploy --watch.
type watch struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

var reSave = regexp.MustCompile(`save → Successful ([0-9.]+) ms`)

func startWatch(bin, addr, fn, src, logPath string) (*watch, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "deploy", "--function", fn, "--dir", src, "--watch", "--endpoint", "http://"+addr)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_REGION="+region, "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &watch{cmd: cmd, lines: make(chan string, 64), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer logf.Close()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if strings.HasPrefix(sc.Text(), "deployed ") {
				w.lines <- sc.Text()
			}
		}
	}()
	return w, nil
}

// next waits for the next deployment line.
func (w *watch) next(bound time.Duration) error {
	select {
	case <-w.lines:
		return nil
	case <-w.done:
		return errors.New("lambdahost deploy --watch exited")
	case <-time.After(bound):
		return fmt.Errorf("no deployment within %s", bound)
	}
}

// nextSave waits for the next deployment line and returns the save →
// Successful time it printed.
func (w *watch) nextSave(bound time.Duration) (time.Duration, error) {
	select {
	case l := <-w.lines:
		m := reSave.FindStringSubmatch(l)
		if m == nil {
			return 0, fmt.Errorf("no save time in %q", l)
		}
		ms, _ := strconv.ParseFloat(m[1], 64)
		return time.Duration(ms * float64(time.Millisecond)), nil
	case <-w.done:
		return 0, errors.New("lambdahost deploy --watch exited")
	case <-time.After(bound):
		return 0, fmt.Errorf("no deployment within %s", bound)
	}
}

func (w *watch) stop() {
	w.cmd.Process.Signal(os.Interrupt)
	w.cmd.Wait()
}

// metricsOverhead runs three servers, the first and the last with
// --metrics=false, and interleaves warm invocations of a Go function, then
// UpdateFunctionCode calls, between them: the two without metrics tell
// how far two servers differ anyway.
func metricsOverhead(tmp, moduleDir, bin string, cfg *config, res *operatorResult) error {
	gofn, err := buildGoFunction(moduleDir, filepath.Join(tmp, "metrics-gofn"))
	if err != nil {
		return err
	}
	gobin, err := os.ReadFile(gofn)
	if err != nil {
		return err
	}
	goZip, err := zipOf(map[string][]byte{"bootstrap": gobin}, 0o755)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var clients [3]*lambda.Client
	for i, extra := range [][]string{{"--metrics=false"}, nil, {"--metrics=false"}} {
		dir := filepath.Join(tmp, fmt.Sprintf("metrics-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		srv, err := startLambdahost(bin, dir, nil, extra, nil)
		if err != nil {
			return err
		}
		defer srv.stop()
		lc, _ := newLambdaClient(srv.addr, 2)
		clients[i] = lc
		for _, l := range []invokeLang{
			{name: "Go", runtime: types.RuntimeProvidedal2023, handler: "bootstrap", zip: goZip},
		} {
			if err := createInvokeFunction(ctx, lc, "metered", l); err != nil {
				return err
			}
		}
		tiny, _ := randomZip(1000, 99)
		if err := createInvokeFunction(ctx, lc, "updated", invokeLang{name: "Go", runtime: types.RuntimeProvidedal2023, handler: "bootstrap", zip: tiny}); err != nil {
			return err
		}
		for _, fn := range []string{"metered", "updated"} {
			if err := waitUpdated(ctx, lc, fn, time.Minute); err != nil {
				return err
			}
		}
	}
	eps := [3]*endpoint{{lc: clients[0], fn: "metered"}, {lc: clients[1], fn: "metered"}, {lc: clients[2], fn: "metered"}}
	logf("metrics: %d warm invocations per server, interleaved", cfg.invokeN)
	for i := range 3 * cfg.invokeWarmup {
		if _, _, err := eps[i%3].invoke(ctx, []byte("{}"), false); err != nil {
			return err
		}
	}
	for i := range 3 * cfg.invokeN {
		d, _, err := eps[i%3].invoke(ctx, []byte("{}"), false)
		if err != nil {
			return err
		}
		res.invoke[i%3] = append(res.invoke[i%3], d)
	}
	n := cfg.operatorUpdates
	logf("metrics: %d UpdateFunctionCode of 50 KiB per server, interleaved", n)
	var mu sync.Mutex
	for i := range 3 * n {
		z, err := randomZip(50<<10, uint64(1000+i))
		if err != nil {
			return err
		}
		t := time.Now()
		if _, err := clients[i%3].UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("updated"), ZipFile: z}); err != nil {
			return err
		}
		d := time.Since(t)
		mu.Lock()
		res.update[i%3] = append(res.update[i%3], d)
		mu.Unlock()
		if err := waitUpdated(ctx, clients[i%3], "updated", time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// operatorHeader heads the operator table.
var operatorHeader = row{"metric", "p50", "p99", "", "", "", ""}

func operatorRows(res *operatorResult) []row {
	var rows []row
	for _, p := range res.pages {
		rows = append(rows, row{metric: fmt.Sprintf("console: %s, server (%s)", p.name, fmtBytes(int64(p.bytes))), ours: fmtDur(percentile(p.server, 0.5)), moto: fmtDur(percentile(p.server, 0.99))})
		if len(p.browser) > 0 {
			rows = append(rows, row{metric: fmt.Sprintf("console: %s, Chromium load", p.name), ours: fmtDur(percentile(p.browser, 0.5)), moto: fmtDur(percentile(p.browser, 0.99))})
		}
	}
	for _, s := range res.saves {
		rows = append(rows,
			row{metric: fmt.Sprintf("deploy --watch, %s: save → deploy prints Successful", s.runtime), ours: fmtDur(percentile(s.success, 0.5)), moto: fmtDur(percentile(s.success, 0.99))},
			row{metric: fmt.Sprintf("deploy --watch, %s: save → an invocation runs the new code", s.runtime), ours: fmtDur(percentile(s.running, 0.5)), moto: fmtDur(percentile(s.running, 0.99))})
	}
	names := []string{"off", "on", "off (a second server)"}
	for i, name := range names {
		rows = append(rows, row{metric: "warm Invoke round trip, Go, metrics " + name, ours: fmtDur(percentile(res.invoke[i], 0.5)), moto: fmtDur(percentile(res.invoke[i], 0.99))})
	}
	for i, name := range names {
		rows = append(rows, row{metric: "UpdateFunctionCode 50 KiB, metrics " + name, ours: fmtDur(percentile(res.update[i], 0.5)), moto: fmtDur(percentile(res.update[i], 0.99))})
	}
	return rows
}

// operatorNotes says how the figures were taken, and how large the noise
// is: the difference between the two halves of the same server's samples.
func operatorNotes(w io.Writer, cfg *config, res *operatorResult) {
	fmt.Fprintf(w, "- Console: %d functions; 20 timed GETs per page after 2 untimed, signed in with a session cookie (server: request to last byte over loopback). %s.\n", res.functions, res.browser)
	fmt.Fprintf(w, "- deploy --watch: %d saves per runtime (write a new file and rename it over the old, 200 ms apart), the default 100 ms debounce; \"runs the new code\" polls Invoke from the save until the answer is the new version (its cold start included).\n", cfg.operatorSaves)
	for _, m := range []struct {
		name string
		d    [3][]time.Duration
	}{{"warm Invoke", res.invoke}, {"UpdateFunctionCode", res.update}} {
		p50 := func(i int) time.Duration { return percentile(m.d[i], 0.5) }
		noise := p50(2) - p50(0)
		if noise < 0 {
			noise = -noise
		}
		fmt.Fprintf(w, "- Metrics, %s: p50 with metrics − p50 without = %s and %s (against each server without); the two servers without metrics differ by %s; %d samples per server, interleaved.\n",
			m.name, signedDur(p50(1)-p50(0)), signedDur(p50(1)-p50(2)), fmtDur(noise), len(m.d[0]))
	}
	fmt.Fprintln(w, "- What the metrics add per call, in process: go test -run '^$' -bench . ./metrics/")
}

func signedDur(d time.Duration) string {
	if d < 0 {
		return "−" + fmtDur(-d)
	}
	if d == 0 {
		return "0"
	}
	return "+" + fmtDur(d)
}

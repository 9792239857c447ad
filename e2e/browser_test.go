//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath returns the Chromium binary Debian's chromium package
// installs, or "" if there is none.
func chromiumPath() string {
	for _, p := range []string{"/usr/lib/chromium/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile for t and
// returns a context to drive it with chromedp. It skips (or, in CI, fails)
// without Chromium.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		requireTool(t, "chromium is not installed (apt-get install chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // root, in CI
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true), // *.localhost stays on this machine
		chromedp.UserDataDir(t.TempDir()),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now. The first call must not have a deadline (it
	// would end the browser with it); the test's own timeout bounds it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

// browserTimeout bounds one step in the browser.
const browserTimeout = 3 * time.Minute

// run runs chromedp steps with a generous bound.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatal(err)
	}
}

// evaluate runs the JavaScript expression js in the page, awaiting the
// promise it returns, and decodes its value as a T.
func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// poll waits, within bound, until the JavaScript expression js is truthy.
func poll(t *testing.T, ctx context.Context, js string, bound time.Duration) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, bound+time.Minute)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(bound))); err != nil {
		t.Fatalf("wait for %s: %v", js, err)
	}
}

// pageServer serves an empty HTML page: the origin that the browser's
// cross-origin requests come from.
func pageServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><title>lambdahost e2e</title><p>page</p>")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFunctionURLBrowser drives a real headless Chromium against function
// URLs: a navigation with a query string whose cookie comes back on the
// next one, a cross-origin fetch from a page that needs a CORS preflight
// (answered by the URL's CORS configuration) with a JSON and a binary
// body, the same fetch from an origin the URL does not allow, and a
// streamed response read as it arrives.
func TestFunctionURLBrowser(t *testing.T) {
	t.Parallel()
	if chromiumPath() == "" {
		requireTool(t, "chromium is not installed (apt-get install chromium)")
	}
	srv := Start(t)
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	page, other := pageServer(t), pageServer(t)
	u := webFunction(t, d, "browser", "NONE", Params{"Cors": Params{
		"AllowOrigins":  []string{page.URL},
		"AllowMethods":  []string{"GET", "POST"},
		"AllowHeaders":  []string{"content-type", "x-custom"},
		"ExposeHeaders": []string{"x-echo"},
		"MaxAge":        60,
	}})
	ctx := newBrowser(t)

	t.Run("navigate", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(u+"nav/path?x=1&y=two%20words"))
		ev := echoEvent(t, []byte(evaluate[string](t, ctx, `document.body.innerText`)))
		httpCtx := ev["requestContext"].(map[string]any)["http"].(map[string]any)
		if ev["rawPath"] != "/nav/path" || fmt.Sprint(ev["queryStringParameters"]) != "map[x:1 y:two words]" || httpCtx["method"] != "GET" ||
			!strings.Contains(str(httpCtx, "userAgent"), "Chrome") {
			t.Errorf("navigation event %v", ev)
		}
		if _, ok := ev["cookies"]; ok {
			t.Errorf("cookies on the first visit: %v", ev["cookies"])
		}
		// The response set a cookie; the next navigation sends it back.
		run(t, ctx, chromedp.Navigate(u+"again"))
		if ev = echoEvent(t, []byte(evaluate[string](t, ctx, `document.body.innerText`))); fmt.Sprint(ev["cookies"]) != "[served=web]" {
			t.Errorf("cookies on the second visit: %v", ev["cookies"])
		}
	})

	t.Run("cross-origin", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(page.URL))
		got := evaluate[struct {
			Status    int
			Echo      *string
			RequestID *string
			Event     map[string]any
			Binary    map[string]any
		}](t, ctx, `(async () => {
			const r = await fetch(`+jsString(u+"cors?from=page")+`, {method: "POST",
				headers: {"Content-Type": "application/json", "X-Custom": "yes"}, body: JSON.stringify({k: "v"})});
			const event = await r.json();
			const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
			const b = await fetch(`+jsString(u+"upload")+`, {method: "POST", headers: {"Content-Type": "application/octet-stream"}, body: bytes});
			return {status: r.status, echo: r.headers.get("x-echo"), requestID: r.headers.get("x-amzn-requestid"), event, binary: await b.json()};
		})()`)
		if got.Status != 200 || got.Echo == nil || *got.Echo != "1" || got.RequestID != nil {
			t.Errorf("status %d, x-echo %v (exposed), x-amzn-requestid %v (not exposed)", got.Status, got.Echo, got.RequestID)
		}
		headers := got.Event["headers"].(map[string]any)
		if got.Event["body"] != `{"k":"v"}` || headers["origin"] != page.URL || headers["x-custom"] != "yes" ||
			got.Event["requestContext"].(map[string]any)["http"].(map[string]any)["method"] != "POST" {
			t.Errorf("cross-origin event %v", got.Event)
		}
		if body, _ := base64.StdEncoding.DecodeString(str(got.Binary, "body")); got.Binary["isBase64Encoded"] != true || string(body) != "\x00\x01\x02\xfd\xfe\xff" {
			t.Errorf("binary body arrives as %v %v", got.Binary["isBase64Encoded"], got.Binary["body"])
		}

		// An origin the URL does not allow: the browser refuses the answer.
		run(t, ctx, chromedp.Navigate(other.URL))
		refused := evaluate[string](t, ctx, `fetch(`+jsString(u+"cors")+`, {method: "POST", headers: {"X-Custom": "yes"}, body: "x"}).then(() => "allowed", e => "refused: " + e.name)`)
		if refused != "refused: TypeError" {
			t.Errorf("a fetch from another origin was %s", refused)
		}
	})

	t.Run("stream", func(t *testing.T) {
		s := streamingFunction(t, d, "browser-stream")
		d.Call(t, "UpdateFunctionUrlConfig", Params{"FunctionName": "browser-stream", "Cors": Params{"AllowOrigins": []string{"*"}}}).OK(t)
		run(t, ctx, chromedp.Navigate(page.URL))
		evaluate[bool](t, ctx, `(() => {
			window.first = null; window.all = null; window.failed = null;
			(async () => {
				const r = await fetch(`+jsString(s+"stream?gap_ms="+fmt.Sprint(streamGap.Milliseconds()))+`);
				const reader = r.body.getReader(), dec = new TextDecoder();
				let text = "";
				for (;;) {
					const {value, done} = await reader.read();
					if (done) break;
					text += dec.decode(value, {stream: true});
					if (window.first === null && text.length >= 8) window.first = text;
				}
				window.all = text;
			})().catch(e => { window.failed = String(e); });
			return true;
		})()`)
		poll(t, ctx, `window.first !== null || window.failed !== null`, streamTimeout)
		if first := evaluate[string](t, ctx, `String(window.first) + (window.failed ? " failed: " + window.failed : "")`); first != "chunk 0;" {
			t.Fatalf("first part in the browser: %q", first)
		}
		wantBusy(t, d, "browser-stream")
		poll(t, ctx, `window.all !== null || window.failed !== null`, streamGap+streamTimeout)
		if all := evaluate[string](t, ctx, `String(window.all) + (window.failed ? " failed: " + window.failed : "")`); all != "chunk 0;chunk 1;" {
			t.Errorf("streamed in the browser: %q", all)
		}
	})
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

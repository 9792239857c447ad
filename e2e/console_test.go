//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// artifactDir returns where a test saves what it leaves for people to look
// at (screenshots): $LAMBDAHOST_E2E_ARTIFACTS/<test> when that is set
// (CI sets it), else a directory of the test's own, which is removed with
// it.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("LAMBDAHOST_E2E_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// screenshot saves a PNG of the whole page as dir/name.png.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// a11yProblems lists what the page lacks of the accessibility basics: a
// language, one h1 and no skipped heading level, a label for every form
// control, a name for every button and link, and a caption or label for
// every data table.
const a11yProblems = `(() => {
  const out = [];
  if (!document.documentElement.lang) out.push("no lang on <html>");
  const hs = [...document.querySelectorAll("h1,h2,h3,h4,h5,h6")];
  if (hs.filter(h => h.tagName === "H1").length !== 1) out.push("not exactly one h1");
  let prev = 0;
  for (const h of hs) {
    const l = +h.tagName[1];
    if (prev && l > prev + 1) out.push("heading level skipped before: " + h.textContent.trim());
    prev = l;
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]),select,textarea")) {
    if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
      out.push("no label: " + (el.id || el.name));
  }
  for (const el of document.querySelectorAll("button,a[href]")) {
    if (!el.textContent.trim() && !el.getAttribute("aria-label")) out.push("no name: " + el.outerHTML.slice(0, 80));
  }
  for (const t of document.querySelectorAll("table")) {
    if (!t.querySelector("caption") && !t.getAttribute("aria-label")) out.push("table without caption");
  }
  return out;
})()`

// tabStops presses Tab n times from the top of the page and returns the
// id (or text) of each element the focus reaches.
func tabStops(t *testing.T, ctx context.Context, n int) []string {
	t.Helper()
	evaluate[bool](t, ctx, `(document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0), true)`)
	var stops []string
	for range n {
		run(t, ctx, chromedp.KeyEvent(kb.Tab))
		stops = append(stops, evaluate[string](t, ctx, `(() => { const e = document.activeElement; return e ? (e.id || e.textContent.trim()) : ""; })()`))
	}
	return stops
}

// TestConsoleBrowser drives the web console in a real headless Chromium:
// sign in, see a function created through the API appear without a
// reload, invoke it, roll $LATEST back to version 1 and see the state go
// InProgress then Successful, the log and the deployment history, with
// keyboard and label checks on the way. Screenshots of each step are
// saved (see artifactDir).
func TestConsoleBrowser(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	ctx := newBrowser(t)
	shots := artifactDir(t)
	prefix := srv.Endpoint + "/_lambdahost/console/"

	// Sign in with the keyboard: labels name every field.
	run(t, ctx, chromedp.EmulateViewport(1366, 900), chromedp.Navigate(prefix))
	run(t, ctx, chromedp.WaitVisible(`#access_key`))
	if p := evaluate[[]string](t, ctx, a11yProblems); len(p) > 0 {
		t.Errorf("sign-in page: %v", p)
	}
	screenshot(t, ctx, shots, "1-sign-in")
	run(t, ctx,
		chromedp.SendKeys(`#access_key`, "test"),
		chromedp.SendKeys(`#secret_key`, "wrong"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(`div.error`),
	)
	if msg := evaluate[string](t, ctx, `document.querySelector("div.error").textContent`); !strings.Contains(msg, "not valid") {
		t.Errorf("a wrong secret says %q", msg)
	}
	// The form comes back with the key and without the secret.
	if v := evaluate[string](t, ctx, `document.getElementById("access_key").value + "/" + document.getElementById("secret_key").value`); v != "test/" {
		t.Errorf("the refused form came back with %q", v)
	}
	run(t, ctx,
		chromedp.SendKeys(`#secret_key`, "test"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(`#functions`),
	)
	cookieJS := evaluate[string](t, ctx, `document.cookie`)
	if strings.Contains(cookieJS, "lambdahost_console") {
		t.Error("the session cookie is readable from scripts: it must be HttpOnly")
	}
	poll(t, ctx, `document.body.dataset.liveState === "ready"`, 2*time.Minute)

	// A function created through the API appears without a reload.
	sdk := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	const name = "console-fn"
	bg := context.Background()
	if _, err := sdk.CreateFunction(bg, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: "python3.12", Handler: aws.String("index.handler"),
		Role: aws.String(testRole), Publish: true, Timeout: aws.Int32(60),
		Code: &types.FunctionCode{ZipFile: handlerZip(t, "v1")},
	}); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, `!!document.getElementById("fn-`+name+`")`, 2*time.Minute)
	if reloads := evaluate[float64](t, ctx, `performance.getEntriesByType("navigation").length`); reloads != 1 {
		t.Errorf("the page was navigated %v times", reloads)
	}
	screenshot(t, ctx, shots, "2-functions")
	if p := evaluate[[]string](t, ctx, a11yProblems); len(p) > 0 {
		t.Errorf("functions page: %v", p)
	}

	// Version 1 says v1; $LATEST now says v2.
	v1, err := sdk.GetFunctionConfiguration(bg, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.UpdateFunctionCode(bg, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: handlerZip(t, "v2")}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(sdk).Wait(bg, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 2*time.Minute); err != nil {
		t.Fatal(err)
	}

	// The function's page, reached by following its link. The click is
	// the page's own: live updates replace the row as the update settles,
	// and a node the driver looked up first may be gone by its click.
	evaluate[bool](t, ctx, `(document.querySelector("#fn-`+name+` a").click(), true)`)
	run(t, ctx, chromedp.WaitVisible(`#invoke-form`))
	poll(t, ctx, `document.body.dataset.liveState === "ready"`, 2*time.Minute)
	if p := evaluate[[]string](t, ctx, a11yProblems); len(p) > 0 {
		t.Errorf("function page: %v", p)
	}
	// Keyboard: Tab reaches the forms' controls.
	stops := strings.Join(tabStops(t, ctx, 60), " | ")
	for _, want := range []string{"Skip to content", "Sign out", "rollback-version", "rollback-button", "invoke-qualifier", "invoke-payload", "invoke-button"} {
		if !strings.Contains(stops, want) {
			t.Errorf("Tab never reaches %s; it stops at: %s", want, stops)
		}
	}

	// Invoke with a payload, with the keyboard.
	run(t, ctx,
		chromedp.SetValue(`#invoke-payload`, `{"from": "the console"}`),
		chromedp.Focus(`#invoke-button`),
		chromedp.KeyEvent(kb.Enter),
	)
	poll(t, ctx, `document.querySelector("#invoke-result pre.payload") && document.querySelector("#invoke-result pre.payload").textContent.includes("v2")`, 2*time.Minute)
	if log := evaluate[string](t, ctx, `document.querySelector("#invoke-result pre.log").textContent`); !strings.Contains(log, "REPORT RequestId:") {
		t.Errorf("the invocation's log: %q", log)
	}
	screenshot(t, ctx, shots, "3-invoked")

	// Roll $LATEST back to version 1: InProgress, then Successful.
	run(t, ctx, chromedp.SetValue(`#rollback-version`, "1"), chromedp.Click(`#rollback-button`))
	poll(t, ctx, `[...document.querySelectorAll("#activity li")].some(li => li.textContent.includes("rollback to version 1") && li.textContent.includes("InProgress"))`, 2*time.Minute)
	poll(t, ctx, `(() => {
		const items = [...document.querySelectorAll("#activity li")].map(li => li.textContent);
		const i = items.findIndex(s => s.includes("rollback to version 1") && s.includes("InProgress"));
		return i >= 0 && items.slice(i + 1).some(s => s.includes("Successful"));
	})()`, 2*time.Minute)
	poll(t, ctx, `document.getElementById("summary-sha").textContent.trim() === `+fmt.Sprintf("%q", aws.ToString(v1.CodeSha256)), 2*time.Minute)
	screenshot(t, ctx, shots, "4-rolled-back")
	latest, err := sdk.GetFunctionConfiguration(bg, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(latest.CodeSha256) != aws.ToString(v1.CodeSha256) || latest.LastUpdateStatus != "Successful" {
		t.Errorf("after the rollback the API says %s %s, want version 1's code, Successful", aws.ToString(latest.CodeSha256), latest.LastUpdateStatus)
	}

	// The rolled back code runs.
	run(t, ctx, chromedp.Click(`#invoke-button`))
	poll(t, ctx, `document.querySelector("#invoke-result pre.payload").textContent.includes("v1")`, 2*time.Minute)

	// The deployment history says who rolled back, from where.
	run(t, ctx, chromedp.Navigate(prefix+"functions/"+name+"/deployments"), chromedp.WaitVisible(`table`))
	hist := evaluate[string](t, ctx, `document.querySelector("table tbody tr").textContent`)
	for _, want := range []string{"rollback to version 1", "Successful", "test", "lambdahost-console", aws.ToString(v1.CodeSha256)} {
		if !strings.Contains(hist, want) {
			t.Errorf("the newest deployment lacks %q: %s", want, hist)
		}
	}
	if p := evaluate[[]string](t, ctx, a11yProblems); len(p) > 0 {
		t.Errorf("deployments page: %v", p)
	}
	screenshot(t, ctx, shots, "5-deployments")
}

package console_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/console"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/sqlite"
)

// env is a console over a real control plane on SQLite.
type env struct {
	t     *testing.T
	svc   *control.Service
	srv   *httptest.Server
	store *sqlite.Store
	// ctx is account 000000000000's caller in us-east-1.
	ctx context.Context
}

var creds = map[string]console.Credential{
	"AKIDA": {Secret: "secret-a", Account: "111111111111"},
	"AKIDB": {Secret: "secret-b", Account: "222222222222"},
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := disk.NewBlobStore(filepath.Join(dir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	svc := control.New(store, blobs)
	svc.Keys = kms.New(store, bytes.Repeat([]byte{1}, lambdahost.MasterKeySize))
	svc.NodeTTL = time.Hour
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c, err := console.New(svc, []byte("url key of the test"))
	if err != nil {
		t.Fatal(err)
	}
	c.Credentials = func(k string) (console.Credential, bool) { cr, ok := creds[k]; return cr, ok }
	c.Watch = store.Watch
	c.Logger = slog.New(slog.DiscardHandler)
	c.Start()
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, c)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { c.Close(); srv.Close(); svc.Close(); store.Close() })
	ctx := lambdahost.WithCaller(t.Context(), lambdahost.Caller{AccessKey: "AKIDA", Account: "111111111111", Region: "us-east-1"})
	return &env{t: t, svc: svc, srv: srv, store: store, ctx: ctx}
}

// client returns an HTTP client with its own cookies that does not follow
// redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) url(path string) string { return e.srv.URL + console.Prefix + path }

// signIn signs c in as key, with secret, and returns the answer.
func (e *env) signIn(c *http.Client, key, secret string) *http.Response {
	e.t.Helper()
	resp, err := c.PostForm(e.url("signin"), url.Values{"access_key": {key}, "secret_key": {secret}, "region": {"us-east-1"}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var reCSRF = regexp.MustCompile(`data-csrf="([^"]+)"`)

// csrf reads the CSRF token a page of c's session carries.
func (e *env) csrf(c *http.Client) string {
	e.t.Helper()
	_, page := get(e.t, c, e.url("functions"))
	m := reCSRF.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

func zipOf(t *testing.T, content string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("app.py")
	w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (e *env) code(content string) *control.CodeInput {
	w, err := e.svc.StageCode(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	w.Write(zipOf(e.t, content))
	e.t.Cleanup(func() { w.Abort() })
	return &control.CodeInput{Zip: w}
}

func ptr[T any](v T) *T { return &v }

func (e *env) create(name string) {
	e.t.Helper()
	_, err := e.svc.CreateFunction(e.ctx, &control.CreateFunctionInput{
		FunctionName: name, Publish: true,
		Config: control.ConfigInput{Runtime: ptr("python3.12"), Role: ptr("arn:aws:iam::111111111111:role/r"), Handler: ptr("app.handler")},
		Code:   e.code("v1 of " + name),
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name, key, secret string
		want              int
	}{
		{name: "wrong-secret", key: "AKIDA", secret: "nope", want: http.StatusUnauthorized},
		{name: "other-key's-secret", key: "AKIDA", secret: "secret-b", want: http.StatusUnauthorized},
		{name: "unknown-key", key: "AKIDX", secret: "secret-a", want: http.StatusUnauthorized},
		{name: "empty-secret", key: "AKIDA", secret: "", want: http.StatusUnauthorized},
		{name: "right", key: "AKIDA", secret: "secret-a", want: http.StatusSeeOther},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.signIn(e.client(), tt.key, tt.secret)
			if resp.StatusCode != tt.want {
				t.Fatalf("sign-in answered %d, want %d", resp.StatusCode, tt.want)
			}
			cookie := resp.Header.Get("Set-Cookie")
			if tt.want != http.StatusSeeOther {
				if cookie != "" {
					t.Errorf("a refused sign-in set a cookie: %s", cookie)
				}
				return
			}
			for _, want := range []string{"lambdahost_console=", "HttpOnly", "SameSite=Strict", "Path=/_lambdahost/console/"} {
				if !strings.Contains(cookie, want) {
					t.Errorf("cookie %q lacks %s", cookie, want)
				}
			}
			if strings.Contains(cookie, "Secure") {
				t.Errorf("cookie over plain HTTP is Secure: %s", cookie)
			}
		})
	}
	t.Run("secure-behind-tls", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.url("signin"), strings.NewReader("access_key=AKIDA&secret_key=secret-a&region=us-east-1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := e.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if c := resp.Header.Get("Set-Cookie"); !strings.Contains(c, "; Secure") {
			t.Errorf("cookie behind TLS is not Secure: %s", c)
		}
	})
	t.Run("too-many-failures", func(t *testing.T) {
		c := e.client()
		var last int
		for range 12 {
			last = e.signIn(c, "AKIDA", "guess").StatusCode
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("after 12 failures sign-in answers %d, want 429", last)
		}
		// Even the right secret waits.
		if got := e.signIn(c, "AKIDA", "secret-a").StatusCode; got != http.StatusTooManyRequests {
			t.Errorf("the right secret after 12 failures: %d, want 429", got)
		}
	})
}

func TestNeedsSession(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, path := range []string{"functions", "functions/f", "functions/f/deployments", "layers", "code-signing-configs"} {
		resp, err := c.Get(e.url(path))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), console.Prefix+"signin?next=") {
			t.Errorf("%s without a session: %d %s, want a redirect to sign in", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, path := range []string{"events", "functions/f/rollback"} {
		method := "GET"
		if strings.HasSuffix(path, "rollback") {
			method = "POST"
		}
		req, _ := http.NewRequest(method, e.url(path), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %d, want 401", method, path, resp.StatusCode)
		}
	}
	// A cookie whose payload was changed does not verify.
	e.signIn(c, "AKIDA", "secret-a")
	u, _ := url.Parse(e.srv.URL + console.Prefix)
	cookie := c.Jar.Cookies(u)[0]
	payload, mac, _ := strings.Cut(cookie.Value, ".")
	doc, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.Replace(doc, []byte("us-east-1"), []byte("eu-west-1"), 1)
	forged := base64.RawURLEncoding.EncodeToString(doc) + "." + mac
	c.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: forged, Path: console.Prefix}})
	if code, _ := get(t, c, e.url("functions")); code != http.StatusSeeOther {
		t.Errorf("a forged cookie got %d", code)
	}
}

// post sends a console action as the script does.
func (e *env) post(c *http.Client, path, csrf string, form url.Values, header map[string]string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.url(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc
}

func TestRollback(t *testing.T) {
	e := newEnv(t)
	e.create("f")
	v1, err := e.svc.GetFunction(e.ctx, "f", "1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateFunctionCode(e.ctx, &control.UpdateCodeInput{FunctionName: "f", Code: *e.code("v2"), Publish: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAlias(e.ctx, &control.AliasInput{FunctionName: "f", Name: "live", FunctionVersion: ptr("2"), RoutingConfig: &map[string]float64{"1": 0.25}}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "AKIDA", "secret-a")
	token := e.csrf(c)

	for _, tt := range []struct {
		name   string
		path   string
		csrf   string
		form   url.Values
		header map[string]string
		want   int
		errTyp string
	}{
		{name: "no-csrf-token", path: "functions/f/rollback", form: url.Values{"version": {"1"}}, want: http.StatusForbidden},
		{name: "wrong-csrf-token", path: "functions/f/rollback", csrf: "forged", form: url.Values{"version": {"1"}}, want: http.StatusForbidden},
		{name: "other-origin", path: "functions/f/rollback", csrf: token, form: url.Values{"version": {"1"}}, header: map[string]string{"Origin": "http://evil.example"}, want: http.StatusForbidden},
		{name: "no-such-version", path: "functions/f/rollback", csrf: token, form: url.Values{"version": {"9"}}, want: http.StatusNotFound, errTyp: "ResourceNotFoundException"},
		{name: "not-a-version", path: "functions/f/rollback", csrf: token, form: url.Values{"version": {"$LATEST"}}, want: http.StatusBadRequest, errTyp: "ValidationException"},
		{name: "no-such-function", path: "functions/g/rollback", csrf: token, form: url.Values{"version": {"1"}}, want: http.StatusNotFound, errTyp: "ResourceNotFoundException"},
		{name: "alias-no-such-version", path: "functions/f/aliases/live/rollback", csrf: token, form: url.Values{"version": {"7"}}, want: http.StatusNotFound, errTyp: "ResourceNotFoundException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, doc := e.post(c, tt.path, tt.csrf, tt.form, tt.header)
			if code != tt.want {
				t.Fatalf("answered %d %v, want %d", code, doc, tt.want)
			}
			if tt.errTyp != "" {
				if got := doc["error"].(map[string]any)["type"]; got != tt.errTyp {
					t.Errorf("error type %v, want %s", got, tt.errTyp)
				}
			}
		})
	}

	code, doc := e.post(c, "functions/f/rollback", token, url.Values{"version": {"1"}}, nil)
	if code != http.StatusOK || doc["lastUpdateStatus"] != "InProgress" || doc["codeSha256"] != v1.Code.SHA256() {
		t.Fatalf("rollback answered %d %v", code, doc)
	}
	after, err := e.svc.GetFunction(e.ctx, "f", "")
	if err != nil {
		t.Fatal(err)
	}
	if after.Code.Digest != v1.Code.Digest {
		t.Errorf("$LATEST has %s after the rollback, want version 1's %s", after.Code.SHA256(), v1.Code.SHA256())
	}
	hist, err := e.svc.ListDeployments(e.ctx, "f", 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := hist[0]; d.RolledBackTo != "1" || d.AccessKey != "AKIDA" || !strings.HasPrefix(d.UserAgent, "lambdahost-console") || d.SourceIP != "127.0.0.1" {
		t.Errorf("history of the console's rollback: %+v", d)
	}

	code, doc = e.post(c, "functions/f/aliases/live/rollback", token, url.Values{"version": {"1"}}, nil)
	if code != http.StatusOK || doc["functionVersion"] != "1" {
		t.Fatalf("alias rollback answered %d %v", code, doc)
	}
	a, err := e.svc.GetAlias(e.ctx, "f", "live")
	if err != nil {
		t.Fatal(err)
	}
	if a.FunctionVersion != "1" || len(a.AdditionalVersionWeights) != 0 {
		t.Errorf("alias after the rollback: version %s, weights %v", a.FunctionVersion, a.AdditionalVersionWeights)
	}
}

// TestPages renders every page of a function with versions, an alias, a
// policy, a URL, tags and a layer, and keeps accounts apart.
func TestPages(t *testing.T) {
	e := newEnv(t)
	e.create("f")
	for _, name := range []string{"used", "unused"} {
		if _, err := e.svc.PublishLayerVersion(e.ctx, &control.PublishLayerVersionInput{LayerName: name, Content: e.code("layer " + name)}); err != nil {
			t.Fatal(err)
		}
	}
	usedARN := "arn:aws:lambda:us-east-1:111111111111:layer:used:1"
	if _, err := e.svc.UpdateFunctionConfiguration(e.ctx, &control.UpdateConfigInput{FunctionName: "f", Config: control.ConfigInput{Layers: &[]string{usedARN}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAlias(e.ctx, &control.AliasInput{FunctionName: "f", Name: "live", FunctionVersion: ptr("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddPermission(e.ctx, &control.AddPermissionInput{FunctionName: "f", StatementID: ptr("s"), Action: ptr("lambda:InvokeFunction"), Principal: ptr("222222222222")}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.TagResource(e.ctx, "arn:aws:lambda:us-east-1:111111111111:function:f", map[string]string{"team": "ops"}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "AKIDA", "secret-a")
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"functions", []string{`id="fn-f"`, "python3.12", "Active", "Successful"}},
		{"functions?fragment=row&name=f", []string{`<tr id="fn-f"`}},
		{"functions/f", []string{"Versions", "live", "222222222222", "team", "ops", "CreateFunction", `id="rollback-form"`, `<label for="invoke-payload"`, usedARN}},
		{"functions/f?fragment=live", []string{`id="summary"`, "CreateFunction"}},
		{"functions/f/deployments", []string{"CreateFunction", "AKIDA", "published version 1"}},
		{"functions/f/invocations", []string{"keeps no function logs"}},
		{"layers", []string{usedARN, `<a href="/_lambdahost/console/functions/f">f</a>`, "arn:aws:lambda:us-east-1:111111111111:layer:unused:1</th><td>No function"}},
		{"code-signing-configs", []string{"No code signing configs"}},
	} {
		t.Run(tt.path, func(t *testing.T) {
			code, page := get(t, c, e.url(tt.path))
			if code != http.StatusOK {
				t.Fatalf("answered %d:\n%s", code, page)
			}
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %s", w)
				}
			}
		})
	}
	// Account B sees none of A's functions.
	b := e.client()
	e.signIn(b, "AKIDB", "secret-b")
	if _, page := get(t, b, e.url("functions")); strings.Contains(page, `id="fn-f"`) {
		t.Error("account B's console lists account A's function")
	}
	if code, _ := get(t, b, e.url("functions/f")); code != http.StatusNotFound {
		t.Errorf("account B's console shows A's function: %d", code)
	}
}

// TestEvents: an open event stream tells of a function created, updated
// and deleted through the control plane.
func TestEvents(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c, "AKIDA", "secret-a")
	resp, err := c.Get(e.url("events"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %s", ct)
	}
	events := make(chan [2]string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = line[7:]
			case strings.HasPrefix(line, "data: "):
				events <- [2]string{ev, line[6:]}
			}
		}
		close(events)
	}()
	next := func() (string, map[string]any) {
		ev, ok := <-events
		if !ok {
			t.Fatal("the event stream ended")
		}
		var doc map[string]any
		json.Unmarshal([]byte(ev[1]), &doc)
		return ev[0], doc
	}
	if ev, _ := next(); ev != "ready" {
		t.Fatalf("first event %s, want ready", ev)
	}
	e.create("f")
	ev, doc := next()
	if ev != "change" || doc["function"] != "f" || doc["state"] == "" {
		t.Fatalf("after CreateFunction: %s %v", ev, doc)
	}
	// Another account's changes are not told.
	bctx := lambdahost.WithCaller(t.Context(), lambdahost.Caller{AccessKey: "AKIDB", Account: "222222222222", Region: "us-east-1"})
	if _, err := e.svc.CreateFunction(bctx, &control.CreateFunctionInput{FunctionName: "secret", Config: control.ConfigInput{Runtime: ptr("python3.12"), Role: ptr("arn:aws:iam::222222222222:role/r"), Handler: ptr("app.handler")}, Code: e.code("b")}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteFunction(e.ctx, "f", ""); err != nil {
		t.Fatal(err)
	}
	for {
		_, doc = next()
		if doc["function"] == "secret" {
			t.Fatal("the stream told account A of account B's function")
		}
		if doc["deleted"] == true {
			break
		}
	}
	if doc["function"] != "f" {
		t.Errorf("deleted %v", doc)
	}
}

func TestParseInvocations(t *testing.T) {
	at := func(ms int) time.Time { return time.UnixMilli(int64(1_700_000_000_000 + ms)).UTC() }
	lines := []console.LogLine{
		{Stream: "a", Time: at(0), Message: "INIT_START Runtime Version: python:3.12\n"},
		{Stream: "a", Time: at(1), Message: "START RequestId: r1 Version: $LATEST\n"},
		{Stream: "a", Time: at(2), Message: "hello\n"},
		{Stream: "b", Time: at(3), Message: "START RequestId: r2 Version: 3\n"},
		{Stream: "a", Time: at(4), Message: "END RequestId: r1\n"},
		{Stream: "a", Time: at(4), Message: "REPORT RequestId: r1\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\tInit Duration: 80.25 ms\t\n"},
		{Stream: "b", Time: at(5), Message: "2026-01-01T00:00:00.000Z r2 Task timed out after 1.00 seconds\n"},
		{Stream: "b", Time: at(6), Message: "END RequestId: r2\n"},
		{Stream: "b", Time: at(6), Message: "REPORT RequestId: r2\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\tMemory Size: 256 MB\tMax Memory Used: 40 MB\tStatus: timeout\t\n"},
		{Stream: "c", Time: at(7), Message: `{"time":"2026-01-01T00:00:00.007Z","type":"platform.start","record":{"requestId":"r3","version":"$LATEST"}}`},
		{Stream: "c", Time: at(8), Message: `{"timestamp":"2026-01-01T00:00:00.008Z","level":"INFO","message":"json hello"}`},
		{Stream: "c", Time: at(9), Message: `{"time":"2026-01-01T00:00:00.009Z","type":"platform.report","record":{"requestId":"r3","metrics":{"durationMs":2.5,"billedDurationMs":3,"memorySizeMB":128,"maxMemoryUsedMB":20},"status":"error","errorType":"Runtime.ExitError"}}`},
		{Stream: "a", Time: at(10), Message: "START RequestId: r4 Version: $LATEST\n"},
	}
	got := console.ParseInvocations(lines)
	type brief struct {
		ID, Version, Status, ErrorType string
		Cold, Finished                 bool
		Lines                          int
		Duration                       time.Duration
	}
	var out []brief
	for _, i := range got {
		out = append(out, brief{i.RequestID, i.Version, i.Status, i.ErrorType, i.Cold(), i.Finished, len(i.Lines), i.Duration})
	}
	want := []brief{
		{"r4", "$LATEST", "", "", false, false, 1, 0},
		{"r3", "$LATEST", "error", "Runtime.ExitError", false, true, 3, 2500 * time.Microsecond},
		{"r2", "3", "timeout", "", false, true, 4, time.Second},
		{"r1", "$LATEST", "success", "", true, true, 4, 1500 * time.Microsecond},
	}
	if len(out) != len(want) {
		t.Fatalf("got %+v", out)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("invocation %d = %+v, want %+v", i, out[i], want[i])
		}
	}
	if got[3].MaxMemoryMB != 30 || got[3].MemorySizeMB != 128 || got[3].BilledDuration != 2*time.Millisecond || got[3].InitDuration != 80250*time.Microsecond {
		t.Errorf("r1's figures: %+v", got[3])
	}
}

// FuzzParseInvocations: a function writes what it likes to its log,
// platform-looking lines included; parsing never fails and every
// invocation holds lines of the input.
func FuzzParseInvocations(f *testing.F) {
	f.Add("START RequestId: r1 Version: $LATEST\nhello\nEND RequestId: r1\nREPORT RequestId: r1\tDuration: 1.50 ms\tStatus: error\tError Type: x\t")
	f.Add(`{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1e308}}}` + "\nREPORT RequestId: \tDuration: x ms")
	f.Fuzz(func(t *testing.T, log string) {
		var lines []console.LogLine
		for i, l := range strings.Split(log, "\n") {
			lines = append(lines, console.LogLine{Stream: string(rune('a' + i%3)), Time: time.UnixMilli(int64(i)), Message: l})
		}
		n := 0
		for _, inv := range console.ParseInvocations(lines) {
			n += len(inv.Lines)
			if len(inv.Lines) == 0 {
				t.Errorf("invocation %q has no lines", inv.RequestID)
			}
		}
		if n > len(lines) {
			t.Errorf("%d lines in invocations from %d lines", n, len(lines))
		}
	})
}

// FuzzSessionCookie: no cookie value signs anyone in, and none breaks
// the console.
func FuzzSessionCookie(f *testing.F) {
	c, err := console.New(nil, []byte("key"))
	if err != nil {
		f.Fatal(err)
	}
	c.Logger = slog.New(slog.DiscardHandler)
	c.Credentials = func(k string) (console.Credential, bool) { cr, ok := creds[k]; return cr, ok }
	f.Add("eyJrIjoiQUtJREEiLCJyIjoidXMtZWFzdC0xIiwiZSI6OTk5OTk5OTk5OTksIm4iOiJ4In0.AAAA")
	f.Add("..")
	f.Add("e30.")
	f.Fuzz(func(t *testing.T, value string) {
		req := httptest.NewRequest("GET", console.Prefix+"functions", nil)
		req.AddCookie(&http.Cookie{Name: "lambdahost_console", Value: value})
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		if w.Code != http.StatusSeeOther {
			t.Errorf("cookie %q: answered %d, want a redirect to sign in", value, w.Code)
		}
	})
}

// TestFunctionsPaging: the list shows 100 functions a page, and a search
// keeps those whose names contain it.
func TestFunctionsPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 120 {
		e.create(fmt.Sprintf("fn-%03d", i))
	}
	c := e.client()
	e.signIn(c, "AKIDA", "secret-a")
	rows := regexp.MustCompile(`<tr id="fn-([^"]+)"`)
	for _, tt := range []struct {
		query       string
		first, last string
		n           int
		next        bool
	}{
		{"functions", "fn-000", "fn-099", 100, true},
		{"functions?page=2", "fn-100", "fn-119", 20, false},
		{"functions?page=9", "fn-100", "fn-119", 20, false},
		{"functions?q=FN-11", "fn-110", "fn-119", 10, false},
		{"functions?q=nothing", "", "", 0, false},
	} {
		t.Run(tt.query, func(t *testing.T) {
			_, page := get(t, c, e.url(tt.query))
			m := rows.FindAllStringSubmatch(page, -1)
			if len(m) != tt.n {
				t.Fatalf("%d rows, want %d", len(m), tt.n)
			}
			if tt.n > 0 && (m[0][1] != tt.first || m[len(m)-1][1] != tt.last) {
				t.Errorf("rows %s to %s, want %s to %s", m[0][1], m[len(m)-1][1], tt.first, tt.last)
			}
			if got := strings.Contains(page, `rel="next"`); got != tt.next {
				t.Errorf("next page link: %v, want %v", got, tt.next)
			}
		})
	}
}

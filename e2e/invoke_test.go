//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// testFunction is a function under test: a runtime, a handler and the
// code in testdata/functions (or internal/testfn/gofn for Go).
type testFunction struct {
	// name names subtests and, with "." made "-", functions.
	name    string
	runtime string
	handler string
	// lang is "python", "node", "pycaller" (testdata/functions/<lang>),
	// "go" (internal/testfn/gofn) or "gocaller" (internal/testfn/callerfn).
	lang string
	// reports is what the reply's "runtime" member says ("" for Go).
	reports string
}

// The functions under test. They answer {"version": <the marker of the
// deployment>, "request_id", "arn", ...}; see testdata/functions and
// internal/testfn/gofn for the events they take.
var (
	python312Fn     = testFunction{"python3.12", "python3.12", "app.handler", "python", "python3.12"}
	python39Fn      = testFunction{"python3.9", "python3.9", "app.handler", "python", "python3.9"}
	nodeFn          = testFunction{"nodejs20.x", "nodejs20.x", "index.handler", "node", "nodejs20"}
	nodeCallbackFn  = testFunction{"nodejs20.x-callback", "nodejs20.x", "index.callbackHandler", "node", "nodejs20"}
	nodeESMFn       = testFunction{"nodejs20.x-esm", "nodejs20.x", "esm.handler", "node", "nodejs20"}
	goFn            = testFunction{"provided.al2023", "provided.al2023", "bootstrap", "go", ""}
	runtimeFns      = []testFunction{goFn, python312Fn, python39Fn, nodeFn, nodeCallbackFn, nodeESMFn}
	reFunctionChars = regexp.MustCompile(`[^a-zA-Z0-9_-]`)
)

// forDriver returns fns, or only the first of them for the CLI: what the
// CLI adds is how it passes and prints an invocation, which one runtime
// shows, and each of its calls starts a Python process.
func forDriver(d Driver, fns ...testFunction) []testFunction {
	if d.Name() == CLIDriver {
		return fns[:1]
	}
	return fns
}

// forEachRuntime runs fn with every driver for the Python 3.12, Node and Go
// functions (the CLI only the first, see forDriver), in parallel subtests
// named after the runtime.
func forEachRuntime(t *testing.T, srv *Server, fn func(t *testing.T, d Driver, f testFunction)) {
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		for _, f := range forDriver(d, python312Fn, nodeFn, goFn) {
			t.Run(f.name, func(t *testing.T) {
				t.Parallel()
				fn(t, d, f)
			})
		}
	})
}

// fnName is a function name for f and the driver d.
func (f testFunction) fnName(prefix string, d Driver) string {
	return prefix + "-" + d.Name() + "-" + reFunctionChars.ReplaceAllString(f.name, "-")
}

// zip returns f's code whose replies say version. For Python and Node the
// marker is written into the source, so every version is byte-different
// and zipping is instant; for Go it is linked into the binary.
func (f testFunction) zip(t testing.TB, version any) []byte {
	t.Helper()
	switch f.lang {
	case "go":
		return goZip(t, fmt.Sprint(version))
	case "gocaller":
		return goPkgZip(t, "./internal/testfn/callerfn", fmt.Sprint(version))
	}
	return sourceZip(t, f.lang, version)
}

// sourceZip zips testdata/functions/<lang>, with the string
// "__VERSION__" (quotes included) replaced by version as a JSON literal.
func sourceZip(t testing.TB, lang string, version any) []byte {
	t.Helper()
	lit, err := json.Marshal(version)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "functions", lang)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, e.Name(), strings.ReplaceAll(string(b), `"__VERSION__"`, string(lit)))
	}
	return makeZip(t, files...)
}

// goBuilds caches Go test function packages by package and version.
var goBuilds sync.Map // package + " " + version → *goBuild

type goBuild struct {
	once sync.Once
	zip  []byte
	err  error
}

// goZip returns a zip holding internal/testfn/gofn, built with
// aws-lambda-go for provided.al2023 and answering version, as bootstrap.
// Each version is built once per test run.
func goZip(t testing.TB, version string) []byte {
	t.Helper()
	return goPkgZip(t, "./internal/testfn/gofn", version)
}

// goPkgZip is goZip for the Go test function in package pkg.
func goPkgZip(t testing.TB, pkg, version string) []byte {
	t.Helper()
	v, _ := goBuilds.LoadOrStore(pkg+" "+version, &goBuild{})
	b := v.(*goBuild)
	b.once.Do(func() { b.zip, b.err = buildGoFn(pkg, version) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.zip
}

func buildGoFn(pkg, version string) ([]byte, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lambdahost-e2e-gofn-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath",
		"-ldflags", "-s -w -X main.Version="+version, "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the Go test function: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: zipTime}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// createFunction creates function name running f's code at version, with
// extra CreateFunction parameters (Timeout is fnTimeout unless extra sets
// it), and waits until it is Active.
func createFunction(t testing.TB, d Driver, name string, f testFunction, version any, extra Params) *Result {
	t.Helper()
	p := Params{"FunctionName": name, "Runtime": f.runtime, "Role": testRole, "Handler": f.handler,
		"Code": Params{"ZipFile": f.zip(t, version)}, "Timeout": fnTimeout}
	for k, v := range extra {
		p[k] = v
	}
	r := d.Call(t, "CreateFunction", p).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": name})
	return r
}

// invoke invokes name with event (JSON-encoded) and extra Invoke
// parameters (Qualifier, LogType, InvocationType...).
func invoke(t testing.TB, d Driver, name string, event any, extra ...Params) *Result {
	t.Helper()
	payload, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	p := Params{"FunctionName": name, "Payload": payload}
	for _, e := range extra {
		for k, v := range e {
			p[k] = v
		}
	}
	return d.Call(t, "Invoke", p)
}

// wantVersion checks that an invocation succeeded with a reply from the
// deployment marked version and returns the reply.
func wantVersion(t testing.TB, r *Result, version any) map[string]any {
	t.Helper()
	reply := r.Reply(t)
	if got, want := fmt.Sprint(reply["version"]), fmt.Sprint(version); got != want {
		t.Errorf("%s %s: reply from version %q, want %q (reply %s)", r.Driver, r.Op, got, want, r.Payload)
	}
	return reply
}

// errorDoc checks that r is a function error (200, X-Amz-Function-Error:
// Unhandled) and returns its error document.
func errorDoc(t testing.TB, r *Result) map[string]any {
	t.Helper()
	r.OK(t)
	r.WantStatus(t, 200)
	if r.FunctionError != "Unhandled" {
		t.Fatalf("%s %s: FunctionError %q, want Unhandled (payload %s)", r.Driver, r.Op, r.FunctionError, r.Payload)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.Payload, &doc); err != nil {
		t.Fatalf("%s %s: error document is not a JSON object: %v: %q", r.Driver, r.Op, err, r.Payload)
	}
	return doc
}

// wantErrorDoc checks a function error's errorType and errorMessage
// (exactly, or matching the regular expression message if it starts
// with "^").
func wantErrorDoc(t testing.TB, r *Result, errorType, message string) map[string]any {
	t.Helper()
	doc := errorDoc(t, r)
	if got := str(doc, "errorType"); got != errorType {
		t.Errorf("%s %s: errorType %q, want %q (document %s)", r.Driver, r.Op, got, errorType, r.Payload)
	}
	got := str(doc, "errorMessage")
	if strings.HasPrefix(message, "^") {
		if !regexp.MustCompile(message).MatchString(got) {
			t.Errorf("%s %s: errorMessage %q, want a match of %s", r.Driver, r.Op, got, message)
		}
	} else if got != message {
		t.Errorf("%s %s: errorMessage %q, want %q", r.Driver, r.Op, got, message)
	}
	return doc
}

// TestInvokeUpdateCode runs each runtime: create, wait Active, invoke,
// UpdateFunctionCode, wait for function-updated, and the next invocation
// runs the new code.
func TestInvokeUpdateCode(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		for _, f := range runtimeFns {
			t.Run(f.name, func(t *testing.T) {
				t.Parallel()
				name := f.fnName("update", d)
				arn := functionARN("us-east-1", "000000000000", name)
				createFunction(t, d, name, f, "one", nil)
				r := invoke(t, d, name, Params{})
				r.WantStatus(t, 200)
				reply := wantVersion(t, r, "one")
				if r.ExecutedVersion != "$LATEST" {
					t.Errorf("ExecutedVersion %q, want $LATEST", r.ExecutedVersion)
				}
				if got := str(reply, "arn"); got != arn {
					t.Errorf("invoked function ARN %q, want %q", got, arn)
				}
				if str(reply, "request_id") == "" {
					t.Errorf("no request ID in the context: %s", r.Payload)
				}
				if got := str(reply, "runtime"); got != f.reports {
					t.Errorf("runs on %q, want %q", got, f.reports)
				}
				switch f {
				case nodeCallbackFn:
					wantStr(t, &Result{Body: reply}, "style", "callback")
				case nodeESMFn:
					wantStr(t, &Result{Body: reply}, "module", "esm")
				}

				d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": f.zip(t, "two")}).OK(t)
				mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})
				wantVersion(t, invoke(t, d, name, Params{}), "two")
			})
		}
	})
}

// TestInvokeFunctionErrors checks the error documents of failing handlers
// and of runtimes that cannot load their handler: 200 with
// X-Amz-Function-Error: Unhandled and each runtime's own document.
func TestInvokeFunctionErrors(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		t.Run("python", func(t *testing.T) {
			t.Parallel()
			name := python312Fn.fnName("errors", d)
			createFunction(t, d, name, python312Fn, "py", nil)
			doc := wantErrorDoc(t, invoke(t, d, name, Params{"fail": "boom"}), "ValueError", "boom")
			trace, _ := doc["stackTrace"].([]any)
			if len(trace) == 0 || !strings.Contains(fmt.Sprint(trace...), "app.py") {
				t.Errorf("stackTrace %v, want frames of app.py", doc["stackTrace"])
			}
			if _, ok := doc["requestId"]; !ok {
				t.Errorf("no requestId in %s", doc)
			}
			// The process exiting is the runtime's failure, and the next
			// invocation gets a new environment.
			wantErrorDoc(t, invoke(t, d, name, Params{"exit": 3}), "Runtime.ExitError",
				`^RequestId: \S+ Error: Runtime exited with error: exit status 3$`)
			wantVersion(t, invoke(t, d, name, Params{}), "py")
		})
		t.Run("node", func(t *testing.T) {
			t.Parallel()
			for _, f := range forDriver(d, nodeFn, nodeCallbackFn) {
				name := f.fnName("errors", d)
				createFunction(t, d, name, f, "js", nil)
				doc := wantErrorDoc(t, invoke(t, d, name, Params{"fail": "boom"}), "TypeError", "boom")
				trace, _ := doc["trace"].([]any)
				if len(trace) == 0 || trace[0] != "TypeError: boom" {
					t.Errorf("%s: trace %v, want it to start with \"TypeError: boom\"", f.name, doc["trace"])
				}
				if _, ok := doc["stackTrace"]; ok {
					t.Errorf("%s: Node's error document has stackTrace, want trace: %s", f.name, doc)
				}
				wantVersion(t, invoke(t, d, name, Params{}), "js")
			}
		})
		t.Run("go", func(t *testing.T) {
			t.Parallel()
			name := goFn.fnName("errors", d)
			createFunction(t, d, name, goFn, "go", nil)
			wantErrorDoc(t, invoke(t, d, name, Params{"fail": "boom"}), "errorString", "boom")
			wantErrorDoc(t, invoke(t, d, name, Params{"exit": 2}), "Runtime.ExitError",
				`^RequestId: \S+ Error: Runtime exited with error: exit status 2$`)
			wantVersion(t, invoke(t, d, name, Params{}), "go")
		})
		t.Run("init", func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name, handler string
				f             testFunction
				errorType     string
				message       string
			}{
				{"python-no-module", "missing.handler", python312Fn, "Runtime.ImportModuleError", "Unable to import module 'missing': No module named 'missing'"},
				{"python-no-handler", "app.nothere", python312Fn, "Runtime.HandlerNotFound", "Handler 'nothere' missing on module 'app'"},
				{"node-no-module", "missing.handler", nodeFn, "Runtime.ImportModuleError", `^Error: Cannot find module 'missing'`},
				{"node-no-handler", "index.nothere", nodeFn, "Runtime.HandlerNotFound", "index.nothere is undefined or not exported"},
			}
			for _, tt := range tests {
				name := "init-" + d.Name() + "-" + tt.name
				f := tt.f
				f.handler = tt.handler
				createFunction(t, d, name, f, "init", nil)
				wantErrorDoc(t, invoke(t, d, name, Params{}), tt.errorType, tt.message)
				if d.Name() != CLIDriver {
					// Every invocation tries again, and fails again.
					wantErrorDoc(t, invoke(t, d, name, Params{}), tt.errorType, tt.message)
				}
			}
		})
	})
}

// timeoutSeconds is the Timeout of TestInvokeTimeout's function: the
// handler prints before it sleeps, and the log of the timed-out invocation
// must hold that line, so the handler gets ample time to print it.
const timeoutSeconds = 10

// reTimedOut is the error message of an invocation that timed out after
// timeoutSeconds.
const reTimedOut = `^RequestId: \S+ Error: Task timed out after 10\.00 seconds$`

// TestInvokeTimeout runs a handler past its Timeout: the invocation ends
// at the deadline with Sandbox.Timedout, and the function works again.
// The handler would sleep for five minutes: only the timeout can end the
// invocation within waitTimeout.
func TestInvokeTimeout(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachRuntime(t, srv, func(t *testing.T, d Driver, f testFunction) {
		name := f.fnName("timeout", d)
		createFunction(t, d, name, f, "slow", Params{"Timeout": timeoutSeconds})
		begin := time.Now()
		r := invoke(t, d, name, Params{"sleep_ms": 300000, "print": "going to sleep"}, Params{"LogType": "Tail"})
		took := time.Since(begin)
		wantErrorDoc(t, r, "Sandbox.Timedout", reTimedOut)
		if took > waitTimeout {
			t.Errorf("the timed-out invocation took %v: it waited for the handler", took)
		}
		if !strings.Contains(r.Log, "going to sleep") || !strings.Contains(r.Log, fmt.Sprintf("Task timed out after %d.00 seconds", timeoutSeconds)) {
			t.Errorf("log of the timed-out invocation:\n%s", r.Log)
		}
		// The function works again, with a Timeout that a loaded machine
		// cannot hit.
		d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": name, "Timeout": fnTimeout}).OK(t)
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})
		wantVersion(t, invoke(t, d, name, Params{"sleep_ms": 10}), "slow")
	})
}

// TestInvokeOutOfMemory allocates 400 MB in a function of 128 MB: the
// invocation fails with Runtime.OutOfMemory, and the next one works.
func TestInvokeOutOfMemory(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, sdkDrivers, func(t *testing.T, d Driver) {
		for _, f := range []testFunction{python312Fn, nodeFn, goFn} {
			t.Run(f.name, func(t *testing.T) {
				t.Parallel()
				name := f.fnName("oom", d)
				createFunction(t, d, name, f, "small", Params{"MemorySize": 128})
				wantErrorDoc(t, invoke(t, d, name, Params{"allocate_mb": 400}), "Runtime.OutOfMemory",
					`^RequestId: \S+ Error: Runtime exited with error: `)
				wantVersion(t, invoke(t, d, name, Params{"allocate_mb": 8}), "small")
			})
		}
	})
}

// TestInvokeLogTail checks the log of LogType Tail: the START, END and
// REPORT lines of the invocation around what the function printed.
func TestInvokeLogTail(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachRuntime(t, srv, func(t *testing.T, d Driver, f testFunction) {
		name := f.fnName("tail", d)
		createFunction(t, d, name, f, "logs", nil)
		line := "printed by " + name
		r := invoke(t, d, name, Params{"print": line}, Params{"LogType": "Tail"})
		id := str(wantVersion(t, r, "logs"), "request_id")
		wantLog(t, r, id, "$LATEST", line)
		if r := invoke(t, d, name, Params{"print": line}); r.Log != "" {
			t.Errorf("without LogType Tail, the log is %q, want none", r.Log)
		}
	})
}

// wantLog checks that the log of r holds, in order, the START line of
// request id and version, line, and the END and REPORT lines.
func wantLog(t testing.TB, r *Result, id, version, line string) {
	t.Helper()
	want := []string{
		"START RequestId: " + id + " Version: " + version,
		line,
		"END RequestId: " + id,
		"REPORT RequestId: " + id + "\tDuration: ",
	}
	rest := r.Log
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s %s: log lacks %q (in order); log:\n%s", r.Driver, r.Op, w, r.Log)
			return
		}
		rest = rest[i+len(w):]
	}
}

// TestInvokeVersionsAndAliases invokes published versions, $LATEST and
// aliases, including one that routes half of the invocations to another
// version.
func TestInvokeVersionsAndAliases(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "versions-" + d.Name()
		arn := functionARN("us-east-1", "000000000000", name)
		createFunction(t, d, name, python312Fn, "v1", nil)
		wantStr(t, d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t), "Version", "1")
		mustUpdateCode(t, d, name, python312Fn.zip(t, "v2"))

		tests := []struct {
			name, fn, qualifier, version, executed, arn string
		}{
			{"unqualified", name, "", "v2", "$LATEST", arn},
			{"latest", name, "$LATEST", "v2", "$LATEST", arn + ":$LATEST"},
			{"version", name, "1", "v1", "1", arn + ":1"},
			{"version-in-name", name + ":1", "", "v1", "1", arn + ":1"},
		}
		for _, tt := range tests {
			extra := Params{"LogType": "Tail"}
			if tt.qualifier != "" {
				extra["Qualifier"] = tt.qualifier
			}
			r := invoke(t, d, tt.fn, Params{"print": tt.name}, extra)
			reply := wantVersion(t, r, tt.version)
			if r.ExecutedVersion != tt.executed {
				t.Errorf("%s: ExecutedVersion %q, want %q", tt.name, r.ExecutedVersion, tt.executed)
			}
			if got := str(reply, "arn"); got != tt.arn {
				t.Errorf("%s: invoked function ARN %q, want %q", tt.name, got, tt.arn)
			}
			wantLog(t, r, str(reply, "request_id"), tt.executed, tt.name)
		}

		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "1"}).OK(t)
		r := invoke(t, d, name, Params{}, Params{"Qualifier": "live"})
		if reply := wantVersion(t, r, "v1"); str(reply, "arn") != arn+":live" {
			t.Errorf("alias: invoked function ARN %q, want %q", str(reply, "arn"), arn+":live")
		}
		if r.ExecutedVersion != "1" {
			t.Errorf("alias: ExecutedVersion %q, want 1", r.ExecutedVersion)
		}

		// Half of the alias's invocations run version 2. The CLI would
		// take a minute for enough of them.
		if d.Name() == CLIDriver {
			return
		}
		wantStr(t, d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t), "Version", "2")
		d.Call(t, "UpdateAlias", Params{"FunctionName": name, "Name": "live",
			"RoutingConfig": Params{"AdditionalVersionWeights": Params{"2": 0.5}}}).OK(t)
		const n = 40
		counts := map[string]int{}
		for range n {
			r := invoke(t, d, name+":live", Params{})
			reply := r.Reply(t)
			counts[r.ExecutedVersion]++
			if want := "v" + r.ExecutedVersion; reply["version"] != want {
				t.Errorf("weighted alias: ExecutedVersion %s ran %v, want %s", r.ExecutedVersion, reply["version"], want)
			}
		}
		// Binomial(40, 0.5) falls outside [8, 32] with probability 2e-5.
		if counts["1"]+counts["2"] != n || counts["1"] < 8 || counts["2"] < 8 {
			t.Errorf("weighted alias: executed versions %v over %d invocations, want about half each of 1 and 2", counts, n)
		}
	})
}

// TestInvokeAsync checks Event invocations: 202 at once, the function
// runs, and a failing one runs three times in all. The function has one
// environment (reserved concurrency 1), in whose /tmp the runs leave
// their marks for a synchronous invocation to read.
func TestInvokeAsync(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithArgs("--async-retry-delays", "200ms,200ms"))
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := python312Fn.fnName("async", d)
		createFunction(t, d, name, python312Fn, "async", nil)
		d.Call(t, "PutFunctionConcurrency", Params{"FunctionName": name, "ReservedConcurrentExecutions": 1}).OK(t)

		r := invoke(t, d, name, Params{"append": Params{"path": "/tmp/ran", "line": "ok"}}, Params{"InvocationType": "Event"}).OK(t)
		r.WantStatus(t, 202)
		if len(r.Payload) != 0 || r.FunctionError != "" {
			t.Errorf("Event invocation answered FunctionError %q, payload %q; want none", r.FunctionError, r.Payload)
		}
		waitRead(t, d, name, "/tmp/ran", "ok\n", waitTimeout)

		invoke(t, d, name, Params{"append": Params{"path": "/tmp/failed", "line": "try"}, "fail": "async boom"},
			Params{"InvocationType": "Event"}).OK(t).WantStatus(t, 202)
		waitRead(t, d, name, "/tmp/failed", "try\ntry\ntry\n", waitTimeout)
		// No fourth run: the two retries are all.
		time.Sleep(2 * time.Second)
		if got := readTmp(t, d, name, "/tmp/failed"); got != "try\ntry\ntry\n" {
			t.Errorf("a failing Event invocation ran %d times, want 3", strings.Count(got, "try"))
		}
	})
}

// readTmp reads a file in the function's environment with a synchronous
// invocation, retrying while it is throttled by an asynchronous one.
func readTmp(t testing.TB, d Driver, name, path string) string {
	t.Helper()
	for {
		r := invoke(t, d, name, Params{"read": path})
		if r.Code == "TooManyRequestsException" {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		read, _ := r.Reply(t)["read"].(string)
		return read
	}
}

// waitRead waits until the function's file path holds want.
func waitRead(t testing.TB, d Driver, name, path, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := readTmp(t, d, name, path)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q after %v, want %q", path, got, timeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestInvokeAPIErrors checks the invocations that never reach a function:
// DryRun, a Pending function, unknown functions and qualifiers, payloads
// that are not JSON or too large, and a function throttled to zero.
func TestInvokeAPIErrors(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	reg := newStallingRegistry(t)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := python312Fn.fnName("apierr", d)
		arn := functionARN("us-east-1", "000000000000", name)
		createFunction(t, d, name, python312Fn, "api", nil)

		dry := invoke(t, d, name, Params{"append": Params{"path": "/tmp/dry", "line": "ran"}}, Params{"InvocationType": "DryRun"}).OK(t)
		dry.WantStatus(t, 204)
		if len(dry.Payload) != 0 {
			t.Errorf("DryRun answered a payload: %q", dry.Payload)
		}
		if got := readTmp(t, d, name, "/tmp/dry"); got != "" {
			t.Errorf("DryRun ran the function: /tmp/dry holds %q", got)
		}
		invoke(t, d, "nope-"+d.Name(), Params{}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+functionARN("us-east-1", "000000000000", "nope-"+d.Name())+":$LATEST")
		invoke(t, d, name, Params{}, Params{"Qualifier": "7"}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arn+":7")
		invoke(t, d, name, Params{}, Params{"Qualifier": "nosuchalias"}).
			WantError(t, 404, "ResourceNotFoundException", "Function not found: "+arn+":nosuchalias")

		bad := d.Call(t, "Invoke", Params{"FunctionName": name, "Payload": []byte("not json")})
		bad.WantError(t, 400, "InvalidRequestContentException", "")
		if !strings.HasPrefix(bad.Message, "Could not parse request body into json") {
			t.Errorf("payload not JSON: message %q", bad.Message)
		}
		big := append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 6<<20)...), `"}`...)
		d.Call(t, "Invoke", Params{"FunctionName": name, "Payload": big}).
			WantError(t, 413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")

		// A Pending function: an image whose layers the registry holds back.
		pending := "pending-" + d.Name()
		d.Call(t, "CreateFunction", Params{"FunctionName": pending, "Role": testRole, "PackageType": "Image",
			"Code": Params{"ImageUri": reg.image(t, "pending-"+d.Name())}}).OK(t)
		invoke(t, d, pending, Params{}).WantError(t, 409, "ResourceConflictException",
			"The operation cannot be performed at this time. The function is currently in the following state: Pending")

		d.Call(t, "PutFunctionConcurrency", Params{"FunctionName": name, "ReservedConcurrentExecutions": 0}).OK(t)
		throttled := invoke(t, d, name, Params{})
		throttled.WantError(t, 429, "TooManyRequestsException", "Rate Exceeded.")
		if d.Name() != CLIDriver && throttled.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
			t.Errorf("throttled: Reason %q, want ReservedFunctionConcurrentInvocationLimitExceeded", throttled.Reason)
		}
		d.Call(t, "DeleteFunctionConcurrency", Params{"FunctionName": name}).OK(t)
		wantVersion(t, invoke(t, d, name, Params{}), "api")
	})
}

// stallingRegistry is an in-memory OCI registry that serves manifests and
// configs but holds back the layers of the images it pushed until the test
// ends, so that functions of those images stay Pending.
type stallingRegistry struct {
	host   string
	mu     sync.Mutex
	layers map[string]bool // "sha256:..." of the layers held back
}

func newStallingRegistry(t *testing.T) *stallingRegistry {
	t.Helper()
	s := &stallingRegistry{layers: map[string]bool{}}
	release := make(chan struct{})
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			s.mu.Lock()
			stall := s.layers[path.Base(r.URL.Path)]
			s.mu.Unlock()
			if stall {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				http.Error(w, "gone", http.StatusNotFound)
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	s.host = strings.TrimPrefix(srv.URL, "http://")
	return s
}

// image pushes a small image to repo and returns its URI.
func (s *stallingRegistry) image(t *testing.T, repo string) string {
	t.Helper()
	uri := s.host + "/" + repo + ":latest"
	img, err := random.Image(2048, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = lambdaImage(t, img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		s.layers[d.String()] = true
	}
	s.mu.Unlock()
	push(t, uri, img)
	return uri
}

// TestInvokeEnvironment checks what a function sees of its configuration:
// its Environment, the variables Lambda reserves, its context, and a
// changed Environment after UpdateFunctionConfiguration.
func TestInvokeEnvironment(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachRuntime(t, srv, func(t *testing.T, d Driver, f testFunction) {
		name := f.fnName("env", d)
		arn := functionARN("us-east-1", "000000000000", name)
		createFunction(t, d, name, f, "env", Params{"MemorySize": 256, "Timeout": 600,
			"Environment": Params{"Variables": Params{"GREETING": "hello"}}})
		want := map[string]any{
			"GREETING":                        "hello",
			"AWS_LAMBDA_FUNCTION_NAME":        name,
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
			"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
			"AWS_REGION":                      "us-east-1",
			"AWS_DEFAULT_REGION":              "us-east-1",
			"_HANDLER":                        f.handler,
			"LAMBDA_TASK_ROOT":                "/var/task",
		}
		if f.lang != "go" {
			want["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + f.runtime
		}
		if f.lang == "go" {
			// The Go function reports one variable per invocation.
			for k, v := range want {
				r := invoke(t, d, name, Params{"env": k})
				if got := wantVersion(t, r, "env")["env"]; got != v {
					t.Errorf("%s=%q, want %q", k, got, v)
				}
			}
			deadline := int64(wantVersion(t, invoke(t, d, name, Params{}), "env")["deadline_ms"].(float64))
			// Ten minutes ahead, less the time the invocation took
			// (at most waitTimeout).
			if left := time.Until(time.UnixMilli(deadline)); left <= 10*time.Minute-waitTimeout || left > 10*time.Minute {
				t.Errorf("deadline in %v, want about the Timeout of 10 minutes", left)
			}
		} else {
			var names []string
			for k := range want {
				names = append(names, k)
			}
			reply := wantVersion(t, invoke(t, d, name, Params{"envs": names}), "env")
			if diff := cmp.Diff(want, reply["envs"]); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
			ctx, _ := reply["context"].(map[string]any)
			wantCtx := map[string]any{"function_name": name, "function_version": "$LATEST", "memory_limit_in_mb": "256",
				"log_group_name": "/aws/lambda/" + name}
			for k, v := range wantCtx {
				if ctx[k] != v {
					t.Errorf("context %s=%v, want %v", k, ctx[k], v)
				}
			}
			if ms, _ := ctx["remaining_ms"].(float64); ms <= float64((10*time.Minute-waitTimeout).Milliseconds()) || ms > 600000 {
				t.Errorf("context remaining time %vms, want about the Timeout of 600000ms", ctx["remaining_ms"])
			}
			if str(reply, "arn") != arn {
				t.Errorf("context invoked function ARN %q, want %q", str(reply, "arn"), arn)
			}
		}

		d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": name,
			"Environment": Params{"Variables": Params{"GREETING": "goodbye"}}}).OK(t)
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})
		if got := wantVersion(t, invoke(t, d, name, Params{"env": "GREETING"}), "env")["env"]; got != "goodbye" {
			t.Errorf("after UpdateFunctionConfiguration, GREETING=%q, want goodbye", got)
		}
	})
}

// TestInvokeWithResponseStream invokes through InvokeWithResponseStream:
// the response arrives in chunks, a failure in the InvokeComplete event,
// with the log when asked.
func TestInvokeWithResponseStream(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	forEachDriver(t, srv, sdkDrivers, func(t *testing.T, d Driver) {
		for _, f := range []testFunction{python312Fn, nodeFn} {
			t.Run(f.name, func(t *testing.T) {
				t.Parallel()
				name := f.fnName("stream", d)
				createFunction(t, d, name, f, "streamed", nil)
				call := func(event any, extra Params) *Result {
					payload, _ := json.Marshal(event)
					p := Params{"FunctionName": name, "Payload": payload}
					for k, v := range extra {
						p[k] = v
					}
					return d.Call(t, "InvokeWithResponseStream", p)
				}
				r := call(Params{"print": "streaming"}, Params{"LogType": "Tail"})
				r.WantStatus(t, 200)
				reply := wantVersion(t, r, "streamed")
				if r.ExecutedVersion != "$LATEST" {
					t.Errorf("ExecutedVersion %q, want $LATEST", r.ExecutedVersion)
				}
				wantLog(t, r, str(reply, "request_id"), "$LATEST", "streaming")

				failed := call(Params{"fail": "streamed boom"}, nil).OK(t)
				if failed.FunctionError == "" {
					t.Fatalf("a failing handler streamed no ErrorCode; payload %s", failed.Payload)
				}
				var doc map[string]any
				if err := json.Unmarshal(failed.Payload, &doc); err != nil || doc["errorMessage"] != "streamed boom" {
					t.Errorf("ErrorCode %s, ErrorDetails %s: want the error document of \"streamed boom\"", failed.FunctionError, failed.Payload)
				}

				dry := call(Params{}, Params{"InvocationType": "DryRun"}).OK(t)
				dry.WantStatus(t, 204)
			})
		}
	})
}

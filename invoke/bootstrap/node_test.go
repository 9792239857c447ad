package bootstrap_test

import (
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var nodeCode = map[string]string{
	"index.js": `
exports.handler = async (event, context) => ({ event, pid: process.pid });
exports.nested = { deep: { handler: async () => 'nested' } };
exports.ctx = async (event, context) => ({
  awsRequestId: context.awsRequestId,
  invokedFunctionArn: context.invokedFunctionArn,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  remaining: context.getRemainingTimeInMillis(),
  clientContext: context.clientContext,
  identity: context.identity,
  waits: context.callbackWaitsForEmptyEventLoop,
  trace: process.env._X_AMZN_TRACE_ID,
});
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { via: 'callback', n: event.n }), 10);
};
exports.waits = (event, context, callback) => {
  setTimeout(() => {}, 300);
  callback(null, 'waited');
};
exports.nowait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => {}, 600000);
  callback(null, 'fast');
};
exports.succeed = (event, context) => {
  context.succeed('succeeded');
};
exports.sync = (event) => 'ignored';
exports.throws = (event) => {
  throw new Error('boom ' + event.n);
};
exports.rejects = async () => {
  throw new TypeError('bad type');
};
exports.throwsString = async () => {
  throw 'just a string';
};
exports.callbackError = (event, context, callback) => callback(new RangeError('out of range'));
exports.uncaught = (event, context, callback) => {
  setTimeout(() => {
    throw new Error('late');
  }, 10);
};
exports.unhandled = async () => {
  Promise.reject(new Error('nobody'));
  await new Promise((r) => setTimeout(r, 600000));
  return 'x';
};
exports.never = async () => new Promise(() => {});
exports.bigint = async () => ({ n: 1n });
exports.logs = async () => {
  console.log('hello %s', 'log');
  console.error('bad', 1);
  console.warn('careful');
  return 'ok';
};
exports.notfn = 42;
exports.slow = async () => new Promise((r) => setTimeout(() => r('slow'), 400));
`,
	"esm.mjs": `
export const handler = async (event) => ({ esm: import.meta.url.endsWith('/esm.mjs') });
`,
	"other.cjs": `
module.exports.handler = async () => 'cjs';
`,
	"typed/package.json": `{"type": "module"}`,
	"typed/app.js": `
export const handler = async () => (typeof require === 'undefined' ? 'esm-js' : 'cjs-js');
`,
	"src/deep/app.js": `
exports.handler = async () => 'deep';
`,
	"broken.js": `
exports.handler = async ( => {
`,
	"brokenesm.mjs": `
export const handler = async ( => {
`,
	"explodes.js": `
throw new Error('init failed');
`,
	"requires.js": `
require('not-installed-anywhere');
`,
	"node_modules/dep/index.js": `
exports.handler = async () => 'from node_modules';
`,
	"logsinit.js": `
console.log('loading');
exports.handler = async () => 'ok';
`,
}

// nodeRuntime is the Node.js runtime tested; the host's one node serves
// every nodejsN.x identifier, so one is enough.
const nodeRuntime = "nodejs20.x"

// TestNode runs the Node.js runtime client on the host's node against a
// fake Runtime API.
func TestNode(t *testing.T) {
	rt := resolve(t, nodeRuntime)
	taskRoot := writeFiles(t, nodeCode)
	start := func(handler string, opts ...apiOption) *proc {
		return start(t, rt, taskRoot, handler, opts...)
	}
	testConnection(t, start, "index.handler", "index.slow")

	t.Run("two-invokes-one-connection", func(t *testing.T) {
		checkTwoInvokes(t, start("index.handler"))
	})

	t.Run("context", func(t *testing.T) {
		p := start("index.ctx")
		got := p.invoke(&invocation{
			ID:        "ctx-request",
			Deadline:  time.Now().Add(10 * time.Minute),
			ARN:       "arn:aws:lambda:us-east-1:123456789012:function:fn:7",
			TraceID:   "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
			ClientCtx: `{"client":{"app_title":"app"},"custom":{"k":"v"},"env":{"platform":"linux"}}`,
			Identity:  `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`,
		})
		var c map[string]any
		got.decode(t, &c)
		want := map[string]any{
			"awsRequestId":       "ctx-request",
			"invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn:7",
			"functionName":       "fn",
			"functionVersion":    "$LATEST",
			"memoryLimitInMB":    "128",
			"logGroupName":       "/aws/lambda/fn",
			"logStreamName":      "2026/01/01/[$LATEST]0123456789abcdef",
			"clientContext":      map[string]any{"client": map[string]any{"app_title": "app"}, "custom": map[string]any{"k": "v"}, "env": map[string]any{"platform": "linux"}},
			"identity":           map[string]any{"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
			"waits":              true,
			"trace":              "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
		}
		for k, v := range want {
			if fmt.Sprint(c[k]) != fmt.Sprint(v) {
				t.Errorf("%s=%v, want %v", k, c[k], v)
			}
		}
		// Ten minutes less the time it took to get there (at most waitFor).
		if r, _ := c["remaining"].(float64); r <= float64((10*time.Minute-waitFor).Milliseconds()) || r > 600000 {
			t.Errorf("remaining=%v ms, want about 600000", c["remaining"])
		}
	})

	results := []struct {
		name    string
		handler string
		want    string
	}{
		{"esm-mjs", "esm.handler", `{"esm":true}`},
		{"esm-js-type-module", "typed/app.handler", `"esm-js"`},
		{"cjs-extension", "other.handler", `"cjs"`},
		{"nested-export", "index.nested.deep.handler", `"nested"`},
		{"handler-in-directory", "src/deep/app.handler", `"deep"`},
		{"node-modules-package", "dep.handler", `"from node_modules"`},
		{"callback", "index.callback", `{"via":"callback","n":3}`},
		{"context-succeed", "index.succeed", `"succeeded"`},
		// Lambda ignores what a handler that is neither async nor takes a
		// callback returns: the invocation ends, with null, once the event
		// loop is empty.
		{"sync-return-ignored", "index.sync", `null`},
	}
	for _, tt := range results {
		t.Run(tt.name, func(t *testing.T) {
			p := start(tt.handler)
			wantResponse(t, p.invoke(&invocation{Payload: `{"n":3}`}), tt.want)
		})
	}

	t.Run("callback-waits-for-empty-event-loop", func(t *testing.T) {
		p := start("index.waits")
		begin := time.Now()
		wantResponse(t, p.invoke(&invocation{}), `"waited"`)
		if d := time.Since(begin); d < 300*time.Millisecond {
			t.Errorf("response after %v, want it after the 300 ms timer", d)
		}
	})

	// The handler leaves a ten-minute timer: a response must come before
	// it, within waitFor.
	t.Run("callback-does-not-wait", func(t *testing.T) {
		p := start("index.nowait")
		wantResponse(t, p.invoke(&invocation{}), `"fast"`)
		// The timer of the first invocation does not block the next one.
		wantResponse(t, p.invoke(&invocation{}), `"fast"`)
	})

	errors := []struct {
		name      string
		handler   string
		wantType  string
		wantMsg   string
		wantTrace string // prefix of trace[0]; "" for an empty trace
	}{
		{"throws", "index.throws", "Error", "boom 3", "Error: boom 3"},
		{"async-rejects", "index.rejects", "TypeError", "bad type", "TypeError: bad type"},
		{"throws-string", "index.throwsString", "string", "just a string", ""},
		{"callback-error", "index.callbackError", "RangeError", "out of range", "RangeError: out of range"},
		{"unserializable", "index.bigint", "Error", "Unable to stringify response body", "Error: Unable to stringify response body"},
		{"async-never-settles", "index.never", "Runtime.NodeJsExit", "Error: Runtime exited without providing a reason", "Runtime.NodeJsExit: Error: Runtime exited"},
	}
	for _, tt := range errors {
		t.Run(tt.name, func(t *testing.T) {
			p := start(tt.handler)
			got := p.invoke(&invocation{ID: "req-" + tt.name, Payload: `{"n":3}`})
			if got.Kind != "error" {
				t.Fatalf("got %s, want an error", got)
			}
			var doc struct {
				ErrorType    string   `json:"errorType"`
				ErrorMessage string   `json:"errorMessage"`
				Trace        []string `json:"trace"`
			}
			got.decode(t, &doc)
			if doc.ErrorType != tt.wantType || doc.ErrorMessage != tt.wantMsg {
				t.Errorf("error %s %q, want %s %q", doc.ErrorType, doc.ErrorMessage, tt.wantType, tt.wantMsg)
			}
			switch {
			case tt.wantTrace == "" && (doc.Trace == nil || len(doc.Trace) != 0):
				t.Errorf("trace %q, want []", doc.Trace)
			case tt.wantTrace != "" && (len(doc.Trace) < 2 || !strings.HasPrefix(doc.Trace[0], tt.wantTrace) || !strings.HasPrefix(doc.Trace[1], "    at ")):
				t.Errorf("trace %q, want the stack of %q", doc.Trace, tt.wantTrace)
			}
			if tt.wantTrace != "" {
				p.outputHas("\treq-" + tt.name + "\tERROR\tInvoke Error \t{\"errorType\":\"" + tt.wantType + "\"")
			} else {
				p.outputHas("\treq-" + tt.name + "\tERROR\tInvoke Error \t\"" + tt.wantMsg + "\"")
			}
			// The loop goes on after an error.
			if again := p.invoke(&invocation{Payload: `{"n":4}`}); again.Kind != "error" {
				t.Errorf("second invoke: %s, want an error again", again)
			}
		})
	}

	crashes := []struct {
		name     string
		handler  string
		wantType string
		wantMsg  string
		wantCode int
	}{
		{"uncaught-exception", "index.uncaught", "Error", "late", 129},
		{"unhandled-rejection", "index.unhandled", "Runtime.UnhandledPromiseRejection", "Error: nobody", 128},
	}
	for _, tt := range crashes {
		t.Run(tt.name, func(t *testing.T) {
			p := start(tt.handler)
			got := p.invoke(&invocation{ID: "req-crash"})
			var doc struct{ ErrorType, ErrorMessage string }
			got.decode(t, &doc)
			if got.Kind != "error" || doc.ErrorType != tt.wantType || doc.ErrorMessage != tt.wantMsg {
				t.Errorf("got %s, want an error %s %q", got, tt.wantType, tt.wantMsg)
			}
			if code := p.exitCode(); code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
		})
	}

	t.Run("console", func(t *testing.T) {
		p := start("index.logs")
		wantResponse(t, p.invoke(&invocation{ID: "req-logs"}), `"ok"`)
		const ts = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`
		p.outputMatches(regexp.MustCompile(`(?m)^` + ts + `\treq-logs\tINFO\thello log\n` + ts + `\treq-logs\tERROR\tbad 1\n` + ts + `\treq-logs\tWARN\tcareful$`))
	})

	t.Run("console-json", func(t *testing.T) {
		p := start("index.logs", withEnv("AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=WARN"))
		wantResponse(t, p.invoke(&invocation{ID: "req-json"}), `"ok"`)
		const ts = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`
		// INFO is below the level: only the error and the warning.
		p.outputMatches(regexp.MustCompile(`(?m)^\{"timestamp":"` + ts + `","level":"ERROR","requestId":"req-json","message":"bad 1"\}\n\{"timestamp":"` + ts + `","level":"WARN","requestId":"req-json","message":"careful"\}$`))
		if strings.Contains(p.out.String(), "hello log") {
			t.Errorf("an INFO line below AWS_LAMBDA_LOG_LEVEL=WARN was written:\n%s", p.out)
		}
	})

	t.Run("json-handler-exception", func(t *testing.T) {
		p := start("index.throws", withEnv("AWS_LAMBDA_LOG_FORMAT=JSON"))
		if got := p.invoke(&invocation{ID: "req-jthrow", Payload: `{"n":3}`}); got.Kind != "error" {
			t.Fatalf("got %s, want an error", got)
		}
		p.outputMatches(regexp.MustCompile(`(?m)^\{"timestamp":"[^"]+","level":"ERROR","requestId":"req-jthrow","message":"Error: boom 3\\n.*","errorType":"Error","errorMessage":"boom 3","stackTrace":\["Error: boom 3",.*\]\}$`))
	})

	t.Run("console-during-init", func(t *testing.T) {
		p := start("logsinit.handler")
		wantResponse(t, p.invoke(&invocation{}), `"ok"`)
		p.outputMatches(regexp.MustCompile(`(?m)^\d{4}-\S+Z\tundefined\tINFO\tloading$`))
	})

	initErrors := []struct {
		name     string
		handler  string
		wantType string
		wantMsg  string // regexp
	}{
		{"missing-module", "nope.handler", "Runtime.ImportModuleError", `^Error: Cannot find module 'nope'\nRequire stack:\n- .*/bootstrap\.mjs$`},
		{"missing-dependency", "requires.handler", "Runtime.ImportModuleError", `^Error: Cannot find module 'not-installed-anywhere'\nRequire stack:\n- .*/requires\.js`},
		{"missing-export", "index.nope", "Runtime.HandlerNotFound", `^index\.nope is undefined or not exported$`},
		{"not-a-function", "index.notfn", "Runtime.HandlerNotFound", `^index\.notfn is not a function$`},
		{"bad-handler-name", "index", "Runtime.MalformedHandlerName", `^Bad handler$`},
		{"parent-directory", "../index.handler", "Runtime.MalformedHandlerName", `^'\.\./index\.handler' is not a valid handler name\. Use absolute paths when specifying root directories in handler names\.$`},
		{"syntax-error-cjs", "broken.handler", "Runtime.UserCodeSyntaxError", `^SyntaxError: `},
		{"syntax-error-esm", "brokenesm.handler", "Runtime.UserCodeSyntaxError", `^SyntaxError: `},
		{"exception-at-load", "explodes.handler", "Error", `^init failed$`},
	}
	for _, tt := range initErrors {
		t.Run("init-"+tt.name, func(t *testing.T) {
			p := start(tt.handler)
			got := p.wait()
			if got.Kind != "init" {
				t.Fatalf("got %s, want an init error", got)
			}
			if h := got.Header.Get("Lambda-Runtime-Function-Error-Type"); h != tt.wantType {
				t.Errorf("Lambda-Runtime-Function-Error-Type %q, want %q", h, tt.wantType)
			}
			var doc struct {
				ErrorType    string   `json:"errorType"`
				ErrorMessage string   `json:"errorMessage"`
				Trace        []string `json:"trace"`
			}
			got.decode(t, &doc)
			if doc.ErrorType != tt.wantType || !regexp.MustCompile(tt.wantMsg).MatchString(doc.ErrorMessage) {
				t.Errorf("init error %s %q, want %s %s", doc.ErrorType, doc.ErrorMessage, tt.wantType, tt.wantMsg)
			}
			if len(doc.Trace) == 0 || !strings.HasPrefix(doc.Trace[0], tt.wantType+": ") {
				t.Errorf("trace %q, want it to start with %q", doc.Trace, tt.wantType+": ")
			}
			if code := p.exitCode(); code != 129 {
				t.Errorf("exit code %d, want 129", code)
			}
			p.outputHas("\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\"" + tt.wantType + "\"")
		})
	}
}

// TestNodeSearchPath checks that CommonJS and ES module handlers find a
// package that only NODE_PATH holds, as the runtime's AWS SDK, and that a
// copy in the function's own node_modules wins.
func TestNodeSearchPath(t *testing.T) {
	rt := resolve(t, nodeRuntime)
	pkg := func(from string) map[string]string {
		return map[string]string{
			"node_modules/fake-sdk/package.json": `{"name":"fake-sdk","main":"index.js"}`,
			"node_modules/fake-sdk/index.js":     `exports.from = ` + strconv.Quote(from) + `;`,
		}
	}
	sdk := writeFiles(t, pkg("sdk"))
	handlers := map[string]string{
		"esm.mjs": `import sdk from 'fake-sdk'; export const handler = async () => sdk.from;`,
		"cjs.js":  `const sdk = require('fake-sdk'); exports.handler = async () => sdk.from;`,
	}
	bundled := pkg("bundled")
	maps.Copy(bundled, handlers)
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"runtime-copy", handlers, `"sdk"`},
		{"bundled-copy-wins", bundled, `"bundled"`},
	} {
		taskRoot := writeFiles(t, tt.files)
		for _, handler := range []string{"esm.handler", "cjs.handler"} {
			t.Run(tt.name+"/"+handler, func(t *testing.T) {
				api := newFakeAPI(t)
				argv := hostArgv(t, rt)
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Dir = taskRoot
				cmd.Env = append(append(slices.Clone(rt.Env), lambdaEnv(api, taskRoot, handler)...),
					"NODE_PATH="+filepath.Join(t.TempDir(), "layer", "node_modules")+":"+filepath.Join(sdk, "node_modules"))
				wantResponse(t, startCmd(t, api, cmd).invoke(&invocation{}), tt.want)
			})
		}
	}
}

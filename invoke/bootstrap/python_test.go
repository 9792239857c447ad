package bootstrap_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pythonRuntimes are the Python runtimes tested when the host has them.
var pythonRuntimes = []string{"python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14"}

var pythonCode = map[string]string{
	"app.py": `
import os
import sys


def echo(event, context):
    return {"event": event, "pid": os.getpid(), "version": "%d.%d" % sys.version_info[:2]}


def ctx(event, context):
    cc = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "custom": cc.custom,
        "env": cc.env,
        "app_title": cc.client.app_title,
        "identity_id": context.identity.cognito_identity_id,
        "identity_pool": context.identity.cognito_identity_pool_id,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
    }


def no_client_context(event, context):
    return {"client_context": context.client_context, "identity_id": context.identity.cognito_identity_id}


def fail(event, context):
    raise ValueError("boom %s" % event["n"])


def unserializable(event, context):
    return {"a": {1, 2}}


def none(event, context):
    return None


def raw(event, context):
    return {"type": type(event).__name__, "value": event.decode()}


def unicode(event, context):
    return {"text": "h\u00e9llo"}


def prints(event, context):
    print("hello from print")
    import logging
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger().info("hello from logging")
    try:
        1 / 0
    except ZeroDivisionError:
        logging.getLogger().exception("caught")
    logging.getLogger().info("after the traceback")
    return "ok"


def leave(event, context):
    sys.exit(3)


def slow(event, context):
    import time
    time.sleep(0.4)
    return "slow"
`,
	"logged.py": `
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    logger.info("info line")
    logger.warning("warning line")
    return "ok"
`,
	"pkg/mod.py": `
def handler(event, context):
    return "pkg"
`,
	"broken.py": `
def handler(event, context)
    return 1
`,
	"explodes.py": `
raise RuntimeError("init failed")
`,
	"imports.py": `
import not_installed_anywhere
`,
}

// TestPython runs the Python runtime client on every Python of the host
// against a fake Runtime API.
func TestPython(t *testing.T) {
	for _, runtime := range pythonRuntimes {
		t.Run(runtime, func(t *testing.T) {
			t.Parallel()
			rt := resolve(t, runtime)
			taskRoot := writeFiles(t, pythonCode)
			testPython(t, runtime, func(handler string, opts ...apiOption) *proc {
				return start(t, rt, taskRoot, handler, opts...)
			})
		})
	}
}

func testPython(t *testing.T, runtime string, start func(handler string, opts ...apiOption) *proc) {
	minor := strings.TrimPrefix(runtime, "python")
	testConnection(t, start, "app.none", "app.slow")

	t.Run("two-invokes-one-connection", func(t *testing.T) {
		first, _ := checkTwoInvokes(t, start("app.echo"))
		var v struct{ Version string }
		first.decode(t, &v)
		if v.Version != minor {
			t.Errorf("version %q, want %q", v.Version, minor)
		}
	})

	t.Run("context", func(t *testing.T) {
		p := start("app.ctx")
		got := p.invoke(&invocation{
			ID:        "ctx-request",
			Deadline:  time.Now().Add(10 * time.Minute),
			ARN:       "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
			TraceID:   "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			ClientCtx: `{"client":{"app_title":"app","installation_id":"i"},"custom":{"k":"v"},"env":{"platform":"linux"}}`,
			Identity:  `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`,
		})
		var c map[string]any
		got.decode(t, &c)
		want := map[string]any{
			"aws_request_id":       "ctx-request",
			"invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
			"function_name":        "fn",
			"function_version":     "$LATEST",
			"memory_limit_in_mb":   "128",
			"log_group_name":       "/aws/lambda/fn",
			"log_stream_name":      "2026/01/01/[$LATEST]0123456789abcdef",
			"custom":               map[string]any{"k": "v"},
			"env":                  map[string]any{"platform": "linux"},
			"app_title":            "app",
			"identity_id":          "id-1",
			"identity_pool":        "pool-1",
			"trace":                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
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

	t.Run("context-without-client-context", func(t *testing.T) {
		p := start("app.no_client_context")
		wantResponse(t, p.invoke(&invocation{}), `{"client_context":null,"identity_id":null}`)
	})

	t.Run("handler-exception", func(t *testing.T) {
		p := start("app.fail")
		got := p.invoke(&invocation{ID: "req-fail", Payload: `{"n":7}`})
		if got.Kind != "error" {
			t.Fatalf("got %s, want an error", got)
		}
		var doc struct {
			ErrorMessage string   `json:"errorMessage"`
			ErrorType    string   `json:"errorType"`
			RequestID    string   `json:"requestId"`
			StackTrace   []string `json:"stackTrace"`
		}
		got.decode(t, &doc)
		if doc.ErrorMessage != "boom 7" || doc.ErrorType != "ValueError" || doc.RequestID != "req-fail" {
			t.Errorf("error %+v, want ValueError \"boom 7\" for req-fail", doc)
		}
		if len(doc.StackTrace) != 1 || !regexp.MustCompile(`^  File ".*/app\.py", line \d+, in fail\n    raise ValueError\("boom %s" % event\["n"\]\)\n$`).MatchString(doc.StackTrace[0]) {
			t.Errorf("stackTrace %q, want the handler's frame alone", doc.StackTrace)
		}
		if ct := got.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		// The loop goes on after an error.
		if again := p.invoke(&invocation{Payload: `{"n":8}`}); again.Kind != "error" || !strings.Contains(string(again.Body), "boom 8") {
			t.Errorf("second invoke: %s", again)
		}
		p.outputHas("[ERROR] ValueError: boom 7\nTraceback (most recent call last):\n  File ", "in fail\n")
	})

	t.Run("marshal-error", func(t *testing.T) {
		p := start("app.unserializable")
		got := p.invoke(&invocation{ID: "req-marshal"})
		if got.Kind != "error" {
			t.Fatalf("got %s, want an error", got)
		}
		want := `{"errorMessage":"Unable to marshal response: Object of type set is not JSON serializable","errorType":"Runtime.MarshalError","requestId":"req-marshal","stackTrace":[]}`
		if !jsonEqual(got.Body, []byte(want)) {
			t.Errorf("error %s, want %s", got.Body, want)
		}
	})

	t.Run("none-is-null", func(t *testing.T) {
		p := start("app.none")
		got := p.invoke(&invocation{})
		if got.Kind != "response" || string(got.Body) != "null" {
			t.Errorf("got %s, want response null", got)
		}
	})

	t.Run("non-json-event", func(t *testing.T) {
		p := start("app.raw")
		got := p.invoke(&invocation{Payload: "plain text", ContentType: "application/octet-stream"})
		wantResponse(t, got, `{"type":"bytes","value":"plain text"}`)
	})

	t.Run("bad-json-event", func(t *testing.T) {
		p := start("app.echo")
		got := p.invoke(&invocation{Payload: "{not json"})
		var doc struct{ ErrorType, ErrorMessage string }
		got.decode(t, &doc)
		if got.Kind != "error" || doc.ErrorType != "Runtime.UnmarshalError" || !strings.HasPrefix(doc.ErrorMessage, "Unable to unmarshal input: ") {
			t.Errorf("got %s, want Runtime.UnmarshalError", got)
		}
	})

	t.Run("unicode-result", func(t *testing.T) {
		p := start("app.unicode")
		wantResponse(t, p.invoke(&invocation{}), `{"text":"héllo"}`)
	})

	t.Run("handler-in-directory", func(t *testing.T) {
		p := start("pkg/mod.handler")
		wantResponse(t, p.invoke(&invocation{}), `"pkg"`)
	})

	t.Run("logs", func(t *testing.T) {
		p := start("app.prints")
		wantResponse(t, p.invoke(&invocation{ID: "req-logs"}), `"ok"`)
		p.outputHas("hello from print\n")
		p.outputMatches(regexp.MustCompile(`(?m)^\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-logs\thello from logging$`))
		p.outputMatches(regexp.MustCompile(`(?m)^\[ERROR\]\t.*\treq-logs\tcaught\nTraceback \(most recent call last\):\n(.*\n)*ZeroDivisionError: division by zero\n\[INFO\]\t.*\tafter the traceback$`))
	})

	t.Run("json-logs", func(t *testing.T) {
		p := start("app.prints", withEnv("AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=INFO"))
		wantResponse(t, p.invoke(&invocation{ID: "req-json"}), `"ok"`)
		// print stays plain text; logging writes one JSON object a record.
		p.outputHas("hello from print\n")
		p.outputMatches(regexp.MustCompile(`(?m)^\{"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "level": "INFO", "message": "hello from logging", "logger": "root", "requestId": "req-json", "location": "[^"]*app\.py:prints:\d+"\}$`))
		p.outputMatches(regexp.MustCompile(`(?m)^\{"timestamp": "[^"]+", "level": "ERROR", "message": "caught", "logger": "root", "errorType": "ZeroDivisionError", "errorMessage": "division by zero", "stackTrace": \[.*\], "requestId": "req-json", .*\}$`))
	})

	t.Run("json-handler-exception", func(t *testing.T) {
		p := start("app.fail", withEnv("AWS_LAMBDA_LOG_FORMAT=JSON"))
		if got := p.invoke(&invocation{ID: "req-jfail", Payload: `{"n":1}`}); got.Kind != "error" {
			t.Fatalf("got %s, want an error", got)
		}
		p.outputMatches(regexp.MustCompile(`(?m)^\{"timestamp": "[^"]+", "level": "ERROR", "message": "boom 1", "errorType": "ValueError", "errorMessage": "boom 1", "stackTrace": \[.*\], "requestId": "req-jfail"\}$`))
	})

	t.Run("logging-imported-at-init", func(t *testing.T) {
		p := start("logged.handler")
		wantResponse(t, p.invoke(&invocation{ID: "req-logged"}), `"ok"`)
		p.outputHas("\treq-logged\tinfo line\n", "[WARNING]\t")
	})

	t.Run("sys-exit", func(t *testing.T) {
		p := start("app.leave")
		if err := sendOnly(p, &invocation{}); err != nil {
			t.Fatal(err)
		}
		if code := p.exitCode(); code != 3 {
			t.Errorf("exit code %d, want 3", code)
		}
	})

	initErrors := []struct {
		name     string
		handler  string
		wantType string
		wantMsg  string // regexp
	}{
		{"missing-module", "nope.handler", "Runtime.ImportModuleError", `^Unable to import module 'nope': No module named 'nope'$`},
		{"missing-dependency", "imports.handler", "Runtime.ImportModuleError", `^Unable to import module 'imports': No module named 'not_installed_anywhere'$`},
		{"missing-function", "app.missing", "Runtime.HandlerNotFound", `^Handler 'missing' missing on module 'app'$`},
		{"bad-handler-name", "app", "Runtime.MalformedHandlerName", `^Bad handler 'app': not enough values to unpack \(expected 2, got 1\)$`},
		{"empty-handler", "", "Runtime.MalformedHandlerName", `^Bad handler '': not enough values to unpack \(expected 2, got 1\)$`},
		{"builtin-module", "sys.handler", "Runtime.BuiltInModuleConflict", `^Cannot use built-in module sys as a handler module$`},
		{"syntax-error", "broken.handler", "Runtime.UserCodeSyntaxError", `^Syntax error in module 'broken': .*\(broken\.py, line 2\)$`},
		{"exception-at-import", "explodes.handler", "RuntimeError", `^init failed$`},
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
				ErrorMessage string   `json:"errorMessage"`
				ErrorType    string   `json:"errorType"`
				RequestID    *string  `json:"requestId"`
				StackTrace   []string `json:"stackTrace"`
			}
			got.decode(t, &doc)
			if doc.ErrorType != tt.wantType || !regexp.MustCompile(tt.wantMsg).MatchString(doc.ErrorMessage) {
				t.Errorf("init error %s %q, want %s %s", doc.ErrorType, doc.ErrorMessage, tt.wantType, tt.wantMsg)
			}
			if doc.RequestID == nil || *doc.RequestID != "" || doc.StackTrace == nil {
				t.Errorf("init error %s: want requestId \"\" and a stackTrace list", got.Body)
			}
			if code := p.exitCode(); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			p.outputHas("[ERROR] " + tt.wantType + ": ")
		})
	}
}

// sendOnly hands inv to the runtime without waiting for a result.
func sendOnly(p *proc, inv *invocation) error {
	inv.ID, inv.Payload, inv.Deadline = "req-send", "{}", time.Now().Add(time.Minute)
	select {
	case p.api.next <- inv:
		return nil
	case <-p.exited:
		return fmt.Errorf("runtime exited (code %d) before taking an invocation", p.code)
	case <-time.After(waitFor):
		return fmt.Errorf("runtime did not ask for an invocation")
	}
}

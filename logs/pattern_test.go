package logs

import (
	"testing"

	"github.com/lambdahost/lambdahost"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		match   []string
		noMatch []string
	}{
		{name: "empty", pattern: "  ", match: []string{"", "anything"}},
		{name: "term", pattern: "ERROR", match: []string{"an ERROR here", "ERRORS"}, noMatch: []string{"error", "ERR OR"}},
		{name: "terms-all", pattern: "ERROR Exception", match: []string{"Exception: ERROR"}, noMatch: []string{"ERROR only"}},
		{name: "phrase", pattern: `"Internal Server Error"`, match: []string{"500 Internal Server Error\n"}, noMatch: []string{"Internal Error Server"}},
		{name: "phrase-escaped-quote", pattern: `"say \"hi\""`, match: []string{`they say "hi" now`}, noMatch: []string{"say hi"}},
		{name: "alternatives", pattern: "?ERROR ?WARN", match: []string{"WARN x", "ERROR y"}, noMatch: []string{"INFO z"}},
		{name: "alternative-phrase", pattern: `?"timed out" ?Exception`, match: []string{"Task timed out after"}, noMatch: []string{"timed-out"}},
		{name: "exclusion", pattern: "ERROR -Retrying", match: []string{"ERROR: gave up"}, noMatch: []string{"ERROR: Retrying", "fine"}},
		{name: "required-and-alternatives", pattern: "START ?abc ?def", match: []string{"START abc", "START def"}, noMatch: []string{"START xyz", "abc def"}},
		{name: "regex", pattern: "%Request[A-Z][a-z]%", match: []string{"RequestId: 1"}, noMatch: []string{"Requestid"}},
		{name: "lambda-report", pattern: `REPORT "Init Duration"`, match: []string{"REPORT RequestId: x\tDuration: 1.00 ms\tInit Duration: 3.00 ms\t\n"}, noMatch: []string{"REPORT RequestId: x\tDuration: 1.00 ms\t\n"}},
		{name: "json-string", pattern: `{ $.level = "ERROR" }`, match: []string{`{"level":"ERROR","message":"x"}`, ` {"level": "ERROR"}` + "\n"}, noMatch: []string{`{"level":"INFO"}`, `level = ERROR`, `{"other":"ERROR"}`, `{broken`}},
		{name: "json-unquoted", pattern: `{$.level=ERROR}`, match: []string{`{"level":"ERROR"}`}},
		{name: "json-wildcard", pattern: `{ $.path = "/api/*" }`, match: []string{`{"path":"/api/users"}`}, noMatch: []string{`{"path":"/web/api/users"}`}},
		{name: "json-not-equal", pattern: `{ $.level != "INFO" }`, match: []string{`{"level":"WARN"}`}, noMatch: []string{`{"level":"INFO"}`, `{"x":1}`}},
		{name: "json-and-or", pattern: `{ ($.level = "ERROR" || $.level = "FATAL") && $.requestId = "r1" }`,
			match: []string{`{"level":"FATAL","requestId":"r1"}`}, noMatch: []string{`{"level":"ERROR","requestId":"r2"}`, `{"level":"INFO","requestId":"r1"}`}},
		{name: "json-and-binds-tighter", pattern: `{ $.a = 1 || $.b = 1 && $.c = 1 }`, match: []string{`{"a":1}`, `{"b":1,"c":1}`}, noMatch: []string{`{"b":1}`}},
		{name: "json-numeric", pattern: `{ $.latency > 200 }`, match: []string{`{"latency": 250.5}`}, noMatch: []string{`{"latency": 200}`, `{"latency": "300"}`}},
		{name: "json-numeric-ge", pattern: `{ $.metrics.durationMs >= 1.5 && $.metrics.memorySizeMB <= 128 }`,
			match: []string{`{"metrics":{"durationMs":1.5,"memorySizeMB":128}}`}, noMatch: []string{`{"metrics":{"durationMs":1.4,"memorySizeMB":128}}`}},
		{name: "json-number-equal", pattern: `{ $.status = 404 }`, match: []string{`{"status":404}`, `{"status":4.04e2}`}, noMatch: []string{`{"status":500}`}},
		{name: "json-index", pattern: `{ $.items[1].id = "b" }`, match: []string{`{"items":[{"id":"a"},{"id":"b"}]}`}, noMatch: []string{`{"items":[{"id":"b"}]}`}},
		{name: "json-any-element", pattern: `{ $.items[*].id = "b" }`, match: []string{`{"items":[{"id":"a"},{"id":"b"}]}`}, noMatch: []string{`{"items":[]}`}},
		{name: "json-is-null", pattern: `{ $.err IS NULL }`, match: []string{`{"err":null}`}, noMatch: []string{`{"err":"x"}`, `{}`}},
		{name: "json-not-exists", pattern: `{ $.err NOT EXISTS }`, match: []string{`{}`}, noMatch: []string{`{"err":null}`}},
		{name: "json-is-true", pattern: `{ $.cold IS TRUE }`, match: []string{`{"cold":true}`}, noMatch: []string{`{"cold":false}`, `{"cold":"true"}`}},
		{name: "json-bool-equal", pattern: `{ $.cold = true }`, match: []string{`{"cold":true}`}, noMatch: []string{`{"cold":false}`}},
		{name: "json-platform", pattern: `{ $.type = "platform.report" && $.record.status = "success" }`,
			match: []string{`{"time":"t","type":"platform.report","record":{"requestId":"r","status":"success"}}`}},
		{name: "space-delimited", pattern: `[ip, user, ..., status = 5*, bytes > 1000]`,
			match: []string{`10.0.0.1 - "GET /x" [01/Jan] 503 2048`}, noMatch: []string{`10.0.0.1 - "GET /x" 404 2048`, `10.0.0.1 - 503 20`, `a`}},
		{name: "space-exact-count", pattern: `[a, b]`, match: []string{"x y"}, noMatch: []string{"x", "x y z"}},
		{name: "space-or", pattern: `[level = ERROR || level = WARN, msg]`, match: []string{"WARN x"}, noMatch: []string{"INFO x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePattern(tt.pattern)
			if err != nil {
				t.Fatalf("parsePattern(%q): %v", tt.pattern, err)
			}
			for _, m := range tt.match {
				if !p.match(m) {
					t.Errorf("%q does not match %q", tt.pattern, m)
				}
			}
			for _, m := range tt.noMatch {
				if p.match(m) {
					t.Errorf("%q matches %q", tt.pattern, m)
				}
			}
			// The canonical form means the same.
			q, err := parsePattern(p.String())
			if err != nil {
				t.Fatalf("canonical form %q: %v", p.String(), err)
			}
			for _, m := range append(tt.match, tt.noMatch...) {
				if q.match(m) != p.match(m) {
					t.Errorf("canonical form %q and %q disagree on %q", p.String(), tt.pattern, m)
				}
			}
		})
	}
}

func TestPatternErrors(t *testing.T) {
	tests := []struct {
		pattern string
		message string
	}{
		{`{ $.level = "ERROR"`, "If a filter pattern starts with '{' it must end with '}'"},
		{`[a, b`, "If a filter pattern starts with '[' it must end with ']'"},
		{`ERROR (x)`, "Invalid character(s) in term '(x)'"},
		{`""`, `Invalid character(s) in term '""'`},
		{`"unterminated`, "Invalid filter pattern: unterminated quoted string"},
		{`?`, "Invalid filter pattern: '?' must be followed by a term"},
		{`%[%`, `Invalid filter pattern: invalid regular expression "["`},
		{`{ level = "x" }`, "Invalid filter pattern: a JSON pattern's selector must start with '$'"},
		{`{ $.a > "x" }`, "Invalid filter pattern: > needs a number"},
		{`{ $.a = 1 && }`, "Invalid filter pattern: a JSON pattern's selector must start with '$'"},
		{`{ $.a = 1 ) }`, `Invalid filter pattern: unexpected ") "`},
		{`{ $ = 1 }`, "Invalid filter pattern: a selector needs a member after '$'"},
		{`[a, a]`, "Invalid filter pattern: field a appears twice"},
		{`[a = 1 && b = 2]`, "Invalid filter pattern: unknown field b"},
	}
	for _, tt := range tests {
		_, err := parsePattern(tt.pattern)
		if lambdahost.ErrorTypeOf(err) != lambdahost.InvalidParameterException {
			t.Errorf("parsePattern(%q) = %v, want InvalidParameterException", tt.pattern, err)
			continue
		}
		if got := err.(*lambdahost.Error).Message; got != tt.message {
			t.Errorf("parsePattern(%q) message %q, want %q", tt.pattern, got, tt.message)
		}
	}
}

// FuzzPattern parses hostile patterns and matches hostile messages: no
// panic, and a pattern that parses has a canonical form that parses to a
// pattern answering the same for the message.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{
		"", "ERROR", `"a b" ?c -d %e+%`, `{ $.level = "ERROR" }`, `{ ($.a[0].b > 1.5 || $.c IS NULL) && $.d[*] = "x*" }`,
		`[ip, ..., status = 5* || status = 4*, bytes > 1000]`, `{ $.a NOT EXISTS }`, `{$.x=1}`,
	} {
		f.Add(s, `{"level":"ERROR","a":[{"b":2}],"d":["xy"]}`)
		f.Add(s, `10.0.0.1 - "GET /" 503 2048`)
	}
	f.Fuzz(func(t *testing.T, pat, msg string) {
		p, err := parsePattern(pat)
		if err != nil {
			if lambdahost.ErrorTypeOf(err) != lambdahost.InvalidParameterException {
				t.Fatalf("parsePattern(%q) = %v, want an InvalidParameterException", pat, err)
			}
			return
		}
		got := p.match(msg)
		q, err := parsePattern(p.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q: %v", p.String(), pat, err)
		}
		if q.match(msg) != got {
			t.Fatalf("%q and its canonical form %q disagree on %q", pat, p.String(), msg)
		}
	})
}

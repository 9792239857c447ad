package logs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/apitest"
	"github.com/lambdahost/lambdahost/logs"
	"github.com/lambdahost/lambdahost/sqlite"
)

// env is CloudWatch Logs over a real SQLite store, served in process, at
// the fixed clock apitest.Clock.
type env struct {
	t     testing.TB
	store *sqlite.Store
	svc   *logs.Service
	api   *logs.Server
	srv   *httptest.Server
	now   time.Time
}

func newEnv(t testing.TB) *env { return newEnvAt(t, apitest.Clock) }

// newEnvAt returns an env whose clock is at now, or is the real clock if
// now is zero.
func newEnvAt(t testing.TB, now time.Time) *env {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, now: now}
	e.svc = logs.New(store)
	verifier := apitest.Verifier("logs")
	if now.IsZero() {
		e.now = time.Now()
		verifier.Now = nil
	} else {
		e.svc.Now = func() time.Time { return e.now }
	}
	e.api = logs.NewServer(e.svc, verifier)
	e.api.NewRequestID = apitest.Counter("req-%04d")
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(func() {
		e.srv.Close()
		store.Close()
	})
	return e
}

// ms is the clock in Unix milliseconds, plus d.
func (e *env) ms(d time.Duration) int64 { return e.now.Add(d).UnixMilli() }

func (e *env) logsAs(creds aws.Credentials, service, op, body string) apitest.Response {
	e.t.Helper()
	if service == "" {
		service = "logs"
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"Logs_20140328." + op}}
	return apitest.Send(e.t, e.srv.URL, apitest.Request{Service: service, Method: "POST", Path: "/", Body: body, Creds: creds, Header: h})
}

func (e *env) logs(op, body string) apitest.Response {
	e.t.Helper()
	return e.logsAs(apitest.Test, "", op, body)
}

// ok sends op and fails the test unless it succeeds; it returns the body.
func (e *env) ok(op, body string) map[string]any {
	e.t.Helper()
	r := e.logs(op, body)
	if r.Status != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", op, body, r.Status, r.Body)
	}
	var out map[string]any
	if len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, &out); err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

func (e *env) group(name string) { e.ok("CreateLogGroup", fmt.Sprintf(`{"logGroupName":%q}`, name)) }

func (e *env) stream(group, name string) {
	e.ok("CreateLogStream", fmt.Sprintf(`{"logGroupName":%q,"logStreamName":%q}`, group, name))
}

// put adds events with messages and timestamps offsets before the clock.
func (e *env) put(group, stream string, events ...any) map[string]any {
	e.t.Helper()
	var evs []string
	for i := 0; i+1 < len(events); i += 2 {
		evs = append(evs, fmt.Sprintf(`{"timestamp":%d,"message":%q}`, e.ms(events[i].(time.Duration)), events[i+1].(string)))
	}
	return e.ok("PutLogEvents", fmt.Sprintf(`{"logGroupName":%q,"logStreamName":%q,"logEvents":[%s]}`, group, stream, strings.Join(evs, ",")))
}

// withEvents makes group "app" with stream "s1" holding three events and
// "s2" holding one.
func withEvents(e *env) {
	e.group("app")
	e.stream("app", "s1")
	e.stream("app", "s2")
	e.put("app", "s1", -3*time.Second, "START one", -2*time.Second, `{"level":"ERROR","msg":"boom"}`, -time.Second, "END one")
	e.put("app", "s2", -1500*time.Millisecond, "ERROR two")
}

type goldenCase struct {
	op, name string
	setup    func(e *env)
	req      func(e *env) apitest.Response
}

func logsGoldenCases() []goldenCase {
	req := func(op, body string) func(e *env) apitest.Response {
		return func(e *env) apitest.Response { return e.logs(op, body) }
	}
	app := func(e *env) { e.group("app") }
	appStream := func(e *env) { e.group("app"); e.stream("app", "s1") }
	return []goldenCase{
		{op: "CreateLogGroup", name: "created", req: req("CreateLogGroup", `{"logGroupName":"/aws/lambda/f","tags":{"team":"a"}}`)},
		{op: "CreateLogGroup", name: "exists", setup: app, req: req("CreateLogGroup", `{"logGroupName":"app"}`)},
		{op: "CreateLogGroup", name: "name-too-long", req: req("CreateLogGroup", `{"logGroupName":"`+strings.Repeat("a", 513)+`"}`)},
		{op: "CreateLogGroup", name: "bad-name", req: req("CreateLogGroup", `{"logGroupName":"a b"}`)},
		{op: "CreateLogGroup", name: "missing-name", req: req("CreateLogGroup", `{}`)},
		{op: "CreateLogGroup", name: "bad-class", req: req("CreateLogGroup", `{"logGroupName":"a","logGroupClass":"COLD"}`)},
		{op: "CreateLogGroup", name: "reserved-tag", req: req("CreateLogGroup", `{"logGroupName":"a","tags":{"aws:x":"y"}}`)},
		{op: "CreateLogGroup", name: "kms-key-unsupported", req: req("CreateLogGroup", `{"logGroupName":"a","kmsKeyId":"arn:aws:kms:us-east-1:000000000000:key/x"}`)},
		{op: "CreateLogGroup", name: "malformed-json", req: req("CreateLogGroup", `{"logGroupName":`)},
		{op: "CreateLogGroup", name: "wrong-service-scope", req: func(e *env) apitest.Response {
			return e.logsAs(apitest.Test, "lambda", "CreateLogGroup", `{"logGroupName":"a"}`)
		}},
		{op: "DeleteLogGroup", name: "deleted", setup: withEvents, req: func(e *env) apitest.Response {
			if r := e.logs("DeleteLogGroup", `{"logGroupName":"app"}`); r.Status != 200 {
				e.t.Fatalf("DeleteLogGroup: %d %s", r.Status, r.Body)
			}
			return e.logs("GetLogEvents", `{"logGroupName":"app","logStreamName":"s1"}`)
		}},
		{op: "DeleteLogGroup", name: "not-found", req: req("DeleteLogGroup", `{"logGroupName":"app"}`)},
		{op: "DescribeLogGroups", name: "prefix", setup: func(e *env) {
			e.group("/aws/lambda/b")
			e.group("/aws/lambda/a")
			e.group("other")
			e.ok("PutRetentionPolicy", `{"logGroupName":"/aws/lambda/a","retentionInDays":7}`)
		}, req: req("DescribeLogGroups", `{"logGroupNamePrefix":"/aws/lambda/"}`)},
		{op: "DescribeLogGroups", name: "pattern", setup: func(e *env) { e.group("/aws/lambda/Orders"); e.group("/aws/lambda/users") },
			req: req("DescribeLogGroups", `{"logGroupNamePattern":"order"}`)},
		{op: "DescribeLogGroups", name: "paged", setup: func(e *env) { e.group("a"); e.group("b") }, req: req("DescribeLogGroups", `{"limit":1}`)},
		{op: "DescribeLogGroups", name: "stored-bytes", setup: withEvents, req: req("DescribeLogGroups", `{}`)},
		{op: "DescribeLogGroups", name: "prefix-and-pattern", req: req("DescribeLogGroups", `{"logGroupNamePrefix":"a","logGroupNamePattern":"b"}`)},
		{op: "DescribeLogGroups", name: "limit-too-high", req: req("DescribeLogGroups", `{"limit":51}`)},
		{op: "DescribeLogGroups", name: "bad-token", req: req("DescribeLogGroups", `{"nextToken":"nope"}`)},
		{op: "DescribeLogGroups", name: "other-account-sees-none", setup: app, req: func(e *env) apitest.Response {
			return e.logsAs(apitest.Other, "", "DescribeLogGroups", `{}`)
		}},
		{op: "PutRetentionPolicy", name: "bad-days", setup: app, req: req("PutRetentionPolicy", `{"logGroupName":"app","retentionInDays":2}`)},
		{op: "PutRetentionPolicy", name: "not-found", req: req("PutRetentionPolicy", `{"logGroupName":"app","retentionInDays":1}`)},
		{op: "PutRetentionPolicy", name: "missing-days", setup: app, req: req("PutRetentionPolicy", `{"logGroupName":"app"}`)},
		{op: "DeleteRetentionPolicy", name: "kept-forever", setup: func(e *env) {
			e.group("app")
			e.ok("PutRetentionPolicy", `{"logGroupName":"app","retentionInDays":30}`)
			e.ok("DeleteRetentionPolicy", `{"logGroupName":"app"}`)
		}, req: req("DescribeLogGroups", `{}`)},
		{op: "CreateLogStream", name: "created", setup: app, req: req("CreateLogStream", `{"logGroupName":"app","logStreamName":"2026/01/02/[$LATEST]abc"}`)},
		{op: "CreateLogStream", name: "exists", setup: appStream, req: req("CreateLogStream", `{"logGroupName":"app","logStreamName":"s1"}`)},
		{op: "CreateLogStream", name: "group-not-found", req: req("CreateLogStream", `{"logGroupName":"app","logStreamName":"s1"}`)},
		{op: "CreateLogStream", name: "bad-name", setup: app, req: req("CreateLogStream", `{"logGroupName":"app","logStreamName":"a:b"}`)},
		{op: "DeleteLogStream", name: "not-found", setup: app, req: req("DeleteLogStream", `{"logGroupName":"app","logStreamName":"s1"}`)},
		{op: "DescribeLogStreams", name: "by-name", setup: withEvents, req: req("DescribeLogStreams", `{"logGroupName":"app"}`)},
		{op: "DescribeLogStreams", name: "by-last-event-desc", setup: withEvents, req: req("DescribeLogStreams", `{"logGroupName":"app","orderBy":"LastEventTime","descending":true,"limit":1}`)},
		{op: "DescribeLogStreams", name: "by-arn", setup: appStream, req: req("DescribeLogStreams", `{"logGroupIdentifier":"arn:aws:logs:us-east-1:000000000000:log-group:app"}`)},
		{op: "DescribeLogStreams", name: "name-and-arn", setup: appStream, req: req("DescribeLogStreams", `{"logGroupName":"app","logGroupIdentifier":"app"}`)},
		{op: "DescribeLogStreams", name: "order-with-prefix", setup: appStream, req: req("DescribeLogStreams", `{"logGroupName":"app","orderBy":"LastEventTime","logStreamNamePrefix":"s"}`)},
		{op: "DescribeLogStreams", name: "group-not-found", req: req("DescribeLogStreams", `{"logGroupName":"app"}`)},
		{op: "PutLogEvents", name: "accepted", setup: appStream, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"hello"}]}`, e.ms(0)))
		}},
		{op: "PutLogEvents", name: "rejected-too-old", setup: appStream, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"old"},{"timestamp":%d,"message":"old"},{"timestamp":%d,"message":"ok"}]}`,
				e.ms(-14*24*time.Hour-2*time.Hour), e.ms(-14*24*time.Hour-time.Hour), e.ms(-14*24*time.Hour+time.Hour)))
		}},
		{op: "PutLogEvents", name: "rejected-too-new", setup: appStream, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"ok"},{"timestamp":%d,"message":"new"},{"timestamp":%d,"message":"new"}]}`,
				e.ms(time.Hour), e.ms(3*time.Hour), e.ms(4*time.Hour)))
		}},
		{op: "PutLogEvents", name: "all-rejected", setup: appStream, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"new"}]}`, e.ms(3*time.Hour)))
		}},
		{op: "PutLogEvents", name: "rejected-expired", setup: func(e *env) {
			e.group("app")
			e.stream("app", "s1")
			e.ok("PutRetentionPolicy", `{"logGroupName":"app","retentionInDays":1}`)
		}, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"expired"},{"timestamp":%d,"message":"ok"}]}`,
				e.ms(-23*time.Hour-2*time.Hour), e.ms(-time.Hour)))
		}},
		{op: "PutLogEvents", name: "wrong-order", setup: appStream, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"b"},{"timestamp":%d,"message":"a"}]}`, e.ms(0), e.ms(-time.Second)))
		}},
		{op: "PutLogEvents", name: "span-over-24-hours", setup: appStream, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"a"},{"timestamp":%d,"message":"b"}]}`, e.ms(-25*time.Hour), e.ms(0)))
		}},
		{op: "PutLogEvents", name: "event-too-large", setup: appStream, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":%q}]}`, e.ms(0), strings.Repeat("x", 256*1024)))
		}},
		{op: "PutLogEvents", name: "batch-too-large", setup: appStream, req: func(e *env) apitest.Response {
			var evs []string
			for range 5 {
				evs = append(evs, fmt.Sprintf(`{"timestamp":%d,"message":%q}`, e.ms(0), strings.Repeat("x", 250*1024)))
			}
			return e.logs("PutLogEvents", `{"logGroupName":"app","logStreamName":"s1","logEvents":[`+strings.Join(evs, ",")+`]}`)
		}},
		{op: "PutLogEvents", name: "empty-message", setup: appStream, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":""}]}`, e.ms(0)))
		}},
		{op: "PutLogEvents", name: "no-events", setup: appStream, req: req("PutLogEvents", `{"logGroupName":"app","logStreamName":"s1","logEvents":[]}`)},
		{op: "PutLogEvents", name: "stream-not-found", setup: app, req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s9","logEvents":[{"timestamp":%d,"message":"x"}]}`, e.ms(0)))
		}},
		{op: "PutLogEvents", name: "group-not-found", req: func(e *env) apitest.Response {
			return e.logs("PutLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":%d,"message":"x"}]}`, e.ms(0)))
		}},
		{op: "GetLogEvents", name: "newest", setup: withEvents, req: req("GetLogEvents", `{"logGroupName":"app","logStreamName":"s1","limit":2}`)},
		{op: "GetLogEvents", name: "from-head", setup: withEvents, req: req("GetLogEvents", `{"logGroupName":"app","logStreamName":"s1","startFromHead":true,"limit":2}`)},
		{op: "GetLogEvents", name: "empty-stream", setup: appStream, req: req("GetLogEvents", `{"logGroupName":"app","logStreamName":"s1"}`)},
		{op: "GetLogEvents", name: "bad-token", setup: appStream, req: req("GetLogEvents", `{"logGroupName":"app","logStreamName":"s1","nextToken":"invalid-token"}`)},
		{op: "GetLogEvents", name: "limit-too-high", setup: appStream, req: req("GetLogEvents", `{"logGroupName":"app","logStreamName":"s1","limit":10001}`)},
		{op: "GetLogEvents", name: "group-not-found", req: req("GetLogEvents", `{"logGroupName":"app","logStreamName":"s1"}`)},
		{op: "GetLogEvents", name: "stream-not-found", setup: app, req: req("GetLogEvents", `{"logGroupName":"app","logStreamName":"s1"}`)},
		{op: "FilterLogEvents", name: "term", setup: withEvents, req: req("FilterLogEvents", `{"logGroupName":"app","filterPattern":"ERROR"}`)},
		{op: "FilterLogEvents", name: "json", setup: withEvents, req: req("FilterLogEvents", `{"logGroupName":"app","filterPattern":"{ $.level = \"ERROR\" }"}`)},
		{op: "FilterLogEvents", name: "streams-and-time", setup: withEvents, req: func(e *env) apitest.Response {
			return e.logs("FilterLogEvents", fmt.Sprintf(`{"logGroupName":"app","logStreamNames":["s1"],"startTime":%d,"endTime":%d}`, e.ms(-2*time.Second), e.ms(0)))
		}},
		{op: "FilterLogEvents", name: "paged", setup: withEvents, req: req("FilterLogEvents", `{"logGroupName":"app","limit":1,"interleaved":true}`)},
		{op: "FilterLogEvents", name: "bad-pattern", setup: withEvents, req: req("FilterLogEvents", `{"logGroupName":"app","filterPattern":"{ $.level = "}`)},
		{op: "FilterLogEvents", name: "bad-token", setup: withEvents, req: req("FilterLogEvents", `{"logGroupName":"app","nextToken":"nope"}`)},
		{op: "FilterLogEvents", name: "limit-too-high", setup: withEvents, req: req("FilterLogEvents", `{"logGroupName":"app","limit":10001}`)},
		{op: "FilterLogEvents", name: "group-not-found", req: req("FilterLogEvents", `{"logGroupName":"app"}`)},
		{op: "TagResource", name: "tagged", setup: app, req: func(e *env) apitest.Response {
			e.ok("TagResource", `{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:app","tags":{"a":"1","b":"2"}}`)
			e.ok("UntagResource", `{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:app","tagKeys":["a"]}`)
			return e.logs("ListTagsForResource", `{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:app"}`)
		}},
		{op: "TagResource", name: "not-found", req: req("TagResource", `{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:app","tags":{"a":"1"}}`)},
		{op: "TagResource", name: "stream-arn", req: req("TagResource", `{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:app:*","tags":{"a":"1"}}`)},
		{op: "TagLogGroup", name: "tagged", setup: app, req: func(e *env) apitest.Response {
			e.ok("TagLogGroup", `{"logGroupName":"app","tags":{"a":"1","b":"2"}}`)
			e.ok("UntagLogGroup", `{"logGroupName":"app","tags":["b"]}`)
			return e.logs("ListTagsLogGroup", `{"logGroupName":"app"}`)
		}},
		{op: "Logs", name: "unknown-operation", req: req("CreateExportTask", `{}`)},
	}
}

func TestLogsGolden(t *testing.T) {
	for _, tc := range logsGoldenCases() {
		t.Run(tc.op+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			apitest.CheckGolden(t, tc.op, tc.name, tc.req(e))
		})
	}
}

// getPage sends GetLogEvents and returns its messages and tokens.
func (e *env) getPage(body string) (msgs []string, fwd, bwd string) {
	e.t.Helper()
	out := e.ok("GetLogEvents", body)
	for _, ev := range out["events"].([]any) {
		msgs = append(msgs, ev.(map[string]any)["message"].(string))
	}
	return msgs, out["nextForwardToken"].(string), out["nextBackwardToken"].(string)
}

// TestGetLogEventsPaging pages a stream both ways as the CLI and the SDKs'
// paginators do: forward until the token repeats, backward likewise, and
// a follower picks up events added later with the token it holds.
func TestGetLogEventsPaging(t *testing.T) {
	e := newEnv(t)
	e.group("app")
	e.stream("app", "s")
	var args []any
	for i := range 25 {
		args = append(args, time.Duration(i-30)*time.Second, fmt.Sprintf("m%02d", i))
	}
	e.put("app", "s", args...)

	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("forward paging does not end")
		}
		body := `{"logGroupName":"app","logStreamName":"s","startFromHead":true,"limit":10`
		if token != "" {
			body += `,"nextToken":"` + token + `"`
		}
		msgs, fwd, _ := e.getPage(body + "}")
		got = append(got, msgs...)
		if fwd == token {
			break
		}
		token = fwd
	}
	if len(got) != 25 || got[0] != "m00" || got[24] != "m24" {
		t.Fatalf("forward pages gave %v", got)
	}

	// Backward from the end, newest page first.
	var back []string
	msgs, _, bwd := e.getPage(`{"logGroupName":"app","logStreamName":"s","limit":10}`)
	back = append(msgs, back...)
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("backward paging does not end")
		}
		msgs, _, next := e.getPage(`{"logGroupName":"app","logStreamName":"s","limit":10,"nextToken":"` + bwd + `"}`)
		back = append(msgs, back...)
		if next == bwd {
			break
		}
		bwd = next
	}
	if strings.Join(back, ",") != strings.Join(got, ",") {
		t.Errorf("backward pages gave %v, want %v", back, got)
	}

	// A follower holding the last forward token sees what comes next.
	e.put("app", "s", -time.Second, "later")
	msgs, fwd, _ := e.getPage(`{"logGroupName":"app","logStreamName":"s","nextToken":"` + token + `"}`)
	if len(msgs) != 1 || msgs[0] != "later" || fwd == token {
		t.Errorf("after new events: %v, token %s (was %s)", msgs, fwd, token)
	}
}

// TestFilterLogEventsPaging pages a search through many events with the
// tokens FilterLogEvents answers, as the CLI's paginator does.
func TestFilterLogEventsPaging(t *testing.T) {
	e := newEnv(t)
	e.group("app")
	for _, s := range []string{"a", "b"} {
		e.stream("app", s)
		var args []any
		for i := range 300 {
			msg := fmt.Sprintf("%s-%03d", s, i)
			if i%3 == 0 {
				msg += " ERROR"
			}
			args = append(args, time.Duration(i-600)*time.Second, msg)
		}
		e.put("app", s, args...)
	}
	seen := map[string]bool{}
	token, last := "", int64(0)
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		body := `{"logGroupName":"app","filterPattern":"ERROR","limit":7`
		if token != "" {
			body += `,"nextToken":"` + token + `"`
		}
		out := e.ok("FilterLogEvents", body+"}")
		for _, ev := range out["events"].([]any) {
			m := ev.(map[string]any)
			ts := int64(m["timestamp"].(float64))
			if ts < last {
				t.Fatalf("events out of time order: %d after %d", ts, last)
			}
			last = ts
			id := m["eventId"].(string)
			if seen[id] || len(id) != 56 {
				t.Fatalf("eventId %q repeated or not 56 digits", id)
			}
			seen[id] = true
		}
		next, _ := out["nextToken"].(string)
		if next == "" {
			break
		}
		token = next
	}
	if len(seen) != 200 {
		t.Errorf("found %d events, want 200", len(seen))
	}
}

// TestRetentionSweep expires events as the clock moves, without sleeping.
func TestRetentionSweep(t *testing.T) {
	e := newEnv(t)
	e.group("app")
	e.stream("app", "s")
	e.put("app", "s", -3*time.Hour, "old", -time.Minute, "new")
	e.ok("PutRetentionPolicy", `{"logGroupName":"app","retentionInDays":1}`)
	sw := logs.NewSweeper(e.svc)
	if n, err := sw.Sweep(t.Context()); err != nil || n != 0 {
		t.Fatalf("Sweep = %d, %v; nothing is a day old yet", n, err)
	}
	e.now = e.now.Add(24*time.Hour - 2*time.Hour)
	if n, err := sw.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("Sweep a day later = %d, %v, want 1", n, err)
	}
	msgs, _, _ := e.getPage(`{"logGroupName":"app","logStreamName":"s","startFromHead":true}`)
	if strings.Join(msgs, ",") != "new" {
		t.Errorf("left after the sweep: %v", msgs)
	}
	groups := e.ok("DescribeLogGroups", `{}`)["logGroups"].([]any)
	if got := groups[0].(map[string]any)["storedBytes"].(float64); got != float64(lambdahost.LogEventSize("new")) {
		t.Errorf("storedBytes = %v", got)
	}
}

// TestAccountBound drops an account's oldest events once it stores more
// than its bound.
func TestAccountBound(t *testing.T) {
	e := newEnv(t)
	e.svc.AccountLimit = 10 * lambdahost.LogEventSize("m00")
	e.group("app")
	e.stream("app", "s")
	for i := range 12 {
		e.put("app", "s", time.Duration(i-20)*time.Second, fmt.Sprintf("m%02d", i))
	}
	msgs, _, _ := e.getPage(`{"logGroupName":"app","logStreamName":"s","startFromHead":true}`)
	// The 11th event took it over 10: down to 9; the 12th makes 10.
	if want := "m02,m03,m04,m05,m06,m07,m08,m09,m10,m11"; strings.Join(msgs, ",") != want {
		t.Errorf("events kept = %v, want %s", msgs, want)
	}
}

// TestIngester stores what the executor logs, creating groups and streams
// on first use, and splits a line longer than an event may be.
func TestIngester(t *testing.T) {
	e := newEnv(t)
	in := logs.NewIngester(e.svc)
	g := lambdahost.LogGroupID{Account: "000000000000", Region: "us-east-1", Name: "/aws/lambda/f"}
	long := strings.Repeat("é", 200*1024)
	in.Log(g, "2026/01/02/[$LATEST]0001", lambdahost.LogEvent{Time: e.ms(0), Message: "START\n"}, lambdahost.LogEvent{Time: e.ms(0), Message: long})
	in.Log(g, "2026/01/02/[$LATEST]0002", lambdahost.LogEvent{Time: e.ms(0), Message: "other\n"})
	if err := in.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ := e.getPage(`{"logGroupName":"/aws/lambda/f","logStreamName":"2026/01/02/[$LATEST]0001","startFromHead":true}`)
	if len(msgs) != 3 || msgs[0] != "START\n" || msgs[1]+msgs[2] != long || len(msgs[1])+26 > logs.MaxEventSize {
		t.Errorf("stored %d events (first %q)", len(msgs), msgs[0])
	}
	streams := e.ok("DescribeLogStreams", `{"logGroupName":"/aws/lambda/f"}`)["logStreams"].([]any)
	if len(streams) != 2 {
		t.Errorf("streams = %v", streams)
	}
	in.Log(g, "2026/01/02/[$LATEST]0002", lambdahost.LogEvent{Time: e.ms(0), Message: "closing\n"})
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ = e.getPage(`{"logGroupName":"/aws/lambda/f","logStreamName":"2026/01/02/[$LATEST]0002","startFromHead":true}`)
	if strings.Join(msgs, "") != "other\nclosing\n" {
		t.Errorf("after Close: %q", msgs)
	}
}

// TestIngesterBound drops the oldest pending events past MaxPending.
func TestIngesterBound(t *testing.T) {
	e := newEnv(t)
	in := logs.NewIngester(e.svc)
	in.MaxPending = 3
	g := lambdahost.LogGroupID{Account: "000000000000", Region: "us-east-1", Name: "g"}
	for i := range 5 {
		in.Log(g, "s", lambdahost.LogEvent{Time: e.ms(0), Message: fmt.Sprint(i)})
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ := e.getPage(`{"logGroupName":"g","logStreamName":"s","startFromHead":true}`)
	if strings.Join(msgs, ",") != "2,3,4" {
		t.Errorf("kept %v, want the newest three", msgs)
	}
}

// fuzzOps are the operations FuzzLogs sends its bodies to, and one that
// does not exist.
var fuzzOps = []string{"CreateLogGroup", "DeleteLogGroup", "DescribeLogGroups", "PutRetentionPolicy", "DeleteRetentionPolicy",
	"CreateLogStream", "DeleteLogStream", "DescribeLogStreams", "PutLogEvents", "GetLogEvents", "FilterLogEvents",
	"TagResource", "UntagResource", "ListTagsForResource", "TagLogGroup", "UntagLogGroup", "ListTagsLogGroup", "StartLiveTail", "Nope"}

// FuzzLogs sends hostile bodies to every operation: whatever it sends, a
// success or an AWS-shaped client error.
func FuzzLogs(f *testing.F) {
	e := newEnv(f)
	e.api.TailMaxDuration = time.Millisecond
	withEvents(e)
	for i, body := range []string{
		`{"logGroupName":"app","tags":{"a":"b"},"logGroupClass":"STANDARD"}`,
		`{"logGroupName":"app"}`,
		`{"logGroupNamePrefix":"a","limit":1,"nextToken":"Zy9h"}`,
		`{"logGroupName":"app","retentionInDays":7}`,
		`{"logGroupName":"app"}`,
		`{"logGroupName":"app","logStreamName":"s3"}`,
		`{"logGroupName":"app","logStreamName":"s3"}`,
		`{"logGroupIdentifier":"arn:aws:logs:us-east-1:000000000000:log-group:app:*","orderBy":"LastEventTime","descending":true}`,
		`{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":1767322945000,"message":"x"}]}`,
		`{"logGroupName":"app","logStreamName":"s1","nextToken":"f/00000000000000000000000000000000000000000000000000000000/s"}`,
		`{"logGroupName":"app","filterPattern":"{ $.a[*] = \"x*\" || $.b > 1 }","logStreamNamePrefix":"s"}`,
		`{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:app","tags":{"a":"b"}}`,
		`{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:app","tagKeys":["a"]}`,
		`{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:app"}`,
		`{"logGroupName":"app","tags":{"a":"b"}}`,
		`{"logGroupName":"app","tags":["a"]}`,
		`{"logGroupName":"app"}`,
		`{"logGroupIdentifiers":["arn:aws:logs:us-east-1:000000000000:log-group:app"],"logEventFilterPattern":"ERROR"}`,
		`{}`,
	} {
		f.Add(uint8(i), body)
	}
	f.Add(uint8(9), `{"logGroupName":"app","logStreamName":"s1","nextToken":"b/99999999999999999999999999999999999999999999999999999999/s","limit":0}`)
	f.Add(uint8(8), `{"logGroupName":"app","logStreamName":"s1","logEvents":[{"timestamp":-1,"message":""},null]}`)
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		req, err := http.NewRequestWithContext(context.Background(), "POST", "http://"+apitest.Host+"/", strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Logs_20140328."+fuzzOps[int(op)%len(fuzzOps)])
		apitest.ServeFuzzed(t, e.api, req, body, "logs", fuzzOps[int(op)%len(fuzzOps)] != "StartLiveTail")
	})
}

//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// logsWait bounds how long a test waits for a function's lines to be
// stored: they are written in the background a fraction of a second
// after the invocation, which a loaded machine may stretch a lot.
const logsWait = 2 * time.Minute

// NewLogsClient returns an aws-sdk-go-v2 CloudWatch Logs client of srv,
// without retries. StartLiveTail's "stream-" host prefix is disabled, as it
// must be for any endpoint that is an address.
func NewLogsClient(srv *Server) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		BaseEndpoint: aws.String(srv.Endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(TestCredentials.AccessKeyID, TestCredentials.SecretAccessKey, ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Timeout: 5 * time.Minute},
		APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
		}},
	})
}

// waitForLog polls group with FilterLogEvents until an event contains
// want, and returns the group's events then.
func waitForLog(t testing.TB, c *cloudwatchlogs.Client, group, want string) []types.FilteredLogEvent {
	t.Helper()
	deadline := time.Now().Add(logsWait)
	for {
		var all []types.FilteredLogEvent
		found := false
		p := cloudwatchlogs.NewFilterLogEventsPaginator(c, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
		for p.HasMorePages() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				var nf *types.ResourceNotFoundException
				if !errors.As(err, &nf) {
					t.Fatalf("FilterLogEvents %s: %v", group, err)
				}
				break
			}
			for _, e := range page.Events {
				all = append(all, e)
				found = found || strings.Contains(aws.ToString(e.Message), want)
			}
		}
		if found {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event with %q in %s after %v; events: %v", want, group, logsWait, messagesOf(all))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func messagesOf(evs []types.FilteredLogEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

// logsCLI runs "aws logs ARGS..." and returns its JSON, failing on an error.
func logsCLI(t testing.TB, cli *CLI, args ...string) map[string]any {
	t.Helper()
	r := cli.Run(t, append([]string{"logs"}, args...)...)
	if r.ExitCode != 0 {
		t.Fatalf("aws logs %s: %s", strings.Join(args, " "), r.Stderr)
	}
	return r.JSON
}

// boto3Logs runs testdata/boto3/logs.py with args and returns its JSON.
func boto3Logs(t testing.TB, srv *Server, args ...string) map[string]any {
	t.Helper()
	python := needBoto3(t)
	cmd := exec.CommandContext(t.Context(), python, append([]string{boto3Script(t, "logs.py")}, args...)...)
	cmd.Env = boto3Env(t.TempDir(), srv.Endpoint, TestCredentials, "us-east-1")
	dieWithTest(cmd)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("logs.py %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("logs.py %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return v
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

var (
	reLogStream = regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`)
	reInitStart = regexp.MustCompile(`^INIT_START Runtime Version: [a-z]+:[0-9a-z.]+\.v\d+\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}\n$`)
)

// TestFunctionLogs invokes a Python, a Node.js and a Go function, then
// reads their log groups with the aws CLI, boto3 and aws-sdk-go-v2: one
// stream per environment, named as Lambda names it, holding INIT_START,
// START, the output, END and REPORT as Lambda writes them.
func TestFunctionLogs(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	cli := NewCLI(t, srv.Endpoint, TestCredentials, "us-east-1")
	sdk := NewLogsClient(srv)
	for _, f := range []testFunction{python312Fn, nodeFn, goFn} {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			name := f.fnName("logs", d)
			group := "/aws/lambda/" + name
			createFunction(t, d, name, f, "logs", nil)
			var ids []string
			for _, line := range []string{"first line of " + name, "second line of " + name} {
				r := invoke(t, d, name, Params{"print": line})
				ids = append(ids, str(wantVersion(t, r, "logs"), "request_id"))
			}
			waitForLog(t, sdk, group, "REPORT RequestId: "+ids[1])

			// aws CLI: the stream, and its events from the head.
			streams := logsCLI(t, cli, "describe-log-streams", "--log-group-name", group, "--order-by", "LastEventTime", "--descending")["logStreams"].([]any)
			if len(streams) != 1 {
				t.Fatalf("streams %v, want the one environment's", streams)
			}
			stream := str(streams[0].(map[string]any), "logStreamName")
			if !reLogStream.MatchString(stream) {
				t.Errorf("stream name %q", stream)
			}
			var msgs []string
			for _, e := range logsCLI(t, cli, "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head")["events"].([]any) {
				msgs = append(msgs, str(e.(map[string]any), "message"))
			}
			if len(msgs) != 9 {
				t.Fatalf("events %q, want INIT_START and two invocations of four lines", msgs)
			}
			if !reInitStart.MatchString(msgs[0]) {
				t.Errorf("INIT_START line %q", msgs[0])
			}
			for i, id := range ids {
				inv := msgs[1+4*i : 5+4*i]
				if inv[0] != "START RequestId: "+id+" Version: $LATEST\n" || !strings.HasSuffix(inv[1], "line of "+name+"\n") || inv[2] != "END RequestId: "+id+"\n" {
					t.Errorf("invocation %d: %q", i, inv)
				}
				report := `^REPORT RequestId: ` + id + `\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t`
				if i == 0 {
					report += `Init Duration: \d+\.\d\d ms\t`
				}
				if !regexp.MustCompile(report + "\n$").MatchString(inv[3]) {
					t.Errorf("REPORT line %q", inv[3])
				}
			}
			found := logsCLI(t, cli, "filter-log-events", "--log-group-name", group, "--filter-pattern", `"Init Duration"`)["events"].([]any)
			if len(found) != 1 || str(found[0].(map[string]any), "logStreamName") != stream {
				t.Errorf("filter-log-events for the cold start found %v", found)
			}
			groups := logsCLI(t, cli, "describe-log-groups", "--log-group-name-prefix", group)["logGroups"].([]any)
			if len(groups) != 1 || groups[0].(map[string]any)["storedBytes"].(float64) == 0 {
				t.Errorf("describe-log-groups: %v", groups)
			}

			// boto3 pages both ways; the SDK's paginator stops on the
			// repeated token.
			b := boto3Logs(t, srv, "get", group, stream, "3")
			if got := strs(b["forward"]); strings.Join(got, "") != strings.Join(msgs, "") {
				t.Errorf("boto3 forward pages %q, want %q", got, msgs)
			}
			if got := strs(b["backward"]); strings.Join(got, "") != strings.Join(msgs, "") {
				t.Errorf("boto3 backward pages %q, want %q", got, msgs)
			}
			var sdkMsgs []string
			p := cloudwatchlogs.NewGetLogEventsPaginator(sdk, &cloudwatchlogs.GetLogEventsInput{
				LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), Limit: aws.Int32(4),
			}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
			for pages := 0; p.HasMorePages(); pages++ {
				if pages > 10 {
					t.Fatal("the SDK's GetLogEvents paginator does not stop")
				}
				page, err := p.NextPage(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Events {
					sdkMsgs = append(sdkMsgs, aws.ToString(e.Message))
				}
			}
			if strings.Join(sdkMsgs, "") != strings.Join(msgs, "") {
				t.Errorf("SDK pages %q, want %q", sdkMsgs, msgs)
			}
		})
	}
}

// TestFunctionLogsJSON runs Python and Node.js functions with the JSON log
// format, an application log level of WARN and a log group of their own:
// records below WARN are left out, the platform writes platform.* records,
// and JSON filter patterns find them.
func TestFunctionLogsJSON(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	d := NewDriver(t, Boto3Driver, srv, TestCredentials, "us-east-1")
	cli := NewCLI(t, srv.Endpoint, TestCredentials, "us-east-1")
	sdk := NewLogsClient(srv)
	for _, f := range []testFunction{python312Fn, nodeFn} {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			name := f.fnName("jsonlogs", d)
			group := "/custom/" + name
			created := createFunction(t, d, name, f, "json", Params{"LoggingConfig": Params{"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "LogGroup": group}})
			lc := created.Get("LoggingConfig").(map[string]any)
			if lc["LogFormat"] != "JSON" || lc["ApplicationLogLevel"] != "WARN" || lc["SystemLogLevel"] != "INFO" || lc["LogGroup"] != group {
				t.Errorf("LoggingConfig %v", lc)
			}
			wantVersion(t, invoke(t, d, name, Params{"log": Params{"level": "INFO", "message": "hidden info"}}), "json")
			r := invoke(t, d, name, Params{"log": Params{"level": "ERROR", "message": "shown error"}, "print": "plain print"})
			id := str(wantVersion(t, r, "json"), "request_id")
			waitForLog(t, sdk, group, `"type":"platform.report","record":{"requestId":"`+id+`"`)

			errs := logsCLI(t, cli, "filter-log-events", "--log-group-name", group, "--filter-pattern", `{ $.level = "ERROR" }`)["events"].([]any)
			if len(errs) != 1 {
				t.Fatalf("ERROR records %v, want one", errs)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(str(errs[0].(map[string]any), "message")), &rec); err != nil || rec["message"] != "shown error" || rec["requestId"] != id {
				t.Errorf("ERROR record %v (%v)", errs[0], err)
			}
			reports := logsCLI(t, cli, "filter-log-events", "--log-group-name", group, "--filter-pattern", `{ $.type = "platform.report" && $.record.metrics.memorySizeMB = 128 }`)["events"].([]any)
			if len(reports) != 2 {
				t.Errorf("platform.report records %v, want two", reports)
			}
			all := logsCLI(t, cli, "filter-log-events", "--log-group-name", group)["events"].([]any)
			for _, e := range all {
				m := str(e.(map[string]any), "message")
				if strings.Contains(m, "hidden") || strings.Contains(m, "plain print") || strings.HasPrefix(m, "START ") {
					t.Errorf("an event below the levels, or in Text format: %q", m)
				}
			}
			if gs := logsCLI(t, cli, "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/"+name)["logGroups"].([]any); len(gs) != 0 {
				t.Errorf("the default log group was used: %v", gs)
			}
		})
	}
}

// TestLogsTail follows a function's log group while it is invoked: as the
// aws CLI v2's `aws logs tail --follow` does it (its FilterLogEvents calls,
// replayed through boto3, as CLI v1 has no tail command), and with CLI
// v1's start-live-tail, whose event stream lambdahost serves.
func TestLogsTail(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	cli := NewCLI(t, srv.Endpoint, TestCredentials, "us-east-1")
	name := goFn.fnName("tail", d)
	group := "/aws/lambda/" + name
	createFunction(t, d, name, goFn, "tail", nil)
	wantVersion(t, invoke(t, d, name, Params{"print": "before the tails"}), "tail")
	waitForLog(t, NewLogsClient(srv), group, "before the tails")

	// start-live-tail runs until interrupted, printing each event's message.
	tail := exec.CommandContext(t.Context(), cli.path, "--endpoint-url", srv.Endpoint, "logs", "start-live-tail",
		"--log-group-identifiers", "arn:aws:logs:us-east-1:000000000000:log-group:"+group, "--log-event-filter-pattern", "tailed")
	// The CLI puts "stream-" before StartLiveTail's host unless told not to.
	tail.Env = append(cli.env, "AWS_DISABLE_HOST_PREFIX_INJECTION=true")
	dieWithTest(tail)
	stdout, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	tail.Stderr = &stderr
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	var (
		wg    sync.WaitGroup
		boto3 map[string]any
	)
	since := time.Now().Add(-time.Minute).UnixMilli()
	wg.Go(func() { boto3 = boto3Logs(t, srv, "tail", group, fmt.Sprint(since), "tailed line", "120") })
	// The tails start while the function runs: invoke until both saw it.
	deadline := time.Now().Add(logsWait)
	seen := false
	for !seen && time.Now().Before(deadline) {
		wantVersion(t, invoke(t, d, name, Params{"print": "tailed line"}), "tail")
		timeout := time.After(2 * time.Second)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("start-live-tail ended: %s", stderr.String())
				}
				if strings.Contains(l, "tailed line") {
					seen = true
					break read
				}
				if strings.Contains(l, "before the tails") {
					t.Errorf("start-live-tail printed an event from before it started: %q", l)
				}
			case <-timeout:
				break read
			}
		}
	}
	if !seen {
		t.Errorf("start-live-tail printed no tailed line after %v: %s", logsWait, stderr.String())
	}
	tail.Process.Signal(syscall.SIGINT)
	go io.Copy(io.Discard, stdout)
	if err := tail.Wait(); err != nil {
		t.Errorf("start-live-tail after SIGINT: %v: %s", err, stderr.String())
	}
	wg.Wait()
	msgs := strs(boto3["messages"])
	if boto3["timeout"] == true || !strings.Contains(strings.Join(msgs, ""), "before the tails") {
		t.Errorf("the tail saw %q", msgs)
	}
}

// TestLogsPutRetentionPaging writes events with PutLogEvents (the SDK),
// pages through 2,500 of them with every client, and expires old ones
// with a retention policy.
func TestLogsPutRetentionPaging(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	cli := NewCLI(t, srv.Endpoint, TestCredentials, "us-east-1")
	sdk := NewLogsClient(srv)
	const group, stream = "app", "s"
	logsCLI(t, cli, "create-log-group", "--log-group-name", group, "--tags", "team=a")
	if r := cli.Run(t, "logs", "create-log-group", "--log-group-name", group); r.ExitCode == 0 || !strings.Contains(r.Stderr, "ResourceAlreadyExistsException") {
		t.Errorf("create-log-group twice: %d %s", r.ExitCode, r.Stderr)
	}
	logsCLI(t, cli, "create-log-stream", "--log-group-name", group, "--log-stream-name", stream)

	now := time.Now()
	old := now.Add(-72 * time.Hour).UnixMilli()
	put := func(evs []types.InputLogEvent) *cloudwatchlogs.PutLogEventsOutput {
		out, err := sdk.PutLogEvents(t.Context(), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	put([]types.InputLogEvent{{Timestamp: aws.Int64(old), Message: aws.String("old event")}})
	var evs []types.InputLogEvent
	for i := range 2500 {
		evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(now.Add(-time.Hour).UnixMilli() + int64(i)), Message: aws.String(fmt.Sprintf("event %04d", i))})
	}
	if out := put(evs); out.RejectedLogEventsInfo != nil {
		t.Errorf("rejected %+v", out.RejectedLogEventsInfo)
	}
	out := put([]types.InputLogEvent{{Timestamp: aws.Int64(now.Add(3 * time.Hour).UnixMilli()), Message: aws.String("too new")}})
	if out.RejectedLogEventsInfo == nil || aws.ToInt32(out.RejectedLogEventsInfo.TooNewLogEventStartIndex) != 0 {
		t.Errorf("an event 3 hours ahead: rejected %+v", out.RejectedLogEventsInfo)
	}

	logsCLI(t, cli, "put-retention-policy", "--log-group-name", group, "--retention-in-days", "1")
	g := logsCLI(t, cli, "describe-log-groups", "--log-group-name-prefix", group)["logGroups"].([]any)[0].(map[string]any)
	var want int64
	for _, e := range evs {
		want += int64(len(aws.ToString(e.Message))) + 26
	}
	if g["retentionInDays"] != 1.0 || int64(g["storedBytes"].(float64)) != want {
		t.Errorf("group after the retention policy: %v, want storedBytes %d", g, want)
	}

	// The CLI pages filter-log-events itself.
	cliEvents := logsCLI(t, cli, "filter-log-events", "--log-group-name", group, "--page-size", "300")["events"].([]any)
	if len(cliEvents) != 2500 || str(cliEvents[0].(map[string]any), "message") != "event 0000" || str(cliEvents[2499].(map[string]any), "message") != "event 2499" {
		t.Errorf("CLI filter-log-events: %d events", len(cliEvents))
	}
	b := boto3Logs(t, srv, "get", group, stream, "500")
	if f, bw := strs(b["forward"]), strs(b["backward"]); len(f) != 2500 || len(bw) != 2500 || f[0] != "event 0000" || bw[2499] != "event 2499" {
		t.Errorf("boto3 pages: %d forward, %d backward", len(f), len(bw))
	}
	filtered := boto3Logs(t, srv, "filter", group, "?\"event 1\" ?\"event 2\"")["events"].([]any)
	if len(filtered) != 1500 {
		t.Errorf("boto3 filter of events 1xxx and 2xxx: %d events", len(filtered))
	}
	n := 0
	p := cloudwatchlogs.NewFilterLogEventsPaginator(sdk, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), Limit: aws.Int32(700)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Events)
	}
	if n != 2500 {
		t.Errorf("SDK paginator: %d events", n)
	}
	if r := cli.Run(t, "logs", "get-log-events", "--log-group-name", "none", "--log-stream-name", stream); !strings.Contains(r.Stderr, "ResourceNotFoundException") || !strings.Contains(r.Stderr, "The specified log group does not exist.") {
		t.Errorf("get-log-events of a missing group: %s", r.Stderr)
	}
}

// TestLogsSurviveRestart keeps functions' logs across a clean restart,
// and events PutLogEvents acknowledged across a kill -9.
func TestLogsSurviveRestart(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	name := python312Fn.fnName("restart", d)
	group := "/aws/lambda/" + name
	createFunction(t, d, name, python312Fn, "restart", nil)
	r := invoke(t, d, name, Params{"print": "before the restart"})
	id := str(wantVersion(t, r, "restart"), "request_id")
	// SIGTERM right away: the lines still in memory are written on the
	// way out.
	if code, err := srv.Stop(); err != nil || code != 0 {
		t.Fatalf("stop: %d, %v", code, err)
	}
	srv.Restart()
	waitForLog(t, NewLogsClient(srv), group, "REPORT RequestId: "+id)

	sdk := NewLogsClient(srv)
	if _, err := sdk.CreateLogGroup(t.Context(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("acked")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.CreateLogStream(t.Context(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("acked"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.PutLogEvents(t.Context(), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("acked"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("acknowledged")}}}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	srv.Restart()
	waitForLog(t, NewLogsClient(srv), "acked", "acknowledged")
	waitForLog(t, NewLogsClient(srv), group, "before the restart")
}

//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// batchFunction reports every batch it gets in its log, as base64 of a
// JSON document (BATCH:<function>:<base64>), and fails messages as their
// bodies say: "fail-once…" is reported as a batch item failure the first
// time it is received, "raise…" makes the whole invocation fail.
const batchFunction = `import base64, json, os

def handler(event, context):
    recs = event["Records"]
    doc = {"bodies": [r.get("body") for r in recs],
           "counts": [r.get("attributes", {}).get("ApproximateReceiveCount") for r in recs],
           "groups": [r.get("attributes", {}).get("MessageGroupId") for r in recs],
           "records": recs}
    print("BATCH:" + os.environ["AWS_LAMBDA_FUNCTION_NAME"] + ":" + base64.b64encode(json.dumps(doc).encode()).decode())
    failures = []
    for r in recs:
        b = r.get("body", "")
        if b.startswith("raise"):
            raise Exception("raised for " + b)
        if b.startswith("fail-once") and r["attributes"]["ApproximateReceiveCount"] == "1":
            failures.append({"itemIdentifier": r["messageId"]})
    return {"batchItemFailures": failures}
`

// batch is what batchFunction reports of one batch.
type batch struct {
	Bodies  []string          `json:"bodies"`
	Counts  []string          `json:"counts"`
	Groups  []*string         `json:"groups"`
	Records []json.RawMessage `json:"records"`
}

var reBatch = regexp.MustCompile(`BATCH:([a-zA-Z0-9-_]+):([A-Za-z0-9+/=]+)`)

// batches returns the batches function fn has reported so far.
func (l *logTap) batches(t testing.TB, fn string) []batch {
	t.Helper()
	l.mu.Lock()
	lines := slices.Clone(l.lines)
	l.mu.Unlock()
	var out []batch
	for _, line := range lines {
		m := reBatch.FindStringSubmatch(line)
		if m == nil || m[1] != fn {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(m[2])
		if err != nil {
			t.Fatalf("batch report %q: %v", m[2], err)
		}
		var bt batch
		if err := json.Unmarshal(b, &bt); err != nil {
			t.Fatalf("batch report %s: %v", b, err)
		}
		out = append(out, bt)
	}
	return out
}

// bodies returns every body fn was handed, in the order of its batches.
func (l *logTap) bodies(t testing.TB, fn string) []string {
	var all []string
	for _, b := range l.batches(t, fn) {
		all = append(all, b.Bodies...)
	}
	return all
}

// waitBodies waits up to bound until fn has been handed every body of
// want (in any order, each at least once) and answers all it was handed.
func (l *logTap) waitBodies(t testing.TB, fn string, want []string, bound time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		got := l.bodies(t, fn)
		missing := 0
		for _, w := range want {
			if !slices.Contains(got, w) {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was handed %v within %v, want all of %v", fn, got, bound, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEmpty waits up to bound until q holds no message, visible or not.
func (q *queues) waitEmpty(t testing.TB, qu queue, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		v, f := q.count(t, qu)
		if v+f == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still holds %d visible and %d in-flight messages after %v", qu.ARN, v, f, bound)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (q *queues) send(t testing.TB, qu queue, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		in := &awssqs.SendMessageInput{QueueUrl: aws.String(qu.URL), MessageBody: aws.String(b)}
		if strings.HasSuffix(qu.ARN, ".fifo") {
			group, _, _ := strings.Cut(b, "/")
			in.MessageGroupId, in.MessageDeduplicationId = aws.String(group), aws.String(b)
		}
		if _, err := q.SendMessage(t.Context(), in); err != nil {
			t.Fatalf("SendMessage: %v", err)
		}
	}
}

// waitState waits up to bound until mapping uuid is in state.
func waitState(t testing.TB, d Driver, uuid, state string, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		r := d.Call(t, "GetEventSourceMapping", Params{"UUID": uuid}).OK(t)
		if r.Str("State") == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mapping %s is %s after %v, want %s", uuid, r.Str("State"), bound, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const esmBound = 3 * time.Minute

// TestSQSMapping runs SQS event source mappings against a real queue
// server: batches with AWS's SQS event, a partial batch failure that
// returns only the failed message to the queue, filters that hand on only
// matching messages and delete the rest, disable and enable, and a FIFO
// queue whose message groups keep their order.
func TestSQSMapping(t *testing.T) {
	t.Parallel()
	a := testserver.StartAWS(t)
	tap := &logTap{TB: t}
	srv := Start(tap, awsEnv(a), WithArgs("--log-level", "debug"))
	q := newQueues(a)
	zip := makeZip(t, "index.py", batchFunction)
	cli := NewDriver(t, CLIDriver, srv, TestCredentials, "us-east-1")
	boto := NewDriver(t, Boto3Driver, srv, TestCredentials, "us-east-1")
	sdk := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")

	t.Run("batches-and-partial-failure", func(t *testing.T) {
		name := "sqs-batches"
		mustCreate(t, cli, name, zip)
		src := q.create(t, name, map[string]string{"VisibilityTimeout": "2"})
		r := cli.Call(t, "CreateEventSourceMapping", Params{"FunctionName": name, "EventSourceArn": src.ARN,
			"BatchSize": 10, "FunctionResponseTypes": []string{"ReportBatchItemFailures"}}).OK(t)
		uuid := r.Str("UUID")
		wantStr(t, r, "State", "Creating")
		wantStr(t, r, "StateTransitionReason", "USER_INITIATED")
		wantStr(t, r, "EventSourceMappingArn", "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:"+uuid)
		waitState(t, sdk, uuid, "Enabled", esmBound)
		q.send(t, src, "one", "two", "fail-once-three")
		tap.waitBodies(t, name, []string{"one", "two", "fail-once-three"}, esmBound)
		q.waitEmpty(t, src, esmBound)
		got := tap.bodies(t, name)
		// The failed message came back once, alone; the others never did.
		count := map[string]int{}
		for _, b := range got {
			count[b]++
		}
		if count["one"] != 1 || count["two"] != 1 || count["fail-once-three"] != 2 {
			t.Errorf("bodies handed on %v, want one and two once and fail-once-three twice", got)
		}
		// The record as AWS shapes it.
		rec := tap.batches(t, name)[0].Records[0]
		if got, want := keysOf(t, rec), []string{"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfMessageAttributes", "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"}; !slices.Equal(got, want) {
			t.Errorf("SQS record keys %v, want %v", got, want)
		}
		var sr struct {
			EventSource, EventSourceARN, AwsRegion, MessageID, Md5OfBody string
			MD5OfMessageAttributes                                       *string `json:"md5OfMessageAttributes"`
			Attributes                                                   map[string]string
			MessageAttributes                                            map[string]any
		}
		json.Unmarshal(rec, &sr)
		if sr.EventSource != "aws:sqs" || sr.EventSourceARN != src.ARN || sr.AwsRegion != "us-east-1" || sr.MessageID == "" || sr.Md5OfBody == "" ||
			sr.MD5OfMessageAttributes != nil || len(sr.MessageAttributes) != 0 {
			t.Errorf("SQS record %s", rec)
		}
		for _, k := range []string{"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} {
			if sr.Attributes[k] == "" {
				t.Errorf("record attributes %v lack %s", sr.Attributes, k)
			}
		}
		// Get and List answer it.
		boto.Call(t, "GetEventSourceMapping", Params{"UUID": uuid}).OK(t)
		l := sdk.Call(t, "ListEventSourceMappings", Params{"FunctionName": name}).OK(t)
		if ms, _ := l.Get("EventSourceMappings").([]any); len(ms) != 1 {
			t.Errorf("ListEventSourceMappings by function: %v", l.Body)
		}
		l = sdk.Call(t, "ListEventSourceMappings", Params{"EventSourceArn": src.ARN + "-none"}).OK(t)
		if ms, _ := l.Get("EventSourceMappings").([]any); len(ms) != 0 {
			t.Errorf("ListEventSourceMappings by another source: %v", l.Body)
		}
		// A function error returns the whole batch; the second try
		// succeeds for fail-once… but raise… fails again until the
		// test deletes it.
		cli.Call(t, "DeleteEventSourceMapping", Params{"UUID": uuid}).OK(t)
		cli.Call(t, "GetEventSourceMapping", Params{"UUID": uuid}).WantError(t, 404, "ResourceNotFoundException", "The resource you requested does not exist.")
	})

	t.Run("filters", func(t *testing.T) {
		name := "sqs-filters"
		mustCreate(t, boto, name, zip)
		src := q.create(t, name, nil)
		pattern := `{"body": {"kind": ["keep"], "n": [{"numeric": [">", 10]}]}}`
		r := boto.Call(t, "CreateEventSourceMapping", Params{"FunctionName": name, "EventSourceArn": src.ARN, "BatchSize": 1,
			"FilterCriteria": Params{"Filters": []Params{{"Pattern": pattern}}}}).OK(t)
		uuid := r.Str("UUID")
		if got := fmt.Sprint(r.Get("FilterCriteria")); !strings.Contains(got, `"kind"`) {
			t.Errorf("FilterCriteria answered %s", got)
		}
		waitState(t, sdk, uuid, "Enabled", esmBound)
		q.send(t, src, `{"kind":"drop","n":20}`, `{"kind":"keep","n":5}`, `not json`, `{"kind":"keep","n":11}`)
		tap.waitBodies(t, name, []string{`{"kind":"keep","n":11}`}, esmBound)
		// The others were deleted without reaching the function.
		q.waitEmpty(t, src, esmBound)
		if got := tap.bodies(t, name); !slices.Equal(got, []string{`{"kind":"keep","n":11}`}) {
			t.Errorf("bodies handed on %v, want only the matching one", got)
		}
	})

	t.Run("disable-enable", func(t *testing.T) {
		name := "sqs-toggle"
		mustCreate(t, sdk, name, zip)
		src := q.create(t, name, nil)
		uuid := sdk.Call(t, "CreateEventSourceMapping", Params{"FunctionName": name, "EventSourceArn": src.ARN}).OK(t).Str("UUID")
		waitState(t, sdk, uuid, "Enabled", esmBound)
		r := cli.Call(t, "UpdateEventSourceMapping", Params{"UUID": uuid, "Enabled": false}).OK(t)
		wantStr(t, r, "State", "Disabling")
		waitState(t, sdk, uuid, "Disabled", esmBound)
		q.send(t, src, "while-disabled")
		// Nothing polls: the message stays visible.
		time.Sleep(3 * time.Second)
		if v, f := q.count(t, src); v != 1 || f != 0 {
			t.Fatalf("while disabled the queue holds %d visible and %d in-flight messages, want 1 visible", v, f)
		}
		if got := tap.bodies(t, name); len(got) != 0 {
			t.Fatalf("handed on %v while disabled", got)
		}
		r = boto.Call(t, "UpdateEventSourceMapping", Params{"UUID": uuid, "Enabled": true}).OK(t)
		wantStr(t, r, "State", "Enabling")
		waitState(t, sdk, uuid, "Enabled", esmBound)
		tap.waitBodies(t, name, []string{"while-disabled"}, esmBound)
		q.waitEmpty(t, src, esmBound)
	})

	t.Run("fifo-order", func(t *testing.T) {
		name := "sqs-fifo"
		mustCreate(t, sdk, name, zip)
		src := q.create(t, name+".fifo", map[string]string{"VisibilityTimeout": "2"})
		uuid := sdk.Call(t, "CreateEventSourceMapping", Params{"FunctionName": name, "EventSourceArn": src.ARN, "BatchSize": 3}).OK(t).Str("UUID")
		waitState(t, sdk, uuid, "Enabled", esmBound)
		var want []string
		for i := range 6 {
			for _, g := range []string{"a", "b"} {
				body := fmt.Sprintf("%s/%d", g, i)
				want = append(want, body)
				q.send(t, src, body)
			}
		}
		got := tap.waitBodies(t, name, want, esmBound)
		q.waitEmpty(t, src, esmBound)
		for _, g := range []string{"a", "b"} {
			var seq []string
			for _, b := range got {
				if strings.HasPrefix(b, g+"/") {
					seq = append(seq, b)
				}
			}
			for i, b := range seq {
				if b != fmt.Sprintf("%s/%d", g, i) {
					t.Errorf("group %s handed on in the order %v", g, seq)
					break
				}
			}
		}
		rec := tap.batches(t, name)[0]
		if rec.Groups[0] == nil {
			t.Errorf("FIFO record lacks MessageGroupId: %s", rec.Records[0])
		}
	})
}

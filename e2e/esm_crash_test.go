//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// recordingFunction tells the test's recorder (an HTTP server on the
// host's loopback, at $RECORDER) what it does with each batch of SQS
// messages: /got with the bodies it was handed, which the recorder
// answers with the test's flags (and only once it lets go of a batch it
// holds), then /done with the bodies it succeeded on and those it reports
// as batch item failures (bodies starting "fail", while the flag failing
// is set). The function answers only after the recorder acknowledged
// /done: a message lambdahost deleted is one the recorder knows is done.
const recordingFunction = `import json, os, urllib.request

URL = os.environ["RECORDER"]

def post(path, doc):
    req = urllib.request.Request(URL + path, data=json.dumps(doc).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=110) as r:
        if r.status != 200:
            raise Exception(path + " answered " + str(r.status))
        return json.load(r)

def handler(event, context):
    recs = event["Records"]
    flags = post("/got", {"bodies": [r["body"] for r in recs]})
    failures, done, failed = [], [], []
    for r in recs:
        if r["body"].startswith("fail") and flags["failing"]:
            failures.append({"itemIdentifier": r["messageId"]})
            failed.append(r["body"])
        else:
            done.append(r["body"])
    post("/done", {"done": done, "failed": failed})
    return {"batchItemFailures": failures}
`

// recorder is the HTTP server recordingFunction reports to.
type recorder struct {
	url string // as functions reach it

	mu                sync.Mutex
	got, done, failed map[string]int
	held              int           // batches held so far
	release           chan struct{} // closed to let held batches go; nil when not holding
	failing           bool
}

// newRecorder serves a recorder on the host's loopback until t ends.
func newRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{url: fmt.Sprintf("http://host.lambdahost.internal:%d", ln.Addr().(*net.TCPAddr).Port),
		got: map[string]int{}, done: map[string]int{}, failed: map[string]int{}}
	srv := &http.Server{Handler: http.HandlerFunc(rec.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return rec
}

func (rec *recorder) serve(w http.ResponseWriter, r *http.Request) {
	var doc struct{ Bodies, Done, Failed []string }
	if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec.mu.Lock()
	switch r.URL.Path {
	case "/got":
		for _, b := range doc.Bodies {
			rec.got[b]++
		}
		if release := rec.release; release != nil {
			rec.held++
			rec.mu.Unlock()
			select {
			case <-release:
			case <-r.Context().Done(): // the function was killed
				return
			}
			rec.mu.Lock()
		}
		fmt.Fprintf(w, `{"failing": %v}`, rec.failing)
	case "/done":
		for _, b := range doc.Done {
			rec.done[b]++
		}
		for _, b := range doc.Failed {
			rec.failed[b]++
		}
		io.WriteString(w, "{}")
	default:
		http.NotFound(w, r)
	}
	rec.mu.Unlock()
}

// set sets the flags: hold makes /got wait until hold is set false.
func (rec *recorder) set(hold, failing bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.failing = failing
	switch {
	case hold && rec.release == nil:
		rec.release = make(chan struct{})
	case !hold && rec.release != nil:
		close(rec.release)
		rec.release = nil
	}
}

// snapshot copies what the recorder knows.
func (rec *recorder) snapshot() (got, done, failed map[string]int, held int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return maps.Clone(rec.got), maps.Clone(rec.done), maps.Clone(rec.failed), rec.held
}

// wait waits up to bound until ok holds of what the recorder knows.
func (rec *recorder) wait(t testing.TB, what string, bound time.Duration, ok func(got, done, failed map[string]int, held int) bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		got, done, failed, held := rec.snapshot()
		if ok(got, done, failed, held) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (%d handed on, %d done, %d failed, %d batches held)", what, bound, len(got), len(done), len(failed), held)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendAll sends bodies in batches of ten.
func (q *queues) sendAll(t testing.TB, qu queue, bodies []string) {
	t.Helper()
	for c := range slices.Chunk(bodies, 10) {
		in := &awssqs.SendMessageBatchInput{QueueUrl: aws.String(qu.URL)}
		for i, b := range c {
			in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(b)})
		}
		out, err := q.SendMessageBatch(t.Context(), in)
		if err != nil {
			t.Fatalf("SendMessageBatch: %v", err)
		}
		if len(out.Failed) > 0 {
			t.Fatalf("SendMessageBatch failed for %d messages: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
		}
	}
}

// contents answers the bodies of every message qu holds, with nothing
// polling it: it waits until none is in flight, receives them all and
// makes them visible again.
func (q *queues) contents(t testing.TB, qu queue, bound time.Duration) map[string]bool {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		if _, inFlight := q.count(t, qu); inFlight == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still has messages in flight after %v", qu.ARN, bound)
		}
		time.Sleep(100 * time.Millisecond)
	}
	bodies := map[string]bool{}
	var handles []string
	for {
		out, err := q.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(qu.URL), MaxNumberOfMessages: 10, VisibilityTimeout: 600})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			bodies[aws.ToString(m.Body)] = true
			handles = append(handles, aws.ToString(m.ReceiptHandle))
		}
		if len(out.Messages) == 0 {
			if visible, _ := q.count(t, qu); visible == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still receiving after %v", qu.ARN, bound)
		}
	}
	for c := range slices.Chunk(handles, 10) {
		in := &awssqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(qu.URL)}
		for i, h := range c {
			in.Entries = append(in.Entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: 0})
		}
		out, err := q.ChangeMessageVisibilityBatch(t.Context(), in)
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("ChangeMessageVisibilityBatch: %v %v", err, out)
		}
	}
	return bodies
}

// TestCrashWhileMessagesFlow kills lambdahost with SIGKILL while an SQS
// event source mapping hands messages to its function, some of which the
// function reports as failed and some of which it is still working on,
// and while an Event invocation's OnSuccess record waits to be delivered
// to a queue that does not exist yet. At the kill, every message whose
// function has not succeeded on it is still in the queue: none was
// deleted early, failed or in flight. After the restart every message is
// handed on until its function succeeds, and the acknowledged event's
// record arrives in its destination.
func TestCrashWhileMessagesFlow(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		requireTool(t, "function networks need namespaces, which need root")
	}
	if _, err := exec.LookPath("pasta"); err != nil {
		requireTool(t, "pasta is not installed (apt-get install passt)")
	}
	a := testserver.StartAWS(t)
	tap := &logTap{TB: t}
	srv := Start(tap, awsEnv(a), WithArgs("--sandbox", "namespaces", "--function-network", "host"))
	q := newQueues(a)
	rec := newRecorder(t)
	sdk := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	boto := NewDriver(t, Boto3Driver, srv, TestCredentials, "us-east-1")

	// An Event invocation whose record cannot be delivered yet: its
	// destination queue is created only while lambdahost is down.
	destName := fmt.Sprintf("crash-dest-%d", time.Now().UnixNano())
	destARN := "arn:aws:sqs:us-east-1:" + testserver.AWSAccount + ":" + destName
	mustCreate(t, sdk, "crash-async", makeZip(t, "index.py", destFunction))
	sdk.Call(t, "PutFunctionEventInvokeConfig", Params{"FunctionName": "crash-async",
		"DestinationConfig": Params{"OnSuccess": Params{"Destination": destARN}}}).OK(t)
	client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	out, err := client.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("crash-async"),
		InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"crash":"event"}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event Invoke: %v (%+v)", err, out)
	}
	requestID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)

	// The mapping, and the first half of the messages.
	const n = 200
	var bodies []string
	for i := range n {
		b := fmt.Sprintf("msg-%03d", i)
		if i%20 == 7 {
			b = fmt.Sprintf("fail-%03d", i)
		}
		bodies = append(bodies, b)
	}
	rec.set(false, true)
	fn := createParams("crash-esm", makeZip(t, "index.py", recordingFunction))
	fn["Environment"] = Params{"Variables": Params{"RECORDER": rec.url}}
	sdk.Call(t, "CreateFunction", fn).OK(t)
	mustWait(t, sdk, "FunctionActiveV2", Params{"FunctionName": "crash-esm"})
	src := q.create(t, "crash-src", map[string]string{"VisibilityTimeout": "3"})
	uuid := boto.Call(t, "CreateEventSourceMapping", Params{"FunctionName": "crash-esm", "EventSourceArn": src.ARN,
		"BatchSize": 10, "FunctionResponseTypes": []string{"ReportBatchItemFailures"}}).OK(t).Str("UUID")
	waitState(t, sdk, uuid, "Enabled", esmBound)
	q.sendAll(t, src, bodies[:n/2])

	// Once some messages are done and some failed, hold the batches and
	// send the rest: the batches handed on from now on wait, in flight.
	rec.wait(t, "a quarter done, one failed", esmBound, func(_, done, failed map[string]int, _ int) bool {
		return len(done) >= n/4 && len(failed) > 0
	})
	rec.set(true, true)
	q.sendAll(t, src, bodies[n/2:])
	rec.wait(t, "a batch held", esmBound, func(_, _, _ map[string]int, held int) bool { return held > 0 })
	// The event ran, and its record waits, stored, to be retried.
	deadline := time.Now().Add(deliveryBound)
	for tap.count("delivery to destination failed") == 0 || tap.count(destARN) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no failed delivery to %s logged within %v", destARN, deliveryBound)
		}
		time.Sleep(50 * time.Millisecond)
	}

	srv.Kill()
	got, done, failed, _ := rec.snapshot()
	inQueue := q.contents(t, src, esmBound)
	var lost, inFlight []string
	for _, b := range bodies {
		if done[b] == 0 && !inQueue[b] {
			lost = append(lost, b)
		}
		if got[b] > 0 && done[b] == 0 {
			inFlight = append(inFlight, b)
		}
	}
	if len(lost) > 0 {
		t.Errorf("at the kill, %d messages were neither done nor in the queue (deleted before their function succeeded): %v", len(lost), lost)
	}
	if len(inFlight) == 0 {
		t.Error("no message was in flight at the kill")
	}
	for b := range failed {
		if done[b] > 0 || !inQueue[b] {
			t.Errorf("failed message %s: done %d times, in the queue %v; want only in the queue", b, done[b], inQueue[b])
		}
	}
	t.Logf("at the kill: %d done, %d handed on and not done, %d failed, %d in the queue", len(done), len(inFlight), len(failed), len(inQueue))

	// Let everything succeed from now on, create the destination, restart.
	rec.set(false, false)
	dest, err := q.CreateQueue(t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(destName)})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	srv.Restart()

	rec.wait(t, "every message done after the restart", esmBound, func(_, done, _ map[string]int, _ int) bool { return len(done) == n })
	q.waitEmpty(t, src, esmBound)
	waitState(t, NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1"), uuid, "Enabled", esmBound)

	msg := q.receive(t, queue{URL: aws.ToString(dest.QueueUrl), ARN: destARN}, 1, deliveryBound)[0]
	r := checkRecord(t, aws.ToString(msg.Body), true)
	if r.RequestContext.Condition != "Success" || r.RequestContext.RequestID != requestID || string(r.RequestPayload) != `{"crash":"event"}` {
		t.Errorf("record after the restart: %s; want the success of request %s", aws.ToString(msg.Body), requestID)
	}
	if !strings.Contains(string(r.ResponsePayload), `"crash"`) {
		t.Errorf("record's responsePayload %s", r.ResponsePayload)
	}
}

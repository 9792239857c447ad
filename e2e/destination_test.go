//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// destFunction echoes its event, or raises when the event says "fail".
const destFunction = `def handler(event, context):
    if isinstance(event, dict) and event.get("fail"):
        raise Exception(event["fail"])
    return {"echo": event}
`

// deliveryBound bounds the wait for a record: the retries of the tests
// are 200 ms apart, so this only absorbs a loaded machine.
const deliveryBound = 3 * time.Minute

// record is an asynchronous invocation record as a destination receives it.
type record struct {
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext *struct {
		StatusCode      int     `json:"statusCode"`
		ExecutedVersion string  `json:"executedVersion"`
		FunctionError   *string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

// checkRecord checks a record's shape as AWS sends it: its keys in AWS's
// order, version 1.0, a millisecond UTC timestamp.
func checkRecord(t *testing.T, body string, withResponse bool) *record {
	t.Helper()
	want := []string{"version", "timestamp", "requestContext", "requestPayload", "responseContext", "responsePayload"}
	if !withResponse {
		want = want[:4]
	}
	if got := keysOf(t, []byte(body)); !slices.Equal(got, want) {
		t.Errorf("record keys %v, want %v: %s", got, want, body)
	}
	if got, want := keysOf(t, []byte(body), "requestContext"), []string{"requestId", "functionArn", "condition", "approximateInvokeCount"}; !slices.Equal(got, want) {
		t.Errorf("requestContext keys %v, want %v", got, want)
	}
	var r record
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("record is not JSON: %v: %s", err, body)
	}
	if r.Version != "1.0" {
		t.Errorf("version %q, want 1.0", r.Version)
	}
	if ts, err := time.Parse("2006-01-02T15:04:05.000Z", r.Timestamp); err != nil || time.Since(ts) > time.Hour || time.Since(ts) < -time.Minute {
		t.Errorf("timestamp %q: not a recent ISO 8601 time with milliseconds (%v)", r.Timestamp, err)
	}
	return &r
}

func compactJSON(t testing.TB, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAsyncDestinations invokes functions asynchronously through every
// driver: a success lands in the OnSuccess queue, a failure, after its
// one retry, in the OnFailure queue as AWS's record and in the function's
// dead-letter queue as the original event with AWS's attributes.
func TestAsyncDestinations(t *testing.T) {
	t.Parallel()
	a := testserver.StartAWS(t)
	srv := Start(t, awsEnv(a), WithArgs("--async-retry-delays", "200ms,200ms"))
	q := newQueues(a)
	zip := makeZip(t, "index.py", destFunction)
	forEachDriver(t, srv, allDrivers, func(t *testing.T, d Driver) {
		name := "dest-" + d.Name()
		okq, failq, dlq := q.create(t, name+"-ok", nil), q.create(t, name+"-fail", nil), q.create(t, name+"-dlq", nil)
		p := createParams(name, zip)
		p["DeadLetterConfig"] = Params{"TargetArn": dlq.ARN}
		d.Call(t, "CreateFunction", p).OK(t)
		mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": name})
		conf := d.Call(t, "PutFunctionEventInvokeConfig", Params{"FunctionName": name, "MaximumRetryAttempts": 1,
			"DestinationConfig": Params{"OnSuccess": Params{"Destination": okq.ARN}, "OnFailure": Params{"Destination": failq.ARN}}}).OK(t)
		wantStr(t, conf, "FunctionArn", "arn:aws:lambda:us-east-1:000000000000:function:"+name+":$LATEST")
		wantStr(t, conf, "DestinationConfig.OnSuccess.Destination", okq.ARN)

		// A success: its record in OnSuccess.
		d.Call(t, "Invoke", Params{"FunctionName": name, "InvocationType": "Event", "Payload": []byte(`{"k":"v"}`)}).OK(t).WantStatus(t, 202)
		msg := q.receive(t, okq, 1, deliveryBound)[0]
		r := checkRecord(t, aws.ToString(msg.Body), true)
		fnARN := "arn:aws:lambda:us-east-1:000000000000:function:" + name + ":$LATEST"
		if r.RequestContext.Condition != "Success" || r.RequestContext.ApproximateInvokeCount != 1 || r.RequestContext.FunctionArn != fnARN || r.RequestContext.RequestID == "" {
			t.Errorf("success record's requestContext %+v", r.RequestContext)
		}
		if got := string(r.RequestPayload); got != `{"k":"v"}` {
			t.Errorf("requestPayload %s, want {\"k\":\"v\"}", got)
		}
		if rc := r.ResponseContext; rc == nil || rc.StatusCode != 200 || rc.ExecutedVersion != "$LATEST" || rc.FunctionError != nil {
			t.Errorf("success record's responseContext %+v", rc)
		}
		if got, want := compactJSON(t, string(r.ResponsePayload)), `{"echo":{"k":"v"}}`; got != want {
			t.Errorf("responsePayload %s, want %s", got, want)
		}
		if h := msg.Attributes[string(sqstypes.MessageSystemAttributeNameAWSTraceHeader)]; !strings.HasPrefix(h, "Root=") {
			t.Errorf("destination message's AWSTraceHeader %q, want the invocation's trace", h)
		}

		// A failure: two runs (MaximumRetryAttempts 1), its record in
		// OnFailure, the event in the dead-letter queue.
		payload := `{"fail": "boom from ` + d.Name() + `"}`
		d.Call(t, "Invoke", Params{"FunctionName": name, "InvocationType": "Event", "Payload": []byte(payload)}).OK(t).WantStatus(t, 202)
		msg = q.receive(t, failq, 1, deliveryBound)[0]
		r = checkRecord(t, aws.ToString(msg.Body), true)
		if r.RequestContext.Condition != "RetriesExhausted" || r.RequestContext.ApproximateInvokeCount != 2 || r.RequestContext.FunctionArn != fnARN {
			t.Errorf("failure record's requestContext %+v", r.RequestContext)
		}
		if rc := r.ResponseContext; rc == nil || rc.StatusCode != 200 || aws.ToString(rc.FunctionError) != "Unhandled" {
			t.Errorf("failure record's responseContext %+v", rc)
		}
		if got, want := keysOf(t, []byte(aws.ToString(msg.Body)), "responseContext"), []string{"statusCode", "executedVersion", "functionError"}; !slices.Equal(got, want) {
			t.Errorf("responseContext keys %v, want %v", got, want)
		}
		var errDoc struct{ ErrorMessage, ErrorType, RequestID string }
		if err := json.Unmarshal(r.ResponsePayload, &errDoc); err != nil || errDoc.ErrorMessage != "boom from "+d.Name() || errDoc.ErrorType != "Exception" {
			t.Errorf("failure record's responsePayload %s (%v)", r.ResponsePayload, err)
		}
		dl := q.receive(t, dlq, 1, deliveryBound)[0]
		if got := aws.ToString(dl.Body); got != payload {
			t.Errorf("dead-letter body %q, want the event verbatim %q", got, payload)
		}
		attrs := map[string]string{}
		for k, v := range dl.MessageAttributes {
			attrs[k] = aws.ToString(v.DataType) + ":" + aws.ToString(v.StringValue)
		}
		want := map[string]string{"RequestID": "String:" + r.RequestContext.RequestID, "ErrorCode": "Number:200", "ErrorMessage": "String:boom from " + d.Name()}
		if fmt.Sprint(attrs) != fmt.Sprint(want) {
			t.Errorf("dead-letter attributes %v, want %v", attrs, want)
		}
		// Nothing else arrives: one record per event, and the success
		// went nowhere else.
		for _, qu := range []queue{okq, failq, dlq} {
			if v, f := q.count(t, qu); v+f != 0 {
				t.Errorf("%s holds %d more messages", qu.ARN, v+f)
			}
		}
	})
}

// TestDestinationServices sends records to the other kinds of
// destination: an SNS topic (read from its subscribed queue), an
// EventBridge bus (read from its rule's target queue) and a Lambda
// function, which this lambdahost invokes with the record as event.
func TestDestinationServices(t *testing.T) {
	t.Parallel()
	a := testserver.StartAWS(t)
	srv := Start(t, awsEnv(a), WithArgs("--async-retry-delays", "200ms,200ms"))
	q := newQueues(a)
	zip := makeZip(t, "index.py", destFunction)
	fnARN := func(name string) string { return "arn:aws:lambda:us-east-1:000000000000:function:" + name }

	t.Run("sns", func(t *testing.T) {
		d := NewDriver(t, Boto3Driver, srv, TestCredentials, "us-east-1")
		topic, sub := topicTo(t, a, q, "dest-topic")
		mustCreate(t, d, "to-sns", zip)
		d.Call(t, "PutFunctionEventInvokeConfig", Params{"FunctionName": "to-sns", "DestinationConfig": Params{"OnSuccess": Params{"Destination": topic}}}).OK(t)
		d.Call(t, "Invoke", Params{"FunctionName": "to-sns", "InvocationType": "Event", "Payload": []byte(`{"via":"sns"}`)}).OK(t).WantStatus(t, 202)
		body := aws.ToString(q.receive(t, sub, 1, deliveryBound)[0].Body)
		var note struct{ Type, TopicArn, Message string }
		if err := json.Unmarshal([]byte(body), &note); err != nil || note.Type != "Notification" || note.TopicArn != topic {
			t.Fatalf("SNS notification %s (%v)", body, err)
		}
		r := checkRecord(t, note.Message, true)
		if r.RequestContext.Condition != "Success" || string(r.RequestPayload) != `{"via":"sns"}` {
			t.Errorf("record via SNS: %s", note.Message)
		}
	})

	t.Run("eventbridge", func(t *testing.T) {
		d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
		bus, target := busTo(t, a, q, "dest-bus")
		mustCreate(t, d, "to-bus", zip)
		d.Call(t, "PutFunctionEventInvokeConfig", Params{"FunctionName": "to-bus", "MaximumRetryAttempts": 0,
			"DestinationConfig": Params{"OnFailure": Params{"Destination": bus}}}).OK(t)
		d.Call(t, "Invoke", Params{"FunctionName": "to-bus", "InvocationType": "Event", "Payload": []byte(`{"fail":"to the bus"}`)}).OK(t).WantStatus(t, 202)
		body := aws.ToString(q.receive(t, target, 1, deliveryBound)[0].Body)
		var ev struct {
			Version    string          `json:"version"`
			DetailType string          `json:"detail-type"`
			Source     string          `json:"source"`
			Account    string          `json:"account"`
			Region     string          `json:"region"`
			Resources  []string        `json:"resources"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			t.Fatalf("event %s: %v", body, err)
		}
		if ev.DetailType != "Lambda Function Invocation Result - Failure" || ev.Source != "lambda" || ev.Region != "us-east-1" ||
			!slices.Equal(ev.Resources, []string{bus, fnARN("to-bus") + ":$LATEST"}) {
			t.Errorf("EventBridge event %s", body)
		}
		r := checkRecord(t, string(ev.Detail), true)
		if r.RequestContext.Condition != "RetriesExhausted" || r.RequestContext.ApproximateInvokeCount != 1 {
			t.Errorf("record on the bus: %+v", r.RequestContext)
		}
	})

	t.Run("lambda", func(t *testing.T) {
		d := NewDriver(t, CLIDriver, srv, TestCredentials, "us-east-1")
		end := q.create(t, "dest-chain-end", nil)
		mustCreate(t, d, "chain-first", zip)
		mustCreate(t, d, "chain-second", zip)
		d.Call(t, "PutFunctionEventInvokeConfig", Params{"FunctionName": "chain-first", "DestinationConfig": Params{"OnSuccess": Params{"Destination": fnARN("chain-second")}}}).OK(t)
		d.Call(t, "PutFunctionEventInvokeConfig", Params{"FunctionName": "chain-second", "DestinationConfig": Params{"OnSuccess": Params{"Destination": end.ARN}}}).OK(t)
		d.Call(t, "Invoke", Params{"FunctionName": "chain-first", "InvocationType": "Event", "Payload": []byte(`{"hop":1}`)}).OK(t).WantStatus(t, 202)
		// chain-second ran with chain-first's record as its event, and
		// its own record carries that record as requestPayload.
		r := checkRecord(t, aws.ToString(q.receive(t, end, 1, deliveryBound)[0].Body), true)
		if r.RequestContext.FunctionArn != fnARN("chain-second")+":$LATEST" || r.RequestContext.Condition != "Success" {
			t.Errorf("second record's requestContext %+v", r.RequestContext)
		}
		first := checkRecord(t, string(r.RequestPayload), true)
		if first.RequestContext.FunctionArn != fnARN("chain-first")+":$LATEST" || string(first.RequestPayload) != `{"hop":1}` {
			t.Errorf("first record (the second's event): %s", r.RequestPayload)
		}
		if first.RequestContext.RequestID == r.RequestContext.RequestID {
			t.Error("the destination's invocation has the request ID of the one it records")
		}
	})

	t.Run("invoke-async", func(t *testing.T) {
		c := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
		d := &SDK{Client: c}
		okq := q.create(t, "invoke-async-ok", nil)
		mustCreate(t, d, "old-style", zip)
		d.Call(t, "PutFunctionEventInvokeConfig", Params{"FunctionName": "old-style", "DestinationConfig": Params{"OnSuccess": Params{"Destination": okq.ARN}}}).OK(t)
		//lint:ignore SA1019 InvokeAsync is deprecated, and still served as AWS serves it.
		out, err := c.InvokeAsync(t.Context(), &lambda.InvokeAsyncInput{FunctionName: aws.String("old-style"), InvokeArgs: strings.NewReader(`{"old":"style"}`)})
		if err != nil {
			t.Fatalf("InvokeAsync: %v", err)
		}
		if out.Status != 202 {
			t.Errorf("InvokeAsync Status %d, want 202", out.Status)
		}
		r := checkRecord(t, aws.ToString(q.receive(t, okq, 1, deliveryBound)[0].Body), true)
		if string(r.RequestPayload) != `{"old":"style"}` {
			t.Errorf("InvokeAsync's event: %s", r.RequestPayload)
		}
	})
}

//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// streamFunction reports every batch it gets (STREAM:<function>:<base64
// of the data of its records, and whether it fails>) and raises when one
// of them is "poison".
const streamFunction = `import base64, json, os

def handler(event, context):
    recs = event["Records"]
    data = [base64.b64decode(r["kinesis"]["data"]).decode() for r in recs]
    fails = "poison" in data
    doc = {"data": data, "fails": fails, "records": recs}
    print("STREAM:" + os.environ["AWS_LAMBDA_FUNCTION_NAME"] + ":" + base64.b64encode(json.dumps(doc).encode()).decode())
    if fails:
        raise Exception("poison")
    return {}
`

type streamBatch struct {
	Data    []string          `json:"data"`
	Fails   bool              `json:"fails"`
	Records []json.RawMessage `json:"records"`
}

// streamBatches returns the batches fn reported so far.
func (l *logTap) streamBatches(t testing.TB, fn string) []streamBatch {
	t.Helper()
	l.mu.Lock()
	lines := slices.Clone(l.lines)
	l.mu.Unlock()
	var out []streamBatch
	prefix := "STREAM:" + fn + ":"
	for _, line := range lines {
		i := strings.Index(line, prefix)
		if i < 0 {
			continue
		}
		enc := line[i+len(prefix):]
		if j := strings.IndexAny(enc, " \""); j >= 0 {
			enc = enc[:j]
		}
		b, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			t.Fatalf("stream batch report %q: %v", enc, err)
		}
		var sb streamBatch
		if err := json.Unmarshal(b, &sb); err != nil {
			t.Fatal(err)
		}
		out = append(out, sb)
	}
	return out
}

// handedOn returns, in order, the data of the records fn succeeded with.
func (l *logTap) handedOn(t testing.TB, fn string) []string {
	var all []string
	for _, b := range l.streamBatches(t, fn) {
		if !b.Fails {
			all = append(all, b.Data...)
		}
	}
	return all
}

func kinesisClient(k *testserver.Kinesis) *awskinesis.Client {
	return awskinesis.NewFromConfig(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(k.Endpoint), HTTPClient: &http.Client{Timeout: time.Minute},
	})
}

// createStream makes a stream of one shard and answers its ARN.
func createStream(t testing.TB, kc *awskinesis.Client, name string) string {
	t.Helper()
	if _, err := kc.CreateStream(t.Context(), &awskinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := kc.DescribeStreamSummary(t.Context(), &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == "ACTIVE" {
			return aws.ToString(out.StreamDescriptionSummary.StreamARN)
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not ACTIVE: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func putRecords(t testing.TB, kc *awskinesis.Client, stream string, data ...string) {
	t.Helper()
	for _, d := range data {
		if _, err := kc.PutRecord(t.Context(), &awskinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("key"), Data: []byte(d)}); err != nil {
			t.Fatalf("PutRecord: %v", err)
		}
	}
}

// TestKinesisMapping reads a stream through a mapping: records in order,
// a poison record isolated by bisection and, after its retry, sent to the
// OnFailure queue as AWS's record while the others go on in order; and a
// LATEST mapping that reads only what was put after it was created.
func TestKinesisMapping(t *testing.T) {
	t.Parallel()
	a := testserver.StartAWS(t)
	k := testserver.StartKinesis(t)
	tap := &logTap{TB: t}
	srv := Start(tap, awsEnv(a), WithArgs("--log-level", "debug", "--kinesis-endpoint", k.Endpoint))
	q := newQueues(a)
	kc := kinesisClient(k)
	zip := makeZip(t, "index.py", streamFunction)
	cli := NewDriver(t, CLIDriver, srv, TestCredentials, "us-east-1")
	boto := NewDriver(t, Boto3Driver, srv, TestCredentials, "us-east-1")
	sdk := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")

	t.Run("bisect-and-on-failure", func(t *testing.T) {
		name := "kinesis-bisect"
		mustCreate(t, cli, name, zip)
		streamARN := createStream(t, kc, name)
		failq := q.create(t, name+"-failures", nil)
		var want []string
		var all []string
		for i := range 10 {
			d := fmt.Sprintf("r%d", i)
			if i == 5 {
				d = "poison"
			} else {
				want = append(want, d)
			}
			all = append(all, d)
		}
		putRecords(t, kc, name, all...)
		r := boto.Call(t, "CreateEventSourceMapping", Params{"FunctionName": name, "EventSourceArn": streamARN, "StartingPosition": "TRIM_HORIZON",
			"BatchSize": 4, "BisectBatchOnFunctionError": true, "MaximumRetryAttempts": 1,
			"DestinationConfig": Params{"OnFailure": Params{"Destination": failq.ARN}}}).OK(t)
		uuid := r.Str("UUID")
		wantStr(t, r, "StartingPosition", "TRIM_HORIZON")
		wantStr(t, r, "LastProcessingResult", "No records processed")
		waitState(t, sdk, uuid, "Enabled", esmBound)

		msg := q.receive(t, failq, 1, esmBound)[0]
		body := aws.ToString(msg.Body)
		if got, wantKeys := keysOf(t, []byte(body)), []string{"requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"}; !slices.Equal(got, wantKeys) {
			t.Errorf("failure record keys %v, want %v: %s", got, wantKeys, body)
		}
		var fr struct {
			RequestContext struct {
				FunctionArn, Condition string
				ApproximateInvokeCount int
			} `json:"requestContext"`
			ResponseContext struct {
				StatusCode    int     `json:"statusCode"`
				FunctionError *string `json:"functionError"`
			} `json:"responseContext"`
			KinesisBatchInfo struct {
				ShardID             string `json:"shardId"`
				StartSequenceNumber string `json:"startSequenceNumber"`
				EndSequenceNumber   string `json:"endSequenceNumber"`
				BatchSize           int    `json:"batchSize"`
				StreamArn           string `json:"streamArn"`
			} `json:"KinesisBatchInfo"`
		}
		json.Unmarshal([]byte(body), &fr)
		if fr.RequestContext.Condition != "RetryAttemptsExhausted" || fr.RequestContext.ApproximateInvokeCount != 2 ||
			fr.RequestContext.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:"+name {
			t.Errorf("failure record's requestContext %+v", fr.RequestContext)
		}
		if aws.ToString(fr.ResponseContext.FunctionError) != "Unhandled" || fr.ResponseContext.StatusCode != 200 {
			t.Errorf("failure record's responseContext %+v", fr.ResponseContext)
		}
		bi := fr.KinesisBatchInfo
		if bi.BatchSize != 1 || bi.StartSequenceNumber != bi.EndSequenceNumber || bi.ShardID != "shardId-000000000000" || bi.StreamArn != streamARN {
			t.Errorf("KinesisBatchInfo %+v, want the poison record alone", bi)
		}

		// Every other record was handed on, in order, once.
		deadline := time.Now().Add(esmBound)
		for len(tap.handedOn(t, name)) < len(want) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if got := tap.handedOn(t, name); !slices.Equal(got, want) {
			t.Errorf("records handed on %v, want %v", got, want)
		}
		// The poison record was the one the bisected batches isolated.
		var poisonRecord json.RawMessage
		for _, b := range tap.streamBatches(t, name) {
			if b.Fails && len(b.Data) == 1 {
				poisonRecord = b.Records[0]
			}
		}
		if poisonRecord == nil {
			t.Fatal("no batch of the poison record alone: the batch was not bisected")
		}
		if got, wantKeys := keysOf(t, poisonRecord), []string{"kinesis", "eventSource", "eventVersion", "eventID", "eventName", "invokeIdentityArn", "awsRegion", "eventSourceARN"}; !slices.Equal(got, wantKeys) {
			t.Errorf("Kinesis record keys %v, want %v", got, wantKeys)
		}
		if got, wantKeys := keysOf(t, poisonRecord, "kinesis"), []string{"kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data", "approximateArrivalTimestamp"}; !slices.Equal(got, wantKeys) {
			t.Errorf("Kinesis record's kinesis keys %v, want %v", got, wantKeys)
		}
		var kr struct {
			Kinesis struct {
				SequenceNumber string `json:"sequenceNumber"`
			} `json:"kinesis"`
			EventID           string `json:"eventID"`
			InvokeIdentityArn string `json:"invokeIdentityArn"`
			EventSourceARN    string `json:"eventSourceARN"`
		}
		json.Unmarshal(poisonRecord, &kr)
		if kr.Kinesis.SequenceNumber != bi.StartSequenceNumber || kr.EventID != "shardId-000000000000:"+bi.StartSequenceNumber ||
			kr.InvokeIdentityArn != testRole || kr.EventSourceARN != streamARN {
			t.Errorf("Kinesis record %s", poisonRecord)
		}
		waitResult(t, sdk, uuid, esmBound)
	})

	t.Run("latest", func(t *testing.T) {
		name := "kinesis-latest"
		mustCreate(t, sdk, name, zip)
		streamARN := createStream(t, kc, name)
		putRecords(t, kc, name, "before")
		time.Sleep(1100 * time.Millisecond) // arrival times have a millisecond resolution; the mapping's start is after this
		uuid := cli.Call(t, "CreateEventSourceMapping", Params{"FunctionName": name, "EventSourceArn": streamARN, "StartingPosition": "LATEST"}).OK(t).Str("UUID")
		putRecords(t, kc, name, "after-1", "after-2")
		waitState(t, sdk, uuid, "Enabled", esmBound)
		deadline := time.Now().Add(esmBound)
		for len(tap.handedOn(t, name)) < 2 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if got := tap.handedOn(t, name); !slices.Equal(got, []string{"after-1", "after-2"}) {
			t.Errorf("records handed on %v, want the two put after the mapping was created", got)
		}
		boto.Call(t, "DeleteEventSourceMapping", Params{"UUID": uuid}).OK(t)
	})
}

// waitResult waits until a stream mapping reports its last batch OK.
func waitResult(t testing.TB, d Driver, uuid string, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		r := d.Call(t, "GetEventSourceMapping", Params{"UUID": uuid}).OK(t)
		if r.Str("LastProcessingResult") == "OK" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("LastProcessingResult %q after %v, want OK", r.Str("LastProcessingResult"), bound)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

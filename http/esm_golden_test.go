package http_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// fakeSources are the queues and streams of the wire tests: every queue
// and stream whose name does not start with "missing" exists; queues
// whose names end in .fifo are FIFO. Nothing is ever received.
type fakeSources struct{}

func (fakeSources) Queue(ctx context.Context, arn string) (lambdahost.QueueInfo, error) {
	if strings.Contains(arn, ":missing") {
		return lambdahost.QueueInfo{}, fmt.Errorf("queue %s: %w", arn, lambdahost.ErrNotFound)
	}
	return lambdahost.QueueInfo{FIFO: strings.HasSuffix(arn, ".fifo"), VisibilityTimeout: 30 * time.Second}, nil
}

func (fakeSources) Receive(ctx context.Context, arn string, max int, wait time.Duration) ([]*lambdahost.QueueMessage, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (fakeSources) Delete(ctx context.Context, arn string, handles []string) error { return nil }

func (fakeSources) Shards(ctx context.Context, arn string) ([]lambdahost.StreamShard, error) {
	if strings.Contains(arn, "stream/missing") {
		return nil, fmt.Errorf("stream %s: %w", arn, lambdahost.ErrNotFound)
	}
	return []lambdahost.StreamShard{{ID: "shardId-000000000000"}}, nil
}

func (fakeSources) Iterator(ctx context.Context, arn, shard string, pos lambdahost.StreamPosition) (string, error) {
	return "it", nil
}

func (fakeSources) Records(ctx context.Context, arn, iterator string, limit int) ([]lambdahost.StreamRecord, string, error) {
	<-ctx.Done()
	return nil, "", ctx.Err()
}

const (
	esmPath   = "/2015-03-31/event-source-mappings"
	queueARN  = "arn:aws:sqs:us-east-1:000000000000:q"
	streamARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s"
	firstESM  = "a1b2c3d4-0000-4000-8000-000000000001"
)

func withMapping(body string) func(e *env) {
	return func(e *env) {
		withFunction("f")(e)
		e.must("POST", esmPath, body)
	}
}

func esmGoldenCases() []goldenCase {
	sqsBody := `{"FunctionName":"f","EventSourceArn":"` + queueARN + `"}`
	return []goldenCase{
		{op: "CreateEventSourceMapping", name: "sqs", setup: withFunction("f"), req: req("POST", esmPath, sqsBody)},
		{op: "CreateEventSourceMapping", name: "sqs-options", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f:$LATEST","EventSourceArn":"`+queueARN+`","BatchSize":100,"MaximumBatchingWindowInSeconds":5,"FunctionResponseTypes":["ReportBatchItemFailures"],"FilterCriteria":{"Filters":[{"Pattern":"{\"body\": {\"testItem\": [\"test24\"]}}"}]},"ScalingConfig":{"MaximumConcurrency":2},"Enabled":false,"Tags":{"team":"x"}}`)},
		{op: "CreateEventSourceMapping", name: "kinesis", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"`+streamARN+`","StartingPosition":"TRIM_HORIZON"}`)},
		{op: "CreateEventSourceMapping", name: "kinesis-options", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"`+streamARN+`","StartingPosition":"AT_TIMESTAMP","StartingPositionTimestamp":1767323000,"BatchSize":3,"ParallelizationFactor":2,"BisectBatchOnFunctionError":true,"MaximumRetryAttempts":3,"MaximumRecordAgeInSeconds":60,"DestinationConfig":{"OnFailure":{"Destination":"`+queueARN+`"}},"FilterCriteria":{"Filters":[]}}`)},
		{op: "CreateEventSourceMapping", name: "no-event-source", setup: withFunction("f"), req: req("POST", esmPath, `{"FunctionName":"f"}`)},
		{op: "CreateEventSourceMapping", name: "no-function-name", req: req("POST", esmPath, `{"EventSourceArn":"`+queueARN+`"}`)},
		{op: "CreateEventSourceMapping", name: "unknown-function", req: req("POST", esmPath, `{"FunctionName":"nope","EventSourceArn":"`+queueARN+`"}`)},
		{op: "CreateEventSourceMapping", name: "sqs-destination", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"`+queueARN+`","DestinationConfig":{"OnFailure":{"Destination":"`+queueARN+`"}}}`)},
		{op: "CreateEventSourceMapping", name: "sqs-batch-without-window", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"`+queueARN+`","BatchSize":11}`)},
		{op: "CreateEventSourceMapping", name: "fifo-window", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"`+queueARN+`.fifo","MaximumBatchingWindowInSeconds":1}`)},
		{op: "CreateEventSourceMapping", name: "missing-queue", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"arn:aws:sqs:us-east-1:000000000000:missing"}`)},
		{op: "CreateEventSourceMapping", name: "duplicate-sqs", setup: withMapping(sqsBody), req: req("POST", esmPath, sqsBody)},
		{op: "CreateEventSourceMapping", name: "duplicate-kinesis", setup: withMapping(`{"FunctionName":"f","EventSourceArn":"` + streamARN + `","StartingPosition":"LATEST"}`),
			req: req("POST", esmPath, `{"FunctionName":"f","EventSourceArn":"`+streamARN+`","StartingPosition":"LATEST"}`)},
		{op: "CreateEventSourceMapping", name: "stream-without-starting-position", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"`+streamARN+`"}`)},
		{op: "CreateEventSourceMapping", name: "bad-starting-position", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"`+streamARN+`","StartingPosition":"invalid"}`)},
		{op: "CreateEventSourceMapping", name: "missing-stream", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"arn:aws:kinesis:us-east-1:000000000000:stream/missing","StartingPosition":"LATEST"}`)},
		{op: "CreateEventSourceMapping", name: "dynamodb-at-timestamp", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024","StartingPosition":"AT_TIMESTAMP","StartingPositionTimestamp":1}`)},
		{op: "CreateEventSourceMapping", name: "bad-filter", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"`+queueARN+`","FilterCriteria":{"Filters":[{"Pattern":"{\"eventSource\": \"aws:sqs\"}"}]}}`)},
		{op: "CreateEventSourceMapping", name: "out-of-range", setup: withFunction("f"), req: req("POST", esmPath,
			`{"FunctionName":"f","EventSourceArn":"`+queueARN+`","BatchSize":0,"MaximumBatchingWindowInSeconds":301,"FunctionResponseTypes":["Nope"],"ScalingConfig":{"MaximumConcurrency":1}}`)},
		{op: "GetEventSourceMapping", name: "sqs", setup: withMapping(sqsBody), req: req("GET", esmPath+"/"+firstESM, "")},
		{op: "GetEventSourceMapping", name: "unknown", req: req("GET", esmPath+"/a1b2c3d4-0000-4000-8000-999999999999", "")},
		{op: "UpdateEventSourceMapping", name: "disable", setup: withMapping(sqsBody), req: req("PUT", esmPath+"/"+firstESM, `{"Enabled":false,"BatchSize":5}`)},
		{op: "UpdateEventSourceMapping", name: "enable", setup: withMapping(`{"FunctionName":"f","EventSourceArn":"` + queueARN + `","Enabled":false}`),
			req: req("PUT", esmPath+"/"+firstESM, `{"Enabled":true}`)},
		{op: "UpdateEventSourceMapping", name: "function", setup: func(e *env) {
			withMapping(sqsBody)(e)
			withFunction("g")(e)
		}, req: req("PUT", esmPath+"/"+firstESM, `{"FunctionName":"g"}`)},
		{op: "UpdateEventSourceMapping", name: "batch-without-window", setup: withMapping(sqsBody), req: req("PUT", esmPath+"/"+firstESM, `{"BatchSize":11}`)},
		{op: "UpdateEventSourceMapping", name: "unknown", req: req("PUT", esmPath+"/a1b2c3d4-0000-4000-8000-999999999999", `{"BatchSize":1}`)},
		{op: "DeleteEventSourceMapping", name: "deleting", setup: withMapping(sqsBody), req: req("DELETE", esmPath+"/"+firstESM, "")},
		{op: "DeleteEventSourceMapping", name: "unknown", req: req("DELETE", esmPath+"/a1b2c3d4-0000-4000-8000-999999999999", "")},
		{op: "DeleteEventSourceMapping", name: "after-function-deleted", setup: func(e *env) {
			withMapping(sqsBody)(e)
			e.must("DELETE", fnPath+"f", "")
		}, req: req("DELETE", esmPath+"/"+firstESM, "")},
		{op: "ListEventSourceMappings", name: "page", setup: func(e *env) {
			withMapping(sqsBody)(e)
			e.must("POST", esmPath, `{"FunctionName":"f","EventSourceArn":"`+streamARN+`","StartingPosition":"LATEST"}`)
		}, req: req("GET", esmPath+"?MaxItems=1", "")},
		{op: "ListEventSourceMappings", name: "by-source", setup: func(e *env) {
			withMapping(sqsBody)(e)
			e.must("POST", esmPath, `{"FunctionName":"f","EventSourceArn":"`+streamARN+`","StartingPosition":"LATEST"}`)
		}, req: req("GET", esmPath+"?EventSourceArn="+streamARN, "")},
		{op: "ListEventSourceMappings", name: "unknown-function", req: req("GET", esmPath+"?FunctionName=nope", "")},
		{op: "TagResource", name: "event-source-mapping", setup: withMapping(sqsBody), req: func(e *env) response {
			arn := "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:" + firstESM
			e.must("POST", "/2017-03-31/tags/"+arn, `{"Tags":{"a":"1"}}`)
			return e.do("GET", "/2017-03-31/tags/"+arn, "")
		}},
	}
}

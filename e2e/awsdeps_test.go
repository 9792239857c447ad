//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// The services around Lambda that destinations and event sources live in,
// as real servers (see testserver): moto for SQS, SNS and EventBridge.

// awsEnv is what lambdahost serve needs to reach them: the endpoints and
// credentials the SDK reads.
func awsEnv(a *testserver.AWS) Option {
	return func(s *Server) {
		WithArgs("--sqs-endpoint", a.Endpoint, "--sns-endpoint", a.Endpoint, "--eventbridge-endpoint", a.Endpoint)(s)
		WithEnv("AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")(s)
	}
}

func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   &http.Client{Timeout: time.Minute},
	}
}

// queues drives moto's SQS.
type queues struct {
	*awssqs.Client
	n atomic.Int64
}

func newQueues(a *testserver.AWS) *queues {
	return &queues{Client: awssqs.NewFromConfig(awsConfig(a.Endpoint))}
}

// queue is an SQS queue of a test.
type queue struct {
	URL, ARN string
}

// create makes a queue named after the test, with attributes, and answers
// its URL and ARN.
func (q *queues) create(t testing.TB, name string, attrs map[string]string) queue {
	t.Helper()
	qn := fmt.Sprintf("%s-%d", name, q.n.Add(1))
	if strings.HasSuffix(name, ".fifo") {
		qn = fmt.Sprintf("%s-%d.fifo", strings.TrimSuffix(name, ".fifo"), q.n.Load())
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs["FifoQueue"] = "true"
	}
	out, err := q.CreateQueue(t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(qn), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", qn, err)
	}
	return queue{URL: aws.ToString(out.QueueUrl), ARN: "arn:aws:sqs:us-east-1:" + testserver.AWSAccount + ":" + qn}
}

// receive waits up to bound for n messages of q, deleting what it
// reads, and answers them. It fails the test if fewer arrive.
func (q *queues) receive(t testing.TB, qu queue, n int, bound time.Duration) []sqstypes.Message {
	t.Helper()
	var got []sqstypes.Message
	deadline := time.Now().Add(bound)
	for len(got) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages arrived in %s within %v", len(got), n, qu.ARN, bound)
		}
		out, err := q.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(qu.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage %s: %v", qu.ARN, err)
		}
		for _, m := range out.Messages {
			got = append(got, m)
			if _, err := q.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(qu.URL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
	return got
}

// empty reports whether q holds no message now, visible or in flight.
func (q *queues) count(t testing.TB, qu queue) (visible, inFlight int) {
	t.Helper()
	out, err := q.GetQueueAttributes(t.Context(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(qu.URL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &visible)
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &inFlight)
	return visible, inFlight
}

// topicTo makes an SNS topic whose messages arrive, raw, in a new queue.
func topicTo(t testing.TB, a *testserver.AWS, q *queues, name string) (topicARN string, sub queue) {
	t.Helper()
	sns := awssns.NewFromConfig(awsConfig(a.Endpoint))
	out, err := sns.CreateTopic(t.Context(), &awssns.CreateTopicInput{Name: aws.String(fmt.Sprintf("%s-%d", name, q.n.Add(1)))})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	sub = q.create(t, name+"-sub", nil)
	if _, err := sns.Subscribe(t.Context(), &awssns.SubscribeInput{TopicArn: out.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(sub.ARN)}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return aws.ToString(out.TopicArn), sub
}

// busTo makes an EventBridge bus with a rule that sends every event from
// Lambda to a new queue.
func busTo(t testing.TB, a *testserver.AWS, q *queues, name string) (busARN string, target queue) {
	t.Helper()
	eb := awseb.NewFromConfig(awsConfig(a.Endpoint))
	bus := fmt.Sprintf("%s-%d", name, q.n.Add(1))
	out, err := eb.CreateEventBus(t.Context(), &awseb.CreateEventBusInput{Name: aws.String(bus)})
	if err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	pattern, _ := json.Marshal(map[string]any{"source": []string{"lambda"}})
	if _, err := eb.PutRule(t.Context(), &awseb.PutRuleInput{Name: aws.String(bus + "-rule"), EventBusName: aws.String(bus), EventPattern: aws.String(string(pattern))}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	target = q.create(t, name+"-target", nil)
	if _, err := eb.PutTargets(t.Context(), &awseb.PutTargetsInput{Rule: aws.String(bus + "-rule"), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(target.ARN)}}}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	return aws.ToString(out.EventBusArn), target
}

// keysOf returns the keys of the JSON object at the top of doc (or of the
// object at path, keys separated by '.'), in the order doc has them.
func keysOf(t testing.TB, doc []byte, path ...string) []string {
	t.Helper()
	raw := json.RawMessage(doc)
	for _, p := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("keysOf %v: %v in %s", path, err, doc)
		}
		raw = m[p]
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("keysOf %v: not an object: %s", path, raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

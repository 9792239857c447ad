// Package sqs reaches Amazon SQS queues through the AWS SDK: it sends the
// messages of Lambda destinations and dead-letter queues, and receives
// and deletes the messages of SQS event source mappings. Queues are named
// by ARN; their URLs are asked of the service (GetQueueUrl) once.
package sqs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsclient"
)

// Options say how to reach SQS; see awsclient.Options.
type Options = awsclient.Options

// Client sends, receives and deletes SQS messages. It is safe for
// concurrent use.
type Client struct {
	api    *awssqs.Client
	logger *slog.Logger
	urls   sync.Map // queue ARN → URL
}

var _ lambdahost.Messenger = (*Client)(nil)

// New returns a Client. It sends no request.
func New(ctx context.Context, opts Options) (*Client, error) {
	cfg, err := awsclient.Config(ctx, opts)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	api := awssqs.NewFromConfig(cfg, func(o *awssqs.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	return &Client{api: api, logger: logger.With(lambdahost.LogKeyComponent, "sqs")}, nil
}

// queue is a queue ARN's parts and URL.
type queue struct {
	arn    string
	region string
	url    string
}

// ErrNoQueue is what QueueURL answers for a queue that does not exist.
var ErrNoQueue = errors.New("the specified queue does not exist")

// opts signs a request about queue q in q's region.
func (q *queue) opts() func(*awssqs.Options) {
	return func(o *awssqs.Options) {
		if q.region != "" {
			o.Region = q.region
		}
	}
}

// queue returns the URL of the queue arn, asking SQS the first time. It
// answers an error wrapping ErrNoQueue if SQS says there is no such queue.
func (c *Client) queue(ctx context.Context, arn string) (*queue, error) {
	if q, ok := c.urls.Load(arn); ok {
		return q.(*queue), nil
	}
	a, err := awsclient.ParseARN(arn)
	if err != nil || a.Service != "sqs" || a.Resource == "" || strings.Contains(a.Resource, ":") {
		return nil, fmt.Errorf("not an SQS queue ARN: %q", arn)
	}
	q := &queue{arn: arn, region: a.Region}
	in := &awssqs.GetQueueUrlInput{QueueName: aws.String(a.Resource)}
	if a.Account != "" {
		in.QueueOwnerAWSAccountId = aws.String(a.Account)
	}
	out, err := c.api.GetQueueUrl(ctx, in, q.opts())
	var none *types.QueueDoesNotExist
	if errors.As(err, &none) {
		return nil, fmt.Errorf("queue %s: %w", arn, ErrNoQueue)
	}
	if err != nil {
		return nil, fmt.Errorf("get url of queue %s: %w", arn, err)
	}
	q.url = aws.ToString(out.QueueUrl)
	c.urls.Store(arn, q)
	return q, nil
}

// Send implements lambdahost.Messenger: SendMessage of m's body and
// attributes, with its trace header as the AWSTraceHeader system attribute.
func (c *Client) Send(ctx context.Context, m *lambdahost.Message) error {
	q, err := c.queue(ctx, m.Target)
	if err != nil {
		return err
	}
	in := &awssqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(m.Body)}
	if len(m.Attributes) > 0 {
		in.MessageAttributes = map[string]types.MessageAttributeValue{}
		for k, a := range m.Attributes {
			in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String(a.DataType), StringValue: aws.String(a.StringValue)}
		}
	}
	if m.TraceHeader != "" {
		in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(m.TraceHeader)},
		}
	}
	if _, err := c.api.SendMessage(ctx, in, q.opts()); err != nil {
		c.forget(err, m.Target)
		return fmt.Errorf("send message to %s: %w", m.Target, err)
	}
	return nil
}

// forget drops the cached URL of arn after an error that says the queue
// is gone, so that the next request looks it up again.
func (c *Client) forget(err error, arn string) {
	var none *types.QueueDoesNotExist
	if errors.As(err, &none) {
		c.urls.Delete(arn)
	}
}

var _ lambdahost.Queues = (*Client)(nil)

// Queue implements lambdahost.Queues: GetQueueAttributes of FifoQueue and
// VisibilityTimeout; an error wrapping lambdahost.ErrNotFound if the
// queue does not exist.
func (c *Client) Queue(ctx context.Context, arn string) (lambdahost.QueueInfo, error) {
	q, err := c.queue(ctx, arn)
	if errors.Is(err, ErrNoQueue) {
		return lambdahost.QueueInfo{}, fmt.Errorf("%w: %w", lambdahost.ErrNotFound, err)
	}
	if err != nil {
		return lambdahost.QueueInfo{}, err
	}
	out, err := c.api.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(q.url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameFifoQueue, types.QueueAttributeNameVisibilityTimeout}}, q.opts())
	var none *types.QueueDoesNotExist
	if errors.As(err, &none) {
		c.urls.Delete(arn)
		return lambdahost.QueueInfo{}, fmt.Errorf("queue %s: %w", arn, lambdahost.ErrNotFound)
	}
	if err != nil {
		return lambdahost.QueueInfo{}, fmt.Errorf("get attributes of queue %s: %w", arn, err)
	}
	info := lambdahost.QueueInfo{FIFO: out.Attributes[string(types.QueueAttributeNameFifoQueue)] == "true" || strings.HasSuffix(arn, ".fifo")}
	if v, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameVisibilityTimeout)]); err == nil {
		info.VisibilityTimeout = time.Duration(v) * time.Second
	}
	return info, nil
}

// Receive implements lambdahost.Queues: ReceiveMessage with every
// attribute, waiting up to wait (whole seconds, at most 20).
func (c *Client) Receive(ctx context.Context, arn string, limit int, wait time.Duration) ([]*lambdahost.QueueMessage, error) {
	q, err := c.queue(ctx, arn)
	if err != nil {
		return nil, err
	}
	out, err := c.api.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.url), MaxNumberOfMessages: int32(min(max(limit, 1), 10)),
		WaitTimeSeconds:             int32(min(wait/time.Second, 20)),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	}, q.opts(), func(o *awssqs.Options) {
		// The long poll is the request's wait, not a stall.
		o.RetryMaxAttempts = 1
	})
	if err != nil {
		c.forget(err, arn)
		return nil, fmt.Errorf("receive from %s: %w", arn, err)
	}
	msgs := make([]*lambdahost.QueueMessage, 0, len(out.Messages))
	for _, m := range out.Messages {
		qm := &lambdahost.QueueMessage{
			MessageID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			MD5OfBody: aws.ToString(m.MD5OfBody), MD5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes: m.Attributes,
		}
		if len(m.MessageAttributes) > 0 {
			qm.MessageAttributes = map[string]lambdahost.QueueMessageAttribute{}
			for k, a := range m.MessageAttributes {
				qm.MessageAttributes[k] = lambdahost.QueueMessageAttribute{DataType: aws.ToString(a.DataType), StringValue: a.StringValue,
					BinaryValue: a.BinaryValue, StringListValues: a.StringListValues, BinaryListValues: a.BinaryListValues}
			}
		}
		msgs = append(msgs, qm)
	}
	return msgs, nil
}

// Delete implements lambdahost.Queues with DeleteMessageBatch, ten at a
// time. It answers an error naming the messages SQS did not delete.
func (c *Client) Delete(ctx context.Context, arn string, handles []string) error {
	q, err := c.queue(ctx, arn)
	if err != nil {
		return err
	}
	var failed []string
	for start := 0; start < len(handles); start += 10 {
		chunk := handles[start:min(start+10, len(handles))]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, h := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h)}
		}
		out, err := c.api.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries}, q.opts())
		if err != nil {
			return fmt.Errorf("delete messages from %s: %w", arn, err)
		}
		for _, f := range out.Failed {
			failed = append(failed, aws.ToString(f.Code)+": "+aws.ToString(f.Message))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("delete messages from %s: %d not deleted: %s", arn, len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// Package sns publishes to Amazon SNS topics through the AWS SDK: the
// records of Lambda destinations and the messages of dead-letter topics.
package sns

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsclient"
)

// Options say how to reach SNS; see awsclient.Options.
type Options = awsclient.Options

// Client publishes SNS messages. It is safe for concurrent use.
type Client struct {
	api *awssns.Client
}

var _ lambdahost.Messenger = (*Client)(nil)

// New returns a Client. It sends no request.
func New(ctx context.Context, opts Options) (*Client, error) {
	cfg, err := awsclient.Config(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Client{api: awssns.NewFromConfig(cfg, func(o *awssns.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})}, nil
}

// Send implements lambdahost.Messenger: Publish of m's body, with its
// attributes, to the topic m.Target, signed for the topic's region.
func (c *Client) Send(ctx context.Context, m *lambdahost.Message) error {
	a, err := awsclient.ParseARN(m.Target)
	if err != nil || a.Service != "sns" {
		return fmt.Errorf("not an SNS topic ARN: %q", m.Target)
	}
	in := &awssns.PublishInput{TopicArn: aws.String(m.Target), Message: aws.String(m.Body)}
	if len(m.Attributes) > 0 {
		in.MessageAttributes = map[string]types.MessageAttributeValue{}
		for k, v := range m.Attributes {
			in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String(v.DataType), StringValue: aws.String(v.StringValue)}
		}
	}
	_, err = c.api.Publish(ctx, in, func(o *awssns.Options) {
		if a.Region != "" {
			o.Region = a.Region
		}
	})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", m.Target, err)
	}
	return nil
}

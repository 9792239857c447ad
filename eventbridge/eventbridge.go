// Package eventbridge puts events on Amazon EventBridge buses through the
// AWS SDK: the records of Lambda destinations whose target is an event bus.
package eventbridge

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsclient"
)

// Options say how to reach EventBridge; see awsclient.Options.
type Options = awsclient.Options

// Client puts events. It is safe for concurrent use.
type Client struct {
	api *awseb.Client
}

var _ lambdahost.Messenger = (*Client)(nil)

// New returns a Client. It sends no request.
func New(ctx context.Context, opts Options) (*Client, error) {
	cfg, err := awsclient.Config(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Client{api: awseb.NewFromConfig(cfg, func(o *awseb.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})}, nil
}

// Send implements lambdahost.Messenger: PutEvents of one event on the bus
// m.Target, with m's source, detail type, resources and body as detail.
// An entry the bus refuses is an error.
func (c *Client) Send(ctx context.Context, m *lambdahost.Message) error {
	a, err := awsclient.ParseARN(m.Target)
	if err != nil || a.Service != "events" {
		return fmt.Errorf("not an event bus ARN: %q", m.Target)
	}
	entry := types.PutEventsRequestEntry{
		EventBusName: aws.String(m.Target), Source: aws.String(m.Source), DetailType: aws.String(m.DetailType),
		Detail: aws.String(m.Body), Resources: m.Resources,
	}
	if m.TraceHeader != "" {
		entry.TraceHeader = aws.String(m.TraceHeader)
	}
	out, err := c.api.PutEvents(ctx, &awseb.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry}}, func(o *awseb.Options) {
		if a.Region != "" {
			o.Region = a.Region
		}
	})
	if err != nil {
		return fmt.Errorf("put event on %s: %w", m.Target, err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		e := out.Entries[0]
		return fmt.Errorf("put event on %s: %s: %s", m.Target, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
	}
	return nil
}

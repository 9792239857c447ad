// Package kinesis reads Amazon Kinesis data streams through the AWS SDK,
// for event source mappings: shards, shard iterators and records. Streams
// are named by ARN; requests name them by stream name, which every
// Kinesis-compatible server understands.
package kinesis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsclient"
)

// Options say how to reach Kinesis; see awsclient.Options.
type Options = awsclient.Options

// atTimestampWait bounds a GetShardIterator of type AT_TIMESTAMP, which
// some Kinesis-compatible servers never answer when no record is that
// recent; the iterator then starts at TRIM_HORIZON, and the mapping skips
// the records older than the timestamp.
const atTimestampWait = 10 * time.Second

// Client reads streams. It is safe for concurrent use.
type Client struct {
	api *awskinesis.Client
}

var _ lambdahost.Streams = (*Client)(nil)

// New returns a Client. It sends no request.
func New(ctx context.Context, opts Options) (*Client, error) {
	cfg, err := awsclient.Config(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Client{api: awskinesis.NewFromConfig(cfg, func(o *awskinesis.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})}, nil
}

// stream returns the name of stream arn and the request option that
// signs for its region.
func stream(arn string) (string, func(*awskinesis.Options), error) {
	a, err := awsclient.ParseARN(arn)
	name, ok := strings.CutPrefix(a.Resource, "stream/")
	if err != nil || a.Service != "kinesis" || !ok || name == "" {
		return "", nil, fmt.Errorf("not a Kinesis stream ARN: %q", arn)
	}
	return name, func(o *awskinesis.Options) {
		if a.Region != "" {
			o.Region = a.Region
		}
	}, nil
}

// Shards implements lambdahost.Streams with ListShards.
func (c *Client) Shards(ctx context.Context, arn string) ([]lambdahost.StreamShard, error) {
	name, opt, err := stream(arn)
	if err != nil {
		return nil, err
	}
	var shards []lambdahost.StreamShard
	in := &awskinesis.ListShardsInput{StreamName: aws.String(name)}
	for {
		out, err := c.api.ListShards(ctx, in, opt)
		var none *types.ResourceNotFoundException
		if errors.As(err, &none) {
			return nil, fmt.Errorf("stream %s: %w", arn, lambdahost.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", arn, err)
		}
		for _, s := range out.Shards {
			shards = append(shards, lambdahost.StreamShard{
				ID: aws.ToString(s.ShardId), ParentID: aws.ToString(s.ParentShardId), AdjacentParentID: aws.ToString(s.AdjacentParentShardId),
				Closed: s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil,
			})
		}
		if out.NextToken == nil {
			return shards, nil
		}
		in = &awskinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// Iterator implements lambdahost.Streams with GetShardIterator.
func (c *Client) Iterator(ctx context.Context, arn, shard string, pos lambdahost.StreamPosition) (string, error) {
	name, opt, err := stream(arn)
	if err != nil {
		return "", err
	}
	in := &awskinesis.GetShardIteratorInput{StreamName: aws.String(name), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorType(pos.Type)}
	switch pos.Type {
	case lambdahost.IteratorAfterSequenceNumber, lambdahost.IteratorAtSequenceNumber:
		in.StartingSequenceNumber = aws.String(pos.Sequence)
	case lambdahost.IteratorAtTimestamp:
		in.Timestamp = aws.Time(pos.Timestamp)
		tctx, cancel := context.WithTimeout(ctx, atTimestampWait)
		out, err := c.api.GetShardIterator(tctx, in, opt, func(o *awskinesis.Options) { o.RetryMaxAttempts = 1 })
		cancel()
		if err == nil {
			return aws.ToString(out.ShardIterator), nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		in.ShardIteratorType, in.Timestamp = types.ShardIteratorTypeTrimHorizon, nil
	}
	out, err := c.api.GetShardIterator(ctx, in, opt)
	if err != nil {
		return "", fmt.Errorf("get iterator of %s %s: %w", arn, shard, err)
	}
	return aws.ToString(out.ShardIterator), nil
}

// Records implements lambdahost.Streams with GetRecords.
func (c *Client) Records(ctx context.Context, arn, iterator string, limit int) ([]lambdahost.StreamRecord, string, error) {
	_, opt, err := stream(arn)
	if err != nil {
		return nil, "", err
	}
	out, err := c.api.GetRecords(ctx, &awskinesis.GetRecordsInput{ShardIterator: aws.String(iterator), Limit: aws.Int32(int32(min(max(limit, 1), 10000)))}, opt)
	var expired *types.ExpiredIteratorException
	if errors.As(err, &expired) {
		return nil, "", fmt.Errorf("get records of %s: %w", arn, lambdahost.ErrExpired)
	}
	if err != nil {
		return nil, "", fmt.Errorf("get records of %s: %w", arn, err)
	}
	recs := make([]lambdahost.StreamRecord, len(out.Records))
	for i, r := range out.Records {
		recs[i] = lambdahost.StreamRecord{SequenceNumber: aws.ToString(r.SequenceNumber), PartitionKey: aws.ToString(r.PartitionKey),
			Data: r.Data, Arrival: aws.ToTime(r.ApproximateArrivalTimestamp)}
	}
	return recs, aws.ToString(out.NextShardIterator), nil
}

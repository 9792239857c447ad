package lambdahost

import (
	"context"
	"time"
)

// The event sources that event source mappings poll: SQS queues and
// Kinesis streams. sqs/ and kinesis/ implement them through the AWS SDK.

// QueueMessage is a message received from an SQS queue, with what an SQS
// event's record carries of it.
type QueueMessage struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	MD5OfBody     string
	// MD5OfMessageAttributes is empty when the message has none.
	MD5OfMessageAttributes string
	// Attributes are the system attributes: ApproximateReceiveCount,
	// SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp, and for
	// FIFO queues SequenceNumber, MessageGroupId, MessageDeduplicationId;
	// AWSTraceHeader if the message has one.
	Attributes        map[string]string
	MessageAttributes map[string]QueueMessageAttribute
}

// QueueMessageAttribute is an SQS message attribute.
type QueueMessageAttribute struct {
	DataType         string
	StringValue      *string
	BinaryValue      []byte
	StringListValues []string
	BinaryListValues [][]byte
}

// QueueInfo is what event source mappings need to know of a queue.
type QueueInfo struct {
	FIFO bool
	// VisibilityTimeout is how long a received message stays hidden.
	VisibilityTimeout time.Duration
}

// Queues is the SQS service of event source mappings.
type Queues interface {
	// Queue answers what the queue arn is; an error wrapping ErrNotFound
	// if it does not exist.
	Queue(ctx context.Context, arn string) (QueueInfo, error)
	// Receive waits up to wait for at most max (1 to 10) messages of arn,
	// with all their attributes.
	Receive(ctx context.Context, arn string, max int, wait time.Duration) ([]*QueueMessage, error)
	// Delete deletes the received messages of arn whose receipt handles
	// are given. It answers an error if any was not deleted.
	Delete(ctx context.Context, arn string, receiptHandles []string) error
}

// StreamShard is a shard of a Kinesis stream.
type StreamShard struct {
	ID string
	// ParentID and AdjacentParentID are the shards it was split or
	// merged from, whose records come first.
	ParentID         string
	AdjacentParentID string
	// Closed reports that the shard takes no more records (it was split
	// or merged).
	Closed bool
}

// StreamRecord is a record read from a shard.
type StreamRecord struct {
	SequenceNumber string
	PartitionKey   string
	Data           []byte
	// Arrival is the record's ApproximateArrivalTimestamp.
	Arrival time.Time
}

// Shard iterator types.
const (
	IteratorTrimHorizon         = "TRIM_HORIZON"
	IteratorLatest              = "LATEST"
	IteratorAtTimestamp         = "AT_TIMESTAMP"
	IteratorAfterSequenceNumber = "AFTER_SEQUENCE_NUMBER"
	IteratorAtSequenceNumber    = "AT_SEQUENCE_NUMBER"
)

// StreamPosition says where in a shard reading starts.
type StreamPosition struct {
	// Type is one of the Iterator constants.
	Type string
	// Sequence is the sequence number of AFTER_ and AT_SEQUENCE_NUMBER.
	Sequence string
	// Timestamp is the time of AT_TIMESTAMP.
	Timestamp time.Time
}

// Streams is the Kinesis service of event source mappings.
type Streams interface {
	// Shards answers the shards of stream arn; an error wrapping
	// ErrNotFound if the stream does not exist.
	Shards(ctx context.Context, arn string) ([]StreamShard, error)
	// Iterator answers a shard iterator of shard of stream arn at pos.
	Iterator(ctx context.Context, arn, shard string, pos StreamPosition) (string, error)
	// Records reads up to limit records from iterator and answers them
	// with the next iterator, "" once the shard is closed and read to its
	// end. An error wrapping ErrExpired means the iterator expired.
	Records(ctx context.Context, arn, iterator string, limit int) (recs []StreamRecord, next string, err error)
}

package lambdahost

import (
	"context"
	"time"
)

// Message is what Lambda sends to a destination of another service: the
// record of an asynchronous invocation or of a failed stream batch (to
// OnSuccess or OnFailure), or a failed event (to a dead-letter queue).
type Message struct {
	// Target is the destination's ARN: an SQS queue, an SNS topic, an
	// EventBridge event bus or an S3 bucket.
	Target string
	// Body is the message body, the notification's Message, the event's
	// Detail or the object's content.
	Body string
	// Attributes are message attributes (SQS, SNS): a dead-letter
	// queue's RequestID, ErrorCode and ErrorMessage.
	Attributes map[string]MessageAttribute
	// TraceHeader is the X-Ray trace header of the invocation the message
	// comes from (SQS's AWSTraceHeader, EventBridge's TraceHeader).
	TraceHeader string
	// Source, DetailType and Resources are an EventBridge event's.
	Source     string
	DetailType string
	Resources  []string
	// Key is an S3 object's key.
	Key string
	// Account and Region are those of the function the message comes
	// from, for logs and for services that need them.
	Account string
	Region  string
}

// MessageAttribute is an SQS or SNS message attribute with a string value.
type MessageAttribute struct {
	DataType    string
	StringValue string
}

// Messenger sends messages to the destinations of one service. An error
// leaves the message to be sent again: delivery is at least once.
type Messenger interface {
	Send(ctx context.Context, m *Message) error
}

// Delivery is a message stored until it has been sent (see Tx.PutDelivery):
// Lambda acknowledges what a destination is to receive before it sends it,
// so that a crash between the two loses nothing.
type Delivery struct {
	// ID identifies the delivery; IDs made by NewEventID sort in creation order.
	ID string
	// Node is the node that sends it: the one that stored it, or one that
	// claimed it after that one ended. Empty means none.
	Node    string
	Created time.Time
	// Target is the destination's ARN, for logs.
	Target string
	// Body is the message, encoded by its producer; opaque to the store.
	Body []byte
}

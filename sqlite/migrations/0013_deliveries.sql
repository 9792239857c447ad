-- Messages for destinations (SQS queues, SNS topics, EventBridge buses, S3
-- buckets): the records of asynchronous invocations and of failed stream
-- batches, and dead-letter messages. Stored in the transaction that
-- finishes what they record and deleted once sent, so that none is lost
-- to a crash. They outlive their function.
CREATE TABLE deliveries (
	id      TEXT    NOT NULL PRIMARY KEY, -- lambdahost.NewEventID: sorts in creation order
	node    TEXT    NOT NULL,              -- the node that sends it; '' for none
	created INTEGER NOT NULL,
	target  TEXT    NOT NULL,              -- the destination's ARN
	body    BLOB    NOT NULL
) STRICT;

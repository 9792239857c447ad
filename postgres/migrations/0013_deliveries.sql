-- Messages for destinations (SQS queues, SNS topics, EventBridge buses, S3
-- buckets): the records of asynchronous invocations and of failed stream
-- batches, and dead-letter messages. Stored in the transaction that
-- finishes what they record and deleted once sent, so that none is lost
-- to a crash. They outlive their function. node is the node that sends
-- each; another claims it once that node is gone.
CREATE TABLE deliveries (
	id      text COLLATE "C" PRIMARY KEY, -- lambdahost.NewEventID: sorts in creation order
	node    text COLLATE "C" NOT NULL DEFAULT '',
	created bigint NOT NULL,
	target  text NOT NULL,
	body    bytea NOT NULL
);

CREATE INDEX deliveries_node ON deliveries (node);

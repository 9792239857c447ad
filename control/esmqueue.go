package control

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/lambdahost/lambdahost"
)

// An SQS mapping's pollers long-poll the queue, gather batches, leave out
// (and delete) the messages its filters do not pass, invoke the function
// with the SQS event and delete what succeeded: the whole batch, or all
// but the batchItemFailures it reports. What failed is left to the
// queue's visibility timeout and redrive policy. A FIFO queue is read by
// one poller, so that each message group is handed on in order, and a
// failed message keeps the later ones of its group in the queue.
// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html)

// queueLongPoll is how long one ReceiveMessage waits. A receive is not
// cancelled when its mapping stops (the queue would still hand the
// messages it finds to the poll that went away, hiding them for the
// visibility timeout): what it receives is handed on first. So the
// polls are short, to stop soon.
const queueLongPoll = 5 * time.Second

// sqsRecord is one record of the SQS event, with AWS's keys in AWS's order.
type sqsRecord struct {
	MessageID              string                  `json:"messageId"`
	ReceiptHandle          string                  `json:"receiptHandle"`
	Body                   string                  `json:"body"`
	Attributes             orderedAttributes       `json:"attributes"`
	MessageAttributes      map[string]sqsAttribute `json:"messageAttributes"`
	MD5OfMessageAttributes *string                 `json:"md5OfMessageAttributes"`
	MD5OfBody              string                  `json:"md5OfBody"`
	EventSource            string                  `json:"eventSource"`
	EventSourceARN         string                  `json:"eventSourceARN"`
	AWSRegion              string                  `json:"awsRegion"`
}

type sqsAttribute struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      []byte   `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues [][]byte `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// attributeOrder is the order in which Lambda writes a message's system
// attributes; others follow by name.
var attributeOrder = []string{"ApproximateReceiveCount", "AWSTraceHeader", "SentTimestamp", "SequenceNumber",
	"MessageGroupId", "SenderId", "MessageDeduplicationId", "ApproximateFirstReceiveTimestamp"}

// orderedAttributes marshals in attributeOrder.
type orderedAttributes map[string]string

func (a orderedAttributes) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(a))
	for k := range a {
		if !slices.Contains(attributeOrder, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var ordered []string
	for _, k := range attributeOrder {
		if _, ok := a[k]; ok {
			ordered = append(ordered, k)
		}
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range append(ordered, keys...) {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(a[k])
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// newSQSRecord is the record of message msg of mapping m's queue.
func newSQSRecord(m *EventSourceMapping, msg *lambdahost.QueueMessage) *sqsRecord {
	r := &sqsRecord{
		MessageID: msg.MessageID, ReceiptHandle: msg.ReceiptHandle, Body: msg.Body,
		Attributes: orderedAttributes(msg.Attributes), MessageAttributes: map[string]sqsAttribute{},
		MD5OfBody: msg.MD5OfBody, EventSource: "aws:sqs", EventSourceARN: m.EventSourceARN, AWSRegion: m.Region,
	}
	if r.Attributes == nil {
		r.Attributes = orderedAttributes{}
	}
	if msg.MD5OfMessageAttributes != "" {
		md5 := msg.MD5OfMessageAttributes
		r.MD5OfMessageAttributes = &md5
	}
	for k, a := range msg.MessageAttributes {
		sa := sqsAttribute{StringValue: a.StringValue, BinaryValue: a.BinaryValue, DataType: a.DataType,
			StringListValues: a.StringListValues, BinaryListValues: a.BinaryListValues}
		if sa.StringListValues == nil {
			sa.StringListValues = []string{}
		}
		if sa.BinaryListValues == nil {
			sa.BinaryListValues = [][]byte{}
		}
		r.MessageAttributes[k] = sa
	}
	return r
}

// filterData is what filters see of a record: the record, its body
// decoded when it is JSON (Lambda filters JSON bodies by their fields).
func filterData(rec any, bodyKey string, body []byte) any {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil
	}
	d, err := lambdahost.DecodeFilterData(b)
	if err != nil {
		return nil
	}
	if obj, ok := d.(map[string]any); ok && body != nil {
		if v, err := lambdahost.DecodeFilterData(body); err == nil {
			obj[bodyKey] = v
		}
	}
	return d
}

// pollQueue polls mapping m's queue until ctx is done.
func (s *Service) pollQueue(ctx context.Context, m *EventSourceMapping, lag *mappingLag) {
	filters, _ := lambdahost.ParseFilterPatterns(m.Filters) // checked when stored
	var info lambdahost.QueueInfo
	for backoff := time.Second; ; backoff = min(2*backoff, time.Minute) {
		var err error
		if s.Queues == nil {
			s.Logger.ErrorContext(ctx, "event source mapping cannot poll: no SQS is configured", "mapping", m.UUID)
			<-ctx.Done()
			return
		}
		info, err = s.Queues.Queue(ctx, m.EventSourceARN)
		if err == nil {
			break
		}
		s.Metrics.EventSourcePollErrors.Add(1)
		s.Logger.WarnContext(ctx, "event source queue unavailable", "mapping", m.UUID, "queue", m.EventSourceARN, lambdahost.LogKeyError, err)
		if !sleep(ctx, backoff) {
			return
		}
	}
	workers := DefaultSQSConcurrency
	if m.MaximumConcurrency != nil {
		workers = *m.MaximumConcurrency
	}
	if info.FIFO {
		workers = 1
	}
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			h, drop := lag.holder()
			defer drop()
			s.queueWorker(ctx, m, info, filters, h)
		}()
	}
	for range workers {
		<-done
	}
}

// queueWorker receives and hands on batches until ctx is done.
func (s *Service) queueWorker(ctx context.Context, m *EventSourceMapping, info lambdahost.QueueInfo, filters lambdahost.FilterPatterns, h *lagHolder) {
	warned := false
	backoff := time.Second
	for ctx.Err() == nil {
		inv, ok := s.mappingInvocation(ctx, m, &warned)
		if !ok {
			return
		}
		batch, err := s.receiveBatch(context.WithoutCancel(ctx), m, ctx.Done(), h)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.Metrics.EventSourcePollErrors.Add(1)
			s.Logger.WarnContext(ctx, "receive from event source queue", "mapping", m.UUID, "queue", m.EventSourceARN, lambdahost.LogKeyError, err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		if len(batch) == 0 {
			continue
		}
		// A batch received is handed on and settled even if the mapping
		// stops meanwhile.
		wait := s.handBatch(context.WithoutCancel(ctx), m, info, filters, inv, batch)
		// Deleted, or left to the visibility timeout: settled.
		h.release()
		if wait > 0 && !sleep(ctx, wait) {
			return
		}
	}
}

// receiveBatch gathers up to BatchSize messages: one long poll, then, with
// a batching window, more until the batch is full or the window closes.
// h holds what it received.
func (s *Service) receiveBatch(ctx context.Context, m *EventSourceMapping, stop <-chan struct{}, h *lagHolder) ([]*lambdahost.QueueMessage, error) {
	batch, err := s.Queues.Receive(ctx, m.EventSourceARN, min(10, m.BatchSize), queueLongPoll)
	if err == nil && len(batch) > 0 {
		h.hold(oldestSent(batch, s.Now()))
	}
	if err != nil || len(batch) == 0 || m.MaximumBatchingWindowInSeconds == 0 {
		return batch, err
	}
	deadline := time.Now().Add(time.Duration(m.MaximumBatchingWindowInSeconds) * time.Second)
	for len(batch) < m.BatchSize && !stopped(stop) {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		more, err := s.Queues.Receive(ctx, m.EventSourceARN, min(10, m.BatchSize-len(batch)), min(left, queueLongPoll).Truncate(time.Second))
		if err != nil {
			// What was received goes on.
			return batch, nil
		}
		batch = append(batch, more...)
		h.hold(oldestSent(batch, s.Now()))
	}
	return batch, nil
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// batchItemFailures is the answer of a function that reports batch item
// failures.
type batchItemFailures struct {
	BatchItemFailures []struct {
		ItemIdentifier any `json:"itemIdentifier"`
	} `json:"batchItemFailures"`
}

// reportedFailures reads the failures a function reported: the indexes in
// ids of the items it names, or all of them (whole: true) when the answer
// names an item that is not in the batch, or is not one Lambda reads.
// An empty answer, null, {} and an empty or null list mean success.
func reportedFailures(payload []byte, ids []string) (failed map[int]bool, whole bool) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || string(p) == "null" || string(p) == `""` || string(p) == "[]" {
		return nil, false
	}
	var r batchItemFailures
	dec := json.NewDecoder(bytes.NewReader(p))
	if err := dec.Decode(&r); err != nil {
		return nil, true
	}
	failed = map[int]bool{}
	for _, f := range r.BatchItemFailures {
		id, ok := f.ItemIdentifier.(string)
		i := slices.Index(ids, id)
		if !ok || id == "" || i < 0 {
			return nil, true
		}
		failed[i] = true
	}
	return failed, false
}

// handBatch hands batch to the function and deletes what it took. It
// answers how long the worker waits before its next batch (after
// throttling).
func (s *Service) handBatch(ctx context.Context, m *EventSourceMapping, info lambdahost.QueueInfo, filters lambdahost.FilterPatterns, inv *Invocation, batch []*lambdahost.QueueMessage) time.Duration {
	log := s.Logger.With("mapping", m.UUID, lambdahost.LogKeyFunction, inv.InvokedARN)
	var (
		records []*sqsRecord
		passed  []*lambdahost.QueueMessage
		dropped []string
	)
	for _, msg := range batch {
		rec := newSQSRecord(m, msg)
		if !filters.Match(filterData(rec, "body", []byte(msg.Body))) {
			dropped = append(dropped, msg.ReceiptHandle)
			continue
		}
		records, passed = append(records, rec), append(passed, msg)
	}
	if len(dropped) > 0 {
		// Lambda deletes the messages its filters leave out.
		s.Metrics.EventSourceRecordsFiltered.Add(int64(len(dropped)))
		if err := s.Queues.Delete(ctx, m.EventSourceARN, dropped); err != nil {
			log.WarnContext(ctx, "delete filtered-out messages", lambdahost.LogKeyError, err)
		}
	}
	if len(passed) == 0 {
		return 0
	}
	trace, stop := inv.Recursive(passed[0].Attributes["AWSTraceHeader"])
	if stop {
		// The messages stay in the queue, for its redrive policy.
		s.Metrics.RecursiveInvocationsDropped.Add(1)
		log.WarnContext(ctx, "batch not handed to the function: recursive loop detected", "messages", len(passed))
		return 0
	}
	payload, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		log.ErrorContext(ctx, "encode SQS event", lambdahost.LogKeyError, err)
		return 0
	}
	s.Metrics.EventSourceBatches.Add(1)
	s.Metrics.EventSourceRecords.Add(int64(len(passed)))
	res, err := s.Runner.Run(ctx, inv, payload, trace)
	if err != nil {
		// Throttled, or the function cannot run: the messages come back
		// after the visibility timeout.
		s.Metrics.EventSourceBatchFailures.Add(1)
		log.WarnContext(ctx, "event source batch not run", "messages", len(passed), lambdahost.LogKeyError, err)
		return time.Second
	}
	ids := make([]string, len(passed))
	for i, msg := range passed {
		ids[i] = msg.MessageID
	}
	var failed map[int]bool
	switch {
	case res.FunctionError != "":
		failed = allOf(len(passed))
	case slices.Contains(m.FunctionResponseTypes, "ReportBatchItemFailures"):
		f, whole := reportedFailures(res.Payload, ids)
		if whole {
			f = allOf(len(passed))
		}
		failed = f
	}
	if info.FIFO && len(failed) > 0 {
		// Order within a message group: what follows a failure waits too.
		stopped := map[string]bool{}
		for i, msg := range passed {
			g := msg.Attributes["MessageGroupId"]
			if stopped[g] {
				failed[i] = true
			}
			if failed[i] {
				stopped[g] = true
			}
		}
	}
	if len(failed) > 0 {
		s.Metrics.EventSourceBatchFailures.Add(1)
		log.InfoContext(ctx, "event source batch failed in part or whole: the failed messages return to the queue", "messages", len(passed), "failed", len(failed), "function_error", res.FunctionError)
	}
	var done []string
	for i, msg := range passed {
		if !failed[i] {
			done = append(done, msg.ReceiptHandle)
		}
	}
	if len(done) > 0 {
		if err := s.Queues.Delete(ctx, m.EventSourceARN, done); err != nil {
			// They will be received again: at least once.
			log.WarnContext(ctx, "delete processed messages", lambdahost.LogKeyError, err)
		}
	}
	return 0
}

func allOf(n int) map[int]bool {
	all := make(map[int]bool, n)
	for i := range n {
		all[i] = true
	}
	return all
}

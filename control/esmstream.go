package control

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// A Kinesis mapping reads every shard of its stream (a child shard once
// its parents are read to their end), in order, from where its checkpoint
// says: after the last record handed on, or at the starting position.
// Each batch goes to the function, split into ParallelizationFactor lanes
// by partition key; a lane's batch that fails is retried (bisected first,
// if asked) until MaximumRetryAttempts or MaximumRecordAgeInSeconds, then
// its record goes to the OnFailure destination and the shard moves on. The
// checkpoint moves, in the store, only once every record before it was
// handed on or given up: a node that dies leaves the mapping to another,
// which goes on from there (records run at least once).
// (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html)

// kindCheckpoint: "<uuid>/<shard>" → a checkpoint.
const kindCheckpoint = "event-source-checkpoint"

// Pacing of stream polling.
const (
	// shardListInterval is how often a mapping looks for new shards.
	shardListInterval = 10 * time.Second
	// streamIdle is the wait after a read that found no record.
	streamIdle = 500 * time.Millisecond
	// streamRetryBackoff is the first wait before retrying a failed
	// batch; it doubles up to maxStreamRetryBackoff.
	streamRetryBackoff    = 100 * time.Millisecond
	maxStreamRetryBackoff = 30 * time.Second
)

// checkpoint is how far a mapping has handed a shard on.
type checkpoint struct {
	// Sequence is the sequence number of the last record handed on or
	// given up; empty before the first.
	Sequence string `json:"sequence,omitempty"`
	// Done reports that the shard was closed and read to its end.
	Done bool `json:"done,omitempty"`
}

func checkpointKey(uuid, shard string) string { return uuid + "/" + shard }

func (s *Service) readCheckpoint(ctx context.Context, uuid, shard string) (*checkpoint, error) {
	var cp *checkpoint
	err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		cp, err = getRecord[checkpoint](ctx, tx, kindCheckpoint, checkpointKey(uuid, shard))
		if errors.Is(err, lambdahost.ErrNotFound) {
			cp, err = &checkpoint{}, nil
		}
		return err
	})
	return cp, err
}

// saveCheckpoint stores cp, unless the mapping is gone (its checkpoints
// went with it).
func (s *Service) saveCheckpoint(ctx context.Context, m *EventSourceMapping, shard string, cp *checkpoint) error {
	return s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Record(ctx, kindESM, m.key()); errors.Is(err, lambdahost.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		return putRecord(ctx, tx, kindCheckpoint, checkpointKey(m.UUID, shard), cp)
	})
}

// kinesisRecord is one record of the Kinesis event, with AWS's keys in
// AWS's order.
type kinesisRecord struct {
	Kinesis           kinesisData `json:"kinesis"`
	EventSource       string      `json:"eventSource"`
	EventVersion      string      `json:"eventVersion"`
	EventID           string      `json:"eventID"`
	EventName         string      `json:"eventName"`
	InvokeIdentityArn string      `json:"invokeIdentityArn"`
	AWSRegion         string      `json:"awsRegion"`
	EventSourceARN    string      `json:"eventSourceARN"`
}

type kinesisData struct {
	KinesisSchemaVersion        string  `json:"kinesisSchemaVersion"`
	PartitionKey                string  `json:"partitionKey"`
	SequenceNumber              string  `json:"sequenceNumber"`
	Data                        string  `json:"data"`
	ApproximateArrivalTimestamp float64 `json:"approximateArrivalTimestamp"`
}

func newKinesisRecord(m *EventSourceMapping, shard, role string, r lambdahost.StreamRecord) *kinesisRecord {
	return &kinesisRecord{
		Kinesis: kinesisData{KinesisSchemaVersion: "1.0", PartitionKey: r.PartitionKey, SequenceNumber: r.SequenceNumber,
			Data: base64.StdEncoding.EncodeToString(r.Data), ApproximateArrivalTimestamp: float64(r.Arrival.UnixMilli()) / 1000},
		EventSource: "aws:kinesis", EventVersion: "1.0", EventID: shard + ":" + r.SequenceNumber, EventName: "aws:kinesis:record",
		InvokeIdentityArn: role, AWSRegion: m.Region, EventSourceARN: m.EventSourceARN,
	}
}

// streamFailure is the record of records given up, sent to a stream
// mapping's OnFailure destination, with AWS's keys in AWS's order.
type streamFailure struct {
	RequestContext   recordRequest    `json:"requestContext"`
	ResponseContext  *streamResponse  `json:"responseContext,omitempty"`
	Version          string           `json:"version"`
	Timestamp        string           `json:"timestamp"`
	KinesisBatchInfo kinesisBatchInfo `json:"KinesisBatchInfo"`
	// Payload holds the records themselves, for an S3 destination.
	Payload *struct {
		Records []*kinesisRecord `json:"Records"`
	} `json:"payload,omitempty"`
}

type streamResponse struct {
	StatusCode      int     `json:"statusCode"`
	ExecutedVersion string  `json:"executedVersion"`
	FunctionError   *string `json:"functionError"`
}

type kinesisBatchInfo struct {
	ShardID                         string `json:"shardId"`
	StartSequenceNumber             string `json:"startSequenceNumber"`
	EndSequenceNumber               string `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int    `json:"batchSize"`
	StreamArn                       string `json:"streamArn"`
}

// Conditions of the records of given-up stream records.
const (
	conditionRetryAttemptsExhausted = "RetryAttemptsExhausted"
	conditionRecordAgeExceeded      = "RecordAgeExceeded"
)

// pollStream reads every shard of stream mapping m until ctx is done.
func (s *Service) pollStream(ctx context.Context, m *EventSourceMapping, lag *mappingLag) {
	if s.Streams == nil {
		s.Logger.ErrorContext(ctx, "event source mapping cannot poll: no Kinesis is configured", "mapping", m.UUID)
		<-ctx.Done()
		return
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		running = map[string]bool{}
		ended   = make(chan struct{}, 1)
	)
	defer wg.Wait()
	for {
		shards, err := s.Streams.Shards(ctx, m.EventSourceARN)
		if err != nil && ctx.Err() == nil {
			s.Metrics.EventSourcePollErrors.Add(1)
			s.Logger.WarnContext(ctx, "list shards of event source stream", "mapping", m.UUID, lambdahost.LogKeyError, err)
		}
		ids := map[string]bool{}
		for _, sh := range shards {
			ids[sh.ID] = true
		}
		for _, sh := range shards {
			mu.Lock()
			busy := running[sh.ID]
			mu.Unlock()
			if busy || !s.shardReady(ctx, m, sh, ids) {
				continue
			}
			mu.Lock()
			running[sh.ID] = true
			mu.Unlock()
			wg.Go(func() {
				h, drop := lag.holder()
				s.readShard(ctx, m, sh.ID, h)
				drop()
				mu.Lock()
				delete(running, sh.ID)
				mu.Unlock()
				select {
				case ended <- struct{}{}:
				default:
				}
			})
		}
		t := time.NewTimer(shardListInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-ended: // a shard is read to its end: its children may start
		case <-t.C:
		}
		t.Stop()
	}
}

// shardReady reports whether shard sh is to be read now: it is not read
// to its end, and its parents (those the stream still has) are.
func (s *Service) shardReady(ctx context.Context, m *EventSourceMapping, sh lambdahost.StreamShard, ids map[string]bool) bool {
	cp, err := s.readCheckpoint(ctx, m.UUID, sh.ID)
	if err != nil || cp.Done {
		return false
	}
	for _, p := range []string{sh.ParentID, sh.AdjacentParentID} {
		if p == "" || !ids[p] {
			continue
		}
		pc, err := s.readCheckpoint(ctx, m.UUID, p)
		if err != nil || !pc.Done {
			return false
		}
	}
	return true
}

// startPosition is where a shard without a checkpoint starts, and the
// arrival time before which its records are skipped. LATEST starts where
// the mapping was created, so that what was put once Create answered is
// read whenever the poller starts.
func startPosition(m *EventSourceMapping) (lambdahost.StreamPosition, time.Time) {
	switch m.StartingPosition {
	case lambdahost.IteratorLatest:
		return lambdahost.StreamPosition{Type: lambdahost.IteratorAtTimestamp, Timestamp: m.Created}, m.Created
	case lambdahost.IteratorAtTimestamp:
		ts := m.Created
		if m.StartingPositionTimestamp != nil {
			ts = *m.StartingPositionTimestamp
		}
		return lambdahost.StreamPosition{Type: lambdahost.IteratorAtTimestamp, Timestamp: ts}, ts
	}
	return lambdahost.StreamPosition{Type: lambdahost.IteratorTrimHorizon}, time.Time{}
}

// readShard hands shard on until ctx is done or the shard is read to its
// end. h holds the records read and not yet checkpointed.
func (s *Service) readShard(ctx context.Context, m *EventSourceMapping, shard string, h *lagHolder) {
	log := s.Logger.With("mapping", m.UUID, "shard", shard)
	filters, _ := lambdahost.ParseFilterPatterns(m.Filters) // checked when stored
	cp, err := s.readCheckpoint(ctx, m.UUID, shard)
	if err != nil {
		log.WarnContext(ctx, "read checkpoint", lambdahost.LogKeyError, err)
		return
	}
	var skipBefore time.Time
	iterator := func() (string, error) {
		if cp.Sequence != "" {
			return s.Streams.Iterator(ctx, m.EventSourceARN, shard, lambdahost.StreamPosition{Type: lambdahost.IteratorAfterSequenceNumber, Sequence: cp.Sequence})
		}
		pos, skip := startPosition(m)
		skipBefore = skip
		return s.Streams.Iterator(ctx, m.EventSourceARN, shard, pos)
	}
	warned := false
	backoff := time.Second
	it := ""
	for ctx.Err() == nil {
		if it == "" {
			if it, err = iterator(); err != nil {
				if ctx.Err() == nil {
					s.Metrics.EventSourcePollErrors.Add(1)
					log.WarnContext(ctx, "get shard iterator", lambdahost.LogKeyError, err)
				}
				if !sleep(ctx, backoff) {
					return
				}
				backoff = min(2*backoff, time.Minute)
				continue
			}
		}
		inv, ok := s.mappingInvocation(ctx, m, &warned)
		if !ok {
			return
		}
		recs, next, err := s.readBatch(ctx, m, it)
		switch {
		case errors.Is(err, lambdahost.ErrExpired):
			it = ""
			continue
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			s.Metrics.EventSourcePollErrors.Add(1)
			log.WarnContext(ctx, "read event source stream", lambdahost.LogKeyError, err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, time.Minute)
			it = ""
			continue
		}
		backoff = time.Second
		if !skipBefore.IsZero() {
			// AT_TIMESTAMP (and LATEST) read from where the server could
			// start: the older records are not the mapping's.
			i := slices.IndexFunc(recs, func(r lambdahost.StreamRecord) bool { return !r.Arrival.Before(skipBefore) })
			if i < 0 {
				i = len(recs)
			} else {
				skipBefore = time.Time{}
			}
			recs = recs[i:]
		}
		if len(recs) > 0 {
			h.hold(oldestArrival(recs, s.Now()))
			// A batch read is handed on and settled even if the mapping
			// stops meanwhile.
			s.handStreamBatch(context.WithoutCancel(ctx), m, inv, shard, filters, recs)
			cp.Sequence = recs[len(recs)-1].SequenceNumber
			if err := s.saveCheckpoint(context.WithoutCancel(ctx), m, shard, cp); err != nil {
				log.ErrorContext(ctx, "save checkpoint: the records after the last one saved run again", lambdahost.LogKeyError, err)
			}
			h.release()
		}
		if next == "" {
			cp.Done = true
			if err := s.saveCheckpoint(context.WithoutCancel(ctx), m, shard, cp); err != nil {
				log.ErrorContext(ctx, "save checkpoint", lambdahost.LogKeyError, err)
			}
			log.InfoContext(ctx, "shard read to its end")
			return
		}
		it = next
		if len(recs) == 0 && !sleep(ctx, streamIdle) {
			return
		}
	}
}

// readBatch reads up to BatchSize records from it: what one read finds,
// or, with a batching window, more until the batch is full or the window
// closes. It answers the records and the iterator after them ("" once the
// shard is read to its end).
func (s *Service) readBatch(ctx context.Context, m *EventSourceMapping, it string) ([]lambdahost.StreamRecord, string, error) {
	recs, next, err := s.Streams.Records(ctx, m.EventSourceARN, it, m.BatchSize)
	if err != nil || m.MaximumBatchingWindowInSeconds == 0 {
		return recs, next, err
	}
	deadline := time.Now().Add(time.Duration(m.MaximumBatchingWindowInSeconds) * time.Second)
	for len(recs) < m.BatchSize && next != "" && time.Now().Before(deadline) {
		more, n, err := s.Streams.Records(ctx, m.EventSourceARN, next, m.BatchSize-len(recs))
		if err != nil {
			return recs, next, nil
		}
		recs, next = append(recs, more...), n
		if len(more) == 0 && !sleep(ctx, min(streamIdle, time.Until(deadline))) {
			break
		}
	}
	return recs, next, nil
}

// handStreamBatch hands recs, read in order from shard, to the function
// in lanes by partition key, and returns once each record was handed on
// or given up.
func (s *Service) handStreamBatch(ctx context.Context, m *EventSourceMapping, inv *Invocation, shard string, filters lambdahost.FilterPatterns, recs []lambdahost.StreamRecord) {
	role := inv.Version.Config.Role
	var kept []lambdahost.StreamRecord
	for _, r := range recs {
		kr := newKinesisRecord(m, shard, role, r)
		if filters.Match(filterData(kr.Kinesis, "data", r.Data)) {
			kept = append(kept, r)
		}
	}
	if n := len(recs) - len(kept); n > 0 {
		s.Metrics.EventSourceRecordsFiltered.Add(int64(n))
	}
	if len(kept) == 0 {
		return
	}
	lanes := max(m.ParallelizationFactor, 1)
	if lanes == 1 {
		s.handLane(ctx, m, inv, shard, kept)
		return
	}
	byLane := make([][]lambdahost.StreamRecord, lanes)
	for _, r := range kept {
		h := fnv.New32a()
		h.Write([]byte(r.PartitionKey))
		i := int(h.Sum32() % uint32(lanes))
		byLane[i] = append(byLane[i], r)
	}
	var wg sync.WaitGroup
	for _, lane := range byLane {
		if len(lane) > 0 {
			wg.Go(func() { s.handLane(ctx, m, inv, shard, lane) })
		}
	}
	wg.Wait()
}

// handLane hands one lane's records to the function, in order, with the
// mapping's retries, bisection and age limit.
func (s *Service) handLane(ctx context.Context, m *EventSourceMapping, inv *Invocation, shard string, recs []lambdahost.StreamRecord) {
	log := s.Logger.With("mapping", m.UUID, "shard", shard, lambdahost.LogKeyFunction, inv.InvokedARN)
	role := inv.Version.Config.Role
	queue := [][]lambdahost.StreamRecord{recs}
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		attempts := 0
		backoff := streamRetryBackoff
		for {
			if m.MaximumRecordAgeInSeconds >= 0 && s.Now().Sub(b[0].Arrival) > time.Duration(m.MaximumRecordAgeInSeconds)*time.Second {
				s.giveUp(ctx, m, inv, shard, role, b, conditionRecordAgeExceeded, attempts, nil)
				break
			}
			krs := make([]*kinesisRecord, len(b))
			ids := make([]string, len(b))
			for i, r := range b {
				krs[i], ids[i] = newKinesisRecord(m, shard, role, r), r.SequenceNumber
			}
			payload, _ := json.Marshal(map[string]any{"Records": krs})
			s.Metrics.EventSourceBatches.Add(1)
			s.Metrics.EventSourceRecords.Add(int64(len(b)))
			res, err := s.Runner.Run(ctx, inv, payload, "")
			if err != nil {
				// Throttled, or the function cannot run: not an attempt.
				s.Metrics.EventSourceBatchFailures.Add(1)
				log.WarnContext(ctx, "event source batch not run", "records", len(b), lambdahost.LogKeyError, err)
				if !sleep(ctx, time.Second) {
					return
				}
				if inv, err = s.resolveInvocation(ctx, m.Function, m.Qualifier); err != nil {
					continue
				}
				continue
			}
			attempts++
			first, whole := -1, res.FunctionError != ""
			if !whole && slices.Contains(m.FunctionResponseTypes, "ReportBatchItemFailures") {
				failed, all := reportedFailures(res.Payload, ids)
				switch {
				case all:
					whole = true
				case len(failed) > 0:
					for i := range failed {
						if first < 0 || i < first {
							first = i
						}
					}
				}
			}
			if !whole && first < 0 {
				s.setResult(ctx, m, "OK")
				break
			}
			s.Metrics.EventSourceBatchFailures.Add(1)
			if first > 0 {
				// The records before the first failure succeeded.
				b = b[first:]
			}
			if res.FunctionError != "" {
				s.setResult(ctx, m, "PROBLEM: Function call failed")
				if m.BisectBatchOnFunctionError && len(b) > 1 {
					half := len(b) / 2
					log.InfoContext(ctx, "event source batch failed: bisected", "records", len(b))
					queue = append([][]lambdahost.StreamRecord{b[:half], b[half:]}, queue...)
					break
				}
			}
			if m.MaximumRetryAttempts >= 0 && attempts > m.MaximumRetryAttempts {
				s.giveUp(ctx, m, inv, shard, role, b, conditionRetryAttemptsExhausted, attempts, res)
				break
			}
			log.InfoContext(ctx, "event source batch failed: retried", "records", len(b), "attempts", attempts, "function_error", res.FunctionError)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxStreamRetryBackoff)
		}
	}
}

// giveUp sends the record of records b, given up after attempts, to the
// mapping's OnFailure destination (or drops them, with a log line, if it
// has none).
func (s *Service) giveUp(ctx context.Context, m *EventSourceMapping, inv *Invocation, shard, role string, b []lambdahost.StreamRecord, condition string, attempts int, res *RunResult) {
	log := s.Logger.With("mapping", m.UUID, "shard", shard)
	s.Metrics.EventSourceRecordsDropped.Add(int64(len(b)))
	if m.OnFailure == "" {
		log.WarnContext(ctx, "stream records given up: the mapping has no OnFailure destination", "condition", condition,
			"first", b[0].SequenceNumber, "last", b[len(b)-1].SequenceNumber, "records", len(b))
		return
	}
	now := s.Now().UTC()
	rec := &streamFailure{
		RequestContext: recordRequest{RequestID: lambdahost.NewID(), FunctionArn: m.FunctionARN, Condition: condition, ApproximateInvokeCount: attempts},
		Version:        "1.0", Timestamp: recordTimestamp(now),
		KinesisBatchInfo: kinesisBatchInfo{
			ShardID: shard, StartSequenceNumber: b[0].SequenceNumber, EndSequenceNumber: b[len(b)-1].SequenceNumber,
			ApproximateArrivalOfFirstRecord: recordTimestamp(b[0].Arrival), ApproximateArrivalOfLastRecord: recordTimestamp(b[len(b)-1].Arrival),
			BatchSize: len(b), StreamArn: m.EventSourceARN,
		},
	}
	if res != nil {
		rc := &streamResponse{StatusCode: 200, ExecutedVersion: inv.ExecutedVersion}
		if res.FunctionError != "" {
			fe := res.FunctionError
			rc.FunctionError = &fe
		}
		rec.ResponseContext = rc
	}
	key := ""
	if destinationService(m.OnFailure) == destinationS3 {
		rec.Payload = &struct {
			Records []*kinesisRecord `json:"Records"`
		}{}
		for _, r := range b {
			rec.Payload.Records = append(rec.Payload.Records, newKinesisRecord(m, shard, role, r))
		}
		key = fmt.Sprintf("aws/lambda/%s/%s/%s/%s-%s", m.UUID, shard, now.Format("2006/01/02"), now.Format("2006-01-02T15.04.05"), lambdahost.NewID())
	}
	body, err := json.Marshal(rec)
	if err != nil {
		log.ErrorContext(ctx, "encode stream failure record", lambdahost.LogKeyError, err)
		return
	}
	msg := destinationMessage(m.Function, m.FunctionARN, m.OnFailure, body, "", false, key)
	var d *lambdahost.Delivery
	err = s.store.Update(ctx, func(tx lambdahost.Tx) (err error) {
		d, err = s.putDelivery(ctx, tx, msg, now, false)
		return err
	})
	if err != nil {
		log.ErrorContext(ctx, "store stream failure record", lambdahost.LogKeyError, err)
		return
	}
	log.InfoContext(ctx, "stream records given up: their record goes to the OnFailure destination", "condition", condition, "records", len(b), "destination", m.OnFailure)
	s.deliver(d)
}

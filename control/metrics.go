package control

import "sync/atomic"

// Metrics counts what the asynchronous machinery does: deliveries to
// destinations and dead-letter queues, dropped events and recursive
// loops, and the work of event source mappings. The names are those of
// AWS's CloudWatch metrics where Lambda has one, so that an exporter can
// publish them as they are. Every counter only grows.
type Metrics struct {
	// AsyncEventsReceived counts the asynchronous events stored.
	AsyncEventsReceived atomic.Int64
	// AsyncEventsDropped counts the events that ended without their
	// function succeeding: after their retries, expired, not run for zero
	// reserved concurrency, or stopped in a recursive loop.
	AsyncEventsDropped atomic.Int64
	// DestinationDeliveries counts the messages sent to destinations
	// (records to OnSuccess and OnFailure, and dead-letter messages).
	DestinationDeliveries atomic.Int64
	// DestinationDeliveryFailures counts the failed attempts to send a
	// record to a destination; each is retried with backoff.
	DestinationDeliveryFailures atomic.Int64
	// DeadLetterErrors counts the failed attempts to send a dead-letter
	// message.
	DeadLetterErrors atomic.Int64
	// DestinationDeliveriesExpired counts the messages given up after
	// failing for longer than the maximum delivery age.
	DestinationDeliveriesExpired atomic.Int64
	// RecursiveInvocationsDropped counts the invocations stopped by
	// recursive loop detection.
	RecursiveInvocationsDropped atomic.Int64
	// EventSourceBatches counts the batches event source mappings handed
	// to functions, and EventSourceBatchFailures those that failed (in
	// whole or in part).
	EventSourceBatches       atomic.Int64
	EventSourceBatchFailures atomic.Int64
	// EventSourceRecords counts the records (messages, stream records)
	// handed to functions; EventSourceRecordsFiltered those that filter
	// criteria left out.
	EventSourceRecords         atomic.Int64
	EventSourceRecordsFiltered atomic.Int64
	// EventSourceRecordsDropped counts the stream records given up
	// (sent to the OnFailure destination, or dropped without one).
	EventSourceRecordsDropped atomic.Int64
	// EventSourcePollErrors counts the failed calls to event sources.
	EventSourcePollErrors atomic.Int64
}

// Snapshot returns every counter by name.
func (m *Metrics) Snapshot() map[string]int64 {
	return map[string]int64{
		"AsyncEventsReceived":          m.AsyncEventsReceived.Load(),
		"AsyncEventsDropped":           m.AsyncEventsDropped.Load(),
		"DestinationDeliveries":        m.DestinationDeliveries.Load(),
		"DestinationDeliveryFailures":  m.DestinationDeliveryFailures.Load(),
		"DeadLetterErrors":             m.DeadLetterErrors.Load(),
		"DestinationDeliveriesExpired": m.DestinationDeliveriesExpired.Load(),
		"RecursiveInvocationsDropped":  m.RecursiveInvocationsDropped.Load(),
		"EventSourceBatches":           m.EventSourceBatches.Load(),
		"EventSourceBatchFailures":     m.EventSourceBatchFailures.Load(),
		"EventSourceRecords":           m.EventSourceRecords.Load(),
		"EventSourceRecordsFiltered":   m.EventSourceRecordsFiltered.Load(),
		"EventSourceRecordsDropped":    m.EventSourceRecordsDropped.Load(),
		"EventSourcePollErrors":        m.EventSourcePollErrors.Load(),
	}
}

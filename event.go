package lambdahost

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// AsyncEvent is the event of an asynchronous Invoke (InvocationType
// Event). It is stored before Invoke answers 202 and deleted once the
// invocation is finished for good (it succeeded, failed after its
// retries, or was dropped), so that a crash loses no acknowledged event:
// events still stored at start-up are run again.
type AsyncEvent struct {
	// ID identifies the event. IDs made by NewEventID sort in the order
	// the events were created, which is the order ListEvents returns.
	ID       string
	Function FunctionID
	// Qualifier is what the caller invoked: an alias, a version, or "" for
	// the unqualified function. A replayed event is resolved again from
	// it, so an alias's weights are drawn again.
	Qualifier string
	Payload   []byte
	RequestID string
	// TraceID is the X-Ray trace header passed to the runtime.
	TraceID string
	// Created is when the event was stored. The maximum event age counts
	// from it, across restarts.
	Created time.Time
	// Node is the node that runs the event: the one that stored it, or
	// one that claimed it after that one ended. Empty means none.
	Node string
}

// NewEventID returns a new event ID for an event created at t: the Unix
// time in nanoseconds as 16 hex digits, then random hex digits. IDs of
// events created after 1970 sort bytewise in creation order.
func NewEventID(t time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return fmt.Sprintf("%016x-%s", uint64(t.UnixNano()), hex.EncodeToString(b[:]))
}

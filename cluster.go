package lambdahost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Several lambdahost processes ("nodes") may serve one Store: PostgreSQL
// shared by nodes behind a load balancer. The Store then decides what
// must happen once (settling an update, delivering an asynchronous
// event, finishing a signing job left in progress) and counts what every
// node runs (concurrency), so that no node keeps a truth of its own.
//
// A node registers with Heartbeat and stays alive while it renews its
// registration before the TTL passes. Work a node claims (Tx.Claim,
// Tx.ClaimEvents, the events it stores) stays its own while it is alive;
// once its registration expires or it Leaves, any other node may claim the
// work and do it. A node killed mid-work is thus taken over within its TTL
// plus the interval at which the others look for orphaned work.

// NewNodeID returns a new random node ID: "node-" and 16 hex digits. A
// process takes a new one at each start, so that a restarted process
// never mistakes work of its previous life for work it is doing.
func NewNodeID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "node-" + hex.EncodeToString(b[:])
}

// Coordinator is the part of a Store that nodes sharing it coordinate
// through. Every Store implements it; a Store that one process uses (SQLite)
// implements it for that process alone.
type Coordinator interface {
	// Heartbeat registers node as alive until ttl from now, by the store's
	// clock (so that nodes' clocks need not agree), replacing its previous
	// registration. A node calls it again well before ttl passes.
	Heartbeat(ctx context.Context, node string, ttl time.Duration) error
	// Leave ends node's registration at once: the work it claimed and the
	// invocations it counts are free for other nodes. Leaving a node that is
	// not registered is not an error.
	Leave(ctx context.Context, node string) error
	// Alive reports whether node is registered and its registration has
	// not expired, by the store's clock: false once it Left, its TTL
	// passed without renewal, or if it never registered. A node whose
	// registration expired is alive again once it renews it. Services use
	// it to honour what another node vouches for only while that node
	// runs (the temporary credentials it issued).
	Alive(ctx context.Context, node string) (bool, error)

	// LockCode takes the code lock, shared or exclusive, across every node,
	// and returns the function that releases it. Operations hold it shared
	// from committing a code blob until the metadata that references it
	// has committed; garbage collection holds it exclusively while it
	// decides what is unreferenced and deletes it, so that it never deletes
	// a blob that an operation has just committed again (deduplicated) and
	// is about to reference. LockCode waits until it can take the lock or
	// ctx is done. A node that dies releases what it held.
	LockCode(ctx context.Context, exclusive bool) (unlock func(), err error)

	// AcquireConcurrency counts one more invocation in flight under key
	// (a function, or an account and region) for node, if fewer than limit
	// are in flight under key across every live node, and reports whether
	// it did. ReleaseConcurrency counts one fewer. The counts of a node
	// that is no longer alive do not count.
	AcquireConcurrency(ctx context.Context, node, key string, limit int) (bool, error)
	ReleaseConcurrency(ctx context.Context, node, key string) error

	// Watch calls fn with the ID of every function whose record, versions
	// or aliases a committed transaction of any node changed (or deleted),
	// until ctx is done; then it returns ctx's error. fn is called from one
	// goroutine, in commit order for each function, and should return
	// quickly. A change may be reported more than once. When changes may
	// have been missed (the store lost its connection and reconnected),
	// fn is called with the zero FunctionID: treat every function as
	// changed. Watch returns other errors only if it cannot start.
	Watch(ctx context.Context, fn func(FunctionID)) error
}

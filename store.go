package lambdahost

import "context"

// Store keeps functions, versions, aliases and queued asynchronous events.
// Implementations: sqlite/, and postgres/ for several lambdahost processes
// sharing one truth.
//
// All access goes through transactions, so that control/ can read, check
// RevisionIds and states, and write as one atomic step: concurrent updates
// with the same RevisionId have exactly one winner.
type Store interface {
	// Update runs fn in a read-write transaction. Read-write transactions are
	// serializable. If fn returns an error the transaction is rolled back and
	// the error returned unchanged. Update returns after the commit is durable.
	// An implementation whose database reports serialization failures rolls
	// back and runs fn again in a new transaction, so that the losers of a
	// race see the winner's write instead of an error: fn must therefore
	// start from scratch each time (reset what it collects) and have no
	// effect outside the transaction that it cannot repeat. fn must not
	// call Update or View.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction that sees one consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
	Coordinator
}

// Tx is a transaction on a Store. Methods that find nothing return an error
// wrapping ErrNotFound; inserts that collide return one wrapping ErrExists.
//
// Paging: a limit of zero or less means no limit. Names sort bytewise (in
// PostgreSQL, COLLATE "C"). Version names are "$LATEST", "$LATEST.PUBLISHED"
// or a decimal number without leading zeros; others are refused.
type Tx interface {
	Function(ctx context.Context, id FunctionID) (*Function, error)
	// CreateFunction inserts f; ErrExists if a function with its ID exists.
	CreateFunction(ctx context.Context, f *Function) error
	// PutFunction replaces an existing function record; ErrNotFound if none.
	PutFunction(ctx context.Context, f *Function) error
	// DeleteFunction removes the function with all its versions, aliases
	// and asynchronous events.
	DeleteFunction(ctx context.Context, id FunctionID) error
	// AllFunctions returns up to limit functions of every account and
	// region whose IDs sort after after, ordered by account, region and
	// name, each bytewise. The zero FunctionID starts at the beginning.
	// It is for tools that walk the whole store (check, backup, migrate);
	// the API lists functions of one account and region with ListLatest.
	AllFunctions(ctx context.Context, after FunctionID, limit int) ([]*Function, error)

	Version(ctx context.Context, id FunctionID, name string) (*Version, error)
	// PutVersion inserts or replaces the version; ErrNotFound if the
	// function does not exist.
	PutVersion(ctx context.Context, v *Version) error
	DeleteVersion(ctx context.Context, id FunctionID, name string) error
	// ListVersions returns up to limit versions of id whose VersionOrder is
	// greater than after, in VersionOrder order. An after below -2 starts at
	// the beginning.
	ListVersions(ctx context.Context, id FunctionID, after int64, limit int) ([]*Version, error)

	// ListLatest returns up to limit $LATEST versions of account's functions in
	// region whose names sort after afterName, ordered by name.
	ListLatest(ctx context.Context, account, region, afterName string, limit int) ([]*Version, error)
	// ListAllVersions is ListLatest over every version, ordered by function
	// name then VersionOrder, starting after (afterName, afterOrder);
	// ("", anything) starts at the beginning.
	ListAllVersions(ctx context.Context, account, region, afterName string, afterOrder int64, limit int) ([]*Version, error)

	Alias(ctx context.Context, id FunctionID, name string) (*Alias, error)
	// CreateAlias inserts a; ErrExists if the alias exists, ErrNotFound if
	// the function does not.
	CreateAlias(ctx context.Context, a *Alias) error
	// PutAlias replaces an existing alias; ErrNotFound if none.
	PutAlias(ctx context.Context, a *Alias) error
	DeleteAlias(ctx context.Context, id FunctionID, name string) error
	// ListAliases returns up to limit aliases of id, ordered by name, after afterName.
	ListAliases(ctx context.Context, id FunctionID, afterName string, limit int) ([]*Alias, error)

	// PutCode stores small code inline, keyed by its digest, in the same
	// transaction as the version that references it: one commit makes both
	// durable. Storing a digest that is already there is a no-op.
	PutCode(ctx context.Context, d Digest, data []byte) error
	// Code returns inline code; an error wrapping ErrBlobNotFound if d is not
	// stored inline.
	Code(ctx context.Context, d Digest) ([]byte, error)
	// ListCode returns the address and size of every package stored
	// inline (PutCode), ordered by address bytewise.
	ListCode(ctx context.Context) ([]StoredCode, error)
	// DeleteUnreferencedCode deletes inline code whose key is not in
	// referenced (the digests and sealed code addresses that versions
	// reference, see CodeRefs) and returns how many entries it deleted.
	DeleteUnreferencedCode(ctx context.Context, referenced map[Digest]bool) (int, error)

	// Usage sums the code size of every version of account's functions in
	// region, counts its functions there and sums their reserved
	// concurrency: AWS's usage, code storage quota and concurrency quota
	// are per account and region.
	Usage(ctx context.Context, account, region string) (AccountUsage, error)
	// Digests returns every code digest any version references, its own
	// code's and its layers' (Config.Layers), leaving out the zero digest
	// of versions without code.
	Digests(ctx context.Context) ([]Digest, error)
	// CodeRefs returns every distinct (digest, key) pair of code that
	// versions reference, leaving out versions without code: their own
	// code, whose key is Code.SealedWith (empty for code stored before it
	// was sealed), and the code of the layers they use (Config.Layers,
	// Layer.Digest and Layer.SealedWith), which a function keeps after its
	// layer version is deleted.
	CodeRefs(ctx context.Context) ([]CodeRef, error)
	// Unsettled returns every version whose State is Pending or whose
	// LastUpdateStatus is InProgress, so that they can be settled after a restart.
	Unsettled(ctx context.Context) ([]*Version, error)

	// PutEvent stores an asynchronous event, claimed by ev.Node (see
	// ClaimEvents); ErrExists if an event with its ID exists, ErrNotFound
	// if its function does not. Once the transaction commits, the event
	// survives a crash.
	PutEvent(ctx context.Context, ev *AsyncEvent) error
	// DeleteEvent deletes the event with that ID. Deleting an event that
	// does not exist (already deleted, or deleted with its function) is
	// not an error.
	DeleteEvent(ctx context.Context, id string) error
	// ListEvents returns up to limit events of every account and region
	// whose IDs sort bytewise after after, ordered by ID: the order in
	// which they were created, for IDs made by NewEventID. An after of ""
	// starts at the beginning.
	ListEvents(ctx context.Context, after string, limit int) ([]*AsyncEvent, error)
	// ClaimEvents claims for node up to limit events whose IDs sort
	// bytewise after after ("" for all) and that no live node holds (their
	// node left, its registration expired, or they have none), and returns
	// them, oldest first, with Node set to node. Events that
	// another transaction is claiming at the same moment are skipped
	// rather than waited for, so that concurrent claimers share the work.
	ClaimEvents(ctx context.Context, node, after string, limit int) ([]*AsyncEvent, error)

	// PutDelivery stores a message to be sent to a destination, claimed
	// by d.Node (see ClaimDeliveries); ErrExists if a delivery with its ID
	// exists. Once the transaction commits, the delivery survives a crash.
	// Deleting a function does not delete its deliveries: they record
	// what it did.
	PutDelivery(ctx context.Context, d *Delivery) error
	// DeleteDelivery deletes the delivery with that ID, once it has been
	// sent (or given up). Deleting one that does not exist is not an
	// error.
	DeleteDelivery(ctx context.Context, id string) error
	// ListDeliveries returns up to limit deliveries whose IDs sort
	// bytewise after after, ordered by ID.
	ListDeliveries(ctx context.Context, after string, limit int) ([]*Delivery, error)
	// ClaimDeliveries claims for node up to limit deliveries whose IDs
	// sort after after and that no live node holds, and returns them,
	// oldest first, with Node set to node. As ClaimEvents, it skips rows
	// another transaction is claiming rather than wait for them.
	ClaimDeliveries(ctx context.Context, node, after string, limit int) ([]*Delivery, error)

	// Claim makes node the holder of the work named (kind, key) if no live
	// node holds it (none does, or its holder left or expired), and
	// reports whether it did. It reports false for work node holds
	// already: a node sweeping for work left by others passes over its
	// own. Work is claimed in the transaction that
	// creates it, so that it is never without a holder, and released with
	// Unclaim in the one that finishes it; a node that dies leaves its
	// claims to be taken over.
	Claim(ctx context.Context, kind, key, node string) (bool, error)
	// Unclaim releases (kind, key) if node holds it; otherwise it does
	// nothing.
	Unclaim(ctx context.Context, kind, key, node string) error

	// Records are small documents that the services keep by kind and key
	// (code signing configs, signing profiles and jobs, local KMS keys).
	// Values are opaque to the store.
	//
	// Record returns the value of (kind, key), or an error wrapping
	// ErrNotFound.
	Record(ctx context.Context, kind, key string) ([]byte, error)
	// CreateRecord inserts a record; ErrExists if (kind, key) exists.
	CreateRecord(ctx context.Context, kind, key string, value []byte) error
	// PutRecord inserts or replaces a record.
	PutRecord(ctx context.Context, kind, key string, value []byte) error
	// DeleteRecord deletes a record; deleting a missing one is not an error.
	DeleteRecord(ctx context.Context, kind, key string) error
	// ListRecords returns up to limit records of kind whose keys start with
	// prefix and sort bytewise after after, ordered by key.
	ListRecords(ctx context.Context, kind, prefix, after string, limit int) ([]Record, error)
}

// Record is a document kept by a Store: see Tx.Record.
type Record struct {
	Key   string
	Value []byte
}

// StoredCode is a package stored inline: its address (see CodeRef) and
// its size in bytes.
type StoredCode struct {
	Address Digest
	Size    int64
}

// CodeRef is code that a version references: its plaintext digest and the
// KMS key it is sealed under. Sealed code is stored at
// CodeAddress(SealedWith, Digest); code stored before sealing, at Digest.
type CodeRef struct {
	Digest     Digest
	SealedWith string
}

// Address returns where the code is stored.
func (r CodeRef) Address() Digest {
	if r.SealedWith == "" {
		return r.Digest
	}
	return CodeAddress(r.SealedWith, r.Digest)
}

// Sizer is a Store that can tell how much space it takes (the SQLite
// file, the PostgreSQL database), for an operator's metrics.
type Sizer interface {
	// Size returns the store's size in bytes.
	Size(ctx context.Context) (int64, error)
}

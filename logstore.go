package lambdahost

import "context"

// CloudWatch Logs' data: log groups of an account and region, their
// streams, and the events of each stream. Package logs serves them (the
// CloudWatch Logs API) and stores functions' output in them; a LogStore
// keeps them.
//
// Times of the log domain are Unix milliseconds, as CloudWatch Logs
// counts them on the wire; 0 means "none" where a field says so.

// LogGroupID names a log group.
type LogGroupID struct {
	Account, Region, Name string
}

// ARN returns the log group's ARN, without the ":*" that DescribeLogGroups
// appends to its "arn" member.
func (id LogGroupID) ARN() string {
	return "arn:aws:logs:" + id.Region + ":" + id.Account + ":log-group:" + id.Name
}

// LogGroup is a log group.
type LogGroup struct {
	ID LogGroupID
	// Created is when the group was created (Unix ms).
	Created int64
	// RetentionDays is how long its events are kept; 0 means forever.
	RetentionDays int
	// Class is STANDARD or INFREQUENT_ACCESS.
	Class string
	// Tags are the group's tags; nil if none.
	Tags map[string]string
	// StoredBytes is the size of its events (see LogEventSize). Stores
	// keep it; PutLogGroup ignores it.
	StoredBytes int64
}

// LogStream is a stream of a log group.
type LogStream struct {
	Group LogGroupID
	Name  string
	// Created is when the stream was created (Unix ms).
	Created int64
	// FirstEvent and LastEvent are the timestamps of its oldest and newest
	// events, LastIngestion when an event was last added: 0 for a stream
	// that never had events. Stores keep them.
	FirstEvent, LastEvent, LastIngestion int64
	// StoredBytes is the size of its events. Stores keep it.
	StoredBytes int64
}

// LogEvent is one event of a log stream.
type LogEvent struct {
	// Seq is assigned by the store when the event is added: it is unique
	// across the store, never reused, and grows in the order events are
	// added.
	Seq int64
	// Stream is the name of the event's stream (filled in by reads).
	Stream string
	// Time is the event's timestamp and Ingested when it was added (Unix ms).
	Time, Ingested int64
	Message        string
}

// LogEventOverhead is what CloudWatch Logs adds to a message's UTF-8 size
// when it sizes an event: for PutLogEvents' batch limit and, here, for
// the bytes a group stores.
const LogEventOverhead = 26

// LogEventSize is the size an event counts for: its message's bytes plus
// LogEventOverhead.
func LogEventSize(message string) int64 { return int64(len(message)) + LogEventOverhead }

// LogPosition is a place in the order in which events are read: by Time,
// then Seq. The zero LogPosition is before every event.
type LogPosition struct {
	Time, Seq int64
}

// Less reports whether p comes before q.
func (p LogPosition) Less(q LogPosition) bool {
	return p.Time < q.Time || p.Time == q.Time && p.Seq < q.Seq
}

// LogEventQuery selects events of one log group for LogTx.LogEvents.
type LogEventQuery struct {
	Group LogGroupID
	// Streams, if not empty, keeps the events of these streams only.
	Streams []string
	// StreamPrefix, if not empty, keeps the events of streams whose names
	// start with it.
	StreamPrefix string
	// Start and End keep events with Start <= Time < End. An End of 0 is
	// no upper bound.
	Start, End int64
	// After and Before, if not zero, keep events strictly after and before
	// these positions.
	After, Before LogPosition
	// Descending reads from the newest position backwards; otherwise from
	// the oldest forwards. Either way events come in that reading order.
	Descending bool
	// Limit bounds the events returned; 0 or less is no limit.
	Limit int
}

// LogStreamOrder is how ListLogStreams orders streams.
type LogStreamOrder int

const (
	// ByStreamName orders streams by name, bytewise.
	ByStreamName LogStreamOrder = iota
	// ByLastEvent orders streams by LastEvent, then name.
	ByLastEvent
)

// LogStreamQuery selects streams of one log group for LogTx.ListLogStreams.
type LogStreamQuery struct {
	Group LogGroupID
	// Prefix keeps streams whose names start with it (ByStreamName only).
	Prefix string
	Order  LogStreamOrder
	// Descending reverses the order.
	Descending bool
	// AfterName and AfterLastEvent, if AfterName is not empty, start after
	// that stream in the order: ByStreamName uses the name only.
	AfterName      string
	AfterLastEvent int64
	// Limit bounds the streams returned; 0 or less is no limit.
	Limit int
}

// LogStore keeps CloudWatch Logs' groups, streams and events. It is a
// separate interface from Store, although the same database implements
// both: log data is never written in the same transaction as functions
// (deleting a function keeps its log group, as on AWS), it is written in
// batches off the invoke path at a far higher rate, and a backend may keep
// it apart from the control plane's data. All access goes through
// transactions, as with Store: read, check and write as one atomic step.
type LogStore interface {
	// UpdateLogs runs fn in a read-write transaction, as Store.Update does.
	UpdateLogs(ctx context.Context, fn func(LogTx) error) error
	// ViewLogs runs fn in a read-only transaction that sees one snapshot.
	ViewLogs(ctx context.Context, fn func(LogTx) error) error
}

// LogTx is a transaction on a LogStore. Methods that find nothing return an
// error wrapping ErrNotFound; inserts that collide return one wrapping
// ErrExists. Names sort bytewise.
type LogTx interface {
	LogGroup(ctx context.Context, id LogGroupID) (*LogGroup, error)
	// CreateLogGroup inserts g (StoredBytes is 0); ErrExists if a group
	// with its ID exists.
	CreateLogGroup(ctx context.Context, g *LogGroup) error
	// PutLogGroup replaces the retention, class and tags of an existing
	// group; ErrNotFound if none.
	PutLogGroup(ctx context.Context, g *LogGroup) error
	// DeleteLogGroup deletes a group with all its streams and events;
	// ErrNotFound if none.
	DeleteLogGroup(ctx context.Context, id LogGroupID) error
	// ListLogGroups returns up to limit groups of account in region whose
	// names start with prefix and sort after after, ordered by name.
	ListLogGroups(ctx context.Context, account, region, prefix, after string, limit int) ([]*LogGroup, error)
	// RetainedLogGroups returns every group of every account whose
	// RetentionDays is not 0, for retention sweeps.
	RetainedLogGroups(ctx context.Context) ([]*LogGroup, error)

	LogStream(ctx context.Context, group LogGroupID, name string) (*LogStream, error)
	// CreateLogStream inserts s (its event fields are 0); ErrExists if the
	// stream exists, ErrNotFound if its group does not.
	CreateLogStream(ctx context.Context, s *LogStream) error
	// DeleteLogStream deletes a stream and its events; ErrNotFound if none.
	DeleteLogStream(ctx context.Context, group LogGroupID, name string) error
	// ListLogStreams returns the streams q selects, in its order; an
	// ErrNotFound if the group does not exist.
	ListLogStreams(ctx context.Context, q LogStreamQuery) ([]*LogStream, error)

	// AppendLogEvents adds events (Time, Ingested and Message set) to an
	// existing stream, assigning their Seq in order, and updates the
	// stream's FirstEvent, LastEvent, LastIngestion and StoredBytes and
	// its group's StoredBytes. ErrNotFound if the stream does not exist.
	AppendLogEvents(ctx context.Context, group LogGroupID, stream string, events []LogEvent) error
	// LogEvents returns the events q selects, in its order, with Stream
	// set. The group not existing is an ErrNotFound.
	LogEvents(ctx context.Context, q LogEventQuery) ([]LogEvent, error)
	// LogEventsAfter returns up to limit events of groups whose Seq is
	// greater than after, ordered by Seq: what was added since, for live
	// tails. Groups that do not exist are left out.
	LogEventsAfter(ctx context.Context, groups []LogGroupID, after int64, limit int) ([]LogEvent, error)
	// LastLogSeq returns the greatest Seq assigned so far, 0 if none.
	LastLogSeq(ctx context.Context) (int64, error)
	// DeleteLogEventsBefore deletes the group's events whose Time is
	// before before and returns how many it deleted, keeping the streams'
	// and the group's sizes and FirstEvent right.
	DeleteLogEventsBefore(ctx context.Context, group LogGroupID, before int64) (int64, error)
	// LogUsage returns the StoredBytes of all of account's groups in every
	// region.
	LogUsage(ctx context.Context, account string) (int64, error)
	// LogAccounts returns every account that has a log group.
	LogAccounts(ctx context.Context) ([]string, error)
	// TrimLogs deletes account's oldest events (in the order they were
	// added, every region and group together) until its LogUsage is at
	// most target, and returns how many it deleted.
	TrimLogs(ctx context.Context, account string, target int64) (int64, error)
}

// LogSink stores functions' log output, as Lambda sends it to CloudWatch
// Logs: the executor hands it every line of every execution environment.
// Implementations (logs.Ingester) must not block the caller on storage.
type LogSink interface {
	// Log adds events (Time and Message set) to stream of group, creating
	// the group and the stream on first use.
	Log(group LogGroupID, stream string, events ...LogEvent)
}

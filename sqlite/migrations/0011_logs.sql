-- CloudWatch Logs: log groups, their streams and their events (see
-- lambdahost.LogStore). Times are Unix milliseconds; sizes count a
-- message's bytes plus 26, as CloudWatch Logs sizes events. stored and the
-- streams' first_event, last_event and last_ingestion are kept by the
-- store as events are added and deleted.
CREATE TABLE log_groups (
	id        INTEGER PRIMARY KEY,
	account   TEXT    NOT NULL,
	region    TEXT    NOT NULL,
	name      TEXT    NOT NULL,
	created   INTEGER NOT NULL,
	retention INTEGER NOT NULL DEFAULT 0, -- days; 0 keeps events forever
	class     TEXT    NOT NULL,
	tags      BLOB    NOT NULL,           -- JSON object
	stored    INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account, region, name)
) STRICT;

CREATE TABLE log_streams (
	id             INTEGER PRIMARY KEY,
	group_id       INTEGER NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
	name           TEXT    NOT NULL,
	created        INTEGER NOT NULL,
	first_event    INTEGER NOT NULL DEFAULT 0,
	last_event     INTEGER NOT NULL DEFAULT 0,
	last_ingestion INTEGER NOT NULL DEFAULT 0,
	stored         INTEGER NOT NULL DEFAULT 0,
	UNIQUE (group_id, name)
) STRICT;

-- DescribeLogStreams ordered by LastEventTime.
CREATE INDEX log_streams_by_last_event ON log_streams (group_id, last_event, name);

-- id is the event's Seq: AUTOINCREMENT never reuses one, so event IDs
-- and tokens made from it stay unique after deletions. group_id repeats
-- the stream's group so that a group's events are one index range.
CREATE TABLE log_events (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	group_id  INTEGER NOT NULL,
	stream_id INTEGER NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
	time      INTEGER NOT NULL,
	ingested  INTEGER NOT NULL,
	message   TEXT    NOT NULL
) STRICT;

-- GetLogEvents reads one stream by time; FilterLogEvents, retention and
-- live tails read a group by time or by id. Both indexes end with the
-- rowid, which orders events of the same time.
CREATE INDEX log_events_by_stream ON log_events (stream_id, time);
CREATE INDEX log_events_by_group ON log_events (group_id, time);

-- Events of asynchronous invocations (InvocationType Event), stored before
-- Invoke answers 202 and deleted once the invocation is finished for good,
-- so that a crash loses no acknowledged event. Deleting a function deletes
-- its events.
CREATE TABLE async_events (
	id         TEXT    NOT NULL PRIMARY KEY, -- lambdahost.NewEventID: sorts in creation order
	account    TEXT    NOT NULL,
	region     TEXT    NOT NULL,
	name       TEXT    NOT NULL, -- function name
	qualifier  TEXT    NOT NULL, -- as invoked: alias, version or ''
	request_id TEXT    NOT NULL,
	trace_id   TEXT    NOT NULL,
	created    INTEGER NOT NULL,
	payload    BLOB    NOT NULL, -- up to 1 MB: last, so the other columns are read without it
	FOREIGN KEY (account, region, name) REFERENCES functions (account, region, name) ON DELETE CASCADE
) STRICT;

-- DeleteFunction's cascade finds a function's events without a table scan.
CREATE INDEX async_events_function ON async_events (account, region, name);

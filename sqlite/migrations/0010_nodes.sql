-- Coordination of the processes ("nodes") serving a store. A SQLite store
-- is served by one process at a time, so Open deletes the nodes of earlier
-- processes: the work they claimed is free for the new one at once.
--
-- nodes: registered nodes and when their registration expires (Unix
-- nanoseconds).
CREATE TABLE nodes (
	id      TEXT    NOT NULL PRIMARY KEY,
	expires INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- claims: which node holds a piece of work that must happen once
-- (settling an update, finishing a signing job).
CREATE TABLE claims (
	kind TEXT NOT NULL,
	key  TEXT NOT NULL,
	node TEXT NOT NULL,
	PRIMARY KEY (kind, key)
) STRICT, WITHOUT ROWID;

-- The node that runs each asynchronous event; '' for none.
ALTER TABLE async_events ADD COLUMN node TEXT NOT NULL DEFAULT '';

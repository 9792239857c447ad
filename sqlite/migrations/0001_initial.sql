-- Functions, their versions and aliases.
--
-- Times are Unix nanoseconds in UTC, 0 for the zero time. Fields that no
-- query filters or sorts on are kept as JSON in a data column; the sqlite
-- package's record structs define its shape.

CREATE TABLE functions (
	account           TEXT    NOT NULL,
	region            TEXT    NOT NULL,
	name              TEXT    NOT NULL,
	created           INTEGER NOT NULL,
	last_version      INTEGER NOT NULL,
	changes           INTEGER NOT NULL,
	published_changes INTEGER NOT NULL,
	-- JSON object of the tags, NULL when the function has none (nil map).
	tags              TEXT,
	PRIMARY KEY (account, region, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE versions (
	account            TEXT    NOT NULL,
	region             TEXT    NOT NULL,
	name               TEXT    NOT NULL, -- function name
	version            TEXT    NOT NULL, -- $LATEST, $LATEST.PUBLISHED or a number
	version_order      INTEGER NOT NULL, -- lambdahost.VersionOrder(version)
	revision_id        TEXT    NOT NULL,
	last_modified      INTEGER NOT NULL,
	code_digest        BLOB,             -- 32-byte SHA-256, NULL when there is no code
	code_size          INTEGER NOT NULL,
	state              TEXT    NOT NULL,
	last_update_status TEXT    NOT NULL,
	data               TEXT    NOT NULL, -- JSON: config and the rest of code and status
	PRIMARY KEY (account, region, name, version),
	FOREIGN KEY (account, region, name) REFERENCES functions (account, region, name) ON DELETE CASCADE
) STRICT;

-- ListVersions, ListAllVersions.
CREATE UNIQUE INDEX versions_by_order ON versions (account, region, name, version_order);
-- ListLatest: one entry per function, in name order.
CREATE INDEX versions_latest ON versions (account, region, name) WHERE version_order = -2;
-- Usage: a covering index, so the sum reads no table rows.
CREATE INDEX versions_code_size ON versions (account, region, code_size);
-- Digests.
CREATE INDEX versions_digest ON versions (code_digest) WHERE code_digest IS NOT NULL;
-- Unsettled: only the few versions that are busy.
CREATE INDEX versions_unsettled ON versions (account, region, name, version_order)
	WHERE state = 'Pending' OR last_update_status = 'InProgress';

CREATE TABLE aliases (
	account          TEXT NOT NULL,
	region           TEXT NOT NULL,
	name             TEXT NOT NULL, -- function name
	alias            TEXT NOT NULL,
	function_version TEXT NOT NULL,
	revision_id      TEXT NOT NULL,
	data             TEXT NOT NULL, -- JSON: description, routing weights
	PRIMARY KEY (account, region, name, alias),
	FOREIGN KEY (account, region, name) REFERENCES functions (account, region, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Small documents that control keeps as JSON: code signing configs,
-- signing profiles and jobs, local KMS keys. They are few, read by key or
-- by key prefix, and never queried by their content, so one table serves
-- them all and a new kind of document needs no migration.
CREATE TABLE records (
	kind  TEXT NOT NULL,
	key   TEXT NOT NULL,
	value BLOB NOT NULL,
	PRIMARY KEY (kind, key)
) STRICT, WITHOUT ROWID;

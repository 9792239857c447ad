-- Small deployment packages stored inline, keyed by their SHA-256, so that
-- one commit makes a package and the version that references it durable.
-- Larger packages live in the disk blob store.
CREATE TABLE code (
	digest BLOB NOT NULL PRIMARY KEY, -- 32-byte SHA-256
	data   BLOB NOT NULL
) STRICT;

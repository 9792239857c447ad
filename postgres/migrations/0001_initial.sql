-- The schema of lambdahost's metadata on PostgreSQL: what sqlite/ keeps,
-- with the same columns and documents (internal/storedoc), so that one
-- conformance suite covers both. Text that is compared or sorted is
-- COLLATE "C", so names sort bytewise as Go compares strings, whatever
-- the database's default collation. Times of the API are Unix
-- nanoseconds in UTC (0 for the zero time), as in SQLite; times the
-- nodes coordinate by are timestamptz from the database's clock.

CREATE TABLE functions (
	account              text COLLATE "C" NOT NULL,
	region               text COLLATE "C" NOT NULL,
	name                 text COLLATE "C" NOT NULL,
	created              bigint NOT NULL,
	last_version         bigint NOT NULL,
	changes              bigint NOT NULL,
	published_changes    bigint NOT NULL,
	tags                 jsonb,   -- NULL when the function has none (nil map)
	reserved_concurrency integer, -- NULL when none is set; 0 throttles
	PRIMARY KEY (account, region, name)
);

CREATE INDEX functions_reserved ON functions (account, region)
	WHERE reserved_concurrency IS NOT NULL;

CREATE TABLE versions (
	account            text COLLATE "C" NOT NULL,
	region             text COLLATE "C" NOT NULL,
	name               text COLLATE "C" NOT NULL,
	version            text COLLATE "C" NOT NULL, -- $LATEST, $LATEST.PUBLISHED or a number
	version_order      bigint NOT NULL,           -- lambdahost.VersionOrder(version)
	revision_id        text NOT NULL,
	last_modified      bigint NOT NULL,
	code_digest        bytea,                     -- 32-byte SHA-256, NULL without code
	code_size          bigint NOT NULL,
	state              text NOT NULL,
	last_update_status text NOT NULL,
	data               jsonb NOT NULL,            -- internal/storedoc
	PRIMARY KEY (account, region, name, version),
	FOREIGN KEY (account, region, name) REFERENCES functions ON DELETE CASCADE
);

CREATE UNIQUE INDEX versions_by_order ON versions (account, region, name, version_order);
CREATE INDEX versions_latest ON versions (account, region, name) WHERE version_order = -2;
CREATE INDEX versions_digest ON versions (code_digest) WHERE code_digest IS NOT NULL;
CREATE INDEX versions_unsettled ON versions (account, region, name, version_order)
	WHERE state = 'Pending' OR last_update_status = 'InProgress';

CREATE TABLE aliases (
	account          text COLLATE "C" NOT NULL,
	region           text COLLATE "C" NOT NULL,
	name             text COLLATE "C" NOT NULL,
	alias            text COLLATE "C" NOT NULL,
	function_version text NOT NULL,
	revision_id      text NOT NULL,
	data             jsonb NOT NULL,
	PRIMARY KEY (account, region, name, alias),
	FOREIGN KEY (account, region, name) REFERENCES functions ON DELETE CASCADE
);

-- Small packages stored with the metadata that references them.
CREATE TABLE code (
	digest bytea PRIMARY KEY, -- the code's address: see lambdahost.CodeRef
	data   bytea NOT NULL
);

-- Events of asynchronous invocations, stored before Invoke answers 202 and
-- deleted once finished for good. node is the node that runs the event;
-- another claims it once that node is gone.
CREATE TABLE async_events (
	id         text COLLATE "C" PRIMARY KEY, -- lambdahost.NewEventID: sorts in creation order
	account    text COLLATE "C" NOT NULL,
	region     text COLLATE "C" NOT NULL,
	name       text COLLATE "C" NOT NULL,
	qualifier  text NOT NULL,
	request_id text NOT NULL,
	trace_id   text NOT NULL,
	created    bigint NOT NULL,
	node       text COLLATE "C" NOT NULL DEFAULT '',
	payload    bytea NOT NULL,
	FOREIGN KEY (account, region, name) REFERENCES functions ON DELETE CASCADE
);

CREATE INDEX async_events_function ON async_events (account, region, name);
CREATE INDEX async_events_node ON async_events (node);

-- Small documents that control keeps by kind and key.
CREATE TABLE records (
	kind  text COLLATE "C" NOT NULL,
	key   text COLLATE "C" NOT NULL,
	value bytea NOT NULL,
	PRIMARY KEY (kind, key)
);

-- The nodes serving the store, alive until expires.
CREATE TABLE nodes (
	id      text COLLATE "C" PRIMARY KEY,
	expires timestamptz NOT NULL
);

-- Work that must happen once, and the node doing it.
CREATE TABLE claims (
	kind text COLLATE "C" NOT NULL,
	key  text COLLATE "C" NOT NULL,
	node text COLLATE "C" NOT NULL,
	PRIMARY KEY (kind, key)
);

-- Invocations in flight per concurrency key and node. Unlogged: the
-- counts are worth nothing after PostgreSQL restarts, when every node's
-- connections are gone too, and they change at every invocation.
CREATE UNLOGGED TABLE inflight (
	key  text COLLATE "C" NOT NULL,
	node text COLLATE "C" NOT NULL,
	n    integer NOT NULL,
	PRIMARY KEY (key, node)
);

-- admit counts one more invocation of key for node if fewer than lim are
-- in flight across live nodes, and reports whether it did. The
-- transaction-scoped advisory lock on the key makes the count and the
-- increment one step among the nodes admitting under the same key.
CREATE FUNCTION lambdahost_admit(k text, nd text, lim integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	total integer;
BEGIN
	IF lim <= 0 THEN
		RETURN false;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtextextended('lambdahost.inflight/' || k, 0));
	SELECT coalesce(sum(i.n), 0) INTO total
		FROM inflight i JOIN nodes n ON n.id = i.node
		WHERE i.key = k AND n.expires > clock_timestamp();
	IF total >= lim THEN
		RETURN false;
	END IF;
	INSERT INTO inflight (key, node, n) VALUES (k, nd, 1)
		ON CONFLICT (key, node) DO UPDATE SET n = inflight.n + 1;
	RETURN true;
END
$$;

-- Every change to a function, its versions or aliases is announced on the
-- channel lambdahost_changes as "account/region/name" when its
-- transaction commits (PostgreSQL folds duplicates within a transaction).
CREATE FUNCTION lambdahost_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('lambdahost_changes', OLD.account || '/' || OLD.region || '/' || OLD.name);
	ELSE
		PERFORM pg_notify('lambdahost_changes', NEW.account || '/' || NEW.region || '/' || NEW.name);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER functions_changed AFTER INSERT OR UPDATE OR DELETE ON functions
	FOR EACH ROW EXECUTE FUNCTION lambdahost_notify_change();
CREATE TRIGGER versions_changed AFTER INSERT OR UPDATE OR DELETE ON versions
	FOR EACH ROW EXECUTE FUNCTION lambdahost_notify_change();
CREATE TRIGGER aliases_changed AFTER INSERT OR UPDATE OR DELETE ON aliases
	FOR EACH ROW EXECUTE FUNCTION lambdahost_notify_change();

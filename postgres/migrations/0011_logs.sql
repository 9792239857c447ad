-- CloudWatch Logs: log groups, their streams and their events (see
-- lambdahost.LogStore), as in sqlite/migrations/0011_logs.sql. Times are
-- Unix milliseconds; sizes count a message's bytes plus 26, as CloudWatch
-- Logs sizes events. stored and the streams' first_event, last_event and
-- last_ingestion are kept by the store as events are added and deleted.
CREATE TABLE log_groups (
	id        bigserial PRIMARY KEY,
	account   text COLLATE "C" NOT NULL,
	region    text COLLATE "C" NOT NULL,
	name      text COLLATE "C" NOT NULL,
	created   bigint  NOT NULL,
	retention integer NOT NULL DEFAULT 0, -- days; 0 keeps events forever
	class     text    NOT NULL,
	tags      jsonb   NOT NULL,
	stored    bigint  NOT NULL DEFAULT 0,
	UNIQUE (account, region, name)
);

CREATE TABLE log_streams (
	id             bigserial PRIMARY KEY,
	group_id       bigint NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
	name           text COLLATE "C" NOT NULL,
	created        bigint NOT NULL,
	first_event    bigint NOT NULL DEFAULT 0,
	last_event     bigint NOT NULL DEFAULT 0,
	last_ingestion bigint NOT NULL DEFAULT 0,
	stored         bigint NOT NULL DEFAULT 0,
	UNIQUE (group_id, name)
);

CREATE INDEX log_streams_by_last_event ON log_streams (group_id, last_event, name);

-- id is the event's Seq, from a sequence: never reused. Messages are
-- bytes: function output may hold NUL or invalid UTF-8, which text
-- refuses.
CREATE TABLE log_events (
	id        bigserial PRIMARY KEY,
	group_id  bigint NOT NULL,
	stream_id bigint NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
	time      bigint NOT NULL,
	ingested  bigint NOT NULL,
	message   bytea  NOT NULL
);

CREATE INDEX log_events_by_stream ON log_events (stream_id, time, id);
CREATE INDEX log_events_by_group ON log_events (group_id, time, id);
CREATE INDEX log_events_by_group_id ON log_events (group_id, id);

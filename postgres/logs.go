package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lambdahost/lambdahost"
)

var _ lambdahost.LogStore = (*Store)(nil)

// UpdateLogs implements lambdahost.LogStore: a transaction of Update,
// serializable and retried on serialization failures as Update's are, so
// that nodes appending to one group at once each see the other's sizes.
func (s *Store) UpdateLogs(ctx context.Context, fn func(lambdahost.LogTx) error) error {
	return s.Update(ctx, func(t lambdahost.Tx) error { return fn(t.(*tx)) })
}

// ViewLogs implements lambdahost.LogStore.
func (s *Store) ViewLogs(ctx context.Context, fn func(lambdahost.LogTx) error) error {
	return s.View(ctx, func(t lambdahost.Tx) error { return fn(t.(*tx)) })
}

const logGroupColumns = `id, account, region, name, created, retention, class, tags, stored`

func scanLogGroup(row pgx.CollectableRow) (logGroupRow, error) {
	var (
		r    logGroupRow
		tags []byte
	)
	g := &lambdahost.LogGroup{}
	if err := row.Scan(&r.id, &g.ID.Account, &g.ID.Region, &g.ID.Name, &g.Created, &g.RetentionDays, &g.Class, &tags, &g.StoredBytes); err != nil {
		return r, err
	}
	if len(tags) > 0 && string(tags) != "{}" {
		if err := json.Unmarshal(tags, &g.Tags); err != nil {
			return r, fmt.Errorf("decode tags of log group %s: %w", g.ID.Name, err)
		}
	}
	r.g = g
	return r, nil
}

type logGroupRow struct {
	id int64
	g  *lambdahost.LogGroup
}

func encodeLogTags(tags map[string]string) []byte {
	if len(tags) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(tags) // a map of strings always marshals
	return b
}

func (t *tx) logGroupRow(ctx context.Context, id lambdahost.LogGroupID) (int64, *lambdahost.LogGroup, error) {
	rows, err := t.query(ctx, `SELECT `+logGroupColumns+` FROM log_groups WHERE account = $1 AND region = $2 AND name = $3`,
		id.Account, id.Region, id.Name)
	if err != nil {
		return 0, nil, fmt.Errorf("log group %s: %w", id.Name, err)
	}
	rs, err := collect(t, rows, scanLogGroup)
	if err != nil {
		return 0, nil, fmt.Errorf("log group %s: %w", id.Name, err)
	}
	if len(rs) == 0 {
		return 0, nil, fmt.Errorf("log group %s: %w", id.Name, lambdahost.ErrNotFound)
	}
	return rs[0].id, rs[0].g, nil
}

// LogGroup implements lambdahost.LogTx.
func (t *tx) LogGroup(ctx context.Context, id lambdahost.LogGroupID) (*lambdahost.LogGroup, error) {
	_, g, err := t.logGroupRow(ctx, id)
	return g, err
}

// CreateLogGroup implements lambdahost.LogTx.
func (t *tx) CreateLogGroup(ctx context.Context, g *lambdahost.LogGroup) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("create log group %s: %w", g.ID.Name, err)
	}
	tag, err := t.exec(ctx, `INSERT INTO log_groups (account, region, name, created, retention, class, tags) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT DO NOTHING`, g.ID.Account, g.ID.Region, g.ID.Name, g.Created, g.RetentionDays, g.Class, encodeLogTags(g.Tags))
	switch {
	case err != nil:
		return fmt.Errorf("create log group %s: %w", g.ID.Name, err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("create log group %s: %w", g.ID.Name, lambdahost.ErrExists)
	}
	return nil
}

// PutLogGroup implements lambdahost.LogTx.
func (t *tx) PutLogGroup(ctx context.Context, g *lambdahost.LogGroup) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put log group %s: %w", g.ID.Name, err)
	}
	tag, err := t.exec(ctx, `UPDATE log_groups SET retention = $1, class = $2, tags = $3 WHERE account = $4 AND region = $5 AND name = $6`,
		g.RetentionDays, g.Class, encodeLogTags(g.Tags), g.ID.Account, g.ID.Region, g.ID.Name)
	switch {
	case err != nil:
		return fmt.Errorf("put log group %s: %w", g.ID.Name, err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("put log group %s: %w", g.ID.Name, lambdahost.ErrNotFound)
	}
	return nil
}

// DeleteLogGroup implements lambdahost.LogTx.
func (t *tx) DeleteLogGroup(ctx context.Context, id lambdahost.LogGroupID) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete log group %s: %w", id.Name, err)
	}
	groupRow, _, err := t.logGroupRow(ctx, id)
	if err != nil {
		return err
	}
	// Events first: they reference streams, which reference the group.
	if _, err := t.exec(ctx, `DELETE FROM log_events WHERE group_id = $1`, groupRow); err != nil {
		return fmt.Errorf("delete log group %s: %w", id.Name, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM log_groups WHERE id = $1`, groupRow); err != nil {
		return fmt.Errorf("delete log group %s: %w", id.Name, err)
	}
	return nil
}

// ListLogGroups implements lambdahost.LogTx.
func (t *tx) ListLogGroups(ctx context.Context, account, region, prefix, after string, limit int) ([]*lambdahost.LogGroup, error) {
	from, op := prefix, ">="
	if after >= prefix {
		from, op = after, ">"
	}
	rows, err := t.query(ctx, `SELECT `+logGroupColumns+` FROM log_groups WHERE account = $1 AND region = $2 AND name `+op+` $3
		AND left(name, $4) = $5 ORDER BY name LIMIT $6`, account, region, from, len([]rune(prefix)), prefix, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list log groups: %w", err)
	}
	rs, err := collect(t, rows, scanLogGroup)
	if err != nil {
		return nil, fmt.Errorf("list log groups: %w", err)
	}
	return groupsOf(rs), nil
}

func groupsOf(rs []logGroupRow) []*lambdahost.LogGroup {
	var out []*lambdahost.LogGroup
	for _, r := range rs {
		out = append(out, r.g)
	}
	return out
}

// RetainedLogGroups implements lambdahost.LogTx.
func (t *tx) RetainedLogGroups(ctx context.Context) ([]*lambdahost.LogGroup, error) {
	rows, err := t.query(ctx, `SELECT `+logGroupColumns+` FROM log_groups WHERE retention > 0 ORDER BY account, region, name`)
	if err != nil {
		return nil, fmt.Errorf("retained log groups: %w", err)
	}
	rs, err := collect(t, rows, scanLogGroup)
	if err != nil {
		return nil, fmt.Errorf("retained log groups: %w", err)
	}
	return groupsOf(rs), nil
}

const logStreamColumns = `s.id, s.name, s.created, s.first_event, s.last_event, s.last_ingestion, s.stored`

type logStreamRow struct {
	id int64
	s  *lambdahost.LogStream
}

func scanLogStream(group lambdahost.LogGroupID) func(pgx.CollectableRow) (logStreamRow, error) {
	return func(row pgx.CollectableRow) (logStreamRow, error) {
		r := logStreamRow{s: &lambdahost.LogStream{Group: group}}
		s := r.s
		err := row.Scan(&r.id, &s.Name, &s.Created, &s.FirstEvent, &s.LastEvent, &s.LastIngestion, &s.StoredBytes)
		return r, err
	}
}

func (t *tx) logStreamRow(ctx context.Context, group lambdahost.LogGroupID, name string) (groupRow, streamRow int64, s *lambdahost.LogStream, err error) {
	groupRow, _, err = t.logGroupRow(ctx, group)
	if err != nil {
		return 0, 0, nil, err
	}
	rows, err := t.query(ctx, `SELECT `+logStreamColumns+` FROM log_streams s WHERE s.group_id = $1 AND s.name = $2`, groupRow, name)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("log stream %s: %w", name, err)
	}
	rs, err := collect(t, rows, scanLogStream(group))
	if err != nil {
		return 0, 0, nil, fmt.Errorf("log stream %s: %w", name, err)
	}
	if len(rs) == 0 {
		return 0, 0, nil, fmt.Errorf("log stream %s: %w", name, lambdahost.ErrNotFound)
	}
	return groupRow, rs[0].id, rs[0].s, nil
}

// LogStream implements lambdahost.LogTx.
func (t *tx) LogStream(ctx context.Context, group lambdahost.LogGroupID, name string) (*lambdahost.LogStream, error) {
	_, _, s, err := t.logStreamRow(ctx, group, name)
	return s, err
}

// CreateLogStream implements lambdahost.LogTx.
func (t *tx) CreateLogStream(ctx context.Context, s *lambdahost.LogStream) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("create log stream %s: %w", s.Name, err)
	}
	groupRow, _, err := t.logGroupRow(ctx, s.Group)
	if err != nil {
		return err
	}
	tag, err := t.exec(ctx, `INSERT INTO log_streams (group_id, name, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, groupRow, s.Name, s.Created)
	switch {
	case err != nil:
		return fmt.Errorf("create log stream %s: %w", s.Name, err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("create log stream %s: %w", s.Name, lambdahost.ErrExists)
	}
	return nil
}

// DeleteLogStream implements lambdahost.LogTx.
func (t *tx) DeleteLogStream(ctx context.Context, group lambdahost.LogGroupID, name string) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete log stream %s: %w", name, err)
	}
	groupRow, streamRow, s, err := t.logStreamRow(ctx, group, name)
	if err != nil {
		return err
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM log_events WHERE stream_id = $1`, []any{streamRow}},
		{`DELETE FROM log_streams WHERE id = $1`, []any{streamRow}},
		{`UPDATE log_groups SET stored = stored - $1 WHERE id = $2`, []any{s.StoredBytes, groupRow}},
	} {
		if _, err := t.exec(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("delete log stream %s: %w", name, err)
		}
	}
	return nil
}

// args builds a query's arguments and their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// ListLogStreams implements lambdahost.LogTx.
func (t *tx) ListLogStreams(ctx context.Context, q lambdahost.LogStreamQuery) ([]*lambdahost.LogStream, error) {
	groupRow, _, err := t.logGroupRow(ctx, q.Group)
	if err != nil {
		return nil, err
	}
	var a args
	where := []string{"s.group_id = " + a.add(groupRow)}
	cmp, dir := ">", ""
	if q.Descending {
		cmp, dir = "<", " DESC"
	}
	var order string
	switch q.Order {
	case lambdahost.ByLastEvent:
		order = "s.last_event" + dir + ", s.name" + dir
		if q.AfterName != "" {
			le := a.add(q.AfterLastEvent)
			where = append(where, "(s.last_event "+cmp+" "+le+" OR (s.last_event = "+le+" AND s.name "+cmp+" "+a.add(q.AfterName)+"))")
		}
	default:
		order = "s.name" + dir
		if q.Prefix != "" {
			where = append(where, "left(s.name, "+a.add(len([]rune(q.Prefix)))+") = "+a.add(q.Prefix))
		}
		if q.AfterName != "" {
			where = append(where, "s.name "+cmp+" "+a.add(q.AfterName))
		}
	}
	limit := a.add(sqlLimit(q.Limit))
	rows, err := t.query(ctx, `SELECT `+logStreamColumns+` FROM log_streams s WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT `+limit, a...)
	if err != nil {
		return nil, fmt.Errorf("list log streams: %w", err)
	}
	rs, err := collect(t, rows, scanLogStream(q.Group))
	if err != nil {
		return nil, fmt.Errorf("list log streams: %w", err)
	}
	var out []*lambdahost.LogStream
	for _, r := range rs {
		out = append(out, r.s)
	}
	return out, nil
}

// AppendLogEvents implements lambdahost.LogTx: the batch is one INSERT of
// arrays, in order, so that the sequence gives its events increasing IDs.
func (t *tx) AppendLogEvents(ctx context.Context, group lambdahost.LogGroupID, stream string, events []lambdahost.LogEvent) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("append log events: %w", err)
	}
	groupRow, streamRow, s, err := t.logStreamRow(ctx, group, stream)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	empty := s.StoredBytes == 0
	first, last, ingested, size := s.FirstEvent, s.LastEvent, s.LastIngestion, int64(0)
	times, ings, msgs := make([]int64, len(events)), make([]int64, len(events)), make([][]byte, len(events))
	for i, e := range events {
		times[i], ings[i], msgs[i] = e.Time, e.Ingested, []byte(e.Message)
		if empty || e.Time < first {
			first, empty = e.Time, false
		}
		last, ingested = max(last, e.Time), max(ingested, e.Ingested)
		size += lambdahost.LogEventSize(e.Message)
	}
	rows, err := t.query(ctx, `INSERT INTO log_events (group_id, stream_id, time, ingested, message)
		SELECT $1, $2, u.t, u.i, u.m FROM unnest($3::bigint[], $4::bigint[], $5::bytea[]) WITH ORDINALITY AS u(t, i, m, n)
		ORDER BY u.n RETURNING id`, groupRow, streamRow, times, ings, msgs)
	if err != nil {
		return fmt.Errorf("append log events to %s: %w", stream, err)
	}
	ids, err := collect(t, rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("append log events to %s: %w", stream, err)
	}
	if len(ids) != len(events) {
		return fmt.Errorf("append log events to %s: %d IDs for %d events", stream, len(ids), len(events))
	}
	// The sequence numbered the rows in the order they were inserted.
	slices.Sort(ids)
	for i := range events {
		events[i].Seq, events[i].Stream = ids[i], stream
	}
	if _, err := t.exec(ctx, `UPDATE log_streams SET first_event = $1, last_event = $2, last_ingestion = $3, stored = stored + $4 WHERE id = $5`,
		first, last, ingested, size, streamRow); err != nil {
		return fmt.Errorf("append log events to %s: %w", stream, err)
	}
	if _, err := t.exec(ctx, `UPDATE log_groups SET stored = stored + $1 WHERE id = $2`, size, groupRow); err != nil {
		return fmt.Errorf("append log events to %s: %w", stream, err)
	}
	return nil
}

func scanLogEvent(row pgx.CollectableRow) (lambdahost.LogEvent, error) {
	var (
		e   lambdahost.LogEvent
		msg []byte
	)
	err := row.Scan(&e.Seq, &e.Stream, &e.Time, &e.Ingested, &msg)
	e.Message = string(msg)
	return e, err
}

// LogEvents implements lambdahost.LogTx.
func (t *tx) LogEvents(ctx context.Context, q lambdahost.LogEventQuery) ([]lambdahost.LogEvent, error) {
	groupRow, _, err := t.logGroupRow(ctx, q.Group)
	if err != nil {
		return nil, err
	}
	var a args
	where := []string{"e.group_id = " + a.add(groupRow)}
	if len(q.Streams) > 0 {
		where = append(where, "s.name = ANY("+a.add(q.Streams)+"::text[])")
	}
	if q.StreamPrefix != "" {
		where = append(where, "left(s.name, "+a.add(len([]rune(q.StreamPrefix)))+") = "+a.add(q.StreamPrefix))
	}
	if q.Start != 0 {
		where = append(where, "e.time >= "+a.add(q.Start))
	}
	if q.End != 0 {
		where = append(where, "e.time < "+a.add(q.End))
	}
	if q.After != (lambdahost.LogPosition{}) {
		where = append(where, "(e.time, e.id) > ("+a.add(q.After.Time)+", "+a.add(q.After.Seq)+")")
	}
	if q.Before != (lambdahost.LogPosition{}) {
		where = append(where, "(e.time, e.id) < ("+a.add(q.Before.Time)+", "+a.add(q.Before.Seq)+")")
	}
	order := "e.time, e.id"
	if q.Descending {
		order = "e.time DESC, e.id DESC"
	}
	limit := a.add(sqlLimit(q.Limit))
	rows, err := t.query(ctx, `SELECT e.id, s.name, e.time, e.ingested, e.message
		FROM log_events e JOIN log_streams s ON s.id = e.stream_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT `+limit, a...)
	if err != nil {
		return nil, fmt.Errorf("log events of %s: %w", q.Group.Name, err)
	}
	evs, err := collect(t, rows, scanLogEvent)
	if err != nil {
		return nil, fmt.Errorf("log events of %s: %w", q.Group.Name, err)
	}
	return evs, nil
}

// LogEventsAfter implements lambdahost.LogTx.
func (t *tx) LogEventsAfter(ctx context.Context, groups []lambdahost.LogGroupID, after int64, limit int) ([]lambdahost.LogEvent, error) {
	var rowIDs []int64
	for _, g := range groups {
		row, _, err := t.logGroupRow(ctx, g)
		if errors.Is(err, lambdahost.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rowIDs = append(rowIDs, row)
	}
	if len(rowIDs) == 0 {
		return nil, nil
	}
	rows, err := t.query(ctx, `SELECT e.id, s.name, e.time, e.ingested, e.message
		FROM log_events e JOIN log_streams s ON s.id = e.stream_id
		WHERE e.group_id = ANY($1::bigint[]) AND e.id > $2 ORDER BY e.id LIMIT $3`, rowIDs, after, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("log events after %d: %w", after, err)
	}
	evs, err := collect(t, rows, scanLogEvent)
	if err != nil {
		return nil, fmt.Errorf("log events after %d: %w", after, err)
	}
	return evs, nil
}

// LastLogSeq implements lambdahost.LogTx.
func (t *tx) LastLogSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := t.queryRow(ctx, `SELECT coalesce(max(id), 0) FROM log_events`, nil, &seq); err != nil {
		return 0, fmt.Errorf("last log seq: %w", err)
	}
	return seq, nil
}

// freedStream is what deleting events took from one stream.
type freedStream struct {
	stream, events, bytes int64
}

// DeleteLogEventsBefore implements lambdahost.LogTx.
func (t *tx) DeleteLogEventsBefore(ctx context.Context, group lambdahost.LogGroupID, before int64) (int64, error) {
	if err := t.writable(); err != nil {
		return 0, fmt.Errorf("delete log events: %w", err)
	}
	groupRow, _, err := t.logGroupRow(ctx, group)
	if err != nil {
		return 0, err
	}
	rows, err := t.query(ctx, `WITH d AS (DELETE FROM log_events WHERE group_id = $1 AND time < $2
			RETURNING stream_id, octet_length(message) + $3 AS size)
		SELECT stream_id, count(*), sum(size)::bigint FROM d GROUP BY stream_id ORDER BY stream_id`, groupRow, before, lambdahost.LogEventOverhead)
	if err != nil {
		return 0, fmt.Errorf("delete log events of %s: %w", group.Name, err)
	}
	freed, err := collect(t, rows, scanFreed)
	if err != nil {
		return 0, fmt.Errorf("delete log events of %s: %w", group.Name, err)
	}
	return t.settleFreed(ctx, freed)
}

func scanFreed(row pgx.CollectableRow) (freedStream, error) {
	var f freedStream
	err := row.Scan(&f.stream, &f.events, &f.bytes)
	return f, err
}

// settleFreed takes deleted events off their streams' and groups' sizes
// and moves the streams' first_event to their oldest event left.
func (t *tx) settleFreed(ctx context.Context, freed []freedStream) (int64, error) {
	var n int64
	for _, f := range freed {
		n += f.events
		if _, err := t.exec(ctx, `UPDATE log_groups SET stored = stored - $1 WHERE id = (SELECT group_id FROM log_streams WHERE id = $2)`, f.bytes, f.stream); err != nil {
			return 0, fmt.Errorf("settle deleted log events: %w", err)
		}
		if _, err := t.exec(ctx, `UPDATE log_streams SET stored = stored - $1,
			first_event = coalesce((SELECT min(time) FROM log_events WHERE stream_id = $2), 0) WHERE id = $2`, f.bytes, f.stream); err != nil {
			return 0, fmt.Errorf("settle deleted log events: %w", err)
		}
	}
	return n, nil
}

// LogUsage implements lambdahost.LogTx.
func (t *tx) LogUsage(ctx context.Context, account string) (int64, error) {
	var n int64
	if err := t.queryRow(ctx, `SELECT coalesce(sum(stored), 0)::bigint FROM log_groups WHERE account = $1`, []any{account}, &n); err != nil {
		return 0, fmt.Errorf("log usage of %s: %w", account, err)
	}
	return n, nil
}

// LogAccounts implements lambdahost.LogTx.
func (t *tx) LogAccounts(ctx context.Context) ([]string, error) {
	rows, err := t.query(ctx, `SELECT DISTINCT account FROM log_groups ORDER BY account`)
	if err != nil {
		return nil, fmt.Errorf("log accounts: %w", err)
	}
	out, err := collect(t, rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("log accounts: %w", err)
	}
	return out, nil
}

// trimBatch is how many events TrimLogs looks at per round.
const trimBatch = 1000

// TrimLogs implements lambdahost.LogTx, taking the account's events in
// ID order, the order they were added.
func (t *tx) TrimLogs(ctx context.Context, account string, target int64) (int64, error) {
	if err := t.writable(); err != nil {
		return 0, fmt.Errorf("trim logs: %w", err)
	}
	var deleted int64
	for {
		usage, err := t.LogUsage(ctx, account)
		if err != nil {
			return 0, err
		}
		if usage <= target {
			return deleted, nil
		}
		rows, err := t.query(ctx, `SELECT e.id, e.stream_id, octet_length(e.message) + $1 FROM log_events e
			WHERE e.group_id IN (SELECT id FROM log_groups WHERE account = $2) ORDER BY e.id LIMIT $3`, lambdahost.LogEventOverhead, account, trimBatch)
		if err != nil {
			return 0, fmt.Errorf("trim logs of %s: %w", account, err)
		}
		type row struct{ id, stream, size int64 }
		rs, err := collect(t, rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.id, &x.stream, &x.size)
			return x, err
		})
		if err != nil {
			return 0, fmt.Errorf("trim logs of %s: %w", account, err)
		}
		var (
			upTo  int64
			byID  = map[int64]*freedStream{}
			order []int64
			over  = usage - target
		)
		for _, r := range rs {
			if over <= 0 {
				break
			}
			f := byID[r.stream]
			if f == nil {
				f = &freedStream{stream: r.stream}
				byID[r.stream] = f
				order = append(order, r.stream)
			}
			f.events++
			f.bytes += r.size
			over -= r.size
			upTo = r.id
		}
		if upTo == 0 {
			return deleted, nil
		}
		if _, err := t.exec(ctx, `DELETE FROM log_events WHERE id <= $1 AND group_id IN (SELECT id FROM log_groups WHERE account = $2)`, upTo, account); err != nil {
			return 0, fmt.Errorf("trim logs of %s: %w", account, err)
		}
		freed := make([]freedStream, 0, len(order))
		for _, s := range order {
			freed = append(freed, *byID[s])
		}
		n, err := t.settleFreed(ctx, freed)
		if err != nil {
			return 0, err
		}
		deleted += n
	}
}

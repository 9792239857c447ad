package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lambdahost/lambdahost"
)

var _ lambdahost.LogStore = (*Store)(nil)

// UpdateLogs implements lambdahost.LogStore: a transaction of Update, on
// the same database and write connection.
func (s *Store) UpdateLogs(ctx context.Context, fn func(lambdahost.LogTx) error) error {
	return s.Update(ctx, func(t lambdahost.Tx) error { return fn(t.(*tx)) })
}

// ViewLogs implements lambdahost.LogStore.
func (s *Store) ViewLogs(ctx context.Context, fn func(lambdahost.LogTx) error) error {
	return s.View(ctx, func(t lambdahost.Tx) error { return fn(t.(*tx)) })
}

const logGroupColumns = `id, account, region, name, created, retention, class, tags, stored`

func scanLogGroup(sc interface{ Scan(...any) error }) (int64, *lambdahost.LogGroup, error) {
	var (
		id   int64
		g    lambdahost.LogGroup
		tags []byte
	)
	if err := sc.Scan(&id, &g.ID.Account, &g.ID.Region, &g.ID.Name, &g.Created, &g.RetentionDays, &g.Class, &tags, &g.StoredBytes); err != nil {
		return 0, nil, err
	}
	if len(tags) > 0 && string(tags) != "{}" {
		if err := json.Unmarshal(tags, &g.Tags); err != nil {
			return 0, nil, fmt.Errorf("decode tags of log group %s: %w", g.ID.Name, err)
		}
	}
	return id, &g, nil
}

func encodeLogTags(tags map[string]string) []byte {
	if len(tags) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(tags) // a map of strings always marshals
	return b
}

// logGroupRow reads a group and its row ID.
func (t *tx) logGroupRow(ctx context.Context, id lambdahost.LogGroupID) (int64, *lambdahost.LogGroup, error) {
	row, g, err := scanLogGroup(t.queryRow(ctx, `SELECT `+logGroupColumns+` FROM log_groups WHERE account = ? AND region = ? AND name = ?`,
		id.Account, id.Region, id.Name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil, fmt.Errorf("log group %s: %w", id.Name, lambdahost.ErrNotFound)
	case err != nil:
		return 0, nil, fmt.Errorf("log group %s: %w", id.Name, err)
	}
	return row, g, nil
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
	_, err := t.exec(ctx, `INSERT INTO log_groups (account, region, name, created, retention, class, tags) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		g.ID.Account, g.ID.Region, g.ID.Name, g.Created, g.RetentionDays, g.Class, encodeLogTags(g.Tags))
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create log group %s: %w", g.ID.Name, lambdahost.ErrExists)
	case err != nil:
		return fmt.Errorf("create log group %s: %w", g.ID.Name, err)
	}
	return nil
}

// PutLogGroup implements lambdahost.LogTx.
func (t *tx) PutLogGroup(ctx context.Context, g *lambdahost.LogGroup) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("put log group %s: %w", g.ID.Name, err)
	}
	res, err := t.exec(ctx, `UPDATE log_groups SET retention = ?, class = ?, tags = ? WHERE account = ? AND region = ? AND name = ?`,
		g.RetentionDays, g.Class, encodeLogTags(g.Tags), g.ID.Account, g.ID.Region, g.ID.Name)
	if err != nil {
		return fmt.Errorf("put log group %s: %w", g.ID.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("put log group %s: %w", g.ID.Name, lambdahost.ErrNotFound)
	}
	return nil
}

// DeleteLogGroup implements lambdahost.LogTx. The group's streams and
// events go with it (ON DELETE CASCADE).
func (t *tx) DeleteLogGroup(ctx context.Context, id lambdahost.LogGroupID) error {
	if err := t.writable(); err != nil {
		return fmt.Errorf("delete log group %s: %w", id.Name, err)
	}
	res, err := t.exec(ctx, `DELETE FROM log_groups WHERE account = ? AND region = ? AND name = ?`, id.Account, id.Region, id.Name)
	if err != nil {
		return fmt.Errorf("delete log group %s: %w", id.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete log group %s: %w", id.Name, lambdahost.ErrNotFound)
	}
	return nil
}

// ListLogGroups implements lambdahost.LogTx. The unique index orders an
// account's groups in a region by name, so a prefix is one range.
func (t *tx) ListLogGroups(ctx context.Context, account, region, prefix, after string, limit int) ([]*lambdahost.LogGroup, error) {
	from, op := prefix, ">="
	if after >= prefix {
		from, op = after, ">"
	}
	rows, err := t.query(ctx, `SELECT `+logGroupColumns+` FROM log_groups WHERE account = ? AND region = ? AND name `+op+` ? ORDER BY name`,
		account, region, from)
	if err != nil {
		return nil, fmt.Errorf("list log groups: %w", err)
	}
	defer rows.Close()
	var out []*lambdahost.LogGroup
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		_, g, err := scanLogGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("list log groups: %w", err)
		}
		if !strings.HasPrefix(g.ID.Name, prefix) {
			break
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list log groups: %w", err)
	}
	return out, nil
}

// RetainedLogGroups implements lambdahost.LogTx.
func (t *tx) RetainedLogGroups(ctx context.Context) ([]*lambdahost.LogGroup, error) {
	rows, err := t.query(ctx, `SELECT `+logGroupColumns+` FROM log_groups WHERE retention > 0 ORDER BY account, region, name`)
	if err != nil {
		return nil, fmt.Errorf("retained log groups: %w", err)
	}
	defer rows.Close()
	var out []*lambdahost.LogGroup
	for rows.Next() {
		_, g, err := scanLogGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("retained log groups: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retained log groups: %w", err)
	}
	return out, nil
}

const logStreamColumns = `s.id, s.name, s.created, s.first_event, s.last_event, s.last_ingestion, s.stored`

func scanLogStream(sc interface{ Scan(...any) error }, group lambdahost.LogGroupID) (int64, *lambdahost.LogStream, error) {
	var id int64
	s := &lambdahost.LogStream{Group: group}
	if err := sc.Scan(&id, &s.Name, &s.Created, &s.FirstEvent, &s.LastEvent, &s.LastIngestion, &s.StoredBytes); err != nil {
		return 0, nil, err
	}
	return id, s, nil
}

// logStreamRow reads a stream with its row ID and its group's.
func (t *tx) logStreamRow(ctx context.Context, group lambdahost.LogGroupID, name string) (groupRow, streamRow int64, s *lambdahost.LogStream, err error) {
	groupRow, _, err = t.logGroupRow(ctx, group)
	if err != nil {
		return 0, 0, nil, err
	}
	streamRow, s, err = scanLogStream(t.queryRow(ctx, `SELECT `+logStreamColumns+` FROM log_streams s WHERE s.group_id = ? AND s.name = ?`, groupRow, name), group)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, 0, nil, fmt.Errorf("log stream %s: %w", name, lambdahost.ErrNotFound)
	case err != nil:
		return 0, 0, nil, fmt.Errorf("log stream %s: %w", name, err)
	}
	return groupRow, streamRow, s, nil
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
	_, err = t.exec(ctx, `INSERT INTO log_streams (group_id, name, created) VALUES (?, ?, ?)`, groupRow, s.Name, s.Created)
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create log stream %s: %w", s.Name, lambdahost.ErrExists)
	case err != nil:
		return fmt.Errorf("create log stream %s: %w", s.Name, err)
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
	if _, err := t.exec(ctx, `DELETE FROM log_streams WHERE id = ?`, streamRow); err != nil {
		return fmt.Errorf("delete log stream %s: %w", name, err)
	}
	if _, err := t.exec(ctx, `UPDATE log_groups SET stored = stored - ? WHERE id = ?`, s.StoredBytes, groupRow); err != nil {
		return fmt.Errorf("delete log stream %s: %w", name, err)
	}
	return nil
}

// ListLogStreams implements lambdahost.LogTx.
func (t *tx) ListLogStreams(ctx context.Context, q lambdahost.LogStreamQuery) ([]*lambdahost.LogStream, error) {
	groupRow, _, err := t.logGroupRow(ctx, q.Group)
	if err != nil {
		return nil, err
	}
	var (
		where = []string{"s.group_id = ?"}
		args  = []any{groupRow}
		order string
	)
	cmp, dir := ">", ""
	if q.Descending {
		cmp, dir = "<", " DESC"
	}
	switch q.Order {
	case lambdahost.ByLastEvent:
		order = "s.last_event" + dir + ", s.name" + dir
		if q.AfterName != "" {
			where = append(where, "(s.last_event "+cmp+" ? OR (s.last_event = ? AND s.name "+cmp+" ?))")
			args = append(args, q.AfterLastEvent, q.AfterLastEvent, q.AfterName)
		}
	default:
		order = "s.name" + dir
		if q.Prefix != "" {
			where = append(where, "substr(s.name, 1, ?) = ?")
			args = append(args, len([]rune(q.Prefix)), q.Prefix)
		}
		if q.AfterName != "" {
			where = append(where, "s.name "+cmp+" ?")
			args = append(args, q.AfterName)
		}
	}
	args = append(args, sqlLimit(q.Limit))
	rows, err := t.query(ctx, `SELECT `+logStreamColumns+` FROM log_streams s WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list log streams: %w", err)
	}
	defer rows.Close()
	var out []*lambdahost.LogStream
	for rows.Next() {
		_, s, err := scanLogStream(rows, q.Group)
		if err != nil {
			return nil, fmt.Errorf("list log streams: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list log streams: %w", err)
	}
	return out, nil
}

// AppendLogEvents implements lambdahost.LogTx.
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
	// A stream holds events exactly when it stores bytes: every event
	// counts at least LogEventOverhead.
	empty := s.StoredBytes == 0
	first, last, ingested, size := s.FirstEvent, s.LastEvent, s.LastIngestion, int64(0)
	for i := range events {
		e := &events[i]
		var seq int64
		if err := t.queryRow(ctx, `INSERT INTO log_events (group_id, stream_id, time, ingested, message) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			groupRow, streamRow, e.Time, e.Ingested, e.Message).Scan(&seq); err != nil {
			return fmt.Errorf("append log events to %s: %w", stream, err)
		}
		e.Seq, e.Stream = seq, stream
		if empty || e.Time < first {
			first, empty = e.Time, false
		}
		last = max(last, e.Time)
		ingested = max(ingested, e.Ingested)
		size += lambdahost.LogEventSize(e.Message)
	}
	if _, err := t.exec(ctx, `UPDATE log_streams SET first_event = ?, last_event = ?, last_ingestion = ?, stored = stored + ? WHERE id = ?`,
		first, last, ingested, size, streamRow); err != nil {
		return fmt.Errorf("append log events to %s: %w", stream, err)
	}
	if _, err := t.exec(ctx, `UPDATE log_groups SET stored = stored + ? WHERE id = ?`, size, groupRow); err != nil {
		return fmt.Errorf("append log events to %s: %w", stream, err)
	}
	return nil
}

// LogEvents implements lambdahost.LogTx.
func (t *tx) LogEvents(ctx context.Context, q lambdahost.LogEventQuery) ([]lambdahost.LogEvent, error) {
	groupRow, _, err := t.logGroupRow(ctx, q.Group)
	if err != nil {
		return nil, err
	}
	where := []string{"e.group_id = ?"}
	args := []any{groupRow}
	if len(q.Streams) > 0 {
		// One stream (GetLogEvents) reads the stream's own index.
		where = []string{"e.stream_id IN (SELECT id FROM log_streams WHERE group_id = ? AND name IN (?" + strings.Repeat(", ?", len(q.Streams)-1) + "))"}
		for _, s := range q.Streams {
			args = append(args, s)
		}
		if len(q.Streams) > 1 {
			where = append(where, "e.group_id = ?")
			args = append(args, groupRow)
		}
	}
	if q.StreamPrefix != "" {
		where = append(where, "substr(s.name, 1, ?) = ?")
		args = append(args, len([]rune(q.StreamPrefix)), q.StreamPrefix)
	}
	if q.Start != 0 {
		where = append(where, "e.time >= ?")
		args = append(args, q.Start)
	}
	if q.End != 0 {
		where = append(where, "e.time < ?")
		args = append(args, q.End)
	}
	// Row values, so that the time index (which ends with the rowid)
	// seeks to the position instead of scanning up to it.
	if q.After != (lambdahost.LogPosition{}) {
		where = append(where, "(e.time, e.id) > (?, ?)")
		args = append(args, q.After.Time, q.After.Seq)
	}
	if q.Before != (lambdahost.LogPosition{}) {
		where = append(where, "(e.time, e.id) < (?, ?)")
		args = append(args, q.Before.Time, q.Before.Seq)
	}
	order := "e.time, e.id"
	if q.Descending {
		order = "e.time DESC, e.id DESC"
	}
	args = append(args, sqlLimit(q.Limit))
	rows, err := t.query(ctx, `SELECT e.id, s.name, e.time, e.ingested, e.message
		FROM log_events e JOIN log_streams s ON s.id = e.stream_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("log events of %s: %w", q.Group.Name, err)
	}
	return scanLogEvents(rows)
}

func scanLogEvents(rows *sql.Rows) ([]lambdahost.LogEvent, error) {
	defer rows.Close()
	var out []lambdahost.LogEvent
	for rows.Next() {
		var e lambdahost.LogEvent
		if err := rows.Scan(&e.Seq, &e.Stream, &e.Time, &e.Ingested, &e.Message); err != nil {
			return nil, fmt.Errorf("read log events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log events: %w", err)
	}
	return out, nil
}

// LogEventsAfter implements lambdahost.LogTx. New events are at the end
// of the rowid order, so reading after a recent Seq is a short range.
func (t *tx) LogEventsAfter(ctx context.Context, groups []lambdahost.LogGroupID, after int64, limit int) ([]lambdahost.LogEvent, error) {
	var rowIDs []any
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
	args := append([]any{after}, rowIDs...)
	args = append(args, sqlLimit(limit))
	rows, err := t.query(ctx, `SELECT e.id, s.name, e.time, e.ingested, e.message
		FROM log_events e JOIN log_streams s ON s.id = e.stream_id
		WHERE e.id > ? AND e.group_id IN (?`+strings.Repeat(", ?", len(rowIDs)-1)+`) ORDER BY e.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("log events after %d: %w", after, err)
	}
	return scanLogEvents(rows)
}

// LastLogSeq implements lambdahost.LogTx.
func (t *tx) LastLogSeq(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	if err := t.queryRow(ctx, `SELECT max(id) FROM log_events`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("last log seq: %w", err)
	}
	return seq.Int64, nil
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
	rows, err := t.query(ctx, `SELECT stream_id, count(*), sum(length(CAST(message AS BLOB)) + ?) FROM log_events
		WHERE group_id = ? AND time < ? GROUP BY stream_id`, lambdahost.LogEventOverhead, groupRow, before)
	if err != nil {
		return 0, fmt.Errorf("delete log events of %s: %w", group.Name, err)
	}
	freed, err := scanFreed(rows)
	if err != nil {
		return 0, fmt.Errorf("delete log events of %s: %w", group.Name, err)
	}
	if len(freed) == 0 {
		return 0, nil
	}
	if _, err := t.exec(ctx, `DELETE FROM log_events WHERE group_id = ? AND time < ?`, groupRow, before); err != nil {
		return 0, fmt.Errorf("delete log events of %s: %w", group.Name, err)
	}
	return t.settleFreed(ctx, freed)
}

// freedStream is what deleting events took from one stream.
type freedStream struct {
	stream, events, bytes int64
}

func scanFreed(rows *sql.Rows) ([]freedStream, error) {
	defer rows.Close()
	var out []freedStream
	for rows.Next() {
		var f freedStream
		if err := rows.Scan(&f.stream, &f.events, &f.bytes); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// settleFreed takes deleted events off their streams' and groups' sizes
// and moves the streams' first_event to their oldest event left.
func (t *tx) settleFreed(ctx context.Context, freed []freedStream) (int64, error) {
	var n int64
	for _, f := range freed {
		n += f.events
		if _, err := t.exec(ctx, `UPDATE log_groups SET stored = stored - ? WHERE id = (SELECT group_id FROM log_streams WHERE id = ?)`, f.bytes, f.stream); err != nil {
			return 0, fmt.Errorf("settle deleted log events: %w", err)
		}
		if _, err := t.exec(ctx, `UPDATE log_streams SET stored = stored - ?,
			first_event = coalesce((SELECT min(time) FROM log_events WHERE stream_id = ?), 0) WHERE id = ?`, f.bytes, f.stream, f.stream); err != nil {
			return 0, fmt.Errorf("settle deleted log events: %w", err)
		}
	}
	return n, nil
}

// LogUsage implements lambdahost.LogTx.
func (t *tx) LogUsage(ctx context.Context, account string) (int64, error) {
	var n int64
	if err := t.queryRow(ctx, `SELECT coalesce(sum(stored), 0) FROM log_groups WHERE account = ?`, account).Scan(&n); err != nil {
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
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("log accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// trimBatch is how many events TrimLogs looks at per round.
const trimBatch = 1000

// TrimLogs implements lambdahost.LogTx. Events are taken in rowid order,
// the order they were added, from the account's groups; the scan starts at
// the oldest rowid, so it is short when this account's events are the
// oldest, as they are on a node serving one account.
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
		rows, err := t.query(ctx, `SELECT id, stream_id, length(CAST(message AS BLOB)) + ? FROM log_events
			WHERE group_id IN (SELECT id FROM log_groups WHERE account = ?) ORDER BY id LIMIT ?`, lambdahost.LogEventOverhead, account, trimBatch)
		if err != nil {
			return 0, fmt.Errorf("trim logs of %s: %w", account, err)
		}
		var (
			upTo  int64
			byID  = map[int64]*freedStream{}
			order []int64
			over  = usage - target
		)
		for rows.Next() && over > 0 {
			var id, stream, size int64
			if err := rows.Scan(&id, &stream, &size); err != nil {
				rows.Close()
				return 0, fmt.Errorf("trim logs of %s: %w", account, err)
			}
			f := byID[stream]
			if f == nil {
				f = &freedStream{stream: stream}
				byID[stream] = f
				order = append(order, stream)
			}
			f.events++
			f.bytes += size
			over -= size
			upTo = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("trim logs of %s: %w", account, err)
		}
		if upTo == 0 {
			// The account's sizes say more than its events hold.
			return deleted, nil
		}
		if _, err := t.exec(ctx, `DELETE FROM log_events WHERE id <= ? AND group_id IN (SELECT id FROM log_groups WHERE account = ?)`, upTo, account); err != nil {
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

package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
)

// RunLogs runs the conformance suite of lambdahost.LogStore against the
// implementation open returns, as Run does for Store: each subtest gets a
// new, empty store, which it closes (if it is an io.Closer) when it ends.
//
// Beyond what the lambdahost.LogTx comments say, the suite expects names
// to sort bytewise and a stream prefix of multi-byte characters to match
// whole characters.
func RunLogs(t *testing.T, open func(t *testing.T) lambdahost.LogStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lambdahost.LogStore)
	}{
		{"log-group-crud", testLogGroupCRUD},
		{"log-group-list", testLogGroupList},
		{"log-stream-crud", testLogStreamCRUD},
		{"log-stream-list", testLogStreamList},
		{"log-events-append", testLogEventsAppend},
		{"log-events-query", testLogEventsQuery},
		{"log-events-after", testLogEventsAfter},
		{"log-events-delete-before", testLogEventsDeleteBefore},
		{"log-trim", testLogTrim},
		{"log-group-delete-cascades", testLogGroupDeleteCascades},
		{"log-view-is-read-only", testLogViewReadOnly},
		{"log-update-error-rolls-back", testLogRollback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if c, ok := s.(interface{ Close() error }); ok {
					if err := c.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}
			})
			tt.fn(t, s)
		})
	}
}

func logsUpdate(t testing.TB, s lambdahost.LogStore, fn func(tx lambdahost.LogTx) error) {
	t.Helper()
	if err := s.UpdateLogs(t.Context(), fn); err != nil {
		t.Fatalf("UpdateLogs: %v", err)
	}
}

func logsView(t testing.TB, s lambdahost.LogStore, fn func(tx lambdahost.LogTx) error) {
	t.Helper()
	if err := s.ViewLogs(t.Context(), fn); err != nil {
		t.Fatalf("ViewLogs: %v", err)
	}
}

func gid(account, region, name string) lambdahost.LogGroupID {
	return lambdahost.LogGroupID{Account: account, Region: region, Name: name}
}

// withStreams creates group with the streams named.
func withStreams(t testing.TB, s lambdahost.LogStore, group lambdahost.LogGroupID, streams ...string) {
	t.Helper()
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		if _, err := tx.LogGroup(t.Context(), group); errors.Is(err, lambdahost.ErrNotFound) {
			if err := tx.CreateLogGroup(t.Context(), &lambdahost.LogGroup{ID: group, Created: 1000, Class: "STANDARD"}); err != nil {
				return err
			}
		}
		for _, name := range streams {
			if err := tx.CreateLogStream(t.Context(), &lambdahost.LogStream{Group: group, Name: name, Created: 2000}); err != nil {
				return err
			}
		}
		return nil
	})
}

// appendEvents adds events of times ts with messages "<stream>@<time>".
func appendEvents(t testing.TB, s lambdahost.LogStore, group lambdahost.LogGroupID, stream string, ts ...int64) []lambdahost.LogEvent {
	t.Helper()
	var evs []lambdahost.LogEvent
	for _, ts := range ts {
		evs = append(evs, lambdahost.LogEvent{Time: ts, Ingested: 5000 + ts, Message: fmt.Sprintf("%s@%d", stream, ts)})
	}
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		return tx.AppendLogEvents(t.Context(), group, stream, evs)
	})
	return evs
}

func testLogGroupCRUD(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	id := gid(accountA, regionA, "/aws/lambda/f")
	want := &lambdahost.LogGroup{ID: id, Created: 1700000000123, RetentionDays: 7, Class: "STANDARD", Tags: map[string]string{"team": "a"}}
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		if _, err := tx.LogGroup(ctx, id); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("LogGroup before create = %v, want ErrNotFound", err)
		}
		if err := tx.CreateLogGroup(ctx, want); err != nil {
			return err
		}
		if err := tx.CreateLogGroup(ctx, want); !errors.Is(err, lambdahost.ErrExists) {
			t.Errorf("CreateLogGroup twice = %v, want ErrExists", err)
		}
		// The same name in another region or account is another group.
		if err := tx.CreateLogGroup(ctx, &lambdahost.LogGroup{ID: gid(accountA, regionB, id.Name), Class: "STANDARD"}); err != nil {
			return err
		}
		return tx.CreateLogGroup(ctx, &lambdahost.LogGroup{ID: gid(accountB, regionA, id.Name), Class: "INFREQUENT_ACCESS"})
	})
	logsView(t, s, func(tx lambdahost.LogTx) error {
		got, err := tx.LogGroup(ctx, id)
		if err != nil {
			return err
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("LogGroup (-want +got):\n%s", d)
		}
		other, err := tx.LogGroup(ctx, gid(accountB, regionA, id.Name))
		if err != nil {
			return err
		}
		if other.Tags != nil || other.Class != "INFREQUENT_ACCESS" || other.RetentionDays != 0 {
			t.Errorf("other account's group = %+v", other)
		}
		return nil
	})
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		g := *want
		g.RetentionDays, g.Tags, g.StoredBytes = 0, nil, 12345 // StoredBytes is the store's
		if err := tx.PutLogGroup(ctx, &g); err != nil {
			return err
		}
		if err := tx.PutLogGroup(ctx, &lambdahost.LogGroup{ID: gid(accountA, regionA, "missing")}); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("PutLogGroup of a missing group = %v, want ErrNotFound", err)
		}
		return nil
	})
	logsView(t, s, func(tx lambdahost.LogTx) error {
		got, err := tx.LogGroup(ctx, id)
		if err != nil {
			return err
		}
		if got.RetentionDays != 0 || got.Tags != nil || got.StoredBytes != 0 || got.Created != want.Created {
			t.Errorf("LogGroup after PutLogGroup = %+v", got)
		}
		retained, err := tx.RetainedLogGroups(ctx)
		if err != nil {
			return err
		}
		if len(retained) != 0 {
			t.Errorf("RetainedLogGroups = %v, want none", retained)
		}
		return nil
	})
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		if err := tx.DeleteLogGroup(ctx, id); err != nil {
			return err
		}
		if err := tx.DeleteLogGroup(ctx, id); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("DeleteLogGroup twice = %v, want ErrNotFound", err)
		}
		if _, err := tx.LogGroup(ctx, id); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("LogGroup after delete = %v, want ErrNotFound", err)
		}
		if _, err := tx.LogGroup(ctx, gid(accountA, regionB, id.Name)); err != nil {
			t.Errorf("the other region's group went too: %v", err)
		}
		return nil
	})
}

func groupNames(gs []*lambdahost.LogGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.ID.Name)
	}
	return out
}

func testLogGroupList(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	names := []string{"/aws/lambda/b", "/aws/lambda/a", "/aws/lambdaX", "app", "/aws/lambda/a-b", "/aws/lambda/ab"}
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		for i, n := range names {
			if err := tx.CreateLogGroup(ctx, &lambdahost.LogGroup{ID: gid(accountA, regionA, n), Class: "STANDARD", RetentionDays: i % 2}); err != nil {
				return err
			}
		}
		return tx.CreateLogGroup(ctx, &lambdahost.LogGroup{ID: gid(accountB, regionA, "/aws/lambda/z"), Class: "STANDARD", RetentionDays: 1})
	})
	logsView(t, s, func(tx lambdahost.LogTx) error {
		for _, tt := range []struct {
			prefix, after string
			limit         int
			want          []string
		}{
			{want: []string{"/aws/lambda/a", "/aws/lambda/a-b", "/aws/lambda/ab", "/aws/lambda/b", "/aws/lambdaX", "app"}},
			{prefix: "/aws/lambda/", want: []string{"/aws/lambda/a", "/aws/lambda/a-b", "/aws/lambda/ab", "/aws/lambda/b"}},
			{prefix: "/aws/lambda/", limit: 2, want: []string{"/aws/lambda/a", "/aws/lambda/a-b"}},
			{prefix: "/aws/lambda/", after: "/aws/lambda/a-b", want: []string{"/aws/lambda/ab", "/aws/lambda/b"}},
			{prefix: "/aws/lambda/", after: "/", want: []string{"/aws/lambda/a", "/aws/lambda/a-b", "/aws/lambda/ab", "/aws/lambda/b"}},
			{after: "/aws/lambdaX", want: []string{"app"}},
			{prefix: "none", want: nil},
		} {
			got, err := tx.ListLogGroups(ctx, accountA, regionA, tt.prefix, tt.after, tt.limit)
			if err != nil {
				return err
			}
			if !slices.Equal(groupNames(got), tt.want) {
				t.Errorf("ListLogGroups(%q, %q, %d) = %v, want %v", tt.prefix, tt.after, tt.limit, groupNames(got), tt.want)
			}
		}
		if got, err := tx.ListLogGroups(ctx, accountA, regionB, "", "", 0); err != nil || len(got) != 0 {
			t.Errorf("ListLogGroups of another region = %v, %v", groupNames(got), err)
		}
		retained, err := tx.RetainedLogGroups(ctx)
		if err != nil {
			return err
		}
		if want := []string{"/aws/lambda/a", "/aws/lambda/ab", "app", "/aws/lambda/z"}; !slices.Equal(groupNames(retained), want) {
			t.Errorf("RetainedLogGroups = %v, want %v", groupNames(retained), want)
		}
		accounts, err := tx.LogAccounts(ctx)
		if err != nil {
			return err
		}
		if want := []string{accountA, accountB}; !slices.Equal(accounts, want) {
			t.Errorf("LogAccounts = %v, want %v", accounts, want)
		}
		return nil
	})
}

func testLogStreamCRUD(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	g := gid(accountA, regionA, "g")
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		err := tx.CreateLogStream(ctx, &lambdahost.LogStream{Group: g, Name: "s"})
		if !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("CreateLogStream without its group = %v, want ErrNotFound", err)
		}
		return nil
	})
	withStreams(t, s, g, "2026/01/02/[$LATEST]0123")
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		if err := tx.CreateLogStream(ctx, &lambdahost.LogStream{Group: g, Name: "2026/01/02/[$LATEST]0123"}); !errors.Is(err, lambdahost.ErrExists) {
			t.Errorf("CreateLogStream twice = %v, want ErrExists", err)
		}
		if _, err := tx.LogStream(ctx, g, "other"); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("missing LogStream = %v, want ErrNotFound", err)
		}
		if _, err := tx.LogStream(ctx, gid(accountA, regionA, "nogroup"), "s"); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("LogStream of a missing group = %v, want ErrNotFound", err)
		}
		return nil
	})
	logsView(t, s, func(tx lambdahost.LogTx) error {
		got, err := tx.LogStream(ctx, g, "2026/01/02/[$LATEST]0123")
		if err != nil {
			return err
		}
		want := &lambdahost.LogStream{Group: g, Name: "2026/01/02/[$LATEST]0123", Created: 2000}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("LogStream (-want +got):\n%s", d)
		}
		return nil
	})
	appendEvents(t, s, g, "2026/01/02/[$LATEST]0123", 10, 20)
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		if err := tx.DeleteLogStream(ctx, g, "2026/01/02/[$LATEST]0123"); err != nil {
			return err
		}
		if err := tx.DeleteLogStream(ctx, g, "2026/01/02/[$LATEST]0123"); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("DeleteLogStream twice = %v, want ErrNotFound", err)
		}
		grp, err := tx.LogGroup(ctx, g)
		if err != nil {
			return err
		}
		if grp.StoredBytes != 0 {
			t.Errorf("group StoredBytes after its only stream was deleted = %d, want 0", grp.StoredBytes)
		}
		evs, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: g})
		if err != nil {
			return err
		}
		if len(evs) != 0 {
			t.Errorf("events of a deleted stream are left: %v", evs)
		}
		return nil
	})
}

func streamNames(ss []*lambdahost.LogStream) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func testLogStreamList(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	g := gid(accountA, regionA, "g")
	withStreams(t, s, g, "b", "a", "ab", "c", "é1", "é2")
	appendEvents(t, s, g, "a", 300)
	appendEvents(t, s, g, "c", 100)
	appendEvents(t, s, g, "b", 300)
	logsView(t, s, func(tx lambdahost.LogTx) error {
		for _, tt := range []struct {
			name string
			q    lambdahost.LogStreamQuery
			want []string
		}{
			{name: "by-name", want: []string{"a", "ab", "b", "c", "é1", "é2"}},
			{name: "by-name-desc", q: lambdahost.LogStreamQuery{Descending: true}, want: []string{"é2", "é1", "c", "b", "ab", "a"}},
			{name: "prefix", q: lambdahost.LogStreamQuery{Prefix: "a"}, want: []string{"a", "ab"}},
			{name: "prefix-multibyte", q: lambdahost.LogStreamQuery{Prefix: "é"}, want: []string{"é1", "é2"}},
			{name: "after", q: lambdahost.LogStreamQuery{AfterName: "ab", Limit: 2}, want: []string{"b", "c"}},
			{name: "after-desc", q: lambdahost.LogStreamQuery{AfterName: "b", Descending: true}, want: []string{"ab", "a"}},
			// Streams without events have LastEvent 0: first ascending.
			{name: "by-last-event", q: lambdahost.LogStreamQuery{Order: lambdahost.ByLastEvent}, want: []string{"ab", "é1", "é2", "c", "a", "b"}},
			{name: "by-last-event-desc", q: lambdahost.LogStreamQuery{Order: lambdahost.ByLastEvent, Descending: true, Limit: 3}, want: []string{"b", "a", "c"}},
			{name: "by-last-event-desc-after", q: lambdahost.LogStreamQuery{Order: lambdahost.ByLastEvent, Descending: true, AfterName: "a", AfterLastEvent: 300}, want: []string{"c", "é2", "é1", "ab"}},
		} {
			tt.q.Group = g
			got, err := tx.ListLogStreams(ctx, tt.q)
			if err != nil {
				return err
			}
			if !slices.Equal(streamNames(got), tt.want) {
				t.Errorf("%s: ListLogStreams = %v, want %v", tt.name, streamNames(got), tt.want)
			}
		}
		if _, err := tx.ListLogStreams(ctx, lambdahost.LogStreamQuery{Group: gid(accountA, regionA, "none")}); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("ListLogStreams of a missing group = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testLogEventsAppend(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	g := gid(accountA, regionA, "g")
	withStreams(t, s, g, "s1", "s2")
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		err := tx.AppendLogEvents(ctx, g, "missing", []lambdahost.LogEvent{{Time: 1, Ingested: 1, Message: "x"}})
		if !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("AppendLogEvents to a missing stream = %v, want ErrNotFound", err)
		}
		return nil
	})
	evs := []lambdahost.LogEvent{
		{Time: 500, Ingested: 900, Message: "first\n"},
		{Time: 400, Ingested: 900, Message: "earlier ✓"},
		{Time: 700, Ingested: 901, Message: ""},
	}
	logsUpdate(t, s, func(tx lambdahost.LogTx) error { return tx.AppendLogEvents(ctx, g, "s1", evs) })
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Errorf("Seq of appended events not increasing: %d then %d", evs[i-1].Seq, evs[i].Seq)
		}
	}
	var size int64
	for _, e := range evs {
		size += lambdahost.LogEventSize(e.Message)
	}
	later := appendEvents(t, s, g, "s2", 600)
	if later[0].Seq <= evs[2].Seq {
		t.Errorf("Seq of a later append %d, not after %d", later[0].Seq, evs[2].Seq)
	}
	logsView(t, s, func(tx lambdahost.LogTx) error {
		st, err := tx.LogStream(ctx, g, "s1")
		if err != nil {
			return err
		}
		want := &lambdahost.LogStream{Group: g, Name: "s1", Created: 2000, FirstEvent: 400, LastEvent: 700, LastIngestion: 901, StoredBytes: size}
		if d := cmp.Diff(want, st); d != "" {
			t.Errorf("stream after appends (-want +got):\n%s", d)
		}
		grp, err := tx.LogGroup(ctx, g)
		if err != nil {
			return err
		}
		if want := size + lambdahost.LogEventSize(later[0].Message); grp.StoredBytes != want {
			t.Errorf("group StoredBytes = %d, want %d", grp.StoredBytes, want)
		}
		if u, err := tx.LogUsage(ctx, accountA); err != nil || u != grp.StoredBytes {
			t.Errorf("LogUsage = %d, %v, want %d", u, err, grp.StoredBytes)
		}
		if u, err := tx.LogUsage(ctx, accountB); err != nil || u != 0 {
			t.Errorf("LogUsage of another account = %d, %v", u, err)
		}
		got, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: g, Streams: []string{"s1"}})
		if err != nil {
			return err
		}
		wantEvs := []lambdahost.LogEvent{evs[1], evs[0], evs[2]}
		if d := cmp.Diff(wantEvs, got); d != "" {
			t.Errorf("events in time order (-want +got):\n%s", d)
		}
		last, err := tx.LastLogSeq(ctx)
		if err != nil || last != later[0].Seq {
			t.Errorf("LastLogSeq = %d, %v, want %d", last, err, later[0].Seq)
		}
		return nil
	})
}

func seqsOf(evs []lambdahost.LogEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Message)
	}
	return out
}

func testLogEventsQuery(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	g := gid(accountA, regionA, "g")
	withStreams(t, s, g, "a1", "a2", "b", "é")
	a1 := appendEvents(t, s, g, "a1", 10, 20, 20, 40)
	appendEvents(t, s, g, "a2", 15, 20)
	appendEvents(t, s, g, "b", 5, 50)
	appendEvents(t, s, g, "é", 30)
	withStreams(t, s, gid(accountA, regionA, "other"), "a1")
	appendEvents(t, s, gid(accountA, regionA, "other"), "a1", 1, 2, 3)
	// a1's two events at 20 are ordered by Seq, then a2's later one.
	logsView(t, s, func(tx lambdahost.LogTx) error {
		for _, tt := range []struct {
			name string
			q    lambdahost.LogEventQuery
			want []string
		}{
			{name: "group", want: []string{"b@5", "a1@10", "a2@15", "a1@20", "a1@20", "a2@20", "é@30", "a1@40", "b@50"}},
			{name: "desc", q: lambdahost.LogEventQuery{Descending: true, Limit: 3}, want: []string{"b@50", "a1@40", "é@30"}},
			{name: "one-stream", q: lambdahost.LogEventQuery{Streams: []string{"a1"}}, want: []string{"a1@10", "a1@20", "a1@20", "a1@40"}},
			{name: "streams", q: lambdahost.LogEventQuery{Streams: []string{"a2", "b", "missing"}}, want: []string{"b@5", "a2@15", "a2@20", "b@50"}},
			{name: "prefix", q: lambdahost.LogEventQuery{StreamPrefix: "a"}, want: []string{"a1@10", "a2@15", "a1@20", "a1@20", "a2@20", "a1@40"}},
			{name: "prefix-multibyte", q: lambdahost.LogEventQuery{StreamPrefix: "é"}, want: []string{"é@30"}},
			{name: "time-range", q: lambdahost.LogEventQuery{Start: 15, End: 40}, want: []string{"a2@15", "a1@20", "a1@20", "a2@20", "é@30"}},
			{name: "limit", q: lambdahost.LogEventQuery{Limit: 2}, want: []string{"b@5", "a1@10"}},
			{name: "after-same-time", q: lambdahost.LogEventQuery{After: lambdahost.LogPosition{Time: 20, Seq: a1[1].Seq}},
				want: []string{"a1@20", "a2@20", "é@30", "a1@40", "b@50"}},
			{name: "before-desc", q: lambdahost.LogEventQuery{Before: lambdahost.LogPosition{Time: 20, Seq: a1[2].Seq}, Descending: true},
				want: []string{"a1@20", "a2@15", "a1@10", "b@5"}},
			{name: "between", q: lambdahost.LogEventQuery{After: lambdahost.LogPosition{Time: 10, Seq: a1[0].Seq}, Before: lambdahost.LogPosition{Time: 30, Seq: 0}},
				want: []string{"a2@15", "a1@20", "a1@20", "a2@20"}},
		} {
			tt.q.Group = g
			got, err := tx.LogEvents(ctx, tt.q)
			if err != nil {
				return err
			}
			if !slices.Equal(seqsOf(got), tt.want) {
				t.Errorf("%s: LogEvents = %v, want %v", tt.name, seqsOf(got), tt.want)
			}
		}
		got, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: g, Streams: []string{"a1"}, Limit: 1})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Stream != "a1" || got[0].Seq != a1[0].Seq || got[0].Ingested != a1[0].Ingested {
			t.Errorf("first event of a1 = %+v, want %+v", got, a1[0])
		}
		if _, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: gid(accountB, regionA, "g")}); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("LogEvents of another account's group = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testLogEventsAfter(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	g1, g2, g3 := gid(accountA, regionA, "g1"), gid(accountA, regionA, "g2"), gid(accountA, regionA, "g3")
	withStreams(t, s, g1, "s")
	withStreams(t, s, g2, "s")
	withStreams(t, s, g3, "s")
	first := appendEvents(t, s, g1, "s", 50, 10)
	appendEvents(t, s, g3, "s", 20)
	appendEvents(t, s, g2, "s", 5)
	appendEvents(t, s, g1, "s", 1)
	logsView(t, s, func(tx lambdahost.LogTx) error {
		got, err := tx.LogEventsAfter(ctx, []lambdahost.LogGroupID{g1, g2, gid(accountA, regionA, "missing")}, first[0].Seq, 0)
		if err != nil {
			return err
		}
		// Seq order, whatever the timestamps.
		if want := []string{"s@10", "s@5", "s@1"}; !slices.Equal(seqsOf(got), want) {
			t.Errorf("LogEventsAfter = %v, want %v", seqsOf(got), want)
		}
		got, err = tx.LogEventsAfter(ctx, []lambdahost.LogGroupID{g1, g2}, 0, 2)
		if err != nil {
			return err
		}
		if want := []string{"s@50", "s@10"}; !slices.Equal(seqsOf(got), want) {
			t.Errorf("LogEventsAfter 0, limit 2 = %v, want %v", seqsOf(got), want)
		}
		got, err = tx.LogEventsAfter(ctx, nil, 0, 0)
		if err != nil || len(got) != 0 {
			t.Errorf("LogEventsAfter of no groups = %v, %v", got, err)
		}
		return nil
	})
}

func testLogEventsDeleteBefore(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	g := gid(accountA, regionA, "g")
	withStreams(t, s, g, "s1", "s2", "s3")
	appendEvents(t, s, g, "s1", 10, 20, 30)
	appendEvents(t, s, g, "s2", 5, 15)
	s3 := appendEvents(t, s, g, "s3", 40)
	appendEvents(t, s, gid(accountA, regionA, "g"), "s1", 1) // older, appended later
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		n, err := tx.DeleteLogEventsBefore(ctx, g, 20)
		if err != nil {
			return err
		}
		if n != 4 {
			t.Errorf("DeleteLogEventsBefore deleted %d events, want 4", n)
		}
		if _, err := tx.DeleteLogEventsBefore(ctx, gid(accountA, regionA, "missing"), 20); !errors.Is(err, lambdahost.ErrNotFound) {
			t.Errorf("DeleteLogEventsBefore of a missing group = %v, want ErrNotFound", err)
		}
		return nil
	})
	logsView(t, s, func(tx lambdahost.LogTx) error {
		got, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: g})
		if err != nil {
			return err
		}
		if want := []string{"s1@20", "s1@30", "s3@40"}; !slices.Equal(seqsOf(got), want) {
			t.Errorf("events left = %v, want %v", seqsOf(got), want)
		}
		var total int64
		for _, e := range got {
			total += lambdahost.LogEventSize(e.Message)
		}
		grp, err := tx.LogGroup(ctx, g)
		if err != nil {
			return err
		}
		if grp.StoredBytes != total {
			t.Errorf("group StoredBytes = %d, want %d", grp.StoredBytes, total)
		}
		for _, tt := range []struct {
			stream      string
			first, last int64
			stored      int64
		}{
			{"s1", 20, 30, lambdahost.LogEventSize("s1@20") + lambdahost.LogEventSize("s1@30")},
			{"s2", 0, 15, 0},
			{"s3", 40, 40, lambdahost.LogEventSize(s3[0].Message)},
		} {
			st, err := tx.LogStream(ctx, g, tt.stream)
			if err != nil {
				return err
			}
			if st.FirstEvent != tt.first || st.LastEvent != tt.last || st.StoredBytes != tt.stored {
				t.Errorf("%s after deletion: first %d, last %d, stored %d; want %d, %d, %d", tt.stream, st.FirstEvent, st.LastEvent, st.StoredBytes, tt.first, tt.last, tt.stored)
			}
		}
		return nil
	})
	// A stream emptied by deletion takes its next event as its first.
	appendEvents(t, s, g, "s2", 90)
	logsView(t, s, func(tx lambdahost.LogTx) error {
		st, err := tx.LogStream(ctx, g, "s2")
		if err != nil {
			return err
		}
		if st.FirstEvent != 90 || st.LastEvent != 90 {
			t.Errorf("s2 refilled: first %d, last %d, want 90, 90", st.FirstEvent, st.LastEvent)
		}
		return nil
	})
}

func testLogTrim(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	ga, gb, gc := gid(accountA, regionA, "a"), gid(accountA, regionB, "b"), gid(accountB, regionA, "c")
	withStreams(t, s, ga, "s")
	withStreams(t, s, gb, "s")
	withStreams(t, s, gc, "s")
	// Added in this order: the trim drops the earliest added first, across
	// the account's regions, whatever their timestamps.
	appendEvents(t, s, ga, "s", 100)
	appendEvents(t, s, gc, "s", 1)
	appendEvents(t, s, gb, "s", 50)
	appendEvents(t, s, ga, "s", 10)
	appendEvents(t, s, gb, "s", 60)
	size := lambdahost.LogEventSize("s@100") // every message here is as long
	logsUpdate(t, s, func(tx lambdahost.LogTx) error {
		n, err := tx.TrimLogs(ctx, accountA, 2*size+size/2)
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("TrimLogs deleted %d events, want 2", n)
		}
		if n, err := tx.TrimLogs(ctx, accountA, 10*size); err != nil || n != 0 {
			t.Errorf("TrimLogs under the target = %d, %v", n, err)
		}
		return nil
	})
	logsView(t, s, func(tx lambdahost.LogTx) error {
		a, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: ga})
		if err != nil {
			return err
		}
		b, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: gb})
		if err != nil {
			return err
		}
		if !slices.Equal(seqsOf(a), []string{"s@10"}) || !slices.Equal(seqsOf(b), []string{"s@60"}) {
			t.Errorf("left after trim: %v and %v, want [s@10] and [s@60]", seqsOf(a), seqsOf(b))
		}
		if u, err := tx.LogUsage(ctx, accountA); err != nil || u != 2*lambdahost.LogEventSize("s@10") {
			t.Errorf("LogUsage after trim = %d, %v", u, err)
		}
		c, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: gc})
		if err != nil || len(c) != 1 {
			t.Errorf("another account's events: %v, %v", seqsOf(c), err)
		}
		st, err := tx.LogStream(ctx, ga, "s")
		if err != nil || st.FirstEvent != 10 || st.StoredBytes != lambdahost.LogEventSize("s@10") {
			t.Errorf("stream after trim = %+v, %v", st, err)
		}
		return nil
	})
}

func testLogGroupDeleteCascades(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	g := gid(accountA, regionA, "g")
	withStreams(t, s, g, "s1", "s2")
	appendEvents(t, s, g, "s1", 1, 2)
	appendEvents(t, s, g, "s2", 3)
	logsUpdate(t, s, func(tx lambdahost.LogTx) error { return tx.DeleteLogGroup(ctx, g) })
	withStreams(t, s, g, "s1")
	logsView(t, s, func(tx lambdahost.LogTx) error {
		evs, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: g})
		if err != nil {
			return err
		}
		st, err := tx.ListLogStreams(ctx, lambdahost.LogStreamQuery{Group: g})
		if err != nil {
			return err
		}
		if len(evs) != 0 || !slices.Equal(streamNames(st), []string{"s1"}) {
			t.Errorf("a group created again after DeleteLogGroup has events %v, streams %v", seqsOf(evs), streamNames(st))
		}
		if u, err := tx.LogUsage(ctx, accountA); err != nil || u != 0 {
			t.Errorf("LogUsage after the group's deletion = %d, %v", u, err)
		}
		return nil
	})
}

func testLogViewReadOnly(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	g := gid(accountA, regionA, "g")
	withStreams(t, s, g, "s")
	err := s.ViewLogs(ctx, func(tx lambdahost.LogTx) error {
		if err := tx.CreateLogGroup(ctx, &lambdahost.LogGroup{ID: gid(accountA, regionA, "x"), Class: "STANDARD"}); err == nil {
			t.Error("CreateLogGroup in ViewLogs succeeded")
		}
		if err := tx.AppendLogEvents(ctx, g, "s", []lambdahost.LogEvent{{Time: 1, Message: "m"}}); err == nil {
			t.Error("AppendLogEvents in ViewLogs succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testLogRollback(t *testing.T, s lambdahost.LogStore) {
	ctx := t.Context()
	g := gid(accountA, regionA, "g")
	withStreams(t, s, g, "s")
	err := s.UpdateLogs(ctx, func(tx lambdahost.LogTx) error {
		if err := tx.AppendLogEvents(ctx, g, "s", []lambdahost.LogEvent{{Time: 1, Ingested: 1, Message: "m"}}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("UpdateLogs = %v, want errBoom", err)
	}
	logsView(t, s, func(tx lambdahost.LogTx) error {
		evs, err := tx.LogEvents(ctx, lambdahost.LogEventQuery{Group: g})
		if err != nil {
			return err
		}
		grp, err := tx.LogGroup(ctx, g)
		if err != nil {
			return err
		}
		if len(evs) != 0 || grp.StoredBytes != 0 {
			t.Errorf("a failed UpdateLogs left %d events, %d bytes", len(evs), grp.StoredBytes)
		}
		return nil
	})
}

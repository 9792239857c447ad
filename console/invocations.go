package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// A function's recent invocations are read from its log group, as the
// AWS console reads them from CloudWatch Logs: each invocation's START,
// END and REPORT records (Text or JSON log format) and the lines its
// function printed between them.

// InvocationReader reads a function's recent invocations.
type InvocationReader interface {
	// RecentInvocations returns up to limit of the newest invocations
	// whose records are in logGroup of account in region, newest first.
	// A log group that does not exist has none.
	RecentInvocations(ctx context.Context, account, region, logGroup string, limit int) ([]Invocation, error)
}

// LogLine is one event of a log group, as ParseInvocations reads it.
type LogLine struct {
	Stream  string
	Time    time.Time
	Message string
}

// Invocation is one invocation as its log tells it.
type Invocation struct {
	RequestID string
	Version   string
	// Start is the time of its START record.
	Start                     time.Time
	Duration, BilledDuration  time.Duration
	MemorySizeMB, MaxMemoryMB int
	// InitDuration is the cold start's, zero for a warm invocation.
	InitDuration time.Duration
	// Status is success, error or timeout; ErrorType says which error.
	Status, ErrorType string
	// Finished says a REPORT was read: without it the invocation is
	// running, or its records were cut off.
	Finished bool
	// Lines are its log lines, START to REPORT.
	Lines []LogLine
}

// Cold reports whether the invocation started its environment.
func (i *Invocation) Cold() bool { return i.InitDuration > 0 }

var (
	reStart  = regexp.MustCompile(`^START RequestId: (\S+)(?: Version: (\S+))?`)
	reEnd    = regexp.MustCompile(`^END RequestId: (\S+)`)
	reReport = regexp.MustCompile(`^REPORT RequestId: (\S+)`)
	reField  = regexp.MustCompile(`([A-Za-z ]+): ([^\t]+)`)
)

// platformRecord is a JSON-format platform record (platform.start,
// platform.report...).
type platformRecord struct {
	Type   string `json:"type"`
	Record struct {
		RequestID string `json:"requestId"`
		Version   string `json:"version"`
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Metrics   struct {
			DurationMs       float64 `json:"durationMs"`
			BilledDurationMs float64 `json:"billedDurationMs"`
			MemorySizeMB     int     `json:"memorySizeMB"`
			MaxMemoryUsedMB  int     `json:"maxMemoryUsedMB"`
			InitDurationMs   float64 `json:"initDurationMs"`
		} `json:"metrics"`
	} `json:"record"`
}

// ParseInvocations groups log lines, oldest first, into invocations:
// within a stream (one execution environment, which runs one invocation at
// a time), a START record opens an invocation, the lines until its REPORT
// belong to it, and the REPORT gives its figures. Lines outside any
// invocation (an environment's start-up) are left out. It returns the
// invocations newest first.
func ParseInvocations(lines []LogLine) []Invocation {
	var out []*Invocation
	open := map[string]*Invocation{}
	for _, l := range lines {
		msg := strings.TrimRight(l.Message, "\n")
		kind, rec := classify(msg)
		cur := open[l.Stream]
		switch kind {
		case "start":
			inv := &Invocation{RequestID: rec.Record.RequestID, Version: rec.Record.Version, Start: l.Time}
			out = append(out, inv)
			open[l.Stream] = inv
			inv.Lines = append(inv.Lines, l)
		case "report":
			if cur == nil || cur.RequestID != rec.Record.RequestID {
				// Its START fell before the lines read.
				cur = &Invocation{RequestID: rec.Record.RequestID, Start: l.Time}
				out = append(out, cur)
			}
			cur.Lines = append(cur.Lines, l)
			m := rec.Record.Metrics
			cur.Duration, cur.BilledDuration = msDuration(m.DurationMs), msDuration(m.BilledDurationMs)
			cur.MemorySizeMB, cur.MaxMemoryMB, cur.InitDuration = m.MemorySizeMB, m.MaxMemoryUsedMB, msDuration(m.InitDurationMs)
			cur.Status, cur.ErrorType, cur.Finished = rec.Record.Status, rec.Record.ErrorType, true
			if cur.Status == "" {
				cur.Status = "success"
			}
			delete(open, l.Stream)
		default:
			if cur != nil {
				cur.Lines = append(cur.Lines, l)
			}
		}
	}
	res := make([]Invocation, len(out))
	for i, inv := range out {
		res[len(out)-1-i] = *inv
	}
	slices.SortStableFunc(res, func(a, b Invocation) int { return b.Start.Compare(a.Start) })
	return res
}

// classify tells a platform record (start, report) from other lines, and
// returns what it says in the JSON record's shape.
func classify(msg string) (string, *platformRecord) {
	rec := &platformRecord{}
	if m := reStart.FindStringSubmatch(msg); m != nil {
		rec.Record.RequestID, rec.Record.Version = m[1], m[2]
		return "start", rec
	}
	if m := reReport.FindStringSubmatch(msg); m != nil {
		rec.Record.RequestID = m[1]
		met := &rec.Record.Metrics
		for _, f := range reField.FindAllStringSubmatch(msg[len(m[0]):], -1) {
			key, val := strings.TrimSpace(f[1]), strings.TrimSpace(f[2])
			num := strings.Fields(val)
			n := 0.0
			if len(num) > 0 {
				n, _ = strconv.ParseFloat(num[0], 64)
			}
			switch key {
			case "Duration":
				met.DurationMs = n
			case "Billed Duration":
				met.BilledDurationMs = n
			case "Memory Size":
				met.MemorySizeMB = int(n)
			case "Max Memory Used":
				met.MaxMemoryUsedMB = int(n)
			case "Init Duration":
				met.InitDurationMs = n
			case "Status":
				rec.Record.Status = val
			case "Error Type":
				rec.Record.ErrorType = val
			}
		}
		return "report", rec
	}
	if reEnd.MatchString(msg) {
		return "end", rec
	}
	if strings.HasPrefix(msg, "{") && strings.Contains(msg, `"platform.`) {
		if json.Unmarshal([]byte(msg), rec) == nil {
			switch rec.Type {
			case "platform.start":
				return "start", rec
			case "platform.report":
				return "report", rec
			}
			return "platform", rec
		}
	}
	return "", rec
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// maxLogEvents bounds the events of a log group that RecentInvocations
// reads: the newest, enough for the invocations the page shows and
// their lines.
const maxLogEvents = 5000

// LogStoreInvocations reads recent invocations from the log groups of a
// lambdahost.LogStore, where the executor stores functions' logs.
type LogStoreInvocations struct {
	Store lambdahost.LogStore
}

// RecentInvocations implements InvocationReader.
func (l LogStoreInvocations) RecentInvocations(ctx context.Context, account, region, logGroup string, limit int) ([]Invocation, error) {
	var events []lambdahost.LogEvent
	err := l.Store.ViewLogs(ctx, func(tx lambdahost.LogTx) error {
		var err error
		events, err = tx.LogEvents(ctx, lambdahost.LogEventQuery{
			Group:      lambdahost.LogGroupID{Account: account, Region: region, Name: logGroup},
			Descending: true, Limit: maxLogEvents,
		})
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read log group %s: %w", logGroup, err)
	}
	lines := make([]LogLine, len(events))
	for i, e := range events {
		lines[len(events)-1-i] = LogLine{Stream: e.Stream, Time: time.UnixMilli(e.Time).UTC(), Message: e.Message}
	}
	out := ParseInvocations(lines)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

package logs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/lambdahost/lambdahost"
)

// StartLiveTail answers with an event stream (application/vnd.amazon.
// eventstream) that stays open: an initial-response, a sessionStart, then
// a sessionUpdate every TailUpdate with the events added since (up to 500,
// sampled beyond, as CloudWatch Logs does), until the client goes away or
// TailMaxDuration passes, which ends the session with a
// SessionTimeoutException. New events are read from the store by their
// Seq, so a tail sees what any process sharing the store writes.

// Defaults of live tails.
const (
	defaultTailPoll        = 250 * time.Millisecond
	defaultTailUpdate      = time.Second
	defaultTailMaxDuration = 3 * time.Hour
	// tailUpdateEvents bounds the events of one sessionUpdate.
	tailUpdateEvents = 500
)

// Tail is a live tail's selection.
type Tail struct {
	Groups       []lambdahost.LogGroupID
	Streams      []string
	StreamPrefix []string
	pattern      pattern
	// after is, for each group, the Seq of the last event read.
	after []int64
}

// TailEvent is an event of a live tail and the index of its group in
// Tail.Groups.
type TailEvent struct {
	lambdahost.LogEvent
	Group int
}

// StartTail checks a live tail's request and returns it, positioned after
// the events stored so far.
func (s *Service) StartTail(ctx context.Context, identifiers, streams, prefixes []string, filter string) (*Tail, error) {
	c, err := caller(ctx, "start live tail")
	if err != nil {
		return nil, err
	}
	v := validation()
	if len(identifiers) < 1 || len(identifiers) > 10 {
		v.Add("logGroupIdentifiers", "", "Member must have length between 1 and 10")
	}
	if streams != nil && (len(streams) < 1 || len(streams) > 100) {
		v.Add("logStreamNames", "", "Member must have length between 1 and 100")
	}
	if prefixes != nil && (len(prefixes) < 1 || len(prefixes) > 100) {
		v.Add("logStreamNamePrefixes", "", "Member must have length between 1 and 100")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if streams != nil && prefixes != nil {
		return nil, invalidParam("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.")
	}
	if len(identifiers) > 1 && (streams != nil || prefixes != nil) {
		return nil, invalidParam("logStreamNames and logStreamNamePrefixes can only be used with a single log group.")
	}
	p, err := parsePattern(filter)
	if err != nil {
		return nil, err
	}
	t := &Tail{Streams: streams, StreamPrefix: prefixes, pattern: p}
	for _, id := range identifiers {
		if m := reGroupARN.FindStringSubmatch(id); m == nil || m[4] != "" {
			// Live tails name groups by ARN only, and without ":*".
			return nil, invalidParam("The log group identifier %s is not a valid log group ARN.", id)
		}
		g, err := identifier(c, id)
		if err != nil {
			return nil, err
		}
		t.Groups = append(t.Groups, g)
	}
	err = s.store.ViewLogs(ctx, func(tx lambdahost.LogTx) error {
		for _, g := range t.Groups {
			if _, err := tx.LogGroup(ctx, g); err != nil {
				return err
			}
		}
		last, err := tx.LastLogSeq(ctx)
		for range t.Groups {
			t.after = append(t.after, last)
		}
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, groupNotFound()
	}
	if err != nil {
		return nil, lambdahost.Internal("start live tail", err)
	}
	return t, nil
}

// Next returns the events of t added since the last call, up to limit
// matching ones, and whether more were left out (sampled).
func (s *Service) Next(ctx context.Context, t *Tail, limit int) ([]TailEvent, bool, error) {
	var out []TailEvent
	sampled := false
	err := s.store.ViewLogs(ctx, func(tx lambdahost.LogTx) error {
		for i, g := range t.Groups {
			for {
				evs, err := tx.LogEventsAfter(ctx, []lambdahost.LogGroupID{g}, t.after[i], 1000)
				if err != nil {
					return err
				}
				for _, e := range evs {
					t.after[i] = e.Seq
					if !t.keeps(e) {
						continue
					}
					if len(out) == limit {
						sampled = true
						continue
					}
					out = append(out, TailEvent{LogEvent: e, Group: i})
				}
				if len(evs) < 1000 {
					break
				}
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b TailEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, sampled, err
}

func (t *Tail) keeps(e lambdahost.LogEvent) bool {
	if t.Streams != nil && !slices.Contains(t.Streams, e.Stream) {
		return false
	}
	if t.StreamPrefix != nil && !slices.ContainsFunc(t.StreamPrefix, func(p string) bool { return len(e.Stream) >= len(p) && e.Stream[:len(p)] == p }) {
		return false
	}
	return t.pattern.match(e.Message)
}

type startLiveTailRequest struct {
	LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	LogStreamNames        []string `json:"logStreamNames"`
	LogStreamNamePrefixes []string `json:"logStreamNamePrefixes"`
	LogEventFilterPattern *string  `json:"logEventFilterPattern"`
}

type sessionStartWire struct {
	RequestID             string   `json:"requestId"`
	SessionID             string   `json:"sessionId"`
	LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	LogStreamNames        []string `json:"logStreamNames,omitempty"`
	LogStreamNamePrefixes []string `json:"logStreamNamePrefixes,omitempty"`
	LogEventFilterPattern string   `json:"logEventFilterPattern,omitempty"`
}

type liveTailEventWire struct {
	LogStreamName      string `json:"logStreamName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	Message            string `json:"message"`
	Timestamp          int64  `json:"timestamp"`
	IngestionTime      int64  `json:"ingestionTime"`
}

type sessionUpdateWire struct {
	SessionMetadata struct {
		Sampled bool `json:"sampled"`
	} `json:"sessionMetadata"`
	SessionResults []liveTailEventWire `json:"sessionResults"`
}

func (s *Server) handleStartLiveTail(w http.ResponseWriter, r *http.Request, body []byte) {
	var req startLiveTailRequest
	if !s.decode(w, r, body, &req) {
		return
	}
	v := validation()
	required(v, "logGroupIdentifiers", req.LogGroupIdentifiers)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	select {
	case <-s.closed:
		s.writeError(w, r, lambdahost.Errorf(lambdahost.ServiceUnavailableException, "The server is shutting down."))
		return
	default:
	}
	tail, err := s.service.StartTail(ctx, req.LogGroupIdentifiers, req.LogStreamNames, req.LogStreamNamePrefixes, deref(req.LogEventFilterPattern))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	enc := eventstream.NewEncoder()
	send := func(msgType, kind string, v any) bool {
		payload, _ := json.Marshal(v) // wire structs always marshal
		var h eventstream.Headers
		h.Set(":message-type", eventstream.StringValue(msgType))
		if msgType == "exception" {
			h.Set(":exception-type", eventstream.StringValue(kind))
		} else {
			h.Set(":event-type", eventstream.StringValue(kind))
		}
		h.Set(":content-type", eventstream.StringValue("application/json"))
		if err := enc.Encode(w, eventstream.Message{Headers: h, Payload: payload}); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	requestID := lambdahost.RequestIDFrom(ctx)
	if !send("event", "initial-response", struct{}{}) ||
		!send("event", "sessionStart", sessionStartWire{
			RequestID: requestID, SessionID: lambdahost.NewID(), LogGroupIdentifiers: req.LogGroupIdentifiers,
			LogStreamNames: req.LogStreamNames, LogStreamNamePrefixes: req.LogStreamNamePrefixes, LogEventFilterPattern: deref(req.LogEventFilterPattern),
		}) {
		return
	}
	poll, update, maxDur := durationOr(s.TailPoll, defaultTailPoll), durationOr(s.TailUpdate, defaultTailUpdate), durationOr(s.TailMaxDuration, defaultTailMaxDuration)
	pollT, updateT := time.NewTicker(poll), time.NewTicker(update)
	defer pollT.Stop()
	defer updateT.Stop()
	deadline := time.NewTimer(maxDur)
	defer deadline.Stop()
	var (
		batch   []liveTailEventWire
		sampled bool
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closed:
			send("exception", "SessionStreamingException", map[string]string{"message": "The server is shutting down."})
			return
		case <-deadline.C:
			send("exception", "SessionTimeoutException", map[string]string{"message": "Session timed out after 3 hours."})
			return
		case <-pollT.C:
			evs, more, err := s.service.Next(ctx, tail, tailUpdateEvents-len(batch))
			if err != nil {
				if ctx.Err() == nil {
					s.logger().Warn("live tail", lambdahost.LogKeyError, err)
					send("exception", "SessionStreamingException", map[string]string{"message": "An internal error occurred."})
				}
				return
			}
			sampled = sampled || more
			for _, e := range evs {
				batch = append(batch, liveTailEventWire{LogStreamName: e.Stream, LogGroupIdentifier: req.LogGroupIdentifiers[e.Group], Message: e.Message, Timestamp: e.Time, IngestionTime: e.Ingested})
			}
		case <-updateT.C:
			var u sessionUpdateWire
			u.SessionMetadata.Sampled = sampled
			u.SessionResults = batch
			if u.SessionResults == nil {
				u.SessionResults = []liveTailEventWire{}
			}
			if !send("event", "sessionUpdate", u) {
				return
			}
			batch, sampled = nil, false
		}
	}
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

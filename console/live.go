package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Live updates: the store tells every change to a function, its versions
// or aliases, made on any node (Watch); the console fans the function IDs
// out to the pages that are open (Server-Sent Events), which fetch the
// parts of the page that show the function again. A page never polls.

// hub fans out the changes Watch reports to the event streams.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

// subscriber is one open event stream.
type subscriber struct {
	ch chan lambdahost.FunctionID
	// lost is set when ch was full: the stream tells its page to read
	// everything again.
	mu   sync.Mutex
	lost bool
}

func (h *hub) subscribe() *subscriber {
	s := &subscriber{ch: make(chan lambdahost.FunctionID, 256)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*subscriber]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// publish tells every stream that id changed (the zero ID: anything may
// have). It never blocks: a stream that is behind reads everything again.
func (h *hub) publish(id lambdahost.FunctionID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- id:
		default:
			s.mu.Lock()
			s.lost = true
			s.mu.Unlock()
		}
	}
}

// watch feeds the hub from Watch until ctx is done.
func (s *Server) watch(ctx context.Context) {
	if s.Watch == nil {
		return
	}
	for ctx.Err() == nil {
		err := s.Watch(ctx, s.hub.publish)
		if ctx.Err() != nil {
			return
		}
		s.logger().Warn("console: watch changes", lambdahost.LogKeyError, err)
		s.hub.publish(lambdahost.FunctionID{})
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// change is the data of a "change" event: what the function now is, or
// that it is gone.
type change struct {
	Function         string `json:"function"`
	Deleted          bool   `json:"deleted,omitempty"`
	State            string `json:"state,omitempty"`
	LastUpdateStatus string `json:"lastUpdateStatus,omitempty"`
	Reason           string `json:"reason,omitempty"`
	RevisionID       string `json:"revisionId,omitempty"`
	CodeSHA256       string `json:"codeSha256,omitempty"`
}

// keepAlive is how often an idle event stream sends a comment, so that a
// page that went away is noticed.
const keepAlive = 15 * time.Second

// handleEvents streams the changes of the session's functions (with
// ?function=NAME, of that function only) as Server-Sent Events: "ready"
// once the stream is open, "change" with a change for each function that
// changed, and "resync" when changes may have been missed.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, ss *session) {
	only := r.URL.Query().Get("function")
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sub := s.hub.subscribe()
	defer s.hub.unsubscribe(sub)
	send := func(event string, data any) bool {
		b, _ := json.Marshal(data)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("ready", map[string]string{"region": ss.Region}) {
		return
	}
	ctx := s.callerContext(r, ss)
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case id := <-sub.ch:
			sub.mu.Lock()
			lost := sub.lost
			sub.lost = false
			sub.mu.Unlock()
			if lost || id == (lambdahost.FunctionID{}) {
				if !send("resync", map[string]bool{"resync": true}) {
					return
				}
				continue
			}
			if id.Account != ss.account || id.Region != ss.Region || only != "" && id.Name != only {
				continue
			}
			if !send("change", s.changeOf(ctx, id.Name)) {
				return
			}
		}
	}
}

// changeOf reads what function name is now, as the session's caller.
func (s *Server) changeOf(ctx context.Context, name string) change {
	fc, err := s.Service.GetFunctionConfiguration(ctx, name, "")
	if err != nil {
		if lambdahost.ErrorTypeOf(err) == lambdahost.ResourceNotFoundException {
			return change{Function: name, Deleted: true}
		}
		return change{Function: name}
	}
	st := fc.Status
	reason := st.LastUpdateStatusReason
	if reason == "" {
		reason = st.StateReason
	}
	return change{
		Function: name, State: st.State, LastUpdateStatus: st.LastUpdateStatus, Reason: reason,
		RevisionID: fc.RevisionID, CodeSHA256: fc.Code.SHA256(),
	}
}

package http

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/invoke"
)

// Invoker runs invocations; *invoke.Executor is one.
type Invoker interface {
	Invoke(ctx context.Context, req *invoke.Request) (*invoke.Result, error)
	InvokeAsync(req *invoke.Request)
}

// Payload limits: 6 MB for synchronous invocations, 1 MB for asynchronous
// ones (the Invoke API reference).
const (
	maxSyncPayload  = 6 << 20
	maxAsyncPayload = 1 << 20
	// maxClientContext is the model's bound on X-Amz-Client-Context.
	maxClientContext = 3583
)

// invocation is an Invoke request, parsed and checked.
type invocation struct {
	kind          string
	tail          bool
	clientContext string
	target        *control.Invocation
}

// parseInvocation checks an Invoke request's headers and payload and
// resolves its function. kinds are the invocation types the operation
// accepts, in the model's order; RequestResponse is the default.
func (s *Server) parseInvocation(r *http.Request, payload []byte, kinds ...string) (*invocation, error) {
	in := &invocation{kind: r.Header.Get("X-Amz-Invocation-Type")}
	var v lambdahost.Validation
	if in.kind == "" {
		in.kind = "RequestResponse"
	} else if !slices.Contains(kinds, in.kind) {
		v.Add("invocationType", lambdahost.Quote(in.kind), "Member must satisfy enum value set: ["+strings.Join(kinds, ", ")+"]")
	}
	switch lt := r.Header.Get("X-Amz-Log-Type"); lt {
	case "", "None":
	case "Tail":
		in.tail = true
	default:
		v.Add("logType", lambdahost.Quote(lt), "Member must satisfy enum value set: [None, Tail]")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		doc, err := base64.StdEncoding.DecodeString(cc)
		var obj map[string]any
		if len(cc) > maxClientContext || err != nil || json.Unmarshal(doc, &obj) != nil {
			return nil, lambdahost.Errorf(lambdahost.InvalidRequestContentException, "Client context must be a valid Base64-encoded JSON object.")
		}
		in.clientContext = string(doc)
	}
	limit := maxSyncPayload
	if in.kind == "Event" {
		limit = maxAsyncPayload
	}
	if len(payload) > limit {
		return nil, tooLarge(r, limit)
	}
	if err := checkPayload(payload); err != nil {
		return nil, err
	}
	t, err := s.service.ResolveInvoke(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		return nil, err
	}
	in.target = t
	return in, nil
}

// checkPayload refuses a payload that is not JSON, as Lambda does. An
// empty payload is allowed (the function gets {}).
func checkPayload(p []byte) error {
	if len(bytes.TrimSpace(p)) == 0 || json.Valid(p) {
		return nil
	}
	detail := "Unexpected end-of-input"
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		detail = err.Error()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			tok := p[max(0, int(se.Offset)-1):]
			if i := bytes.IndexAny(tok, " \t\r\n,:{}[]\""); i >= 0 {
				tok = tok[:i]
			}
			if len(tok) > 0 && len(tok) < 64 {
				detail = fmt.Sprintf("Unrecognized token '%s': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')", tok)
			}
		}
	}
	return lambdahost.Errorf(lambdahost.InvalidRequestContentException, "Could not parse request body into json: Could not parse payload into json: %s", detail)
}

// request builds the executor's request for in.
func (s *Server) request(r *http.Request, in *invocation, payload []byte) *invoke.Request {
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	return &invoke.Request{
		Target:        targetOf(in.target),
		RequestID:     lambdahost.RequestIDFrom(r.Context()),
		Payload:       payload,
		ClientContext: in.clientContext,
		TraceID:       traceID(r.Header.Get("X-Amzn-Trace-Id")),
		Tail:          in.tail,
	}
}

// targetOf is the executor's target for an invocation the control plane
// resolved.
func targetOf(inv *control.Invocation) invoke.Target {
	return invoke.Target{
		Function: inv.Function.ID, Generation: inv.Function.Created, Version: inv.Version,
		InvokedARN: inv.InvokedARN, ExecutedVersion: inv.ExecutedVersion,
		ReservedConcurrency: inv.Function.ReservedConcurrency,
	}
}

// InvokeEvent hands the stored asynchronous event ev to the Invoker, to
// run inv with the retries and maximum age its event invoke config says.
// Before each retry the event is resolved again (the function's reserved
// concurrency may have changed, or the function may be gone). Once the
// invocation is finished for good, the event is deleted with what its end
// sends to destinations and dead-letter queues (control's FinishEvent),
// and the events of Lambda destinations run in turn. An event the Invoker
// leaves unfinished, because it closed or the process died, stays stored.
// An event that recursive loop detection stops does not run; its end is
// recorded as a failure.
//
// Invoke calls it once the event is stored; at start-up, cmd/lambdahost
// passes it to control.Service.ReplayEvents for the events an earlier
// process left. The Invoker must be set.
func (s *Server) InvokeEvent(inv *control.Invocation, ev *lambdahost.AsyncEvent) {
	log := s.logger().With(lambdahost.LogKeyFunction, inv.InvokedARN, lambdahost.LogKeyRequestID, ev.RequestID)
	trace, stop := inv.Recursive(ev.TraceID)
	finish := func(out *control.EventOutcome) {
		// The invocation is over: a cancelled request must not keep its
		// event from being finished.
		follow, err := s.service.FinishEvent(context.Background(), ev, out)
		if err != nil {
			log.Error("finish asynchronous event", lambdahost.LogKeyError, err)
			return
		}
		for _, f := range follow {
			s.InvokeEvent(f.Invocation, f.Event)
		}
	}
	if stop {
		s.service.Metrics.RecursiveInvocationsDropped.Add(1)
		log.Warn("asynchronous event stopped: recursive loop detected", "depth", lambdahost.MaxRecursionDepth)
		finish(&control.EventOutcome{Condition: control.ConditionRecursiveLoop, ExecutedVersion: inv.ExecutedVersion, TraceID: trace})
		return
	}
	s.Invoker.InvokeAsync(&invoke.Request{
		Target:     targetOf(inv),
		RequestID:  ev.RequestID,
		Payload:    ev.Payload,
		TraceID:    trace,
		Queued:     ev.Created,
		MaxRetries: inv.MaxRetries,
		MaxAge:     inv.MaxAge,
		Refresh: func(ctx context.Context) (invoke.Target, error) {
			inv, err := s.service.ResolveEvent(ctx, ev)
			if err != nil {
				return invoke.Target{}, err
			}
			return targetOf(inv), nil
		},
		Done: func(out *invoke.AsyncOutcome) { finish(eventOutcome(out, trace)) },
	})
}

// eventOutcome is the control plane's view of how an asynchronous
// invocation ended.
func eventOutcome(out *invoke.AsyncOutcome, trace string) *control.EventOutcome {
	o := &control.EventOutcome{Condition: out.Condition, Attempts: out.Attempts, ExecutedVersion: out.Target.ExecutedVersion, TraceID: trace}
	switch {
	case out.Result != nil:
		o.Response = &control.EventResponse{StatusCode: http.StatusOK, FunctionError: out.Result.FunctionError, Payload: out.Result.Payload}
	case out.Err != nil:
		// The platform failed the invocation (an unavailable runtime, a
		// KMS key that cannot be used): the record says so as Invoke
		// would have.
		status, typ, msg := http.StatusInternalServerError, string(lambdahost.ServiceException), "An internal error occurred."
		var apiErr *lambdahost.Error
		if errors.As(out.Err, &apiErr) {
			status, typ, msg = apiErr.Type.Status(), string(apiErr.Type), apiErr.Message
		}
		doc, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": typ})
		o.Response = &control.EventResponse{StatusCode: status, FunctionError: "Unhandled", Payload: doc}
	}
	return o
}

// countLineage counts a synchronous invocation in its trace header's
// lineage, or answers RecursiveInvocationException when recursive loop
// detection stops it (a function that invokes itself through the SDK,
// which passes the header on), counting it as dropped.
func (s *Server) countLineage(inv *control.Invocation, req *invoke.Request) error {
	trace, stop := inv.Recursive(req.TraceID)
	if stop {
		s.service.Metrics.RecursiveInvocationsDropped.Add(1)
		return control.ErrRecursiveLoop()
	}
	req.TraceID = trace
	return nil
}

// traceID passes the caller's X-Ray header on, or starts a trace.
func traceID(h string) string {
	if strings.HasPrefix(h, "Root=") {
		return h
	}
	var b [20]byte
	rand.Read(b[:])
	x := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), x[:24], x[24:40])
}

func (s *Server) handleInvoke(w http.ResponseWriter, r *http.Request) {
	payload := bodyBytes(r)
	in, err := s.parseInvocation(r, payload, "Event", "RequestResponse", "DryRun")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch in.kind {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		if s.Invoker == nil {
			s.writeError(w, r, errNoInvoker())
			return
		}
		// 202 promises the event will run: store it first, so that a
		// crash after the answer does not lose it.
		req := s.request(r, in, payload)
		ev, err := s.service.EnqueueEvent(r.Context(), in.target, req.Payload, req.RequestID, req.TraceID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.InvokeEvent(in.target, ev)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if s.Invoker == nil {
		s.writeError(w, r, errNoInvoker())
		return
	}
	req := s.request(r, in, payload)
	if err := s.countLineage(in.target, req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Invoker.Invoke(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("X-Amz-Executed-Version", in.target.ExecutedVersion)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if in.tail {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.Log))
	}
	ct := res.ContentType
	if ct == "" || res.FunctionError != "" {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(res.Payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(res.Payload)
}

func errNoInvoker() error {
	return lambdahost.Errorf(lambdahost.ServiceException, "This server does not run functions.")
}

// handleInvokeWithResponseStream answers with an event stream: the
// response in PayloadChunk events as the runtime streams it (or in one
// chunk if it does not), then InvokeComplete with any error and the log.
func (s *Server) handleInvokeWithResponseStream(w http.ResponseWriter, r *http.Request) {
	payload := bodyBytes(r)
	in, err := s.parseInvocation(r, payload, "RequestResponse", "DryRun")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.kind == "DryRun" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if s.Invoker == nil {
		s.writeError(w, r, errNoInvoker())
		return
	}
	req := s.request(r, in, payload)
	if err := s.countLineage(in.target, req); err != nil {
		s.writeError(w, r, err)
		return
	}
	es := &eventStream{w: w, rc: http.NewResponseController(w), version: in.target.ExecutedVersion}
	req.Stream = es
	res, err := s.Invoker.Invoke(r.Context(), req)
	es.mu.Lock()
	defer es.mu.Unlock()
	es.closed = true
	if err != nil {
		if !es.started {
			s.writeError(w, r, err)
			return
		}
		es.complete("ServiceException", err.Error(), nil, in.tail)
		return
	}
	if !res.Streamed && res.FunctionError == "" {
		es.chunk(res.Payload)
	}
	code, details := "", ""
	if res.FunctionError != "" {
		code, details = res.ErrorType, string(res.Payload)
	}
	es.complete(code, details, res.Log, in.tail)
}

// eventStream writes an InvokeWithResponseStream response. The executor
// writes chunks from the Runtime API's goroutine; closed stops writes once
// the handler has finished.
type eventStream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *eventstream.Encoder
	version string
	started bool
	closed  bool
}

func (es *eventStream) start() {
	if es.started {
		return
	}
	es.started = true
	es.enc = eventstream.NewEncoder()
	h := es.w.Header()
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	h.Set("X-Amz-Executed-Version", es.version)
	es.w.WriteHeader(http.StatusOK)
}

func (es *eventStream) Write(p []byte) (int, error) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.closed {
		return 0, errors.New("stream closed")
	}
	if err := es.chunk(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (es *eventStream) Flush() error {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.closed {
		return nil
	}
	return es.rc.Flush()
}

func (es *eventStream) chunk(p []byte) error {
	es.start()
	if len(p) == 0 {
		return nil
	}
	return es.event("PayloadChunk", "application/octet-stream", p)
}

func (es *eventStream) complete(code, details string, log []byte, tail bool) {
	es.start()
	doc := struct {
		ErrorCode    string `json:"ErrorCode,omitempty"`
		ErrorDetails string `json:"ErrorDetails,omitempty"`
		LogResult    string `json:"LogResult,omitempty"`
	}{ErrorCode: code, ErrorDetails: details}
	if tail {
		doc.LogResult = base64.StdEncoding.EncodeToString(log)
	}
	b, _ := json.Marshal(doc)
	es.event("InvokeComplete", "application/json", b)
	es.rc.Flush()
}

func (es *eventStream) event(typ, contentType string, payload []byte) error {
	var h eventstream.Headers
	h.Set(":event-type", eventstream.StringValue(typ))
	h.Set(":content-type", eventstream.StringValue(contentType))
	h.Set(":message-type", eventstream.StringValue("event"))
	return es.enc.Encode(es.w, eventstream.Message{Headers: h, Payload: payload})
}

// handleInvokeAsync answers the deprecated InvokeAsync: an Event
// invocation of InvokeArgs, stored before it answers 202 with
// {"Status":202}, as Invoke with InvocationType Event is.
// (https://docs.aws.amazon.com/lambda/latest/api/API_InvokeAsync.html)
func (s *Server) handleInvokeAsync(w http.ResponseWriter, r *http.Request) {
	payload := bodyBytes(r)
	if len(payload) > maxAsyncPayload {
		s.writeError(w, r, tooLarge(r, maxAsyncPayload))
		return
	}
	if err := checkPayload(payload); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.service.ResolveInvoke(r.Context(), r.PathValue("FunctionName"), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.Invoker == nil {
		s.writeError(w, r, errNoInvoker())
		return
	}
	req := s.request(r, &invocation{kind: "Event", target: t}, payload)
	ev, err := s.service.EnqueueEvent(r.Context(), t, req.Payload, req.RequestID, req.TraceID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.InvokeEvent(t, ev)
	writeJSON(w, http.StatusAccepted, struct {
		Status int `json:"Status"`
	}{http.StatusAccepted})
}

// InvokeTail runs a synchronous invocation of functionName (with qualifier,
// which may be "") for the caller of ctx, as Invoke with LogType Tail
// does: the same payload checks, resolution, permissions and errors. It
// returns the result and the version that ran. The web console invokes
// through it.
func (s *Server) InvokeTail(ctx context.Context, functionName, qualifier string, payload []byte) (*invoke.Result, string, error) {
	if len(payload) > maxSyncPayload {
		return nil, "", lambdahost.Errorf(lambdahost.RequestTooLargeException, "Request must be smaller than %d bytes for the InvokeFunction operation", maxSyncPayload)
	}
	if err := checkPayload(payload); err != nil {
		return nil, "", err
	}
	if s.Invoker == nil {
		return nil, "", errNoInvoker()
	}
	inv, err := s.service.ResolveInvoke(ctx, functionName, qualifier)
	if err != nil {
		return nil, "", err
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	id := lambdahost.RequestIDFrom(ctx)
	if id == "" {
		id = lambdahost.NewID()
	}
	res, err := s.Invoker.Invoke(ctx, &invoke.Request{
		Target: targetOf(inv), RequestID: id, Payload: payload, TraceID: traceID(""), Tail: true,
	})
	if err != nil {
		return nil, "", err
	}
	return res, inv.ExecutedVersion, nil
}

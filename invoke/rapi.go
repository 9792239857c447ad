package invoke

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// MaxResponse is the largest buffered response a runtime may return,
// 6 MiB plus 100 bytes, as Lambda's Runtime API accepts.
const MaxResponse = 6*1024*1024 + 100

// maxStreamed bounds a streamed response (Lambda's limit is 200 MB).
const maxStreamed = 200 << 20

// renderRuntimeError writes a Runtime API error document.
func renderRuntimeError(w http.ResponseWriter, status int, errorType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(errorDoc(errorType, "%s", msg))
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

// handleNext gives the runtime the next invocation, waiting for one.
func (e *env) handleNext(w http.ResponseWriter, r *http.Request) {
	e.markReady()
	e.mu.Lock()
	busy := e.cur != nil
	e.mu.Unlock()
	if busy {
		renderRuntimeError(w, http.StatusForbidden, "InvalidStateTransition", "State transition from Ready to ReadyAgain failed for runtime. Error: State transition is not allowed")
		return
	}
	var c *call
	select {
	case c = <-e.next:
	case <-r.Context().Done():
		return
	}
	e.mu.Lock()
	e.cur = c
	e.mu.Unlock()
	c.start()
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", c.req.RequestID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(c.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", c.req.Target.InvokedARN)
	if c.req.TraceID != "" {
		h.Set("Lambda-Runtime-Trace-Id", c.req.TraceID)
	}
	if c.req.ClientContext != "" {
		h.Set("Lambda-Runtime-Client-Context", c.req.ClientContext)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(c.req.Payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(c.req.Payload)
}

// handleResponse takes the runtime's response to the current invocation.
func (e *env) handleResponse(w http.ResponseWriter, r *http.Request) {
	c := e.current(r.PathValue("id"))
	if c == nil {
		renderRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	switch mode := r.Header.Get("Lambda-Runtime-Function-Response-Mode"); strings.ToLower(mode) {
	case "":
		// A runtime that sends its response in chunks (aws-lambda-go
		// does for a handler returning an io.Reader) streams it to a
		// caller that wants a stream, and may report a failure in its
		// trailers either way.
		if r.ContentLength < 0 {
			e.handleStreamed(w, r, c)
			return
		}
	case "streaming":
		e.handleStreamed(w, r, c)
		return
	default:
		e.answered(c)
		c.finish(outcome{payload: errorDoc(errInvalidMode, "Invalid response mode header value: %s", mode), errorType: errInvalidMode, status: "error"})
		renderRuntimeError(w, http.StatusBadRequest, "InvalidFunctionResponseMode", "Invalid function response mode")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponse+1))
	if err != nil {
		// The runtime went away mid-response; its exit ends the call.
		return
	}
	e.answered(c)
	if len(body) > MaxResponse {
		n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxStreamed))
		size := int64(len(body)) + n
		if r.ContentLength > size {
			size = r.ContentLength
		}
		c.finish(outcome{
			payload:   errorDoc(errResponseTooLarge, "Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", size, MaxResponse),
			errorType: errResponseTooLarge, status: "error",
		})
		renderRuntimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Exceeded maximum allowed payload size ("+strconv.Itoa(MaxResponse)+" bytes).")
		return
	}
	if e.settles(c) {
		e.settleOutput()
	}
	c.finish(outcome{payload: body, contentType: r.Header.Get("Content-Type")})
	accepted(w)
}

// handleStreamed takes a streamed response: passed on as it arrives if the
// caller streams, buffered otherwise. A failure mid-stream arrives in the
// trailers Lambda-Runtime-Function-Error-Type and -Error-Body (base64).
func (e *env) handleStreamed(w http.ResponseWriter, r *http.Request, c *call) {
	var (
		body   []byte
		total  int64
		err    error
		stream = c.req.Stream
	)
	if stream == nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, MaxResponse+1))
		total = int64(len(body))
	} else {
		if ct, ok := stream.(StreamContentTyper); ok {
			ct.StreamContentType(r.Header.Get("Content-Type"))
		}
		buf := make([]byte, 32<<10)
		for total <= maxStreamed {
			n, rerr := r.Body.Read(buf)
			if n > 0 {
				total += int64(n)
				if _, werr := stream.Write(buf[:n]); werr == nil {
					stream.Flush()
				}
			}
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) {
					err = rerr
				}
				break
			}
		}
	}
	e.answered(c)
	if err != nil {
		c.finish(outcome{payload: errorDoc(errTruncated, "Response was truncated"), errorType: errTruncated, status: "error", streamed: stream != nil})
		return
	}
	if stream == nil && total > MaxResponse {
		c.finish(outcome{
			payload:   errorDoc(errResponseTooLarge, "Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponse),
			errorType: errResponseTooLarge, status: "error",
		})
		renderRuntimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Exceeded maximum allowed payload size ("+strconv.Itoa(MaxResponse)+" bytes).")
		return
	}
	o := outcome{payload: body, contentType: r.Header.Get("Content-Type"), streamed: stream != nil}
	if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
		doc, derr := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		if derr != nil || !json.Valid(doc) {
			doc = errorDoc(t, "")
		}
		o = outcome{payload: doc, errorType: t, streamed: stream != nil, status: "error"}
	}
	if e.settles(c) {
		e.settleOutput()
	}
	c.finish(o)
	accepted(w)
}

// handleError takes the runtime's report that the handler failed. The
// document is passed to the caller as it is; if there is none, one is made
// from the error type header.
func (e *env) handleError(w http.ResponseWriter, r *http.Request) {
	c := e.current(r.PathValue("id"))
	if c == nil {
		renderRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	doc, errType, ok := readErrorDoc(r)
	if !ok {
		return
	}
	e.answered(c)
	if e.settles(c) {
		e.settleOutput()
	}
	c.finish(outcome{payload: doc, errorType: errType})
	accepted(w)
}

// handleInitError takes the runtime's report that it could not start; the
// first invocation answers with it.
func (e *env) handleInitError(w http.ResponseWriter, r *http.Request) {
	doc, errType, ok := readErrorDoc(r)
	if !ok {
		return
	}
	e.initOnce.Do(func() {
		e.initDoc, e.initType = doc, errType
		close(e.initFailed)
	})
	accepted(w)
}

// readErrorDoc reads an error report's document and type.
func readErrorDoc(r *http.Request) (doc []byte, errType string, ok bool) {
	doc, err := io.ReadAll(io.LimitReader(r.Body, MaxResponse))
	if err != nil {
		return nil, "", false
	}
	errType = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	var parsed struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(doc, &parsed) != nil {
		if errType == "" {
			errType = errUnknown
		}
		return errorDoc(errType, "%s", strings.TrimSpace(string(doc))), errType, true
	}
	if errType == "" {
		errType = parsed.ErrorType
	}
	if errType == "" {
		errType = errUnknown
	}
	return doc, errType, true
}

// handleTelemetryStub answers the Telemetry and Logs APIs, which lambdahost
// does not offer, the way the Runtime Interface Emulator does: accepted
// with a NotSupported document, so that extensions don't crash.
func (e *env) handleTelemetryStub(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	if strings.Contains(r.URL.Path, "telemetry") {
		w.Write(errorDoc("Telemetry.NotSupported", "Telemetry API is not supported"))
		return
	}
	w.Write(errorDoc("Logs.NotSupported", "Logs API is not supported"))
}

package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/invoke"
	"github.com/lambdahost/lambdahost/sigv4"
)

// Function URL traffic. A URL is reached on lambdahost's own listener in
// two ways:
//
//   - by Host: http://<url-id>.lambda-url.<region>.localhost:<port>/...
//     (browsers and curl resolve *.localhost to the loopback address; any
//     domain after the region is accepted, for a DNS name of one's own);
//   - by path, for clients that cannot choose the Host:
//     http://<listener>/lambda-url/<url-id>/... , where the path after the
//     URL ID is the request's path.
//
// The traffic is not an API call: it is answered by this handler alone,
// with the statuses and bodies AWS's URLs answer, and never reaches the
// API's routes.

// urlPathPrefix is the path under which every function URL is also served:
// urlPathPrefix + "<url-id>/<path>".
const urlPathPrefix = "/lambda-url/"

// Limits of a function URL request.
const (
	// maxURLHeaderBytes bounds the request line and headers together, as
	// AWS's URLs do (larger ones are refused with the payload message).
	maxURLHeaderBytes = 10240
	// maxPrelude bounds the status and headers a streamed response sends
	// before its body.
	maxPrelude = 64 << 10
)

// AWS's bodies for refused function URL requests.
const (
	urlForbidden = `{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}`
	urlUnknown   = `{"Message":null}`
	// urlFunctionFailed is the body of a URL whose function failed,
	// timed out or answered something that is not a response.
	urlFunctionFailed = "Internal Server Error"
	// integrationType is the Content-Type of a streamed response that
	// starts with its HTTP status and headers (awslambda.HttpResponseStream,
	// aws-lambda-go's LambdaFunctionURLStreamingResponse).
	integrationType = "application/vnd.awslambda.http-integration-response"
)

// urlAddress returns the URL ID a request is addressed to, the region its
// host names ("" when reached by path) and its raw path under the URL, or
// ok=false for a request that is not for a function URL.
func urlAddress(r *http.Request) (id, region, rawPath string, ok bool) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if labels := strings.Split(strings.ToLower(host), "."); len(labels) >= 4 && labels[1] == "lambda-url" {
		return labels[0], labels[2], r.URL.EscapedPath(), true
	}
	path := r.URL.EscapedPath()
	if !strings.HasPrefix(path, urlPathPrefix) {
		return "", "", "", false
	}
	rest := path[len(urlPathPrefix):]
	id, rest, _ = strings.Cut(rest, "/")
	return strings.ToLower(id), "", "/" + rest, true
}

// isFunctionURL reports whether r is addressed to a function URL.
func isFunctionURL(r *http.Request) bool {
	_, _, _, ok := urlAddress(r)
	return ok
}

// serveFunctionURL serves r if it is addressed to a function URL and
// reports whether it was.
func (s *Server) serveFunctionURL(w http.ResponseWriter, r *http.Request) bool {
	id, region, rawPath, ok := urlAddress(r)
	if !ok {
		return false
	}
	r = awsapi.WithOperation(r, "InvokeFunctionUrl")
	(&urlTraffic{s: s}).serve(w, r, id, region, rawPath)
	return true
}

// urlTraffic answers one function URL request.
type urlTraffic struct {
	s *Server
}

// reject answers a request the URL refuses, with AWS's error type header
// and body.
func (u *urlTraffic) reject(w http.ResponseWriter, status int, errorType, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if errorType != "" {
		h.Set("X-Amzn-Errortype", errorType)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// rejectMessage answers status with {"Message": msg}.
func (u *urlTraffic) rejectMessage(w http.ResponseWriter, status int, errorType, msg string) {
	b, _ := json.Marshal(map[string]string{"Message": msg})
	u.reject(w, status, errorType, string(b))
}

// rejectError answers an error of the control plane or the executor: an
// API error with its status, type and message; anything else, logged, a
// 500.
func (u *urlTraffic) rejectError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	var apiErr *lambdahost.Error
	if !errors.As(err, &apiErr) || apiErr.Type == lambdahost.ServiceException {
		u.s.logger().ErrorContext(r.Context(), "function URL request failed", lambdahost.LogKeyRequestID, lambdahost.RequestIDFrom(r.Context()), lambdahost.LogKeyError, err)
		u.rejectMessage(w, http.StatusInternalServerError, string(lambdahost.ServiceException), urlFunctionFailed)
		return
	}
	status := apiErr.Status
	if status == 0 {
		status = apiErr.Type.Status()
	}
	if apiErr.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(apiErr.RetryAfter))
	}
	u.rejectMessage(w, status, string(apiErr.Type), apiErr.Message)
}

// functionFailed answers a function that failed, timed out or answered no
// valid response: 502, as AWS's URLs do.
func (u *urlTraffic) functionFailed(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(urlFunctionFailed)))
	w.WriteHeader(http.StatusBadGateway)
	io.WriteString(w, urlFunctionFailed)
}

func (u *urlTraffic) serve(w http.ResponseWriter, r *http.Request, id, hostRegion, rawPath string) {
	s := u.s
	r = awsapi.StartRequest(w, r, s.NewRequestID)
	ctx := r.Context()
	reqID := lambdahost.RequestIDFrom(ctx)
	if !control.ValidURLID(id) {
		u.reject(w, http.StatusForbidden, string(lambdahost.AccessDeniedException), urlUnknown)
		return
	}
	e, err := s.service.FunctionURL(ctx, id)
	if errors.Is(err, control.ErrURLNotFound) || err == nil && hostRegion != "" && hostRegion != e.Region {
		u.reject(w, http.StatusForbidden, string(lambdahost.AccessDeniedException), urlUnknown)
		return
	}
	if err != nil {
		u.rejectError(w, r, err)
		return
	}
	if e.Cors != nil && isPreflight(r) {
		preflight(w, r, e.Cors)
		return
	}
	if requestHeaderBytes(r) > maxURLHeaderBytes {
		u.tooLarge(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSyncPayload+1))
	if err != nil {
		u.rejectMessage(w, http.StatusBadRequest, string(lambdahost.InvalidRequestContentException), "Could not read request body.")
		return
	}
	if len(body) > maxSyncPayload {
		u.tooLarge(w)
		return
	}
	var signer *urlCaller
	var caller *lambdahost.Caller
	if e.AuthType == control.URLAuthIAM {
		c, err := u.verify(r, body, e.Region)
		if err != nil {
			var se *sigv4.Error
			if errors.As(err, &se) && se.Code == sigv4.MissingAuthenticationTokenException {
				u.rejectMessage(w, http.StatusForbidden, string(lambdahost.AccessDeniedException), "Forbidden")
			} else if errors.As(err, &se) {
				u.rejectMessage(w, http.StatusForbidden, string(se.Code), se.Message)
			} else {
				u.rejectError(w, r, err)
			}
			return
		}
		caller = &c
		signer = &urlCaller{AccessKey: c.AccessKey, Account: c.Account, ARN: c.PrincipalARN(), UserID: c.PrincipalID()}
	}
	inv, err := s.service.AuthorizeURL(ctx, e, caller)
	switch {
	case errors.Is(err, control.ErrURLForbidden):
		u.reject(w, http.StatusForbidden, string(lambdahost.AccessDeniedException), urlForbidden)
		return
	case errors.Is(err, control.ErrURLNotFound):
		u.reject(w, http.StatusForbidden, string(lambdahost.AccessDeniedException), urlUnknown)
		return
	case err != nil:
		u.rejectError(w, r, err)
		return
	}
	trace := traceID(r.Header.Get("X-Amzn-Trace-Id"))
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	domain := strings.ToLower(host)
	if hostRegion == "" {
		domain = e.URLID + ".lambda-url." + e.Region + ".localhost"
	}
	event, err := buildURLEvent(&urlRequest{
		Method: r.Method, RawPath: rawPath, RawQuery: r.URL.RawQuery, Proto: r.Proto,
		Host: r.Host, Header: r.Header, Body: body,
		SourceIP: remoteIP(r), Port: localPort(r),
		URLID: e.URLID, DomainName: domain, Caller: signer,
		RequestID: reqID, TraceID: trace, Time: s.now(),
	})
	if err != nil {
		u.rejectError(w, r, err)
		return
	}
	if len(event) > maxSyncPayload {
		u.tooLarge(w)
		return
	}
	if s.Invoker == nil {
		u.rejectError(w, r, errNoInvoker())
		return
	}
	w.Header().Set("X-Amzn-Trace-Id", trace)
	req := &invoke.Request{Target: targetOf(inv), RequestID: reqID, Payload: event, TraceID: trace}
	if e.Mode() == control.InvokeModeStream {
		u.stream(w, r, req, e.Cors)
		return
	}
	res, err := s.Invoker.Invoke(ctx, req)
	if err != nil {
		u.rejectError(w, r, err)
		return
	}
	if res.FunctionError != "" {
		u.functionFailed(w)
		return
	}
	out, err := mapURLResponse(res.Payload)
	if err != nil {
		u.functionFailed(w)
		return
	}
	writeURLResponse(w, r, out, e.Cors, true)
}

// tooLarge answers a request over AWS's limits.
func (u *urlTraffic) tooLarge(w http.ResponseWriter) {
	u.rejectMessage(w, http.StatusRequestEntityTooLarge, string(lambdahost.RequestTooLargeException),
		"Request must be smaller than "+strconv.Itoa(maxSyncPayload)+" bytes for the InvokeFunction operation")
}

// verify checks the SigV4 signature of an AWS_IAM URL's request: service
// lambda, the URL's region.
func (u *urlTraffic) verify(r *http.Request, body []byte, region string) (lambdahost.Caller, error) {
	p, err := u.s.auth.Verifier.Start(r)
	if err != nil {
		return lambdahost.Caller{}, err
	}
	sum := sha256.Sum256(body)
	res, err := p.Finish(hex.EncodeToString(sum[:]))
	if err != nil {
		return lambdahost.Caller{}, err
	}
	if res.Region != region {
		return lambdahost.Caller{}, &sigv4.Error{Code: sigv4.InvalidSignatureException,
			Message: "Credential should be scoped to a valid region. "}
	}
	return lambdahost.Caller{AccessKey: res.AccessKey, Account: res.Account, Region: res.Region, ARN: res.Principal, UserID: res.UserID}, nil
}

// requestHeaderBytes is the size of r's request line and headers.
func requestHeaderBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + len(r.Host) + 8
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// remoteIP is the client's address without its port.
func remoteIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// localPort is the port of the listener r arrived on.
func localPort(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			return p
		}
	}
	return ""
}

// writeURLResponse writes out, with the URL's CORS headers when it has a
// CORS configuration (they replace the function's own). full says whether
// the body is all there (Content-Length is set) or streams after.
func writeURLResponse(w http.ResponseWriter, r *http.Request, out *urlResponse, cors *control.Cors, full bool) {
	h := w.Header()
	for k, vs := range out.Headers {
		h[k] = vs
	}
	for _, c := range out.Cookies {
		h.Add("Set-Cookie", c)
	}
	applyCORS(h, r, cors)
	if full {
		h.Set("Content-Length", strconv.Itoa(len(out.Body)))
	}
	status := out.Status
	w.WriteHeader(status)
	if len(out.Body) > 0 && bodyAllowed(status) {
		w.Write(out.Body)
	}
}

// bodyAllowed reports whether a response of status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// allowedOrigin returns the Access-Control-Allow-Origin for origin under
// c, or "" if c does not allow it: "*" when every origin is allowed
// without credentials, else the origin itself.
func allowedOrigin(c *control.Cors, origin string) string {
	if origin == "" {
		return ""
	}
	credentials := c.AllowCredentials != nil && *c.AllowCredentials
	for _, o := range c.AllowOrigins {
		if o == "*" {
			if credentials {
				return origin
			}
			return "*"
		}
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return origin
		}
	}
	return ""
}

// preflight answers a CORS preflight request from the URL's CORS
// configuration, without invoking the function: 200 with the
// Access-Control-* headers when the origin is allowed, without them
// otherwise (the browser then refuses the request).
func preflight(w http.ResponseWriter, r *http.Request, c *control.Cors) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin := allowedOrigin(c, r.Header.Get("Origin")); origin != "" {
		credentials := c.AllowCredentials != nil && *c.AllowCredentials
		h.Set("Access-Control-Allow-Origin", origin)
		if len(c.AllowMethods) > 0 {
			h.Set("Access-Control-Allow-Methods", wildcardList(c.AllowMethods, credentials, r.Header.Get("Access-Control-Request-Method")))
		}
		if len(c.AllowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", wildcardList(c.AllowHeaders, credentials, r.Header.Get("Access-Control-Request-Headers")))
		}
		if c.MaxAge != nil {
			h.Set("Access-Control-Max-Age", strconv.Itoa(*c.MaxAge))
		}
		if credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// wildcardList joins a configured list for a preflight answer. With
// credentials browsers read "*" literally, so the requested value is
// echoed instead.
func wildcardList(list []string, credentials bool, requested string) string {
	for _, v := range list {
		if v == "*" && credentials {
			return requested
		}
	}
	return strings.Join(list, ",")
}

// applyCORS sets the CORS headers of an actual response: those of the
// function are dropped when the URL has a CORS configuration, whose own
// take their place for an allowed origin.
func applyCORS(h http.Header, r *http.Request, c *control.Cors) {
	if c == nil {
		return
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			delete(h, k)
		}
	}
	h.Add("Vary", "Origin")
	origin := allowedOrigin(c, r.Header.Get("Origin"))
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
	if c.AllowCredentials != nil && *c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// stream runs a RESPONSE_STREAM URL's invocation: the body goes to the
// client as the function writes it.
func (u *urlTraffic) stream(w http.ResponseWriter, r *http.Request, req *invoke.Request, cors *control.Cors) {
	us := &urlStream{w: w, r: r, rc: http.NewResponseController(w), cors: cors}
	req.Stream = us
	res, err := u.s.Invoker.Invoke(r.Context(), req)
	us.mu.Lock()
	defer us.mu.Unlock()
	us.closed = true
	switch {
	case err != nil && !us.started:
		u.rejectError(w, r, err)
	case err != nil, us.started && res.FunctionError != "":
		// The status is sent: all that is left is to cut the response
		// short, so that the client sees it was not completed.
		panic(http.ErrAbortHandler)
	case res.FunctionError != "" || us.failed:
		u.functionFailed(w)
	case !res.Streamed && !us.started:
		// The function answered at once (it does not stream). Through a
		// RESPONSE_STREAM URL its answer is streamed as it is, as on
		// AWS: only an integration prelude sets the status and headers.
		us.setContentType(res.ContentType)
		if _, err := us.write(res.Payload); err != nil || us.failed || us.integration && !us.started {
			u.functionFailed(w)
			return
		}
	case !us.started && us.integration && us.prelude != nil:
		// The stream ended inside its prelude.
		u.functionFailed(w)
	case !us.started:
		// An empty stream.
		us.begin(&urlResponse{Status: http.StatusOK, Headers: http.Header{"Content-Type": {us.contentType()}}})
	}
}

// urlStream passes a streamed response to the client: the executor writes
// to it from the Runtime API's goroutine; closed stops writes once the
// handler is done.
type urlStream struct {
	mu          sync.Mutex
	w           http.ResponseWriter
	r           *http.Request
	rc          *http.ResponseController
	cors        *control.Cors
	ctype       string
	integration bool
	// prelude collects the start of an integration response until the
	// eight NUL bytes that end its JSON.
	prelude []byte
	started bool
	failed  bool
	closed  bool
}

// StreamContentType implements invoke.StreamContentTyper.
func (us *urlStream) StreamContentType(ct string) {
	us.mu.Lock()
	defer us.mu.Unlock()
	us.setContentType(ct)
}

func (us *urlStream) setContentType(ct string) {
	us.ctype = ct
	us.integration = strings.EqualFold(strings.TrimSpace(ct), integrationType)
}

func (us *urlStream) contentType() string {
	if us.ctype == "" || us.integration {
		return "application/octet-stream"
	}
	return us.ctype
}

// begin sends the status and headers.
func (us *urlStream) begin(out *urlResponse) {
	us.started = true
	writeURLResponse(us.w, us.r, &urlResponse{Status: out.Status, Headers: out.Headers, Cookies: out.Cookies}, us.cors, false)
}

var preludeEnd = make([]byte, 8)

// Write implements invoke.StreamWriter.
func (us *urlStream) Write(p []byte) (int, error) {
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.closed {
		return 0, errors.New("function URL response closed")
	}
	return us.write(p)
}

// write passes p on; us.mu is held.
func (us *urlStream) write(p []byte) (int, error) {
	if us.failed {
		return 0, errors.New("function URL response failed")
	}
	if !us.started {
		if !us.integration {
			us.begin(&urlResponse{Status: http.StatusOK, Headers: http.Header{"Content-Type": {us.contentType()}}})
		} else {
			us.prelude = append(us.prelude, p...)
			i := bytes.Index(us.prelude, preludeEnd)
			if i < 0 {
				if len(us.prelude) > maxPrelude {
					us.failed = true
					return 0, errors.New("function URL response prelude too large")
				}
				return len(p), nil
			}
			out, err := parsePrelude(us.prelude[:i])
			if err != nil {
				us.failed = true
				return 0, err
			}
			rest := us.prelude[i+len(preludeEnd):]
			us.prelude = nil
			us.begin(out)
			if len(rest) > 0 && bodyAllowed(out.Status) {
				if _, err := us.w.Write(rest); err != nil {
					return 0, err
				}
			}
			return len(p), nil
		}
	}
	return us.w.Write(p)
}

// Flush implements invoke.StreamWriter.
func (us *urlStream) Flush() error {
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.closed || !us.started {
		return nil
	}
	return us.rc.Flush()
}

// parsePrelude reads the status, headers and cookies that start an
// integration response.
func parsePrelude(b []byte) (*urlResponse, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || dec.More() {
		return nil, errBadResponse
	}
	out, err := responseMeta(obj)
	if err != nil {
		return nil, err
	}
	if out.Headers.Get("Content-Type") == "" {
		out.Headers.Set("Content-Type", "application/octet-stream")
	}
	return out, nil
}

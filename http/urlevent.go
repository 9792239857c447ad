package http

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A function URL hands its function the request as an event of API
// Gateway's payload format 2.0, and turns what the function returns into
// the HTTP response.
// (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html)

// urlRequest is what a function URL's event is built from.
type urlRequest struct {
	Method string
	// RawPath and RawQuery are the path and query as the client wrote
	// them (still percent-encoded), without a path prefix the URL was
	// reached under.
	RawPath  string
	RawQuery string
	Proto    string
	// Host is the Host header as sent; Header the other headers.
	Host   string
	Header http.Header
	Body   []byte
	// SourceIP is the client's address; Port the listener's port.
	SourceIP string
	Port     string
	// URLID and DomainName identify the URL.
	URLID      string
	DomainName string
	// Caller is the verified signer of an AWS_IAM URL's request, nil for
	// a NONE URL.
	Caller *urlCaller
	// RequestID is the invocation's request ID; TraceID its X-Ray header.
	RequestID string
	TraceID   string
	Time      time.Time
}

// urlCaller is the IAM identity of a signed request.
type urlCaller struct {
	AccessKey string
	Account   string
	// ARN and UserID are the principal's (lambdahost.Caller.PrincipalARN
	// and PrincipalID).
	ARN    string
	UserID string
}

// urlEvent is the event, members in AWS's order.
type urlEvent struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        urlContext        `json:"requestContext"`
	Body                  *string           `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type urlContext struct {
	AccountID    string         `json:"accountId"`
	APIID        string         `json:"apiId"`
	Authorizer   *urlAuthorizer `json:"authorizer,omitempty"`
	DomainName   string         `json:"domainName"`
	DomainPrefix string         `json:"domainPrefix"`
	HTTP         urlHTTP        `json:"http"`
	RequestID    string         `json:"requestId"`
	RouteKey     string         `json:"routeKey"`
	Stage        string         `json:"stage"`
	Time         string         `json:"time"`
	TimeEpoch    int64          `json:"timeEpoch"`
}

type urlAuthorizer struct {
	IAM urlIAM `json:"iam"`
}

type urlIAM struct {
	AccessKey       string `json:"accessKey"`
	AccountID       string `json:"accountId"`
	CallerID        string `json:"callerId"`
	CognitoIdentity any    `json:"cognitoIdentity"`
	PrincipalOrgID  any    `json:"principalOrgId"`
	UserArn         string `json:"userArn"`
	UserID          string `json:"userId"`
}

type urlHTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// urlTimeFormat is requestContext.time's layout.
const urlTimeFormat = "02/Jan/2006:15:04:05 -0700"

// hopByHop are the headers that belong to one connection: a URL does not
// pass them on, in either direction.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true,
}

// buildURLEvent builds the event for req as AWS builds it:
//   - headers lower-cased, repeated ones joined with ",", cookies moved to
//     "cookies", hop-by-hop headers dropped; the URL adds x-amzn-trace-id,
//     x-forwarded-for (the client, after any it sent), x-forwarded-port and
//     x-forwarded-proto;
//   - queryStringParameters decoded, a repeated key's values joined with
//     ",", absent without a query;
//   - requestContext.http.path the raw path, not decoded; accountId
//     "anonymous", or the signer's account with authorizer.iam for AWS_IAM;
//   - body absent when empty, as it is for text (text/*, JSON) in UTF-8,
//     base64 with isBase64Encoded otherwise.
func buildURLEvent(req *urlRequest) ([]byte, error) {
	ev := urlEvent{
		Version: "2.0", RouteKey: "$default", RawPath: req.RawPath, RawQueryString: req.RawQuery,
		Headers: map[string]string{},
		RequestContext: urlContext{
			AccountID: "anonymous", APIID: req.URLID, DomainName: req.DomainName, DomainPrefix: req.URLID,
			HTTP: urlHTTP{
				Method: req.Method, Path: req.RawPath, Protocol: req.Proto, SourceIP: req.SourceIP,
				UserAgent: strings.Join(req.Header.Values("User-Agent"), ","),
			},
			RequestID: req.RequestID, RouteKey: "$default", Stage: "$default",
			Time: req.Time.UTC().Format(urlTimeFormat), TimeEpoch: req.Time.UnixMilli(),
		},
	}
	for name, values := range req.Header {
		name = strings.ToLower(name)
		switch {
		case hopByHop[name]:
			continue
		case name == "cookie":
			ev.Cookies = append(ev.Cookies, splitCookies(values)...)
			continue
		}
		v := strings.Join(values, ",")
		if prev, ok := ev.Headers[name]; ok {
			// Two spellings of one name ("Foo" and "foo" in a map built
			// by hand): join them too.
			v = prev + "," + v
		}
		ev.Headers[name] = v
	}
	ev.Headers["host"] = req.Host
	if _, ok := ev.Headers["x-amzn-trace-id"]; !ok && req.TraceID != "" {
		ev.Headers["x-amzn-trace-id"] = req.TraceID
	}
	if xff := ev.Headers["x-forwarded-for"]; xff != "" {
		ev.Headers["x-forwarded-for"] = xff + ", " + req.SourceIP
	} else {
		ev.Headers["x-forwarded-for"] = req.SourceIP
	}
	ev.Headers["x-forwarded-port"] = req.Port
	ev.Headers["x-forwarded-proto"] = "http"
	if req.RawQuery != "" {
		ev.QueryStringParameters = queryParameters(req.RawQuery)
	}
	if c := req.Caller; c != nil {
		ev.RequestContext.AccountID = c.Account
		ev.RequestContext.Authorizer = &urlAuthorizer{IAM: urlIAM{
			AccessKey: c.AccessKey, AccountID: c.Account, CallerID: c.UserID, UserArn: c.ARN, UserID: c.UserID,
		}}
	}
	if len(req.Body) > 0 {
		var body string
		if textual(req.Header.Get("Content-Type")) && utf8.Valid(req.Body) {
			body = string(req.Body)
		} else {
			body = base64.StdEncoding.EncodeToString(req.Body)
			ev.IsBase64Encoded = true
		}
		ev.Body = &body
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return nil, fmt.Errorf("encode function URL event: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// splitCookies splits Cookie headers into their "name=value" pairs.
func splitCookies(headers []string) []string {
	var out []string
	for _, h := range headers {
		for _, c := range strings.Split(h, ";") {
			if c = strings.TrimSpace(c); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// queryParameters decodes a raw query string into the event's
// queryStringParameters. A pair whose escapes do not decode is kept as
// written.
func queryParameters(raw string) map[string]string {
	out := map[string]string{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = unescapeQuery(k), unescapeQuery(v)
		if prev, ok := out[k]; ok {
			v = prev + "," + v
		}
		out[k] = v
	}
	return out
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// textual reports whether a body of contentType reaches the function as
// text: text/* and JSON; anything else (forms and multipart included) is
// base64-encoded, as AWS does.
func textual(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json"
}

// urlResponse is an HTTP response a function's result maps to.
type urlResponse struct {
	Status  int
	Headers http.Header
	Cookies []string
	Body    []byte
}

// errBadResponse is a function result that is no valid response: the URL
// answers 502.
var errBadResponse = errors.New("function URL: the function's response is not a valid HTTP response")

// mapURLResponse maps what a function returned to the HTTP response, as
// AWS does: an object with statusCode is a response (statusCode, headers,
// cookies, body, isBase64Encoded); any other JSON value is a 200
// application/json body, compacted, a string without its quotes. The
// Content-Type defaults to application/json.
func mapURLResponse(payload []byte) (*urlResponse, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, errBadResponse
	}
	out := &urlResponse{Status: http.StatusOK, Headers: http.Header{}}
	obj, isObject := v.(map[string]any)
	if _, ok := obj["statusCode"]; !isObject || !ok {
		if s, ok := v.(string); ok {
			out.Body = []byte(s)
		} else {
			var b bytes.Buffer
			if err := json.Compact(&b, payload); err != nil {
				return nil, errBadResponse
			}
			out.Body = b.Bytes()
		}
		out.Headers.Set("Content-Type", "application/json")
		return out, nil
	}
	meta, err := responseMeta(obj)
	if err != nil {
		return nil, err
	}
	out.Status, out.Headers, out.Cookies = meta.Status, meta.Headers, meta.Cookies
	switch body := obj["body"].(type) {
	case nil:
	case string:
		out.Body = []byte(body)
		if b, _ := obj["isBase64Encoded"].(bool); b {
			if out.Body, err = base64.StdEncoding.DecodeString(body); err != nil {
				return nil, errBadResponse
			}
		}
	default:
		// A body that is not a string is sent as its JSON.
		if out.Body, err = json.Marshal(body); err != nil {
			return nil, errBadResponse
		}
	}
	if out.Headers.Get("Content-Type") == "" {
		out.Headers.Set("Content-Type", "application/json")
	}
	return out, nil
}

// responseMeta reads statusCode, headers and cookies: of a response
// object, or of the prelude of a streamed response.
func responseMeta(obj map[string]any) (*urlResponse, error) {
	out := &urlResponse{Status: http.StatusOK, Headers: http.Header{}}
	switch sc := obj["statusCode"].(type) {
	case nil:
	case json.Number:
		n, err := strconv.Atoi(sc.String())
		if err != nil {
			return nil, errBadResponse
		}
		out.Status = n
	case string:
		n, err := strconv.Atoi(sc)
		if err != nil {
			return nil, errBadResponse
		}
		out.Status = n
	default:
		return nil, errBadResponse
	}
	if out.Status < 100 || out.Status > 599 {
		return nil, errBadResponse
	}
	switch h := obj["headers"].(type) {
	case nil:
	case map[string]any:
		for k, v := range h {
			if !validHeaderName(k) || hopByHop[strings.ToLower(k)] || strings.EqualFold(k, "Content-Length") {
				continue
			}
			var s string
			switch v := v.(type) {
			case string:
				s = v
			case json.Number:
				s = v.String()
			case bool:
				s = strconv.FormatBool(v)
			case nil:
				continue
			default:
				return nil, errBadResponse
			}
			if strings.ContainsAny(s, "\r\n") {
				return nil, errBadResponse
			}
			out.Headers.Set(k, s)
		}
	default:
		return nil, errBadResponse
	}
	switch c := obj["cookies"].(type) {
	case nil:
	case []any:
		for _, x := range c {
			s, ok := x.(string)
			if !ok || strings.ContainsAny(s, "\r\n") {
				return nil, errBadResponse
			}
			out.Cookies = append(out.Cookies, s)
		}
	default:
		return nil, errBadResponse
	}
	return out, nil
}

// validHeaderName reports whether k is an HTTP field name (RFC 9110 token).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

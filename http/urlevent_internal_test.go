package http

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzURLEvent builds the event of a function URL request from hostile
// methods, paths, queries, headers, cookies and bodies, and checks what
// the function would get: a JSON document of the 2.0 format whose raw
// path and query are as sent, whose header names are lower-case and
// whose cookies are the Cookie header's pairs, and whose body decodes
// back to the bytes sent. The result the function returns is then mapped
// to a response, which must be a valid one or errBadResponse.
func FuzzURLEvent(f *testing.F) {
	f.Add("POST", "/pa2%2Fth/1", "q=query&multiQuery=foo&multiQuery=%2Fbar", "ExTrA-HeadErs: With WeiRd CapS\nContent-Type: application/json", "a=1; b=2", []byte(`{"foo": "bar"}`), `{"statusCode":201,"headers":{"X":"1"},"cookies":["c=1"],"body":"x"}`)
	f.Add("GET", "/", "", "", "", []byte(nil), `"hello"`)
	f.Add("PUT", "/%ZZ/../a", "a=%zz&=&&b", "Content-Type: multipart/form-data; boundary=x", ";;", []byte{0, 0xff, 0xfe}, `{"statusCode":"418","body":"AAEC","isBase64Encoded":true}`)
	f.Add("OPTIONS", "/é", "é=ü", "Content-Type: text/plain\nX-Dup: 1\nx-dup: 2", "a=\"b\"", []byte("h\xc3llo"), `[1,2,{"a":null}]`)
	f.Add("DELETE", "/", "", "X-Forwarded-For: 1.2.3.4\nCookie: z=9", "", []byte("<script>&"), `{"statusCode":99}`)
	f.Fuzz(func(t *testing.T, method, rawPath, rawQuery, headers, cookie string, body []byte, result string) {
		h := http.Header{}
		for _, line := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k != "" {
				h[k] = append(h[k], strings.TrimSpace(v))
			}
		}
		if cookie != "" {
			h.Add("Cookie", cookie)
		}
		req := &urlRequest{
			Method: method, RawPath: rawPath, RawQuery: rawQuery, Proto: "HTTP/1.1", Host: "x.lambda-url.us-east-1.localhost:9001",
			Header: h, Body: body, SourceIP: "127.0.0.1", Port: "9001", URLID: "x", DomainName: "x.lambda-url.us-east-1.localhost",
			RequestID: "r", TraceID: "Root=1-x", Time: time.Unix(1700000000, 0),
		}
		b, err := buildURLEvent(req)
		if err != nil {
			t.Fatal(err)
		}
		var ev urlEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("event is not JSON: %v\n%s", err, b)
		}
		valid := func(s string) bool { return utf8.ValidString(s) }
		if ev.Version != "2.0" || ev.RouteKey != "$default" || (valid(rawPath) && ev.RawPath != rawPath) || (valid(rawQuery) && ev.RawQueryString != rawQuery) ||
			(valid(rawPath) && ev.RequestContext.HTTP.Path != rawPath) {
			t.Errorf("event %s does not carry the raw path %q and query %q", b, rawPath, rawQuery)
		}
		for k := range ev.Headers {
			if k != strings.ToLower(k) || k == "cookie" || hopByHop[k] {
				t.Errorf("header %q in the event", k)
			}
		}
		if ev.Headers["host"] != req.Host || ev.Headers["x-forwarded-port"] != "9001" || !strings.HasSuffix(ev.Headers["x-forwarded-for"], "127.0.0.1") {
			t.Errorf("headers %v", ev.Headers)
		}
		pairs := 0
		for _, p := range strings.Split(rawQuery, "&") {
			if p != "" {
				pairs++
			}
		}
		if (pairs == 0) != (len(ev.QueryStringParameters) == 0) {
			t.Errorf("query %q gives queryStringParameters %v", rawQuery, ev.QueryStringParameters)
		}
		wantCookies := splitCookies(h.Values("Cookie"))
		if len(ev.Cookies) != len(wantCookies) {
			t.Errorf("cookies %q from %q", ev.Cookies, h.Values("Cookie"))
		}
		for _, c := range ev.Cookies {
			if c == "" || strings.Contains(c, ";") {
				t.Errorf("cookie %q", c)
			}
		}
		switch {
		case len(body) == 0:
			if ev.Body != nil || ev.IsBase64Encoded {
				t.Errorf("an empty body gives body %v, isBase64Encoded %v", ev.Body, ev.IsBase64Encoded)
			}
		case ev.IsBase64Encoded:
			got, err := base64.StdEncoding.DecodeString(*ev.Body)
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("base64 body does not decode to the body sent")
			}
		default:
			if ev.Body == nil || *ev.Body != string(body) {
				t.Errorf("text body %v, sent %q", ev.Body, body)
			}
		}

		out, err := mapURLResponse([]byte(result))
		if err != nil {
			if err != errBadResponse {
				t.Fatalf("mapURLResponse: %v", err)
			}
			return
		}
		if out.Status < 100 || out.Status > 599 || out.Headers.Get("Content-Type") == "" {
			t.Errorf("response %d %v from %q", out.Status, out.Headers, result)
		}
		for k, vs := range out.Headers {
			for _, v := range vs {
				if !validHeaderName(k) || strings.ContainsAny(v, "\r\n") {
					t.Errorf("header %q: %q from %q", k, v, result)
				}
			}
		}
	})
}

func TestURLAddress(t *testing.T) {
	tests := []struct {
		host, target     string
		id, region, path string
		ok               bool
	}{
		{"abc.lambda-url.us-east-1.localhost:9001", "/a%2Fb?x", "abc", "us-east-1", "/a%2Fb", true},
		{"ABC.Lambda-URL.eu-west-1.on.aws", "/", "abc", "eu-west-1", "/", true},
		{"127.0.0.1:9001", "/lambda-url/ABC/x/y?z", "abc", "", "/x/y", true},
		{"127.0.0.1:9001", "/lambda-url/abc", "abc", "", "/", true},
		{"127.0.0.1:9001", "/2015-03-31/functions", "", "", "", false},
		{"lambda-url.localhost", "/", "", "", "", false},
	}
	for _, tt := range tests {
		r, err := http.NewRequest("GET", "http://"+tt.host+tt.target, nil)
		if err != nil {
			t.Fatal(err)
		}
		id, region, path, ok := urlAddress(r)
		if id != tt.id || region != tt.region || path != tt.path || ok != tt.ok {
			t.Errorf("%s%s: %q %q %q %v, want %q %q %q %v", tt.host, tt.target, id, region, path, ok, tt.id, tt.region, tt.path, tt.ok)
		}
	}
}

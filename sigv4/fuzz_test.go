package sigv4_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Parts of a request FuzzVerify changes one byte of.
const (
	partPath = iota
	partQuery
	partHeaders
	partBody
	numParts
)

// view is what a handler sees of a request: if a changed request verifies,
// its view must equal the original's. Equivalent spellings (%3a for %3A,
// header name case, an unsigned header, the body under UNSIGNED-PAYLOAD,
// whitespace around header values, which SigV4 trims, and runs of spaces
// inside them, which it collapses) may differ; meaning may not. A signed
// header's inner spacing is therefore not protected by SigV4 itself, on
// AWS as here: handlers must not give it meaning.
type view struct {
	Method  string
	Path    string
	Query   url.Values
	Headers map[string][]string
	Body    string
}

// signedHeaders lists the headers the client signed; the others are not
// part of the view.
var signedHeaders = []string{"Content-Length", "Content-Type", "X-Amz-Content-Sha256", "X-Amz-Date",
	"X-Amz-Invocation-Type", "X-Amz-Log-Type", "X-Amz-Client-Context", "X-Custom"}

// viewOf returns the view of r, reading its body and replacing it with a
// copy. It fails if the body is shorter than its Content-Length.
func viewOf(r *http.Request) (view, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return view{}, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	v := view{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Headers: map[string][]string{"Host": {strings.TrimSpace(r.Host)}}, Body: string(body)}
	for _, h := range signedHeaders {
		for _, hv := range r.Header.Values(h) {
			v.Headers[h] = append(v.Headers[h], collapseSpaces(hv))
		}
	}
	if r.Header.Get("X-Amz-Content-Sha256") == "UNSIGNED-PAYLOAD" {
		v.Body = "" // Not signed, so free to change.
	}
	return v, nil
}

// collapseSpaces trims v and collapses each run of spaces to one, as
// SigV4's canonical header value does.
func collapseSpaces(v string) string {
	var b strings.Builder
	space := false
	for _, c := range []byte(strings.TrimSpace(v)) {
		if c == ' ' && space {
			continue
		}
		space = c == ' '
		b.WriteByte(c)
	}
	return b.String()
}

// split cuts wire bytes into the request line before the path, the path,
// the query (with its '?'), the rest of the request line, the headers
// and the body.
func split(wire string) (pre, path, query, proto, headers, body string) {
	line, rest, _ := strings.Cut(wire, "\r\n")
	method, target, _ := strings.Cut(line, " ")
	target, proto, _ = strings.Cut(target, " ")
	path, query, ok := strings.Cut(target, "?")
	if ok {
		query = "?" + query
	}
	headers, body, _ = strings.Cut(rest, "\r\n\r\n")
	return method + " ", path, query, " " + proto + "\r\n", headers, body
}

// FuzzVerify changes one byte of the path, query, headers or body of a
// correctly signed request. The result must not verify unless it means
// the same to a handler as the original.
func FuzzVerify(f *testing.F) {
	signed := signedSDKRequests(f)
	names := make([]string, len(sdkRequests))
	for i, tt := range sdkRequests {
		names[i] = tt.name
		for part := range numParts {
			f.Add(uint8(i), uint8(part), uint16(0), byte('x'))
			f.Add(uint8(i), uint8(part), uint16(7), byte('%'))
		}
		// Regressions: a Content-Length longer than the body, and a tab
		// for the space before the Host value (equivalent, so it verifies).
		_, _, _, _, headers, _ := split(string(signed[tt.name]))
		if j := strings.Index(headers, "Content-Length: "); j >= 0 {
			f.Add(uint8(i), uint8(partHeaders), uint16(j+len("Content-Length: ")), byte('9'))
		}
		f.Add(uint8(i), uint8(partHeaders), uint16(strings.Index(headers, "Host: ")+len("Host:")), byte('\t'))
	}
	f.Fuzz(func(t *testing.T, req, part uint8, pos uint16, b byte) {
		name := names[int(req)%len(names)]
		wire := string(signed[name])
		pre, path, query, proto, headers, body := split(wire)
		field := []*string{&path, &query, &headers, &body}[int(part)%numParts]
		if len(*field) == 0 {
			return
		}
		i := int(pos) % len(*field)
		if (*field)[i] == b {
			return
		}
		*field = (*field)[:i] + string([]byte{b}) + (*field)[i+1:]
		tampered := pre + path + query + proto + headers + "\r\n\r\n" + body

		r, err := http.ReadRequest(bufioReader(tampered))
		if err != nil {
			return // The server would answer 400.
		}
		after, err := viewOf(r)
		if err != nil {
			return // The body is cut short; the server would fail reading it.
		}
		if _, err := verify(newVerifier(testTime), r); err != nil {
			return
		}
		before, err := viewOf(parseWire(t, signed[name]))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("changed request verified (-original +changed):\n%s\n%s", diff, tampered)
		}
	})
}

package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// wirePath returns the request path exactly as the client sent it, still
// percent-encoded: the signers hash the path they put on the wire, so
// re-encoding a decoded path could differ from it (%7E versus ~, say).
// Server requests carry it in RequestURI; a request built in-process falls
// back to URL.EscapedPath.
func wirePath(r *http.Request) string {
	if u := r.RequestURI; u != "" && u[0] == '/' {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return u
	}
	return r.URL.EscapedPath()
}

// canonicalURIs returns the canonical URI of a wire path, and a second
// candidate if the path is not already normalized.
//
// Services other than S3 sign the wire path URI-encoded once more ("double
// encoding"): a client that sends /functions/arn%3Aaws%3A... signs
// /functions/arn%253Aaws%253A.... aws-sdk-go-v2 encodes the path as is,
// while botocore first removes dot segments and empty segments (as AWS
// does when it verifies). The two agree on every path Lambda clients build;
// for the odd path where they differ, both forms are tried.
func canonicalURIs(path string) []string {
	if path == "" {
		path = "/"
	}
	exact := uriEncode(path, true)
	if norm := removeDotSegments(path); norm != path {
		return []string{exact, uriEncode(norm, true)}
	}
	return []string{exact}
}

// removeDotSegments normalizes a path the way botocore does: "." and empty
// segments are dropped, ".." removes the segment before it, and a trailing
// slash is kept if any segment remains.
func removeDotSegments(path string) string {
	if path == "" {
		return ""
	}
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	var b strings.Builder
	if path[0] == '/' {
		b.WriteByte('/')
	}
	b.WriteString(strings.Join(out, "/"))
	if path[len(path)-1] == '/' && len(out) > 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// canonicalQuery returns the canonical query string of the decoded query
// values: name and value URI-encoded, sorted by name and then value, and
// joined as name=value with '&'. A parameter without a value becomes
// "name=". With presigned set, X-Amz-Signature is left out, since it
// cannot sign itself.
func canonicalQuery(values url.Values, presigned bool) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range values {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		ek := uriEncode(k, false)
		for _, v := range vs {
			pairs = append(pairs, pair{ek, uriEncode(v, false)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// uriEncode percent-encodes s as SigV4 requires: the RFC 3986 unreserved
// characters A-Z a-z 0-9 - _ . ~ stay, every other byte becomes %XX with
// uppercase hex (so a space is %20, never +). With keepSlash, '/' stays too.
func uriEncode(s string, keepSlash bool) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && (s[i] != '/' || !keepSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (c == '/' && keepSlash) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// writeCanonicalHeaders writes one "name:value\n" line per signed header,
// in the order SignedHeaders lists them and with the names as listed, so
// that the result is exactly what the signer hashed. Values are trimmed,
// runs of spaces collapse to one, and repeated headers join with ','.
// A signed header the request lacks gives an empty value, and so a
// signature mismatch.
func writeCanonicalHeaders(b *strings.Builder, r *http.Request, names []string) {
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headerValues(r, strings.ToLower(name)) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeTrimmed(b, v)
		}
		b.WriteByte('\n')
	}
}

// headerValues returns the values of the lowercase header name. Go moves
// three headers out of Header when it parses a request, so they are put
// back from where it keeps them: Host (into Request.Host), Content-Length
// (into ContentLength, when the header is not kept) and Transfer-Encoding.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		if r.Host != "" {
			return []string{r.Host}
		}
		return []string{r.URL.Host}
	case "content-length":
		if vs := r.Header.Values("Content-Length"); len(vs) > 0 {
			return vs
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	case "transfer-encoding":
		if vs := r.Header.Values("Transfer-Encoding"); len(vs) > 0 {
			return vs
		}
		return r.TransferEncoding
	}
	return r.Header.Values(name)
}

// writeTrimmed writes v without leading and trailing whitespace and with
// each run of spaces collapsed to one, as aws-sdk-go-v2 does.
func writeTrimmed(b *strings.Builder, v string) {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(v[i])
	}
}

// signingKey derives the key that signs requests for one day, region and
// service:
//
//	kDate    = HMAC("AWS4" + secret, date)
//	kRegion  = HMAC(kDate, region)
//	kService = HMAC(kRegion, service)
//	kSigning = HMAC(kService, "aws4_request")
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

package sigv4

import (
	"strings"
)

// algorithm is the only signing algorithm lambdahost accepts. SigV4a
// (AWS4-ECDSA-P256-SHA256) is for multi-region endpoints and is not used
// by Lambda clients.
const algorithm = "AWS4-HMAC-SHA256"

// authorization is an Authorization header split into its parts:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123...
//
// An empty field was not given (or given empty).
type authorization struct {
	Algorithm     string
	Credential    string
	SignedHeaders string
	Signature     string
}

// parseAuthorization splits an Authorization header value. Parameters may
// be separated by commas, whitespace or both, as AWS accepts. Unknown
// parameters are ignored. It fails with IncompleteSignatureException only
// for a parameter without '=' or a parameter given twice; missing
// parameters are reported by the caller, which knows about the date too.
//
// A scheme that is not AWS's ("Bearer eyJ...", "Basic dXNlcg==") is not
// parsed further, so that the caller reports every parameter missing, as
// AWS does.
func parseAuthorization(header string) (authorization, error) {
	var a authorization
	s := strings.TrimLeft(header, " \t")
	i := strings.IndexAny(s, " \t,")
	if i < 0 {
		a.Algorithm = s
		return a, nil
	}
	a.Algorithm, s = s[:i], s[i:]
	if !strings.HasPrefix(a.Algorithm, "AWS4") {
		return a, nil
	}
	var seen [3]bool
	for _, tok := range strings.FieldsFunc(s, isAuthSeparator) {
		key, value, ok := strings.Cut(tok, "=")
		if !ok {
			return authorization{}, errorf(IncompleteSignatureException, fmtMissingEqualSign, tok, header)
		}
		var field *string
		var n int
		switch key {
		case "Credential":
			field, n = &a.Credential, 0
		case "SignedHeaders":
			field, n = &a.SignedHeaders, 1
		case "Signature":
			field, n = &a.Signature, 2
		default:
			continue
		}
		if seen[n] {
			return authorization{}, errorf(IncompleteSignatureException, fmtDuplicateParameter, key, header)
		}
		seen[n] = true
		*field = value
	}
	return a, nil
}

func isAuthSeparator(r rune) bool { return r == ',' || r == ' ' || r == '\t' }

// String formats a as the SDKs do. Parsing the result gives a back for
// any a that parseAuthorization returned.
func (a authorization) String() string {
	var b strings.Builder
	b.WriteString(a.Algorithm)
	sep := " "
	for _, p := range [...]struct{ k, v string }{
		{"Credential", a.Credential},
		{"SignedHeaders", a.SignedHeaders},
		{"Signature", a.Signature},
	} {
		if p.v == "" {
			continue
		}
		b.WriteString(sep)
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
		sep = ", "
	}
	return b.String()
}

// missing returns the names of the required parameters that are empty, in
// the order AWS lists them.
func (a authorization) missing() []string {
	var m []string
	if a.Credential == "" {
		m = append(m, "Credential")
	}
	if a.Signature == "" {
		m = append(m, "Signature")
	}
	if a.SignedHeaders == "" {
		m = append(m, "SignedHeaders")
	}
	return m
}

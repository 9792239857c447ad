package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// amzDateLayout is ISO 8601 basic format, the form of X-Amz-Date.
	amzDateLayout = "20060102T150405Z"
	// scopeDateLayout is the date element of the credential scope.
	scopeDateLayout = "20060102"
	// unsignedPayload in X-Amz-Content-Sha256 says the body is not signed.
	unsignedPayload = "UNSIGNED-PAYLOAD"
	// streamingPrefix starts the X-Amz-Content-Sha256 values of chunked
	// signing (STREAMING-AWS4-HMAC-SHA256-PAYLOAD and friends).
	streamingPrefix = "STREAMING-"
	// maxPresignExpires is the longest X-Amz-Expires AWS accepts: a week.
	maxPresignExpires = 7 * 24 * time.Hour
)

// DefaultMaxSkew is the clock skew Verifier allows when MaxSkew is zero.
// AWS answers with 15 minutes in most services' messages (Lambda has also
// been seen with 5).
const DefaultMaxSkew = 15 * time.Minute

// Verifier checks SigV4 signatures on requests. Its fields are read, never
// written, so one Verifier may serve concurrent requests.
//
// A request that carries a session token (the X-Amz-Security-Token header,
// or query parameter of a presigned URL) is signed with temporary
// credentials: its access key and token are checked together by
// LookupSession, never by Lookup, so that a token cannot be added to a
// permanent key or left off a temporary one.
type Verifier struct {
	// Lookup returns the credential for an access key ID, or ok=false if
	// the key is unknown. If nil, every key is unknown.
	Lookup func(accessKey string) (cred Credential, ok bool)
	// LookupSession returns the credential of temporary credentials: an
	// access key ID with its session token. It returns an error wrapping
	// ErrTokenExpired for credentials past their expiry, and any other
	// error for a token that is not valid with that key (unknown, forged,
	// revoked). If nil, every session token is refused.
	LookupSession func(accessKey, token string) (Credential, error)
	// Service is the service the credential scope must name, such as
	// "lambda". If empty, any service is accepted.
	Service string
	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
	// MaxSkew is how far the request's date may be from Now, either way.
	// If zero, DefaultMaxSkew (15 minutes) is used.
	MaxSkew time.Duration
}

// Result describes a request whose signature verified.
type Result struct {
	// AccessKey is the access key ID that signed the request.
	AccessKey string
	// Account is the account of the credential, from Lookup.
	Account string
	// Principal and UserID are those of the credential.
	Principal string
	UserID    string
	// Region and Service are from the credential scope.
	Region  string
	Service string
	// Date is when the client signed the request, in UTC.
	Date time.Time
}

// Pending is a request whose headers checked out and whose signature waits
// for the payload hash. Start precomputes the signing key and the canonical
// request up to the payload hash, so Finish costs two SHA-256 passes over a
// few hundred bytes and one HMAC.
type Pending struct {
	result Result
	// key is the derived signing key; it never leaves the Pending.
	key []byte
	// stringToSign is the string to sign up to the canonical request hash.
	stringToSign string
	// canonical holds the canonical request up to the payload hash, one
	// per canonical URI candidate (see canonicalURIs).
	canonical []string
	claimed   string
	presigned bool
	signature string
}

// Start checks everything about r that does not need the body: the
// Authorization header (or presigned query string), the date against the
// clock, the credential scope and the access key. It returns a Pending that
// Finish completes once the body has been read and hashed. Start does not
// read r.Body.
//
// Errors are *Error:
//   - MissingAuthenticationTokenException if r has neither an
//     Authorization header nor an X-Amz-Algorithm query parameter;
//   - IncompleteSignatureException if a required part is missing or
//     malformed, the algorithm is not AWS4-HMAC-SHA256, or the payload is
//     signed in chunks (STREAMING-*), which lambdahost does not support;
//   - InvalidSignatureException if the date is more than MaxSkew from Now,
//     host (or the date header) is not signed, or the scope names another
//     service, a bad terminator or a date other than the request's;
//   - UnrecognizedClientException if Lookup does not know the access key,
//     or LookupSession refuses the access key with its session token;
//   - ExpiredTokenException if LookupSession says the session expired.
func (v *Verifier) Start(r *http.Request) (*Pending, error) {
	header := r.Header.Get("Authorization")
	query, queryErr := url.ParseQuery(r.URL.RawQuery)
	_, presigned := query["X-Amz-Algorithm"]
	hasHeader := strings.TrimSpace(header) != ""
	switch {
	case hasHeader && presigned:
		return nil, &Error{Code: InvalidSignatureException, Message: MessageBothAuthorizations}
	case !hasHeader && !presigned:
		return nil, &Error{Code: MissingAuthenticationTokenException, Message: MessageMissingAuthenticationToken}
	}

	var c claim
	var err error
	if presigned {
		c, err = presignClaim(query)
	} else {
		c, err = headerClaim(r, header)
	}
	if err != nil {
		return nil, err
	}
	if err := v.checkClock(c); err != nil {
		return nil, err
	}
	a, date := c.auth, c.date

	// Signed headers.
	signed := strings.Split(a.SignedHeaders, ";")
	if !containsFold(signed, "host") {
		return nil, &Error{Code: InvalidSignatureException, Message: MessageHostNotSigned}
	}
	switch {
	case c.dateHeader == "x-amz-date" && !containsFold(signed, c.dateHeader):
		return nil, &Error{Code: InvalidSignatureException, Message: MessageDateNotSigned}
	case c.dateHeader == "date" && !containsFold(signed, c.dateHeader):
		return nil, &Error{Code: InvalidSignatureException, Message: MessageHTTPDateNotSigned}
	}

	// Algorithm and scope.
	if a.Algorithm != algorithm {
		return nil, errorf(IncompleteSignatureException, fmtUnsupportedAlg, a.Algorithm)
	}
	scope := strings.Split(strings.TrimRight(a.Credential, "/"), "/")
	if len(scope) != 5 {
		return nil, errorf(IncompleteSignatureException, fmtCredentialElements, a.Credential)
	}
	accessKey, scopeDate, region, service, terminator := scope[0], scope[1], scope[2], scope[3], scope[4]
	var bad []string
	if region == "" {
		bad = append(bad, fmt.Sprintf(fmtScopeRegion, region))
	}
	if v.Service != "" && service != v.Service {
		bad = append(bad, fmt.Sprintf(fmtScopeService, v.Service))
	}
	if terminator != "aws4_request" {
		bad = append(bad, fmt.Sprintf(fmtScopeTerminator, terminator))
	}
	if d := date.Format(scopeDateLayout); scopeDate != d {
		bad = append(bad, fmt.Sprintf(fmtScopeDate, scopeDate, d, date.Format(amzDateLayout)))
	}
	if len(bad) > 0 {
		return nil, &Error{Code: InvalidSignatureException, Message: strings.Join(bad, " ")}
	}

	// Payload.
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	if strings.HasPrefix(claimed, streamingPrefix) {
		return nil, &Error{Code: IncompleteSignatureException, Message: MessageStreamingUnsupported}
	}

	// Access key, and session token.
	cred, err := v.credential(accessKey, sessionToken(r, query, presigned))
	if err != nil {
		return nil, err
	}

	// Canonical request, all but the payload hash. A query that does not
	// decode (a bad %-escape, or ';', which Go refuses as a separator)
	// cannot match: the handler would see other parameters than any
	// signer could have signed.
	if queryErr != nil {
		return nil, &Error{Code: InvalidSignatureException, Message: MessageSignatureMismatch}
	}
	var tail strings.Builder
	tail.WriteString(canonicalQuery(query, presigned))
	tail.WriteByte('\n')
	writeCanonicalHeaders(&tail, r, signed)
	tail.WriteByte('\n')
	tail.WriteString(a.SignedHeaders)
	tail.WriteByte('\n')
	uris := canonicalURIs(wirePath(r))
	canonical := make([]string, len(uris))
	for i, uri := range uris {
		canonical[i] = r.Method + "\n" + uri + "\n" + tail.String()
	}

	return &Pending{
		result: Result{
			AccessKey: accessKey,
			Account:   cred.Account,
			Principal: cred.Principal,
			UserID:    cred.UserID,
			Region:    region,
			Service:   service,
			Date:      date,
		},
		key:          signingKey(cred.Secret, scopeDate, region, service),
		stringToSign: algorithm + "\n" + date.Format(amzDateLayout) + "\n" + strings.Join(scope[1:], "/") + "\n",
		canonical:    canonical,
		claimed:      claimed,
		presigned:    presigned,
		signature:    a.Signature,
	}, nil
}

// credential finds the credential of accessKey, with its session token if
// the request carries one.
func (v *Verifier) credential(accessKey, token string) (Credential, error) {
	if token == "" {
		if v.Lookup != nil {
			if cred, ok := v.Lookup(accessKey); ok {
				return cred, nil
			}
		}
		return Credential{}, &Error{Code: UnrecognizedClientException, Message: MessageUnrecognizedClient}
	}
	if v.LookupSession == nil {
		return Credential{}, &Error{Code: UnrecognizedClientException, Message: MessageUnrecognizedClient}
	}
	cred, err := v.LookupSession(accessKey, token)
	switch {
	case errors.Is(err, ErrTokenExpired):
		return Credential{}, &Error{Code: ExpiredTokenException, Message: MessageExpiredToken}
	case err != nil:
		return Credential{}, &Error{Code: UnrecognizedClientException, Message: MessageUnrecognizedClient}
	}
	return cred, nil
}

// sessionToken returns the session token of a request: the
// X-Amz-Security-Token header, or for a presigned URL its query parameter.
func sessionToken(r *http.Request, query url.Values, presigned bool) string {
	if presigned {
		if t := query.Get("X-Amz-Security-Token"); t != "" {
			return t
		}
	}
	return r.Header.Get("X-Amz-Security-Token")
}

// claim is what a request says about its own signature.
type claim struct {
	auth authorization
	// date is when the client signed the request, in UTC.
	date time.Time
	// dateHeader is the lowercase name of the header the date came from,
	// which must be signed, or "" if it came from the query string.
	dateHeader string
	// expires is the lifetime of a presigned URL (X-Amz-Expires), or -1
	// if the request does not set one.
	expires time.Duration
}

// headerClaim reads the claim of a request signed in its Authorization
// header. The date comes from X-Amz-Date or, failing that, Date.
func headerClaim(r *http.Request, header string) (claim, error) {
	a, err := parseAuthorization(header)
	if err != nil {
		return claim{}, err
	}
	c := claim{auth: a, expires: -1}
	var rawDate string
	switch {
	case r.Header.Get("X-Amz-Date") != "":
		rawDate, c.dateHeader = r.Header.Get("X-Amz-Date"), "x-amz-date"
		c.date, err = parseAmzDate(rawDate)
	case r.Header.Get("Date") != "":
		rawDate, c.dateHeader = r.Header.Get("Date"), "date"
		c.date, err = parseHTTPDate(rawDate)
	}
	if msg := headerMissing(a, rawDate, header); msg != "" {
		return claim{}, &Error{Code: IncompleteSignatureException, Message: msg}
	}
	if err != nil {
		return claim{}, errorf(IncompleteSignatureException, fmtBadDate, rawDate)
	}
	return c, nil
}

// presignClaim reads the claim of a presigned URL from its query.
func presignClaim(query url.Values) (claim, error) {
	c := claim{
		auth: authorization{
			Algorithm:     query.Get("X-Amz-Algorithm"),
			Credential:    query.Get("X-Amz-Credential"),
			SignedHeaders: query.Get("X-Amz-SignedHeaders"),
			Signature:     query.Get("X-Amz-Signature"),
		},
		expires: -1,
	}
	rawDate := query.Get("X-Amz-Date")
	if msg := presignMissing(c.auth, rawDate); msg != "" {
		return claim{}, &Error{Code: IncompleteSignatureException, Message: msg}
	}
	var err error
	if c.date, err = parseAmzDate(rawDate); err != nil {
		return claim{}, errorf(IncompleteSignatureException, fmtBadDate, rawDate)
	}
	if s, ok := query["X-Amz-Expires"]; ok {
		n, err := strconv.ParseInt(s[0], 10, 64)
		switch {
		case err != nil || n < 0:
			return claim{}, &Error{Code: IncompleteSignatureException, Message: MessageExpiresNotNumber}
		case n > int64(maxPresignExpires/time.Second):
			return claim{}, &Error{Code: IncompleteSignatureException, Message: MessageExpiresTooLarge}
		}
		c.expires = time.Duration(n) * time.Second
	}
	return c, nil
}

// checkClock fails if the request is dated more than MaxSkew from now, or,
// for a presigned URL with X-Amz-Expires, if its lifetime has passed.
func (v *Verifier) checkClock(c claim) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew == 0 {
		skew = DefaultMaxSkew
	}
	t := now().UTC()
	e := skewError(c.date, t, skew)
	if c.expires < 0 {
		if e != nil { // Not "return e": a nil *Error is a non-nil error.
			return e
		}
		return nil
	}
	// A presigned URL may be used until it expires, however long after
	// it was signed, but not before it was signed.
	if e != nil && c.date.After(t) {
		return e
	}
	if t.After(c.date.Add(c.expires)) {
		return &Error{Code: InvalidSignatureException, Message: MessagePresignExpired}
	}
	return nil
}

// ClaimedPayloadHash returns the X-Amz-Content-Sha256 header of the
// request, or "" if it has none. It is either "UNSIGNED-PAYLOAD" or the
// hash the client claims for the body; Start has already refused
// STREAMING-* values.
func (p *Pending) ClaimedPayloadHash() string { return p.claimed }

// Finish verifies the signature given payloadHash, the lowercase hex
// SHA-256 of the body exactly as received (of no bytes, for an empty body).
// When ClaimedPayloadHash is "UNSIGNED-PAYLOAD" the body is not part of the
// signature and payloadHash may be that literal instead. Finish may be
// called more than once.
//
// Errors are *Error of type InvalidSignatureException with
// MessageSignatureMismatch if the signature does not match, or if
// X-Amz-Content-Sha256 claims a hash other than payloadHash. A payloadHash
// that is not a SHA-256 in lowercase hex is the caller's bug and gives an
// error that is not an *Error.
func (p *Pending) Finish(payloadHash string) (Result, error) {
	var payloads []string
	switch {
	case p.claimed == unsignedPayload:
		payloads = []string{unsignedPayload}
	case payloadHash == unsignedPayload:
		// The body was not hashed, and the client did not say it may not be.
		return Result{}, &Error{Code: InvalidSignatureException, Message: MessageSignatureMismatch}
	case !isSHA256Hex(payloadHash):
		return Result{}, fmt.Errorf("finish sigv4 verification: payload hash %q is not lowercase hex SHA-256", payloadHash)
	case p.claimed != "":
		if !strings.EqualFold(p.claimed, payloadHash) {
			return Result{}, &Error{Code: InvalidSignatureException, Message: MessageSignatureMismatch}
		}
		payloads = []string{p.claimed}
	case p.presigned:
		// A presigned URL does not say whether its body was signed:
		// aws-sdk-go-v2 signs the hash it is given, botocore UNSIGNED-PAYLOAD.
		payloads = []string{payloadHash, unsignedPayload}
	default:
		payloads = []string{payloadHash}
	}

	want := []byte(p.signature)
	var sum [sha256.Size]byte
	var hexSum, got [2 * sha256.Size]byte
	for _, c := range p.canonical {
		for _, payload := range payloads {
			h := sha256.New()
			h.Write([]byte(c))
			h.Write([]byte(payload))
			hex.Encode(hexSum[:], h.Sum(sum[:0]))
			mac := hmac.New(sha256.New, p.key)
			mac.Write([]byte(p.stringToSign))
			mac.Write(hexSum[:])
			hex.Encode(got[:], mac.Sum(sum[:0]))
			if hmac.Equal(got[:], want) {
				return p.result, nil
			}
		}
	}
	return Result{}, &Error{Code: InvalidSignatureException, Message: MessageSignatureMismatch}
}

// headerMissing returns AWS's IncompleteSignatureException message for an
// Authorization header that lacks parameters or a request with no date,
// or "" if nothing is missing.
func headerMissing(a authorization, rawDate, header string) string {
	missing := a.missing()
	if len(missing) == 0 && rawDate != "" {
		return ""
	}
	var b strings.Builder
	for _, m := range missing {
		fmt.Fprintf(&b, fmtRequiresParameter, m)
	}
	if rawDate == "" {
		b.WriteString(fmtRequiresDate)
	}
	fmt.Fprintf(&b, fmtAuthorizationEcho, header)
	return b.String()
}

// presignMissing returns AWS's IncompleteSignatureException message for a
// presigned query string that lacks parameters, or "" if none is missing.
func presignMissing(a authorization, rawDate string) string {
	var b strings.Builder
	for _, p := range [...]struct{ name, value string }{
		{"X-Amz-Algorithm", a.Algorithm},
		{"X-Amz-Credential", a.Credential},
		{"X-Amz-Signature", a.Signature},
		{"X-Amz-SignedHeaders", a.SignedHeaders},
		{"X-Amz-Date", rawDate},
	} {
		if p.value == "" {
			fmt.Fprintf(&b, fmtQueryRequires, p.name)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	b.WriteString(fmtQueryReexamine)
	return b.String()
}

// parseAmzDate parses an X-Amz-Date value, which must be exactly
// YYYYMMDD'T'HHMMSS'Z': the string to sign repeats it, so only the one
// spelling of each instant is accepted.
func parseAmzDate(s string) (time.Time, error) {
	t, err := time.Parse(amzDateLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Format(amzDateLayout) != s {
		return time.Time{}, fmt.Errorf("parse date %q: not in canonical form", s)
	}
	return t, nil
}

// parseHTTPDate parses a Date header. Besides the formats of
// http.ParseTime it accepts a numeric zone, which botocore sends
// ("Mon, 01 Jan 2024 00:00:00 -0000").
func parseHTTPDate(s string) (time.Time, error) {
	for _, layout := range [...]string{time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse date %q: not an HTTP date", s)
}

func isSHA256Hex(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

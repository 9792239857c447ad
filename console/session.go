package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Sessions are stateless: the cookie holds the access key, the region
// and the expiry, with an HMAC under the console's session key that also
// covers a hash of the access key's secret. Any node sharing the session
// key (derived from the key that signs code URLs, which the nodes of a
// cluster share) accepts it, a restart keeps it, and changing the secret
// of an access key (or removing it from --credentials) ends its sessions.
// Signing out clears the cookie in the browser; a copy of the cookie
// stays valid until it expires (--console-session-ttl).

// cookieName is the session cookie's name.
const cookieName = "lambdahost_console"

// session is a signed-in console user.
type session struct {
	AccessKey string `json:"k"`
	Region    string `json:"r"`
	Expires   int64  `json:"e"`
	// Nonce makes each sign-in's cookie, and CSRF token, its own.
	Nonce string `json:"n"`

	// account is the access key's account; cookie is the cookie's value,
	// which the CSRF token is derived from. Neither is in the cookie.
	account string
	cookie  string
}

// sessionMAC returns the MAC of a cookie's payload for an access key
// whose secret is secret.
func (s *Server) sessionMAC(payload, secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	m := hmac.New(sha256.New, s.sessionKey)
	m.Write([]byte("session\x00"))
	m.Write([]byte(payload))
	m.Write([]byte{0})
	m.Write(sum[:])
	return m.Sum(nil)
}

// encodeSession returns the cookie value of ss, signed for secret.
func (s *Server) encodeSession(ss *session, secret string) string {
	b, _ := json.Marshal(ss)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.sessionMAC(payload, secret))
}

var errNoSession = errors.New("not signed in")

// sessionOf returns the session of r's cookie, if it is valid: its MAC
// verifies for its access key's current secret, and it has not expired.
func (s *Server) sessionOf(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, errNoSession
	}
	payload, mac, ok := strings.Cut(c.Value, ".")
	if !ok {
		return nil, errNoSession
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, errNoSession
	}
	var ss session
	if err := json.Unmarshal(b, &ss); err != nil || ss.AccessKey == "" || ss.Region == "" {
		return nil, errNoSession
	}
	cred, ok := s.Credentials(ss.AccessKey)
	if !ok {
		return nil, errNoSession
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, s.sessionMAC(payload, cred.Secret)) {
		return nil, errNoSession
	}
	if s.now().Unix() >= ss.Expires {
		return nil, errNoSession
	}
	ss.account, ss.cookie = cred.Account, c.Value
	return &ss, nil
}

// csrfToken is the token that the forms of ss carry.
func (s *Server) csrfToken(ss *session) string {
	m := hmac.New(sha256.New, s.sessionKey)
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(ss.cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether a state-changing request of ss carries its
// token (the csrf form field, or the X-CSRF-Token header of the console's
// scripts) and, if it says where it comes from, comes from this origin.
func (s *Server) checkCSRF(r *http.Request, ss *session) bool {
	if o := r.Header.Get("Origin"); o != "" && o != origin(r) {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.csrfToken(ss))) == 1
}

// origin is the origin r was sent to, as a browser's Origin header names it.
func origin(r *http.Request) string {
	return scheme(r) + "://" + r.Host
}

// scheme is https when r came over TLS, directly or through a proxy that
// says so.
func scheme(r *http.Request) string {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return "https"
	}
	return "http"
}

// setSessionCookie sets (or, with value "", clears) the session cookie:
// HttpOnly, SameSite=Strict, Secure over TLS, for the console's path.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	c := &http.Cookie{
		Name: cookieName, Value: value, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: scheme(r) == "https",
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// signInLimiter slows down guessing: a client address that failed
// maxFailures sign-ins within failureWindow is refused until the window
// passes.
type signInLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	maxFailures   = 10
	failureWindow = 5 * time.Minute
)

func clientIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// blocked reports whether ip has failed too often lately.
func (l *signInLimiter) blocked(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(ip, now)) >= maxFailures
}

// fail counts a failed sign-in of ip.
func (l *signInLimiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil {
		l.failures = map[string][]time.Time{}
	}
	l.failures[ip] = append(l.recent(ip, now), now)
	// Forget addresses whose failures are all old, so that the map stays
	// small.
	if len(l.failures) > 1024 {
		for k := range l.failures {
			if len(l.recent(k, now)) == 0 {
				delete(l.failures, k)
			}
		}
	}
}

// recent returns ip's failures within the window. l.mu is held.
func (l *signInLimiter) recent(ip string, now time.Time) []time.Time {
	var out []time.Time
	for _, t := range l.failures[ip] {
		if now.Sub(t) < failureWindow {
			out = append(out, t)
		}
	}
	return out
}

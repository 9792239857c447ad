package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lambdahost/lambdahost"
)

// codePath is where GetFunction's Code.Location URLs point.
const codePath = "/_lambdahost/code/"

// codeURL returns a time-limited URL from which the caller downloads the
// exact zip c. It is signed with URLKey over the account, the digest, the
// key the code is sealed under and the expiry, so it works without
// credentials until it expires.
func (s *Server) codeURL(r *http.Request, account string, c lambdahost.Code) string {
	d := c.Digest
	ttl := s.URLTTL
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	expires := strconv.FormatInt(s.now().Add(ttl).Unix(), 10)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q := url.Values{"Account": {account}, "Expires": {expires}, "Signature": {s.codeSignature(account, d, c.SealedWith, expires)}}
	if c.SealedWith != "" {
		q.Set("Key", c.SealedWith)
	}
	return scheme + "://" + r.Host + codePath + d.Hex() + "?" + q.Encode()
}

func (s *Server) codeSignature(account string, d lambdahost.Digest, key, expires string) string {
	m := hmac.New(sha256.New, s.URLKey)
	if key == "" {
		io.WriteString(m, account+"\n"+d.Hex()+"\n"+expires)
	} else {
		io.WriteString(m, account+"\n"+d.Hex()+"\n"+key+"\n"+expires)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// handleGetCode serves a code download URL.
func (s *Server) handleGetCode(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, err := lambdahost.ParseDigestHex(r.PathValue("Digest"))
	expires, expErr := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if err != nil || expErr != nil || len(s.URLKey) == 0 ||
		!hmac.Equal([]byte(q.Get("Signature")), []byte(s.codeSignature(q.Get("Account"), d, q.Get("Key"), q.Get("Expires")))) {
		http.Error(w, "AccessDenied: the URL signature is not valid", http.StatusForbidden)
		return
	}
	if s.now().Unix() > expires {
		http.Error(w, "AccessDenied: Request has expired", http.StatusForbidden)
		return
	}
	b, err := s.service.OpenCode(r.Context(), lambdahost.Code{Digest: d, SealedWith: q.Get("Key")})
	if errors.Is(err, lambdahost.ErrBlobNotFound) {
		http.Error(w, "NoSuchKey: The specified key does not exist.", http.StatusNotFound)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer b.Close()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("ETag", `"`+d.Hex()+`"`)
	http.ServeContent(w, r, "", time.Time{}, b)
}

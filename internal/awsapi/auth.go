package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sigv4"
)

// DefaultMaxBody bounds a buffered body when Auth.MaxBody is zero: 6 MB,
// the largest body the Lambda API takes besides code (Invoke's payload).
const DefaultMaxBody = 6 << 20

// Auth authenticates the requests of one service with SigV4: a request
// runs its handler only once its signature, body included, verifies, and
// the handler finds the caller with lambdahost.CallerFrom. Failures are
// answered by WriteError, in the service's protocol.
type Auth struct {
	// Verifier knows the credentials and the clock. Its Service is
	// replaced by Auth's.
	Verifier *sigv4.Verifier
	// Service is the signing name the credential scope must name ("kms").
	// If empty, the Verifier's.
	Service string
	// WriteError answers a request that fails authentication.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
	// MaxBody bounds what Buffered reads. If zero, DefaultMaxBody.
	MaxBody int
	// TooLarge returns the answer to a body over MaxBody. If nil,
	// RequestEntityTooLargeException naming Operation(r).
	TooLarge func(r *http.Request, limit int) error
}

func (a *Auth) verifier() *sigv4.Verifier {
	v := a.Verifier
	if a.Service != "" && v != nil && v.Service != a.Service {
		c := *v
		c.Service = a.Service
		v = &c
	}
	return v
}

func (a *Auth) tooLarge(r *http.Request, limit int) error {
	if a.TooLarge != nil {
		return a.TooLarge(r, limit)
	}
	return lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Request must be smaller than %d bytes for the %s operation", limit, Operation(r))
}

// authError turns a sigv4 error into an API error of the same type and
// message, as AWS's front door answers them.
func authError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		e := lambdahost.Errorf(lambdahost.ErrorType(se.Code), "%s", se.Message)
		e.Err = err
		return e
	}
	return err
}

// withResult returns ctx carrying the caller of a verified request: its
// account, and for temporary credentials the principal they act as.
func withResult(ctx context.Context, res sigv4.Result) context.Context {
	return lambdahost.WithCaller(ctx, lambdahost.Caller{AccessKey: res.AccessKey, Account: res.Account, Region: res.Region,
		ARN: res.Principal, UserID: res.UserID})
}

// Buffered wraps h so that it runs only for a request whose signature
// verifies. The body is read whole (up to MaxBody) and verified before h
// runs; h reads it from r.Body, or takes it with Body.
func (a *Auth) Buffered(h http.HandlerFunc) http.HandlerFunc {
	v := a.verifier()
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := v.Start(r)
		if err != nil {
			a.WriteError(w, r, authError(err))
			return
		}
		limit := a.MaxBody
		if limit <= 0 {
			limit = DefaultMaxBody
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
		if err != nil {
			a.WriteError(w, r, lambdahost.Errorf(lambdahost.InvalidRequestContentException, "Could not read request body."))
			return
		}
		if len(body) > limit {
			a.WriteError(w, r, a.tooLarge(r, limit))
			return
		}
		sum := sha256.Sum256(body)
		res, err := p.Finish(hex.EncodeToString(sum[:]))
		if err != nil {
			a.WriteError(w, r, authError(err))
			return
		}
		r.Body = &verifiedBody{Reader: bytes.NewReader(body), data: body}
		h(w, r.WithContext(withResult(r.Context(), res)))
	}
}

// verifiedBody is a body that Buffered has read and verified, kept whole
// so that a handler wanting all of it (Invoke's payload) need not copy it.
type verifiedBody struct {
	*bytes.Reader
	data []byte
}

func (*verifiedBody) Close() error { return nil }

// Body returns the body Buffered read for r. It panics for a request that
// Buffered did not wrap: a programming error.
func Body(r *http.Request) []byte {
	if b, ok := r.Body.(*verifiedBody); ok {
		return b.data
	}
	panic("awsapi: Body on a request that Buffered did not read")
}

// streamAuth is the authentication state of a request whose body is
// streamed: verification completes when the body ends.
type streamAuth struct {
	p      *sigv4.Pending
	body   io.ReadCloser
	h      hash.Hash
	result *sigv4.Result
	err    error
}

// Read hashes what it reads; at the end of the body it verifies the
// signature and returns the verification error instead of io.EOF.
func (s *streamAuth) Read(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.body.Read(b)
	s.h.Write(b[:n])
	if err == io.EOF {
		res, ferr := s.p.Finish(hex.EncodeToString(s.h.Sum(nil)))
		if ferr != nil {
			s.err = authError(ferr)
			return n, s.err
		}
		s.result = &res
	}
	return n, err
}

func (s *streamAuth) Close() error { return s.body.Close() }

type streamAuthKey struct{}

// Streamed wraps h for operations whose large body is handled as it
// arrives (Lambda's code uploads): everything but the body is checked
// before h runs, the body is verified as h reads it, and h must call
// VerifiedContext after reading the whole body and before acting on the
// request.
func (a *Auth) Streamed(h http.HandlerFunc) http.HandlerFunc {
	v := a.verifier()
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := v.Start(r)
		if err != nil {
			a.WriteError(w, r, authError(err))
			return
		}
		s := &streamAuth{p: p, body: r.Body, h: sha256.New()}
		r.Body = s
		h(w, r.WithContext(context.WithValue(r.Context(), streamAuthKey{}, s)))
	}
}

// VerifiedContext returns the context of a request Streamed wrapped, with
// its verified caller, or the authentication error. It is only valid once
// r.Body has been read to its end: before, nothing may act on the request.
func VerifiedContext(r *http.Request) (context.Context, error) {
	s, ok := r.Context().Value(streamAuthKey{}).(*streamAuth)
	if !ok {
		return r.Context(), errors.New("request was not wrapped by Streamed")
	}
	if s.err != nil {
		return r.Context(), s.err
	}
	if s.result == nil {
		return r.Context(), errors.New("request body not fully read before use")
	}
	return withResult(r.Context(), *s.result), nil
}

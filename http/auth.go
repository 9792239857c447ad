package http

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

// maxSmallBody bounds the bodies of operations other than those that carry
// code. The largest such body AWS takes is Invoke's 6 MB payload.
const maxSmallBody = 6 << 20

// authError turns a sigv4 error into an API error.
func authError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		e := lambdahost.Errorf(lambdahost.ErrorType(se.Code), "%s", se.Message)
		e.Err = err
		return e
	}
	return err
}

// authed wraps h so that it runs only for a request whose signature
// verifies. The body is read (up to maxSmallBody) and verified before h
// runs; h finds the caller in the request context.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return s.authedAs("", h)
}

// authedAs is authed for an operation of another AWS service that
// lambdahost serves on the same listener (AWS Signer, KMS): the
// credential scope must name service instead of the verifier's own.
// An empty service means the verifier's.
func (s *Server) authedAs(service string, h http.HandlerFunc) http.HandlerFunc {
	v := s.verifier
	if service != "" && v != nil {
		c := *v
		c.Service = service
		v = &c
	}
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := v.Start(r)
		if err != nil {
			s.writeError(w, r, authError(err))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxSmallBody+1))
		if err != nil {
			s.writeError(w, r, lambdahost.Errorf(lambdahost.InvalidRequestContentException, "Could not read request body."))
			return
		}
		if len(body) > maxSmallBody {
			s.writeError(w, r, tooLarge(r, maxSmallBody))
			return
		}
		sum := sha256.Sum256(body)
		res, err := p.Finish(hex.EncodeToString(sum[:]))
		if err != nil {
			s.writeError(w, r, authError(err))
			return
		}
		r.Body = &verifiedBody{Reader: bytes.NewReader(body), data: body}
		h(w, r.WithContext(withResult(r.Context(), res)))
	}
}

func withResult(ctx context.Context, res sigv4.Result) context.Context {
	return lambdahost.WithCaller(ctx, lambdahost.Caller{AccessKey: res.AccessKey, Account: res.Account, Region: res.Region,
		ARN: res.Principal, UserID: res.UserID})
}

// streamAuth is the authentication state of a request whose body is
// streamed: verification completes when the body ends.
type streamAuth struct {
	p      *sigv4.Pending
	body   io.ReadCloser
	h      hash.Hash
	n      int64
	result *sigv4.Result
	err    error
}

// Read hashes what it reads; at the end of the body it verifies the
// signature and returns the verification error instead of io.EOF.
func (a *streamAuth) Read(b []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	n, err := a.body.Read(b)
	a.h.Write(b[:n])
	a.n += int64(n)
	if err == io.EOF {
		res, ferr := a.p.Finish(hex.EncodeToString(a.h.Sum(nil)))
		if ferr != nil {
			a.err = authError(ferr)
			return n, a.err
		}
		a.result = &res
	}
	return n, err
}

func (a *streamAuth) Close() error { return a.body.Close() }

// verified returns the context of a verified caller once the body has been
// read to its end, and an error otherwise.
func (a *streamAuth) verified(ctx context.Context) (context.Context, error) {
	if a.err != nil {
		return ctx, a.err
	}
	if a.result == nil {
		// The handler did not read to the end: nothing may act on this request.
		return ctx, errors.New("request body not fully read before use")
	}
	return withResult(ctx, *a.result), nil
}

type streamAuthKey struct{}

// streamed wraps h for operations whose body carries code: the body is
// verified as h reads it, and h must call verifiedContext after reading
// the whole body and before acting on the request.
func (s *Server) streamed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.verifier.Start(r)
		if err != nil {
			s.writeError(w, r, authError(err))
			return
		}
		release, err := s.acquireUpload()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer release()
		a := &streamAuth{p: p, body: r.Body, h: sha256.New()}
		r.Body = a
		h(w, r.WithContext(context.WithValue(r.Context(), streamAuthKey{}, a)))
	}
}

// verifiedContext returns r's context with its verified caller, or the
// authentication error. It is only valid after r.Body has been read to EOF.
func verifiedContext(r *http.Request) (context.Context, error) {
	a, ok := r.Context().Value(streamAuthKey{}).(*streamAuth)
	if !ok {
		return r.Context(), errors.New("request was not wrapped by streamed")
	}
	return a.verified(r.Context())
}

// tooLarge is the answer to a body over limit bytes. Invoke answers with
// its own error type and names itself InvokeFunction, as AWS does.
func tooLarge(r *http.Request, limit int) error {
	switch op := operationOf(r); op {
	case "Invoke", "InvokeWithResponseStream":
		return lambdahost.Errorf(lambdahost.RequestTooLargeException, "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	default:
		return lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Request must be smaller than %d bytes for the %s operation", limit, op)
	}
}

// verifiedBody is a request body that authed has read and verified, kept
// whole so that a handler wanting all of it (Invoke's payload) need not
// copy it again.
type verifiedBody struct {
	*bytes.Reader
	data []byte
}

func (*verifiedBody) Close() error { return nil }

// bodyBytes returns the body authed read for r.
func bodyBytes(r *http.Request) []byte {
	if b, ok := r.Body.(*verifiedBody); ok {
		return b.data
	}
	panic("http: bodyBytes on a request that authed did not read")
}

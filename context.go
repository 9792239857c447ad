package lambdahost

import (
	"context"
	"errors"
)

// Caller is who made a request, established by SigV4 verification.
type Caller struct {
	AccessKey string
	Account   string
	// Region is the region of the request's signature scope.
	Region string
	// ARN and UserID identify the principal of temporary credentials (an
	// execution environment's): "arn:aws:sts::ACCOUNT:assumed-role/ROLE/
	// SESSION" and "ROLEID:SESSION". They are empty for the operator's
	// access keys; see PrincipalARN and PrincipalID.
	ARN    string
	UserID string
}

// PrincipalARN is the identity the caller acts as, wherever lambdahost
// names it (GetCallerIdentity, policies and their AccessDenied messages,
// function URL events): ARN for temporary credentials, and for an
// operator's access key the IAM user named after it,
// arn:aws:iam::ACCOUNT:user/ACCESSKEY.
func (c Caller) PrincipalARN() string {
	if c.ARN != "" {
		return c.ARN
	}
	return "arn:aws:iam::" + c.Account + ":user/" + c.AccessKey
}

// PrincipalID is the caller's unique ID as AWS reports it (an IAM user's
// or role session's user ID): UserID for temporary credentials, the
// access key for an operator's key.
func (c Caller) PrincipalID() string {
	if c.UserID != "" {
		return c.UserID
	}
	return c.AccessKey
}

type callerKey struct{}
type requestIDKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller stored in ctx by WithCaller.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// WithRequestID returns ctx carrying the request ID id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request ID stored by WithRequestID, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// AuthenticatedCaller returns the caller stored in ctx, or an error if
// there is none with an account and a region. Every API request is
// authenticated before a service sees it, so the error means a
// programming error, answered as an internal one.
func AuthenticatedCaller(ctx context.Context) (Caller, error) {
	c, ok := CallerFrom(ctx)
	if !ok || c.Account == "" || c.Region == "" {
		return c, errors.New("no authenticated caller in context")
	}
	return c, nil
}

// Client is where a request came from, as the server saw it: for the
// records that say who changed what (a function's deployment history).
type Client struct {
	// SourceIP is the address of the peer, without its port.
	SourceIP string
	// UserAgent is the request's User-Agent header.
	UserAgent string
}

type clientKey struct{}

// WithClient returns ctx carrying c.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the Client stored in ctx by WithClient, or the zero
// Client.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

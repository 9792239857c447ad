package lambdahost

import (
	"context"
	"log/slog"
	"time"
)

// MaxSessionLifetime is the longest an execution environment's temporary
// credentials are valid, as for a role session on AWS.
const MaxSessionLifetime = 12 * time.Hour

// SessionRequest asks for the temporary credentials of one execution
// environment: those of the function's execution role, in its account.
type SessionRequest struct {
	// Account is the function's account.
	Account string
	// Role is the function's execution role ARN, as configured.
	Role string
	// Name is the role session's name: the function's name, as Lambda
	// names it.
	Name string
	// Lifetime bounds the credentials' validity; zero or more than
	// MaxSessionLifetime means MaxSessionLifetime.
	Lifetime time.Duration
}

// Session is a set of temporary credentials: what an execution
// environment finds in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN. It never logs its secret or token.
type Session struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Expires is when the credentials stop working, if the session has not
	// ended before.
	Expires time.Time
}

// LogValue leaves the secret and the token out.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key", s.AccessKeyID), slog.Time("expires", s.Expires))
}

// SessionIssuer issues and ends the temporary credentials of execution
// environments.
type SessionIssuer interface {
	// IssueSession issues credentials for req. They are accepted as the
	// assumed role in req.Account until EndSession or until they expire.
	IssueSession(ctx context.Context, req SessionRequest) (*Session, error)
	// EndSession revokes the credentials with access key accessKeyID: they
	// are refused from its return on. Ending an unknown or ended session
	// is not an error.
	EndSession(ctx context.Context, accessKeyID string) error
}

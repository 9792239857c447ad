package sigv4

import (
	"log/slog"
	"strconv"
)

// Credential is a secret known to the server: an access key ID, its secret
// access key, and the account the key acts for.
//
// A Credential never prints or logs its Secret: it implements
// slog.LogValuer, fmt.Stringer and fmt.GoStringer to leave it out.
type Credential struct {
	AccessKey string
	Secret    string
	Account   string
	// Principal and UserID identify who acts with the key, as STS
	// GetCallerIdentity reports it (its Arn and UserId); they are passed
	// on in Result.
	Principal string
	UserID    string
}

// LogValue returns the access key and account, never the secret.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key", c.AccessKey),
		slog.String("account", c.Account),
	)
}

// String returns the access key and account, never the secret.
func (c Credential) String() string {
	return "{AccessKey:" + c.AccessKey + " Secret:REDACTED Account:" + c.Account + "}"
}

// GoString returns the access key and account, never the secret, so that
// %#v is as safe as %v.
func (c Credential) GoString() string {
	return "sigv4.Credential{AccessKey:" + strconv.Quote(c.AccessKey) +
		", Secret:\"REDACTED\", Account:" + strconv.Quote(c.Account) + "}"
}

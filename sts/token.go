package sts

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// tokenVersion is the first byte of every session token.
const tokenVersion = 1

// maxTokenLen bounds the session tokens Verify decodes; lambdahost's are
// a few hundred characters.
const maxTokenLen = 4096

// claims are what a session token seals.
type claims struct {
	// AccessKeyID is repeated here, and bound as additional data too.
	AccessKeyID string `json:"ak"`
	Partition   string `json:"part"`
	Account     string `json:"acct"`
	// Role is the role's name (its ARN's last path element) and RoleID
	// its unique ID, as AWS reports them in assumed-role ARNs and user IDs.
	Role   string `json:"role"`
	RoleID string `json:"rid"`
	// Session is the role session's name.
	Session string `json:"sess"`
	// Node is the lambdahost node that issued the session: the process's
	// lambdahost.Coordinator node ID.
	Node    string `json:"node"`
	Issued  int64  `json:"iat"`
	Expires int64  `json:"exp"`
}

// aad binds a sealed token to its access key ID.
func aad(accessKeyID string) []byte { return []byte("lambdahost sts session token\x00" + accessKeyID) }

// sealToken returns the session token sealing c with key.
func sealToken(key []byte, c *claims) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	sealed, err := lambdahost.Seal(key, b, aad(c.AccessKeyID))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(append([]byte{tokenVersion}, sealed...)), nil
}

// errToken is the cause of every token that does not open.
var errToken = errors.New("malformed or forged session token")

// openToken opens a session token for accessKeyID. It fails for a token
// that is too long, not base64, of another version, sealed with another key
// or for another access key, or whose claims do not decode.
func openToken(key []byte, accessKeyID, token string) (*claims, error) {
	if len(token) > maxTokenLen {
		return nil, errToken
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1 || b[0] != tokenVersion {
		return nil, errToken
	}
	plain, err := lambdahost.Unseal(key, b[1:], aad(accessKeyID))
	if err != nil {
		return nil, errToken
	}
	c := new(claims)
	if err := json.Unmarshal(plain, c); err != nil || c.AccessKeyID != accessKeyID {
		return nil, errToken
	}
	return c, nil
}

// expires returns when c's credentials expire.
func (c *claims) expires() time.Time { return time.Unix(c.Expires, 0) }

// ARN is the assumed-role ARN of the session.
func (c *claims) ARN() string {
	return fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", c.Partition, c.Account, c.Role, c.Session)
}

// UserID is the caller's unique ID, as AWS reports it for a role session.
func (c *claims) UserID() string { return c.RoleID + ":" + c.Session }

// keyAlphabet spells access key IDs and role IDs, as AWS's: upper-case
// letters and digits 2 to 7.
var keyAlphabet = base32.StdEncoding.WithPadding(base32.NoPadding)

// newAccessKeyID returns a random temporary access key ID: 80 random bits.
func newAccessKeyID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return "ASIA" + keyAlphabet.EncodeToString(b)
}

// secretFor derives the secret access key of accessKeyID: 40 characters,
// as AWS's.
func secretFor(key []byte, accessKeyID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(accessKeyID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))[:40]
}

// roleID derives the unique ID of a role from its ARN: "AROA" and 17
// characters, stable for the role.
func roleID(roleARN string) string {
	sum := sha256.Sum256([]byte(roleARN))
	return "AROA" + keyAlphabet.EncodeToString(sum[:])[:17]
}

// parseRole returns the partition and name of a role ARN
// (arn:PARTITION:iam::ACCOUNT:role/PATH/NAME).
func parseRole(roleARN string) (partition, name string, err error) {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return "", "", fmt.Errorf("%q is not a role ARN", roleARN)
	}
	name = parts[5][strings.LastIndex(parts[5], "/")+1:]
	if parts[1] == "" || name == "" {
		return "", "", fmt.Errorf("%q is not a role ARN", roleARN)
	}
	return parts[1], name, nil
}

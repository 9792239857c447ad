package sts

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

var _ lambdahost.SessionIssuer = (*Service)(nil)

// kindRevoked is the store's record kind of an ended session, kept until
// the session would have expired anyway.
const kindRevoked = "sts-revoked"

// Errors of Verify.
var (
	// ErrExpired means the credentials were valid but have expired.
	ErrExpired = errors.New("session expired")
	// ErrInvalid means the credentials are not valid: a forged or
	// malformed token, a token of another access key, or a session that
	// has ended.
	ErrInvalid = errors.New("session not valid")
)

// revokedRecord is the store's record of an ended session.
type revokedRecord struct {
	Expires time.Time `json:"expires"`
}

// Identity is who acts with a set of credentials, and the secret that
// signs their requests.
type Identity struct {
	Account string
	// ARN and UserID are what GetCallerIdentity answers.
	ARN    string
	UserID string
	// Secret is the secret access key.
	Secret string
}

// LogValue leaves the secret out.
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account", id.Account), slog.String("arn", id.ARN))
}

// Service issues and verifies the temporary credentials of execution
// environments. Close it when done.
type Service struct {
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
	// Logger receives failures to record ended sessions. If nil,
	// slog.Default is used.
	Logger *slog.Logger

	store     lambdahost.Store
	tokenKey  []byte
	secretKey []byte
	node      string

	mu sync.Mutex
	// live holds the access key IDs of this node's sessions that have not
	// ended, with their expiry.
	live   map[string]time.Time
	closed bool
	// writes counts revocations being recorded.
	writes sync.WaitGroup
}

// New returns a Service of node (a lambdahost.Coordinator node ID, which
// the caller registers and renews) keeping its records in store, with keys
// derived from masterKey (lambdahost.MasterKeySize bytes): every node that
// shares the store and the master key verifies the sessions of the
// others, for as long as the issuing node is alive.
func New(store lambdahost.Store, masterKey []byte, node string) (*Service, error) {
	if len(masterKey) != lambdahost.MasterKeySize {
		return nil, fmt.Errorf("sts: master key is %d bytes, want %d", len(masterKey), lambdahost.MasterKeySize)
	}
	if node == "" {
		return nil, errors.New("sts: no node ID")
	}
	tokenKey, err := hkdf.Key(sha256.New, masterKey, nil, "lambdahost sts session token v1", 32)
	if err != nil {
		return nil, err
	}
	secretKey, err := hkdf.Key(sha256.New, masterKey, nil, "lambdahost sts secret access key v1", 32)
	if err != nil {
		return nil, err
	}
	return &Service{
		store: store, tokenKey: tokenKey, secretKey: secretKey,
		node: node, live: map[string]time.Time{},
	}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Close ends every session this node issued, once the revocations being
// recorded are: this node refuses them from now on, the others once the
// node leaves (lambdahost.Coordinator.Leave) or its registration expires.
// IssueSession fails afterwards.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	clear(s.live)
	s.mu.Unlock()
	s.writes.Wait()
	return nil
}

// IssueSession issues credentials for req's role in req.Account, valid
// until EndSession, Close or their expiry. It touches no store: the token
// carries the session, and this node's registration vouches for it.
func (s *Service) IssueSession(ctx context.Context, req lambdahost.SessionRequest) (*lambdahost.Session, error) {
	partition, role, err := parseRole(req.Role)
	if err != nil {
		return nil, fmt.Errorf("sts: issue session: %w", err)
	}
	if req.Name == "" {
		return nil, errors.New("sts: issue session: no session name")
	}
	life := req.Lifetime
	if life <= 0 || life > lambdahost.MaxSessionLifetime {
		life = lambdahost.MaxSessionLifetime
	}
	now := s.now()
	c := &claims{
		AccessKeyID: newAccessKeyID(),
		Partition:   partition,
		Account:     req.Account,
		Role:        role,
		RoleID:      roleID(req.Role),
		Session:     req.Name,
		Node:        s.node,
		Issued:      now.Unix(),
		Expires:     now.Add(life).Unix(),
	}
	token, err := sealToken(s.tokenKey, c)
	if err != nil {
		return nil, fmt.Errorf("sts: issue session: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("sts: issue session: the service is closed")
	}
	s.live[c.AccessKeyID] = c.expires()
	return &lambdahost.Session{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: secretFor(s.secretKey, c.AccessKeyID),
		SessionToken:    token,
		Expires:         c.expires(),
	}, nil
}

// EndSession revokes a session: this node refuses it from now on, and
// the others once the revocation is recorded, which happens in the
// background (Close waits for it).
func (s *Service) EndSession(ctx context.Context, accessKeyID string) error {
	s.mu.Lock()
	expires, ok := s.live[accessKeyID]
	delete(s.live, accessKeyID)
	if !ok || s.closed {
		s.mu.Unlock()
		return nil
	}
	s.writes.Add(1)
	s.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer s.writes.Done()
		err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
			return lambdahost.PutRecord(ctx, tx, kindRevoked, accessKeyID, &revokedRecord{Expires: expires.UTC()})
		})
		if err != nil {
			s.logger().Warn("sts: record an ended session; other nodes accept it until it expires or this node stops",
				"access_key", accessKeyID, lambdahost.LogKeyError, err)
		}
	}()
	return nil
}

// Verify returns the identity of temporary credentials: the access key ID
// with its session token. It returns an error wrapping ErrExpired for
// credentials past their expiry, and ErrInvalid for a token that does not
// open with this key and master key, or a session that has ended: by
// EndSession or Close, or because the node that issued it is no longer
// alive.
func (s *Service) Verify(ctx context.Context, accessKeyID, token string) (Identity, error) {
	c, err := openToken(s.tokenKey, accessKeyID, token)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := s.now()
	if !now.Before(c.expires()) {
		return Identity{}, fmt.Errorf("%w: at %s", ErrExpired, c.expires().UTC().Format(time.RFC3339))
	}
	if c.Node == s.node {
		s.mu.Lock()
		_, live := s.live[accessKeyID]
		s.mu.Unlock()
		if !live {
			return Identity{}, fmt.Errorf("%w: the session has ended", ErrInvalid)
		}
	} else if err := s.checkForeign(ctx, c); err != nil {
		return Identity{}, err
	}
	return Identity{
		Account: c.Account,
		ARN:     c.ARN(),
		UserID:  c.UserID(),
		Secret:  secretFor(s.secretKey, accessKeyID),
	}, nil
}

// checkForeign checks, in the store, that a session another node issued
// is live: its node has not left or gone silent (lambdahost.Coordinator),
// and the session was not revoked.
func (s *Service) checkForeign(ctx context.Context, c *claims) error {
	alive, err := s.store.Alive(ctx, c.Node)
	switch {
	case err != nil:
		return err
	case !alive:
		return fmt.Errorf("%w: its lambdahost node %s is gone", ErrInvalid, c.Node)
	}
	return s.store.View(ctx, func(tx lambdahost.Tx) error {
		_, err := tx.Record(ctx, kindRevoked, c.AccessKeyID)
		switch {
		case err == nil:
			return fmt.Errorf("%w: the session has ended", ErrInvalid)
		case errors.Is(err, lambdahost.ErrNotFound):
			return nil
		}
		return err
	})
}

// Collect deletes the revocations of sessions that have expired, which
// nothing needs any more, and returns how many it deleted.
func (s *Service) Collect(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		n = 0
		after := ""
		for {
			recs, err := tx.ListRecords(ctx, kindRevoked, "", after, 100)
			if err != nil {
				return err
			}
			for _, r := range recs {
				var rev revokedRecord
				// A record that does not decode is kept, for the operator to see.
				if json.Unmarshal(r.Value, &rev) != nil || !now.After(rev.Expires) {
					continue
				}
				if err := tx.DeleteRecord(ctx, kindRevoked, r.Key); err != nil {
					return err
				}
				n++
			}
			if len(recs) < 100 {
				return nil
			}
			after = recs[len(recs)-1].Key
		}
	})
	return n, err
}

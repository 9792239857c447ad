package sts

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

var _ lambdahost.SessionIssuer = (*Service)(nil)

// Record kinds of the store.
const (
	// kindInstance records one lambdahost process that issues sessions.
	kindInstance = "sts-instance"
	// kindRevoked records an ended session, until it would have expired.
	kindRevoked = "sts-revoked"
)

// DefaultHeartbeat is how often a Service refreshes its instance record.
// Another process considers an instance silent for three times as long
// gone, and refuses its sessions.
const DefaultHeartbeat = 5 * time.Minute

// Errors of Verify.
var (
	// ErrExpired means the credentials were valid but have expired.
	ErrExpired = errors.New("session expired")
	// ErrInvalid means the credentials are not valid: a forged or
	// malformed token, a token of another access key, or a session that
	// has ended.
	ErrInvalid = errors.New("session not valid")
)

// instanceRecord is the store's record of one process.
type instanceRecord struct {
	Node    string     `json:"node"`
	Started time.Time  `json:"started"`
	Seen    time.Time  `json:"seen"`
	Ended   *time.Time `json:"ended,omitempty"`
}

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
// environments. Open it before use, and Close it when done.
type Service struct {
	// Node names this machine among the lambdahost processes sharing the
	// store: when a process opens, it ends the sessions of the earlier
	// processes of its node, which a crash may have left open. If empty,
	// the host name is used.
	Node string
	// Heartbeat is how often the process refreshes its instance record.
	// If zero, DefaultHeartbeat.
	Heartbeat time.Duration
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
	// Logger receives failures to record ended sessions. If nil,
	// slog.Default is used.
	Logger *slog.Logger

	store     lambdahost.Store
	tokenKey  []byte
	secretKey []byte
	instance  string

	mu sync.Mutex
	// live holds the access key IDs of this process's sessions that have
	// not ended, with their expiry.
	live   map[string]time.Time
	opened bool
	closed bool
	// writes counts revocations being recorded.
	writes sync.WaitGroup
	stop   chan struct{}
	beats  sync.WaitGroup
}

// New returns a Service keeping its records in store, with keys derived
// from masterKey (lambdahost.MasterKeySize bytes): every process that
// shares the store and the master key verifies the sessions of the others.
func New(store lambdahost.Store, masterKey []byte) (*Service, error) {
	if len(masterKey) != lambdahost.MasterKeySize {
		return nil, fmt.Errorf("sts: master key is %d bytes, want %d", len(masterKey), lambdahost.MasterKeySize)
	}
	tokenKey, err := hkdf.Key(sha256.New, masterKey, nil, "lambdahost sts session token v1", 32)
	if err != nil {
		return nil, err
	}
	secretKey, err := hkdf.Key(sha256.New, masterKey, nil, "lambdahost sts secret access key v1", 32)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return &Service{
		store: store, tokenKey: tokenKey, secretKey: secretKey,
		instance: hex.EncodeToString(id), live: map[string]time.Time{},
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

func (s *Service) heartbeat() time.Duration {
	if s.Heartbeat > 0 {
		return s.Heartbeat
	}
	return DefaultHeartbeat
}

// Open registers this process and ends the instances its node left open.
func (s *Service) Open(ctx context.Context) error {
	if s.Node == "" {
		s.Node, _ = os.Hostname()
	}
	now := s.now().UTC()
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		after := ""
		for {
			recs, err := tx.ListRecords(ctx, kindInstance, "", after, 100)
			if err != nil {
				return err
			}
			for _, r := range recs {
				var in instanceRecord
				if err := json.Unmarshal(r.Value, &in); err != nil {
					return fmt.Errorf("decode %s %s: %w", kindInstance, r.Key, err)
				}
				if in.Node == s.Node && in.Ended == nil {
					in.Ended = &now
					if err := putJSON(ctx, tx, kindInstance, r.Key, &in); err != nil {
						return err
					}
				}
			}
			if len(recs) < 100 {
				break
			}
			after = recs[len(recs)-1].Key
		}
		return putJSON(ctx, tx, kindInstance, s.instance, &instanceRecord{Node: s.Node, Started: now, Seen: now})
	})
	if err != nil {
		return fmt.Errorf("sts: register instance: %w", err)
	}
	s.mu.Lock()
	s.opened = true
	s.stop = make(chan struct{})
	s.mu.Unlock()
	s.beats.Add(1)
	go s.beat()
	return nil
}

// beat refreshes the instance record until Close.
func (s *Service) beat() {
	defer s.beats.Done()
	t := time.NewTicker(s.heartbeat())
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		err := s.store.Update(context.Background(), func(tx lambdahost.Tx) error {
			in, err := getJSON[instanceRecord](context.Background(), tx, kindInstance, s.instance)
			if err != nil {
				return err
			}
			in.Seen = s.now().UTC()
			return putJSON(context.Background(), tx, kindInstance, s.instance, in)
		})
		if err != nil {
			s.logger().Warn("sts: refresh instance record", lambdahost.LogKeyError, err)
		}
	}
}

// Close ends every session this process issued and marks its instance
// ended. Sessions are refused afterwards.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.opened || s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	clear(s.live)
	close(s.stop)
	s.mu.Unlock()
	s.beats.Wait()
	s.writes.Wait()
	now := s.now().UTC()
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		in, err := getJSON[instanceRecord](ctx, tx, kindInstance, s.instance)
		if err != nil {
			return err
		}
		in.Ended = &now
		return putJSON(ctx, tx, kindInstance, s.instance, in)
	})
	if err != nil {
		return fmt.Errorf("sts: end instance: %w", err)
	}
	return nil
}

// IssueSession issues credentials for req's role in req.Account, valid
// until EndSession, Close or their expiry. It touches no store: the token
// carries the session, and this process's instance record vouches for it.
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
		Instance:    s.instance,
		Issued:      now.Unix(),
		Expires:     now.Add(life).Unix(),
	}
	token, err := sealToken(s.tokenKey, c)
	if err != nil {
		return nil, fmt.Errorf("sts: issue session: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened || s.closed {
		return nil, errors.New("sts: issue session: the service is not open")
	}
	s.live[c.AccessKeyID] = c.expires()
	return &lambdahost.Session{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: secretFor(s.secretKey, c.AccessKeyID),
		SessionToken:    token,
		Expires:         c.expires(),
	}, nil
}

// EndSession revokes a session: this process refuses it from now on, and
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
	go func() {
		defer s.writes.Done()
		err := s.store.Update(context.WithoutCancel(ctx), func(tx lambdahost.Tx) error {
			return putJSON(ctx, tx, kindRevoked, accessKeyID, &revokedRecord{Expires: expires.UTC()})
		})
		if err != nil {
			s.logger().Warn("sts: record an ended session; other processes accept it until it expires",
				"access_key", accessKeyID, lambdahost.LogKeyError, err)
		}
	}()
	return nil
}

// Verify returns the identity of temporary credentials: the access key ID
// with its session token. It returns an error wrapping ErrExpired for
// credentials past their expiry, and ErrInvalid for a token that does not
// open with this key and master key, or a session that has ended.
func (s *Service) Verify(ctx context.Context, accessKeyID, token string) (Identity, error) {
	c, err := openToken(s.tokenKey, accessKeyID, token)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := s.now()
	if !now.Before(c.expires()) {
		return Identity{}, fmt.Errorf("%w: at %s", ErrExpired, c.expires().UTC().Format(time.RFC3339))
	}
	if c.Instance == s.instance {
		s.mu.Lock()
		_, live := s.live[accessKeyID]
		s.mu.Unlock()
		if !live {
			return Identity{}, fmt.Errorf("%w: the session has ended", ErrInvalid)
		}
	} else if err := s.checkForeign(ctx, c, now); err != nil {
		return Identity{}, err
	}
	return Identity{
		Account: c.Account,
		ARN:     c.ARN(),
		UserID:  c.UserID(),
		Secret:  secretFor(s.secretKey, accessKeyID),
	}, nil
}

// checkForeign checks, in the store, that a session another process issued
// is live: its instance has not ended or gone silent, and the session was
// not revoked.
func (s *Service) checkForeign(ctx context.Context, c *claims, now time.Time) error {
	return s.store.View(ctx, func(tx lambdahost.Tx) error {
		in, err := getJSON[instanceRecord](ctx, tx, kindInstance, c.Instance)
		switch {
		case errors.Is(err, lambdahost.ErrNotFound):
			return fmt.Errorf("%w: unknown instance", ErrInvalid)
		case err != nil:
			return err
		case in.Ended != nil:
			return fmt.Errorf("%w: its lambdahost process has ended", ErrInvalid)
		case now.Sub(in.Seen) > 3*s.heartbeat():
			return fmt.Errorf("%w: its lambdahost process is silent since %s", ErrInvalid, in.Seen.Format(time.RFC3339))
		}
		_, err = tx.Record(ctx, kindRevoked, c.AccessKeyID)
		switch {
		case err == nil:
			return fmt.Errorf("%w: the session has ended", ErrInvalid)
		case errors.Is(err, lambdahost.ErrNotFound):
			return nil
		}
		return err
	})
}

// Collect deletes the records nothing needs any more: revocations of
// sessions that have expired, and instances that ended longer ago than a
// session lives. It returns how many it deleted.
func (s *Service) Collect(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		n = 0
		for _, kind := range []string{kindRevoked, kindInstance} {
			after := ""
			for {
				recs, err := tx.ListRecords(ctx, kind, "", after, 100)
				if err != nil {
					return err
				}
				for _, r := range recs {
					if !expired(kind, r.Value, now) {
						continue
					}
					if err := tx.DeleteRecord(ctx, kind, r.Key); err != nil {
						return err
					}
					n++
				}
				if len(recs) < 100 {
					break
				}
				after = recs[len(recs)-1].Key
			}
		}
		return nil
	})
	return n, err
}

// expired reports whether a record of kind can be deleted at now. A record
// that does not decode is kept, for the operator to see.
func expired(kind string, value []byte, now time.Time) bool {
	switch kind {
	case kindRevoked:
		var r revokedRecord
		return json.Unmarshal(value, &r) == nil && now.After(r.Expires)
	case kindInstance:
		var r instanceRecord
		return json.Unmarshal(value, &r) == nil && r.Ended != nil && now.Sub(*r.Ended) > lambdahost.MaxSessionLifetime
	}
	return false
}

func getJSON[T any](ctx context.Context, tx lambdahost.Tx, kind, key string) (*T, error) {
	b, err := tx.Record(ctx, kind, key)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", kind, key, err)
	}
	return v, nil
}

func putJSON(ctx context.Context, tx lambdahost.Tx, kind, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", kind, key, err)
	}
	return tx.PutRecord(ctx, kind, key, b)
}

package sts_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/testserver"
	"github.com/lambdahost/lambdahost/postgres"
	"github.com/lambdahost/lambdahost/sqlite"
	"github.com/lambdahost/lambdahost/sts"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopPostgres()
	os.Exit(code)
}

var masterKey = bytes.Repeat([]byte{7}, lambdahost.MasterKeySize)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T) lambdahost.Store {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// openService registers node on store for longer than any test, and
// returns a Service of it with clock c.
func openService(t *testing.T, store lambdahost.Store, node string, c *clock, key []byte) *sts.Service {
	t.Helper()
	if err := store.Heartbeat(t.Context(), node, time.Hour); err != nil {
		t.Fatal(err)
	}
	s, err := sts.New(store, key, node)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = c.Now
	t.Cleanup(func() { s.Close() })
	return s
}

var request = lambdahost.SessionRequest{Account: "111111111111", Role: "arn:aws:iam::111111111111:role/service-role/my-role", Name: "my-fn"}

func issue(t *testing.T, s *sts.Service, req lambdahost.SessionRequest) *lambdahost.Session {
	t.Helper()
	sess, err := s.IssueSession(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// wantValid checks that s verifies sess as the session of request.
func wantValid(t *testing.T, s *sts.Service, sess *lambdahost.Session) {
	t.Helper()
	id, err := s.Verify(t.Context(), sess.AccessKeyID, sess.SessionToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if id.Account != request.Account || id.Secret != sess.SecretAccessKey ||
		id.ARN != "arn:aws:sts::111111111111:assumed-role/my-role/my-fn" ||
		!strings.HasPrefix(id.UserID, "AROA") || !strings.HasSuffix(id.UserID, ":my-fn") {
		t.Errorf("identity %+v", id)
	}
}

// wantRefused checks that s refuses sess with want.
func wantRefused(t *testing.T, s *sts.Service, key, token string, want error) {
	t.Helper()
	if _, err := s.Verify(t.Context(), key, token); !errors.Is(err, want) {
		t.Fatalf("Verify=%v, want %v", err, want)
	}
}

// TestSession follows a session through its life on one process.
func TestSession(t *testing.T) {
	c := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openService(t, openStore(t), "node-a", c, masterKey)
	sess := issue(t, s, request)
	if !strings.HasPrefix(sess.AccessKeyID, "ASIA") || len(sess.AccessKeyID) != 20 || len(sess.SecretAccessKey) != 40 {
		t.Errorf("credentials %q / %d-character secret", sess.AccessKeyID, len(sess.SecretAccessKey))
	}
	if want := c.Now().Add(lambdahost.MaxSessionLifetime); !sess.Expires.Equal(want) {
		t.Errorf("Expires=%v, want %v", sess.Expires, want)
	}
	wantValid(t, s, sess)

	t.Run("another-access-key", func(t *testing.T) {
		other := issue(t, s, request)
		wantRefused(t, s, other.AccessKeyID, sess.SessionToken, sts.ErrInvalid)
	})
	t.Run("tampered-token", func(t *testing.T) {
		b := []byte(sess.SessionToken)
		b[len(b)/2] ^= 1
		wantRefused(t, s, sess.AccessKeyID, string(b), sts.ErrInvalid)
	})
	t.Run("other-master-key", func(t *testing.T) {
		other := openService(t, openStore(t), "node-a", c, bytes.Repeat([]byte{8}, 32))
		wantRefused(t, other, sess.AccessKeyID, sess.SessionToken, sts.ErrInvalid)
	})
	t.Run("shorter-lifetime", func(t *testing.T) {
		short := request
		short.Lifetime = time.Hour
		got := issue(t, s, short)
		if want := c.Now().Add(time.Hour); !got.Expires.Equal(want) {
			t.Errorf("Expires=%v, want %v", got.Expires, want)
		}
	})
	t.Run("not-a-role", func(t *testing.T) {
		bad := request
		bad.Role = "arn:aws:iam::111111111111:user/me"
		if _, err := s.IssueSession(t.Context(), bad); err == nil {
			t.Error("IssueSession succeeded for a user ARN")
		}
	})
	t.Run("expiry", func(t *testing.T) {
		short := request
		short.Lifetime = time.Minute
		got := issue(t, s, short)
		c.Add(time.Minute)
		defer c.Add(-time.Minute)
		wantRefused(t, s, got.AccessKeyID, got.SessionToken, sts.ErrExpired)
	})
	t.Run("end", func(t *testing.T) {
		got := issue(t, s, request)
		if err := s.EndSession(t.Context(), got.AccessKeyID); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, s, got.AccessKeyID, got.SessionToken, sts.ErrInvalid)
		wantValid(t, s, sess)
	})
	t.Run("close", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, s, sess.AccessKeyID, sess.SessionToken, sts.ErrInvalid)
		if _, err := s.IssueSession(t.Context(), request); err == nil {
			t.Error("IssueSession succeeded after Close")
		}
	})
}

// TestSessionAcrossNodes checks what another node sharing the store and
// master key accepts: live sessions of live nodes, and nothing else. On
// PostgreSQL the nodes have a Store each, as separate processes have.
func TestSessionAcrossNodes(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) (a, b lambdahost.Store)
	}{
		{"sqlite", func(t *testing.T) (lambdahost.Store, lambdahost.Store) {
			s := openStore(t)
			return s, s
		}},
		{"postgres", func(t *testing.T) (lambdahost.Store, lambdahost.Store) {
			dsn := testserver.StartPostgres(t).NewDatabase(t)
			open := func() lambdahost.Store {
				s, err := postgres.Open(t.Context(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			return open(), open()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) { testSessionAcrossNodes(t, tt.open) })
	}
}

func testSessionAcrossNodes(t *testing.T, open func(t *testing.T) (a, b lambdahost.Store)) {
	c := &clock{t: time.Now()}
	storeA, storeB := open(t)
	a := openService(t, storeA, "node-a", c, masterKey)
	b := openService(t, storeB, "node-b", c, masterKey)
	sess := issue(t, a, request)
	wantValid(t, b, sess)

	ended := issue(t, a, request)
	if err := a.EndSession(t.Context(), ended.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	// The revocation is recorded in the background: poll, generously.
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := b.Verify(t.Context(), ended.AccessKeyID, ended.SessionToken)
		if errors.Is(err, sts.ErrInvalid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("another node still accepts an ended session: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantValid(t, b, sess)

	t.Run("node-expired", func(t *testing.T) {
		// A node that dies stops renewing its registration: once it
		// expires, by the store's clock, its sessions are refused.
		x := openService(t, storeA, "node-x", c, masterKey)
		got := issue(t, x, request)
		wantValid(t, b, got)
		if err := storeA.Heartbeat(t.Context(), "node-x", time.Millisecond); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			_, err := b.Verify(t.Context(), got.AccessKeyID, got.SessionToken)
			if errors.Is(err, sts.ErrInvalid) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a session of a node whose registration expired is still accepted: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("node-left", func(t *testing.T) {
		if err := storeA.Leave(t.Context(), "node-a"); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, b, sess.AccessKeyID, sess.SessionToken, sts.ErrInvalid)
	})
	t.Run("node-never-registered", func(t *testing.T) {
		ghost, err := sts.New(storeA, masterKey, "node-ghost")
		if err != nil {
			t.Fatal(err)
		}
		defer ghost.Close()
		got := issue(t, ghost, request)
		wantValid(t, ghost, got)
		wantRefused(t, b, got.AccessKeyID, got.SessionToken, sts.ErrInvalid)
	})
}

// TestCollect checks that revocations are kept as long as they matter.
func TestCollect(t *testing.T) {
	c := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	store := openStore(t)
	a := openService(t, store, "node-a", c, masterKey)
	sess := issue(t, a, request)
	a.EndSession(t.Context(), sess.AccessKeyID)
	if err := a.Close(); err != nil { // waits for the revocation
		t.Fatal(err)
	}
	b := openService(t, store, "node-b", c, masterKey)
	if n, err := b.Collect(t.Context()); err != nil || n != 0 {
		t.Fatalf("Collect=%d, %v; want nothing deleted yet", n, err)
	}
	c.Add(lambdahost.MaxSessionLifetime + time.Second)
	if n, err := b.Collect(t.Context()); err != nil || n != 1 {
		t.Fatalf("Collect=%d, %v; want the revocation deleted", n, err)
	}
}

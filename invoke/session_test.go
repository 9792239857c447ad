package invoke_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/invoke"
)

// issuer is a lambdahost.SessionIssuer that records what it does.
type issuer struct {
	mu       sync.Mutex
	lifetime time.Duration
	issued   []lambdahost.SessionRequest
	ended    []string
}

func (s *issuer) IssueSession(ctx context.Context, req lambdahost.SessionRequest) (*lambdahost.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issued = append(s.issued, req)
	n := len(s.issued)
	return &lambdahost.Session{
		AccessKeyID:     fmt.Sprintf("ASIA%016d", n),
		SecretAccessKey: fmt.Sprintf("secret-%d", n),
		SessionToken:    fmt.Sprintf("token-%d", n),
		Expires:         time.Now().Add(s.lifetime),
	}, nil
}

func (s *issuer) EndSession(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = append(s.ended, key)
	return nil
}

func (s *issuer) endedKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ended)
}

// waitEnded polls, generously, until key's session has ended.
func (s *issuer) waitEnded(t *testing.T, key string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !slices.Contains(s.endedKeys(), key) {
		if time.Now().After(deadline) {
			t.Fatalf("session %s never ended; ended: %v", key, s.endedKeys())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSessions checks the environment an executor with credentials,
// an endpoint and the operator's variables gives a function, and that the
// credentials end with the environment.
func TestSessions(t *testing.T) {
	iss := &issuer{lifetime: lambdahost.MaxSessionLifetime}
	f := newFixture(t, func(x *invoke.Executor) {
		x.Sessions = iss
		x.Endpoint = "http://host.lambdahost.internal:9001"
		x.FunctionEnv = []string{"FROM_OPERATOR=op", "OVERRIDDEN=op", "AWS_REGION=nowhere", "AWS_SESSION_TOKEN=stolen"}
	})
	tg := target(t, "A", func(v *lambdahost.Version) {
		v.Config.Role = "arn:aws:iam::000000000000:role/r"
		v.Config.Environment = map[string]string{"OVERRIDDEN": "fn"}
	})
	env := func(name string) string { return decode(t, call(t, f.x, tg, `{"env":"`+name+`"}`)).Env }
	tests := []struct{ name, want string }{
		{"AWS_ACCESS_KEY_ID", "ASIA0000000000000001"},
		{"AWS_SECRET_ACCESS_KEY", "secret-1"},
		{"AWS_SESSION_TOKEN", "token-1"},
		{"AWS_ENDPOINT_URL", "http://host.lambdahost.internal:9001"},
		{"FROM_OPERATOR", "op"},
		{"OVERRIDDEN", "fn"},
		{"AWS_REGION", "us-east-1"},
	}
	for _, tt := range tests {
		if got := env(tt.name); got != tt.want {
			t.Errorf("%s=%q, want %q", tt.name, got, tt.want)
		}
	}
	iss.mu.Lock()
	issued := slices.Clone(iss.issued)
	iss.mu.Unlock()
	want := []lambdahost.SessionRequest{{Account: "000000000000", Role: "arn:aws:iam::000000000000:role/r", Name: "fn"}}
	if !slices.Equal(issued, want) {
		t.Errorf("issued %+v, want %+v: one session for the one environment", issued, want)
	}

	f.x.Retire(tg.Function)
	iss.waitEnded(t, "ASIA0000000000000001")
}

// TestSessionsOperatorEndpoint checks that the operator's variables replace
// lambdahost's endpoint.
func TestSessionsOperatorEndpoint(t *testing.T) {
	f := newFixture(t, func(x *invoke.Executor) {
		x.Endpoint = "http://host.lambdahost.internal:9001"
		x.FunctionEnv = []string{"AWS_ENDPOINT_URL=http://elsewhere:1"}
	})
	if got := decode(t, call(t, f.x, target(t, "A"), `{"env":"AWS_ENDPOINT_URL"}`)).Env; got != "http://elsewhere:1" {
		t.Errorf("AWS_ENDPOINT_URL=%q", got)
	}
}

// TestSessionsExpiring checks that an environment whose credentials would
// expire during an invocation is replaced rather than reused.
func TestSessionsExpiring(t *testing.T) {
	// Shorter than the function's timeout plus the minute to spare.
	iss := &issuer{lifetime: 30 * time.Second}
	f := newFixture(t, func(x *invoke.Executor) { x.Sessions = iss })
	tg := target(t, "A", func(v *lambdahost.Version) { v.Config.Role = "arn:aws:iam::000000000000:role/r" })
	first := decode(t, call(t, f.x, tg, `{"env":"AWS_ACCESS_KEY_ID"}`)).Env
	second := decode(t, call(t, f.x, tg, `{"env":"AWS_ACCESS_KEY_ID"}`)).Env
	if first == second || f.launcher.count() != 2 {
		t.Errorf("keys %s then %s in %d environments: want a new environment", first, second, f.launcher.count())
	}
	iss.waitEnded(t, first)
}

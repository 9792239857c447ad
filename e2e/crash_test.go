//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// crashFunction tracks what the crash test sent to one function.
type crashFunction struct {
	name string
	// big makes the updates' zips 1 MiB, so that kills land while code is
	// being received and stored.
	big bool

	mu    sync.Mutex
	zips  map[string][]byte // every zip sent, by CodeSha256
	acked string            // CodeSha256 of the last acknowledged update
	// unknown are the updates sent since the last acknowledged one whose
	// outcome the client never learned: they may or may not have committed.
	unknown []string
	acks    int
}

func (f *crashFunction) sent(zip []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	sha := codeSHA(zip)
	f.zips[sha] = zip
	f.unknown = append(f.unknown, sha)
	return sha
}

func (f *crashFunction) acknowledged(sha string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acked, f.unknown = sha, nil
	f.acks++
}

func (f *crashFunction) refused(sha string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unknown = slices.DeleteFunc(f.unknown, func(s string) bool { return s == sha })
}

// allowed returns the CodeSha256 values the function may have after a crash.
func (f *crashFunction) allowed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{f.acked}, f.unknown...)
}

// update sends distinct zips to the function one after another until the
// server stops answering.
func (f *crashFunction) update(t *testing.T, client *lambda.Client, round int) {
	for seq := 0; ; seq++ {
		zip := handlerZip(t, fmt.Sprintf("%s round %d update %d", f.name, round, seq))
		if f.big {
			zip = storedZip(t, 1<<20, uint64(round)<<32|uint64(seq))
		}
		sha := f.sent(zip)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(f.name), ZipFile: zip})
		cancel()
		var apiErr smithy.APIError
		switch {
		case err == nil:
			if got := aws.ToString(out.CodeSha256); got != sha {
				t.Errorf("%s: UpdateFunctionCode answered CodeSha256 %s, want %s", f.name, got, sha)
			}
			f.acknowledged(sha)
		case errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceConflictException":
			// The previous update is still settling: this one was refused.
			f.refused(sha)
			time.Sleep(2 * time.Millisecond)
		case errors.As(err, &apiErr):
			f.refused(sha)
			t.Errorf("%s: UpdateFunctionCode: %v", f.name, err)
			return
		default:
			return // the server is gone; this update's outcome is unknown
		}
	}
}

// crashCreator creates new functions one after another until the server
// stops answering, remembering which creations were acknowledged.
type crashCreator struct {
	mu    sync.Mutex
	zips  map[string][]byte // by function name, every create sent
	acked map[string]bool
	round map[string]bool // names sent in the current round
	next  int
}

func (c *crashCreator) create(t *testing.T, client *lambda.Client) {
	for {
		c.mu.Lock()
		name := fmt.Sprintf("crash-new-%d", c.next)
		c.next++
		zip := handlerZip(t, name)
		c.zips[name], c.round[name] = zip, true
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Runtime: types.RuntimePython312, Role: aws.String(testRole),
			Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: zip},
		})
		cancel()
		var apiErr smithy.APIError
		switch {
		case err == nil:
			c.mu.Lock()
			c.acked[name] = true
			c.mu.Unlock()
		case errors.As(err, &apiErr):
			t.Errorf("CreateFunction %s: %v", name, err)
			return
		default:
			return // the server is gone
		}
	}
}

// verify checks, after a restart, that every acknowledged creation of the
// round exists and that any function of the round exists whole: listed,
// Active, with the code sent for it.
func (c *crashCreator) verify(t *testing.T, d Driver) {
	t.Helper()
	listed := map[string]bool{}
	for _, f := range d.Paginate(t, "ListFunctions", Params{}, 50) {
		listed[str(f, "FunctionName")] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.round {
		get := d.Call(t, "GetFunction", Params{"FunctionName": name})
		exists := get.Code == "" && get.Err == nil
		switch {
		case c.acked[name] && !exists:
			t.Errorf("%s: acknowledged CreateFunction %s lost after restart: %v %s %s", d.Name(), name, get.Err, get.Code, get.Message)
			continue
		case exists != listed[name]:
			t.Errorf("%s: %s: GetFunction says exists=%v, ListFunctions says %v", d.Name(), name, exists, listed[name])
			continue
		case !exists:
			get.WantError(t, 404, "ResourceNotFoundException", "")
			continue
		}
		if err := d.Wait(t, "FunctionActiveV2", Params{"FunctionName": name}, waitTimeout); err != nil {
			t.Errorf("%s: %s did not become Active after restart: %v", d.Name(), name, err)
			continue
		}
		get = d.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
		wantCode(t, get, "Configuration.", c.zips[name])
		if got := download(t, get.Str("Code.Location")); !bytes.Equal(got, c.zips[name]) {
			t.Errorf("%s: %s: Code.Location serves sha %s, want %s", d.Name(), name, codeSHA(got), codeSHA(c.zips[name]))
		}
	}
	c.round = map[string]bool{}
}

// TestCrashDuringUpdates kills the server with SIGKILL at random moments
// while clients stream UpdateFunctionCode calls to three functions (and
// CreateFunction calls for new ones). After each restart, every function
// has the code of its last acknowledged update or of one whose answer was
// lost, its Code.Location serves exactly those bytes, and it settles to
// Successful; every acknowledged creation exists, whole (scenario 14).
func TestCrashDuringUpdates(t *testing.T) {
	t.Parallel()
	const functions, rounds = 3, 5
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	srv := Start(t)
	setup := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}
	var fns []*crashFunction
	for i := range functions {
		f := &crashFunction{name: fmt.Sprintf("crash-%d", i), big: i == functions-1, zips: map[string][]byte{}}
		zip := handlerZip(t, f.name+" initial")
		f.acknowledged(f.sent(zip))
		mustCreate(t, setup, f.name, zip)
		fns = append(fns, f)
	}
	creator := &crashCreator{zips: map[string][]byte{}, acked: map[string]bool{}, round: map[string]bool{}}
	totalAcks := 0
	for round := range rounds {
		client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
		for _, f := range fns {
			f.acks = 0
		}
		var wg sync.WaitGroup
		for _, f := range fns {
			wg.Go(func() { f.update(t, client, round) })
		}
		wg.Go(func() { creator.create(t, client) })
		// Kill at a random moment once an update of the round was
		// acknowledged, however slow the machine: a round that killed
		// before any would prove nothing.
		waitAck(t, fns)
		time.Sleep(time.Duration(rng.Int64N(int64(450 * time.Millisecond))))
		srv.Kill()
		wg.Wait()
		for _, f := range fns {
			totalAcks += f.acks
			t.Logf("round %d: %s: %d updates acknowledged, %d unknown", round, f.name, f.acks, len(f.unknown))
		}

		srv.Restart()
		check := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}
		for _, f := range fns {
			verifyAfterCrash(t, check, f)
		}
		t.Logf("round %d: %d functions created in all", round, len(creator.acked))
		creator.verify(t, check)
		if round == rounds-1 {
			t.Run("boto3-check", func(t *testing.T) {
				d := NewBoto3(t, srv.Endpoint, TestCredentials, "us-east-1")
				for _, f := range fns {
					verifyAfterCrash(t, d, f)
				}
			})
		}
		if t.Failed() {
			t.Fatalf("round %d failed; random seed %d", round, seed)
		}
	}
	if totalAcks == 0 {
		t.Fatal("no update was acknowledged in any round: the test proved nothing")
	}
}

// waitAck waits until an update to one of fns has been acknowledged since
// their acks were reset.
func waitAck(t *testing.T, fns []*crashFunction) {
	t.Helper()
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(5 * time.Millisecond) {
		for _, f := range fns {
			f.mu.Lock()
			n := f.acks
			f.mu.Unlock()
			if n > 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no update acknowledged within %v", waitTimeout)
		}
	}
}

// verifyAfterCrash checks one function after a restart, and makes its
// current code the acknowledged one for the next round.
func verifyAfterCrash(t *testing.T, d Driver, f *crashFunction) {
	t.Helper()
	fn := Params{"FunctionName": f.name}
	if err := d.Wait(t, "FunctionUpdatedV2", fn, waitTimeout); err != nil {
		t.Errorf("%s: %s did not settle to Successful after restart: %v", d.Name(), f.name, err)
		return
	}
	get := d.Call(t, "GetFunction", fn).OK(t)
	wantStr(t, get, "Configuration.LastUpdateStatus", "Successful")
	wantStr(t, get, "Configuration.State", "Active")
	sha := get.Str("Configuration.CodeSha256")
	allowed := f.allowed()
	if !slices.Contains(allowed, sha) {
		t.Errorf("%s: %s has CodeSha256 %s, want the last acknowledged %s or one of the unanswered %v", d.Name(), f.name, sha, allowed[0], allowed[1:])
	}
	code := download(t, get.Str("Code.Location"))
	if codeSHA(code) != sha {
		t.Errorf("%s: %s: Code.Location serves code with sha %s, but CodeSha256 is %s", d.Name(), f.name, codeSHA(code), sha)
	}
	if int64(len(code)) != get.Int("Configuration.CodeSize") {
		t.Errorf("%s: %s: Code.Location serves %d bytes, but CodeSize is %d", d.Name(), f.name, len(code), get.Int("Configuration.CodeSize"))
	}
	if sha != allowed[0] {
		t.Logf("%s: %s has the code of an update whose answer was lost", d.Name(), f.name)
	}
	f.mu.Lock()
	if want, ok := f.zips[sha]; ok && !bytes.Equal(code, want) {
		t.Errorf("%s: %s: Code.Location bytes differ from the zip sent with that CodeSha256", d.Name(), f.name)
	}
	f.mu.Unlock()
	f.acknowledged(sha)
}

// slowTransport trickles request bodies out, 64 KiB every 5ms, and closes
// started when the first body bytes go out.
type slowTransport struct {
	started chan struct{}
	once    sync.Once
}

func (s *slowTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.ContentLength > 0 {
		req = req.Clone(req.Context())
		req.Body = &slowBody{r: req.Body, start: func() { s.once.Do(func() { close(s.started) }) }}
	}
	return http.DefaultTransport.RoundTrip(req)
}

type slowBody struct {
	r     io.ReadCloser
	start func()
}

func (b *slowBody) Read(p []byte) (int, error) {
	b.start()
	time.Sleep(5 * time.Millisecond)
	return b.r.Read(p[:min(len(p), 64<<10)])
}

func (b *slowBody) Close() error { return b.r.Close() }

// TestSIGTERMDrainsUpdate sends SIGTERM while a large UpdateFunctionCode
// body is still being uploaded: the update completes with 200, the process
// exits 0, and after a restart the function has the new code, settled
// (scenario 15).
func TestSIGTERMDrainsUpdate(t *testing.T) {
	t.Parallel()
	for i, kind := range []string{SDKDriver, Boto3Driver} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := Start(t)
			name := "drain-" + kind
			setup := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}
			mustCreate(t, setup, name, handlerZip(t, name))
			zip := storedZip(t, 8<<20, uint64(100+i))

			var status int
			var sha string
			switch kind {
			case SDKDriver:
				slow := &slowTransport{started: make(chan struct{})}
				client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1", func(o *lambda.Options) {
					o.HTTPClient = &http.Client{Transport: slow}
				})
				done := make(chan *Result, 1)
				go func() {
					out, err := client.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: zip})
					done <- sdkResult(t, "UpdateFunctionCode", out, err)
				}()
				select {
				case <-slow.started:
				case r := <-done:
					t.Fatalf("update finished before its body was sent: %+v", r)
				case <-time.After(waitTimeout):
					t.Fatal("the update's body never started")
				}
				time.Sleep(100 * time.Millisecond)
				srv.Signal(syscall.SIGTERM)
				r := <-done
				r.OK(t)
				status, sha = r.Status, r.Str("CodeSha256")
			case Boto3Driver:
				python := needBoto3(t)
				dir := t.TempDir()
				path := filepath.Join(dir, "big.zip")
				if err := os.WriteFile(path, zip, 0o600); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(python, boto3Script(t, "slow_update.py"), name, path)
				cmd.Env = boto3Env(dir, srv.Endpoint, TestCredentials, "us-east-1")
				cmd.Stderr = &logWriter{t: t, prefix: "slow_update.py: "}
				dieWithTest(cmd)
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				lines := bufio.NewScanner(stdout)
				if !lines.Scan() || !bytes.Contains(lines.Bytes(), []byte(`"sending"`)) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("slow_update.py did not start sending: %q", lines.Bytes())
				}
				time.Sleep(100 * time.Millisecond)
				srv.Signal(syscall.SIGTERM)
				var a boto3Answer
				if !lines.Scan() {
					t.Fatalf("slow_update.py printed no result: %v", lines.Err())
				}
				if err := json.Unmarshal(lines.Bytes(), &a); err != nil {
					t.Fatalf("slow_update.py: %v: %s", err, lines.Bytes())
				}
				if err := cmd.Wait(); err != nil {
					t.Errorf("slow_update.py: %v", err)
				}
				if !a.OK {
					t.Fatalf("boto3 UpdateFunctionCode during shutdown: HTTP %d %s %s %s", a.Status, a.Code, a.Message, a.Error)
				}
				status, sha = a.Status, str(a.Body, "CodeSha256")
			}
			if status != 200 || sha != codeSHA(zip) {
				t.Errorf("update in flight at SIGTERM: HTTP %d CodeSha256 %s, want 200 %s", status, sha, codeSHA(zip))
			}
			code, err := srv.Wait(stopTimeout)
			if err != nil {
				t.Fatal(err)
			}
			if code != 0 {
				t.Errorf("lambdahost exited with status %d after SIGTERM, want 0", code)
			}

			srv.Restart()
			check := &SDK{Client: NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")}
			mustWait(t, check, "FunctionUpdatedV2", Params{"FunctionName": name})
			get := check.Call(t, "GetFunction", Params{"FunctionName": name}).OK(t)
			wantCode(t, get, "Configuration.", zip)
			wantStr(t, get, "Configuration.LastUpdateStatus", "Successful")
			if got := download(t, get.Str("Code.Location")); sha256.Sum256(got) != sha256.Sum256(zip) {
				t.Errorf("after restart, Code.Location serves %d bytes that are not the uploaded zip", len(got))
			}
		})
	}
}

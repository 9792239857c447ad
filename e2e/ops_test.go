//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

// opsTimeout bounds a backup, restore or check of the tests' small data
// dirs, and a second serve that must refuse to start: generous, since it
// only catches a command that hangs.
const opsTimeout = 5 * time.Minute

// withDataDir runs the server on dir instead of a fresh data dir.
func withDataDir(dir string) Option {
	return func(s *Server) { s.DataDir = dir }
}

// TestDataDirLock: a second serve on a data dir in use exits non-zero
// naming the holder's PID and address, and so do the commands that write
// a data dir; after kill -9 of the holder, a new server starts at once.
func TestDataDirLock(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	holder := func() string {
		return fmt.Sprintf("is in use by lambdahost serve (pid %d, listening on %s", srv.proc.cmd.Process.Pid, strings.TrimPrefix(srv.Endpoint, "http://"))
	}
	second := func() {
		t.Helper()
		_, stderr, code := runBinary(t, opsTimeout, "serve", "--listen", "127.0.0.1:0", "--data-dir", srv.DataDir, "--ready-file", filepath.Join(t.TempDir(), "ready.json"))
		if code == 0 || !strings.Contains(stderr, holder()) {
			t.Errorf("second serve on a data dir in use: exit status %d, stderr %q; want a failure saying it %s...", code, stderr, holder())
		}
	}
	second()

	// Readers run beside the server; writers are refused.
	bk := filepath.Join(t.TempDir(), "bk")
	if _, stderr, code := runBinary(t, opsTimeout, "backup", "--data-dir", srv.DataDir, "--to", bk, "--include-master-key"); code != 0 {
		t.Fatalf("backup beside serve: exit status %d: %s", code, stderr)
	}
	if stdout, stderr, code := runBinary(t, opsTimeout, "check", "--data-dir", srv.DataDir); code != 0 {
		t.Errorf("check beside serve: exit status %d: %s%s", code, stdout, stderr)
	}
	for _, args := range [][]string{
		{"check", "--data-dir", srv.DataDir, "--repair"},
		{"restore", "--from", bk, "--data-dir", srv.DataDir},
	} {
		_, stderr, code := runBinary(t, opsTimeout, args...)
		if code == 0 || !strings.Contains(stderr, holder()) {
			t.Errorf("%s beside serve: exit status %d, stderr %q; want a failure naming the server", strings.Join(args, " "), code, stderr)
		}
	}

	// The kernel drops the lock of a killed process: nothing is stale.
	srv.Kill()
	srv.Restart()
	second()
}

// opsFunction is a function whose code TestBackupDuringUpdates replaces
// again and again.
type opsFunction struct {
	name string
	pad  int // bytes of random padding, to store the code as a blob

	mu      sync.Mutex
	history []opsUpdate // every update sent, in order
	version map[string]int
}

// opsUpdate is one update: its code's CodeSha256 and the version its
// code answers; when it was sent, and when acknowledged (zero if never).
type opsUpdate struct {
	sha        string
	version    int
	sent, ack  time.Time
	refused    bool
	ackKnown   bool
	unanswered bool
}

func (f *opsFunction) zip(t testing.TB, version int) []byte {
	t.Helper()
	if f.pad == 0 {
		return python312Fn.zip(t, version)
	}
	files := []string{}
	dir := filepath.Join("testdata", "functions", "python")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, e.Name(), strings.ReplaceAll(string(b), `"__VERSION__"`, fmt.Sprint(version)))
	}
	pad := make([]byte, f.pad)
	rand.Read(pad)
	return makeZip(t, append(files, "pad.bin", string(pad))...)
}

// send records an update about to be sent and returns its index.
func (f *opsFunction) send(sha string, version int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version[sha] = version
	f.history = append(f.history, opsUpdate{sha: sha, version: version, sent: time.Now()})
	return len(f.history) - 1
}

func (f *opsFunction) answered(i int, ok, refused bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &f.history[i]
	switch {
	case ok:
		u.ack, u.ackKnown = time.Now(), true
	case refused:
		u.refused = true
	default:
		u.unanswered = true
	}
}

// update sends updates until ctx is done.
func (f *opsFunction) update(t *testing.T, ctx context.Context, client *lambda.Client) {
	for version := 1; ctx.Err() == nil; version++ {
		zip := f.zip(t, version)
		sha := codeSHA(zip)
		i := f.send(sha, version)
		// Only a server that never answers could take this long.
		callCtx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		out, err := client.UpdateFunctionCode(callCtx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(f.name), ZipFile: zip})
		cancel()
		var apiErr smithy.APIError
		switch {
		case err == nil:
			if got := aws.ToString(out.CodeSha256); got != sha {
				t.Errorf("%s: UpdateFunctionCode answered CodeSha256 %s, want %s", f.name, got, sha)
			}
			f.answered(i, true, false)
		case errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceConflictException":
			f.answered(i, false, true) // the previous update is still settling
			time.Sleep(2 * time.Millisecond)
		default:
			f.answered(i, false, false)
			t.Errorf("%s: UpdateFunctionCode: %v", f.name, err)
			return
		}
	}
}

// acks counts the updates acknowledged.
func (f *opsFunction) acks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, u := range f.history {
		if u.ackKnown {
			n++
		}
	}
	return n
}

// window is when the code with CodeSha256 sha could have been the
// function's: from when its update was sent (it commits before it is
// answered) until the next update that took effect was answered. ok is
// false if no update sent sha.
func (f *opsFunction) window(sha string) (from, to time.Time, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	to = time.Unix(math.MaxInt32, 0)
	for i, u := range f.history {
		if u.sha != sha || u.refused {
			continue
		}
		for _, next := range f.history[i+1:] {
			if next.ackKnown {
				to = next.ack
				break
			}
		}
		return u.sent, to, true
	}
	return from, to, false
}

// backup runs lambdahost backup and returns when it ran.
func backup(t *testing.T, dataDir, to string) (start, end time.Time) {
	t.Helper()
	start = time.Now()
	_, stderr, code := runBinary(t, opsTimeout, "backup", "--data-dir", dataDir, "--to", to, "--include-master-key")
	end = time.Now()
	if code != 0 {
		t.Fatalf("backup: exit status %d: %s", code, stderr)
	}
	return start, end
}

// TestBackupDuringUpdates backs a server up three times while its
// functions' code is replaced without pause and its garbage collection
// deletes replaced code every 20ms. Each backup, restored into a fresh
// data dir and served, must show every function with code it had at one
// moment within the backup: CodeSha256, the bytes of Code.Location and
// what an invocation answers agree, through the SDK and boto3. A layer's
// version 1 (attached to ops-a, deleted before the backups, so only ops-a
// keeps its code) and version 2 come back too. check passes on a restored
// data dir, and fails naming the function, and the layer, once their code
// blobs are corrupted or deleted.
func TestBackupDuringUpdates(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithArgs("--gc-interval", "20ms", "--gc-grace", "0s"))
	client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	setup := &SDK{Client: client}
	// Layer zips too large to be stored inline.
	layerZip := func(word string) []byte {
		pad := make([]byte, 200<<10)
		rand.Read(pad)
		return makeZip(t, "python/ops_layer.py", "WORD = '"+word+"'\n", "pad.bin", string(pad))
	}
	layer1, layer2 := layerZip("v1"), layerZip("v2")
	layer1ARN := publishLayer(t, setup, "ops-layer", layer1, nil).Str("LayerVersionArn")
	layer2ARN := publishLayer(t, setup, "ops-layer", layer2, nil).Str("LayerVersionArn")
	fns := []*opsFunction{
		{name: "ops-big", pad: 1 << 20}, {name: "ops-blob", pad: 200 << 10},
		{name: "ops-a"}, {name: "ops-b"},
	}
	for _, f := range fns {
		f.version = map[string]int{}
		zip := f.zip(t, 0)
		i := f.send(codeSHA(zip), 0)
		extra := Params{"Code": Params{"ZipFile": zip}}
		if f.name == "ops-a" {
			extra["Layers"] = []string{layer1ARN}
		}
		createFunction(t, setup, f.name, python312Fn, 0, extra)
		f.answered(i, true, false)
	}
	setup.Call(t, "DeleteLayerVersion", Params{"LayerName": "ops-layer", "VersionNumber": 1}).OK(t)

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, f := range fns {
		wg.Go(func() { f.update(t, ctx, client) })
	}
	// Runs before the server stops, also when the test fails early.
	t.Cleanup(func() { stop(); wg.Wait() })
	type run struct {
		dir        string
		start, end time.Time
	}
	// moreAcks waits until every function has had another update
	// acknowledged, so that each backup sees different code.
	moreAcks := func() {
		t.Helper()
		want := map[*opsFunction]int{}
		for _, f := range fns {
			want[f] = f.acks() + 1
		}
		deadline := time.Now().Add(waitTimeout)
		for _, f := range fns {
			for f.acks() < want[f] {
				if t.Failed() {
					t.FailNow()
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: no update acknowledged within %v", f.name, waitTimeout)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	var runs []run
	for i := range 3 {
		moreAcks()
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("bk%d", i))
		start, end := backup(t, srv.DataDir, dir)
		runs = append(runs, run{dir, start, end})
	}
	moreAcks()
	stop()
	wg.Wait()
	for _, f := range fns {
		t.Logf("%s: %d updates acknowledged", f.name, f.acks())
	}

	var last *Server
	for i, r := range runs {
		dataDir := filepath.Join(t.TempDir(), "restored")
		if _, stderr, code := runBinary(t, opsTimeout, "restore", "--from", r.dir, "--data-dir", dataDir); code != 0 {
			t.Fatalf("restore of backup %d: exit status %d: %s", i, code, stderr)
		}
		restored := Start(t, withDataDir(dataDir))
		drivers := []Driver{&SDK{Client: NewSDKClient(restored.Endpoint, TestCredentials, "us-east-1")}}
		if i == len(runs)-1 {
			drivers = append(drivers, NewBoto3(t, restored.Endpoint, TestCredentials, "us-east-1"))
			last = restored
		}
		for _, d := range drivers {
			// The moment of the snapshot: within the backup, and within
			// the time each function could have had the code it shows.
			from, to := r.start, r.end
			for _, f := range fns {
				get := d.Call(t, "GetFunction", Params{"FunctionName": f.name}).OK(t)
				sha := get.Str("Configuration.CodeSha256")
				fFrom, fTo, ok := f.window(sha)
				if !ok {
					t.Errorf("backup %d, %s: %s has CodeSha256 %s, which no update sent", i, d.Name(), f.name, sha)
					continue
				}
				if fFrom.After(from) {
					from = fFrom
				}
				if fTo.Before(to) {
					to = fTo
				}
				if code := download(t, get.Str("Code.Location")); codeSHA(code) != sha {
					t.Errorf("backup %d, %s: %s serves code of CodeSha256 %s, but reports %s", i, d.Name(), f.name, codeSHA(code), sha)
				}
				mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": f.name})
				f.mu.Lock()
				version := f.version[sha]
				f.mu.Unlock()
				wantVersion(t, invoke(t, d, f.name, map[string]any{}), version)
			}
			if !from.Before(to) {
				t.Errorf("backup %d, %s: the functions' code was never all current at one moment during the backup", i, d.Name())
			}
			// ops-a ran above with its layer unpacked at /opt; its
			// configuration still names the deleted version 1.
			cfg := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": "ops-a"}).OK(t)
			if ls := items(cfg.Get("Layers")); len(ls) != 1 || str(ls[0], "Arn") != layer1ARN {
				t.Errorf("backup %d, %s: ops-a's Layers = %v, want %s", i, d.Name(), cfg.Get("Layers"), layer1ARN)
			}
			lv := d.Call(t, "GetLayerVersionByArn", Params{"Arn": layer2ARN}).OK(t)
			if got := download(t, lv.Str("Content.Location")); !bytes.Equal(got, layer2) {
				t.Errorf("backup %d, %s: layer version 2 downloads as other bytes than published", i, d.Name())
			}
		}
		if stdout, stderr, code := runBinary(t, opsTimeout, "check", "--data-dir", dataDir); code != 0 {
			t.Errorf("check of restored backup %d: exit status %d: %s%s", i, code, stdout, stderr)
		}
	}

	// Damage the restored code blobs by hand (ops-big's, ops-blob's and
	// the two layer versions': the rest is stored inline); check beside
	// the server names the functions and the layer.
	blobs, err := filepath.Glob(filepath.Join(last.DataDir, "code", "blobs", "sha256", "*"))
	if err != nil || len(blobs) != 4 {
		t.Fatalf("restored blobs: %v, %v; want those of ops-big, ops-blob and the two layer versions", blobs, err)
	}
	for _, blob := range blobs {
		b, err := os.ReadFile(blob)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		// The blob may be a hard link shared with the backup: replace it
		// rather than write into it.
		if err := os.WriteFile(blob+".new", b, 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(blob+".new", blob); err != nil {
			t.Fatal(err)
		}
	}
	wantCheckFails := func(what string) {
		t.Helper()
		stdout, _, code := runBinary(t, opsTimeout, "check", "--data-dir", last.DataDir)
		for _, fn := range []string{"ops-big", "ops-blob"} {
			if code != 1 || !strings.Contains(stdout, "function:"+fn+":$LATEST: code") || !strings.Contains(stdout, what) {
				t.Errorf("check: exit status %d, output %q; want 1 and a problem of %s's $LATEST saying %q", code, stdout, fn, what)
			}
		}
		for _, holder := range []string{layer2ARN + ": code", "function:ops-a:$LATEST: layer " + layer1ARN + ": code"} {
			if !strings.Contains(stdout, holder) {
				t.Errorf("check: output %q; want a problem of %q", stdout, holder)
			}
		}
	}
	wantCheckFails("does not open with its key")
	for _, blob := range blobs {
		if err := os.Remove(blob); err != nil {
			t.Fatal(err)
		}
	}
	wantCheckFails("missing")
}

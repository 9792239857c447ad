//go:build e2e

// Package e2e runs the real lambdahost binary and drives it as users do:
// with the aws CLI, with boto3 and with aws-sdk-go-v2.
//
//	go test -tags e2e ./e2e/
//
// TestMain builds ./cmd/lambdahost once (or uses LAMBDAHOST_E2E_BINARY).
// A test starts its own server on 127.0.0.1:0 with its own data directory
// (Start), or uses the package's shared one (Shared) if it needs no
// options, no restart and no account-wide state of its own. A missing aws
// CLI, python3 or boto3 skips the tests that need it, unless
// LAMBDAHOST_E2E_REQUIRE=1, as in CI, fails them.
//
// Rules that keep the suite green on a loaded 2-core CI machine under
// -race, and its time in bounds:
//   - Every test calls t.Parallel(): the package runs 8 tests at once
//     (most wait on processes), and its wall time is CI's critical path.
//   - Nothing is decided by a deadline, a sleep or a short timeout. Poll
//     for the behaviour with waitTimeout (minutes) as the bound, which only
//     decides how long a broken build takes to fail. Functions get Timeout
//     fnTimeout (createFunction, createParams); a test of the timeout
//     itself makes the handler outlast any bound (sleep for minutes).
//     Where time itself is tested (ages, skews, backoffs), leave minutes
//     of margin.
//   - "Nothing else happens" checks (no fourth retry, no second run) may
//     sleep a little before looking: a slow machine can only make them
//     pass, never fail.
//   - A component the machine lacks skips the test with requireTool (or
//     testserver's helpers), which fails it in CI.
//   - Large payloads: the SDK driver passes []byte members around
//     encoding/json; keep tens of megabytes out of other JSON paths.
//   - CPU is the budget. An aws CLI command is the dearest call (about
//     0.15 s of CPU even in the CLI driver's long-lived runners, against
//     milliseconds for the SDK): give the CLI what it adds, how it passes
//     parameters and prints answers, on one runtime (forDriver), not every
//     variation.
//
// Scenarios and the drivers each goes through (raw: hand-signed or unsigned
// net/http requests; bin: the binary's command line):
//
//	#   scenario                                    test                           drivers
//	1   create, wait, get, download, update, wait   TestLifecycle                  cli boto3 sdk
//	2   State/RevisionId sequence, stale revision   TestStateAndRevisionID         cli boto3 sdk
//	3   UpdateFunctionCode parameters               TestUpdateFunctionCodeOptions  cli boto3 sdk
//	    UpdateFunctionCode errors                   TestUpdateFunctionCodeErrors   cli boto3 sdk (not a zip: boto3 sdk)
//	4   zip over 52428800 bytes                     TestOversizeZip                boto3 sdk
//	    request body over 70167211 bytes            TestOversizeBody               sdk raw
//	5   10 updates with one RevisionId at once      TestConcurrentUpdates          boto3 sdk
//	    10 creates of one name at once              TestConcurrentUpdates          sdk
//	6   PublishVersion preconditions, paging        TestPublishVersion             cli boto3 sdk
//	7   aliases, routing, alias errors              TestAliases                    cli boto3 sdk
//	8   ListFunctions paging, FunctionVersion=ALL   TestListFunctions              cli boto3 sdk
//	9   tags                                        TestTags                       cli boto3 sdk
//	10  account usage                               TestAccountSettings            boto3 sdk
//	    --code-storage-limit                        TestCodeStorageLimit           boto3 sdk
//	11  DeleteFunction, function-exists waiter      TestDeleteFunction             cli boto3 sdk (waiter timeouts: boto3 sdk)
//	12  refused authentication changes nothing      TestAuthentication             cli boto3 sdk raw
//	    Code.Location cannot be forged              TestCodeLocationSignature      sdk raw
//	13  accounts cannot reach each other            TestAccountIsolation           cli boto3 sdk
//	    regions are distinct                        TestRegionIsolation            cli boto3 sdk (usage: boto3 sdk)
//	14  SIGKILL during updates and creates          TestCrashDuringUpdates         sdk (writes and checks) boto3 (checks)
//	15  SIGTERM drains an in-flight large update    TestSIGTERMDrainsUpdate        boto3 sdk
//	16  version, refusal to listen publicly         TestCommandLine                bin
//	17  each runtime: invoke, update code, invoke   TestInvokeUpdateCode           cli boto3 sdk
//	    handler and init errors, runtime exits      TestInvokeFunctionErrors       cli boto3 sdk
//	    Timeout, then the next invocation works     TestInvokeTimeout              cli boto3 sdk
//	    MemorySize exceeded: Runtime.OutOfMemory    TestInvokeOutOfMemory          boto3 sdk
//	    LogType Tail                                TestInvokeLogTail              cli boto3 sdk
//	18  invoke versions and aliases, routing        TestInvokeVersionsAndAliases   cli boto3 sdk (routing: boto3 sdk)
//	19  Event invocations, retries of failures      TestInvokeAsync                cli boto3 sdk
//	20  DryRun, Pending, 404, 400, 413, 429         TestInvokeAPIErrors            cli boto3 sdk
//	21  environment, context, configuration update  TestInvokeEnvironment          cli boto3 sdk
//	    InvokeWithResponseStream                    TestInvokeWithResponseStream   boto3 sdk
//	22  sandbox: code, /proc, network, uid, /tmp    TestSandbox                    sdk
//	23  100 code updates under invocation load      TestSwapUnderLoad              sdk
//	24  account A cannot reach B's function at all  TestAccountIsolationSuite      boto3 sdk
//	25  zip-slip, links, bombs, duplicate entries   TestHostileZip                 sdk
//	    nested JSON, headers, base64, replay, paths TestHostileRequests            sdk raw
//	26  Signer profiles, jobs, revocation, sign     TestSigner                     cli boto3 bin
//	    signed deploys; tampered, unsigned, revoked TestCodeSigningFlow            cli
//	    the nine code signing config operations     TestCodeSigningConfigs         cli boto3 sdk
//	27  SourceKMSKeyArn, no plaintext, disabled key TestSourceKMSKeyArn            cli (kms) sdk
//	28  one serve per data dir, kill -9 frees it    TestDataDirLock                bin
//	29  backup during updates, restore, serve, check TestBackupDuringUpdates       sdk boto3 bin
//	30  several nodes on PostgreSQL and S3 (StartCluster):
//	    update on A, wait on B, invoke on C         TestClusterOneTruth            cli boto3 sdk
//	    same RevisionId from every node at once     TestClusterConcurrentUpdates   cli boto3 sdk
//	    SIGKILL of the node holding an Event        TestClusterAsyncEventTakenOver boto3 sdk cli
//	    SIGKILL mid-upload: nothing torn            TestClusterKilledMidUpload     raw cli boto3 sdk
//	    a node started later catches up             TestClusterLateNode            cli boto3 sdk
//	    reserved concurrency across nodes           TestClusterReservedConcurrency boto3 sdk
//	    another master key refuses to serve         TestClusterWrongMasterKey      bin sdk
//	    an environment's session on every node,
//	    until its node is killed                    TestClusterSessions            sdk (inside: boto3)
//	    migrate a populated SQLite data dir         TestMigrate                    bin cli boto3 sdk
//	31  AddPermission, GetPolicy, RemovePermission  TestPermissions                cli boto3 sdk
//	    B invokes A's function only while granted   TestCrossAccountPermissions    cli boto3 sdk
//	32  function URL configs, paging, errors        TestFunctionURLConfigs         cli boto3 sdk
//	    URL traffic: queries, cookies, bodies, auth TestFunctionURLTraffic         sdk curl net/http
//	    RESPONSE_STREAM URLs stream as written      TestFunctionURLStreaming       sdk curl net/http
//	    URLs in Chromium: CORS, cookies, streaming  TestFunctionURLBrowser         sdk chromium
//	33  functions reach the world (pasta, SDKs):
//	    API and host loopback from inside           TestFunctionNetworkHost        sdk (inside: boto3, sdk)
//	    @aws-sdk in a Node.js ES module             TestFunctionNodeSDK            sdk (inside: @aws-sdk)
//	    --function-network none and internet        TestFunctionNetworkModes       sdk (inside: boto3, sdk)
//	    copied credentials: role, account, end      TestFunctionCredentials        sdk boto3 (inside: boto3)
//	34  layers: publish, attach, /opt, v2, delete   TestLayers                     cli boto3 sdk (restart: sdk)
//	    /opt/bootstrap, later layers win            TestLayerBootstrap             sdk
//	    another account refused, then allowed       TestLayerAcrossAccounts        cli boto3 sdk
//	    unzipped size limits                        TestLayerLimits                boto3 sdk
//	    signed layer from S3 under Enforce          TestSignedLayer                cli
//	35  the reads of a deploy tool's refresh        TestRefreshReads               cli boto3 sdk
//	36  /tmp: disk apart from memory, ENOSPC, warm  TestEphemeralStorage           boto3 sdk
//	    /tmp: 10 GB, private, resized, emptied      TestEphemeralStorage           sdk
//	37  console: sign in, live list, invoke, roll   TestConsoleBrowser             sdk chromium
//	    back InProgress → Successful, history, a11y
//	38  /metrics counters move with real calls      TestMetrics                    sdk net/http
//	    --metrics-listen with a bearer token        TestMetricsListen              net/http
//	    async, event source counters, lag series    TestAsyncMetrics               sdk net/http (moto)
//	39  deploy: reproducible zip, publish, alias    TestDeploy                     bin sdk
//	    deploy --watch: edit → runs, failure, goes on TestDeployWatch              bin sdk
//	40  destinations on moto (SQS, SNS, EventBridge):
//	    OnSuccess, OnFailure, dead-letter queue     TestAsyncDestinations          cli boto3 sdk
//	    SNS, EventBridge, Lambda; InvokeAsync       TestDestinationServices        boto3 sdk cli
//	41  SQS mappings: batches, partial failure,     TestSQSMapping                 cli boto3 sdk
//	    filters, disable/enable, FIFO order
//	42  Kinesis mappings (kinesalite): order,       TestKinesisMapping             cli boto3 sdk
//	    bisect, OnFailure record, LATEST
//	43  provisioned concurrency: READY, used first  TestProvisionedConcurrency     cli boto3 sdk
//	44  SIGKILL while SQS messages flow: none lost, TestCrashWhileMessagesFlow     boto3 sdk
//	    none deleted before its function succeeded,
//	    a stored OnSuccess record sent after restart
package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost/internal/testserver"
)

// binary is the lambdahost executable under test.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	code := runTests(m)
	testserver.StopPostgres()
	os.Exit(code)
}

func runTests(m *testing.M) int {
	// Most tests wait on child processes rather than compute, so run more
	// of them at once than there are CPUs, unless -parallel says otherwise.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "8")
	}
	if b := os.Getenv("LAMBDAHOST_E2E_BINARY"); b != "" {
		binary = b
		return runAndStopShared(m)
	}
	dir, err := os.MkdirTemp("", "lambdahost-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: find module root:", err)
		return 1
	}
	binary = filepath.Join(dir, "lambdahost")
	cmd := exec.Command("go", "build", "-o", binary, "./cmd/lambdahost")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/lambdahost: %v\n%s", err, out)
		return 1
	}
	return runAndStopShared(m)
}

// runAndStopShared runs the tests, then stops the shared server (Shared):
// the run fails if it did not exit cleanly.
func runAndStopShared(m *testing.M) int {
	code := m.Run()
	if !stopShared() && code == 0 {
		code = 1
	}
	return code
}

// moduleRoot returns the directory of go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod), nil
	}
	return filepath.Abs("..")
}

// testRole is a well-formed execution role.
const testRole = "arn:aws:iam::000000000000:role/lambda-role"

// zipTime fixes the zips' timestamps so that equal contents give equal bytes.
var zipTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// makeZip returns a zip archive of files (name, content, name, content...).
func makeZip(t testing.TB, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: files[i], Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, files[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// handlerZip returns a small Python function whose code embeds label, so
// that distinct labels give distinct CodeSha256.
func handlerZip(t testing.TB, label string) []byte {
	t.Helper()
	return makeZip(t, "index.py", fmt.Sprintf("def handler(event, context):\n    return %q\n", label))
}

// storedZip returns a zip holding one uncompressed file of n pseudo-random
// bytes drawn from seed. Zips of equal n have equal sizes.
func storedZip(t testing.TB, n int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.Grow(n + 512)
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store, Modified: zipTime})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), 1})
	if _, err := io.CopyN(w, r, int64(n)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// codeSHA is CodeSha256 as Lambda reports it: base64 of the zip's SHA-256.
func codeSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// download fetches a Code.Location URL, without credentials, as clients do.
func download(t testing.TB, url string) []byte {
	t.Helper()
	if url == "" {
		t.Fatal("download: no Code.Location")
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("download code: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("download code: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download code: HTTP %d: %s", resp.StatusCode, b)
	}
	return b
}

// fnTimeout is the Timeout, in seconds, of the functions the tests create:
// long enough that it never decides a test on a loaded machine. Tests of
// the timeout itself set their own.
const fnTimeout = 120

// createParams are CreateFunction's parameters for a Python zip function.
func createParams(name string, zip []byte) Params {
	return Params{
		"FunctionName": name,
		"Runtime":      "python3.12",
		"Role":         testRole,
		"Handler":      "index.handler",
		"Code":         Params{"ZipFile": zip},
		"Timeout":      fnTimeout,
	}
}

// waitTimeout bounds every waiter that is expected to succeed, and every
// poll for something that happens at once when the code works: it only
// decides how long a broken build takes to fail, so it is generous for a
// loaded machine.
const waitTimeout = 3 * time.Minute

// mustCreate creates a function from zip and waits until it is Active.
func mustCreate(t testing.TB, d Driver, name string, zip []byte) *Result {
	t.Helper()
	r := d.Call(t, "CreateFunction", createParams(name, zip)).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": name})
	return r
}

// mustWait runs a waiter that must succeed.
func mustWait(t testing.TB, d Driver, waiter string, params Params) {
	t.Helper()
	if err := d.Wait(t, waiter, params, waitTimeout); err != nil {
		t.Fatalf("%s: wait %s %v: %v", d.Name(), waiter, params, err)
	}
}

// mustUpdateCode updates the code and waits until the update is done.
func mustUpdateCode(t testing.TB, d Driver, name string, zip []byte) *Result {
	t.Helper()
	r := d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": zip}).OK(t)
	mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})
	return r
}

// wantStr checks the string at path of r.
func wantStr(t testing.TB, r *Result, path, want string) {
	t.Helper()
	if got := r.Str(path); got != want {
		t.Errorf("%s %s: %s = %q, want %q", r.Driver, r.Op, path, got, want)
	}
}

// wantAbsent checks that r has no value at path. An empty string counts as
// absent: the SDK's enum fields cannot be nil.
func wantAbsent(t testing.TB, r *Result, path string) {
	t.Helper()
	if v := r.Get(path); v != nil && v != "" {
		t.Errorf("%s %s: %s = %v, want absent", r.Driver, r.Op, path, v)
	}
}

// wantCode checks CodeSha256 and CodeSize of a configuration at prefix
// ("" or "Configuration.").
func wantCode(t testing.TB, r *Result, prefix string, zip []byte) {
	t.Helper()
	wantStr(t, r, prefix+"CodeSha256", codeSHA(zip))
	if got := r.Int(prefix + "CodeSize"); got != int64(len(zip)) {
		t.Errorf("%s %s: %sCodeSize = %d, want %d", r.Driver, r.Op, prefix, got, len(zip))
	}
}

// functionARN is the unqualified ARN of a function of the test account.
func functionARN(region, account, name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
}

// str returns the string member k of m, or "".
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Params are the parameters of an operation, named and shaped as in the
// Lambda API (the JSON of the request). A []byte value is a blob (ZipFile):
// each driver passes it the way its users do (fileb:// for the CLI, bytes
// for boto3 and the SDK).
type Params = map[string]any

// Result is the outcome of one API call as a driver saw it.
type Result struct {
	Driver string
	Op     string
	// Status is the HTTP status, or 0 when the driver does not expose it
	// (the CLI).
	Status int
	// Code and Message are the error's; Code is empty on success.
	Code    string
	Message string
	// Body is the response, nil on error and for empty responses.
	Body map[string]any
	// Err is set when there was no API answer at all: a client-side
	// validation error, a refused connection, a failed waiter.
	Err error
	// Reason is the Reason member of an error (a TooManyRequestsException's
	// ThrottleReason), where the driver shows it (not the CLI).
	Reason string

	// Invoke and InvokeWithResponseStream fill the fields below, the same
	// way for every driver; Status is then the StatusCode (200, 202, 204),
	// for the CLI too.
	//
	// Payload is the response body: the function's result or error
	// document (for a stream, its chunks joined).
	Payload []byte
	// FunctionError is X-Amz-Function-Error ("Unhandled"); for a stream,
	// the InvokeComplete event's ErrorCode ("Sandbox.Timedout"), whose
	// ErrorDetails are then the Payload.
	FunctionError string
	// Log is X-Amz-Log-Result (or the stream's LogResult), decoded.
	Log string
	// ExecutedVersion is X-Amz-Executed-Version.
	ExecutedVersion string
}

// invokeOps are the operations that answer an invocation's outcome.
var invokeOps = map[string]bool{"Invoke": true, "InvokeWithResponseStream": true}

// fillInvoke sets the invocation fields of r from its Body, which holds
// the outcome as the SDKs name it (StatusCode, FunctionError, LogResult,
// ExecutedVersion, Payload as base64; for a stream ErrorCode, ErrorDetails).
func (r *Result) fillInvoke() error {
	if r.Body == nil {
		return nil
	}
	if sc := r.Int("StatusCode"); sc > 0 {
		r.Status = int(sc)
	}
	if p := r.Str("Payload"); p != "" {
		b, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return fmt.Errorf("%s %s: Payload is not base64: %w", r.Driver, r.Op, err)
		}
		r.Payload = b
	}
	r.FunctionError = r.Str("FunctionError")
	if code := r.Str("ErrorCode"); code != "" {
		r.FunctionError = code
		r.Payload = []byte(r.Str("ErrorDetails"))
	}
	if lr := r.Str("LogResult"); lr != "" {
		b, err := base64.StdEncoding.DecodeString(lr)
		if err != nil {
			return fmt.Errorf("%s %s: LogResult is not base64: %w", r.Driver, r.Op, err)
		}
		r.Log = string(b)
	}
	r.ExecutedVersion = r.Str("ExecutedVersion")
	return nil
}

// Reply decodes the Payload of an invocation as a JSON object. It fails
// the test unless the invocation succeeded and answered one.
func (r *Result) Reply(t testing.TB) map[string]any {
	t.Helper()
	r.OK(t)
	if r.FunctionError != "" {
		t.Fatalf("%s %s: function error %s: %s", r.Driver, r.Op, r.FunctionError, r.Payload)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Payload, &m); err != nil {
		t.Fatalf("%s %s: payload is not a JSON object: %v: %q", r.Driver, r.Op, err, r.Payload)
	}
	return m
}

// Driver calls the Lambda API through one client: the aws CLI, boto3 or
// aws-sdk-go-v2.
type Driver interface {
	// Name is "cli", "boto3" or "sdk".
	Name() string
	// Call makes one request of operation op ("UpdateFunctionCode").
	Call(t testing.TB, op string, params Params) *Result
	// Wait runs the client's waiter ("FunctionUpdatedV2") for at most
	// about maxWait, polling quickly where the client allows it.
	Wait(t testing.TB, waiter string, params Params, maxWait time.Duration) error
	// Paginate lists everything op answers using the client's own
	// pagination with pageSize items per request.
	Paginate(t testing.TB, op string, params Params, pageSize int) []map[string]any
}

// Driver kinds.
const (
	CLIDriver   = "cli"
	Boto3Driver = "boto3"
	SDKDriver   = "sdk"
)

// allDrivers are the driver kinds scenarios run through by default.
var allDrivers = []string{CLIDriver, Boto3Driver, SDKDriver}

// sdkDrivers leave out the CLI, for scenarios where it would only repeat
// boto3 (the CLI is botocore too) at a second a call.
var sdkDrivers = []string{Boto3Driver, SDKDriver}

// NewDriver returns a driver of kind for srv, signing as creds in region.
// It skips the test when the driver's tool is missing.
func NewDriver(t testing.TB, kind string, srv *Server, creds Credentials, region string) Driver {
	t.Helper()
	switch kind {
	case CLIDriver:
		return NewCLI(t, srv.Endpoint, creds, region)
	case Boto3Driver:
		return NewBoto3(t, srv.Endpoint, creds, region)
	case SDKDriver:
		return &SDK{Client: NewSDKClient(srv.Endpoint, creds, region)}
	}
	t.Fatalf("unknown driver %q", kind)
	return nil
}

// forEachDriver runs f as a parallel subtest per driver kind, each with a
// driver for srv signing as the built-in test credentials in us-east-1.
func forEachDriver(t *testing.T, srv *Server, kinds []string, f func(t *testing.T, d Driver)) {
	t.Helper()
	forEachDriverIn(t, srv, kinds, func(string) string { return "us-east-1" }, f)
}

// forEachDriverIn is forEachDriver with each driver signing for the region
// that region names for its kind.
func forEachDriverIn(t *testing.T, srv *Server, kinds []string, region func(kind string) string, f func(t *testing.T, d Driver)) {
	t.Helper()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, NewDriver(t, kind, srv, TestCredentials, region(kind)))
		})
	}
}

// OK fails the test unless r succeeded, and returns r.
func (r *Result) OK(t testing.TB) *Result {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("%s %s: %v", r.Driver, r.Op, r.Err)
	}
	if r.Code != "" {
		t.Fatalf("%s %s: HTTP %d %s: %s", r.Driver, r.Op, r.Status, r.Code, r.Message)
	}
	return r
}

// WantError checks that r is an API error of type code with HTTP status
// (unchecked when the driver cannot tell) and, unless message is empty,
// exactly that message.
func (r *Result) WantError(t testing.TB, status int, code, message string) {
	t.Helper()
	if r.Err != nil {
		t.Errorf("%s %s: got no API answer (%v), want %d %s", r.Driver, r.Op, r.Err, status, code)
		return
	}
	if r.Code == "" {
		t.Errorf("%s %s: succeeded (HTTP %d), want %d %s", r.Driver, r.Op, r.Status, status, code)
		return
	}
	if r.Code != code {
		t.Errorf("%s %s: error %s (%q), want %s", r.Driver, r.Op, r.Code, r.Message, code)
	}
	if r.Status != 0 && r.Status != status {
		t.Errorf("%s %s: HTTP status %d, want %d", r.Driver, r.Op, r.Status, status)
	}
	if message != "" && r.Message != message {
		t.Errorf("%s %s: message\n got %q\nwant %q", r.Driver, r.Op, r.Message, message)
	}
}

// WantStatus checks the HTTP status of a success, when the driver tells it.
func (r *Result) WantStatus(t testing.TB, status int) {
	t.Helper()
	if r.Status != 0 && r.Status != status {
		t.Errorf("%s %s: HTTP status %d, want %d", r.Driver, r.Op, r.Status, status)
	}
}

// Get returns the value at a dotted path of the body ("Configuration.CodeSha256"),
// or nil.
func (r *Result) Get(path string) any {
	return lookup(r.Body, path)
}

// Str returns the string at path, or "" if there is none.
func (r *Result) Str(path string) string {
	s, _ := r.Get(path).(string)
	return s
}

// Int returns the number at path, or -1 if there is none.
func (r *Result) Int(path string) int64 {
	if f, ok := r.Get(path).(float64); ok {
		return int64(f)
	}
	return -1
}

func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// kebab turns an API name into the CLI's spelling as botocore's
// xform_name does: GetFunctionConfiguration → get-function-configuration,
// SourceKMSKeyArn → source-kms-key-arn, FunctionUpdatedV2 → function-updated-v2.
func kebab(name string) string {
	s := reFirstCap.ReplaceAllString(name, "${1}-${2}")
	return strings.ToLower(reEndCap.ReplaceAllString(s, "${1}-${2}"))
}

var (
	reFirstCap = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	reEndCap   = regexp.MustCompile(`([a-z0-9])([A-Z])`)
)

func TestKebab(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GetFunctionConfiguration", "get-function-configuration"},
		{"SourceKMSKeyArn", "source-kms-key-arn"},
		{"FunctionUpdatedV2", "function-updated-v2"},
		{"CodeSha256", "code-sha256"},
		{"S3Bucket", "s3-bucket"},
		{"ZipFile", "zip-file"},
	}
	for _, tt := range tests {
		if got := kebab(tt.in); got != tt.want {
			t.Errorf("kebab(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// paginatedOps are the operations the CLI pages through by itself.
var paginatedOps = map[string]string{
	"ListFunctions":          "Functions",
	"ListVersionsByFunction": "Versions",
	"ListAliases":            "Aliases",

	"ListCodeSigningConfigs":           "CodeSigningConfigs",
	"ListFunctionsByCodeSigningConfig": "FunctionArns",
	"ListFunctionUrlConfigs":           "FunctionUrlConfigs",

	"ListLayers":        "Layers",
	"ListLayerVersions": "LayerVersions",

	"ListEventSourceMappings":           "EventSourceMappings",
	"ListFunctionEventInvokeConfigs":    "FunctionEventInvokeConfigs",
	"ListProvisionedConcurrencyConfigs": "ProvisionedConcurrencyConfigs",
}

// CLI drives the aws CLI, with its own config and credentials files.
//
// Commands run in a few long-lived Python processes (testdata/cli/
// runner.py) that each run command after command as the aws script does,
// each with a new CLI driver and botocore session: the same code, minus
// starting Python and importing the CLI, which is most of what a command
// costs. Where that is not possible (an aws CLI that is not Python's, v2),
// or with LAMBDAHOST_E2E_CLI=exec, every command is a process of its own.
type CLI struct {
	path     string
	python   string // the aws script's interpreter, for runner.py; "" to exec aws
	dir      string
	endpoint string
	env      []string
	files    int
	mu       sync.Mutex
	idle     []*cliRunner // runners waiting for a command
	runners  []*cliRunner // every runner started, to stop at the end
}

// CLIResult is what one aws command printed.
type CLIResult struct {
	JSON     map[string]any // stdout, parsed; nil if empty
	Stdout   string
	Stderr   string
	ExitCode int
}

// NewCLI returns a CLI driver for endpoint that signs as creds in region.
// It skips the test if the aws CLI is missing.
func NewCLI(t testing.TB, endpoint string, creds Credentials, region string) *CLI {
	t.Helper()
	path := needAWS(t)
	dir := t.TempDir()
	config := fmt.Sprintf("[default]\nregion = %s\noutput = json\nmax_attempts = 1\nretry_mode = standard\ncli_pager =\n", region)
	shared := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", creds.AccessKeyID, creds.SecretAccessKey)
	for name, content := range map[string]string{"config": config, "credentials": shared} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append(envWithout(os.Environ(), "AWS_"),
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	c := &CLI{path: path, python: cliPython(path), dir: dir, endpoint: endpoint, env: env}
	t.Cleanup(c.stopRunners)
	return c
}

// Name implements Driver.
func (c *CLI) Name() string { return CLIDriver }

// Run runs "aws --endpoint-url ENDPOINT --output json ARGS...".
func (c *CLI) Run(t testing.TB, args ...string) *CLIResult {
	t.Helper()
	args = append([]string{"--endpoint-url", c.endpoint, "--output", "json"}, args...)
	var r *CLIResult
	var err error
	if c.python != "" {
		r, err = c.runInRunner(args)
	} else {
		r, err = c.exec(t, args)
	}
	if err != nil {
		t.Fatalf("aws %s: %v", strings.Join(args[4:], " "), err)
	}
	if s := bytes.TrimSpace([]byte(r.Stdout)); len(s) > 0 {
		if err := json.Unmarshal(s, &r.JSON); err != nil {
			t.Fatalf("aws %s: stdout is not a JSON object: %v\n%s", strings.Join(args[4:], " "), err, s)
		}
	}
	return r
}

// cliTimeout bounds one aws command: only a server that never answers
// could make one take this long.
const cliTimeout = 10 * time.Minute

// exec runs aws ARGS as a process of its own.
func (c *CLI) exec(t testing.TB, args []string) (*CLIResult, error) {
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, args...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	dieWithTest(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &CLIResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
	case err != nil:
		return nil, err
	}
	return r, nil
}

// cliRunner is a runner.py process.
type cliRunner struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
}

// runInRunner runs aws ARGS in an idle runner, or a new one.
func (c *CLI) runInRunner(args []string) (*CLIResult, error) {
	c.mu.Lock()
	var r *cliRunner
	if n := len(c.idle); n > 0 {
		r, c.idle = c.idle[n-1], c.idle[:n-1]
	}
	c.mu.Unlock()
	if r == nil {
		var err error
		if r, err = c.startRunner(); err != nil {
			return nil, err
		}
	}
	req, err := json.Marshal(map[string]any{"args": args})
	if err != nil {
		return nil, err
	}
	type answer struct {
		RC     int    `json:"rc"`
		Stdout string `json:"stdout"`
		Stderr string `json:"stderr"`
	}
	done := make(chan error, 1)
	var a answer
	go func() {
		if _, err := r.stdin.Write(append(req, '\n')); err != nil {
			done <- err
			return
		}
		line, err := r.stdout.ReadBytes('\n')
		if err != nil {
			done <- fmt.Errorf("runner.py: %w", err)
			return
		}
		done <- json.Unmarshal(line, &a)
	}()
	select {
	case err = <-done:
	case <-time.After(cliTimeout):
		err = fmt.Errorf("no answer after %v", cliTimeout)
	}
	if err != nil {
		r.cmd.Process.Kill()
		return nil, err
	}
	c.mu.Lock()
	c.idle = append(c.idle, r)
	c.mu.Unlock()
	return &CLIResult{Stdout: a.Stdout, Stderr: a.Stderr, ExitCode: a.RC}, nil
}

func (c *CLI) startRunner() (*cliRunner, error) {
	script, err := filepath.Abs(filepath.Join("testdata", "cli", "runner.py"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.python, script)
	cmd.Env = c.env
	cmd.Dir = c.dir
	cmd.Stderr = os.Stderr
	dieWithTest(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &cliRunner{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout)}
	c.mu.Lock()
	c.runners = append(c.runners, r)
	c.mu.Unlock()
	return r, nil
}

// stopRunners ends the runners: they exit at the end of their input.
func (c *CLI) stopRunners() {
	c.mu.Lock()
	runners := c.runners
	c.runners, c.idle = nil, nil
	c.mu.Unlock()
	for _, r := range runners {
		r.stdin.Close()
		done := make(chan struct{})
		go func() {
			r.cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			r.cmd.Process.Kill()
			<-done
		}
	}
}

// cliPython returns the interpreter of the aws script at path, if it is
// the Python CLI (v1) and LAMBDAHOST_E2E_CLI is not "exec": runner.py runs
// its commands. Otherwise it returns "", and every command is a process.
var cliPython = func() func(path string) string {
	var once sync.Once
	var python string
	return func(path string) string {
		once.Do(func() {
			if os.Getenv("LAMBDAHOST_E2E_CLI") == "exec" {
				return
			}
			f, err := os.Open(path)
			if err != nil {
				return
			}
			defer f.Close()
			line, _ := bufio.NewReader(f).ReadString('\n')
			interp, ok := strings.CutPrefix(strings.TrimSpace(line), "#!")
			if !ok || !strings.Contains(filepath.Base(interp), "python") || strings.ContainsRune(interp, ' ') {
				return
			}
			if exec.Command(interp, "-c", "import awscli.clidriver").Run() == nil {
				python = interp
			}
		})
		return python
	}
}()

// blobFile writes b to a new file and returns its path.
func (c *CLI) blobFile(t testing.TB, b []byte) string {
	t.Helper()
	c.mu.Lock()
	c.files++
	path := filepath.Join(c.dir, fmt.Sprintf("blob-%d.zip", c.files))
	c.mu.Unlock()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var reCLIError = regexp.MustCompile(`(?s)An error occurred \((\w+)\) when calling the (\w+) operation(?: \([^)]*\))?: (.*)`)

// Call implements Driver. Parameters go as users type them: strings as
// --flag VALUE, booleans as --flag or --no-flag, string lists as --flag A B,
// blobs as --zip-file fileb://PATH; numbers, maps and structures go in
// --cli-input-json. List operations get --no-paginate so that one call is
// one request.
func (c *CLI) Call(t testing.TB, op string, params Params) *Result {
	t.Helper()
	if op == "Invoke" {
		return c.invoke(t, params)
	}
	if op == "InvokeWithResponseStream" {
		t.Fatalf("cli driver: %s is not driven through the CLI", op)
	}
	args := []string{"lambda", kebab(op)}
	rest := Params{}
	for k, v := range params {
		flag := "--" + kebab(k)
		switch v := v.(type) {
		case []byte:
			args = append(args, flag, "fileb://"+c.blobFile(t, v))
			continue
		case string:
			// Marker is not a flag of paginated commands (--starting-token is).
			if k != "Marker" {
				args = append(args, flag, v)
				continue
			}
		case bool:
			if !v {
				flag = "--no-" + kebab(k)
			}
			args = append(args, flag)
			continue
		case []string:
			// An empty list cannot be typed as a flag; it goes in
			// --cli-input-json.
			if len(v) > 0 {
				args = append(append(args, flag), v...)
				continue
			}
		}
		if code, ok := v.(Params); ok && (k == "Code" || k == "Content") {
			// CreateFunction's Code.ZipFile and PublishLayerVersion's
			// Content.ZipFile are the CLI's --zip-file.
			code = cloneParams(code)
			if b, ok := code["ZipFile"].([]byte); ok {
				args = append(args, "--zip-file", "fileb://"+c.blobFile(t, b))
				delete(code, "ZipFile")
			}
			if len(code) == 0 {
				continue
			}
			v = code
		}
		rest[k] = v
	}
	if len(rest) > 0 {
		b, err := json.Marshal(rest)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, "--cli-input-json", string(b))
	}
	if _, ok := paginatedOps[op]; ok {
		args = append(args, "--no-paginate")
	}
	return cliResult(op, c.Run(t, args...))
}

// cliResult turns what an aws command printed into a Result.
func cliResult(op string, out *CLIResult) *Result {
	r := &Result{Driver: CLIDriver, Op: op, Body: out.JSON}
	if out.ExitCode != 0 {
		r.Body = nil
		if m := reCLIError.FindStringSubmatch(out.Stderr); m != nil {
			r.Code, r.Message = m[1], strings.TrimSpace(m[3])
		} else {
			r.Err = fmt.Errorf("exit status %d: %s", out.ExitCode, strings.TrimSpace(out.Stderr))
		}
	}
	return r
}

// maxInlinePayload bounds the payloads the CLI driver passes on the
// command line; larger ones go as fileb://, as a single argument is
// limited to 128 KiB.
const maxInlinePayload = 64 << 10

// invoke runs "aws lambda invoke ... OUTFILE" and reads the payload from
// OUTFILE. A payload is typed inline, as users do: CLI v2 needs
// --cli-binary-format raw-in-base64-out for that, while v1 always takes
// blobs raw (and has no such option). Large or binary payloads go as
// fileb://.
func (c *CLI) invoke(t testing.TB, params Params) *Result {
	t.Helper()
	args := []string{"lambda", "invoke"}
	for k, v := range params {
		flag := "--" + kebab(k)
		switch v := v.(type) {
		case []byte:
			if k != "Payload" {
				t.Fatalf("cli driver: Invoke blob parameter %s", k)
			}
			if len(v) <= maxInlinePayload && utf8.Valid(v) {
				if cliMajorVersion(t, c.path) >= 2 {
					args = append(args, "--cli-binary-format", "raw-in-base64-out")
				}
				args = append(args, flag, string(v))
			} else {
				args = append(args, flag, "fileb://"+c.blobFile(t, v))
			}
		case string:
			args = append(args, flag, v)
		default:
			t.Fatalf("cli driver: Invoke parameter %s=%v (%T)", k, v, v)
		}
	}
	c.mu.Lock()
	c.files++
	outfile := filepath.Join(c.dir, fmt.Sprintf("payload-%d.out", c.files))
	c.mu.Unlock()
	r := cliResult("Invoke", c.Run(t, append(args, outfile)...))
	if r.Code != "" || r.Err != nil {
		return r
	}
	if err := r.fillInvoke(); err != nil {
		t.Fatal(err)
	}
	// The CLI writes the payload to OUTFILE, and nothing for 202 and 204.
	b, err := os.ReadFile(outfile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	r.Payload = b
	return r
}

var (
	cliVersionOnce sync.Once
	cliVersion     int
)

// cliMajorVersion returns the major version of the aws CLI at path.
func cliMajorVersion(t testing.TB, path string) int {
	t.Helper()
	cliVersionOnce.Do(func() {
		out, err := exec.Command(path, "--version").CombinedOutput()
		if err != nil {
			return
		}
		// "aws-cli/1.45.11 Python/3.11.7 ..." or "aws-cli/2.27.0 ..."
		if m := regexp.MustCompile(`aws-cli/(\d+)\.`).FindSubmatch(out); m != nil {
			cliVersion, _ = strconv.Atoi(string(m[1]))
		}
	})
	if cliVersion == 0 {
		t.Fatalf("cannot tell the version of %s", path)
	}
	return cliVersion
}

// Wait implements Driver with "aws lambda wait". The CLI's waiters poll at
// their model's fixed delay and attempt count, which the CLI cannot change,
// so maxWait is not used.
func (c *CLI) Wait(t testing.TB, waiter string, params Params, maxWait time.Duration) error {
	t.Helper()
	args := []string{"lambda", "wait", kebab(waiter)}
	for k, v := range params {
		args = append(args, "--"+kebab(k), fmt.Sprint(v))
	}
	out := c.Run(t, args...)
	if out.ExitCode != 0 {
		return fmt.Errorf("aws lambda wait %s: exit status %d: %s", kebab(waiter), out.ExitCode, strings.TrimSpace(out.Stderr))
	}
	return nil
}

// Paginate implements Driver with the CLI's own pagination (--page-size).
func (c *CLI) Paginate(t testing.TB, op string, params Params, pageSize int) []map[string]any {
	t.Helper()
	args := []string{"lambda", kebab(op), "--page-size", strconv.Itoa(pageSize)}
	if len(params) > 0 {
		b, _ := json.Marshal(params)
		args = append(args, "--cli-input-json", string(b))
	}
	out := c.Run(t, args...)
	if out.ExitCode != 0 {
		t.Fatalf("aws %s: exit status %d: %s", strings.Join(args, " "), out.ExitCode, out.Stderr)
	}
	return items(out.JSON[paginatedOps[op]])
}

func items(v any) []map[string]any {
	list, _ := v.([]any)
	out := []map[string]any{}
	for _, it := range list {
		m, _ := it.(map[string]any)
		out = append(out, m)
	}
	return out
}

func cloneParams(p Params) Params {
	out := Params{}
	for k, v := range p {
		out[k] = v
	}
	return out
}

// Boto3 drives boto3 through testdata/boto3/driver.py, one long-lived
// Python process per driver.
type Boto3 struct {
	dir    string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	nblobs int
	mu     sync.Mutex
}

// boto3Env returns the environment of a boto3 script: no AWS_* variables
// and no shared config files, so only what the test passes counts.
func boto3Env(dir, endpoint string, creds Credentials, region string) []string {
	return append(envWithout(os.Environ(), "AWS_"),
		"E2E_ENDPOINT="+endpoint,
		"E2E_REGION="+region,
		"E2E_ACCESS_KEY_ID="+creds.AccessKeyID,
		"E2E_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"PYTHONDONTWRITEBYTECODE=1",
	)
}

// boto3Script returns the absolute path of a script in testdata/boto3.
func boto3Script(t testing.TB, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "boto3", name))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// NewBoto3 starts a boto3 driver for endpoint that signs as creds in
// region. It skips the test if python3 or boto3 is missing.
func NewBoto3(t testing.TB, endpoint string, creds Credentials, region string) *Boto3 {
	t.Helper()
	python := needBoto3(t)
	dir := t.TempDir()
	cmd := exec.Command(python, boto3Script(t, "driver.py"))
	cmd.Env = boto3Env(dir, endpoint, creds, region)
	cmd.Stderr = &logWriter{t: t, prefix: "boto3: "}
	dieWithTest(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start boto3 driver: %v", err)
	}
	b := &Boto3{dir: dir, cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(stdout, 1<<20)}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return b
}

// Name implements Driver.
func (b *Boto3) Name() string { return Boto3Driver }

type boto3Answer struct {
	OK      bool           `json:"ok"`
	Status  int            `json:"status"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Reason  string         `json:"reason"`
	Error   string         `json:"error"`
	Body    map[string]any `json:"body"`
	// CodeSHA256 is set by concurrent_update.py.
	CodeSHA256 string `json:"code_sha256"`
}

// send writes one command and reads its answer.
func (b *Boto3) send(t testing.TB, cmd map[string]any) *boto3Answer {
	t.Helper()
	line, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.stdin.Write(append(line, '\n')); err != nil {
		t.Fatalf("boto3 driver: write: %v", err)
	}
	out, err := b.stdout.ReadBytes('\n')
	if err != nil {
		t.Fatalf("boto3 driver: read: %v", err)
	}
	var a boto3Answer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("boto3 driver: %v: %s", err, out)
	}
	return &a
}

// files replaces blobs in v by {"$fileb": PATH} references.
func (b *Boto3) files(t testing.TB, v any) any {
	switch v := v.(type) {
	case []byte:
		b.mu.Lock()
		b.nblobs++
		path := filepath.Join(b.dir, fmt.Sprintf("blob-%d.zip", b.nblobs))
		b.mu.Unlock()
		if err := os.WriteFile(path, v, 0o600); err != nil {
			t.Fatal(err)
		}
		return map[string]any{"$fileb": path}
	case Params:
		out := Params{}
		for k, x := range v {
			out[k] = b.files(t, x)
		}
		return out
	}
	return v
}

// Call implements Driver.
func (b *Boto3) Call(t testing.TB, op string, params Params) *Result {
	t.Helper()
	a := b.send(t, map[string]any{"cmd": "call", "op": op, "params": b.files(t, params)})
	r := &Result{Driver: Boto3Driver, Op: op, Status: a.Status, Code: a.Code, Message: a.Message, Body: a.Body, Reason: a.Reason}
	if !a.OK && a.Code == "" {
		r.Err = errors.New(a.Error)
	}
	if invokeOps[op] && r.Code == "" && r.Err == nil {
		if err := r.fillInvoke(); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// Wait implements Driver with a boto3 waiter polling every 200ms.
func (b *Boto3) Wait(t testing.TB, waiter string, params Params, maxWait time.Duration) error {
	t.Helper()
	attempts := int(maxWait/(200*time.Millisecond)) + 1
	a := b.send(t, map[string]any{"cmd": "wait", "waiter": waiter, "params": params, "delay": 0.2, "max_attempts": attempts})
	if !a.OK {
		return fmt.Errorf("boto3 waiter %s: %s %s %s", waiter, a.Error, a.Code, a.Message)
	}
	return nil
}

// Paginate implements Driver with a boto3 paginator.
func (b *Boto3) Paginate(t testing.TB, op string, params Params, pageSize int) []map[string]any {
	t.Helper()
	a := b.send(t, map[string]any{"cmd": "paginate", "op": op, "params": params, "page_size": pageSize})
	if !a.OK {
		t.Fatalf("boto3 paginate %s: %s %s %s", op, a.Error, a.Code, a.Message)
	}
	return items(a.Body["items"])
}

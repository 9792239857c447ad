//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// deployEnv is the environment lambdahost deploy runs with: the test's
// credentials and region the standard AWS SDK way, and nothing of the
// machine's own AWS configuration.
func deployEnv(t *testing.T) []string {
	dir := t.TempDir()
	env := envWithout(envWithout(os.Environ(), "AWS_"), "LAMBDAHOST_")
	return append(env,
		"AWS_ACCESS_KEY_ID="+TestCredentials.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+TestCredentials.SecretAccessKey,
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"))
}

// lines collects a process's output lines.
type lines struct {
	mu  sync.Mutex
	all []string
	new chan struct{}
}

func (l *lines) add(s string) {
	l.mu.Lock()
	l.all = append(l.all, s)
	l.mu.Unlock()
	select {
	case l.new <- struct{}{}:
	default:
	}
}

// waitFor waits up to bound for a line after the first from that contains
// every one of want, and returns its index.
func (l *lines) waitFor(t *testing.T, from int, bound time.Duration, want ...string) int {
	t.Helper()
	deadline := time.After(bound)
	for {
		l.mu.Lock()
		for i := from; i < len(l.all); i++ {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(l.all[i], w)
			}
			if ok {
				l.mu.Unlock()
				return i
			}
		}
		all := strings.Join(l.all, "\n")
		l.mu.Unlock()
		select {
		case <-l.new:
		case <-time.After(time.Second):
		case <-deadline:
			t.Fatalf("no line with %q after %v; output:\n%s", want, bound, all)
		}
	}
}

// pythonHandler is a handler that answers label.
func pythonHandler(label string) string {
	return fmt.Sprintf("def handler(event, context):\n    return %q\n", label)
}

// TestDeploy: lambdahost deploy zips a directory reproducibly (deploying
// it twice keeps its CodeSha256), publishes and moves an alias, and says
// AWS's error for a function that does not exist.
func TestDeploy(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	sdk := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	ctx := context.Background()
	const name = "deployed"
	createPython(t, sdk, name, "v0")
	if _, err := sdk.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("$LATEST")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.py"), []byte(pythonHandler("d1")), 0o644)
	deployOnce := func(args ...string) (string, error) {
		cmd := exec.Command(binary, append([]string{"deploy", "--function", name, "--dir", dir, "--endpoint", srv.Endpoint}, args...)...)
		cmd.Env = deployEnv(t)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	first, err := deployOnce()
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, first)
	}
	for _, want := range []string{"deployed " + name + ":", "CodeSha256 ", "upload ", "server: receive", "commit", "Successful after"} {
		if !strings.Contains(first, want) {
			t.Errorf("the progress line lacks %q: %s", want, first)
		}
	}
	// Touching the file changes nothing: the same CodeSha256.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "index.py"), later, later)
	second, err := deployOnce("--publish", "--alias", "live")
	if err != nil {
		t.Fatalf("deploy --publish --alias: %v\n%s", err, second)
	}
	sha := func(s string) string { return strings.Fields(s[strings.Index(s, "CodeSha256 ")+11:])[0] }
	if sha(first) != sha(second) {
		t.Errorf("the same files deployed as %s, then %s", sha(first), sha(second))
	}
	if !strings.Contains(second, "version 1, alias live") {
		t.Errorf("deploy --publish --alias says %s", second)
	}
	a, err := sdk.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String("live")})
	if err != nil || aws.ToString(a.FunctionVersion) != "1" {
		t.Errorf("alias after the deploy: %v %v", a, err)
	}
	if got := invokeLabel(t, sdk, name+":live"); got != "d1" {
		t.Errorf("the alias runs %q", got)
	}
	cmd := exec.Command(binary, "deploy", "--function", "no-such-function", "--dir", dir, "--endpoint", srv.Endpoint)
	cmd.Env = deployEnv(t)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ResourceNotFoundException") {
		t.Errorf("deploy to a missing function: %v\n%s", err, out)
	}
}

func createPython(t *testing.T, sdk *lambda.Client, name, label string) {
	t.Helper()
	ctx := context.Background()
	if _, err := sdk.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: "python3.12", Handler: aws.String("index.handler"), Role: aws.String(testRole),
		Timeout: aws.Int32(60), Code: &types.FunctionCode{ZipFile: handlerZip(t, label)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(sdk).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
}

// invokeLabel invokes name and returns the string it answers.
func invokeLabel(t *testing.T, sdk *lambda.Client, name string) string {
	t.Helper()
	out, err := sdk.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if out.FunctionError != nil {
		t.Fatalf("function error: %s", out.Payload)
	}
	return strings.Trim(string(out.Payload), `"`)
}

// TestDeployWatch: with --watch, each edit of a file is running at the
// next invocation after lambdahost deploy says so; a failed update says
// AWS's reason and the watch goes on. It logs the save → invoke runs
// the new code times (bench measures them).
func TestDeployWatch(t *testing.T) {
	t.Parallel()
	// A small code storage quota makes an update fail on demand.
	srv := Start(t, WithArgs("--code-storage-limit", "6000"))
	sdk := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	const name = "watched"
	createPython(t, sdk, name, "w0")
	dir := t.TempDir()
	src := filepath.Join(dir, "index.py")
	os.WriteFile(src, []byte(pythonHandler("w1")), 0o644)
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, "deploy", "--function", name, "--dir", dir, "--watch", "--endpoint", srv.Endpoint)
	cmd.Env = deployEnv(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	out := &lines{new: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			t.Log("deploy: " + sc.Text())
			out.add(sc.Text())
		}
	}()
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	i := out.waitFor(t, 0, 2*time.Minute, "deployed "+name)
	if got := invokeLabel(t, sdk, name); got != "w1" {
		t.Fatalf("after the first deployment the function answers %q", got)
	}

	// Each save runs at once: the next invocation after the save is
	// reported Successful runs the new code, and the time from the save
	// until an invocation returns it is logged.
	var took []time.Duration
	for n := 2; n <= 6; n++ {
		label := fmt.Sprintf("w%d", n)
		saved := time.Now()
		if err := os.WriteFile(src, []byte(pythonHandler(label)), 0o644); err != nil {
			t.Fatal(err)
		}
		for invokeLabel(t, sdk, name) != label {
			if time.Since(saved) > 2*time.Minute {
				t.Fatalf("%s is not running 2 minutes after the save", label)
			}
		}
		took = append(took, time.Since(saved))
		i = out.waitFor(t, i+1, 2*time.Minute, "deployed "+name, "save → Successful")
		if got := invokeLabel(t, sdk, name); got != label {
			t.Fatalf("after deploy reported %s Successful the function answers %q", label, got)
		}
	}
	slices.Sort(took)
	t.Logf("save → invocation runs the new code, %d edits: p50 %v (min %v, max %v)", len(took), took[len(took)/2], took[0], took[len(took)-1])

	// Editor and VCS files deploy nothing.
	os.WriteFile(filepath.Join(dir, ".index.py.swp"), []byte("swap"), 0o644)
	os.WriteFile(filepath.Join(dir, ".git", "index"), []byte("git"), 0o644)

	// A package past the code storage quota is refused: AWS's reason is
	// printed and the watch goes on.
	big := make([]byte, 8000)
	rand.Read(big)
	os.WriteFile(filepath.Join(dir, "blob.txt"), []byte(hex.EncodeToString(big)), 0o644)
	i = out.waitFor(t, i+1, 2*time.Minute, "deploy of "+name+" failed", "CodeStorageExceededException", "still watching")
	if got := invokeLabel(t, sdk, name); got != "w6" {
		t.Errorf("after a refused update the function answers %q, want w6", got)
	}
	os.Remove(filepath.Join(dir, "blob.txt"))
	os.WriteFile(src, []byte(pythonHandler("w7")), 0o644)
	out.waitFor(t, i+1, 2*time.Minute, "deployed "+name, "save → Successful")
	if got := invokeLabel(t, sdk, name); got != "w7" {
		t.Errorf("after the watch recovered the function answers %q, want w7", got)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, l := range out.all {
		if strings.Contains(l, "unchanged") {
			t.Errorf("an editor or VCS file made the watch zip again: %s", l)
		}
	}
}

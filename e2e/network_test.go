//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// The functions that call out of their environment (see
// testdata/functions/pycaller and internal/testfn/callerfn): boto3 and
// aws-sdk-go-v2, unbundled for Python, as a function would use them.
var (
	pyCallerFn = testFunction{"python3.12-caller", "python3.12", "caller.handler", "pycaller", ""}
	goCallerFn = testFunction{"go-caller", "provided.al2023", "bootstrap", "gocaller", ""}
	callerFns  = []testFunction{pyCallerFn, goCallerFn}
)

// hostBody is what the test's server on the host's loopback answers.
const hostBody = "hello from the host's loopback"

// mustNetwork skips the test, or fails it in CI, unless functions can get
// a network here (pasta) and import the runtime's boto3.
func mustNetwork(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		requireTool(t, "function networks need namespaces, which need root")
	}
	if _, err := exec.LookPath("pasta"); err != nil {
		requireTool(t, "pasta is not installed (apt-get install passt)")
	}
	// The servers run with the default --runtimes-dir (Start drops
	// LAMBDAHOST_ variables).
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		home, _ := os.UserHomeDir()
		data = filepath.Join(home, ".local", "share")
	}
	b, err := os.ReadFile(filepath.Join(data, "lambdahost", "runtimes", "sdk", "manifest.json"))
	if err != nil || !strings.Contains(string(b), `"boto3"`) || !strings.Contains(string(b), `"@aws-sdk/client-sts"`) {
		requireTool(t, "the AWS SDKs for functions are not installed: run `go run ./cmd/lambdahost runtimes --install`")
	}
}

// hostServer serves hostBody on the host's loopback and returns its port.
func hostServer(t *testing.T) (port int, hits func() int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := make(chan struct{}, 1000)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n <- struct{}{}
		io.WriteString(w, hostBody)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, func() int { return len(n) }
}

// apiPort is the port lambdahost listens on.
func apiPort(t *testing.T, srv *Server) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// outcome is one call a caller function made: its value or its error.
type outcome struct {
	Value any    `json:"value"`
	Error string `json:"error"`
	Code  string `json:"code"`
}

// callerReply is what a caller function answers.
type callerReply struct {
	Functions outcome           `json:"list_functions"`
	Identity  outcome           `json:"get_caller_identity"`
	Invoke    *outcome          `json:"invoke"`
	Fetch     *outcome          `json:"fetch"`
	Env       map[string]string `json:"env"`
	Boto3     string            `json:"boto3"`
}

// callOut invokes caller name with event and decodes its reply.
func callOut(t *testing.T, d Driver, name string, event Params) callerReply {
	t.Helper()
	r := invoke(t, d, name, event)
	r.Reply(t)
	var got callerReply
	if err := json.Unmarshal(r.Payload, &got); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s", name, r.Payload)
	return got
}

// wantOK fails unless the call succeeded.
func (o outcome) wantOK(t *testing.T, what string) {
	t.Helper()
	if o.Error != "" {
		t.Errorf("%s failed: %s %s", what, o.Code, o.Error)
	}
}

// wantFailed fails unless the call failed.
func (o outcome) wantFailed(t *testing.T, what string) {
	t.Helper()
	if o.Error == "" {
		t.Errorf("%s succeeded with %v, want a failure", what, o.Value)
	}
}

// createCaller creates a caller function for f, with a timeout that its
// bounded calls cannot reach.
func createCaller(t *testing.T, d Driver, name string, f testFunction) {
	t.Helper()
	createFunction(t, d, name, f, "caller", Params{"Timeout": 120, "MemorySize": 256})
}

// TestFunctionNetworkHost calls lambdahost's API from Python (boto3) and Go
// (aws-sdk-go-v2) functions with the credentials and endpoint their
// environments get, and fetches from a server on the host's loopback, in
// the default network of a loopback listener.
func TestFunctionNetworkHost(t *testing.T) {
	t.Parallel()
	mustNetwork(t)
	srv := Start(t, WithArgs("--sandbox", "namespaces", "--function-env", "LH_OPERATOR_MARKER=from-the-operator"))
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	port, hits := hostServer(t)
	createFunction(t, d, "net-target", python312Fn, "target-v1", nil)

	for _, f := range callerFns {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			name := "net-host-" + f.lang
			createCaller(t, d, name, f)
			before := hits()
			got := callOut(t, d, name, Params{
				"target": "net-target", "payload": `{"print":"called"}`,
				"fetch": fmt.Sprintf("http://host.lambdahost.internal:%d/", port),
				"env":   []string{"LH_OPERATOR_MARKER", "AWS_ENDPOINT_URL"},
			})

			got.Functions.wantOK(t, "ListFunctions")
			if names, _ := got.Functions.Value.([]any); !slices.Contains(names, any("net-target")) || !slices.Contains(names, any(name)) {
				t.Errorf("ListFunctions from inside: %v", got.Functions.Value)
			}
			got.Identity.wantOK(t, "GetCallerIdentity")
			id, _ := got.Identity.Value.(map[string]any)
			if str(id, "Account") != "000000000000" || str(id, "Arn") != "arn:aws:sts::000000000000:assumed-role/lambda-role/"+name ||
				!strings.HasPrefix(str(id, "UserId"), "AROA") || !strings.HasSuffix(str(id, "UserId"), ":"+name) {
				t.Errorf("GetCallerIdentity from inside: %v", id)
			}
			if got.Invoke == nil || !strings.Contains(fmt.Sprint(got.Invoke.Value), `"target-v1"`) {
				t.Errorf("Invoke of another function from inside: %+v", got.Invoke)
			}
			if got.Fetch == nil || got.Fetch.Value != hostBody || hits() == before {
				t.Errorf("fetch from the host's loopback: %+v", got.Fetch)
			}
			if v := got.Env["LH_OPERATOR_MARKER"]; v != "from-the-operator" {
				t.Errorf("--function-env: LH_OPERATOR_MARKER=%q", v)
			}
			if v, want := got.Env["AWS_ENDPOINT_URL"], "http://host.lambdahost.internal:"+apiPort(t, srv); v != want {
				t.Errorf("AWS_ENDPOINT_URL=%q, want %q", v, want)
			}
			if f.lang == "pycaller" && !strings.HasPrefix(got.Boto3, "/var/runtime/sdk/python/") {
				t.Errorf("boto3 imported from %s, want the runtime's", got.Boto3)
			}
		})
	}
}

// nodeSDKHandler is an ES module that imports the runtime's AWS SDK for
// JavaScript v3, unbundled, and calls lambdahost with it.
const nodeSDKHandler = `
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { LambdaClient, ListFunctionsCommand } from "@aws-sdk/client-lambda";

export const handler = async () => {
  const id = await new STSClient({ maxAttempts: 1 }).send(new GetCallerIdentityCommand({}));
  const fns = await new LambdaClient({ maxAttempts: 1 }).send(new ListFunctionsCommand({}));
  return { Account: id.Account, Arn: id.Arn, Functions: fns.Functions.map((f) => f.FunctionName) };
};
`

// TestFunctionNodeSDK calls lambdahost from a Node.js ES module with the
// runtime's @aws-sdk clients.
func TestFunctionNodeSDK(t *testing.T) {
	t.Parallel()
	mustNetwork(t)
	srv := Start(t, WithArgs("--sandbox", "namespaces"))
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	d.Call(t, "CreateFunction", Params{"FunctionName": "node-sdk", "Runtime": "nodejs20.x", "Role": testRole, "Handler": "index.handler",
		"Timeout": 120, "Code": Params{"ZipFile": makeZip(t, "index.mjs", nodeSDKHandler)}}).OK(t)
	mustWait(t, d, "FunctionActiveV2", Params{"FunctionName": "node-sdk"})
	got := invoke(t, d, "node-sdk", Params{}).Reply(t)
	if got["Account"] != "000000000000" || got["Arn"] != "arn:aws:sts::000000000000:assumed-role/lambda-role/node-sdk" ||
		!slices.Contains(got["Functions"].([]any), any("node-sdk")) {
		t.Errorf("reply %v", got)
	}
}

// TestFunctionNetworkModes runs the same calls with --function-network
// none, where nothing outside the environment answers, and internet, where
// lambdahost's API does and the host's other loopback services do not.
func TestFunctionNetworkModes(t *testing.T) {
	t.Parallel()
	mustNetwork(t)
	port, hits := hostServer(t)
	fetch := fmt.Sprintf("http://host.lambdahost.internal:%d/", port)
	for _, mode := range []string{"none", "internet"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			args := []string{"--sandbox", "namespaces", "--function-network", mode}
			if mode == "none" {
				// lambdahost gives no endpoint without a network: point the
				// SDKs at where it would be, so that they never look for
				// AWS's.
				args = append(args, "--function-env", "AWS_ENDPOINT_URL=http://host.lambdahost.internal:9")
			}
			srv := Start(t, WithArgs(args...))
			d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
			createFunction(t, d, "net-target", python312Fn, "target-v1", nil)
			for _, f := range callerFns {
				t.Run(f.name, func(t *testing.T) {
					name := "net-" + mode + "-" + f.lang
					createCaller(t, d, name, f)
					before := hits()
					got := callOut(t, d, name, Params{"target": "net-target", "fetch": fetch, "env": []string{"AWS_ENDPOINT_URL"}})
					got.Fetch.wantFailed(t, "fetch from the host's loopback")
					if hits() != before {
						t.Errorf("the host's loopback server saw the function")
					}
					switch mode {
					case "none":
						got.Functions.wantFailed(t, "ListFunctions")
						got.Identity.wantFailed(t, "GetCallerIdentity")
						got.Invoke.wantFailed(t, "Invoke")
					case "internet":
						got.Functions.wantOK(t, "ListFunctions")
						got.Identity.wantOK(t, "GetCallerIdentity")
						got.Invoke.wantOK(t, "Invoke")
						if v, want := got.Env["AWS_ENDPOINT_URL"], "http://host.lambdahost.internal:"+apiPort(t, srv); v != want {
							t.Errorf("AWS_ENDPOINT_URL=%q, want %q", v, want)
						}
					}
				})
			}
		})
	}
}

// TestFunctionCredentials copies an environment's credentials out of it:
// they act as the function's role in its account, never in another, and
// stop working once the environment ends.
func TestFunctionCredentials(t *testing.T) {
	t.Parallel()
	mustNetwork(t)
	a := Credentials{AccessKeyID: "AKIDACCOUNTA", SecretAccessKey: "secret-a", AccountID: "111111111111"}
	b := Credentials{AccessKeyID: "AKIDACCOUNTB", SecretAccessKey: "secret-b", AccountID: "222222222222"}
	srv := Start(t, WithCredentials(WriteCredentialsFile(t, a, b)), WithArgs("--sandbox", "namespaces"))
	da := NewDriver(t, SDKDriver, srv, a, "us-east-1")
	db := NewDriver(t, SDKDriver, srv, b, "us-east-1")
	role := "arn:aws:iam::111111111111:role/lambda-role"
	for _, f := range []struct {
		d    Driver
		name string
		fn   testFunction
	}{{da, "creds-caller", pyCallerFn}, {da, "creds-a-only", python312Fn}, {db, "creds-b-only", python312Fn}} {
		extra := Params{"Timeout": 120, "MemorySize": 256}
		if f.d == da {
			extra["Role"] = role
		} else {
			extra["Role"] = "arn:aws:iam::222222222222:role/lambda-role"
		}
		createFunction(t, f.d, f.name, f.fn, "v1", extra)
	}
	got := callOut(t, da, "creds-caller", Params{"env": []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}})
	key, secret, token := got.Env["AWS_ACCESS_KEY_ID"], got.Env["AWS_SECRET_ACCESS_KEY"], got.Env["AWS_SESSION_TOKEN"]
	if !strings.HasPrefix(key, "ASIA") || secret == "" || token == "" || key == a.AccessKeyID || secret == a.SecretAccessKey {
		t.Fatalf("environment credentials %q / %q / %q: want temporary ones, not the operator's", key, secret, token)
	}

	ctx := t.Context()
	copied := credentials.NewStaticCredentialsProvider(key, secret, token)
	stsClient := func(p aws.CredentialsProvider) *sts.Client {
		return sts.New(sts.Options{BaseEndpoint: aws.String(srv.Endpoint), Region: "us-east-1", Credentials: p, Retryer: aws.NopRetryer{}})
	}
	lambdaClient := func(p aws.CredentialsProvider) *lambda.Client {
		return lambda.New(lambda.Options{BaseEndpoint: aws.String(srv.Endpoint), Region: "us-east-1", Credentials: p, Retryer: aws.NopRetryer{}})
	}

	id, err := stsClient(copied).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the copied credentials: %v", err)
	}
	if aws.ToString(id.Account) != "111111111111" || aws.ToString(id.Arn) != "arn:aws:sts::111111111111:assumed-role/lambda-role/creds-caller" {
		t.Errorf("GetCallerIdentity: %s %s", aws.ToString(id.Account), aws.ToString(id.Arn))
	}
	// GetCallerIdentity also answers for the operator's credentials, as
	// the IAM user that policies and their refusals name.
	opID, err := stsClient(credentials.NewStaticCredentialsProvider(b.AccessKeyID, b.SecretAccessKey, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(opID.Arn) != "arn:aws:iam::222222222222:user/"+b.AccessKeyID || aws.ToString(opID.UserId) != b.AccessKeyID {
		t.Errorf("GetCallerIdentity as the operator: %v, %v", opID, err)
	}
	// boto3 outside takes them too.
	cmd := exec.CommandContext(ctx, "python3", "-c",
		`import boto3; print(boto3.client("sts", region_name="us-east-1", endpoint_url="`+srv.Endpoint+`").get_caller_identity()["Account"])`)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN="+token,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "111111111111" {
		t.Errorf("boto3 GetCallerIdentity with the copied credentials: %v\n%s", err, out)
	}

	// Their account's functions, never another account's.
	list, err := lambdaClient(copied).ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range list.Functions {
		names = append(names, aws.ToString(f.FunctionName))
	}
	if !slices.Contains(names, "creds-a-only") || slices.Contains(names, "creds-b-only") {
		t.Errorf("ListFunctions with the copied credentials: %v", names)
	}
	_, err = lambdaClient(copied).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:222222222222:function:creds-b-only")})
	if code := apiCode(err); code != "AccessDeniedException" {
		t.Errorf("Invoke of another account's function with the copied credentials: %v, want AccessDeniedException", err)
	}
	// A token of another session, or a changed one, is refused.
	for _, bad := range []aws.CredentialsProvider{
		credentials.NewStaticCredentialsProvider(key, secret, token[:len(token)-2]+"AA"),
		credentials.NewStaticCredentialsProvider(key, secret, ""),
		credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, token),
	} {
		if _, err := stsClient(bad).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
			t.Errorf("a changed session: %v, want InvalidClientTokenId", err)
		}
	}

	// A new configuration retires the environment at the next invocation,
	// which runs in a new one with credentials of its own: the old
	// environment stops, and its credentials end with it. It stops in the
	// background; poll.
	da.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": "creds-caller", "Description": "retire the environment"}).OK(t)
	mustWait(t, da, "FunctionUpdatedV2", Params{"FunctionName": "creds-caller"})
	again := callOut(t, da, "creds-caller", Params{"env": []string{"AWS_ACCESS_KEY_ID"}})
	if again.Env["AWS_ACCESS_KEY_ID"] == key {
		t.Errorf("a new environment reuses the credentials %s", key)
	}
	again.Identity.wantOK(t, "GetCallerIdentity in the new environment")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := stsClient(copied).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if apiCode(err) == "InvalidClientTokenId" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the credentials still work after their environment ended: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := lambdaClient(copied).ListFunctions(ctx, &lambda.ListFunctionsInput{}); apiCode(err) != "UnrecognizedClientException" {
		t.Errorf("ListFunctions with ended credentials: %v, want UnrecognizedClientException", err)
	}
}

// apiCode returns the error code of an API error, or "" for none.
func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestClusterSessions: an environment's credentials work on every node of
// a cluster, wherever a load balancer would send its calls, and stop
// working on every node once the node that issued them dies (SIGKILL):
// within its registration's TTL.
func TestClusterSessions(t *testing.T) {
	t.Parallel()
	mustNetwork(t)
	c := StartCluster(t, 2, WithArgs("--sandbox", "namespaces"))
	ds := c.nodeDrivers(t)
	createCaller(t, ds[0], "cluster-creds", pyCallerFn)
	// Invoked on node 0, which issues the environment's credentials.
	got := callOut(t, ds[0], "cluster-creds", Params{"env": []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}})
	got.Identity.wantOK(t, "GetCallerIdentity inside the environment")
	copied := credentials.NewStaticCredentialsProvider(got.Env["AWS_ACCESS_KEY_ID"], got.Env["AWS_SECRET_ACCESS_KEY"], got.Env["AWS_SESSION_TOKEN"])
	if !strings.HasPrefix(got.Env["AWS_ACCESS_KEY_ID"], "ASIA") {
		t.Fatalf("environment credentials %q: want temporary ones", got.Env["AWS_ACCESS_KEY_ID"])
	}
	identity := func(n *Server) (*sts.GetCallerIdentityOutput, error) {
		c := sts.New(sts.Options{BaseEndpoint: aws.String(n.Endpoint), Region: "us-east-1", Credentials: copied, Retryer: aws.NopRetryer{}})
		return c.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	}
	want := "arn:aws:sts::000000000000:assumed-role/" + testRole[strings.LastIndex(testRole, "/")+1:] + "/cluster-creds"
	for i, n := range c.Nodes {
		id, err := identity(n)
		if err != nil || aws.ToString(id.Arn) != want {
			t.Fatalf("GetCallerIdentity on node %d with node 0's session: %v, %v; want %s", i, id, err, want)
		}
	}
	// The other node also lets them call the Lambda API as their account.
	lam := lambda.New(lambda.Options{BaseEndpoint: aws.String(c.Nodes[1].Endpoint), Region: "us-east-1", Credentials: copied, Retryer: aws.NopRetryer{}})
	if _, err := lam.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String("cluster-creds")}); err != nil {
		t.Fatalf("GetFunction on node 1 with node 0's session: %v", err)
	}

	c.Nodes[0].Kill()
	killed := time.Now()
	if !eventually(2*time.Minute, func() bool {
		_, err := identity(c.Nodes[1])
		return apiCode(err) == "InvalidClientTokenId"
	}) {
		_, err := identity(c.Nodes[1])
		t.Fatalf("node 1 still accepts the session of a node killed %v ago: %v", time.Since(killed), err)
	}
	t.Logf("node 1 refused the dead node's session %v after the kill (--node-ttl %s)", time.Since(killed).Round(time.Millisecond), clusterNodeTTL)
	if _, err := lam.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String("cluster-creds")}); apiCode(err) != "UnrecognizedClientException" {
		t.Errorf("GetFunction on node 1 with the dead node's session: %v, want UnrecognizedClientException", err)
	}
}

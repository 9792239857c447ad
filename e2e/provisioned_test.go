//go:build e2e

package e2e

import (
	"encoding/json"
	"testing"
	"time"
)

// initTypeFunction answers the initialization type of the environment
// that runs it, and the environment's own ID (one per process).
const initTypeFunction = `import os, uuid
ENV_ID = str(uuid.uuid4())

def handler(event, context):
    return {"init": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"), "env": ENV_ID}
`

// failingInit raises while its module loads: no environment initialises.
const failingInit = `raise Exception("init fails")

def handler(event, context):
    return "never"
`

func initTypeOf(t testing.TB, r *Result) (string, string) {
	t.Helper()
	var out struct{ Init, Env string }
	if err := json.Unmarshal(r.OK(t).Payload, &out); err != nil {
		t.Fatalf("%s: payload %s: %v", r.Driver, r.Payload, err)
	}
	return out.Init, out.Env
}

// waitProvisioned waits up to bound for a config's status.
func waitProvisioned(t testing.TB, d Driver, name, qualifier, status string, bound time.Duration) *Result {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		r := d.Call(t, "GetProvisionedConcurrencyConfig", Params{"FunctionName": name, "Qualifier": qualifier}).OK(t)
		if r.Str("Status") == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: provisioned concurrency of %s:%s is %s after %v, want %s", d.Name(), name, qualifier, r.Str("Status"), bound, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestProvisionedConcurrency provisions environments of an alias through
// every driver: the config goes IN_PROGRESS then READY, invocations of the
// alias and of its version run in the provisioned environments (whose
// initialization type says so), $LATEST runs on demand, the provisioned
// executions leave the account's unreserved concurrency, and after the
// config is deleted invocations run on demand again. A function whose
// initialization fails ends FAILED.
func TestProvisionedConcurrency(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	// Each driver in a region of its own: the account's unreserved
	// concurrency, which the test checks, is per region, and the drivers
	// run at once.
	regions := map[string]string{SDKDriver: "us-west-2", Boto3Driver: "eu-west-1", CLIDriver: "ap-southeast-2"}
	for _, kind := range allDrivers {
		if regions[kind] == "" {
			t.Fatalf("no region for driver %s", kind)
		}
	}
	forEachDriverIn(t, srv, allDrivers, func(kind string) string { return regions[kind] }, func(t *testing.T, d Driver) {
		name := "provisioned-" + d.Name()
		mustCreate(t, d, name, makeZip(t, "index.py", initTypeFunction))
		d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t)
		d.Call(t, "CreateAlias", Params{"FunctionName": name, "Name": "live", "FunctionVersion": "1"}).OK(t)
		before := d.Call(t, "GetAccountSettings", Params{}).OK(t).Int("AccountLimit.UnreservedConcurrentExecutions")

		r := d.Call(t, "PutProvisionedConcurrencyConfig", Params{"FunctionName": name, "Qualifier": "live", "ProvisionedConcurrentExecutions": 2}).OK(t)
		if r.Int("RequestedProvisionedConcurrentExecutions") != 2 || (r.Str("Status") != "IN_PROGRESS" && r.Str("Status") != "READY") {
			t.Errorf("PutProvisionedConcurrencyConfig answered %v", r.Body)
		}
		ready := waitProvisioned(t, d, name, "live", "READY", 3*time.Minute)
		if ready.Int("AllocatedProvisionedConcurrentExecutions") != 2 || ready.Int("AvailableProvisionedConcurrentExecutions") != 2 {
			t.Errorf("READY config %v", ready.Body)
		}
		if after := d.Call(t, "GetAccountSettings", Params{}).OK(t).Int("AccountLimit.UnreservedConcurrentExecutions"); after != before-2 {
			t.Errorf("UnreservedConcurrentExecutions %d with 2 provisioned, want %d", after, before-2)
		}
		l := d.Call(t, "ListProvisionedConcurrencyConfigs", Params{"FunctionName": name}).OK(t)
		if cs, _ := l.Get("ProvisionedConcurrencyConfigs").([]any); len(cs) != 1 {
			t.Errorf("ListProvisionedConcurrencyConfigs %v", l.Body)
		}

		envs := map[string]bool{}
		for _, q := range []string{"live", "1", "live", "1"} {
			init, env := initTypeOf(t, invoke(t, d, name, Params{}, Params{"Qualifier": q}))
			if init != "provisioned-concurrency" {
				t.Errorf("invocation of %s:%s ran %s, want provisioned-concurrency", name, q, init)
			}
			envs[env] = true
		}
		if len(envs) > 2 {
			t.Errorf("4 invocations in turn ran in %d environments, want the 2 provisioned", len(envs))
		}
		if init, _ := initTypeOf(t, invoke(t, d, name, Params{})); init != "on-demand" {
			t.Errorf("$LATEST ran %s, want on-demand", init)
		}

		d.Call(t, "DeleteProvisionedConcurrencyConfig", Params{"FunctionName": name, "Qualifier": "live"}).OK(t)
		d.Call(t, "GetProvisionedConcurrencyConfig", Params{"FunctionName": name, "Qualifier": "live"}).
			WantError(t, 404, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function")
		deadline := time.Now().Add(3 * time.Minute)
		for {
			init, _ := initTypeOf(t, invoke(t, d, name, Params{}, Params{"Qualifier": "live"}))
			if init == "on-demand" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("invocations still run in provisioned environments 3 minutes after the config was deleted")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("init-failure", func(t *testing.T) {
		d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
		name := "provisioned-fails"
		mustCreate(t, d, name, makeZip(t, "index.py", failingInit))
		d.Call(t, "PublishVersion", Params{"FunctionName": name}).OK(t)
		d.Call(t, "PutProvisionedConcurrencyConfig", Params{"FunctionName": name, "Qualifier": "1", "ProvisionedConcurrentExecutions": 1}).OK(t)
		r := waitProvisioned(t, d, name, "1", "FAILED", 3*time.Minute)
		wantStr(t, r, "StatusReason", "FUNCTION_ERROR_INIT_FAILURE")
		if r.Int("AllocatedProvisionedConcurrentExecutions") != 0 {
			t.Errorf("FAILED config %v", r.Body)
		}
	})
}

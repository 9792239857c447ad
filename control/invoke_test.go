package control_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// invokeFixture makes function f with versions 1 and 2 (code v1, v2),
// $LATEST (code v3), $LATEST.PUBLISHED (code v3), aliases live (1),
// canary (1, 25% to 2) and head ($LATEST), a reserved concurrency of 7,
// and function g, which has no published versions.
func invokeFixture(tb testing.TB, configure func(*control.Service)) *fixture {
	tb.Helper()
	f := newFixture(tb, configure)
	f.create(tb, "f", "v1")
	f.create(tb, "g", "v1")
	publish := func(in *control.PublishVersionInput) {
		tb.Helper()
		in.FunctionName = "f"
		if _, err := f.svc.PublishVersion(f.ctx, in); err != nil {
			tb.Fatal(err)
		}
	}
	publish(&control.PublishVersionInput{})
	if _, err := f.updateCode("f", "v2", nil, true, tb); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.updateCode("f", "v3", nil, false, tb); err != nil {
		tb.Fatal(err)
	}
	publish(&control.PublishVersionInput{PublishTo: ptr("LATEST_PUBLISHED")})
	for _, a := range []*control.AliasInput{
		{Name: "live", FunctionVersion: ptr("1")},
		{Name: "canary", FunctionVersion: ptr("1"), RoutingConfig: &map[string]float64{"2": 0.25}},
		{Name: "head", FunctionVersion: ptr(lambdahost.VersionLatest)},
	} {
		a.FunctionName = "f"
		if _, err := f.svc.CreateAlias(f.ctx, a); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := f.svc.PutFunctionConcurrency(f.ctx, "f", ptr(7)); err != nil {
		tb.Fatal(err)
	}
	return f
}

// setStatus overwrites the status of version name of function fn.
func (f *fixture) setStatus(t testing.TB, fn, name string, st lambdahost.Status) {
	t.Helper()
	id := lambdahost.FunctionID{Account: "000000000000", Region: "us-east-1", Name: fn}
	err := f.store.Update(f.ctx, func(tx lambdahost.Tx) error {
		v, err := tx.Version(f.ctx, id, name)
		if err != nil {
			return err
		}
		v.Status = st
		return tx.PutVersion(f.ctx, v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestResolveInvoke(t *testing.T) {
	f := invokeFixture(t, nil)
	// The digests of the code each version runs.
	code := func(name string) lambdahost.Digest {
		t.Helper()
		out, err := f.svc.GetFunctionConfiguration(f.ctx, "f", name)
		if err != nil {
			t.Fatal(err)
		}
		return out.Code.Digest
	}
	v1, v2, v3 := code("1"), code("2"), code(lambdahost.VersionLatest)
	if v1 == v2 || v2 == v3 || code(lambdahost.VersionLatestPublished) != v3 {
		t.Fatal("fixture versions do not carry the code they should")
	}

	tests := []struct {
		name      string
		function  string
		qualifier string
		wantARN   string
		wantExec  string
		wantCode  lambdahost.Digest
	}{
		{name: "unqualified", function: "f", wantARN: arnPrefix + "f", wantExec: "$LATEST", wantCode: v3},
		{name: "latest-qualifier", function: "f", qualifier: "$LATEST", wantARN: arnPrefix + "f:$LATEST", wantExec: "$LATEST", wantCode: v3},
		{name: "latest-in-name", function: "f:$LATEST", wantARN: arnPrefix + "f:$LATEST", wantExec: "$LATEST", wantCode: v3},
		{name: "version", function: "f", qualifier: "1", wantARN: arnPrefix + "f:1", wantExec: "1", wantCode: v1},
		{name: "version-in-name-and-qualifier", function: "f:2", qualifier: "2", wantARN: arnPrefix + "f:2", wantExec: "2", wantCode: v2},
		{name: "version-arn", function: arnPrefix + "f:2", wantARN: arnPrefix + "f:2", wantExec: "2", wantCode: v2},
		{name: "partial-arn", function: "000000000000:function:f", wantARN: arnPrefix + "f", wantExec: "$LATEST", wantCode: v3},
		{name: "latest-published", function: "f", qualifier: "$LATEST.PUBLISHED", wantARN: arnPrefix + "f:$LATEST.PUBLISHED", wantExec: "$LATEST.PUBLISHED", wantCode: v3},
		{name: "alias", function: "f", qualifier: "live", wantARN: arnPrefix + "f:live", wantExec: "1", wantCode: v1},
		{name: "alias-in-arn", function: arnPrefix + "f:live", wantARN: arnPrefix + "f:live", wantExec: "1", wantCode: v1},
		{name: "alias-to-latest", function: "f:head", wantARN: arnPrefix + "f:head", wantExec: "$LATEST", wantCode: v3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.svc.ResolveInvoke(f.ctx, tt.function, tt.qualifier)
			if err != nil {
				t.Fatal(err)
			}
			if got.InvokedARN != tt.wantARN || got.ExecutedVersion != tt.wantExec || got.Version.Name != tt.wantExec {
				t.Errorf("InvokedARN, ExecutedVersion, Version.Name = %s, %s, %s; want %s, %s, %s",
					got.InvokedARN, got.ExecutedVersion, got.Version.Name, tt.wantARN, tt.wantExec, tt.wantExec)
			}
			if got.Version.Code.Digest != tt.wantCode {
				t.Error("runs the wrong code")
			}
			if got.Function.ID.ARN() != arnPrefix+"f" || got.Function.ReservedConcurrency == nil || *got.Function.ReservedConcurrency != 7 {
				t.Errorf("Function = %s with reserved concurrency %v, want f with 7", got.Function.ID.ARN(), deref(got.Function.ReservedConcurrency))
			}
		})
	}
}

func TestResolveInvokeErrors(t *testing.T) {
	const invokePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	long := "arn:aws:lambda:us-east-1:000000000000:function:" + strings.Repeat("a", 210)
	tests := []struct {
		name      string
		function  string
		qualifier string
		// status, if set, is written to version statusOf of f first.
		status   *lambdahost.Status
		statusOf string
		// caller, if set, calls instead of the fixture's access key.
		caller  *lambdahost.Caller
		wantTyp lambdahost.ErrorType
		wantMsg string
	}{
		{name: "function-not-found", function: "nope", wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Function not found: " + arnPrefix + "nope:$LATEST"},
		{name: "function-not-found-qualified", function: "nope", qualifier: "1", wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Function not found: " + arnPrefix + "nope:1"},
		{name: "version-not-found", function: "f", qualifier: "7", wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Function not found: " + arnPrefix + "f:7"},
		{name: "version-zero", function: "f:0", wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Function not found: " + arnPrefix + "f:0"},
		{name: "alias-not-found", function: "f", qualifier: "nope", wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Function not found: " + arnPrefix + "f:nope"},
		{name: "no-latest-published", function: "g", qualifier: "$LATEST.PUBLISHED", wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Function not found: " + arnPrefix + "g:$LATEST.PUBLISHED"},
		{name: "qualifier-mismatch", function: "f:1", qualifier: "2", wantTyp: lambdahost.InvalidParameterValueException,
			wantMsg: "The derived qualifier from the function name does not match the specified qualifier."},
		{name: "invalid-name", function: "arn:aws:lambda:us-east-1:123400000000@function:myfn", wantTyp: lambdahost.ValidationException,
			wantMsg: "1 validation error detected: Value 'arn:aws:lambda:us-east-1:123400000000@function:myfn' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + invokePattern},
		{name: "name-too-long", function: long, wantTyp: lambdahost.ValidationException,
			wantMsg: "1 validation error detected: Value '" + long + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{name: "bare-name-too-long", function: strings.Repeat("a", 65), wantTyp: lambdahost.InvalidParameterValueException,
			wantMsg: "1 validation error detected: Value '" + strings.Repeat("a", 65) + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{name: "invalid-qualifier", function: "f", qualifier: "a?b", wantTyp: lambdahost.ValidationException,
			wantMsg: `1 validation error detected: Value 'a?b' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: \$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+`},
		{name: "other-region", function: "arn:aws:lambda:eu-west-1:000000000000:function:f", wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{name: "other-account", function: "arn:aws:lambda:us-east-1:111111111111:function:f:live", wantTyp: lambdahost.AccessDeniedException,
			wantMsg: "User: arn:aws:iam::000000000000:user/test is not authorized to perform this action on resource: arn:aws:lambda:us-east-1:111111111111:function:f:live because no resource-based policy allows it"},
		{name: "other-account-as-session", function: "arn:aws:lambda:us-east-1:111111111111:function:f",
			caller: &lambdahost.Caller{AccessKey: "ASIAEXAMPLE", Account: "000000000000", Region: "us-east-1",
				ARN: "arn:aws:sts::000000000000:assumed-role/role/fn", UserID: "AROAEXAMPLE:fn"},
			wantTyp: lambdahost.AccessDeniedException,
			wantMsg: "User: arn:aws:sts::000000000000:assumed-role/role/fn is not authorized to perform this action on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no resource-based policy allows it"},
		{name: "pending", function: "f", status: &lambdahost.Status{State: lambdahost.StatePending, StateReason: "The function is being created.", StateReasonCode: "Creating"},
			statusOf: lambdahost.VersionLatest, wantTyp: lambdahost.ResourceConflictException,
			wantMsg: "The operation cannot be performed at this time. The function is currently in the following state: Pending"},
		{name: "pending-version-behind-alias", function: "f:live", status: &lambdahost.Status{State: lambdahost.StatePending},
			statusOf: "1", wantTyp: lambdahost.ResourceConflictException,
			wantMsg: "The operation cannot be performed at this time. The function is currently in the following state: Pending"},
		{name: "failed", function: "f", qualifier: "2", status: &lambdahost.Status{State: lambdahost.StateFailed, StateReasonCode: "ImageDeleted", LastUpdateStatus: lambdahost.UpdateFailed},
			statusOf: "2", wantTyp: lambdahost.ResourceConflictException,
			wantMsg: "The operation cannot be performed at this time. The function is currently in the following state: Failed"},
		{name: "inactive", function: "f", status: &lambdahost.Status{State: lambdahost.StateInactive, StateReasonCode: "Idle"},
			statusOf: lambdahost.VersionLatest, wantTyp: lambdahost.CodeArtifactUserPendingException,
			wantMsg: "Lambda is initializing your function. It will be ready to invoke shortly."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := invokeFixture(t, nil)
			if tt.status != nil {
				f.setStatus(t, "f", tt.statusOf, *tt.status)
			}
			ctx := f.ctx
			if tt.caller != nil {
				ctx = lambdahost.WithCaller(ctx, *tt.caller)
			}
			got, err := f.svc.ResolveInvoke(ctx, tt.function, tt.qualifier)
			if err == nil {
				t.Fatalf("resolved %s (%s), want %s", got.InvokedARN, got.ExecutedVersion, tt.wantTyp)
			}
			wantAPIError(t, err, tt.wantTyp, tt.wantMsg)
			if e := err.(*lambdahost.Error); e.Status != e.Type.Status() || e.Status == 0 {
				t.Errorf("Status = %d", e.Status)
			}
		})
	}
}

// TestResolveInvokeUpdateStatus: AWS invokes a function while an update is
// in progress and after one failed; only the State keeps it from running.
func TestResolveInvokeUpdateStatus(t *testing.T) {
	for _, st := range []lambdahost.Status{
		{State: lambdahost.StateActive, LastUpdateStatus: lambdahost.UpdateInProgress, LastUpdateStatusReason: "The function is being created.", LastUpdateStatusReasonCode: "Creating"},
		{State: lambdahost.StateActive, LastUpdateStatus: lambdahost.UpdateFailed, LastUpdateStatusReasonCode: "ImageDeleted"},
		{State: lambdahost.StateActive, LastUpdateStatus: lambdahost.UpdateSuccessful},
	} {
		t.Run(st.LastUpdateStatus, func(t *testing.T) {
			f := invokeFixture(t, nil)
			f.setStatus(t, "f", lambdahost.VersionLatest, st)
			got, err := f.svc.ResolveInvoke(f.ctx, "f", "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Version.Status != st {
				t.Errorf("Status = %+v, want %+v", got.Version.Status, st)
			}
		})
	}
}

// TestResolveInvokeRouting checks the alias's weighted choice against a
// given draw, at the edges of the weight.
func TestResolveInvokeRouting(t *testing.T) {
	tests := []struct {
		draw float64
		want string
	}{
		{0, "2"},
		{0.2499, "2"},
		{0.25, "1"},
		{0.9999, "1"},
	}
	for _, tt := range tests {
		t.Run(formatFloat(tt.draw), func(t *testing.T) {
			f := invokeFixture(t, func(s *control.Service) { s.Rand = func() float64 { return tt.draw } })
			got, err := f.svc.ResolveInvoke(f.ctx, "f", "canary")
			if err != nil {
				t.Fatal(err)
			}
			if got.ExecutedVersion != tt.want || got.InvokedARN != arnPrefix+"f:canary" {
				t.Errorf("draw %v ran %s as %s, want %s as %sf:canary", tt.draw, got.ExecutedVersion, got.InvokedARN, tt.want, arnPrefix)
			}
		})
	}
	// An alias without routing never draws.
	var draws atomic.Int64
	f := invokeFixture(t, func(s *control.Service) {
		s.Rand = func() float64 { draws.Add(1); return 0 }
	})
	for _, q := range []string{"live", "head", "1", ""} {
		if _, err := f.svc.ResolveInvoke(f.ctx, "f", q); err != nil {
			t.Fatal(err)
		}
	}
	if n := draws.Load(); n != 0 {
		t.Errorf("%d draws without weighted routing", n)
	}
}

// TestResolveInvokeSplit checks, through the store, that the share of
// invocations of a weighted alias reaching the additional version matches
// the weight. TestRouteSplit checks the draw itself over many more.
func TestResolveInvokeSplit(t *testing.T) {
	const n, w = 2000, 0.25
	f := invokeFixture(t, func(s *control.Service) { s.Rand = rand.New(rand.NewPCG(1, 2)).Float64 })
	hits := 0
	for range n {
		got, err := f.svc.ResolveInvoke(f.ctx, "f", "canary")
		if err != nil {
			t.Fatal(err)
		}
		switch got.ExecutedVersion {
		case "2":
			hits++
		case "1":
		default:
			t.Fatalf("ran version %s", got.ExecutedVersion)
		}
	}
	share := float64(hits) / n
	// Five standard deviations of a binomial share.
	if tolerance := 5 * math.Sqrt(w*(1-w)/n); math.Abs(share-w) > tolerance {
		t.Errorf("%d of %d invocations (%.4f) ran the additional version, want %.4f ± %.4f", hits, n, share, w, tolerance)
	}
}

// BenchmarkResolveInvoke measures resolving an invocation against the
// SQLite store: the work every Invoke does before it runs anything.
func BenchmarkResolveInvoke(b *testing.B) {
	f := invokeFixture(b, nil)
	for _, bb := range []struct{ name, function, qualifier string }{
		{"latest", "f", ""},
		{"version", "f", "1"},
		{"alias", "f", "live"},
		{"alias-weighted", "f", "canary"},
		{"arn", arnPrefix + "f:2", ""},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.svc.ResolveInvoke(f.ctx, bb.function, bb.qualifier); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bb.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := f.svc.ResolveInvoke(f.ctx, bb.function, bb.qualifier); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

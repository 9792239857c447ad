package control_test

import (
	"context"
	"testing"

	"github.com/lambdahost/lambdahost"
)

const arnPrefix = "arn:aws:lambda:us-east-1:000000000000:function:"

// callerIn returns ctx with the test caller moved to region.
func callerIn(ctx context.Context, region string) context.Context {
	return lambdahost.WithCaller(ctx, lambdahost.Caller{AccessKey: "test", Account: "000000000000", Region: region})
}

// wantAPIError fails t unless err is an API error of type typ with message msg.
func wantAPIError(t *testing.T, err error, typ lambdahost.ErrorType, msg string) {
	t.Helper()
	e, ok := err.(*lambdahost.Error)
	if !ok {
		t.Fatalf("error = %v, want %s", err, typ)
	}
	if e.Type != typ || e.Message != msg {
		t.Errorf("error = %s: %q\nwant      %s: %q", e.Type, e.Message, typ, msg)
	}
}

func TestPutFunctionConcurrencyErrors(t *testing.T) {
	limit := "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."
	qualified := "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN."
	tests := []struct {
		name     string
		function string
		reserved *int
		// others are reservations made first, by function name.
		others  map[string]int
		wantTyp lambdahost.ErrorType
		wantMsg string
	}{
		{name: "null", function: "f", wantTyp: lambdahost.ValidationException,
			wantMsg: "1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null"},
		{name: "negative", function: "f", reserved: ptr(-1), wantTyp: lambdahost.ValidationException,
			wantMsg: "1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{name: "invalid-name", function: "f g", reserved: ptr(1), wantTyp: lambdahost.ValidationException,
			wantMsg: "1 validation error detected: Value 'f g' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"},
		{name: "version", function: "f:1", reserved: ptr(1), wantTyp: lambdahost.InvalidParameterValueException, wantMsg: qualified},
		{name: "latest", function: "f:$LATEST", reserved: ptr(1), wantTyp: lambdahost.InvalidParameterValueException, wantMsg: qualified},
		{name: "alias-arn", function: arnPrefix + "f:live", reserved: ptr(1), wantTyp: lambdahost.InvalidParameterValueException, wantMsg: qualified},
		{name: "not-found", function: "nope", reserved: ptr(1), wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Function not found: " + arnPrefix + "nope:$LATEST"},
		{name: "not-found-zero", function: "nope", reserved: ptr(0), wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Function not found: " + arnPrefix + "nope:$LATEST"},
		{name: "other-region", function: "arn:aws:lambda:eu-west-1:000000000000:function:f", reserved: ptr(1), wantTyp: lambdahost.ResourceNotFoundException,
			wantMsg: "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{name: "over-limit", function: "f", reserved: ptr(901), wantTyp: lambdahost.InvalidParameterValueException, wantMsg: limit},
		{name: "over-limit-with-others", function: "f", reserved: ptr(402), others: map[string]int{"g": 499}, wantTyp: lambdahost.InvalidParameterValueException, wantMsg: limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.create(t, "f", "v1")
			for name, n := range tt.others {
				f.create(t, name, "v1")
				if _, err := f.svc.PutFunctionConcurrency(f.ctx, name, ptr(n)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := f.svc.PutFunctionConcurrency(f.ctx, tt.function, tt.reserved)
			wantAPIError(t, err, tt.wantTyp, tt.wantMsg)
			if got, err := f.svc.GetFunctionConcurrency(f.ctx, "f"); err != nil || got != nil {
				t.Errorf("after a refused put, GetFunctionConcurrency = %v, %v; want none", got, err)
			}
		})
	}
}

// TestReservedConcurrency walks the settings through the three operations,
// GetFunction and GetAccountSettings.
func TestReservedConcurrency(t *testing.T) {
	f := newFixture(t, nil)
	f.create(t, "f", "v1")
	f.create(t, "g", "v1")
	before := f.get(t, "f")

	unreserved := func(ctx context.Context, want int) {
		t.Helper()
		a, err := f.svc.GetAccountSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a.UnreservedConcurrentExecutions != want || a.ConcurrentExecutions != 1000 {
			t.Errorf("ConcurrentExecutions, UnreservedConcurrentExecutions = %d, %d; want 1000, %d", a.ConcurrentExecutions, a.UnreservedConcurrentExecutions, want)
		}
	}
	reserved := func(name string, want *int) {
		t.Helper()
		got, err := f.svc.GetFunctionConcurrency(f.ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("GetFunctionConcurrency(%s) = %v, want %v", name, deref(got), deref(want))
		}
	}
	put := func(name string, n int) {
		t.Helper()
		got, err := f.svc.PutFunctionConcurrency(f.ctx, name, &n)
		if err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("PutFunctionConcurrency answered %d, want %d", got, n)
		}
	}

	reserved("f", nil)
	unreserved(f.ctx, 1000)
	if got := f.get(t, "f").ReservedConcurrency; got != nil {
		t.Errorf("GetFunction Concurrency = %d before any put", *got)
	}

	// Zero is a setting (it throttles), not the absence of one.
	put("f", 0)
	reserved("f", ptr(0))
	unreserved(f.ctx, 1000)

	put("f", 500)
	reserved("f", ptr(500))
	unreserved(f.ctx, 500)
	// Other regions keep their own pool.
	unreserved(callerIn(f.ctx, "eu-west-1"), 1000)

	// The function's own reservation is replaced, not added to.
	put("f", 900)
	put("f", 900)
	unreserved(f.ctx, 100)
	if _, err := f.svc.PutFunctionConcurrency(f.ctx, "g", ptr(1)); lambdahost.ErrorTypeOf(err) != lambdahost.InvalidParameterValueException {
		t.Errorf("reserving past the minimum unreserved: %v", err)
	}
	put("g", 0)
	put("f", 400)
	put("g", 500)
	unreserved(f.ctx, 100)

	after := f.get(t, "f")
	if after.ReservedConcurrency == nil || *after.ReservedConcurrency != 400 {
		t.Errorf("GetFunction Concurrency = %v, want 400", deref(after.ReservedConcurrency))
	}
	// Concurrency is the function's, not a version's: no new RevisionId.
	if after.RevisionID != before.RevisionID || !after.LastModified.Equal(before.LastModified) {
		t.Errorf("RevisionId, LastModified changed from %s, %s to %s, %s", before.RevisionID, before.LastModified, after.RevisionID, after.LastModified)
	}
	// AWS answers Concurrency only for the unqualified function.
	for _, q := range [][2]string{{"f", lambdahost.VersionLatest}, {"f:$LATEST", ""}} {
		got, err := f.svc.GetFunction(f.ctx, q[0], q[1])
		if err != nil {
			t.Fatal(err)
		}
		if got.ReservedConcurrency != nil {
			t.Errorf("GetFunction(%q, %q) answered Concurrency %d", q[0], q[1], *got.ReservedConcurrency)
		}
	}

	if err := f.svc.DeleteFunctionConcurrency(f.ctx, "f"); err != nil {
		t.Fatal(err)
	}
	reserved("f", nil)
	unreserved(f.ctx, 500)
	// Deleting none succeeds.
	if err := f.svc.DeleteFunctionConcurrency(f.ctx, "f"); err != nil {
		t.Fatal(err)
	}
	// Deleting the function frees its reservation.
	if err := f.svc.DeleteFunction(f.ctx, "g", ""); err != nil {
		t.Fatal(err)
	}
	unreserved(f.ctx, 1000)
}

func TestGetDeleteFunctionConcurrencyErrors(t *testing.T) {
	qualified := "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN."
	tests := []struct {
		name     string
		function string
		wantTyp  lambdahost.ErrorType
		// wantGet and wantDelete are the messages of each operation.
		wantGet, wantDelete string
	}{
		{name: "not-found", function: "nope", wantTyp: lambdahost.ResourceNotFoundException,
			wantGet: "Function not found: " + arnPrefix + "nope", wantDelete: "Function not found: " + arnPrefix + "nope:$LATEST"},
		{name: "qualified", function: "f:1", wantTyp: lambdahost.InvalidParameterValueException, wantGet: qualified, wantDelete: qualified},
		{name: "too-long", function: "a23456789012345678901234567890123456789012345678901234567890123456", wantTyp: lambdahost.InvalidParameterValueException,
			wantGet:    "1 validation error detected: Value 'a23456789012345678901234567890123456789012345678901234567890123456' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64",
			wantDelete: "1 validation error detected: Value 'a23456789012345678901234567890123456789012345678901234567890123456' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.create(t, "f", "v1")
			_, err := f.svc.GetFunctionConcurrency(f.ctx, tt.function)
			wantAPIError(t, err, tt.wantTyp, tt.wantGet)
			err = f.svc.DeleteFunctionConcurrency(f.ctx, tt.function)
			wantAPIError(t, err, tt.wantTyp, tt.wantDelete)
		})
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

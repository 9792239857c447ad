package lambdahost

import (
	"context"
	"time"
)

// Meter receives what lambdahost's components measure, for an operator's
// metrics: package metrics implements it with Prometheus, and the
// components that measure (http, control, invoke) know only this
// interface. Its methods are called on hot paths (every API request,
// every invocation): they must be quick, never block, and be safe for
// concurrent use. A component's Meter field left nil means NopMeter.
type Meter interface {
	// APIRequest counts one API request of service ("lambda", "kms") for
	// operation (as AWS names it; "" when the request named none) that
	// was answered with status after elapsed.
	APIRequest(service, operation string, status int, elapsed time.Duration)
	// CodeDeployed reports the code an operation (CreateFunction,
	// UpdateFunctionCode) committed and how long each phase took.
	CodeDeployed(operation string, t *DeployTiming)
	// UpdateSettled reports that a change operation (CreateFunction,
	// UpdateFunctionCode, UpdateFunctionConfiguration, PublishVersion)
	// reached its final status (UpdateSuccessful or UpdateFailed) elapsed
	// after the operation began: the time a waiter waits for Successful.
	UpdateSettled(operation, status string, elapsed time.Duration)
	// Invoked counts one invocation of fn of invocationType
	// (RequestResponse or Event) that ended with outcome (see the
	// Outcome constants) after elapsed.
	Invoked(fn FunctionID, invocationType, outcome string, elapsed time.Duration)
	// ColdStart reports that an execution environment of fn was started
	// for an invocation, its runtime ready after elapsed.
	ColdStart(fn FunctionID, elapsed time.Duration)
	// Throttled counts an invocation of fn refused for concurrency, with
	// AWS's reason (ReservedFunctionConcurrentInvocationLimitExceeded...).
	Throttled(fn FunctionID, reason string)
	// SignatureValidationError counts a deployment of fn that went ahead
	// under a code signing config's Warn policy although its signature
	// check failed: AWS's SignatureValidationErrors metric.
	SignatureValidationError(fn FunctionID)
	// GarbageCollected reports a garbage collection round that deleted
	// deleted packages in elapsed, and failed with err if not nil.
	GarbageCollected(deleted int, elapsed time.Duration, err error)
	// FunctionDeleted says fn is gone, so that what is kept per function
	// can be dropped.
	FunctionDeleted(fn FunctionID)
}

// Outcomes of an invocation, for Meter.Invoked.
const (
	// OutcomeSuccess is an invocation whose function answered.
	OutcomeSuccess = "success"
	// OutcomeFunctionError is one whose function reported an error.
	OutcomeFunctionError = "function_error"
	// OutcomeTimeout is one that ran out of time (Sandbox.Timedout).
	OutcomeTimeout = "timeout"
	// OutcomeRuntimeError is one whose runtime failed: it exited, ran out
	// of memory or failed to start (Runtime.*).
	OutcomeRuntimeError = "runtime_error"
	// OutcomeThrottled is one refused for concurrency.
	OutcomeThrottled = "throttled"
	// OutcomeError is one that failed with an API error before or instead
	// of running (a runtime the host lacks, a disabled KMS key).
	OutcomeError = "error"
)

// DeployTiming is what an operation that deploys code measured, by phase:
// for metrics (Meter.CodeDeployed) and for the deploying client (the
// UpdateFunctionCode response's Server-Timing header).
type DeployTiming struct {
	// Bytes is the package's size (a zip's; an image manifest's).
	Bytes int64
	// Receive is reading the package: the request body into the spool
	// file as it arrives, or the S3 object or image manifest, less the
	// hashing and sealing done as it streamed.
	Receive time.Duration
	// Hash is computing its SHA-256 as it streamed, reading its zip
	// directory, and hashing it for a signature check.
	Hash time.Duration
	// Seal is encrypting it as it streamed and wrapping its data key.
	Seal time.Duration
	// Store is making the sealed package durable in the blob store
	// (nothing for small packages, which commit with the metadata).
	Store time.Duration
	// Commit is the metadata transaction that references it.
	Commit time.Duration

	// Received is what the wire layer measured of Receive: the time it
	// took to read the request body, hashing and sealing included. Set
	// before the operation runs; the operation derives Receive from it.
	Received time.Duration
}

type deployTimingKey struct{}

// WithDeployTiming returns ctx carrying t, which an operation that
// deploys code fills in.
func WithDeployTiming(ctx context.Context, t *DeployTiming) context.Context {
	return context.WithValue(ctx, deployTimingKey{}, t)
}

// DeployTimingFrom returns the DeployTiming of ctx, or nil.
func DeployTimingFrom(ctx context.Context) *DeployTiming {
	t, _ := ctx.Value(deployTimingKey{}).(*DeployTiming)
	return t
}

// NopMeter is a Meter that keeps nothing.
type NopMeter struct{}

func (NopMeter) APIRequest(string, string, int, time.Duration)     {}
func (NopMeter) CodeDeployed(string, *DeployTiming)                {}
func (NopMeter) UpdateSettled(string, string, time.Duration)       {}
func (NopMeter) Invoked(FunctionID, string, string, time.Duration) {}
func (NopMeter) ColdStart(FunctionID, time.Duration)               {}
func (NopMeter) Throttled(FunctionID, string)                      {}
func (NopMeter) SignatureValidationError(FunctionID)               {}
func (NopMeter) GarbageCollected(int, time.Duration, error)        {}
func (NopMeter) FunctionDeleted(FunctionID)                        {}

// MeterOr returns m, or NopMeter if m is nil.
func MeterOr(m Meter) Meter {
	if m == nil {
		return NopMeter{}
	}
	return m
}

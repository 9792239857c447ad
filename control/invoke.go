package control

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Invocation is what an Invoke runs.
type Invocation struct {
	// Function is the function record, with its reserved concurrency.
	Function *lambdahost.Function
	// Version is the version whose code and configuration run: $LATEST,
	// $LATEST.PUBLISHED or a published number. For an alias it is the
	// version its routing chose.
	Version *lambdahost.Version
	// InvokedARN is the ARN as invoked: unqualified when no qualifier was
	// given, else qualified with the version or alias named
	// (Lambda-Runtime-Invoked-Function-Arn, the context's
	// invoked_function_arn).
	InvokedARN string
	// ExecutedVersion is the name of Version: "$LATEST", "$LATEST.PUBLISHED"
	// or a number (X-Amz-Executed-Version).
	ExecutedVersion string
	// Qualifier is the qualifier as invoked: an alias, a version, or ""
	// when none was given. An asynchronous event stores it, to be
	// resolved again when the event is retried or replayed.
	Qualifier string
	// RecursiveLoop is the function's recursive loop setting:
	// RecursiveLoopTerminate or RecursiveLoopAllow.
	RecursiveLoop string
	// MaxRetries and MaxAge are what the event invoke config of the
	// qualifier as invoked says for an asynchronous invocation: nil and
	// zero when it does not say.
	MaxRetries *int
	MaxAge     time.Duration
}

// Recursive reports whether an invocation of inv with trace header trace
// is one recursive loop detection stops: the chain of invocations has run
// the function lambdahost.MaxRecursionDepth times already and its setting
// is Terminate. It also returns the trace header the invocation runs
// with, counting it.
func (inv *Invocation) Recursive(trace string) (next string, stop bool) {
	arn := inv.Function.ID.ARN()
	n := lambdahost.LineageCount(trace, arn)
	if n >= lambdahost.MaxRecursionDepth && inv.RecursiveLoop != RecursiveLoopAllow {
		return trace, true
	}
	return lambdahost.WithLineage(trace, arn, n+1), false
}

// ErrRecursiveLoop is Invoke's answer when recursive loop detection stops
// an invocation.
func ErrRecursiveLoop() error {
	return lambdahost.Errorf(lambdahost.RecursiveInvocationException,
		"Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation.")
}

// ResolveInvoke finds what an Invoke of functionName with qualifier (may be
// "") runs, in one read transaction.
//
// The name follows Invoke's model shape, NamespacedFunctionName; the
// qualifier, in the name or the Qualifier parameter, selects $LATEST (none
// or "$LATEST"), $LATEST.PUBLISHED, a published version or an alias. An
// alias with AdditionalVersionWeights runs its additional version with
// that probability, drawn from Service.Rand.
//
// It answers ValidationException or InvalidParameterValueException for a
// malformed name or qualifier, AccessDeniedException for another account's
// function unless its policy allows the caller lambda:InvokeFunction
// (resolveGranted), ResourceNotFoundException for another region's function or one
// that does not exist, ResourceConflictException (409) for a version that
// is Pending or Failed, and CodeArtifactUserPendingException (409) for one
// that is Inactive. A version whose last update is in progress or failed
// runs, as on AWS.
// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html)
func (s *Service) ResolveInvoke(ctx context.Context, functionName, qualifier string) (*Invocation, error) {
	s.init()
	t, err := s.resolveGranted(ctx, functionName, lambdahost.NameNamespaced, qualifier, actionInvoke)
	if err != nil {
		return nil, err
	}
	return s.resolveInvocation(ctx, t.id, t.qualifier)
}

// resolveInvocation finds what an invocation of function id with
// qualifier (an alias, a version, or "" for $LATEST) runs, in one read
// transaction, drawing an alias's routing. It answers
// ResourceNotFoundException if the function or qualifier does not exist,
// and invocable's errors.
func (s *Service) resolveInvocation(ctx context.Context, id lambdahost.FunctionID, qualifier string) (*Invocation, error) {
	inv := &Invocation{InvokedARN: id.QualifiedARN(qualifier), Qualifier: qualifier}
	err := s.store.View(ctx, func(tx lambdahost.Tx) error {
		fn, err := tx.Function(ctx, id)
		if err != nil {
			return err
		}
		name := qualifier
		switch {
		case name == "":
			name = lambdahost.VersionLatest
		case lambdahost.VersionOrder(name) == -3:
			a, err := tx.Alias(ctx, id, name)
			if err != nil {
				return err
			}
			name = s.route(a)
		}
		v, err := tx.Version(ctx, id, name)
		if err != nil {
			return err
		}
		inv.Function, inv.Version = fn, v
		if inv.RecursiveLoop, err = recursiveLoop(ctx, tx, id); err != nil {
			return err
		}
		conf, err := eventInvokeConfig(ctx, tx, id, qualifier)
		if err != nil || conf == nil {
			return err
		}
		inv.MaxRetries = conf.MaximumRetryAttempts
		if a := conf.MaximumEventAgeInSeconds; a != nil {
			inv.MaxAge = time.Duration(*a) * time.Second
		}
		return nil
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, notFound(id, invokedQualifier(qualifier))
	}
	if err != nil {
		return nil, internal("resolve invoke", err)
	}
	if err := invocable(inv.Version.Status); err != nil {
		return nil, err
	}
	inv.ExecutedVersion = inv.Version.Name
	return inv, nil
}

// route returns the version an invocation of alias a runs: one of its
// additional versions with that version's weight as probability, else its
// FunctionVersion. AWS allows one additional version; several share the
// draw in name order.
func (s *Service) route(a *lambdahost.Alias) string {
	w := a.AdditionalVersionWeights
	if len(w) == 0 {
		return a.FunctionVersion
	}
	r := s.Rand()
	if len(w) == 1 {
		for v, p := range w {
			if r < p {
				return v
			}
		}
		return a.FunctionVersion
	}
	acc := 0.0
	for _, v := range slices.Sorted(maps.Keys(w)) {
		acc += w[v]
		if r < acc {
			return v
		}
	}
	return a.FunctionVersion
}

// invocable answers the error AWS gives for invoking a version in state st.
//
//   - Pending: 409 ResourceConflictException, the text AWS's invocation
//     troubleshooting guide quotes.
//   - Failed: the same error naming Failed (LocalStack's AWS-parity
//     wording; AWS's own text for this case is not recorded).
//   - Inactive: AWS readies the function again and meanwhile answers
//     CodeArtifactUserPendingException (observed in boto3#3788,
//     aws-cdk#20123; earlier answers prefixed the text with "ERROR: " or
//     "INFO: "). ResourceNotReadyException is for an Inactive function whose
//     VPC connection is gone, and lambdahost has no VPCs.
//
// LastUpdateStatus is not checked: AWS invokes a function while an update
// is in progress, and after a failed one.
func invocable(st lambdahost.Status) error {
	switch st.State {
	case lambdahost.StatePending, lambdahost.StateFailed:
		return lambdahost.Errorf(lambdahost.ResourceConflictException,
			"The operation cannot be performed at this time. The function is currently in the following state: %s", st.State)
	case lambdahost.StateInactive:
		return lambdahost.Errorf(lambdahost.CodeArtifactUserPendingException,
			"Lambda is initializing your function. It will be ready to invoke shortly.")
	}
	return nil
}

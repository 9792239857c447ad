package control

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/lambdahost/lambdahost"
)

// The small per-function settings: recursive loop detection (per
// function) and runtime management (per version).

// Record kinds of the per-function settings.
const (
	// kindRecursionConfig: "<account>/<region>/<function>" → a
	// recursionRecord, absent for the default (Terminate).
	kindRecursionConfig = "recursion-config"
	// kindRuntimeManagement: "<account>/<region>/<function>/<version>" → a
	// runtimeRecord, absent for the default (Auto).
	kindRuntimeManagement = "runtime-management-config"
)

// Recursive loop settings (RecursiveLoop).
const (
	RecursiveLoopTerminate = "Terminate"
	RecursiveLoopAllow     = "Allow"
)

// Runtime update modes (UpdateRuntimeOn).
const (
	UpdateRuntimeOnAuto           = "Auto"
	UpdateRuntimeOnManual         = "Manual"
	UpdateRuntimeOnFunctionUpdate = "FunctionUpdate"
)

type recursionRecord struct {
	RecursiveLoop string    `json:"recursiveLoop"`
	LastModified  time.Time `json:"lastModified"`
}

type runtimeRecord struct {
	UpdateRuntimeOn   string `json:"updateRuntimeOn"`
	RuntimeVersionARN string `json:"runtimeVersionArn,omitempty"`
}

// patternUnqualifiedName is the model's UnqualifiedFunctionName pattern, as
// AWS prints it.
const patternUnqualifiedName = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)`

// resolveUnqualified resolves an UnqualifiedFunctionName: a name or ARN
// without a qualifier, which the model's pattern refuses.
func resolveUnqualified(ctx context.Context, functionName string) (target, error) {
	t, err := resolve(ctx, functionName, lambdahost.NameFunction, "")
	if err != nil {
		return t, err
	}
	if t.qualifier != "" {
		var v lambdahost.Validation
		v.Add("functionName", lambdahost.Quote(functionName), "Member must satisfy regular expression pattern: "+patternUnqualifiedName)
		return t, v.Err()
	}
	return t, nil
}

// GetFunctionRecursionConfig answers a function's recursive loop setting:
// Terminate unless it was set to Allow. It answers
// ResourceNotFoundException if the function does not exist.
// (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionRecursionConfig.html)
func (s *Service) GetFunctionRecursionConfig(ctx context.Context, functionName string) (string, error) {
	s.init()
	t, err := resolveUnqualified(ctx, functionName)
	if err != nil {
		return "", err
	}
	var loop string
	err = s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		if _, err := tx.Function(ctx, t.id); err != nil {
			return err
		}
		loop, err = recursiveLoop(ctx, tx, t.id)
		return err
	})
	if err != nil {
		return "", s.notFoundOr(t, err, "get function recursion config")
	}
	return loop, nil
}

// recursiveLoop reads function id's recursive loop setting in tx.
func recursiveLoop(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID) (string, error) {
	rec, err := getRecord[recursionRecord](ctx, tx, kindRecursionConfig, functionKey(id))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return RecursiveLoopTerminate, nil
	}
	if err != nil {
		return "", err
	}
	return rec.RecursiveLoop, nil
}

// PutFunctionRecursionConfig sets a function's recursive loop setting:
// with Terminate, lambdahost stops an invocation that its own
// asynchronous paths (Event invocations, destinations, event source
// mappings) have looped back to the function more than
// MaxRecursionDepth times. It answers ValidationException for another
// value and ResourceNotFoundException if the function does not exist.
// (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionRecursionConfig.html)
func (s *Service) PutFunctionRecursionConfig(ctx context.Context, functionName string, loop *string) (string, error) {
	s.init()
	t, err := resolveUnqualified(ctx, functionName)
	if err != nil {
		return "", err
	}
	var v lambdahost.Validation
	switch {
	case loop == nil:
		v.Add("recursiveLoop", "null", "Member must not be null")
	case *loop != RecursiveLoopTerminate && *loop != RecursiveLoopAllow:
		v.Add("recursiveLoop", lambdahost.Quote(*loop), "Member must satisfy enum value set: [Terminate, Allow]")
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, t.id); err != nil {
			return err
		}
		if *loop == RecursiveLoopTerminate {
			return tx.DeleteRecord(ctx, kindRecursionConfig, functionKey(t.id))
		}
		return putRecord(ctx, tx, kindRecursionConfig, functionKey(t.id), &recursionRecord{RecursiveLoop: *loop, LastModified: s.now()})
	})
	if err != nil {
		return "", s.notFoundOr(t, err, "put function recursion config")
	}
	return *loop, nil
}

// RuntimeManagementConfig is a version's runtime update mode.
type RuntimeManagementConfig struct {
	UpdateRuntimeOn string
	// RuntimeVersionARN is set in Manual mode.
	RuntimeVersionARN string
	// FunctionARN is the version's ARN.
	FunctionARN string
}

const patternRuntimeVersionARN = `arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}::runtime:.+`

var reRuntimeVersionARN = regexp.MustCompile(`^(?:` + patternRuntimeVersionARN + `)$`)

// runtimeTarget resolves the version of a runtime management operation:
// $LATEST without a qualifier, a published version, or an alias's
// version. It answers the version's qualified ARN and record key.
func (s *Service) runtimeTarget(ctx context.Context, tx lambdahost.Tx, t target) (arn, key string, err error) {
	fc, err := s.lookup(ctx, tx, t)
	if err != nil {
		return "", "", err
	}
	return t.id.QualifiedARN(fc.Version.Name), qualifiedRecordKey(t.id, fc.Version.Name), nil
}

// GetRuntimeManagementConfig answers a version's runtime update mode:
// Auto unless it was set. It answers ResourceNotFoundException if the
// function or version does not exist.
// (https://docs.aws.amazon.com/lambda/latest/api/API_GetRuntimeManagementConfig.html)
func (s *Service) GetRuntimeManagementConfig(ctx context.Context, functionName, qualifier string) (*RuntimeManagementConfig, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return nil, err
	}
	out := &RuntimeManagementConfig{UpdateRuntimeOn: UpdateRuntimeOnAuto}
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		arn, key, err := s.runtimeTarget(ctx, tx, t)
		if err != nil {
			return err
		}
		out.FunctionARN = arn
		rec, err := getRecord[runtimeRecord](ctx, tx, kindRuntimeManagement, key)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out.UpdateRuntimeOn, out.RuntimeVersionARN = rec.UpdateRuntimeOn, rec.RuntimeVersionARN
		return nil
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "get runtime management config")
	}
	return out, nil
}

// PutRuntimeManagementConfig sets a version's runtime update mode. Manual
// needs a RuntimeVersionArn, which the other modes refuse. lambdahost runs
// every function on the runtime its host has, so the mode is kept and
// answered, and changes what runs only in that Manual pins nothing here.
// It answers ValidationException for an unknown mode or a malformed ARN,
// InvalidParameterValueException for an ARN the mode does not take, and
// ResourceNotFoundException if the function or version does not exist.
// (https://docs.aws.amazon.com/lambda/latest/api/API_PutRuntimeManagementConfig.html)
func (s *Service) PutRuntimeManagementConfig(ctx context.Context, functionName, qualifier string, mode, runtimeVersionARN *string) (*RuntimeManagementConfig, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return nil, err
	}
	var v lambdahost.Validation
	switch {
	case mode == nil:
		v.Add("updateRuntimeOn", "null", "Member must not be null")
	case !slices.Contains([]string{UpdateRuntimeOnAuto, UpdateRuntimeOnManual, UpdateRuntimeOnFunctionUpdate}, *mode):
		v.Add("updateRuntimeOn", lambdahost.Quote(*mode), "Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]")
	}
	if a := runtimeVersionARN; a != nil {
		if len(*a) < 26 {
			v.Add("runtimeVersionArn", lambdahost.Quote(*a), "Member must have length greater than or equal to 26")
		}
		if len(*a) > 2048 {
			v.Add("runtimeVersionArn", lambdahost.Quote(*a), "Member must have length less than or equal to 2048")
		}
		if !reRuntimeVersionARN.MatchString(*a) {
			v.Add("runtimeVersionArn", lambdahost.Quote(*a), "Member must satisfy regular expression pattern: "+patternRuntimeVersionARN)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	switch {
	case *mode == UpdateRuntimeOnManual && runtimeVersionARN == nil:
		return nil, invalidf("Runtime version ARN must be specified when the runtime update mode is Manual.")
	case *mode != UpdateRuntimeOnManual && runtimeVersionARN != nil:
		return nil, invalidf("Runtime version ARN can only be specified when the runtime update mode is Manual.")
	}
	out := &RuntimeManagementConfig{UpdateRuntimeOn: *mode}
	if runtimeVersionARN != nil {
		out.RuntimeVersionARN = *runtimeVersionARN
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		arn, key, err := s.runtimeTarget(ctx, tx, t)
		if err != nil {
			return err
		}
		out.FunctionARN = arn
		if *mode == UpdateRuntimeOnAuto {
			return tx.DeleteRecord(ctx, kindRuntimeManagement, key)
		}
		return putRecord(ctx, tx, kindRuntimeManagement, key, &runtimeRecord{UpdateRuntimeOn: *mode, RuntimeVersionARN: out.RuntimeVersionARN})
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "put runtime management config")
	}
	return out, nil
}

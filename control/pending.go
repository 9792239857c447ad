package control

// The Lambda operations whose resources lambdahost does not keep yet:
// event invoke configs, event source mappings, provisioned concurrency,
// recursion, runtime management and scaling configs, InvokeAsync, capacity
// providers and durable executions (issue 14 and later). Every operation of the
// model answers, so that deploy tools which read everything on refresh
// keep working: each validates its parameters and looks up the function
// as AWS does, then answers what AWS answers for a function that has none
// of that resource. An operation that would create such a resource
// refuses with errNotSupportedYet rather than pretend: nothing is stored.
//
// Each issue that makes a resource real deletes its part of this file and
// of http/pending.go, and its routes from the marked block of routes.go.

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"

	"github.com/lambdahost/lambdahost"
)

// errNotSupportedYet refuses an operation that would create state
// lambdahost does not keep yet.
func errNotSupportedYet(op string) error {
	return invalidf("%s is not supported by this Lambda endpoint yet.", op)
}

// exists reports whether t's function exists, and whether its qualifier
// does: "" and $LATEST always with the function, else the alias or
// published version it names.
func (s *Service) exists(ctx context.Context, t target) (function, qualifier bool, err error) {
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, t.id); err != nil {
			return err
		}
		function = true
		var err error
		switch q := t.qualifier; {
		case q == "" || q == lambdahost.VersionLatest:
		case lambdahost.VersionOrder(q) == -3:
			_, err = tx.Alias(ctx, t.id, q)
		default:
			_, err = tx.Version(ctx, t.id, q)
		}
		qualifier = err == nil
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		err = nil
	}
	return function, qualifier, internal("look up function", err)
}

// isAlias reports whether qualifier names an alias rather than a version.
func isAlias(q string) bool {
	return q != "" && lambdahost.VersionOrder(q) == -3
}

func errAliasNotFound(id lambdahost.FunctionID, alias string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Cannot find alias arn: %s", id.QualifiedARN(alias))
}

func errResourceNotFound() error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
}

// checkRange adds a constraint failure of v for an integer member outside
// [lo, hi].
func checkRange(v *lambdahost.Validation, member string, n *int, lo, hi int) {
	if n == nil {
		return
	}
	if *n < lo {
		v.Add(member, lambdahost.Quote(strconv.Itoa(*n)), "Member must have value greater than or equal to "+strconv.Itoa(lo))
	}
	if *n > hi {
		v.Add(member, lambdahost.Quote(strconv.Itoa(*n)), "Member must have value less than or equal to "+strconv.Itoa(hi))
	}
}

// checkMaxItems checks a list operation's MaxItems against [1, hi].
func checkMaxItems(in ListInput, hi int) error {
	var v lambdahost.Validation
	checkRange(&v, "maxItems", in.MaxItems, 1, hi)
	return v.Err()
}

// ---- Event invoke configs ----

// EventInvokeConfigInput holds the members of Put and
// UpdateFunctionEventInvokeConfig.
type EventInvokeConfigInput struct {
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	// HasDestinationConfig is set when the request had a DestinationConfig.
	HasDestinationConfig bool
}

func (in *EventInvokeConfigInput) validate() error {
	var v lambdahost.Validation
	checkRange(&v, "maximumRetryAttempts", in.MaximumRetryAttempts, 0, 2)
	checkRange(&v, "maximumEventAgeInSeconds", in.MaximumEventAgeInSeconds, 60, 21600)
	return v.Err()
}

func errNoEventInvokeConfig(t target) error {
	q := t.qualifier
	if q == "" {
		q = lambdahost.VersionLatest
	}
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The function %s doesn't have an EventInvokeConfig", t.id.QualifiedARN(q))
}

func errFunctionDoesntExist() error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The function doesn't exist.")
}

// eventInvokeFunction answers "The function doesn't exist." unless t's
// function, and the version or alias it names, exist.
func (s *Service) eventInvokeFunction(ctx context.Context, t target) error {
	fn, qual, err := s.exists(ctx, t)
	if err != nil {
		return err
	}
	if !fn || !qual {
		return errFunctionDoesntExist()
	}
	return nil
}

// PutFunctionEventInvokeConfig validates a request for an event invoke
// config, and refuses it: lambdahost keeps none yet (asynchronous
// invocations retry as --async-retry-delays says).
func (s *Service) PutFunctionEventInvokeConfig(ctx context.Context, functionName, qualifier string, in *EventInvokeConfigInput) error {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	if in.MaximumRetryAttempts == nil && in.MaximumEventAgeInSeconds == nil && !in.HasDestinationConfig {
		return invalidf("You must specify at least one of error handling or destination setting.")
	}
	if err := s.eventInvokeFunction(ctx, t); err != nil {
		return err
	}
	return errNotSupportedYet("PutFunctionEventInvokeConfig")
}

// GetFunctionEventInvokeConfig answers that the function has no event
// invoke config; AWS answers so for a function that does not exist too.
func (s *Service) GetFunctionEventInvokeConfig(ctx context.Context, functionName, qualifier string) error {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return err
	}
	return errNoEventInvokeConfig(t)
}

// DeleteFunctionEventInvokeConfig answers as GetFunctionEventInvokeConfig.
func (s *Service) DeleteFunctionEventInvokeConfig(ctx context.Context, functionName, qualifier string) error {
	return s.GetFunctionEventInvokeConfig(ctx, functionName, qualifier)
}

// UpdateFunctionEventInvokeConfig answers that the function has no event
// invoke config to update.
func (s *Service) UpdateFunctionEventInvokeConfig(ctx context.Context, functionName, qualifier string, in *EventInvokeConfigInput) error {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	if err := s.eventInvokeFunction(ctx, t); err != nil {
		return err
	}
	return errNoEventInvokeConfig(t)
}

// ListFunctionEventInvokeConfigs checks that the function exists: it has
// no event invoke configs.
func (s *Service) ListFunctionEventInvokeConfigs(ctx context.Context, functionName string, in ListInput) error {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, "")
	if err != nil {
		return err
	}
	if err := checkMaxItems(in, 50); err != nil {
		return err
	}
	return s.eventInvokeFunction(ctx, target{id: t.id})
}

// ---- Event source mappings ----

// CreateEventSourceMapping validates a request for an event source
// mapping, and refuses it: lambdahost polls no event sources yet.
func (s *Service) CreateEventSourceMapping(ctx context.Context, functionName *string, eventSourceARN *string) error {
	s.init()
	if functionName == nil {
		var v lambdahost.Validation
		v.Add("functionName", "null", "Member must not be null")
		return v.Err()
	}
	if eventSourceARN != nil && !reARN.MatchString(*eventSourceARN) {
		var v lambdahost.Validation
		v.Add("eventSourceArn", lambdahost.Quote(*eventSourceARN), "Member must satisfy regular expression pattern: "+patternARN)
		return v.Err()
	}
	t, err := resolve(ctx, *functionName, lambdahost.NameNamespaced, "")
	if err != nil {
		return err
	}
	if eventSourceARN == nil {
		return invalidf("Unrecognized event source.")
	}
	fn, qual, err := s.exists(ctx, t)
	if err != nil {
		return err
	}
	if !fn || !qual {
		return invalidf("Function does not exist")
	}
	return errNotSupportedYet("CreateEventSourceMapping")
}

// EventSourceMapping answers that no mapping has that UUID: there are
// none (GetEventSourceMapping, UpdateEventSourceMapping,
// DeleteEventSourceMapping).
func (s *Service) EventSourceMapping(ctx context.Context, uuid string) error {
	s.init()
	if _, err := caller(ctx); err != nil {
		return internal("event source mapping", err)
	}
	return errResourceNotFound()
}

// ListEventSourceMappings validates the filters of a list of event source
// mappings, of which there are none.
func (s *Service) ListEventSourceMappings(ctx context.Context, functionName, eventSourceARN *string, in ListInput) error {
	s.init()
	if functionName != nil {
		if _, err := resolve(ctx, *functionName, lambdahost.NameNamespaced, ""); err != nil {
			return err
		}
	}
	if a := eventSourceARN; a != nil && !reARN.MatchString(*a) {
		var v lambdahost.Validation
		v.Add("eventSourceArn", lambdahost.Quote(*a), "Member must satisfy regular expression pattern: "+patternARN)
		return v.Err()
	}
	return checkMaxItems(in, 10000)
}

// ---- Provisioned concurrency ----

// provisionedTarget resolves the version or alias of a provisioned
// concurrency operation: verb is "get" or "put" for the $LATEST error.
// It answers the not-found errors AWS words for each.
func (s *Service) provisionedTarget(ctx context.Context, functionName, qualifier, verb string) (target, error) {
	if qualifier == "" {
		var v lambdahost.Validation
		v.Add("qualifier", "null", "Member must not be null")
		return target{}, v.Err()
	}
	t, err := resolve(ctx, functionName, lambdahost.NameFunction, qualifier)
	if err != nil {
		return t, err
	}
	if t.qualifier == lambdahost.VersionLatest {
		if verb == "put" {
			return t, invalidf("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
		}
		return t, invalidf("The function resource provided must be an alias or a published version.")
	}
	fn, qual, err := s.exists(ctx, t)
	switch {
	case err != nil:
		return t, err
	case isAlias(t.qualifier) && (!fn || !qual):
		return t, errAliasNotFound(t.id, t.qualifier)
	case !fn || !qual:
		return t, notFound(t.id, t.qualifier)
	}
	return t, nil
}

// PutProvisionedConcurrencyConfig validates a request for provisioned
// concurrency, and refuses it: lambdahost starts environments on demand.
func (s *Service) PutProvisionedConcurrencyConfig(ctx context.Context, functionName, qualifier string, executions *int) error {
	s.init()
	var v lambdahost.Validation
	if executions == nil {
		v.Add("provisionedConcurrentExecutions", "null", "Member must not be null")
	}
	checkRange(&v, "provisionedConcurrentExecutions", executions, 1, int(^uint(0)>>1))
	if err := v.Err(); err != nil {
		return err
	}
	if _, err := s.provisionedTarget(ctx, functionName, qualifier, "put"); err != nil {
		return err
	}
	return errNotSupportedYet("PutProvisionedConcurrencyConfig")
}

// GetProvisionedConcurrencyConfig answers that the version or alias has no
// provisioned concurrency.
func (s *Service) GetProvisionedConcurrencyConfig(ctx context.Context, functionName, qualifier string) error {
	s.init()
	if _, err := s.provisionedTarget(ctx, functionName, qualifier, "get"); err != nil {
		return err
	}
	return lambdahost.Errorf(lambdahost.ProvisionedConcurrencyConfigNotFoundException, "No Provisioned Concurrency Config found for this function")
}

// DeleteProvisionedConcurrencyConfig succeeds for an existing version or
// alias: it has no provisioned concurrency, and AWS answers 204 then too.
func (s *Service) DeleteProvisionedConcurrencyConfig(ctx context.Context, functionName, qualifier string) error {
	s.init()
	_, err := s.provisionedTarget(ctx, functionName, qualifier, "get")
	return err
}

// ListProvisionedConcurrencyConfigs checks that the function exists: it
// has no provisioned concurrency.
func (s *Service) ListProvisionedConcurrencyConfigs(ctx context.Context, functionName string, in ListInput) error {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameFunction, "")
	if err != nil {
		return err
	}
	if err := checkMaxItems(in, 50); err != nil {
		return err
	}
	fn, _, err := s.exists(ctx, target{id: t.id})
	if err != nil {
		return err
	}
	if !fn {
		return notFound(t.id, "")
	}
	return nil
}

// ---- Recursion, runtime management and scaling configs ----

// RecursiveLoopTerminate is AWS's default: Lambda stops a recursive loop.
const RecursiveLoopTerminate = "Terminate"

// unqualifiedFunction resolves the UnqualifiedFunctionName of an
// operation and checks that the function exists.
func (s *Service) unqualifiedFunction(ctx context.Context, functionName string) (target, error) {
	t, err := resolve(ctx, functionName, lambdahost.NameFunction, "")
	if err != nil {
		return t, err
	}
	if t.qualifier != "" {
		var v lambdahost.Validation
		v.Add("functionName", lambdahost.Quote(functionName), `Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)`)
		return t, v.Err()
	}
	fn, _, err := s.exists(ctx, t)
	if err != nil {
		return t, err
	}
	if !fn {
		return t, notFound(t.id, "")
	}
	return t, nil
}

// GetFunctionRecursionConfig answers AWS's default, Terminate, for an
// existing function.
func (s *Service) GetFunctionRecursionConfig(ctx context.Context, functionName string) (string, error) {
	s.init()
	if _, err := s.unqualifiedFunction(ctx, functionName); err != nil {
		return "", err
	}
	return RecursiveLoopTerminate, nil
}

// PutFunctionRecursionConfig accepts Terminate, the setting every function
// has, and refuses Allow, which lambdahost does not keep yet.
func (s *Service) PutFunctionRecursionConfig(ctx context.Context, functionName string, loop *string) (string, error) {
	s.init()
	var v lambdahost.Validation
	switch {
	case loop == nil:
		v.Add("recursiveLoop", "null", "Member must not be null")
	case *loop != "Terminate" && *loop != "Allow":
		v.Add("recursiveLoop", lambdahost.Quote(*loop), "Member must satisfy enum value set: [Terminate, Allow]")
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	if _, err := s.unqualifiedFunction(ctx, functionName); err != nil {
		return "", err
	}
	if *loop != RecursiveLoopTerminate {
		return "", errNotSupportedYet("PutFunctionRecursionConfig with RecursiveLoop " + *loop)
	}
	return RecursiveLoopTerminate, nil
}

// UpdateRuntimeOnAuto is the runtime update mode every function has: its
// runtime is the host's, whatever version that is.
const UpdateRuntimeOnAuto = "Auto"

// runtimeVersion resolves the version of a runtime management operation
// ($LATEST without a qualifier) and answers its qualified ARN.
func (s *Service) runtimeVersion(ctx context.Context, functionName, qualifier string) (string, error) {
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return "", err
	}
	var arn string
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		fc, err := s.lookup(ctx, tx, t)
		if err == nil {
			arn = t.id.QualifiedARN(fc.Name)
		}
		return err
	})
	if err != nil {
		return "", s.notFoundOr(t, err, "get runtime management config")
	}
	return arn, nil
}

// GetRuntimeManagementConfig answers the mode every function has, Auto,
// and the ARN of the version asked for.
func (s *Service) GetRuntimeManagementConfig(ctx context.Context, functionName, qualifier string) (mode, functionARN string, err error) {
	s.init()
	functionARN, err = s.runtimeVersion(ctx, functionName, qualifier)
	return UpdateRuntimeOnAuto, functionARN, err
}

const patternRuntimeVersionARN = `arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}::runtime:.+`

var reRuntimeVersionARN = regexp.MustCompile(`^(?:` + patternRuntimeVersionARN + `)$`)

// PutRuntimeManagementConfig accepts Auto, the mode every function has,
// and refuses Manual and FunctionUpdate: there are no runtime versions to
// pin here.
func (s *Service) PutRuntimeManagementConfig(ctx context.Context, functionName, qualifier string, mode, runtimeVersionARN *string) (string, error) {
	s.init()
	var v lambdahost.Validation
	switch {
	case mode == nil:
		v.Add("updateRuntimeOn", "null", "Member must not be null")
	case !slices.Contains([]string{"Auto", "Manual", "FunctionUpdate"}, *mode):
		v.Add("updateRuntimeOn", lambdahost.Quote(*mode), "Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]")
	}
	if a := runtimeVersionARN; a != nil && (len(*a) < 26 || len(*a) > 2048 || !reRuntimeVersionARN.MatchString(*a)) {
		v.Add("runtimeVersionArn", lambdahost.Quote(*a), "Member must satisfy regular expression pattern: "+patternRuntimeVersionARN)
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	arn, err := s.runtimeVersion(ctx, functionName, qualifier)
	if err != nil {
		return "", err
	}
	if *mode != UpdateRuntimeOnAuto || runtimeVersionARN != nil {
		return "", errNotSupportedYet("PutRuntimeManagementConfig with UpdateRuntimeOn " + *mode)
	}
	return arn, nil
}

var reScalingQualifier = regexp.MustCompile(`^(\$LATEST\.PUBLISHED|[0-9]+)$`)

// scalingVersion resolves the published version of a scaling config
// operation and answers its qualified ARN.
func (s *Service) scalingVersion(ctx context.Context, functionName, qualifier string) (string, error) {
	var v lambdahost.Validation
	switch {
	case qualifier == "":
		v.Add("qualifier", "null", "Member must not be null")
	case !reScalingQualifier.MatchString(qualifier):
		v.Add("qualifier", lambdahost.Quote(qualifier), `Member must satisfy regular expression pattern: (\$LATEST\.PUBLISHED|[0-9]+)`)
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	t, err := resolve(ctx, functionName, lambdahost.NameFunction, "")
	if err != nil {
		return "", err
	}
	if t.qualifier != "" {
		var v lambdahost.Validation
		v.Add("functionName", lambdahost.Quote(functionName), `Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)`)
		return "", v.Err()
	}
	t.qualifier = qualifier
	fn, qual, err := s.exists(ctx, t)
	if err != nil {
		return "", err
	}
	if !fn || !qual {
		return "", notFound(t.id, qualifier)
	}
	return t.id.QualifiedARN(qualifier), nil
}

// GetFunctionScalingConfig answers the ARN of an existing published
// version: it runs on no capacity provider, so it has no scaling config.
func (s *Service) GetFunctionScalingConfig(ctx context.Context, functionName, qualifier string) (string, error) {
	s.init()
	return s.scalingVersion(ctx, functionName, qualifier)
}

// PutFunctionScalingConfig refuses: lambdahost has no capacity providers
// (Lambda Managed Instances).
func (s *Service) PutFunctionScalingConfig(ctx context.Context, functionName, qualifier string) error {
	s.init()
	if _, err := s.scalingVersion(ctx, functionName, qualifier); err != nil {
		return err
	}
	return errNotSupportedYet("PutFunctionScalingConfig")
}

// ---- InvokeAsync ----

// InvokeAsync checks that the function exists, and refuses: the
// deprecated InvokeAsync is not served yet (Invoke with InvocationType
// Event is).
func (s *Service) InvokeAsync(ctx context.Context, functionName string) error {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, "")
	if err != nil {
		return err
	}
	fn, qual, err := s.exists(ctx, t)
	if err != nil {
		return err
	}
	if !fn || !qual {
		return notFound(t.id, t.qualifier)
	}
	return errNotSupportedYet("InvokeAsync")
}

// ---- Capacity providers ----

const patternCapacityProvider = `(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:capacity-provider:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`

var reCapacityProvider = regexp.MustCompile(`^(?:` + patternCapacityProvider + `)$`)

func validateCapacityProviderName(name string) error {
	var v lambdahost.Validation
	if len(name) < 1 || len(name) > 140 {
		v.Add("capacityProviderName", lambdahost.Quote(name), "Member must have length less than or equal to 140")
	}
	if !reCapacityProvider.MatchString(name) {
		v.Add("capacityProviderName", lambdahost.Quote(name), "Member must satisfy regular expression pattern: "+patternCapacityProvider)
	}
	return v.Err()
}

// CapacityProvider answers that no capacity provider has that name: there
// are none (Get, Update and DeleteCapacityProvider,
// ListFunctionVersionsByCapacityProvider).
func (s *Service) CapacityProvider(ctx context.Context, name string) error {
	s.init()
	if err := validateCapacityProviderName(name); err != nil {
		return err
	}
	return errResourceNotFound()
}

// CreateCapacityProvider refuses: lambdahost runs functions on its own
// host and has no capacity providers.
func (s *Service) CreateCapacityProvider(ctx context.Context, name *string) error {
	s.init()
	if name == nil {
		var v lambdahost.Validation
		v.Add("capacityProviderName", "null", "Member must not be null")
		return v.Err()
	}
	if err := validateCapacityProviderName(*name); err != nil {
		return err
	}
	return errNotSupportedYet("CreateCapacityProvider")
}

// ListCapacityProviders validates a list of capacity providers, of which
// there are none.
func (s *Service) ListCapacityProviders(ctx context.Context, state *string, in ListInput) error {
	s.init()
	if state != nil && !slices.Contains([]string{"Pending", "Active", "Failed", "Deleting"}, *state) {
		var v lambdahost.Validation
		v.Add("state", lambdahost.Quote(*state), "Member must satisfy enum value set: [Pending, Active, Failed, Deleting]")
		return v.Err()
	}
	return checkMaxItems(in, 50)
}

// ---- Durable executions ----

const patternDurableExecution = `arn:([a-zA-Z0-9-]+):lambda:([a-zA-Z0-9-]+):(\d{12}):function:([a-zA-Z0-9_-]+):(\$LATEST(?:\.PUBLISHED)?|[0-9]+)/durable-execution/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)`

var (
	reDurableExecution = regexp.MustCompile(`^(?:` + patternDurableExecution + `)$`)
	reCallbackID       = regexp.MustCompile(`^[A-Za-z0-9+/]+={0,2}$`)
)

// DurableExecution answers that no durable execution has that ARN: there
// are none. Get, GetHistory and Stop (withNotFound) answer
// ResourceNotFoundException; GetState and Checkpoint, which the runtime's
// SDK calls with a checkpoint token, model no such error and answer
// InvalidParameterValueException.
func (s *Service) DurableExecution(ctx context.Context, arn string, withNotFound bool) error {
	s.init()
	if len(arn) > 1024 || !reDurableExecution.MatchString(arn) {
		var v lambdahost.Validation
		v.Add("durableExecutionArn", lambdahost.Quote(arn), "Member must satisfy regular expression pattern: "+patternDurableExecution)
		return v.Err()
	}
	if !withNotFound {
		return invalidf("The durable execution %s does not exist.", arn)
	}
	return errResourceNotFound()
}

// DurableExecutionCallback answers that no callback has that ID (as an
// InvalidParameterValueException: the callback operations model no
// ResourceNotFoundException).
func (s *Service) DurableExecutionCallback(ctx context.Context, id string) error {
	s.init()
	if len(id) > 1024 || !reCallbackID.MatchString(id) {
		var v lambdahost.Validation
		v.Add("callbackId", lambdahost.Quote(id), "Member must satisfy regular expression pattern: [A-Za-z0-9+/]+={0,2}")
		return v.Err()
	}
	return invalidf("The callback %s does not exist.", id)
}

// ListDurableExecutionsByFunction checks that the function exists: it has
// no durable executions.
func (s *Service) ListDurableExecutionsByFunction(ctx context.Context, functionName, qualifier string, in ListInput) error {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return err
	}
	var v lambdahost.Validation
	checkRange(&v, "maxItems", in.MaxItems, 0, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	fn, qual, err := s.exists(ctx, t)
	if err != nil {
		return err
	}
	if !fn || !qual {
		return notFound(t.id, t.qualifier)
	}
	return nil
}

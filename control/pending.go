package control

// The Lambda operations whose resources lambdahost does not keep yet:
// function scaling configs, capacity providers (Lambda Managed Instances)
// and durable executions. Every operation of the
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

// ---- Scaling configs ----

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

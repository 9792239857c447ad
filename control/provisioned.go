package control

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Provisioned concurrency keeps environments of a published version (or of
// an alias's version) initialised, so that invocations find them warm.
// (https://docs.aws.amazon.com/lambda/latest/api/API_PutProvisionedConcurrencyConfig.html)

// kindProvisionedConcurrency: "<account>/<region>/<function>/<qualifier>"
// → a provisionedRecord.
const kindProvisionedConcurrency = "provisioned-concurrency"

// Provisioned concurrency statuses.
const (
	ProvisionedInProgress = "IN_PROGRESS"
	ProvisionedReady      = "READY"
	ProvisionedFailed     = "FAILED"
)

// ProvisionedConcurrencyConfig is a version's or alias's provisioned
// concurrency and how much of it is up.
type ProvisionedConcurrencyConfig struct {
	// FunctionARN is the version's or alias's ARN.
	FunctionARN string
	Requested   int
	Allocated   int
	Available   int
	Status      string
	// StatusReason says why Status is FAILED.
	StatusReason string
	LastModified time.Time
}

// provisionedRecord is a ProvisionedConcurrencyConfig as stored. The node
// that holds its claim keeps the environments and writes Allocated,
// Available and Status as they come up.
type provisionedRecord struct {
	Function     lambdahost.FunctionID `json:"function"`
	Qualifier    string                `json:"qualifier"`
	Requested    int                   `json:"requested"`
	Allocated    int                   `json:"allocated"`
	Available    int                   `json:"available"`
	Status       string                `json:"status"`
	StatusReason string                `json:"statusReason,omitempty"`
	LastModified time.Time             `json:"lastModified"`
	// Version is the version whose environments Allocated counts: the
	// qualifier itself, or the version the alias pointed to when they
	// were started.
	Version string `json:"version,omitempty"`
	// Generation tells the requests apart: each Put makes a new one, and
	// the node that keeps the environments writes progress only for the
	// generation it works on.
	Generation string `json:"generation"`
}

func (r *provisionedRecord) config() *ProvisionedConcurrencyConfig {
	return &ProvisionedConcurrencyConfig{FunctionARN: r.Function.QualifiedARN(r.Qualifier), Requested: r.Requested,
		Allocated: r.Allocated, Available: r.Available, Status: r.Status, StatusReason: r.StatusReason, LastModified: r.LastModified}
}

func (r *provisionedRecord) key() string { return qualifiedRecordKey(r.Function, r.Qualifier) }

func errAliasNotFound(id lambdahost.FunctionID, alias string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Cannot find alias arn: %s", id.QualifiedARN(alias))
}

// provisionedTarget resolves the version or alias of a provisioned
// concurrency operation; put selects the wording of the $LATEST error.
func provisionedTarget(ctx context.Context, functionName, qualifier string, put bool) (target, error) {
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
		if put {
			return t, invalidf("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
		}
		return t, invalidf("The function resource provided must be an alias or a published version.")
	}
	return t, nil
}

// provisionedExists answers the not-found error AWS words for t's function
// or qualifier, in tx, or nil if both exist.
func provisionedExists(ctx context.Context, tx lambdahost.Tx, t target) error {
	ok, err := qualifierExists(ctx, tx, t.id, t.qualifier)
	switch {
	case err != nil:
		return err
	case ok:
		return nil
	case lambdahost.VersionOrder(t.qualifier) == -3:
		return errAliasNotFound(t.id, t.qualifier)
	}
	return notFound(t.id, t.qualifier)
}

// provisionedRecords reads every provisioned concurrency record of
// function id, or of the account and region when id.Name is empty.
func provisionedRecords(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID) ([]*provisionedRecord, error) {
	prefix := id.Account + "/" + id.Region + "/"
	if id.Name != "" {
		prefix = functionKey(id) + "/"
	}
	recs, _, err := scanRecords(ctx, tx, kindProvisionedConcurrency, prefix, "", math.MaxInt,
		func(*provisionedRecord) bool { return true }, func(r *provisionedRecord) string { return "" })
	return recs, err
}

// concurrencyLimitError is an InvalidParameterValueException that AWS
// sends without its Type member.
func concurrencyLimitError(format string, args ...any) error {
	e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, format, args...)
	e.NoType = true
	return e
}

// PutProvisionedConcurrencyConfig asks for executions environments of a
// published version or alias to be kept initialised, and answers the
// config, IN_PROGRESS until they are up.
//
// It answers ValidationException for fewer than 1, InvalidParameterValueException
// for $LATEST or more than the function's reserved or the account's
// unreserved concurrency allows, ResourceConflictException when the alias's
// version, or an alias of the version, has provisioned concurrency already,
// and ResourceNotFoundException if the function, version or alias does not
// exist.
func (s *Service) PutProvisionedConcurrencyConfig(ctx context.Context, functionName, qualifier string, executions *int) (*ProvisionedConcurrencyConfig, error) {
	s.init()
	var v lambdahost.Validation
	switch {
	case executions == nil:
		v.Add("provisionedConcurrentExecutions", "null", "Member must not be null")
	case *executions < 1:
		v.Add("provisionedConcurrentExecutions", lambdahost.Quote(strconv.Itoa(*executions)), "Member must have value greater than or equal to 1")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	t, err := provisionedTarget(ctx, functionName, qualifier, true)
	if err != nil {
		return nil, err
	}
	n := *executions
	var out *ProvisionedConcurrencyConfig
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := provisionedExists(ctx, tx, t); err != nil {
			return err
		}
		fn, err := tx.Function(ctx, t.id)
		if err != nil {
			return err
		}
		version := t.qualifier
		aliases, err := tx.ListAliases(ctx, t.id, "", 0)
		if err != nil {
			return err
		}
		if lambdahost.VersionOrder(t.qualifier) == -3 {
			for _, a := range aliases {
				if a.Name == t.qualifier {
					version = a.FunctionVersion
				}
			}
		}
		mine, err := provisionedRecords(ctx, tx, t.id)
		if err != nil {
			return err
		}
		others := 0
		for _, r := range mine {
			if r.Qualifier == t.qualifier {
				continue
			}
			others += r.Requested
			if lambdahost.VersionOrder(t.qualifier) == -3 && r.Qualifier == version {
				return lambdahost.Errorf(lambdahost.ResourceConflictException, "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
			}
			if lambdahost.VersionOrder(t.qualifier) != -3 && lambdahost.VersionOrder(r.Qualifier) == -3 {
				for _, a := range aliases {
					if a.Name == r.Qualifier && a.FunctionVersion == t.qualifier {
						return lambdahost.Errorf(lambdahost.ResourceConflictException, "Version is pointed by a Provisioned Concurrency alias")
					}
				}
			}
		}
		if r := fn.ReservedConcurrency; r != nil {
			if others+n > *r {
				return invalidf("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
			}
		} else if err := s.checkUnreserved(ctx, tx, t.id, t.qualifier, n); err != nil {
			return err
		}
		rec := &provisionedRecord{Function: t.id, Qualifier: t.qualifier, Requested: n, Status: ProvisionedInProgress,
			LastModified: s.now(), Version: version, Generation: lambdahost.NewID()}
		if old, err := getRecord[provisionedRecord](ctx, tx, kindProvisionedConcurrency, rec.key()); err == nil {
			// The environments already up stay up; more or fewer follow.
			rec.Allocated, rec.Available = min(old.Allocated, n), min(old.Available, n)
			if old.Version == version && old.Requested == n && old.Status == ProvisionedReady {
				rec.Status = ProvisionedReady
			}
		} else if !errors.Is(err, lambdahost.ErrNotFound) {
			return err
		}
		if err := putRecord(ctx, tx, kindProvisionedConcurrency, rec.key(), rec); err != nil {
			return err
		}
		out = rec.config()
		return nil
	})
	if err != nil {
		return nil, internal("put provisioned concurrency config", err)
	}
	s.provisionChanged()
	return out, nil
}

// checkUnreserved refuses n provisioned executions for qualifier of
// function id, which reserves no concurrency, if they would leave the account's region less
// than its minimum of unreserved concurrency.
func (s *Service) checkUnreserved(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, qualifier string, n int) error {
	u, err := tx.Usage(ctx, id.Account, id.Region)
	if err != nil {
		return err
	}
	all, err := provisionedRecords(ctx, tx, lambdahost.FunctionID{Account: id.Account, Region: id.Region})
	if err != nil {
		return err
	}
	provisioned, err := unreservedProvisioned(ctx, tx, all, func(r *provisionedRecord) bool {
		return r.Function == id && r.Qualifier == qualifier // replaced by n
	})
	if err != nil {
		return err
	}
	unreserved := accountConcurrency - int(u.ReservedConcurrency) - provisioned
	if n > unreserved {
		return concurrencyLimitError("Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [%d].", unreserved)
	}
	if unreserved-n < minUnreservedConcurrency {
		return concurrencyLimitError("Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", minUnreservedConcurrency)
	}
	return nil
}

// unreservedProvisioned sums the provisioned concurrency in recs of
// functions that reserve none (theirs comes out of their reservation),
// leaving out those skip selects.
func unreservedProvisioned(ctx context.Context, tx lambdahost.Tx, recs []*provisionedRecord, skip func(*provisionedRecord) bool) (int, error) {
	reserved := map[lambdahost.FunctionID]bool{}
	sum := 0
	for _, r := range recs {
		if skip != nil && skip(r) {
			continue
		}
		has, ok := reserved[r.Function]
		if !ok {
			fn, err := tx.Function(ctx, r.Function)
			if errors.Is(err, lambdahost.ErrNotFound) {
				continue
			}
			if err != nil {
				return 0, err
			}
			has = fn.ReservedConcurrency != nil
			reserved[r.Function] = has
		}
		if !has {
			sum += r.Requested
		}
	}
	return sum, nil
}

// GetProvisionedConcurrencyConfig answers a version's or alias's
// provisioned concurrency. It answers
// ProvisionedConcurrencyConfigNotFoundException if it has none.
func (s *Service) GetProvisionedConcurrencyConfig(ctx context.Context, functionName, qualifier string) (*ProvisionedConcurrencyConfig, error) {
	s.init()
	t, err := provisionedTarget(ctx, functionName, qualifier, false)
	if err != nil {
		return nil, err
	}
	var out *ProvisionedConcurrencyConfig
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if err := provisionedExists(ctx, tx, t); err != nil {
			return err
		}
		rec, err := getRecord[provisionedRecord](ctx, tx, kindProvisionedConcurrency, qualifiedRecordKey(t.id, t.qualifier))
		if errors.Is(err, lambdahost.ErrNotFound) {
			return lambdahost.Errorf(lambdahost.ProvisionedConcurrencyConfigNotFoundException, "No Provisioned Concurrency Config found for this function")
		}
		if err != nil {
			return err
		}
		out = rec.config()
		return nil
	})
	if err != nil {
		return nil, internal("get provisioned concurrency config", err)
	}
	return out, nil
}

// DeleteProvisionedConcurrencyConfig removes a version's or alias's
// provisioned concurrency; its environments are released. Removing none
// succeeds.
func (s *Service) DeleteProvisionedConcurrencyConfig(ctx context.Context, functionName, qualifier string) error {
	s.init()
	t, err := provisionedTarget(ctx, functionName, qualifier, false)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := provisionedExists(ctx, tx, t); err != nil {
			return err
		}
		return tx.DeleteRecord(ctx, kindProvisionedConcurrency, qualifiedRecordKey(t.id, t.qualifier))
	})
	if err != nil {
		return internal("delete provisioned concurrency config", err)
	}
	s.provisionChanged()
	return nil
}

// ListProvisionedConcurrencyOutput is a page of provisioned concurrency configs.
type ListProvisionedConcurrencyOutput struct {
	Configs    []*ProvisionedConcurrencyConfig
	NextMarker string
}

// ListProvisionedConcurrencyConfigs answers the provisioned concurrency
// configs of a function's versions and aliases. It answers
// ResourceNotFoundException if the function does not exist.
func (s *Service) ListProvisionedConcurrencyConfigs(ctx context.Context, functionName string, in ListInput) (*ListProvisionedConcurrencyOutput, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameFunction, "")
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(in, 50)
	if err != nil {
		return nil, err
	}
	token, err := markerToken(in.Marker)
	if err != nil {
		return nil, err
	}
	out := &ListProvisionedConcurrencyOutput{Configs: []*ProvisionedConcurrencyConfig{}}
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, t.id); err != nil {
			return err
		}
		recs, next, err := scanRecords(ctx, tx, kindProvisionedConcurrency, functionKey(t.id)+"/", token, limit,
			func(*provisionedRecord) bool { return true }, func(r *provisionedRecord) string { return r.Qualifier })
		if err != nil {
			return err
		}
		for _, r := range recs {
			out.Configs = append(out.Configs, r.config())
		}
		if next != "" {
			out.NextMarker = encodeMarker(next)
		}
		return nil
	})
	if err != nil {
		return nil, s.notFoundOr(target{id: t.id}, err, "list provisioned concurrency configs")
	}
	return out, nil
}

// provisionedTotal sums the provisioned concurrency of function id in tx.
func provisionedTotal(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID) (int, error) {
	recs, err := provisionedRecords(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		n += r.Requested
	}
	return n, nil
}

// provisionChanged tells the node's provisioner that configs changed, so
// that it starts or stops environments now rather than at its next round.
func (s *Service) provisionChanged() {
	select {
	case s.provisionWake <- struct{}{}:
	default:
	}
}

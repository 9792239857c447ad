package control

import (
	"context"
	"errors"
	"strconv"

	"github.com/lambdahost/lambdahost"
)

// minUnreservedConcurrency is the concurrency AWS keeps unreserved for
// the functions that reserve none: reservations may not take the account
// below it.
const minUnreservedConcurrency = 100

// PutFunctionConcurrency sets a function's reserved concurrency and answers
// the value set. Reserved concurrency belongs to the function as a whole,
// so a qualified name is refused; it changes no RevisionId.
//
// It answers ValidationException if reserved is nil or negative,
// InvalidParameterValueException for a qualified name or when the
// reservation would leave the account's region less than 100 unreserved,
// and ResourceNotFoundException if the function does not exist.
// (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html)
func (s *Service) PutFunctionConcurrency(ctx context.Context, functionName string, reserved *int) (int, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameFunction, "")
	if err != nil {
		return 0, err
	}
	var v lambdahost.Validation
	switch {
	case reserved == nil:
		v.Add("reservedConcurrentExecutions", "null", "Member must not be null")
	case *reserved < 0:
		v.Add("reservedConcurrentExecutions", lambdahost.Quote(strconv.Itoa(*reserved)), "Member must have value greater than or equal to 0")
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	if err := t.unqualified(); err != nil {
		return 0, err
	}
	n := *reserved
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		fn, err := concurrencyTarget(ctx, tx, t.id)
		if err != nil {
			return err
		}
		u, err := tx.Usage(ctx, t.id.Account, t.id.Region)
		if err != nil {
			return err
		}
		// The function's own reservation is replaced, so it does not count.
		others := u.ReservedConcurrency
		if fn.ReservedConcurrency != nil {
			others -= int64(*fn.ReservedConcurrency)
		}
		// Provisioned concurrency of functions that reserve none comes out
		// of the unreserved pool too.
		all, err := provisionedRecords(ctx, tx, lambdahost.FunctionID{Account: t.id.Account, Region: t.id.Region})
		if err != nil {
			return err
		}
		provisioned, err := unreservedProvisioned(ctx, tx, all, func(r *provisionedRecord) bool { return r.Function == t.id })
		if err != nil {
			return err
		}
		if accountConcurrency-others-int64(provisioned)-int64(n) < minUnreservedConcurrency {
			return concurrencyLimitError("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", minUnreservedConcurrency)
		}
		// AWS's text, with its leading space and double space.
		if total, err := provisionedTotal(ctx, tx, t.id); err != nil {
			return err
		} else if n < total {
			return concurrencyLimitError(" ReservedConcurrentExecutions  %d should not be lower than function's total provisioned concurrency [%d].", n, total)
		}
		fn.ReservedConcurrency = &n
		return tx.PutFunction(ctx, fn)
	})
	if err != nil {
		return 0, internal("put function concurrency", err)
	}
	return n, nil
}

// GetFunctionConcurrency answers a function's reserved concurrency, or nil
// when none is set. It answers ResourceNotFoundException if the function
// does not exist.
// (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConcurrency.html)
func (s *Service) GetFunctionConcurrency(ctx context.Context, functionName string) (*int, error) {
	s.init()
	t, err := resolveFunction(ctx, functionName, ruleFunctionOnly)
	if err != nil {
		return nil, err
	}
	var reserved *int
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		fn, err := tx.Function(ctx, t.id)
		if err != nil {
			return err
		}
		reserved = fn.ReservedConcurrency
		return nil
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "get function concurrency")
	}
	return reserved, nil
}

// DeleteFunctionConcurrency removes a function's reserved concurrency, so
// that it uses the account's unreserved pool again. Removing none
// succeeds. It answers ResourceNotFoundException if the function does not
// exist.
// (https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunctionConcurrency.html)
func (s *Service) DeleteFunctionConcurrency(ctx context.Context, functionName string) error {
	s.init()
	t, err := resolveFunction(ctx, functionName, ruleFunctionOnly)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		fn, err := concurrencyTarget(ctx, tx, t.id)
		if err != nil {
			return err
		}
		if fn.ReservedConcurrency == nil {
			return nil
		}
		fn.ReservedConcurrency = nil
		return tx.PutFunction(ctx, fn)
	})
	if err != nil {
		return internal("delete function concurrency", err)
	}
	return nil
}

// concurrencyTarget reads the function whose reserved concurrency Put or
// DeleteFunctionConcurrency changes. AWS names $LATEST in their not-found
// message (recorded responses).
func concurrencyTarget(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID) (*lambdahost.Function, error) {
	fn, err := tx.Function(ctx, id)
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, notFound(id, lambdahost.VersionLatest)
	}
	return fn, err
}

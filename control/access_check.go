package control

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// access checks, for Check, the records of resource-based policies and
// function URLs: each belongs to a function, version or alias that exists
// (deleting one deletes them), each statement is a JSON object, and a
// URL and the index entry of its ID point at each other.
func (c *checker) access(ctx context.Context) error {
	// owner names the resource a record of key belongs to, or reports a
	// problem and "" when that resource is gone.
	owner := func(kind, key string) (string, error) {
		parts := strings.SplitN(key, "/", 4)
		if len(parts) != 4 {
			c.problem("", "%s record %q names no function", kind, key)
			return "", nil
		}
		id := lambdahost.FunctionID{Account: parts[0], Region: parts[1], Name: parts[2]}
		q := parts[3]
		arn := policyResource(id, q)
		if _, err := c.tx.Function(ctx, id); errors.Is(err, lambdahost.ErrNotFound) {
			c.problem(arn, "has a %s record but no function", kind)
			return "", nil
		} else if err != nil {
			return "", err
		}
		var err error
		switch {
		case q == lambdahost.VersionLatest:
		case lambdahost.ValidAliasName(q):
			_, err = c.tx.Alias(ctx, id, q)
		case lambdahost.VersionOrder(q) > 0 || q == lambdahost.VersionLatestPublished:
			_, err = c.tx.Version(ctx, id, q)
		default:
			c.problem(arn, "has a %s record for %q, which is neither a version nor an alias", kind, q)
			return "", nil
		}
		if errors.Is(err, lambdahost.ErrNotFound) {
			c.problem(arn, "has a %s record but no such version or alias", kind)
			return "", nil
		}
		return arn, err
	}
	if err := eachRecord(ctx, c.tx, kindPolicy, func(r lambdahost.Record) error {
		arn, err := owner("policy", r.Key)
		if err != nil || arn == "" {
			return err
		}
		var p policyRecord
		if json.Unmarshal(r.Value, &p) != nil || len(p.Statements) == 0 {
			c.problem(arn, "has a policy record that is not a policy")
			return nil
		}
		for _, st := range p.Statements {
			var obj map[string]any
			if json.Unmarshal([]byte(st), &obj) != nil {
				c.problem(arn, "has a policy statement that is not a JSON object: %.60q", st)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := eachRecord(ctx, c.tx, kindURL, func(r lambdahost.Record) error {
		arn, err := owner("function URL", r.Key)
		if err != nil || arn == "" {
			return err
		}
		var u urlRecord
		if json.Unmarshal(r.Value, &u) != nil || !ValidURLID(u.ID) {
			c.problem(arn, "has a function URL record that is not one")
			return nil
		}
		key, err := c.tx.Record(ctx, kindURLID, u.ID)
		switch {
		case errors.Is(err, lambdahost.ErrNotFound) || err == nil && string(key) != r.Key:
			c.problem(arn, "has function URL %s, which its ID does not find", u.ID)
		case err != nil:
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	return eachRecord(ctx, c.tx, kindURLID, func(r lambdahost.Record) error {
		u, err := getRecord[urlRecord](ctx, c.tx, kindURL, string(r.Value))
		switch {
		case errors.Is(err, lambdahost.ErrNotFound):
			c.problem("", "function URL ID %s names %s, which has no URL", r.Key, r.Value)
		case err != nil:
			return err
		case u.ID != r.Key:
			c.problem("", "function URL ID %s names %s, whose URL is %s", r.Key, r.Value, u.ID)
		}
		return nil
	})
}

// eachRecord calls f with every record of kind, in key order.
func eachRecord(ctx context.Context, tx lambdahost.Tx, kind string, f func(lambdahost.Record) error) error {
	for after := ""; ; {
		recs, err := tx.ListRecords(ctx, kind, "", after, 100)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := f(r); err != nil {
				return err
			}
		}
		if len(recs) < 100 {
			return nil
		}
		after = recs[len(recs)-1].Key
	}
}

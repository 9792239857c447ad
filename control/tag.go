package control

import (
	"context"
	"errors"
	"strings"

	"github.com/lambdahost/lambdahost"
)

const maxTags = 50

// validateTags checks tag keys and values. forUpdate relaxes nothing today;
// it is there because TagResource and CreateFunction word the empty case differently.
func validateTags(tags map[string]string, forUpdate bool) error {
	if len(tags) > maxTags {
		return invalidf("Number of tags exceeds resource tag limit.")
	}
	var v lambdahost.Validation
	for k, val := range tags {
		if len(k) < 1 || len(k) > 128 {
			v.Add("tags", "", "Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]")
			break
		}
		if len(val) > 256 {
			v.Add("tags", "", "Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0]")
			break
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidf("Tag keys prefixed with 'aws:' are reserved for AWS use.")
		}
	}
	_ = forUpdate
	return nil
}

// resource resolves a TagResource/UntagResource/ListTags ARN to a function.
func resource(ctx context.Context, arn string) (lambdahost.FunctionID, error) {
	c, err := caller(ctx)
	if err != nil {
		return lambdahost.FunctionID{}, internal("resolve resource", err)
	}
	r, err := lambdahost.ParseTaggableResource(arn)
	if err != nil {
		return lambdahost.FunctionID{}, err
	}
	if r.Account != c.Account {
		return lambdahost.FunctionID{}, accessDenied(c, arn)
	}
	if r.Region != c.Region {
		return lambdahost.FunctionID{}, lambdahost.Errorf(lambdahost.ResourceNotFoundException,
			"Functions from '%s' are not reachable in this region ('%s')", r.Region, c.Region)
	}
	if r.Name == "" {
		// Code signing configs, event source mappings... lambdahost has none yet.
		return lambdahost.FunctionID{}, lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
	}
	if r.Qualifier != "" {
		return lambdahost.FunctionID{}, invalidf("Tags on function aliases and versions are not supported. Please specify a function ARN.")
	}
	return lambdahost.FunctionID{Account: r.Account, Region: r.Region, Name: r.Name}, nil
}

// updateTags applies change to the tags of the function arn names.
func (s *Service) updateTags(ctx context.Context, arn string, change func(map[string]string)) error {
	if reCSCARN.MatchString(arn) {
		return s.updateCSCTags(ctx, arn, change)
	}
	if reESMARN.MatchString(arn) {
		return s.updateESMTags(ctx, arn, change)
	}
	id, err := resource(ctx, arn)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		fn, err := tx.Function(ctx, id)
		if err != nil {
			return err
		}
		if fn.Tags == nil {
			fn.Tags = map[string]string{}
		}
		change(fn.Tags)
		if len(fn.Tags) > maxTags {
			return invalidf("Number of tags exceeds resource tag limit.")
		}
		if len(fn.Tags) == 0 {
			fn.Tags = nil
		}
		return tx.PutFunction(ctx, fn)
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return notFound(id, "")
	}
	return internal("update tags", err)
}

// TagResource adds or replaces tags on a function.
func (s *Service) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	s.init()
	if tags == nil {
		var v lambdahost.Validation
		v.Add("tags", "null", "Member must not be null")
		return v.Err()
	}
	if len(tags) == 0 {
		return invalidf("An error occurred and the request cannot be processed.")
	}
	if err := validateTags(tags, true); err != nil {
		return err
	}
	return s.updateTags(ctx, arn, func(m map[string]string) {
		for k, v := range tags {
			m[k] = v
		}
	})
}

// UntagResource removes tags from a function. keys nil means the
// parameter was missing.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	s.init()
	if keys == nil {
		var v lambdahost.Validation
		v.Add("tagKeys", "null", "Member must not be null")
		return v.Err()
	}
	return s.updateTags(ctx, arn, func(m map[string]string) {
		for _, k := range keys {
			delete(m, k)
		}
	})
}

// ListTags answers a function's tags.
func (s *Service) ListTags(ctx context.Context, arn string) (map[string]string, error) {
	s.init()
	if reCSCARN.MatchString(arn) {
		return s.cscTags(ctx, arn)
	}
	if reESMARN.MatchString(arn) {
		return s.esmTags(ctx, arn)
	}
	id, err := resource(ctx, arn)
	if err != nil {
		return nil, err
	}
	var tags map[string]string
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		fn, err := tx.Function(ctx, id)
		if err != nil {
			return err
		}
		tags = fn.Tags
		return nil
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, notFound(id, "")
	}
	if err != nil {
		return nil, internal("list tags", err)
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return tags, nil
}

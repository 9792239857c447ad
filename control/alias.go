package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// AliasInput is a CreateAlias or UpdateAlias request. For UpdateAlias, nil
// fields are left as they are.
type AliasInput struct {
	FunctionName    string
	Name            string
	FunctionVersion *string
	Description     *string
	// RoutingConfig is nil when not given; a pointer to a nil map clears it.
	RoutingConfig *map[string]float64
	RevisionID    *string
}

var reAliasVersion = regexp.MustCompile(`^(\$LATEST(\.PUBLISHED)?|[0-9]+)$`)

// checkAliasVersion adds the model's constraint on an alias's
// FunctionVersion (CreateAlias, UpdateAlias, ListAliases) to v.
func checkAliasVersion(v *lambdahost.Validation, fv *string) {
	if fv != nil && (len(*fv) > 1024 || !reAliasVersion.MatchString(*fv)) {
		v.Add("functionVersion", lambdahost.Quote(*fv), `Member must satisfy regular expression pattern: (\$(LATEST|LATEST\.PUBLISHED)|[0-9]+)`)
	}
}

func validateAlias(in *AliasInput) error {
	var v lambdahost.Validation
	if !lambdahost.ValidAliasName(in.Name) {
		switch {
		case len(in.Name) > 128:
			v.Add("name", lambdahost.Quote(in.Name), "Member must have length less than or equal to 128")
		case len(in.Name) < 1:
			v.Add("name", lambdahost.Quote(in.Name), "Member must have length greater than or equal to 1")
		default:
			v.Add("name", lambdahost.Quote(in.Name), "Member must satisfy regular expression pattern: "+lambdahost.PatternAlias)
		}
	}
	checkAliasVersion(&v, in.FunctionVersion)
	checkDescription(&v, in.Description)
	if in.RoutingConfig != nil {
		w := *in.RoutingConfig
		keys := sortedKeys(w)
		for _, k := range keys {
			if !lambdahost.IsVersionNumber(k) || len(k) > 1024 {
				v.Add("routingConfig.additionalVersionWeights", "'"+formatWeights(w)+"'", "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]")
				break
			}
		}
		for _, k := range keys {
			if x := w[k]; x < 0 || x > 1 {
				v.Add("routingConfig.additionalVersionWeights", "'"+formatWeights(w)+"'", "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
				break
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if in.RoutingConfig != nil && len(*in.RoutingConfig) > 1 {
		return invalidf("Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	return nil
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatWeights prints a weights map as AWS's messages do: {2=0.5}.
func formatWeights(m map[string]float64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		s := fmt.Sprintf("%g", m[k])
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		parts = append(parts, k+"="+s)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// checkAliasTargets checks, inside tx, that the alias's versions exist and
// that its routing makes sense.
func checkAliasTargets(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, a *lambdahost.Alias) error {
	if _, err := tx.Version(ctx, id, a.FunctionVersion); err != nil {
		if errors.Is(err, lambdahost.ErrNotFound) {
			return notFound(id, a.FunctionVersion)
		}
		return err
	}
	for k := range a.AdditionalVersionWeights {
		if k == a.FunctionVersion {
			return invalidf("Invalid function version %s. Function version %s is already included in routing configuration.", k, k)
		}
		if a.FunctionVersion == lambdahost.VersionLatest || a.FunctionVersion == lambdahost.VersionLatestPublished {
			return invalidf("$LATEST is not supported for an alias pointing to more than 1 version")
		}
		if _, err := tx.Version(ctx, id, k); err != nil {
			if errors.Is(err, lambdahost.ErrNotFound) {
				return notFound(id, k)
			}
			return err
		}
	}
	return nil
}

// CreateAlias creates an alias of a function version.
func (s *Service) CreateAlias(ctx context.Context, in *AliasInput) (*lambdahost.Alias, error) {
	s.init()
	t, err := resolveFunction(ctx, in.FunctionName, ruleFunctionOnly)
	if err != nil {
		return nil, err
	}
	if in.FunctionVersion == nil {
		var v lambdahost.Validation
		v.Add("functionVersion", "null", "Member must not be null")
		return nil, v.Err()
	}
	if err := validateAlias(in); err != nil {
		return nil, err
	}
	a := &lambdahost.Alias{Function: t.id, Name: in.Name, FunctionVersion: *in.FunctionVersion, RevisionID: s.NewRevisionID()}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.RoutingConfig != nil && len(*in.RoutingConfig) > 0 {
		a.AdditionalVersionWeights = maps.Clone(*in.RoutingConfig)
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, t.id); err != nil {
			if errors.Is(err, lambdahost.ErrNotFound) {
				return notFound(t.id, "")
			}
			return err
		}
		if err := checkAliasTargets(ctx, tx, t.id, a); err != nil {
			return err
		}
		return tx.CreateAlias(ctx, a)
	})
	if errors.Is(err, lambdahost.ErrExists) {
		return nil, lambdahost.Errorf(lambdahost.ResourceConflictException, "Alias already exists: %s", a.ARN())
	}
	if err != nil {
		return nil, internal("create alias", err)
	}
	return a, nil
}

// GetAlias answers an alias.
func (s *Service) GetAlias(ctx context.Context, functionName, name string) (*lambdahost.Alias, error) {
	s.init()
	t, err := resolveFunction(ctx, functionName, ruleFunctionOnly)
	if err != nil {
		return nil, err
	}
	if err := validateAliasName(name); err != nil {
		return nil, err
	}
	var a *lambdahost.Alias
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		a, err = tx.Alias(ctx, t.id, name)
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Cannot find alias arn: %s", t.id.QualifiedARN(name))
	}
	if err != nil {
		return nil, internal("get alias", err)
	}
	return a, nil
}

func validateAliasName(name string) error {
	return validateAlias(&AliasInput{Name: name})
}

// UpdateAlias changes an alias; nil fields of in are left as they are.
func (s *Service) UpdateAlias(ctx context.Context, in *AliasInput) (*lambdahost.Alias, error) {
	s.init()
	t, err := resolveFunction(ctx, in.FunctionName, ruleFunctionOnly)
	if err != nil {
		return nil, err
	}
	if err := validateAlias(in); err != nil {
		return nil, err
	}
	var a *lambdahost.Alias
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		a, err = tx.Alias(ctx, t.id, in.Name)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Alias not found: %s", t.id.QualifiedARN(in.Name))
		}
		if err != nil {
			return err
		}
		if in.RevisionID != nil && *in.RevisionID != a.RevisionID {
			return revisionMismatch()
		}
		if in.FunctionVersion != nil {
			a.FunctionVersion = *in.FunctionVersion
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.AdditionalVersionWeights = nil
			if len(*in.RoutingConfig) > 0 {
				a.AdditionalVersionWeights = maps.Clone(*in.RoutingConfig)
			}
		}
		if err := checkAliasTargets(ctx, tx, t.id, a); err != nil {
			return err
		}
		a.RevisionID = s.NewRevisionID()
		return tx.PutAlias(ctx, a)
	})
	if err != nil {
		return nil, internal("update alias", err)
	}
	// An alias with provisioned concurrency moves its environments.
	s.provisionChanged()
	return a, nil
}

// DeleteAlias deletes an alias. Deleting a missing alias succeeds, as on AWS.
func (s *Service) DeleteAlias(ctx context.Context, functionName, name string) error {
	s.init()
	t, err := resolveFunction(ctx, functionName, ruleFunctionOnly)
	if err != nil {
		return err
	}
	if err := validateAliasName(name); err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := forgetAccess(ctx, tx, t.id, name); err != nil {
			return err
		}
		if err := tx.DeleteAlias(ctx, t.id, name); err != nil {
			return err
		}
		return deleteQualifierRecords(ctx, tx, t.id, name)
	})
	if err != nil && !errors.Is(err, lambdahost.ErrNotFound) {
		return internal("delete alias", err)
	}
	s.provisionChanged()
	return nil
}

// ListAliasesOutput is a page of aliases.
type ListAliasesOutput struct {
	Aliases    []*lambdahost.Alias
	NextMarker string
}

// ListAliases answers a function's aliases, optionally only those pointing
// at functionVersion.
func (s *Service) ListAliases(ctx context.Context, functionName string, functionVersion *string, in ListInput) (*ListAliasesOutput, error) {
	s.init()
	t, err := resolveFunction(ctx, functionName, ruleFunctionOnly)
	if err != nil {
		return nil, err
	}
	var v lambdahost.Validation
	checkAliasVersion(&v, functionVersion)
	if err := v.Err(); err != nil {
		return nil, err
	}
	limit, parts, err := in.page(1)
	if err != nil {
		return nil, err
	}
	after := ""
	if parts != nil {
		after = parts[0]
	}
	out := &ListAliasesOutput{Aliases: []*lambdahost.Alias{}}
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, t.id); err != nil {
			return err
		}
		// Filtering happens here, so page through the store until the page fills.
		for {
			as, err := tx.ListAliases(ctx, t.id, after, limit+1)
			if err != nil {
				return err
			}
			for _, a := range as {
				if functionVersion != nil && a.FunctionVersion != *functionVersion {
					continue
				}
				if len(out.Aliases) == limit {
					out.NextMarker = encodeMarker(out.Aliases[limit-1].Name)
					return nil
				}
				out.Aliases = append(out.Aliases, a)
			}
			if len(as) <= limit {
				return nil
			}
			after = as[len(as)-1].Name
		}
	})
	if err != nil {
		return nil, s.notFoundOr(target{id: t.id}, err, "list aliases")
	}
	return out, nil
}

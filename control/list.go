package control

import (
	"context"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// maxPage is the most items a list operation answers in one page, whatever
// MaxItems asks for, as AWS does.
const maxPage = 50

var regexpRegion = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-\d{1}$`)

// ListInput holds the paging parameters of list operations.
type ListInput struct {
	Marker   *string
	MaxItems *int
}

// limit returns the page size for in.
func (in ListInput) limit() (int, error) {
	if in.MaxItems == nil {
		return maxPage, nil
	}
	n := *in.MaxItems
	var v lambdahost.Validation
	if n < 1 {
		v.Add("maxItems", lambdahost.Quote(strconv.Itoa(n)), "Member must have value greater than or equal to 1")
	}
	if n > 10000 {
		v.Add("maxItems", lambdahost.Quote(strconv.Itoa(n)), "Member must have value less than or equal to 10000")
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	return min(n, maxPage), nil
}

// page returns the page size and the decoded Marker, which holds n parts
// (nil when there is no marker).
func (in ListInput) page(n int) (limit int, marker []string, err error) {
	if limit, err = in.limit(); err != nil {
		return 0, nil, err
	}
	marker, err = decodeMarker(in.Marker, n)
	return limit, marker, err
}

// Markers are opaque to callers: base64 of the last key answered.
func encodeMarker(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

// markerToken returns the one part of a list marker, or "" without one.
func markerToken(m *string) (string, error) {
	parts, err := decodeMarker(m, 1)
	if err != nil || parts == nil {
		return "", err
	}
	return parts[0], nil
}

// pageLimit validates a list's MaxItems (1 to most) and returns the page
// size: MaxItems, or most without one.
func pageLimit(in ListInput, most int) (int, error) {
	var v lambdahost.Validation
	checkIntRange(&v, "maxItems", in.MaxItems, 1, most)
	if err := v.Err(); err != nil {
		return 0, err
	}
	if in.MaxItems != nil {
		return *in.MaxItems, nil
	}
	return most, nil
}

func decodeMarker(m *string, n int) ([]string, error) {
	if m == nil || *m == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*m)
	parts := strings.Split(string(b), "\x00")
	if err != nil || len(parts) != n {
		return nil, invalidf("Invalid marker: %s", *m)
	}
	return parts, nil
}

// ListFunctionsInput is a ListFunctions request.
type ListFunctionsInput struct {
	ListInput
	FunctionVersion *string
	MasterRegion    *string
}

// ListFunctionsOutput is a page of functions.
type ListFunctionsOutput struct {
	Functions  []FunctionConfig
	NextMarker string
}

// ListFunctions answers the caller's functions in its region: each
// $LATEST, or with FunctionVersion ALL every version.
func (s *Service) ListFunctions(ctx context.Context, in *ListFunctionsInput) (*ListFunctionsOutput, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("list functions", err)
	}
	var v lambdahost.Validation
	if in.FunctionVersion != nil && *in.FunctionVersion != "ALL" {
		v.Add("functionVersion", lambdahost.Quote(*in.FunctionVersion), "Member must satisfy enum value set: [ALL]")
	}
	if in.MasterRegion != nil && *in.MasterRegion != "ALL" && !regexpRegion.MatchString(*in.MasterRegion) {
		v.Add("masterRegion", lambdahost.Quote(*in.MasterRegion), "Member must satisfy regular expression pattern: ALL|[a-z]{2}(-gov)?-[a-z]+-\\d{1}")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.MasterRegion != nil && in.FunctionVersion == nil {
		return nil, invalidf("FunctionVersion must be set to ALL when MasterRegion is specified.")
	}
	limit, err := in.limit()
	if err != nil {
		return nil, err
	}
	all := in.FunctionVersion != nil
	out := &ListFunctionsOutput{Functions: []FunctionConfig{}}
	if in.MasterRegion != nil {
		// lambdahost has no Lambda@Edge replicas: there is nothing to list.
		return out, nil
	}
	var vs []*lambdahost.Version
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if all {
			parts, err := decodeMarker(in.Marker, 2)
			if err != nil {
				return err
			}
			afterName, afterOrder := "", int64(-1<<62)
			if parts != nil {
				afterName = parts[0]
				if afterOrder, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
					return invalidf("Invalid marker: %s", *in.Marker)
				}
			}
			vs, err = tx.ListAllVersions(ctx, c.Account, c.Region, afterName, afterOrder, limit+1)
			return err
		}
		parts, err := decodeMarker(in.Marker, 1)
		if err != nil {
			return err
		}
		after := ""
		if parts != nil {
			after = parts[0]
		}
		vs, err = tx.ListLatest(ctx, c.Account, c.Region, after, limit+1)
		return err
	})
	if err != nil {
		return nil, internal("list functions", err)
	}
	if len(vs) > limit {
		vs = vs[:limit]
		last := vs[limit-1]
		if all {
			out.NextMarker = encodeMarker(last.Function.Name, strconv.FormatInt(lambdahost.VersionOrder(last.Name), 10))
		} else {
			out.NextMarker = encodeMarker(last.Function.Name)
		}
	}
	for _, v := range vs {
		arn := v.Function.ARN()
		if all {
			arn = v.ARN()
		}
		out.Functions = append(out.Functions, FunctionConfig{Version: v, ARN: arn})
	}
	return out, nil
}

// ListVersionsOutput is a page of versions.
type ListVersionsOutput struct {
	Versions   []FunctionConfig
	NextMarker string
}

// ListVersionsByFunction answers a function's versions, $LATEST first.
func (s *Service) ListVersionsByFunction(ctx context.Context, name string, in ListInput) (*ListVersionsOutput, error) {
	s.init()
	t, err := resolve(ctx, name, lambdahost.NameNamespaced, "")
	if err != nil {
		return nil, err
	}
	limit, parts, err := in.page(1)
	if err != nil {
		return nil, err
	}
	after := int64(-1 << 62)
	if parts != nil {
		if after, err = strconv.ParseInt(parts[0], 10, 64); err != nil {
			return nil, invalidf("Invalid marker: %s", *in.Marker)
		}
	}
	var vs []*lambdahost.Version
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, t.id); err != nil {
			return err
		}
		vs, err = tx.ListVersions(ctx, t.id, after, limit+1)
		return err
	})
	if err != nil {
		return nil, s.notFoundOr(target{id: t.id}, err, "list versions")
	}
	out := &ListVersionsOutput{Versions: []FunctionConfig{}}
	if len(vs) > limit {
		vs = vs[:limit]
		out.NextMarker = encodeMarker(strconv.FormatInt(lambdahost.VersionOrder(vs[limit-1].Name), 10))
	}
	for _, v := range vs {
		out.Versions = append(out.Versions, FunctionConfig{Version: v, ARN: v.ARN()})
	}
	return out, nil
}

package control

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Function URL configs: CreateFunctionUrlConfig, GetFunctionUrlConfig,
// UpdateFunctionUrlConfig, DeleteFunctionUrlConfig, ListFunctionUrlConfigs,
// and the lookup and authorization of a URL's traffic. Wire shapes and
// messages are those recorded from AWS (shared/reference/aws-recorded-more.md,
// section 3).
// (https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html)

// Record kinds of function URLs.
const (
	// kindURL: "<account>/<region>/<function>/<qualifier>" (see accessKey)
	// → a urlRecord. The qualifier is "$LATEST" or an alias.
	kindURL = "function-url"
	// kindURLID: "<url-id>" → the kindURL key of that URL, so that a
	// request finds its function by the URL ID alone.
	kindURLID = "function-url-id"
)

// Invoke modes of a function URL.
const (
	InvokeModeBuffered = "BUFFERED"
	InvokeModeStream   = "RESPONSE_STREAM"
)

// AuthType values of a function URL.
const (
	URLAuthNone = urlAuthNone
	URLAuthIAM  = urlAuthIAM
)

// Cors is a function URL's CORS configuration, as given: nil members were
// not given.
type Cors struct {
	AllowCredentials *bool    `json:"allowCredentials,omitempty"`
	AllowHeaders     []string `json:"allowHeaders"`
	AllowMethods     []string `json:"allowMethods"`
	AllowOrigins     []string `json:"allowOrigins"`
	ExposeHeaders    []string `json:"exposeHeaders"`
	MaxAge           *int     `json:"maxAge,omitempty"`
}

// urlRecord is a function URL config as stored.
type urlRecord struct {
	ID       string `json:"id"`
	Account  string `json:"account"`
	Region   string `json:"region"`
	Function string `json:"function"`
	// Qualifier is the alias, "" for $LATEST.
	Qualifier string `json:"qualifier,omitempty"`
	AuthType  string `json:"authType"`
	Cors      *Cors  `json:"cors,omitempty"`
	// InvokeMode is "" until one is given: BUFFERED by default.
	InvokeMode string    `json:"invokeMode,omitempty"`
	Created    time.Time `json:"created"`
	Modified   time.Time `json:"modified"`
}

func (r *urlRecord) function() lambdahost.FunctionID {
	return lambdahost.FunctionID{Account: r.Account, Region: r.Region, Name: r.Function}
}

func (r *urlRecord) config() *FunctionURLConfig {
	return &FunctionURLConfig{
		URLID: r.ID, Region: r.Region, FunctionARN: r.function().QualifiedARN(r.Qualifier),
		AuthType: r.AuthType, Cors: r.Cors, InvokeMode: r.InvokeMode, Created: r.Created, LastModified: r.Modified,
	}
}

// FunctionURLConfig is a function URL's configuration.
type FunctionURLConfig struct {
	// URLID is the URL's ID, the first label of its host name; Region is
	// the region in its host name.
	URLID  string
	Region string
	// FunctionARN is the function's ARN, qualified with the alias if the
	// URL belongs to one.
	FunctionARN string
	AuthType    string
	Cors        *Cors
	// InvokeMode is as given, "" if it never was (BUFFERED).
	InvokeMode   string
	Created      time.Time
	LastModified time.Time
}

// Mode returns the invoke mode in effect.
func (c *FunctionURLConfig) Mode() string {
	if c.InvokeMode == "" {
		return InvokeModeBuffered
	}
	return c.InvokeMode
}

// FunctionURLInput is a Create or UpdateFunctionUrlConfig request; nil
// members were not given.
type FunctionURLInput struct {
	FunctionName string
	// Qualifier is the Qualifier query parameter, "" when absent.
	Qualifier  string
	AuthType   *string
	Cors       *Cors
	InvokeMode *string
}

// patternURLQualifier is FunctionUrlQualifier's pattern, as AWS prints it.
const patternURLQualifier = `((?!^\d+$)^[0-9a-zA-Z-_]+$)`

// checkURLQualifier adds the failure of a function URL's qualifier to v:
// only an alias can have a URL.
func checkURLQualifier(v *lambdahost.Validation, q string) {
	if q != "" && !lambdahost.ValidAliasName(q) {
		v.Add("qualifier", lambdahost.Quote(q), "Member must satisfy regular expression pattern: "+patternURLQualifier)
	}
}

// listValue prints a list as AWS's validation messages do.
func listValue(l []string) string { return "'[" + strings.Join(l, ", ") + "]'" }

// checkList adds the failures of a Cors list to v: at most maxItems
// members, each of minLen to maxLen bytes.
func checkList(v *lambdahost.Validation, member string, l []string, maxItems, minLen, maxLen int) {
	if len(l) > maxItems {
		v.Add(member, listValue(l), fmt.Sprintf("Member must have length less than or equal to %d", maxItems))
	}
	var failed []string
	for _, s := range l {
		if len(s) > maxLen && !slices.Contains(failed, "max") {
			failed = append(failed, "max")
		}
		if len(s) < minLen && !slices.Contains(failed, "min") {
			failed = append(failed, "min")
		}
	}
	if failed != nil {
		var cs []string
		for _, f := range failed {
			if f == "max" {
				cs = append(cs, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
			} else {
				cs = append(cs, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
			}
		}
		v.Add(member, listValue(l), "Member must satisfy constraint: ["+strings.Join(cs, ", ")+"]")
	}
}

func validateURLInput(v *lambdahost.Validation, in *FunctionURLInput, create bool) {
	switch {
	case in.AuthType == nil && create:
		v.Add("authType", "null", "Member must not be null")
	case in.AuthType != nil && *in.AuthType != urlAuthNone && *in.AuthType != urlAuthIAM:
		v.Add("authType", lambdahost.Quote(*in.AuthType), "Member must satisfy enum value set: "+urlAuthValues)
	}
	if c := in.Cors; c != nil {
		checkList(v, "cors.allowHeaders", c.AllowHeaders, 100, 0, 1024)
		checkList(v, "cors.allowMethods", c.AllowMethods, 6, 0, 6)
		checkList(v, "cors.allowOrigins", c.AllowOrigins, 100, 1, 253)
		checkList(v, "cors.exposeHeaders", c.ExposeHeaders, 100, 0, 1024)
		if m := c.MaxAge; m != nil && *m < 0 {
			v.Add("cors.maxAge", lambdahost.Quote(strconv.Itoa(*m)), "Member must have value greater than or equal to 0")
		} else if m != nil && *m > 86400 {
			v.Add("cors.maxAge", lambdahost.Quote(strconv.Itoa(*m)), "Member must have value less than or equal to 86400")
		}
	}
	if m := in.InvokeMode; m != nil && *m != InvokeModeBuffered && *m != InvokeModeStream {
		v.Add("invokeMode", lambdahost.Quote(*m), "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]")
	}
}

// resolveURL resolves the function and qualifier of a URL config
// operation. The qualifier (the parameter's, and the name's) must be an
// alias; problems are answered before the function is looked up, as AWS
// does, together with those that validate adds.
func resolveURL(ctx context.Context, name, qualifier string, validate func(*lambdahost.Validation)) (target, error) {
	var v lambdahost.Validation
	checkURLQualifier(&v, qualifier)
	if validate != nil {
		validate(&v)
	}
	if err := v.Err(); err != nil {
		return target{}, err
	}
	t, err := resolve(ctx, name, lambdahost.NameFunction, qualifier)
	if err != nil {
		return target{}, err
	}
	checkURLQualifier(&v, t.qualifier)
	return t, v.Err()
}

// urlFunctionMissing is what Create, Update and List answer for a function
// or alias that does not exist; Get and Delete answer urlMissing.
func urlFunctionMissing() error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Function does not exist")
}

func urlMissing() error { return notFoundMessage("") }

// checkURLTarget checks that the function of t, and its alias if t names
// one, exist; missing answers what the operation answers then.
func checkURLTarget(ctx context.Context, tx lambdahost.Tx, t target, missing func() error) error {
	if _, err := tx.Function(ctx, t.id); err != nil {
		if errors.Is(err, lambdahost.ErrNotFound) {
			return missing()
		}
		return err
	}
	if t.qualifier != "" {
		if _, err := tx.Alias(ctx, t.id, t.qualifier); err != nil {
			if errors.Is(err, lambdahost.ErrNotFound) {
				return missing()
			}
			return err
		}
	}
	return nil
}

// newURLID returns a new URL ID: 32 lowercase letters and digits, as AWS's.
func (s *Service) newURLID() string {
	if s.NewURLID != nil {
		return s.NewURLID()
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [32]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// CreateFunctionUrlConfig gives $LATEST or an alias of a function a URL.
//
// It answers ValidationException for a qualifier that is not an alias, a
// missing or unknown AuthType, an unknown InvokeMode or Cors out of the
// model's bounds; ResourceNotFoundException ("Function does not exist")
// for a function or alias that does not exist; ResourceConflictException
// if it already has a URL.
// (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunctionUrlConfig.html)
func (s *Service) CreateFunctionUrlConfig(ctx context.Context, in *FunctionURLInput) (*FunctionURLConfig, error) {
	s.init()
	t, err := resolveURL(ctx, in.FunctionName, in.Qualifier, func(v *lambdahost.Validation) { validateURLInput(v, in, true) })
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC().Truncate(time.Microsecond)
	rec := &urlRecord{Account: t.id.Account, Region: t.id.Region, Function: t.id.Name, Qualifier: t.qualifier,
		AuthType: *in.AuthType, Cors: in.Cors, Created: now, Modified: now}
	if in.InvokeMode != nil {
		rec.InvokeMode = *in.InvokeMode
	}
	key := accessKey(t.id, t.qualifier)
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := checkURLTarget(ctx, tx, t, urlFunctionMissing); err != nil {
			return err
		}
		if _, err := tx.Record(ctx, kindURL, key); err == nil {
			return lambdahost.Errorf(lambdahost.ResourceConflictException,
				"Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", t.id.QualifiedARN(t.qualifier))
		} else if !errors.Is(err, lambdahost.ErrNotFound) {
			return err
		}
		// An ID has about 165 random bits: a collision is not expected,
		// but one must never hand out another function's URL.
		for attempt := 0; ; attempt++ {
			rec.ID = s.newURLID()
			err := tx.CreateRecord(ctx, kindURLID, rec.ID, []byte(key))
			if err == nil {
				break
			}
			if !errors.Is(err, lambdahost.ErrExists) || attempt == 4 {
				return err
			}
		}
		return createRecord(ctx, tx, kindURL, key, rec)
	})
	if err != nil {
		return nil, internal("create function url config", err)
	}
	return rec.config(), nil
}

// GetFunctionUrlConfig answers the URL config of $LATEST or an alias. It
// answers ResourceNotFoundException ("The resource you requested does not
// exist.") when the function, the alias or the config does not exist.
// (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionUrlConfig.html)
func (s *Service) GetFunctionUrlConfig(ctx context.Context, functionName, qualifier string) (*FunctionURLConfig, error) {
	s.init()
	t, err := resolveURL(ctx, functionName, qualifier, nil)
	if err != nil {
		return nil, err
	}
	var rec *urlRecord
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if err := checkURLTarget(ctx, tx, t, urlMissing); err != nil {
			return err
		}
		rec, err = getRecord[urlRecord](ctx, tx, kindURL, accessKey(t.id, t.qualifier))
		if errors.Is(err, lambdahost.ErrNotFound) {
			return urlMissing()
		}
		return err
	})
	if err != nil {
		return nil, internal("get function url config", err)
	}
	return rec.config(), nil
}

// UpdateFunctionUrlConfig changes a URL config; members not given keep
// their values, and Cors, when given, replaces the whole CORS
// configuration. The URL itself and CreationTime never change.
// (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionUrlConfig.html)
func (s *Service) UpdateFunctionUrlConfig(ctx context.Context, in *FunctionURLInput) (*FunctionURLConfig, error) {
	s.init()
	t, err := resolveURL(ctx, in.FunctionName, in.Qualifier, func(v *lambdahost.Validation) { validateURLInput(v, in, false) })
	if err != nil {
		return nil, err
	}
	var rec *urlRecord
	key := accessKey(t.id, t.qualifier)
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := checkURLTarget(ctx, tx, t, urlFunctionMissing); err != nil {
			return err
		}
		rec, err = getRecord[urlRecord](ctx, tx, kindURL, key)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return urlMissing()
		}
		if err != nil {
			return err
		}
		if in.AuthType != nil {
			rec.AuthType = *in.AuthType
		}
		if in.Cors != nil {
			rec.Cors = in.Cors
		}
		if in.InvokeMode != nil {
			rec.InvokeMode = *in.InvokeMode
		}
		rec.Modified = s.Now().UTC().Truncate(time.Microsecond)
		return putRecord(ctx, tx, kindURL, key, rec)
	})
	if err != nil {
		return nil, internal("update function url config", err)
	}
	return rec.config(), nil
}

// DeleteFunctionUrlConfig deletes the URL of $LATEST or an alias; requests
// to it are then refused as for a URL that never existed. Its policy
// statements stay, as on AWS.
// (https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunctionUrlConfig.html)
func (s *Service) DeleteFunctionUrlConfig(ctx context.Context, functionName, qualifier string) error {
	s.init()
	t, err := resolveURL(ctx, functionName, qualifier, nil)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if err := checkURLTarget(ctx, tx, t, urlMissing); err != nil {
			return err
		}
		key := accessKey(t.id, t.qualifier)
		if _, err := tx.Record(ctx, kindURL, key); errors.Is(err, lambdahost.ErrNotFound) {
			return urlMissing()
		} else if err != nil {
			return err
		}
		return forgetKey(ctx, tx, kindURL, key)
	})
	return internal("delete function url config", err)
}

// ListFunctionURLConfigsOutput is a page of URL configs.
type ListFunctionURLConfigsOutput struct {
	Configs    []*FunctionURLConfig
	NextMarker string
}

// ListFunctionUrlConfigs answers the URL configs of a function: its
// $LATEST's first, then its aliases' by name. MaxItems is 1 to 50.
// (https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctionUrlConfigs.html)
func (s *Service) ListFunctionUrlConfigs(ctx context.Context, functionName string, in ListInput) (*ListFunctionURLConfigsOutput, error) {
	s.init()
	var v lambdahost.Validation
	limit := maxPage
	if in.MaxItems != nil {
		switch n := *in.MaxItems; {
		case n < 1:
			v.Add("maxItems", lambdahost.Quote(strconv.Itoa(n)), "Member must have value greater than or equal to 1")
		case n > 50:
			v.Add("maxItems", lambdahost.Quote(strconv.Itoa(n)), "Member must have value less than or equal to 50")
		default:
			limit = n
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	t, err := resolveFunction(ctx, functionName, ruleFunctionOnly)
	if err != nil {
		return nil, err
	}
	token, err := markerToken(in.Marker)
	if err != nil {
		return nil, err
	}
	out := &ListFunctionURLConfigsOutput{Configs: []*FunctionURLConfig{}}
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if err := checkURLTarget(ctx, tx, t, urlFunctionMissing); err != nil {
			return err
		}
		recs, next, err := scanRecords(ctx, tx, kindURL, functionKey(t.id)+"/", token, limit,
			func(*urlRecord) bool { return true },
			func(r *urlRecord) string {
				return strings.TrimPrefix(accessKey(t.id, r.Qualifier), functionKey(t.id)+"/")
			})
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
		return nil, internal("list function url configs", err)
	}
	return out, nil
}

// Errors of FunctionURL and AuthorizeURL, which a URL's traffic answers
// with AWS's 403s.
var (
	// ErrURLNotFound: no function URL has that ID (in that region).
	ErrURLNotFound = errors.New("no such function URL")
	// ErrURLForbidden: the function's policy does not let the caller
	// invoke the URL.
	ErrURLForbidden = errors.New("function URL invocation not allowed by the policy")
)

// URLEndpoint is a function URL as its traffic needs it.
type URLEndpoint struct {
	FunctionURLConfig
	// Function and Qualifier ("" for $LATEST, or an alias) are what the
	// URL invokes.
	Function  lambdahost.FunctionID
	Qualifier string
}

// FunctionURL returns the function URL whose ID is urlID, or an error
// wrapping ErrURLNotFound.
func (s *Service) FunctionURL(ctx context.Context, urlID string) (*URLEndpoint, error) {
	s.init()
	var rec *urlRecord
	err := s.store.View(ctx, func(tx lambdahost.Tx) error {
		key, err := tx.Record(ctx, kindURLID, urlID)
		if err != nil {
			return err
		}
		rec, err = getRecord[urlRecord](ctx, tx, kindURL, string(key))
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, fmt.Errorf("function URL %s: %w", urlID, ErrURLNotFound)
	}
	if err != nil {
		return nil, internal("read function url", err)
	}
	return &URLEndpoint{FunctionURLConfig: *rec.config(), Function: rec.function(), Qualifier: rec.Qualifier}, nil
}

// AuthorizeURL checks that c may invoke the function URL e, and answers
// what the invocation runs. c is nil for an anonymous request (AuthType
// NONE, whose requests are never authenticated). A caller of the
// function's own account needs nothing more: lambdahost's credentials
// carry every permission in their account. Anyone else needs a statement
// of the function's policy (of the URL's qualifier) that allows
// lambda:InvokeFunctionUrl, with lambda:FunctionUrlAuthType set to the
// URL's AuthType; otherwise the error wraps ErrURLForbidden. A URL or
// function deleted meanwhile wraps ErrURLNotFound; the invocation's own
// errors are ResolveInvoke's.
func (s *Service) AuthorizeURL(ctx context.Context, e *URLEndpoint, c *lambdahost.Caller) (*Invocation, error) {
	s.init()
	if c == nil || c.Account != e.Function.Account {
		a := access{
			action:    actionInvokeURL,
			resource:  policyResource(e.Function, e.Qualifier),
			principal: principal{Anonymous: true},
			keys:      map[string]string{"lambda:functionurlauthtype": e.AuthType, "lambda:invokedviafunctionurl": "true"},
		}
		if c != nil {
			a.principal = callerPrincipal(*c)
		}
		allowed := false
		err := s.store.View(ctx, func(tx lambdahost.Tx) error {
			p, err := readPolicy(ctx, tx, e.Function, e.Qualifier)
			if err != nil || p == nil {
				return err
			}
			allowed = allows(p.Statements, a)
			return nil
		})
		if err != nil {
			return nil, internal("read policy", err)
		}
		if !allowed {
			return nil, ErrURLForbidden
		}
	}
	inv, err := s.resolveInvocation(ctx, e.Function, e.Qualifier)
	if lambdahost.ErrorTypeOf(err) == lambdahost.ResourceNotFoundException {
		return nil, fmt.Errorf("function URL %s: %w", e.URLID, ErrURLNotFound)
	}
	return inv, err
}

// reURLID matches a URL ID.
var reURLID = regexp.MustCompile(`^[a-z0-9]{32}$`)

// ValidURLID reports whether id has the form of a URL ID.
func ValidURLID(id string) bool { return reURLID.MatchString(id) }

package control

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Event invoke configs say how the asynchronous invocations of one
// version, alias or $LATEST are handled: how often a failed one is
// retried, how old an event may grow, and where the record of a success or
// a failure goes.
// (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html)

// kindEventInvokeConfig: "<account>/<region>/<function>/<qualifier>" → an
// eventInvokeRecord; the qualifier of the unqualified function is $LATEST.
const kindEventInvokeConfig = "event-invoke-config"

// EventInvokeConfig is a function version's or alias's configuration of
// asynchronous invocation.
type EventInvokeConfig struct {
	// FunctionARN is qualified: with $LATEST, a version or an alias.
	FunctionARN string
	// MaximumRetryAttempts and MaximumEventAgeInSeconds are nil when not
	// set: the defaults apply (two retries, six hours).
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	// OnSuccess and OnFailure are the destinations, nil when unset. A
	// destination set to "" was given as {}.
	OnSuccess    *string
	OnFailure    *string
	LastModified time.Time
}

// eventInvokeRecord is an EventInvokeConfig as stored.
type eventInvokeRecord struct {
	FunctionARN              string    `json:"functionArn"`
	MaximumRetryAttempts     *int      `json:"maximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int      `json:"maximumEventAgeInSeconds,omitempty"`
	OnSuccess                *string   `json:"onSuccess,omitempty"`
	OnFailure                *string   `json:"onFailure,omitempty"`
	LastModified             time.Time `json:"lastModified"`
}

func (r *eventInvokeRecord) config() *EventInvokeConfig {
	return &EventInvokeConfig{FunctionARN: r.FunctionARN, MaximumRetryAttempts: r.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: r.MaximumEventAgeInSeconds, OnSuccess: r.OnSuccess, OnFailure: r.OnFailure,
		LastModified: r.LastModified}
}

// EventInvokeConfigInput holds the members of Put and
// UpdateFunctionEventInvokeConfig; nil members are absent.
type EventInvokeConfigInput struct {
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	// HasDestinationConfig is set when the request had a
	// DestinationConfig; OnSuccess and OnFailure are its members, each nil
	// when absent and pointing to "" when given without a Destination.
	HasDestinationConfig bool
	OnSuccess            *string
	OnFailure            *string
}

// qualifierKey is how the qualifier of a per-qualifier record is keyed:
// the unqualified function is $LATEST.
func qualifierKey(q string) string {
	if q == "" {
		return lambdahost.VersionLatest
	}
	return q
}

func qualifiedRecordKey(id lambdahost.FunctionID, q string) string {
	return functionKey(id) + "/" + qualifierKey(q)
}

// PatternDestination is the model's DestinationArn pattern, as AWS prints it.
const PatternDestination = `$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)`

var reDestination = regexp.MustCompile(`^(?:` + PatternDestination + `)$`)

// checkDestination adds the model's constraints on a destination ARN.
func checkDestination(v *lambdahost.Validation, member string, d *string) {
	if d == nil {
		return
	}
	if len(*d) > 350 {
		v.Add(member, lambdahost.Quote(*d), "Member must have length less than or equal to 350")
	}
	if !reDestination.MatchString(*d) {
		v.Add(member, lambdahost.Quote(*d), "Member must satisfy regular expression pattern: "+PatternDestination)
	}
}

func checkIntRange(v *lambdahost.Validation, member string, n *int, lo, hi int) {
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

func (in *EventInvokeConfigInput) validate() error {
	var v lambdahost.Validation
	checkIntRange(&v, "maximumRetryAttempts", in.MaximumRetryAttempts, 0, 2)
	checkIntRange(&v, "maximumEventAgeInSeconds", in.MaximumEventAgeInSeconds, 60, 21600)
	checkDestination(&v, "destinationConfig.onSuccess.destination", in.OnSuccess)
	checkDestination(&v, "destinationConfig.onFailure.destination", in.OnFailure)
	return v.Err()
}

// Destination services: the service part of a destination's ARN.
const (
	destinationSQS    = "sqs"
	destinationSNS    = "sns"
	destinationLambda = "lambda"
	destinationEvents = "events"
	destinationS3     = "s3"
)

// destinationService returns the service of destination ARN d.
func destinationService(d string) string {
	parts := strings.SplitN(d, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[2]
}

// destinationConfigString is how AWS prints a destination config it refuses.
func destinationConfigString(onSuccess, onFailure *string) string {
	part := func(name string, d *string) string {
		switch {
		case d == nil:
			return "null"
		case *d == "":
			return name + "(destination=null)"
		}
		return name + "(destination=" + *d + ")"
	}
	return fmt.Sprintf("DestinationConfig(onSuccess=%s, onFailure=%s)", part("OnSuccess", onSuccess), part("OnFailure", onFailure))
}

// checkAsyncDestinations checks the destinations of function id's event
// invoke config, in tx: each must be an SQS queue, SNS topic, EventBridge
// bus or existing Lambda function other than id (or, for failures, an S3
// bucket).
func checkAsyncDestinations(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, onSuccess, onFailure *string) error {
	for _, d := range []struct {
		arn     *string
		failure bool
	}{{onSuccess, false}, {onFailure, true}} {
		if d.arn == nil || *d.arn == "" {
			continue
		}
		switch destinationService(*d.arn) {
		case destinationSQS, destinationSNS, destinationEvents:
		case destinationS3:
			if !d.failure {
				return invalidf("The provided destination config %s is invalid.", destinationConfigString(onSuccess, onFailure))
			}
		case destinationLambda:
			if err := checkLambdaDestination(ctx, tx, id, *d.arn); err != nil {
				return err
			}
		default:
			return invalidf("The provided destination config %s is invalid.", destinationConfigString(onSuccess, onFailure))
		}
	}
	return nil
}

// checkLambdaDestination checks that arn names an existing function, version
// or alias of id's account and region other than id itself.
func checkLambdaDestination(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, arn string) error {
	ref, err := lambdahost.ParseFunctionName(arn, lambdahost.NameNamespaced)
	if err != nil || ref.Partition == "" {
		return invalidf("The destination ARN %s is invalid.", arn)
	}
	dest := lambdahost.FunctionID{Account: ref.Account, Region: ref.Region, Name: ref.Name}
	if dest == id {
		return invalidf("You can't specify the function as a destination for itself.")
	}
	if dest.Account != id.Account || dest.Region != id.Region {
		return invalidf("The destination ARN %s is invalid.", arn)
	}
	if _, err := tx.Function(ctx, dest); err != nil {
		if errors.Is(err, lambdahost.ErrNotFound) {
			return invalidf("The destination ARN %s is invalid.", arn)
		}
		return err
	}
	if q := ref.Qualifier; q != "" && q != lambdahost.VersionLatest {
		var err error
		if lambdahost.VersionOrder(q) == -3 {
			_, err = tx.Alias(ctx, dest, q)
		} else {
			_, err = tx.Version(ctx, dest, q)
		}
		if errors.Is(err, lambdahost.ErrNotFound) {
			return invalidf("The destination ARN %s is invalid.", arn)
		}
		return err
	}
	return nil
}

// qualifierExists reports whether qualifier q of function id exists in tx:
// "" and $LATEST always do (with the function), others if the alias or
// version does. It answers false, nil if the function does not exist.
func qualifierExists(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, q string) (bool, error) {
	if _, err := tx.Function(ctx, id); err != nil {
		if errors.Is(err, lambdahost.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	var err error
	switch {
	case q == "" || q == lambdahost.VersionLatest:
		return true, nil
	case lambdahost.VersionOrder(q) == -3:
		_, err = tx.Alias(ctx, id, q)
	default:
		_, err = tx.Version(ctx, id, q)
	}
	if errors.Is(err, lambdahost.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func errFunctionDoesntExist() error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The function doesn't exist.")
}

func errNoEventInvokeConfig(id lambdahost.FunctionID, q string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The function %s doesn't have an EventInvokeConfig", id.QualifiedARN(qualifierKey(q)))
}

// PutFunctionEventInvokeConfig sets, replacing what was there, the event
// invoke config of the function, version or alias functionName and
// qualifier name.
//
// It answers ValidationException for values out of the model's bounds,
// InvalidParameterValueException when nothing is set or a destination is
// not one Lambda delivers to (an unknown or the same function, another
// service), and ResourceNotFoundException if the function or qualifier
// does not exist.
func (s *Service) PutFunctionEventInvokeConfig(ctx context.Context, functionName, qualifier string, in *EventInvokeConfigInput) (*EventInvokeConfig, error) {
	return s.putEventInvokeConfig(ctx, functionName, qualifier, in, false)
}

// UpdateFunctionEventInvokeConfig changes the members in sets of an
// existing event invoke config and keeps the others. It answers
// PutFunctionEventInvokeConfig's errors, and ResourceNotFoundException if
// there is no config to update.
func (s *Service) UpdateFunctionEventInvokeConfig(ctx context.Context, functionName, qualifier string, in *EventInvokeConfigInput) (*EventInvokeConfig, error) {
	return s.putEventInvokeConfig(ctx, functionName, qualifier, in, true)
}

func (s *Service) putEventInvokeConfig(ctx context.Context, functionName, qualifier string, in *EventInvokeConfigInput, update bool) (*EventInvokeConfig, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	if !update && in.MaximumRetryAttempts == nil && in.MaximumEventAgeInSeconds == nil && !in.HasDestinationConfig {
		return nil, invalidf("You must specify at least one of error handling or destination setting.")
	}
	var out *EventInvokeConfig
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		ok, err := qualifierExists(ctx, tx, t.id, t.qualifier)
		if err != nil {
			return err
		}
		if !ok {
			return errFunctionDoesntExist()
		}
		key := qualifiedRecordKey(t.id, t.qualifier)
		rec := &eventInvokeRecord{FunctionARN: t.id.QualifiedARN(qualifierKey(t.qualifier))}
		if update {
			old, err := getRecord[eventInvokeRecord](ctx, tx, kindEventInvokeConfig, key)
			if errors.Is(err, lambdahost.ErrNotFound) {
				return errNoEventInvokeConfig(t.id, t.qualifier)
			}
			if err != nil {
				return err
			}
			rec = old
		}
		if in.MaximumRetryAttempts != nil || !update {
			rec.MaximumRetryAttempts = in.MaximumRetryAttempts
		}
		if in.MaximumEventAgeInSeconds != nil || !update {
			rec.MaximumEventAgeInSeconds = in.MaximumEventAgeInSeconds
		}
		if in.HasDestinationConfig || !update {
			if in.OnSuccess != nil || !update {
				rec.OnSuccess = in.OnSuccess
			}
			if in.OnFailure != nil || !update {
				rec.OnFailure = in.OnFailure
			}
		}
		if err := checkAsyncDestinations(ctx, tx, t.id, in.OnSuccess, in.OnFailure); err != nil {
			return err
		}
		rec.LastModified = s.Now().UTC().Truncate(time.Millisecond)
		if err := putRecord(ctx, tx, kindEventInvokeConfig, key, rec); err != nil {
			return err
		}
		out = rec.config()
		return nil
	})
	if err != nil {
		return nil, internal("put event invoke config", err)
	}
	return out, nil
}

// GetFunctionEventInvokeConfig answers the event invoke config of a
// function, version or alias. It answers ResourceNotFoundException if
// there is none, which is also its answer for a function or qualifier that
// does not exist.
func (s *Service) GetFunctionEventInvokeConfig(ctx context.Context, functionName, qualifier string) (*EventInvokeConfig, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return nil, err
	}
	var out *EventInvokeConfig
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		rec, err := getRecord[eventInvokeRecord](ctx, tx, kindEventInvokeConfig, qualifiedRecordKey(t.id, t.qualifier))
		if errors.Is(err, lambdahost.ErrNotFound) {
			return errNoEventInvokeConfig(t.id, t.qualifier)
		}
		if err != nil {
			return err
		}
		out = rec.config()
		return nil
	})
	if err != nil {
		return nil, internal("get event invoke config", err)
	}
	return out, nil
}

// DeleteFunctionEventInvokeConfig deletes the event invoke config of a
// function, version or alias. It answers ResourceNotFoundException if
// there is none.
func (s *Service) DeleteFunctionEventInvokeConfig(ctx context.Context, functionName, qualifier string) error {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		key := qualifiedRecordKey(t.id, t.qualifier)
		if _, err := tx.Record(ctx, kindEventInvokeConfig, key); errors.Is(err, lambdahost.ErrNotFound) {
			return errNoEventInvokeConfig(t.id, t.qualifier)
		} else if err != nil {
			return err
		}
		return tx.DeleteRecord(ctx, kindEventInvokeConfig, key)
	})
	return internal("delete event invoke config", err)
}

// ListEventInvokeConfigsOutput is a page of event invoke configs.
type ListEventInvokeConfigsOutput struct {
	Configs    []*EventInvokeConfig
	NextMarker string
}

// ListFunctionEventInvokeConfigs answers the event invoke configs of a
// function's versions and aliases, up to 50 a page. It answers
// ResourceNotFoundException if the function does not exist.
func (s *Service) ListFunctionEventInvokeConfigs(ctx context.Context, functionName string, in ListInput) (*ListEventInvokeConfigsOutput, error) {
	s.init()
	t, err := resolve(ctx, functionName, lambdahost.NameNamespaced, "")
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
	out := &ListEventInvokeConfigsOutput{}
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		if _, err := tx.Function(ctx, t.id); errors.Is(err, lambdahost.ErrNotFound) {
			return errFunctionDoesntExist()
		} else if err != nil {
			return err
		}
		prefix := functionKey(t.id) + "/"
		recs, next, err := scanRecords(ctx, tx, kindEventInvokeConfig, prefix, token, limit,
			func(*eventInvokeRecord) bool { return true },
			func(r *eventInvokeRecord) string { return r.FunctionARN[strings.LastIndexByte(r.FunctionARN, ':')+1:] })
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
		return nil, internal("list event invoke configs", err)
	}
	return out, nil
}

// eventInvokeConfig reads the event invoke config that applies to an
// invocation of id with qualifier q in tx, or nil if there is none.
func eventInvokeConfig(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, q string) (*eventInvokeRecord, error) {
	rec, err := getRecord[eventInvokeRecord](ctx, tx, kindEventInvokeConfig, qualifiedRecordKey(id, q))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, nil
	}
	return rec, err
}

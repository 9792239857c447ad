package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Event source mappings make Lambda read an SQS queue or a Kinesis stream
// and invoke a function with batches of what it reads. This file holds
// their configuration (the five operations, validated and answered as
// AWS's); esmrun.go runs them.
// (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html)

// kindESM: "<account>/<region>/<uuid>" → an EventSourceMapping.
const kindESM = "event-source-mapping"

// Event source kinds: the service of the event source's ARN.
const (
	SourceSQS      = "sqs"
	SourceKinesis  = "kinesis"
	SourceDynamoDB = "dynamodb"
)

// States of an event source mapping.
const (
	ESMCreating  = "Creating"
	ESMEnabling  = "Enabling"
	ESMEnabled   = "Enabled"
	ESMDisabling = "Disabling"
	ESMDisabled  = "Disabled"
	ESMUpdating  = "Updating"
	ESMDeleting  = "Deleting"
)

// Defaults of event source mappings.
const (
	defaultSQSBatchSize    = 10
	defaultStreamBatchSize = 100
	// DefaultSQSConcurrency is how many batches of a standard queue a
	// mapping without ScalingConfig hands to its function at once.
	DefaultSQSConcurrency = 5
)

// EventSourceMapping is an event source mapping as stored and answered.
type EventSourceMapping struct {
	UUID    string `json:"uuid"`
	Account string `json:"account"`
	Region  string `json:"region"`
	// Function and Qualifier are what it invokes; FunctionARN is the ARN
	// it answers, qualified as the caller named the function.
	Function       lambdahost.FunctionID `json:"function"`
	Qualifier      string                `json:"qualifier,omitempty"`
	FunctionARN    string                `json:"functionArn"`
	EventSourceARN string                `json:"eventSourceArn"`
	// Source is SourceSQS, SourceKinesis or SourceDynamoDB.
	Source                         string   `json:"source"`
	BatchSize                      int      `json:"batchSize"`
	MaximumBatchingWindowInSeconds int      `json:"maximumBatchingWindowInSeconds"`
	FunctionResponseTypes          []string `json:"functionResponseTypes"`
	// Filters are FilterCriteria's patterns; HasFilters is set when
	// FilterCriteria is answered (a stream's empty list is not).
	Filters    []string `json:"filters,omitempty"`
	HasFilters bool     `json:"hasFilters,omitempty"`
	Enabled    bool     `json:"enabled"`
	State      string   `json:"state"`
	// StateTransitionReason is USER_INITIATED for queues, "User action"
	// for streams.
	StateTransitionReason string    `json:"stateTransitionReason"`
	LastModified          time.Time `json:"lastModified"`
	// LastProcessingResult is answered for streams.
	LastProcessingResult string `json:"lastProcessingResult,omitempty"`
	// MaximumConcurrency is ScalingConfig's, nil when not set.
	MaximumConcurrency *int `json:"maximumConcurrency,omitempty"`
	// The settings of streams.
	StartingPosition           string     `json:"startingPosition,omitempty"`
	StartingPositionTimestamp  *time.Time `json:"startingPositionTimestamp,omitempty"`
	ParallelizationFactor      int        `json:"parallelizationFactor,omitempty"`
	MaximumRecordAgeInSeconds  int        `json:"maximumRecordAgeInSeconds,omitempty"`
	MaximumRetryAttempts       int        `json:"maximumRetryAttempts,omitempty"`
	BisectBatchOnFunctionError bool       `json:"bisectBatchOnFunctionError,omitempty"`
	TumblingWindowInSeconds    int        `json:"tumblingWindowInSeconds,omitempty"`
	// OnFailure is the stream's failure destination, "" for none.
	OnFailure string            `json:"onFailure,omitempty"`
	KMSKeyARN string            `json:"kmsKeyArn,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	// Created is when the mapping was created: a stream's LATEST starts
	// there, so that records put once Create answered are read.
	Created time.Time `json:"created"`
	// Generation changes with every update: its pollers start again with
	// the new settings.
	Generation string `json:"generation"`
}

// ARN is the mapping's EventSourceMappingArn.
func (m *EventSourceMapping) ARN() string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:event-source-mapping:%s", m.Region, m.Account, m.UUID)
}

// Stream reports whether the mapping reads a stream.
func (m *EventSourceMapping) Stream() bool { return m.Source != SourceSQS }

func (m *EventSourceMapping) key() string { return esmKey(m.Account, m.Region, m.UUID) }

func esmKey(account, region, uuid string) string { return account + "/" + region + "/" + uuid }

// active reports whether the mapping should be polled.
func (m *EventSourceMapping) active() bool {
	return m.Enabled && m.State != ESMDeleting
}

// ESMInput holds the members of Create and UpdateEventSourceMapping; nil
// members are absent.
type ESMInput struct {
	FunctionName                   *string
	EventSourceARN                 *string
	Enabled                        *bool
	BatchSize                      *int
	MaximumBatchingWindowInSeconds *int
	ParallelizationFactor          *int
	StartingPosition               *string
	StartingPositionTimestamp      *time.Time
	// HasDestinationConfig is set when DestinationConfig was given.
	HasDestinationConfig       bool
	OnSuccess, OnFailure       *string
	MaximumRecordAgeInSeconds  *int
	BisectBatchOnFunctionError *bool
	MaximumRetryAttempts       *int
	TumblingWindowInSeconds    *int
	FunctionResponseTypes      []string
	HasFunctionResponseTypes   bool
	// HasFilterCriteria is set when FilterCriteria was given, Filters its
	// patterns.
	HasFilterCriteria  bool
	Filters            []string
	HasScalingConfig   bool
	MaximumConcurrency *int
	KMSKeyARN          *string
	Tags               map[string]string
	// Unsupported names a member of a kind of event source lambdahost does
	// not poll (Kafka, Amazon MQ, DocumentDB), if one was given.
	Unsupported string
}

var (
	reESMARN  = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:lambda:([a-z0-9-]+):(\d{12}):event-source-mapping:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)
	reESMARNs = regexp.MustCompile(`^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$`)
)

// validate checks the model's constraints on in.
func (in *ESMInput) validate(create bool) error {
	var v lambdahost.Validation
	if create && in.FunctionName == nil {
		v.Add("functionName", "null", "Member must not be null")
	}
	if a := in.EventSourceARN; a != nil && !reESMARNs.MatchString(*a) {
		v.Add("eventSourceArn", lambdahost.Quote(*a), "Member must satisfy regular expression pattern: "+patternARN)
	}
	checkIntRange(&v, "batchSize", in.BatchSize, 1, 10000)
	checkIntRange(&v, "maximumBatchingWindowInSeconds", in.MaximumBatchingWindowInSeconds, 0, 300)
	checkIntRange(&v, "parallelizationFactor", in.ParallelizationFactor, 1, 10)
	if p := in.StartingPosition; p != nil && !slices.Contains([]string{"LATEST", "AT_TIMESTAMP", "TRIM_HORIZON"}, *p) {
		v.Add("startingPosition", lambdahost.Quote(*p), "Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]")
	}
	checkIntRange(&v, "maximumRecordAgeInSeconds", in.MaximumRecordAgeInSeconds, -1, 604800)
	checkIntRange(&v, "maximumRetryAttempts", in.MaximumRetryAttempts, -1, 10000)
	checkIntRange(&v, "tumblingWindowInSeconds", in.TumblingWindowInSeconds, 0, 900)
	checkDestination(&v, "destinationConfig.onSuccess.destination", in.OnSuccess)
	checkDestination(&v, "destinationConfig.onFailure.destination", in.OnFailure)
	if len(in.FunctionResponseTypes) > 1 {
		v.Add("functionResponseTypes", "["+strings.Join(in.FunctionResponseTypes, ", ")+"]", "Member must have length less than or equal to 1")
	}
	for _, t := range in.FunctionResponseTypes {
		if t != "ReportBatchItemFailures" {
			v.Add("functionResponseTypes", "["+strings.Join(in.FunctionResponseTypes, ", ")+"]", "Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]")
			break
		}
	}
	checkIntRange(&v, "scalingConfig.maximumConcurrency", in.MaximumConcurrency, 2, 1000)
	for _, p := range in.Filters {
		if len(p) > lambdahost.MaxFilterPatternLength {
			v.Add("filterCriteria.filters.member.pattern", lambdahost.Quote(p), "Member must have length less than or equal to 4096")
		}
	}
	return v.Err()
}

// sourceOf returns the kind of event source arn names, "" for one
// lambdahost does not poll.
func sourceOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	switch parts[2] {
	case SourceSQS:
		return SourceSQS
	case SourceKinesis:
		if strings.HasPrefix(parts[5], "stream/") {
			return SourceKinesis
		}
	case SourceDynamoDB:
		if strings.Contains(parts[5], "/stream/") {
			return SourceDynamoDB
		}
	}
	return ""
}

func errUnsupported(param string) error {
	return invalidf("Unsupported %s parameter for given event source mapping type.", param)
}

func errESMNotFound() error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "The resource you requested does not exist.")
}

// esmFunction resolves the FunctionName of a mapping and checks, in tx,
// that the function and its qualifier exist. It answers the function, the
// qualifier and the FunctionArn the mapping answers.
func esmFunction(ctx context.Context, tx lambdahost.Tx, t target) (string, error) {
	ok, err := qualifierExists(ctx, tx, t.id, t.qualifier)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", invalidf("Function does not exist")
	}
	return t.id.QualifiedARN(t.qualifier), nil
}

// checkSource checks the settings of m against its kind of source.
func checkSource(m *EventSourceMapping, in *ESMInput) error {
	if m.Source == SourceSQS {
		switch {
		case in.HasDestinationConfig:
			return errUnsupported("DestinationConfig")
		case in.StartingPosition != nil:
			return errUnsupported("StartingPosition")
		case in.ParallelizationFactor != nil:
			return errUnsupported("ParallelizationFactor")
		case in.MaximumRecordAgeInSeconds != nil:
			return errUnsupported("MaximumRecordAgeInSeconds")
		case in.BisectBatchOnFunctionError != nil:
			return errUnsupported("BisectBatchOnFunctionError")
		case in.MaximumRetryAttempts != nil:
			return errUnsupported("MaximumRetryAttempts")
		case in.TumblingWindowInSeconds != nil:
			return errUnsupported("TumblingWindowInSeconds")
		}
		if m.BatchSize > 10 && m.MaximumBatchingWindowInSeconds == 0 {
			return invalidf("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
		}
		return nil
	}
	if in.HasScalingConfig {
		return errUnsupported("ScalingConfig")
	}
	if in.OnSuccess != nil && *in.OnSuccess != "" {
		return errUnsupported("DestinationConfig")
	}
	if d := m.OnFailure; d != "" {
		switch destinationService(d) {
		case destinationSQS, destinationSNS, destinationS3:
		default:
			return invalidf("The provided destination config %s is invalid.", destinationConfigString(nil, &d))
		}
	}
	if m.MaximumRecordAgeInSeconds != -1 && m.MaximumRecordAgeInSeconds < 60 {
		return invalidf("MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.")
	}
	if m.StartingPosition == lambdahost.IteratorAtTimestamp {
		if m.Source == SourceDynamoDB {
			return invalidf("Unsupported starting position for arn type: %s", m.EventSourceARN)
		}
		if m.StartingPositionTimestamp == nil {
			return invalidf("StartingPositionTimestamp must be specified for the AT_TIMESTAMP starting position.")
		}
	}
	return nil
}

// checkSourceExists asks the event source's service whether it exists, as
// AWS does when a mapping is created.
func (s *Service) checkSourceExists(ctx context.Context, m *EventSourceMapping) error {
	switch m.Source {
	case SourceSQS:
		if s.Queues == nil {
			return nil
		}
		info, err := s.Queues.Queue(ctx, m.EventSourceARN)
		if errors.Is(err, lambdahost.ErrNotFound) {
			return invalidf("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist.")
		}
		if err != nil {
			return invalidf("Error occurred while ReceiveMessage. SQS Error Message: %s", err.Error())
		}
		if info.FIFO {
			if m.MaximumBatchingWindowInSeconds > 0 {
				return invalidf("Batching window is not supported for FIFO queues")
			}
			if m.BatchSize > 10 {
				return invalidf("The maximum batch size for FIFO queues is 10.")
			}
		}
	case SourceKinesis:
		if s.Streams == nil {
			return nil
		}
		if _, err := s.Streams.Shards(ctx, m.EventSourceARN); errors.Is(err, lambdahost.ErrNotFound) {
			return invalidf("Stream not found: %s", m.EventSourceARN)
		} else if err != nil {
			return invalidf("Error occurred while DescribeStream: %s", err.Error())
		}
	case SourceDynamoDB:
		// lambdahost reaches no DynamoDB: no stream is found.
		return invalidf("Stream not found: %s", m.EventSourceARN)
	}
	return nil
}

// applyESM sets the members in gives on m.
func applyESM(m *EventSourceMapping, in *ESMInput) {
	set := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	set(&m.BatchSize, in.BatchSize)
	set(&m.MaximumBatchingWindowInSeconds, in.MaximumBatchingWindowInSeconds)
	if in.Enabled != nil {
		m.Enabled = *in.Enabled
	}
	if in.HasFunctionResponseTypes {
		m.FunctionResponseTypes = slices.Clone(in.FunctionResponseTypes)
	}
	if in.HasFilterCriteria {
		// An empty list is accepted and not answered back.
		m.Filters = slices.Clone(in.Filters)
		m.HasFilters = len(in.Filters) > 0
	}
	if in.HasScalingConfig {
		m.MaximumConcurrency = in.MaximumConcurrency
	}
	if in.KMSKeyARN != nil {
		m.KMSKeyARN = *in.KMSKeyARN
	}
	if m.Stream() {
		if in.StartingPosition != nil {
			m.StartingPosition = *in.StartingPosition
		}
		if in.StartingPositionTimestamp != nil {
			ts := in.StartingPositionTimestamp.UTC()
			m.StartingPositionTimestamp = &ts
		}
		set(&m.ParallelizationFactor, in.ParallelizationFactor)
		set(&m.MaximumRecordAgeInSeconds, in.MaximumRecordAgeInSeconds)
		set(&m.MaximumRetryAttempts, in.MaximumRetryAttempts)
		set(&m.TumblingWindowInSeconds, in.TumblingWindowInSeconds)
		if in.BisectBatchOnFunctionError != nil {
			m.BisectBatchOnFunctionError = *in.BisectBatchOnFunctionError
		}
		if in.HasDestinationConfig && in.OnFailure != nil {
			m.OnFailure = *in.OnFailure
		}
	}
}

// checkFilters parses the patterns of in.
func checkFilters(in *ESMInput) error {
	if _, err := lambdahost.ParseFilterPatterns(in.Filters); err != nil {
		return invalidf("Invalid filter pattern definition.")
	}
	return nil
}

// CreateEventSourceMapping creates a mapping from an SQS queue or a
// Kinesis stream to a function, and answers it, Creating (or Disabled).
func (s *Service) CreateEventSourceMapping(ctx context.Context, in *ESMInput) (*EventSourceMapping, error) {
	s.init()
	if err := in.validate(true); err != nil {
		return nil, err
	}
	t, err := resolve(ctx, *in.FunctionName, lambdahost.NameNamespaced, "")
	if err != nil {
		return nil, err
	}
	if in.EventSourceARN == nil || in.Unsupported != "" {
		return nil, invalidf("Unrecognized event source.")
	}
	source := sourceOf(*in.EventSourceARN)
	if source == "" {
		return nil, invalidf("Unrecognized event source.")
	}
	if in.Tags != nil {
		if err := validateTags(in.Tags, false); err != nil {
			return nil, err
		}
	}
	now := s.now()
	m := &EventSourceMapping{
		UUID: s.NewMappingID(), Account: t.id.Account, Region: t.id.Region,
		Function: t.id, Qualifier: t.qualifier, EventSourceARN: *in.EventSourceARN, Source: source,
		FunctionResponseTypes: []string{}, Enabled: true, LastModified: now, Created: now, Generation: lambdahost.NewID(),
	}
	if source == SourceSQS {
		m.BatchSize, m.StateTransitionReason = defaultSQSBatchSize, "USER_INITIATED"
	} else {
		m.BatchSize, m.StateTransitionReason = defaultStreamBatchSize, "User action"
		m.ParallelizationFactor, m.MaximumRecordAgeInSeconds, m.MaximumRetryAttempts = 1, -1, -1
		m.LastProcessingResult = "No records processed"
		if in.StartingPosition == nil {
			var v lambdahost.Validation
			v.Type = lambdahost.InvalidParameterValueException
			v.Add("startingPosition", "null", "Member must not be null.")
			return nil, v.Err()
		}
	}
	applyESM(m, in)
	if len(in.Tags) > 0 {
		m.Tags = maps.Clone(in.Tags)
	}
	m.State = ESMCreating
	if !m.Enabled {
		m.State = ESMDisabled
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		arn, err := esmFunction(ctx, tx, t)
		if err != nil {
			return err
		}
		m.FunctionARN = arn
		return nil
	})
	if err != nil {
		return nil, internal("create event source mapping", err)
	}
	if err := checkSource(m, in); err != nil {
		return nil, err
	}
	if err := checkFilters(in); err != nil {
		return nil, err
	}
	if err := s.checkSourceExists(ctx, m); err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		if _, err := esmFunction(ctx, tx, t); err != nil {
			return err
		}
		dup, err := s.findMapping(ctx, tx, m.Account, m.Region, func(o *EventSourceMapping) bool {
			return o.EventSourceARN == m.EventSourceARN && o.Function == m.Function && o.Qualifier == m.Qualifier
		})
		if err != nil {
			return err
		}
		if dup != nil {
			if m.Source == SourceSQS {
				return lambdahost.Errorf(lambdahost.ResourceConflictException,
					`An event source mapping with SQS arn (" %s ") and function (" %s ") already exists. Please update or delete the existing mapping with UUID %s`,
					m.EventSourceARN, t.raw, dup.UUID)
			}
			return lambdahost.Errorf(lambdahost.ResourceConflictException,
				`The event source arn (" %s ") and function (" %s ") provided mapping already exists. Please update or delete the existing mapping with UUID %s`,
				m.EventSourceARN, t.raw, dup.UUID)
		}
		return createRecord(ctx, tx, kindESM, m.key(), m)
	})
	if err != nil {
		return nil, internal("create event source mapping", err)
	}
	s.esmChanged()
	return m, nil
}

// findMapping returns the first mapping of the account and region that
// keep accepts, in tx, or nil.
func (s *Service) findMapping(ctx context.Context, tx lambdahost.Tx, account, region string, keep func(*EventSourceMapping) bool) (*EventSourceMapping, error) {
	found, _, err := scanRecords(ctx, tx, kindESM, account+"/"+region+"/", "", 1, keep, func(m *EventSourceMapping) string { return m.UUID })
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return found[0], nil
}

// readMapping reads the caller's mapping uuid in tx.
func readMapping(ctx context.Context, tx lambdahost.Tx, c lambdahost.Caller, uuid string) (*EventSourceMapping, error) {
	m, err := getRecord[EventSourceMapping](ctx, tx, kindESM, esmKey(c.Account, c.Region, uuid))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, errESMNotFound()
	}
	return m, err
}

// GetEventSourceMapping answers the caller's mapping uuid, or
// ResourceNotFoundException.
func (s *Service) GetEventSourceMapping(ctx context.Context, uuid string) (*EventSourceMapping, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("get event source mapping", err)
	}
	var m *EventSourceMapping
	err = s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		m, err = readMapping(ctx, tx, c, uuid)
		return err
	})
	if err != nil {
		return nil, internal("get event source mapping", err)
	}
	return m, nil
}

// UpdateEventSourceMapping changes the settings in gives of mapping uuid
// and answers it: Enabling or Disabling when Enabled changes, else
// Updating. Its pollers start again with the new settings.
func (s *Service) UpdateEventSourceMapping(ctx context.Context, uuid string, in *ESMInput) (*EventSourceMapping, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("update event source mapping", err)
	}
	if err := in.validate(false); err != nil {
		return nil, err
	}
	var t *target
	if in.FunctionName != nil {
		tt, err := resolve(ctx, *in.FunctionName, lambdahost.NameNamespaced, "")
		if err != nil {
			return nil, err
		}
		t = &tt
	}
	if err := checkFilters(in); err != nil {
		return nil, err
	}
	var m *EventSourceMapping
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		var err error
		m, err = readMapping(ctx, tx, c, uuid)
		if err != nil {
			return err
		}
		if m.State == ESMDeleting {
			return lambdahost.Errorf(lambdahost.ResourceInUseException, "Cannot update the event source mapping %s because it is being deleted.", uuid)
		}
		if in.Unsupported != "" {
			return errUnsupported(in.Unsupported)
		}
		if t != nil {
			arn, err := esmFunction(ctx, tx, *t)
			if err != nil {
				return err
			}
			m.Function, m.Qualifier, m.FunctionARN = t.id, t.qualifier, arn
		}
		wasEnabled := m.Enabled
		applyESM(m, in)
		if err := checkSource(m, in); err != nil {
			return err
		}
		switch {
		case !wasEnabled && m.Enabled:
			m.State = ESMEnabling
		case wasEnabled && !m.Enabled:
			m.State = ESMDisabling
		default:
			m.State = ESMUpdating
		}
		m.LastModified, m.Generation = s.now(), lambdahost.NewID()
		return putRecord(ctx, tx, kindESM, m.key(), m)
	})
	if err != nil {
		return nil, internal("update event source mapping", err)
	}
	s.esmChanged()
	return m, nil
}

// DeleteEventSourceMapping deletes mapping uuid and answers it, Deleting.
// Its pollers stop; a batch in flight finishes.
func (s *Service) DeleteEventSourceMapping(ctx context.Context, uuid string) (*EventSourceMapping, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("delete event source mapping", err)
	}
	var m *EventSourceMapping
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		var err error
		if m, err = readMapping(ctx, tx, c, uuid); err != nil {
			return err
		}
		if err := tx.DeleteRecord(ctx, kindESM, m.key()); err != nil {
			return err
		}
		// The checkpoints of its shards go with it.
		return deleteRecordsUnder(ctx, tx, kindCheckpoint, uuid+"/")
	})
	if err != nil {
		return nil, internal("delete event source mapping", err)
	}
	m.State = ESMDeleting
	s.esmChanged()
	return m, nil
}

// ListESMOutput is a page of mappings.
type ListESMOutput struct {
	Mappings   []*EventSourceMapping
	NextMarker string
}

// ListEventSourceMappings answers the caller's mappings, of functionName
// and of eventSourceARN if given (filters that match nothing answer an
// empty list), 100 a page unless MaxItems says less.
func (s *Service) ListEventSourceMappings(ctx context.Context, functionName, eventSourceARN *string, in ListInput) (*ListESMOutput, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("list event source mappings", err)
	}
	var fn *target
	if functionName != nil {
		t, err := resolve(ctx, *functionName, lambdahost.NameNamespaced, "")
		if err != nil {
			return nil, err
		}
		fn = &t
	}
	var v lambdahost.Validation
	if a := eventSourceARN; a != nil && !reESMARNs.MatchString(*a) {
		v.Add("eventSourceArn", lambdahost.Quote(*a), "Member must satisfy regular expression pattern: "+patternARN)
	}
	checkIntRange(&v, "maxItems", in.MaxItems, 1, 10000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	limit := 100
	if in.MaxItems != nil {
		limit = min(*in.MaxItems, 100)
	}
	token, err := markerToken(in.Marker)
	if err != nil {
		return nil, err
	}
	out := &ListESMOutput{Mappings: []*EventSourceMapping{}}
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		ms, next, err := scanRecords(ctx, tx, kindESM, c.Account+"/"+c.Region+"/", token, limit, func(m *EventSourceMapping) bool {
			if fn != nil && (m.Function != fn.id || (fn.qualifier != "" && fn.qualifier != m.Qualifier)) {
				return false
			}
			return eventSourceARN == nil || *eventSourceARN == m.EventSourceARN
		}, func(m *EventSourceMapping) string { return m.UUID })
		if err != nil {
			return err
		}
		out.Mappings = ms
		if next != "" {
			out.NextMarker = encodeMarker(next)
		}
		return nil
	})
	if err != nil {
		return nil, internal("list event source mappings", err)
	}
	return out, nil
}

// allMappings reads every mapping of every account, for the node's runner.
func (s *Service) allMappings(ctx context.Context) ([]*EventSourceMapping, error) {
	var ms []*EventSourceMapping
	err := s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		ms, _, err = scanRecords(ctx, tx, kindESM, "", "", math.MaxInt, func(*EventSourceMapping) bool { return true }, func(m *EventSourceMapping) string { return m.UUID })
		return err
	})
	return ms, err
}

// updateESMTags changes a mapping's tags (TagResource, UntagResource).
func (s *Service) updateESMTags(ctx context.Context, arn string, change func(map[string]string)) error {
	c, err := caller(ctx)
	if err != nil {
		return internal("update tags", err)
	}
	g := reESMARN.FindStringSubmatch(arn)
	if g[3] != c.Account {
		return accessDenied(c, arn)
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		m, err := getRecord[EventSourceMapping](ctx, tx, kindESM, esmKey(g[3], g[2], g[4]))
		if errors.Is(err, lambdahost.ErrNotFound) {
			return errESMNotFound()
		}
		if err != nil {
			return err
		}
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		change(m.Tags)
		if len(m.Tags) > maxTags {
			return invalidf("Number of tags exceeds resource tag limit.")
		}
		if len(m.Tags) == 0 {
			m.Tags = nil
		}
		return putRecord(ctx, tx, kindESM, m.key(), m)
	})
	return internal("update tags", err)
}

// esmTags answers ListTags for a mapping.
func (s *Service) esmTags(ctx context.Context, arn string) (map[string]string, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("list tags", err)
	}
	g := reESMARN.FindStringSubmatch(arn)
	if g[3] != c.Account {
		return nil, accessDenied(c, arn)
	}
	var tags map[string]string
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		m, err := getRecord[EventSourceMapping](ctx, tx, kindESM, esmKey(g[3], g[2], g[4]))
		if errors.Is(err, lambdahost.ErrNotFound) {
			return errESMNotFound()
		}
		if err != nil {
			return err
		}
		tags = m.Tags
		return nil
	})
	if err != nil {
		return nil, internal("list tags", err)
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return tags, nil
}

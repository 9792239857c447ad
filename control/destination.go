package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lambdahost/lambdahost"
)

// What happens when an asynchronous invocation ends: its event is deleted
// and, in the same transaction, the record of how it ended is stored for
// its destination (OnSuccess or OnFailure of the event invoke config of
// what was invoked) and, for a failure, the event for the dead-letter queue
// of the version that ran. A Lambda destination is an asynchronous event
// of that function; the others are deliveries that the delivery loop sends
// (see delivery.go).
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)

// Conditions of the end of an asynchronous invocation, as Lambda writes
// them in requestContext.condition.
const (
	ConditionSuccess                 = "Success"
	ConditionRetriesExhausted        = "RetriesExhausted"
	ConditionEventAgeExceeded        = "EventAgeExceeded"
	ConditionZeroReservedConcurrency = "ZeroReservedConcurrency"
	// ConditionRecursiveLoop is the condition of an event stopped by
	// recursive loop detection (AWS's records of it are not recorded;
	// this is the exception's name).
	ConditionRecursiveLoop = "RecursiveInvocationException"
)

// EventOutcome is how an asynchronous invocation ended for good.
type EventOutcome struct {
	// Condition is one of the Condition constants, or "" when the event
	// is dropped without a record (its function no longer exists).
	Condition string
	// Attempts is how many times the function ran.
	Attempts int
	// Response is the last run's response, nil if it never ran.
	Response *EventResponse
	// ExecutedVersion is the version that ran, or would have run.
	ExecutedVersion string
	// TraceID is the trace header the invocation ran with, which the
	// records carry on.
	TraceID string
}

// EventResponse is the response of an asynchronous invocation's last run.
type EventResponse struct {
	// StatusCode is 200 for what the function answered, success or error.
	StatusCode int
	// FunctionError is "Unhandled" for a failure, else "".
	FunctionError string
	Payload       []byte
}

// failed reports whether the outcome goes to OnFailure and the DLQ.
func (o *EventOutcome) failed() bool { return o.Condition != ConditionSuccess }

// asyncRecord is the record of an asynchronous invocation, with AWS's keys
// in AWS's order.
type asyncRecord struct {
	Version         string           `json:"version"`
	Timestamp       string           `json:"timestamp"`
	RequestContext  recordRequest    `json:"requestContext"`
	RequestPayload  json.RawMessage  `json:"requestPayload"`
	ResponseContext *recordResponse  `json:"responseContext,omitempty"`
	ResponsePayload *json.RawMessage `json:"responsePayload,omitempty"`
}

type recordRequest struct {
	RequestID              string `json:"requestId"`
	FunctionArn            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type recordResponse struct {
	StatusCode      int     `json:"statusCode"`
	ExecutedVersion string  `json:"executedVersion"`
	FunctionError   *string `json:"functionError,omitempty"`
}

// recordTimestamp is how records write time: ISO 8601 in UTC with
// milliseconds.
func recordTimestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// asJSON returns b as a JSON value: itself if it is JSON, else a JSON
// string of it (a response that is not JSON, or nothing at all).
func asJSON(b []byte) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		var buf bytes.Buffer
		if json.Compact(&buf, b) == nil {
			return buf.Bytes()
		}
	}
	s, _ := json.Marshal(string(b))
	return s
}

// buildRecord returns the record of event ev that ended with out.
func buildRecord(ev *lambdahost.AsyncEvent, out *EventOutcome, now time.Time) *asyncRecord {
	rec := &asyncRecord{
		Version:   "1.0",
		Timestamp: recordTimestamp(now),
		RequestContext: recordRequest{
			RequestID: ev.RequestID, FunctionArn: ev.Function.QualifiedARN(qualifierKey(ev.Qualifier)),
			Condition: out.Condition, ApproximateInvokeCount: out.Attempts,
		},
		RequestPayload: asJSON(ev.Payload),
	}
	if r := out.Response; r != nil {
		rc := &recordResponse{StatusCode: r.StatusCode, ExecutedVersion: out.ExecutedVersion}
		if r.FunctionError != "" {
			fe := r.FunctionError
			rc.FunctionError = &fe
		}
		rec.ResponseContext = rc
		p := asJSON(r.Payload)
		rec.ResponsePayload = &p
	}
	return rec
}

// errorMessageOf returns the errorMessage of a runtime's error document,
// or the document itself if it has none.
func errorMessageOf(payload []byte) string {
	var doc struct {
		ErrorMessage *string `json:"errorMessage"`
	}
	if json.Unmarshal(payload, &doc) == nil && doc.ErrorMessage != nil {
		return *doc.ErrorMessage
	}
	return string(payload)
}

// deadLetter returns the message of a failed event for dead-letter queue
// or topic target: the event's payload, with the attributes Lambda sets.
func deadLetter(ev *lambdahost.AsyncEvent, out *EventOutcome, target string) *lambdahost.Message {
	code, msg := "429", "Rate Exceeded."
	switch {
	case out.Response != nil:
		code, msg = strconv.Itoa(out.Response.StatusCode), errorMessageOf(out.Response.Payload)
	case out.Condition == ConditionEventAgeExceeded:
		msg = "Event age exceeded the maximum event age before the event could run."
	case out.Condition == ConditionRecursiveLoop:
		code, msg = "400", "Recursive invocation detected: the event was stopped."
	}
	return &lambdahost.Message{
		Target: target, Body: string(ev.Payload), TraceHeader: out.TraceID,
		Account: ev.Function.Account, Region: ev.Function.Region,
		Attributes: map[string]lambdahost.MessageAttribute{
			"RequestID":    {DataType: "String", StringValue: ev.RequestID},
			"ErrorCode":    {DataType: "Number", StringValue: code},
			"ErrorMessage": {DataType: "String", StringValue: msg},
		},
	}
}

// destinationMessage returns the message that carries record body to
// destination target of a function of id.
func destinationMessage(id lambdahost.FunctionID, functionARN, target string, body []byte, trace string, success bool, key string) *lambdahost.Message {
	m := &lambdahost.Message{Target: target, Body: string(body), TraceHeader: trace, Account: id.Account, Region: id.Region}
	switch destinationService(target) {
	case destinationEvents:
		m.Source = "lambda"
		m.DetailType = "Lambda Function Invocation Result - Failure"
		if success {
			m.DetailType = "Lambda Function Invocation Result - Success"
		}
		m.Resources = []string{target, functionARN}
	case destinationS3:
		m.Key = key
	}
	return m
}

// FollowUp is an asynchronous event that finishing another created: the
// invocation of a Lambda destination, for the caller to run.
type FollowUp struct {
	Invocation *Invocation
	Event      *lambdahost.AsyncEvent
}

// FinishEvent deletes asynchronous event ev, which ended with out, and
// stores in the same transaction what its end sends: the record for its
// destination and, if it failed, its dead-letter message. It answers the
// events of Lambda destinations, which the caller runs (see
// Runner.RunEvent); the deliveries go to the delivery loop.
func (s *Service) FinishEvent(ctx context.Context, ev *lambdahost.AsyncEvent, out *EventOutcome) ([]FollowUp, error) {
	s.init()
	if out.Condition != ConditionSuccess && out.Condition != "" {
		s.Metrics.AsyncEventsDropped.Add(1)
	}
	now := s.Now().UTC()
	var (
		deliveries []*lambdahost.Delivery
		events     []*lambdahost.AsyncEvent
		missing    int
	)
	err := s.store.Update(ctx, func(tx lambdahost.Tx) error {
		deliveries, events, missing = nil, nil, 0
		if err := tx.DeleteEvent(ctx, ev.ID); err != nil {
			return err
		}
		if out.Condition == "" {
			return nil
		}
		if _, err := tx.Function(ctx, ev.Function); errors.Is(err, lambdahost.ErrNotFound) {
			// Deleted with its configs: nothing says where records go.
			return nil
		} else if err != nil {
			return err
		}
		var targets []string
		conf, err := eventInvokeConfig(ctx, tx, ev.Function, ev.Qualifier)
		if err != nil {
			return err
		}
		if conf != nil {
			d := conf.OnSuccess
			if out.failed() {
				d = conf.OnFailure
			}
			if d != nil && *d != "" {
				targets = append(targets, *d)
			}
		}
		rec := buildRecord(ev, out, now)
		body, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		fnARN := rec.RequestContext.FunctionArn
		for _, target := range targets {
			if destinationService(target) == destinationLambda {
				dev, err := s.destinationEvent(ctx, tx, ev, target, body, out.TraceID, now)
				if err != nil {
					return err
				}
				if dev != nil {
					events = append(events, dev)
				} else {
					missing++
				}
				continue
			}
			key := fmt.Sprintf("aws/lambda/async/%s/%s/%s-%s", ev.Function.Name, now.Format("2006/01/02"), now.Format("2006-01-02T15.04.05"), lambdahost.NewID())
			m := destinationMessage(ev.Function, fnARN, target, body, out.TraceID, !out.failed(), key)
			d, err := s.putDelivery(ctx, tx, m, now, false)
			if err != nil {
				return err
			}
			deliveries = append(deliveries, d)
		}
		if out.failed() && out.ExecutedVersion != "" {
			v, err := tx.Version(ctx, ev.Function, out.ExecutedVersion)
			if err != nil && !errors.Is(err, lambdahost.ErrNotFound) {
				return err
			}
			if v != nil && v.Config.DeadLetterTarget != "" {
				d, err := s.putDelivery(ctx, tx, deadLetter(ev, out, v.Config.DeadLetterTarget), now, true)
				if err != nil {
					return err
				}
				deliveries = append(deliveries, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finish event %s: %w", ev.ID, err)
	}
	s.Metrics.AsyncEventsReceived.Add(int64(len(events)))
	s.Metrics.DestinationDeliveries.Add(int64(len(events)))
	s.Metrics.DestinationDeliveryFailures.Add(int64(missing))
	s.deliver(deliveries...)
	var follow []FollowUp
	for _, dev := range events {
		inv, err := s.ResolveEvent(ctx, dev)
		if err != nil {
			// The event is stored: it runs when it can, as a replayed one.
			s.Logger.WarnContext(ctx, "destination function cannot run now", lambdahost.LogKeyFunction, dev.Function.ARN(), lambdahost.LogKeyError, err)
			continue
		}
		follow = append(follow, FollowUp{Invocation: inv, Event: dev})
	}
	return follow, nil
}

// destinationEvent stores, in tx, the asynchronous event of Lambda
// destination target that carries record body. It answers nil if the
// destination function no longer exists (a delivery that fails, as on AWS).
func (s *Service) destinationEvent(ctx context.Context, tx lambdahost.Tx, ev *lambdahost.AsyncEvent, target string, body []byte, trace string, now time.Time) (*lambdahost.AsyncEvent, error) {
	ref, err := lambdahost.ParseFunctionName(target, lambdahost.NameNamespaced)
	if err != nil {
		s.Logger.WarnContext(ctx, "destination not delivered: not a function ARN", "destination", target)
		return nil, nil
	}
	id := lambdahost.FunctionID{Account: ref.Account, Region: ref.Region, Name: ref.Name}
	if id.Account == "" || id.Region == "" {
		id.Account, id.Region = ev.Function.Account, ev.Function.Region
	}
	if ok, err := qualifierExists(ctx, tx, id, ref.Qualifier); err != nil {
		return nil, err
	} else if !ok {
		s.Logger.WarnContext(ctx, "destination not delivered: the function does not exist", "destination", target, lambdahost.LogKeyRequestID, ev.RequestID)
		return nil, nil
	}
	dev := &lambdahost.AsyncEvent{
		ID: lambdahost.NewEventID(now), Function: id, Qualifier: ref.Qualifier, Payload: body,
		RequestID: lambdahost.NewID(), TraceID: trace, Created: now, Node: s.Node,
	}
	if err := tx.PutEvent(ctx, dev); err != nil {
		return nil, err
	}
	return dev, nil
}

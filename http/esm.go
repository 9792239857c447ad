package http

import (
	"context"
	"net/http"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/invoke"
)

// filterCriteria is FilterCriteria.
type filterCriteria struct {
	Filters []struct {
		Pattern *string `json:"Pattern"`
	} `json:"Filters"`
}

type scalingConfig struct {
	MaximumConcurrency *int `json:"MaximumConcurrency,omitempty"`
}

// esmRequest is the body of Create and UpdateEventSourceMapping.
type esmRequest struct {
	FunctionName                   *string           `json:"FunctionName"`
	EventSourceArn                 *string           `json:"EventSourceArn"`
	Enabled                        *bool             `json:"Enabled"`
	BatchSize                      *int              `json:"BatchSize"`
	MaximumBatchingWindowInSeconds *int              `json:"MaximumBatchingWindowInSeconds"`
	ParallelizationFactor          *int              `json:"ParallelizationFactor"`
	StartingPosition               *string           `json:"StartingPosition"`
	StartingPositionTimestamp      *awsapi.Epoch     `json:"StartingPositionTimestamp"`
	DestinationConfig              *destinationIn    `json:"DestinationConfig"`
	MaximumRecordAgeInSeconds      *int              `json:"MaximumRecordAgeInSeconds"`
	BisectBatchOnFunctionError     *bool             `json:"BisectBatchOnFunctionError"`
	MaximumRetryAttempts           *int              `json:"MaximumRetryAttempts"`
	TumblingWindowInSeconds        *int              `json:"TumblingWindowInSeconds"`
	FunctionResponseTypes          *[]string         `json:"FunctionResponseTypes"`
	FilterCriteria                 *filterCriteria   `json:"FilterCriteria"`
	ScalingConfig                  *scalingConfig    `json:"ScalingConfig"`
	KMSKeyArn                      *string           `json:"KMSKeyArn"`
	Tags                           map[string]string `json:"Tags"`
	// The members of kinds of source lambdahost does not poll.
	Topics                              any `json:"Topics"`
	Queues                              any `json:"Queues"`
	SourceAccessConfigurations          any `json:"SourceAccessConfigurations"`
	SelfManagedEventSource              any `json:"SelfManagedEventSource"`
	AmazonManagedKafkaEventSourceConfig any `json:"AmazonManagedKafkaEventSourceConfig"`
	SelfManagedKafkaEventSourceConfig   any `json:"SelfManagedKafkaEventSourceConfig"`
	DocumentDBEventSourceConfig         any `json:"DocumentDBEventSourceConfig"`
}

func (r *esmRequest) input() *control.ESMInput {
	in := &control.ESMInput{
		FunctionName: r.FunctionName, EventSourceARN: r.EventSourceArn, Enabled: r.Enabled, BatchSize: r.BatchSize,
		MaximumBatchingWindowInSeconds: r.MaximumBatchingWindowInSeconds, ParallelizationFactor: r.ParallelizationFactor,
		StartingPosition: r.StartingPosition, MaximumRecordAgeInSeconds: r.MaximumRecordAgeInSeconds,
		BisectBatchOnFunctionError: r.BisectBatchOnFunctionError, MaximumRetryAttempts: r.MaximumRetryAttempts,
		TumblingWindowInSeconds: r.TumblingWindowInSeconds, KMSKeyARN: r.KMSKeyArn, Tags: r.Tags,
	}
	if r.StartingPositionTimestamp != nil {
		ts := time.Time(*r.StartingPositionTimestamp)
		in.StartingPositionTimestamp = &ts
	}
	if d := r.DestinationConfig; d != nil {
		in.HasDestinationConfig = true
		in.OnSuccess, in.OnFailure = destinationMember(d.OnSuccess), destinationMember(d.OnFailure)
	}
	if r.FunctionResponseTypes != nil {
		in.HasFunctionResponseTypes, in.FunctionResponseTypes = true, *r.FunctionResponseTypes
	}
	if f := r.FilterCriteria; f != nil {
		in.HasFilterCriteria = true
		in.Filters = []string{}
		for _, p := range f.Filters {
			if p.Pattern != nil {
				in.Filters = append(in.Filters, *p.Pattern)
			}
		}
	}
	if sc := r.ScalingConfig; sc != nil {
		in.HasScalingConfig, in.MaximumConcurrency = true, sc.MaximumConcurrency
	}
	for name, v := range map[string]any{
		"Topics": r.Topics, "Queues": r.Queues, "SourceAccessConfigurations": r.SourceAccessConfigurations,
		"SelfManagedEventSource": r.SelfManagedEventSource, "AmazonManagedKafkaEventSourceConfig": r.AmazonManagedKafkaEventSourceConfig,
		"SelfManagedKafkaEventSourceConfig": r.SelfManagedKafkaEventSourceConfig, "DocumentDBEventSourceConfig": r.DocumentDBEventSourceConfig,
	} {
		if v != nil {
			in.Unsupported = name
		}
	}
	return in
}

type filterOut struct {
	Pattern string `json:"Pattern"`
}

type filterCriteriaOut struct {
	Filters []filterOut `json:"Filters"`
}

type streamDestinations struct {
	OnFailure *destination `json:"OnFailure"`
}

// EventSourceMappingConfiguration is the model's shape, with the members
// each kind of source answers.
type EventSourceMappingConfiguration struct {
	BatchSize                      int                 `json:"BatchSize"`
	BisectBatchOnFunctionError     *bool               `json:"BisectBatchOnFunctionError,omitempty"`
	DestinationConfig              *streamDestinations `json:"DestinationConfig,omitempty"`
	EventSourceArn                 string              `json:"EventSourceArn"`
	EventSourceMappingArn          string              `json:"EventSourceMappingArn"`
	FilterCriteria                 *filterCriteriaOut  `json:"FilterCriteria,omitempty"`
	FunctionArn                    string              `json:"FunctionArn"`
	FunctionResponseTypes          []string            `json:"FunctionResponseTypes"`
	KMSKeyArn                      string              `json:"KMSKeyArn,omitempty"`
	LastModified                   awsapi.Epoch        `json:"LastModified"`
	LastProcessingResult           string              `json:"LastProcessingResult,omitempty"`
	MaximumBatchingWindowInSeconds int                 `json:"MaximumBatchingWindowInSeconds"`
	MaximumRecordAgeInSeconds      *int                `json:"MaximumRecordAgeInSeconds,omitempty"`
	MaximumRetryAttempts           *int                `json:"MaximumRetryAttempts,omitempty"`
	ParallelizationFactor          *int                `json:"ParallelizationFactor,omitempty"`
	ScalingConfig                  *scalingConfig      `json:"ScalingConfig,omitempty"`
	StartingPosition               string              `json:"StartingPosition,omitempty"`
	StartingPositionTimestamp      *awsapi.Epoch       `json:"StartingPositionTimestamp,omitempty"`
	State                          string              `json:"State"`
	StateTransitionReason          string              `json:"StateTransitionReason"`
	TumblingWindowInSeconds        *int                `json:"TumblingWindowInSeconds,omitempty"`
	UUID                           string              `json:"UUID"`
}

func toESM(m *control.EventSourceMapping) *EventSourceMappingConfiguration {
	out := &EventSourceMappingConfiguration{
		BatchSize: m.BatchSize, EventSourceArn: m.EventSourceARN, EventSourceMappingArn: m.ARN(),
		FunctionArn: m.FunctionARN, FunctionResponseTypes: m.FunctionResponseTypes, KMSKeyArn: m.KMSKeyARN,
		LastModified: awsapi.Epoch(m.LastModified), MaximumBatchingWindowInSeconds: m.MaximumBatchingWindowInSeconds,
		State: m.State, StateTransitionReason: m.StateTransitionReason, UUID: m.UUID,
	}
	if out.FunctionResponseTypes == nil {
		out.FunctionResponseTypes = []string{}
	}
	if m.HasFilters {
		out.FilterCriteria = &filterCriteriaOut{Filters: []filterOut{}}
		for _, p := range m.Filters {
			out.FilterCriteria.Filters = append(out.FilterCriteria.Filters, filterOut{Pattern: p})
		}
	}
	if m.MaximumConcurrency != nil {
		out.ScalingConfig = &scalingConfig{MaximumConcurrency: m.MaximumConcurrency}
	}
	if m.Stream() {
		bisect, age, retries, par, tumbling := m.BisectBatchOnFunctionError, m.MaximumRecordAgeInSeconds, m.MaximumRetryAttempts, m.ParallelizationFactor, m.TumblingWindowInSeconds
		out.BisectBatchOnFunctionError, out.MaximumRecordAgeInSeconds, out.MaximumRetryAttempts = &bisect, &age, &retries
		out.ParallelizationFactor, out.TumblingWindowInSeconds = &par, &tumbling
		onFailure := m.OnFailure
		out.DestinationConfig = &streamDestinations{OnFailure: destinationOut(&onFailure)}
		out.LastProcessingResult = m.LastProcessingResult
		out.StartingPosition = m.StartingPosition
		if ts := m.StartingPositionTimestamp; ts != nil {
			out.StartingPositionTimestamp = awsapi.EpochPtr(*ts)
		}
	}
	return out
}

func (s *Server) handleCreateEventSourceMapping(w http.ResponseWriter, r *http.Request) {
	var req esmRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.service.CreateEventSourceMapping(r.Context(), req.input())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toESM(m))
}

func (s *Server) handleGetEventSourceMapping(w http.ResponseWriter, r *http.Request) {
	m, err := s.service.GetEventSourceMapping(r.Context(), r.PathValue("UUID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toESM(m))
}

func (s *Server) handleUpdateEventSourceMapping(w http.ResponseWriter, r *http.Request) {
	var req esmRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.service.UpdateEventSourceMapping(r.Context(), r.PathValue("UUID"), req.input())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toESM(m))
}

func (s *Server) handleDeleteEventSourceMapping(w http.ResponseWriter, r *http.Request) {
	m, err := s.service.DeleteEventSourceMapping(r.Context(), r.PathValue("UUID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toESM(m))
}

func (s *Server) handleListEventSourceMappings(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListEventSourceMappings(r.Context(), optionalQuery(r, "FunctionName"), optionalQuery(r, "EventSourceArn"), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := struct {
		EventSourceMappings []*EventSourceMappingConfiguration `json:"EventSourceMappings"`
		NextMarker          string                             `json:"NextMarker,omitempty"`
	}{EventSourceMappings: []*EventSourceMappingConfiguration{}, NextMarker: out.NextMarker}
	for _, m := range out.Mappings {
		resp.EventSourceMappings = append(resp.EventSourceMappings, toESM(m))
	}
	writeJSON(w, http.StatusOK, resp)
}

// Run implements control.Runner: the executor runs an event source
// mapping's batch as a synchronous invocation under a new request ID.
func (s *Server) Run(ctx context.Context, inv *control.Invocation, payload []byte, trace string) (*control.RunResult, error) {
	if s.Invoker == nil {
		return nil, errNoInvoker()
	}
	if trace == "" {
		trace = traceID("")
	}
	res, err := s.Invoker.Invoke(ctx, &invoke.Request{Target: targetOf(inv), RequestID: s.newRequestID(), Payload: payload, TraceID: trace})
	if err != nil {
		return nil, err
	}
	return &control.RunResult{Payload: res.Payload, FunctionError: res.FunctionError}, nil
}

var _ control.Runner = (*Server)(nil)

// newRequestID returns a request ID for an invocation no request started.
func (s *Server) newRequestID() string {
	if s.NewRequestID != nil {
		return s.NewRequestID()
	}
	return lambdahost.NewID()
}

// provisioner is what the executor offers provisioned concurrency.
type provisioner interface {
	Provision(key string, t invoke.Target, n int) invoke.ProvisionStatus
	ProvisionedKeys() []string
}

// Provision implements control.Provisioner over the Invoker, which must
// provision (the executor does).
func (s *Server) Provision(key string, inv *control.Invocation, n int) control.ProvisionState {
	p, ok := s.Invoker.(provisioner)
	if !ok {
		return control.ProvisionState{}
	}
	var t invoke.Target
	if inv != nil {
		t = targetOf(inv)
	}
	st := p.Provision(key, t, n)
	return control.ProvisionState{Ready: st.Ready, Failed: st.Err != nil}
}

// ProvisionedKeys implements control.Provisioner.
func (s *Server) ProvisionedKeys() []string {
	if p, ok := s.Invoker.(provisioner); ok {
		return p.ProvisionedKeys()
	}
	return nil
}

var _ control.Provisioner = (*Server)(nil)

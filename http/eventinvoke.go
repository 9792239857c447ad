package http

import (
	"context"
	"net/http"

	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/internal/awsapi"
)

// destination is OnSuccess or OnFailure: {} when unset.
type destination struct {
	Destination *string `json:"Destination,omitempty"`
}

// destinationIn is a DestinationConfig in a request: nil members are absent.
type destinationIn struct {
	OnSuccess *destination `json:"OnSuccess"`
	OnFailure *destination `json:"OnFailure"`
}

// destinationMember is how an OnSuccess or OnFailure member of a request
// reaches the control plane: nil if absent, "" if given without a
// Destination.
func destinationMember(d *destination) *string {
	if d == nil {
		return nil
	}
	s := ""
	if d.Destination != nil {
		s = *d.Destination
	}
	return &s
}

// destinationOut answers a destination: {} when unset.
func destinationOut(arn *string) *destination {
	if arn == nil || *arn == "" {
		return &destination{}
	}
	return &destination{Destination: arn}
}

// eventInvokeConfigRequest is Put and UpdateFunctionEventInvokeConfig's body.
type eventInvokeConfigRequest struct {
	MaximumRetryAttempts     *int           `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int           `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *destinationIn `json:"DestinationConfig"`
}

// asyncDestinations is an event invoke config's DestinationConfig: both
// members always present.
type asyncDestinations struct {
	OnFailure *destination `json:"OnFailure"`
	OnSuccess *destination `json:"OnSuccess"`
}

// FunctionEventInvokeConfig is the model's FunctionEventInvokeConfig.
type FunctionEventInvokeConfig struct {
	DestinationConfig        asyncDestinations `json:"DestinationConfig"`
	FunctionArn              string            `json:"FunctionArn"`
	LastModified             awsapi.Epoch      `json:"LastModified"`
	MaximumEventAgeInSeconds *int              `json:"MaximumEventAgeInSeconds,omitempty"`
	MaximumRetryAttempts     *int              `json:"MaximumRetryAttempts,omitempty"`
}

func toEventInvokeConfig(c *control.EventInvokeConfig) *FunctionEventInvokeConfig {
	return &FunctionEventInvokeConfig{
		DestinationConfig:        asyncDestinations{OnFailure: destinationOut(c.OnFailure), OnSuccess: destinationOut(c.OnSuccess)},
		FunctionArn:              c.FunctionARN,
		LastModified:             awsapi.Epoch(c.LastModified),
		MaximumEventAgeInSeconds: c.MaximumEventAgeInSeconds,
		MaximumRetryAttempts:     c.MaximumRetryAttempts,
	}
}

func (s *Server) eventInvokeInput(r *http.Request) (*control.EventInvokeConfigInput, error) {
	var req eventInvokeConfigRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	in := &control.EventInvokeConfigInput{MaximumRetryAttempts: req.MaximumRetryAttempts, MaximumEventAgeInSeconds: req.MaximumEventAgeInSeconds}
	if d := req.DestinationConfig; d != nil {
		in.HasDestinationConfig = true
		in.OnSuccess, in.OnFailure = destinationMember(d.OnSuccess), destinationMember(d.OnFailure)
	}
	return in, nil
}

func (s *Server) handlePutFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request) {
	s.putEventInvokeConfig(w, r, s.service.PutFunctionEventInvokeConfig)
}

func (s *Server) handleUpdateFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request) {
	s.putEventInvokeConfig(w, r, s.service.UpdateFunctionEventInvokeConfig)
}

func (s *Server) putEventInvokeConfig(w http.ResponseWriter, r *http.Request, op func(ctx context.Context, name, qualifier string, in *control.EventInvokeConfigInput) (*control.EventInvokeConfig, error)) {
	in, err := s.eventInvokeInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := op(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEventInvokeConfig(c))
}

func (s *Server) handleGetFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request) {
	c, err := s.service.GetFunctionEventInvokeConfig(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEventInvokeConfig(c))
}

func (s *Server) handleDeleteFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request) {
	if err := s.service.DeleteFunctionEventInvokeConfig(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type listEventInvokeConfigsResponse struct {
	FunctionEventInvokeConfigs []*FunctionEventInvokeConfig `json:"FunctionEventInvokeConfigs"`
	NextMarker                 string                       `json:"NextMarker,omitempty"`
}

func (s *Server) handleListFunctionEventInvokeConfigs(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListFunctionEventInvokeConfigs(r.Context(), r.PathValue("FunctionName"), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := &listEventInvokeConfigsResponse{FunctionEventInvokeConfigs: []*FunctionEventInvokeConfig{}, NextMarker: out.NextMarker}
	for _, c := range out.Configs {
		resp.FunctionEventInvokeConfigs = append(resp.FunctionEventInvokeConfigs, toEventInvokeConfig(c))
	}
	writeJSON(w, http.StatusOK, resp)
}

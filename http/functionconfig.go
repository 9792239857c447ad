package http

import (
	"net/http"

	"github.com/lambdahost/lambdahost/control"
)

type recursionConfig struct {
	RecursiveLoop *string `json:"RecursiveLoop"`
}

func (s *Server) handleGetFunctionRecursionConfig(w http.ResponseWriter, r *http.Request) {
	loop, err := s.service.GetFunctionRecursionConfig(r.Context(), r.PathValue("FunctionName"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &recursionConfig{RecursiveLoop: &loop})
}

func (s *Server) handlePutFunctionRecursionConfig(w http.ResponseWriter, r *http.Request) {
	var req recursionConfig
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	loop, err := s.service.PutFunctionRecursionConfig(r.Context(), r.PathValue("FunctionName"), req.RecursiveLoop)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &recursionConfig{RecursiveLoop: &loop})
}

type runtimeManagementRequest struct {
	UpdateRuntimeOn   *string `json:"UpdateRuntimeOn"`
	RuntimeVersionArn *string `json:"RuntimeVersionArn"`
}

type runtimeManagementResponse struct {
	UpdateRuntimeOn   string  `json:"UpdateRuntimeOn"`
	RuntimeVersionArn *string `json:"RuntimeVersionArn,omitempty"`
	FunctionArn       string  `json:"FunctionArn"`
}

func toRuntimeManagement(c *control.RuntimeManagementConfig) *runtimeManagementResponse {
	out := &runtimeManagementResponse{UpdateRuntimeOn: c.UpdateRuntimeOn, FunctionArn: c.FunctionARN}
	if c.RuntimeVersionARN != "" {
		out.RuntimeVersionArn = &c.RuntimeVersionARN
	}
	return out
}

func (s *Server) handleGetRuntimeManagementConfig(w http.ResponseWriter, r *http.Request) {
	c, err := s.service.GetRuntimeManagementConfig(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRuntimeManagement(c))
}

func (s *Server) handlePutRuntimeManagementConfig(w http.ResponseWriter, r *http.Request) {
	var req runtimeManagementRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.service.PutRuntimeManagementConfig(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"), req.UpdateRuntimeOn, req.RuntimeVersionArn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRuntimeManagement(c))
}

// provisionedConcurrency is Get and PutProvisionedConcurrencyConfig's
// answer and, with FunctionArn, an item of ListProvisionedConcurrencyConfigs.
type provisionedConcurrency struct {
	FunctionArn                              string `json:"FunctionArn,omitempty"`
	AllocatedProvisionedConcurrentExecutions int    `json:"AllocatedProvisionedConcurrentExecutions"`
	AvailableProvisionedConcurrentExecutions int    `json:"AvailableProvisionedConcurrentExecutions"`
	LastModified                             string `json:"LastModified"`
	RequestedProvisionedConcurrentExecutions int    `json:"RequestedProvisionedConcurrentExecutions"`
	Status                                   string `json:"Status"`
	StatusReason                             string `json:"StatusReason,omitempty"`
}

func toProvisioned(c *control.ProvisionedConcurrencyConfig, withARN bool) *provisionedConcurrency {
	out := &provisionedConcurrency{
		AllocatedProvisionedConcurrentExecutions: c.Allocated, AvailableProvisionedConcurrentExecutions: c.Available,
		LastModified: c.LastModified.UTC().Format(timeLayout), RequestedProvisionedConcurrentExecutions: c.Requested,
		Status: c.Status, StatusReason: c.StatusReason,
	}
	if withARN {
		out.FunctionArn = c.FunctionARN
	}
	return out
}

func (s *Server) handlePutProvisionedConcurrencyConfig(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ProvisionedConcurrentExecutions *int `json:"ProvisionedConcurrentExecutions"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.service.PutProvisionedConcurrencyConfig(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"), req.ProvisionedConcurrentExecutions)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toProvisioned(c, false))
}

func (s *Server) handleGetProvisionedConcurrencyConfig(w http.ResponseWriter, r *http.Request) {
	c, err := s.service.GetProvisionedConcurrencyConfig(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toProvisioned(c, false))
}

func (s *Server) handleDeleteProvisionedConcurrencyConfig(w http.ResponseWriter, r *http.Request) {
	if err := s.service.DeleteProvisionedConcurrencyConfig(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListProvisionedConcurrencyConfigs(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListProvisionedConcurrencyConfigs(r.Context(), r.PathValue("FunctionName"), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := struct {
		ProvisionedConcurrencyConfigs []*provisionedConcurrency `json:"ProvisionedConcurrencyConfigs"`
		NextMarker                    string                    `json:"NextMarker,omitempty"`
	}{ProvisionedConcurrencyConfigs: []*provisionedConcurrency{}, NextMarker: out.NextMarker}
	for _, c := range out.Configs {
		resp.ProvisionedConcurrencyConfigs = append(resp.ProvisionedConcurrencyConfigs, toProvisioned(c, true))
	}
	writeJSON(w, http.StatusOK, resp)
}

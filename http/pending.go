package http

// Handlers of the operations whose resources lambdahost does not keep yet
// (see control/pending.go): each decodes its request as the model shapes
// it and answers what AWS answers for a function without that resource.
// Their routes are the marked block of routes.go. An issue that makes a
// resource real deletes its handlers here.

import (
	"encoding/json"
	"net/http"

	"github.com/lambdahost/lambdahost"
)

// pendingRoutes registers the operations of control/pending.go.
func (s *Server) pendingRoutes() {
	// Scaling configs.
	s.handle("GET /2025-11-30/functions/{FunctionName}/function-scaling-config", "GetFunctionScalingConfig", s.authed(s.handleGetFunctionScalingConfig))
	s.handle("PUT /2025-11-30/functions/{FunctionName}/function-scaling-config", "PutFunctionScalingConfig", s.authed(s.handlePutFunctionScalingConfig))
	// Capacity providers (Lambda Managed Instances).
	s.handle("POST /2025-11-30/capacity-providers", "CreateCapacityProvider", s.authed(s.handleCreateCapacityProvider))
	s.handle("GET /2025-11-30/capacity-providers", "ListCapacityProviders", s.authed(s.handleListCapacityProviders))
	s.handle("GET /2025-11-30/capacity-providers/{CapacityProviderName}", "GetCapacityProvider", s.authed(s.handleCapacityProvider))
	s.handle("PUT /2025-11-30/capacity-providers/{CapacityProviderName}", "UpdateCapacityProvider", s.authed(s.handleCapacityProvider))
	s.handle("DELETE /2025-11-30/capacity-providers/{CapacityProviderName}", "DeleteCapacityProvider", s.authed(s.handleCapacityProvider))
	s.handle("GET /2025-11-30/capacity-providers/{CapacityProviderName}/function-versions", "ListFunctionVersionsByCapacityProvider", s.authed(s.handleCapacityProvider))
	// Durable executions.
	s.handle("GET /2025-12-01/durable-executions/{DurableExecutionArn}", "GetDurableExecution", s.authed(s.handleDurableExecution))
	s.handle("GET /2025-12-01/durable-executions/{DurableExecutionArn}/history", "GetDurableExecutionHistory", s.authed(s.handleDurableExecution))
	s.handle("GET /2025-12-01/durable-executions/{DurableExecutionArn}/state", "GetDurableExecutionState", s.authed(s.handleDurableExecution))
	s.handle("POST /2025-12-01/durable-executions/{DurableExecutionArn}/checkpoint", "CheckpointDurableExecution", s.authed(s.handleDurableExecution))
	s.handle("POST /2025-12-01/durable-executions/{DurableExecutionArn}/stop", "StopDurableExecution", s.authed(s.handleDurableExecution))
	s.handle("GET /2025-12-01/functions/{FunctionName}/durable-executions", "ListDurableExecutionsByFunction", s.authed(s.handleListDurableExecutionsByFunction))
	s.handle("POST /2025-12-01/durable-execution-callbacks/{CallbackId}/succeed", "SendDurableExecutionCallbackSuccess", s.authed(s.handleDurableExecutionCallback))
	s.handle("POST /2025-12-01/durable-execution-callbacks/{CallbackId}/fail", "SendDurableExecutionCallbackFailure", s.authed(s.handleDurableExecutionCallback))
	s.handle("POST /2025-12-01/durable-execution-callbacks/{CallbackId}/heartbeat", "SendDurableExecutionCallbackHeartbeat", s.authed(s.handleDurableExecutionCallback))
}

// answer writes err, or on success status with body (none if nil).
func (s *Server) answer(w http.ResponseWriter, r *http.Request, err error, status int, body any) {
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case body == nil:
		w.WriteHeader(status)
	default:
		writeJSON(w, status, body)
	}
}

// decoded decodes r's body into v, answering the error if it fails.
func (s *Server) decoded(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeJSON(r, v); err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

func qualifierOf(r *http.Request) string { return r.URL.Query().Get("Qualifier") }

// errNoAnswer stands for a success that a pending operation never gives.
func errNoAnswer(op string) error {
	return lambdahost.Errorf(lambdahost.ServiceException, "%s answered nothing.", op)
}

// orNoAnswer is err, or for a pending operation that unexpectedly
// succeeded, a ServiceException: it has nothing to answer with.
func orNoAnswer(err error, op string) error {
	if err == nil {
		return errNoAnswer(op)
	}
	return err
}

// ---- Scaling configs ----

type functionScalingConfig struct {
	FunctionArn string `json:"FunctionArn"`
}

func (s *Server) handleGetFunctionScalingConfig(w http.ResponseWriter, r *http.Request) {
	arn, err := s.service.GetFunctionScalingConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r))
	s.answer(w, r, err, http.StatusOK, &functionScalingConfig{FunctionArn: arn})
}

func (s *Server) handlePutFunctionScalingConfig(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if !s.decoded(w, r, &body) {
		return
	}
	err := s.service.PutFunctionScalingConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r))
	s.answer(w, r, orNoAnswer(err, "PutFunctionScalingConfig"), 0, nil)
}

// ---- Capacity providers ----

type createCapacityProviderRequest struct {
	CapacityProviderName *string `json:"CapacityProviderName"`
}

func (s *Server) handleCreateCapacityProvider(w http.ResponseWriter, r *http.Request) {
	var req createCapacityProviderRequest
	if !s.decoded(w, r, &req) {
		return
	}
	err := s.service.CreateCapacityProvider(r.Context(), req.CapacityProviderName)
	s.answer(w, r, orNoAnswer(err, "CreateCapacityProvider"), 0, nil)
}

func (s *Server) handleCapacityProvider(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if !s.decoded(w, r, &body) {
		return
	}
	err := s.service.CapacityProvider(r.Context(), r.PathValue("CapacityProviderName"))
	s.answer(w, r, orNoAnswer(err, operationOf(r)), 0, nil)
}

type listCapacityProvidersResponse struct {
	CapacityProviders []struct{} `json:"CapacityProviders"`
}

func (s *Server) handleListCapacityProviders(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err == nil {
		err = s.service.ListCapacityProviders(r.Context(), optionalQuery(r, "State"), li)
	}
	s.answer(w, r, err, http.StatusOK, &listCapacityProvidersResponse{CapacityProviders: []struct{}{}})
}

// ---- Durable executions ----

func (s *Server) handleDurableExecution(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if !s.decoded(w, r, &body) {
		return
	}
	op := operationOf(r)
	withNotFound := op != "GetDurableExecutionState" && op != "CheckpointDurableExecution"
	err := s.service.DurableExecution(r.Context(), r.PathValue("DurableExecutionArn"), withNotFound)
	s.answer(w, r, orNoAnswer(err, op), 0, nil)
}

func (s *Server) handleDurableExecutionCallback(w http.ResponseWriter, r *http.Request) {
	err := s.service.DurableExecutionCallback(r.Context(), r.PathValue("CallbackId"))
	s.answer(w, r, orNoAnswer(err, operationOf(r)), 0, nil)
}

type listDurableExecutionsResponse struct {
	DurableExecutions []struct{} `json:"DurableExecutions"`
}

func (s *Server) handleListDurableExecutionsByFunction(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err == nil {
		err = s.service.ListDurableExecutionsByFunction(r.Context(), r.PathValue("FunctionName"), qualifierOf(r), li)
	}
	s.answer(w, r, err, http.StatusOK, &listDurableExecutionsResponse{DurableExecutions: []struct{}{}})
}

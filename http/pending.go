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
	"github.com/lambdahost/lambdahost/control"
)

// pendingRoutes registers the operations of control/pending.go.
func (s *Server) pendingRoutes() {
	// Event invoke configs.
	s.handle("PUT /2019-09-25/functions/{FunctionName}/event-invoke-config", "PutFunctionEventInvokeConfig", s.authed(s.handlePutFunctionEventInvokeConfig))
	s.handle("POST /2019-09-25/functions/{FunctionName}/event-invoke-config", "UpdateFunctionEventInvokeConfig", s.authed(s.handleUpdateFunctionEventInvokeConfig))
	s.handle("GET /2019-09-25/functions/{FunctionName}/event-invoke-config", "GetFunctionEventInvokeConfig", s.authed(s.handleGetFunctionEventInvokeConfig))
	s.handle("DELETE /2019-09-25/functions/{FunctionName}/event-invoke-config", "DeleteFunctionEventInvokeConfig", s.authed(s.handleDeleteFunctionEventInvokeConfig))
	s.handle("GET /2019-09-25/functions/{FunctionName}/event-invoke-config/list", "ListFunctionEventInvokeConfigs", s.authed(s.handleListFunctionEventInvokeConfigs))
	// Event source mappings.
	s.handle("POST /2015-03-31/event-source-mappings", "CreateEventSourceMapping", s.authed(s.handleCreateEventSourceMapping))
	s.handle("GET /2015-03-31/event-source-mappings", "ListEventSourceMappings", s.authed(s.handleListEventSourceMappings))
	s.handle("GET /2015-03-31/event-source-mappings/{UUID}", "GetEventSourceMapping", s.authed(s.handleEventSourceMapping))
	s.handle("PUT /2015-03-31/event-source-mappings/{UUID}", "UpdateEventSourceMapping", s.authed(s.handleEventSourceMapping))
	s.handle("DELETE /2015-03-31/event-source-mappings/{UUID}", "DeleteEventSourceMapping", s.authed(s.handleEventSourceMapping))
	// Provisioned concurrency.
	s.handle("PUT /2019-09-30/functions/{FunctionName}/provisioned-concurrency", "PutProvisionedConcurrencyConfig", s.authed(s.handlePutProvisionedConcurrencyConfig))
	s.handle("GET /2019-09-30/functions/{FunctionName}/provisioned-concurrency", "GetProvisionedConcurrencyConfig", s.authed(s.handleGetProvisionedConcurrencyConfig),
		variant{"List", "ALL", "ListProvisionedConcurrencyConfigs", s.authed(s.handleListProvisionedConcurrencyConfigs)})
	s.handle("DELETE /2019-09-30/functions/{FunctionName}/provisioned-concurrency", "DeleteProvisionedConcurrencyConfig", s.authed(s.handleDeleteProvisionedConcurrencyConfig))
	// Recursion, runtime management and scaling configs.
	s.handle("GET /2024-08-31/functions/{FunctionName}/recursion-config", "GetFunctionRecursionConfig", s.authed(s.handleGetFunctionRecursionConfig))
	s.handle("PUT /2024-08-31/functions/{FunctionName}/recursion-config", "PutFunctionRecursionConfig", s.authed(s.handlePutFunctionRecursionConfig))
	s.handle("GET /2021-07-20/functions/{FunctionName}/runtime-management-config", "GetRuntimeManagementConfig", s.authed(s.handleGetRuntimeManagementConfig))
	s.handle("PUT /2021-07-20/functions/{FunctionName}/runtime-management-config", "PutRuntimeManagementConfig", s.authed(s.handlePutRuntimeManagementConfig))
	s.handle("GET /2025-11-30/functions/{FunctionName}/function-scaling-config", "GetFunctionScalingConfig", s.authed(s.handleGetFunctionScalingConfig))
	s.handle("PUT /2025-11-30/functions/{FunctionName}/function-scaling-config", "PutFunctionScalingConfig", s.authed(s.handlePutFunctionScalingConfig))
	// InvokeAsync (deprecated).
	s.handle("POST /2014-11-13/functions/{FunctionName}/invoke-async", "InvokeAsync", s.authed(s.handleInvokeAsync))
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

// ---- Event invoke configs ----

type eventInvokeConfigRequest struct {
	MaximumRetryAttempts     *int            `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int            `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        json.RawMessage `json:"DestinationConfig"`
}

func (req *eventInvokeConfigRequest) input() *control.EventInvokeConfigInput {
	return &control.EventInvokeConfigInput{
		MaximumRetryAttempts: req.MaximumRetryAttempts, MaximumEventAgeInSeconds: req.MaximumEventAgeInSeconds,
		HasDestinationConfig: len(req.DestinationConfig) > 0 && string(req.DestinationConfig) != "null",
	}
}

func (s *Server) handlePutFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request) {
	var req eventInvokeConfigRequest
	if !s.decoded(w, r, &req) {
		return
	}
	err := s.service.PutFunctionEventInvokeConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r), req.input())
	s.answer(w, r, orNoAnswer(err, "PutFunctionEventInvokeConfig"), 0, nil)
}

func (s *Server) handleUpdateFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request) {
	var req eventInvokeConfigRequest
	if !s.decoded(w, r, &req) {
		return
	}
	err := s.service.UpdateFunctionEventInvokeConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r), req.input())
	s.answer(w, r, orNoAnswer(err, "UpdateFunctionEventInvokeConfig"), 0, nil)
}

func (s *Server) handleGetFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request) {
	err := s.service.GetFunctionEventInvokeConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r))
	s.answer(w, r, orNoAnswer(err, "GetFunctionEventInvokeConfig"), 0, nil)
}

func (s *Server) handleDeleteFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request) {
	err := s.service.DeleteFunctionEventInvokeConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r))
	s.answer(w, r, orNoAnswer(err, "DeleteFunctionEventInvokeConfig"), 0, nil)
}

type listEventInvokeConfigsResponse struct {
	FunctionEventInvokeConfigs []struct{} `json:"FunctionEventInvokeConfigs"`
}

func (s *Server) handleListFunctionEventInvokeConfigs(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err == nil {
		err = s.service.ListFunctionEventInvokeConfigs(r.Context(), r.PathValue("FunctionName"), li)
	}
	s.answer(w, r, err, http.StatusOK, &listEventInvokeConfigsResponse{FunctionEventInvokeConfigs: []struct{}{}})
}

// ---- Event source mappings ----

type createEventSourceMappingRequest struct {
	FunctionName   *string `json:"FunctionName"`
	EventSourceArn *string `json:"EventSourceArn"`
}

func (s *Server) handleCreateEventSourceMapping(w http.ResponseWriter, r *http.Request) {
	var req createEventSourceMappingRequest
	if !s.decoded(w, r, &req) {
		return
	}
	err := s.service.CreateEventSourceMapping(r.Context(), req.FunctionName, req.EventSourceArn)
	s.answer(w, r, orNoAnswer(err, "CreateEventSourceMapping"), 0, nil)
}

func (s *Server) handleEventSourceMapping(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if !s.decoded(w, r, &body) {
		return
	}
	err := s.service.EventSourceMapping(r.Context(), r.PathValue("UUID"))
	s.answer(w, r, orNoAnswer(err, operationOf(r)), 0, nil)
}

type listEventSourceMappingsResponse struct {
	EventSourceMappings []struct{} `json:"EventSourceMappings"`
}

func (s *Server) handleListEventSourceMappings(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err == nil {
		err = s.service.ListEventSourceMappings(r.Context(), optionalQuery(r, "FunctionName"), optionalQuery(r, "EventSourceArn"), li)
	}
	s.answer(w, r, err, http.StatusOK, &listEventSourceMappingsResponse{EventSourceMappings: []struct{}{}})
}

// ---- Provisioned concurrency ----

type putProvisionedConcurrencyRequest struct {
	ProvisionedConcurrentExecutions *int `json:"ProvisionedConcurrentExecutions"`
}

func (s *Server) handlePutProvisionedConcurrencyConfig(w http.ResponseWriter, r *http.Request) {
	var req putProvisionedConcurrencyRequest
	if !s.decoded(w, r, &req) {
		return
	}
	err := s.service.PutProvisionedConcurrencyConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r), req.ProvisionedConcurrentExecutions)
	s.answer(w, r, orNoAnswer(err, "PutProvisionedConcurrencyConfig"), 0, nil)
}

type listProvisionedConcurrencyResponse struct {
	ProvisionedConcurrencyConfigs []struct{} `json:"ProvisionedConcurrencyConfigs"`
}

func (s *Server) handleListProvisionedConcurrencyConfigs(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err == nil {
		err = s.service.ListProvisionedConcurrencyConfigs(r.Context(), r.PathValue("FunctionName"), li)
	}
	s.answer(w, r, err, http.StatusOK, &listProvisionedConcurrencyResponse{ProvisionedConcurrencyConfigs: []struct{}{}})
}

func (s *Server) handleGetProvisionedConcurrencyConfig(w http.ResponseWriter, r *http.Request) {
	err := s.service.GetProvisionedConcurrencyConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r))
	s.answer(w, r, orNoAnswer(err, "GetProvisionedConcurrencyConfig"), 0, nil)
}

func (s *Server) handleDeleteProvisionedConcurrencyConfig(w http.ResponseWriter, r *http.Request) {
	err := s.service.DeleteProvisionedConcurrencyConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r))
	s.answer(w, r, err, http.StatusNoContent, nil)
}

// ---- Recursion, runtime management and scaling configs ----

type recursionConfig struct {
	RecursiveLoop *string `json:"RecursiveLoop"`
}

func (s *Server) handleGetFunctionRecursionConfig(w http.ResponseWriter, r *http.Request) {
	loop, err := s.service.GetFunctionRecursionConfig(r.Context(), r.PathValue("FunctionName"))
	s.answer(w, r, err, http.StatusOK, &recursionConfig{RecursiveLoop: &loop})
}

func (s *Server) handlePutFunctionRecursionConfig(w http.ResponseWriter, r *http.Request) {
	var req recursionConfig
	if !s.decoded(w, r, &req) {
		return
	}
	loop, err := s.service.PutFunctionRecursionConfig(r.Context(), r.PathValue("FunctionName"), req.RecursiveLoop)
	s.answer(w, r, err, http.StatusOK, &recursionConfig{RecursiveLoop: &loop})
}

type runtimeManagementConfig struct {
	UpdateRuntimeOn   string `json:"UpdateRuntimeOn"`
	RuntimeVersionArn string `json:"RuntimeVersionArn,omitempty"`
	FunctionArn       string `json:"FunctionArn"`
}

func (s *Server) handleGetRuntimeManagementConfig(w http.ResponseWriter, r *http.Request) {
	mode, arn, err := s.service.GetRuntimeManagementConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r))
	s.answer(w, r, err, http.StatusOK, &runtimeManagementConfig{UpdateRuntimeOn: mode, FunctionArn: arn})
}

type putRuntimeManagementRequest struct {
	UpdateRuntimeOn   *string `json:"UpdateRuntimeOn"`
	RuntimeVersionArn *string `json:"RuntimeVersionArn"`
}

func (s *Server) handlePutRuntimeManagementConfig(w http.ResponseWriter, r *http.Request) {
	var req putRuntimeManagementRequest
	if !s.decoded(w, r, &req) {
		return
	}
	arn, err := s.service.PutRuntimeManagementConfig(r.Context(), r.PathValue("FunctionName"), qualifierOf(r), req.UpdateRuntimeOn, req.RuntimeVersionArn)
	s.answer(w, r, err, http.StatusOK, &runtimeManagementConfig{UpdateRuntimeOn: control.UpdateRuntimeOnAuto, FunctionArn: arn})
}

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

// ---- InvokeAsync ----

func (s *Server) handleInvokeAsync(w http.ResponseWriter, r *http.Request) {
	err := s.service.InvokeAsync(r.Context(), r.PathValue("FunctionName"))
	s.answer(w, r, orNoAnswer(err, "InvokeAsync"), 0, nil)
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

package http

import (
	"net/http"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
)

// operationOf returns the AWS operation name of the route r matched.
func operationOf(r *http.Request) string { return awsapi.Operation(r) }

// catchAll is the pattern of requests that are no Lambda operation.
const catchAll = "/"

// routes registers every operation, named as AWS names it.
func (s *Server) routes() {
	s.handle("POST /2015-03-31/functions", "CreateFunction", s.streamed(s.handleCreateFunction))
	s.handle("GET /2015-03-31/functions", "ListFunctions", s.authed(s.handleListFunctions))
	s.handle("GET /2015-03-31/functions/{FunctionName}", "GetFunction", s.authed(s.handleGetFunction))
	s.handle("DELETE /2015-03-31/functions/{FunctionName}", "DeleteFunction", s.authed(s.handleDeleteFunction))
	s.handle("GET /2015-03-31/functions/{FunctionName}/configuration", "GetFunctionConfiguration", s.authed(s.handleGetFunctionConfiguration))
	s.handle("PUT /2015-03-31/functions/{FunctionName}/configuration", "UpdateFunctionConfiguration", s.authed(s.handleUpdateFunctionConfiguration))
	s.handle("PUT /2015-03-31/functions/{FunctionName}/code", "UpdateFunctionCode", s.streamed(s.handleUpdateFunctionCode))
	s.handle("POST /2015-03-31/functions/{FunctionName}/versions", "PublishVersion", s.authed(s.handlePublishVersion))
	s.handle("GET /2015-03-31/functions/{FunctionName}/versions", "ListVersionsByFunction", s.authed(s.handleListVersionsByFunction))
	s.handle("POST /2015-03-31/functions/{FunctionName}/aliases", "CreateAlias", s.authed(s.handleCreateAlias))
	s.handle("GET /2015-03-31/functions/{FunctionName}/aliases", "ListAliases", s.authed(s.handleListAliases))
	s.handle("GET /2015-03-31/functions/{FunctionName}/aliases/{Name}", "GetAlias", s.authed(s.handleGetAlias))
	s.handle("PUT /2015-03-31/functions/{FunctionName}/aliases/{Name}", "UpdateAlias", s.authed(s.handleUpdateAlias))
	s.handle("DELETE /2015-03-31/functions/{FunctionName}/aliases/{Name}", "DeleteAlias", s.authed(s.handleDeleteAlias))
	s.handle("POST /2017-03-31/tags/{Resource}", "TagResource", s.authed(s.handleTagResource))
	s.handle("DELETE /2017-03-31/tags/{Resource}", "UntagResource", s.authed(s.handleUntagResource))
	s.handle("GET /2017-03-31/tags/{Resource}", "ListTags", s.authed(s.handleListTags))
	s.handle("POST /2015-03-31/functions/{FunctionName}/invocations", "Invoke", s.authed(s.handleInvoke))
	s.handle("POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations", "InvokeWithResponseStream", s.authed(s.handleInvokeWithResponseStream))
	s.handle("GET /2016-08-19/account-settings", "GetAccountSettings", s.authed(s.handleGetAccountSettings))
	s.handle("PUT /2017-10-31/functions/{FunctionName}/concurrency", "PutFunctionConcurrency", s.authed(s.handlePutFunctionConcurrency))
	s.handle("GET /2019-09-30/functions/{FunctionName}/concurrency", "GetFunctionConcurrency", s.authed(s.handleGetFunctionConcurrency))
	s.handle("DELETE /2017-10-31/functions/{FunctionName}/concurrency", "DeleteFunctionConcurrency", s.authed(s.handleDeleteFunctionConcurrency))
	// Resource-based policies (policy.go) and function URL configs
	// (url.go); a URL's own traffic is served by urlserve.go.
	s.handle("POST /2015-03-31/functions/{FunctionName}/policy", "AddPermission", s.authed(s.handleAddPermission))
	s.handle("GET /2015-03-31/functions/{FunctionName}/policy", "GetPolicy", s.authed(s.handleGetPolicy))
	s.handle("DELETE /2015-03-31/functions/{FunctionName}/policy/{StatementId}", "RemovePermission", s.authed(s.handleRemovePermission))
	s.handle("POST /2021-10-31/functions/{FunctionName}/url", "CreateFunctionUrlConfig", s.authed(s.handleCreateFunctionUrlConfig))
	s.handle("GET /2021-10-31/functions/{FunctionName}/url", "GetFunctionUrlConfig", s.authed(s.handleGetFunctionUrlConfig))
	s.handle("PUT /2021-10-31/functions/{FunctionName}/url", "UpdateFunctionUrlConfig", s.authed(s.handleUpdateFunctionUrlConfig))
	s.handle("DELETE /2021-10-31/functions/{FunctionName}/url", "DeleteFunctionUrlConfig", s.authed(s.handleDeleteFunctionUrlConfig))
	s.handle("GET /2021-10-31/functions/{FunctionName}/urls", "ListFunctionUrlConfigs", s.authed(s.handleListFunctionUrlConfigs))
	s.handle("POST /2020-04-22/code-signing-configs", "CreateCodeSigningConfig", s.authed(s.handleCreateCodeSigningConfig))
	s.handle("GET /2020-04-22/code-signing-configs", "ListCodeSigningConfigs", s.authed(s.handleListCodeSigningConfigs))
	s.handle("GET /2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "GetCodeSigningConfig", s.authed(s.handleGetCodeSigningConfig))
	s.handle("PUT /2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "UpdateCodeSigningConfig", s.authed(s.handleUpdateCodeSigningConfig))
	s.handle("DELETE /2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "DeleteCodeSigningConfig", s.authed(s.handleDeleteCodeSigningConfig))
	s.handle("GET /2020-04-22/code-signing-configs/{CodeSigningConfigArn}/functions", "ListFunctionsByCodeSigningConfig", s.authed(s.handleListFunctionsByCodeSigningConfig))
	s.handle("PUT /2020-06-30/functions/{FunctionName}/code-signing-config", "PutFunctionCodeSigningConfig", s.authed(s.handlePutFunctionCodeSigningConfig))
	s.handle("GET /2020-06-30/functions/{FunctionName}/code-signing-config", "GetFunctionCodeSigningConfig", s.authed(s.handleGetFunctionCodeSigningConfig))
	s.handle("DELETE /2020-06-30/functions/{FunctionName}/code-signing-config", "DeleteFunctionCodeSigningConfig", s.authed(s.handleDeleteFunctionCodeSigningConfig))
	s.handle("PUT /2019-09-25/functions/{FunctionName}/event-invoke-config", "PutFunctionEventInvokeConfig", s.authed(s.handlePutFunctionEventInvokeConfig))
	s.handle("POST /2019-09-25/functions/{FunctionName}/event-invoke-config", "UpdateFunctionEventInvokeConfig", s.authed(s.handleUpdateFunctionEventInvokeConfig))
	s.handle("GET /2019-09-25/functions/{FunctionName}/event-invoke-config", "GetFunctionEventInvokeConfig", s.authed(s.handleGetFunctionEventInvokeConfig))
	s.handle("DELETE /2019-09-25/functions/{FunctionName}/event-invoke-config", "DeleteFunctionEventInvokeConfig", s.authed(s.handleDeleteFunctionEventInvokeConfig))
	s.handle("GET /2019-09-25/functions/{FunctionName}/event-invoke-config/list", "ListFunctionEventInvokeConfigs", s.authed(s.handleListFunctionEventInvokeConfigs))
	s.handle("POST /2014-11-13/functions/{FunctionName}/invoke-async/{$}", "InvokeAsync", s.authed(s.handleInvokeAsync))
	s.handle("POST /2014-11-13/functions/{FunctionName}/invoke-async", "InvokeAsync", s.authed(s.handleInvokeAsync))
	s.handle("GET /2024-08-31/functions/{FunctionName}/recursion-config", "GetFunctionRecursionConfig", s.authed(s.handleGetFunctionRecursionConfig))
	s.handle("PUT /2024-08-31/functions/{FunctionName}/recursion-config", "PutFunctionRecursionConfig", s.authed(s.handlePutFunctionRecursionConfig))
	s.handle("GET /2021-07-20/functions/{FunctionName}/runtime-management-config", "GetRuntimeManagementConfig", s.authed(s.handleGetRuntimeManagementConfig))
	s.handle("PUT /2021-07-20/functions/{FunctionName}/runtime-management-config", "PutRuntimeManagementConfig", s.authed(s.handlePutRuntimeManagementConfig))
	s.handle("PUT /2019-09-30/functions/{FunctionName}/provisioned-concurrency", "PutProvisionedConcurrencyConfig", s.authed(s.handlePutProvisionedConcurrencyConfig))
	s.handle("GET /2019-09-30/functions/{FunctionName}/provisioned-concurrency", "GetProvisionedConcurrencyConfig", s.authed(s.handleGetProvisionedConcurrencyConfig),
		variant{"List", "ALL", "ListProvisionedConcurrencyConfigs", s.authed(s.handleListProvisionedConcurrencyConfigs)})
	s.handle("DELETE /2019-09-30/functions/{FunctionName}/provisioned-concurrency", "DeleteProvisionedConcurrencyConfig", s.authed(s.handleDeleteProvisionedConcurrencyConfig))
	s.handle("POST /2015-03-31/event-source-mappings", "CreateEventSourceMapping", s.authed(s.handleCreateEventSourceMapping))
	s.handle("POST /2015-03-31/event-source-mappings/{$}", "CreateEventSourceMapping", s.authed(s.handleCreateEventSourceMapping))
	s.handle("GET /2015-03-31/event-source-mappings", "ListEventSourceMappings", s.authed(s.handleListEventSourceMappings))
	s.handle("GET /2015-03-31/event-source-mappings/{$}", "ListEventSourceMappings", s.authed(s.handleListEventSourceMappings))
	s.handle("GET /2015-03-31/event-source-mappings/{UUID}", "GetEventSourceMapping", s.authed(s.handleGetEventSourceMapping))
	s.handle("PUT /2015-03-31/event-source-mappings/{UUID}", "UpdateEventSourceMapping", s.authed(s.handleUpdateEventSourceMapping))
	s.handle("DELETE /2015-03-31/event-source-mappings/{UUID}", "DeleteEventSourceMapping", s.authed(s.handleDeleteEventSourceMapping))
	// Layers. GET /2018-10-31/layers is ListLayers, or GetLayerVersionByArn
	// with ?find=LayerVersion.
	s.handle("POST /2018-10-31/layers/{LayerName}/versions", "PublishLayerVersion", s.streamed(s.handlePublishLayerVersion))
	s.handle("GET /2018-10-31/layers/{LayerName}/versions", "ListLayerVersions", s.authed(s.handleListLayerVersions))
	s.handle("GET /2018-10-31/layers/{LayerName}/versions/{VersionNumber}", "GetLayerVersion", s.authed(s.handleGetLayerVersion))
	s.handle("DELETE /2018-10-31/layers/{LayerName}/versions/{VersionNumber}", "DeleteLayerVersion", s.authed(s.handleDeleteLayerVersion))
	s.handle("GET /2018-10-31/layers", "ListLayers", s.authed(s.handleListLayers),
		variant{"find", "LayerVersion", "GetLayerVersionByArn", s.authed(s.handleGetLayerVersionByArn)})
	s.handle("POST /2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy", "AddLayerVersionPermission", s.authed(s.handleAddLayerVersionPermission))
	s.handle("GET /2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy", "GetLayerVersionPolicy", s.authed(s.handleGetLayerVersionPolicy))
	s.handle("DELETE /2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}", "RemoveLayerVersionPermission", s.authed(s.handleRemoveLayerVersionPermission))
	// ---- Pending operations: BEGIN ----
	// The operations whose resources lambdahost does not keep yet answer
	// as AWS does for a function without them (control/pending.go,
	// http/pending.go). An issue that implements one moves its route
	// above this block and deletes it from pendingRoutes.
	s.pendingRoutes()
	// ---- Pending operations: END ----
	// Code download URLs answered by GetFunction: authorized by their own signature.
	s.handle("GET "+codePath+"{Digest}", "GetCode", s.handleGetCode)
	s.handle(catchAll, "", s.handleUnknown)
}

// variant is an operation served on the route of another when the
// request's query has key=value, as the model's request URIs put it
// ("/2018-10-31/layers?find=LayerVersion").
type variant struct {
	key, value, op string
	h              http.HandlerFunc
}

// route is what serves a pattern: op, or one of its variants.
type route struct {
	op       string
	h        http.HandlerFunc
	variants []variant
}

// pick returns the operation and handler that serve r.
func (rt *route) pick(r *http.Request) (string, http.HandlerFunc) {
	q := r.URL.Query()
	for _, v := range rt.variants {
		if q.Get(v.key) == v.value {
			return v.op, v.h
		}
	}
	return rt.op, rt.h
}

// handle registers operation op (and its variants) on pattern.
func (s *Server) handle(pattern, op string, h http.HandlerFunc, variants ...variant) {
	rt := &route{op: op, h: h, variants: variants}
	if s.routeByPattern == nil {
		s.routeByPattern = map[string]*route{}
	}
	s.routeByPattern[pattern] = rt
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		op, h := rt.pick(r)
		h(w, awsapi.WithOperation(r, op))
	})
}

// operationFor returns the name of the operation that serves r, "" for a
// request that names none.
func (s *Server) operationFor(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	rt, ok := s.routeByPattern[pattern]
	if !ok {
		return ""
	}
	op, _ := rt.pick(r)
	return op
}

// handleUnknown answers a path or method that is no operation. The
// signature is still checked first, so that nothing is told to strangers.
func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	s.authed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, lambdahost.Errorf(lambdahost.UnknownOperationException, "Unknown operation %s %s", r.Method, r.URL.EscapedPath()))
	})(w, r)
}

package http

import (
	"context"
	"net/http"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sigv4"
	"github.com/lambdahost/lambdahost/sts"
)

type operationKey struct{}

// operationOf returns the AWS operation name of the route r matched.
func operationOf(r *http.Request) string {
	op, _ := r.Context().Value(operationKey{}).(string)
	return op
}

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
	// AWS Signer's API subset, signed for the service "signer".
	s.handle("GET /signing-platforms", "ListSigningPlatforms", s.authedAs("signer", s.handleListSigningPlatforms))
	s.handle("GET /signing-platforms/{platformId}", "GetSigningPlatform", s.authedAs("signer", s.handleGetSigningPlatform))
	s.handle("GET /signing-profiles", "ListSigningProfiles", s.authedAs("signer", s.handleListSigningProfiles))
	s.handle("PUT /signing-profiles/{profileName}", "PutSigningProfile", s.authedAs("signer", s.handlePutSigningProfile))
	s.handle("GET /signing-profiles/{profileName}", "GetSigningProfile", s.authedAs("signer", s.handleGetSigningProfile))
	s.handle("DELETE /signing-profiles/{profileName}", "CancelSigningProfile", s.authedAs("signer", s.handleCancelSigningProfile))
	s.handle("PUT /signing-profiles/{profileName}/revoke", "RevokeSigningProfile", s.authedAs("signer", s.handleRevokeSigningProfile))
	s.handle("POST /signing-jobs", "StartSigningJob", s.authedAs("signer", s.handleStartSigningJob))
	s.handle("GET /signing-jobs", "ListSigningJobs", s.authedAs("signer", s.handleListSigningJobs))
	s.handle("GET /signing-jobs/{jobId}", "DescribeSigningJob", s.authedAs("signer", s.handleDescribeSigningJob))
	s.handle("PUT /signing-jobs/{jobId}/revoke", "RevokeSignature", s.authedAs("signer", s.handleRevokeSignature))
	// POST /, where the local key service (KMS's JSON 1.1 protocol,
	// dispatched on X-Amz-Target) and STS (the query protocol) meet.
	s.mux.HandleFunc("/{$}", s.handleRoot)
	s.handle("POST /2020-04-22/code-signing-configs", "CreateCodeSigningConfig", s.authed(s.handleCreateCodeSigningConfig))
	s.handle("GET /2020-04-22/code-signing-configs", "ListCodeSigningConfigs", s.authed(s.handleListCodeSigningConfigs))
	s.handle("GET /2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "GetCodeSigningConfig", s.authed(s.handleGetCodeSigningConfig))
	s.handle("PUT /2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "UpdateCodeSigningConfig", s.authed(s.handleUpdateCodeSigningConfig))
	s.handle("DELETE /2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "DeleteCodeSigningConfig", s.authed(s.handleDeleteCodeSigningConfig))
	s.handle("GET /2020-04-22/code-signing-configs/{CodeSigningConfigArn}/functions", "ListFunctionsByCodeSigningConfig", s.authed(s.handleListFunctionsByCodeSigningConfig))
	s.handle("PUT /2020-06-30/functions/{FunctionName}/code-signing-config", "PutFunctionCodeSigningConfig", s.authed(s.handlePutFunctionCodeSigningConfig))
	s.handle("GET /2020-06-30/functions/{FunctionName}/code-signing-config", "GetFunctionCodeSigningConfig", s.authed(s.handleGetFunctionCodeSigningConfig))
	s.handle("DELETE /2020-06-30/functions/{FunctionName}/code-signing-config", "DeleteFunctionCodeSigningConfig", s.authed(s.handleDeleteFunctionCodeSigningConfig))
	// Code download URLs answered by GetFunction: authorized by their own signature.
	s.handle("GET "+codePath+"{Digest}", "GetCode", s.handleGetCode)
	s.handle("/", "", s.handleUnknown)
}

func (s *Server) handle(pattern, op string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		h(w, r.WithContext(context.WithValue(r.Context(), operationKey{}, op)))
	})
}

// handleRoot routes a request for / by the service its signature is scoped
// to: "sts" to STS, any other POST to KMS.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	service, _, _ := sigv4.Scope(r)
	switch {
	case service == "sts":
		r = r.WithContext(context.WithValue(r.Context(), operationKey{}, "STS"))
		s.authedAs("sts", s.handleSTS)(w, r)
	case r.Method == http.MethodPost:
		r = r.WithContext(context.WithValue(r.Context(), operationKey{}, "KMS"))
		s.authedAs("kms", s.handleKMS)(w, r)
	default:
		s.handleUnknown(w, r)
	}
}

// handleSTS serves an STS query request.
func (s *Server) handleSTS(w http.ResponseWriter, r *http.Request) {
	if err := sts.Handle(w, r, bodyBytes(r)); err != nil {
		s.writeError(w, r, err)
	}
}

// handleUnknown answers a path or method that is no operation. The
// signature is still checked first, so that nothing is told to strangers.
func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	s.authed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, lambdahost.Errorf(lambdahost.UnknownOperationException, "Unknown operation %s %s", r.Method, r.URL.EscapedPath()))
	})(w, r)
}

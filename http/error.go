package http

import (
	"net/http"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
)

// capitalMessage lists the error types whose model shape spells the member
// "Message"; the others spell it "message". Clients read the one their model names.
var capitalMessage = map[lambdahost.ErrorType]bool{
	lambdahost.ResourceNotFoundException:          true,
	lambdahost.ServiceException:                   true,
	lambdahost.CodeSigningConfigNotFoundException: true,
	lambdahost.CodeVerificationFailedException:    true,
	lambdahost.InvalidCodeSignatureException:      true,
	lambdahost.InvalidRuntimeException:            true,
	lambdahost.InvalidZipFileException:            true,
	lambdahost.ResourceInUseException:             true,
	lambdahost.RecursiveInvocationException:       true,
}

// writeError is the one writer of the Lambda API's error responses,
// REST-JSON with Lambda's Type member. An *lambdahost.Error is answered
// as it says; anything else is a ServiceException whose cause is only
// logged. A request whose client went away gets nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	awsapi.RESTJSON{Logger: s.logger(), TypeMember: true, CapitalMessage: capitalMessage}.WriteError(w, r, err)
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) { awsapi.WriteJSON(w, status, v) }

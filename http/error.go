package http

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sts"
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
}

// authErrors are answered by AWS's front door, without a Type member.
var authErrors = map[lambdahost.ErrorType]bool{
	lambdahost.InvalidSignatureException:    true,
	lambdahost.UnrecognizedClientException:  true,
	lambdahost.MissingAuthenticationToken:   true,
	lambdahost.IncompleteSignatureException: true,
	lambdahost.ExpiredTokenException:        true,
}

// writeError is the one writer of error responses. An *lambdahost.Error is
// answered as it says; anything else is a ServiceException whose cause is
// only logged. A request whose client went away gets nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return
	}
	signer := signerOperations[operationOf(r)]
	var apiErr *lambdahost.Error
	if !errors.As(err, &apiErr) {
		apiErr = lambdahost.Errorf(lambdahost.ServiceException, "An internal error occurred.")
		apiErr.Err = err
	}
	if signer && apiErr.Type == lambdahost.ServiceException {
		// AWS Signer's internal error has its own name.
		e := *apiErr
		e.Type = lambdahost.InternalServiceErrorException
		apiErr = &e
	}
	status := apiErr.Status
	if status == 0 {
		status = apiErr.Type.Status()
	}
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String(lambdahost.LogKeyRequestID, lambdahost.RequestIDFrom(ctx)),
		slog.String("type", string(apiErr.Type)),
		slog.Int("status", status),
	}
	if apiErr.Err != nil {
		attrs = append(attrs, slog.String(lambdahost.LogKeyError, apiErr.Err.Error()))
	}
	s.logger().LogAttrs(ctx, level, "request failed: "+apiErr.Message, attrs...)

	if operationOf(r) == "STS" {
		// The query protocol answers in XML.
		sts.WriteError(w, lambdahost.RequestIDFrom(ctx), apiErr)
		return
	}

	body := map[string]string{}
	if apiErr.Reason != "" {
		body["Reason"] = apiErr.Reason
	}
	if apiErr.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(apiErr.RetryAfter))
	}
	key := "message"
	if capitalMessage[apiErr.Type] && !signer {
		key = "Message"
	}
	body[key] = apiErr.Message
	// AWS Signer's errors carry no Type member.
	if !authErrors[apiErr.Type] && !signer {
		body["Type"] = "User"
		if status >= 500 {
			body["Type"] = "Service"
		}
	}
	if json11(r) {
		// AWS JSON 1.1 (KMS): the type is the body's __type, every client
		// error is a 400.
		w.Header().Set("X-Amzn-Errortype", string(apiErr.Type))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if status < 500 {
			status = http.StatusBadRequest
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": string(apiErr.Type), "message": apiErr.Message})
		return
	}
	h := w.Header()
	h.Set("X-Amzn-Errortype", string(apiErr.Type))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Wire structs always marshal; this is a programming error.
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

package awsapi

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/lambdahost/lambdahost"
)

// internalMessage is what the caller is told of an error whose cause is
// only logged.
const internalMessage = "An internal error occurred."

// resolve is the part every error writer shares. It returns the API error
// to answer for err and its status, after logging it: 5xx at Error, the
// rest at Debug. An err that is no *lambdahost.Error becomes internal (of
// type ServiceException, with a generic message; the cause is only
// logged), and internal, if not empty, renames ServiceException: the name
// of the service's own internal error. ok is false if nothing is to be
// written: the client went away.
func resolve(logger *slog.Logger, w http.ResponseWriter, r *http.Request, err error, internal lambdahost.ErrorType) (apiErr *lambdahost.Error, status int, ok bool) {
	ctx := r.Context()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil, 0, false
	}
	if !errors.As(err, &apiErr) {
		apiErr = lambdahost.Errorf(lambdahost.ServiceException, internalMessage)
		apiErr.Err = err
	}
	if internal != "" && apiErr.Type == lambdahost.ServiceException {
		e := *apiErr
		e.Type = internal
		apiErr = &e
	}
	status = apiErr.Status
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
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, level, "request failed: "+apiErr.Message, attrs...)
	if apiErr.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(apiErr.RetryAfter))
	}
	return apiErr, status, true
}

// authErrors are answered by AWS's front door, before any service: in
// REST-JSON they carry no Type member.
var authErrors = map[lambdahost.ErrorType]bool{
	lambdahost.InvalidSignatureException:    true,
	lambdahost.UnrecognizedClientException:  true,
	lambdahost.MissingAuthenticationToken:   true,
	lambdahost.IncompleteSignatureException: true,
	lambdahost.ExpiredTokenException:        true,
}

// RESTJSON writes the errors of a REST-JSON service (Lambda, Signer):
// the status is the error type's, X-Amzn-Errortype names the type and the
// JSON body carries the message.
type RESTJSON struct {
	// Logger receives failed requests. If nil, slog.Default is used.
	Logger *slog.Logger
	// TypeMember adds Lambda's "Type" member, "User" or "Service", to every
	// error but the front door's authentication failures.
	TypeMember bool
	// CapitalMessage lists the error types whose model spells the message
	// member "Message"; the others spell it "message". Clients read the
	// one their model names.
	CapitalMessage map[lambdahost.ErrorType]bool
	// Internal is the type of the service's internal error. If empty,
	// ServiceException.
	Internal lambdahost.ErrorType
}

// WriteError answers err; see the package documentation.
func (p RESTJSON) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	apiErr, status, ok := resolve(p.Logger, w, r, err, p.Internal)
	if !ok {
		return
	}
	body := map[string]string{}
	if apiErr.Reason != "" {
		body["Reason"] = apiErr.Reason
	}
	key := "message"
	if p.CapitalMessage[apiErr.Type] {
		key = "Message"
	}
	body[key] = apiErr.Message
	if p.TypeMember && !authErrors[apiErr.Type] && !apiErr.NoType {
		body["Type"] = "User"
		if status >= 500 {
			body["Type"] = "Service"
		}
	}
	h := w.Header()
	h.Set("X-Amzn-Errortype", string(apiErr.Type))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// WriteJSON answers v as a REST-JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Wire structs always marshal; this is a programming error.
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// JSON11ContentType is the media type of AWS JSON 1.1 bodies.
const JSON11ContentType = "application/x-amz-json-1.1"

// JSON11 writes the errors of an AWS JSON 1.1 service (KMS, CloudWatch
// Logs): every client error is a 400, and the body's __type and the
// X-Amzn-Errortype header name the type.
type JSON11 struct {
	// Logger receives failed requests. If nil, slog.Default is used.
	Logger *slog.Logger
	// Internal is the type of the service's internal error. If empty,
	// ServiceException.
	Internal lambdahost.ErrorType
}

// WriteError answers err; see the package documentation.
func (p JSON11) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	apiErr, status, ok := resolve(p.Logger, w, r, err, p.Internal)
	if !ok {
		return
	}
	if status < 500 {
		status = http.StatusBadRequest
	}
	w.Header().Set("X-Amzn-Errortype", string(apiErr.Type))
	w.Header().Set("Content-Type", JSON11ContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": string(apiErr.Type), "message": apiErr.Message})
}

// WriteJSON11 answers v as a successful AWS JSON 1.1 response.
func WriteJSON11(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // wire structs always marshal
	}
	w.Header().Set("Content-Type", JSON11ContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// DecodeJSON11 decodes an AWS JSON 1.1 request body into v; an empty body
// is {}. A body that is not JSON of v's shape is a SerializationException.
func DecodeJSON11(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		e := lambdahost.Errorf(lambdahost.SerializationException, "Start of structure or map found where not expected.")
		e.Err = err
		return e
	}
	return nil
}

// QueryContentType is the media type of query protocol responses.
const QueryContentType = "text/xml"

// Query writes the errors of an AWS query protocol service (STS): an XML
// ErrorResponse whose Type is Sender for a client error and Receiver for a
// service error, with the request ID in the body.
type Query struct {
	// Logger receives failed requests. If nil, slog.Default is used.
	Logger *slog.Logger
	// Namespace is the XML namespace of the service's API version, such as
	// https://sts.amazonaws.com/doc/2011-06-15/.
	Namespace string
	// Internal is the type of the service's internal error. If empty,
	// ServiceException.
	Internal lambdahost.ErrorType
}

// queryError is the query protocol's ErrorResponse document.
type queryError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Namespace string   `xml:"xmlns,attr,omitempty"`
	Error     struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// WriteError answers err; see the package documentation.
func (p Query) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	apiErr, status, ok := resolve(p.Logger, w, r, err, p.Internal)
	if !ok {
		return
	}
	doc := queryError{Namespace: p.Namespace, RequestID: lambdahost.RequestIDFrom(r.Context())}
	doc.Error.Type = "Sender"
	if status >= 500 {
		doc.Error.Type = "Receiver"
	}
	doc.Error.Code, doc.Error.Message = string(apiErr.Type), apiErr.Message
	b, merr := xml.Marshal(doc)
	if merr != nil {
		panic(merr) // strings always marshal
	}
	w.Header().Set("Content-Type", QueryContentType)
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

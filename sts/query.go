package sts

import (
	"encoding/xml"
	"mime"
	"net/http"
	"net/url"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
)

// APIVersion is the version of the STS API, which every query request names.
const APIVersion = "2011-06-15"

// xmlNamespace is the namespace of STS's XML answers.
const xmlNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Request is an STS query request: its action and parameters.
type Request struct {
	Action  string
	Version string
	Params  url.Values
}

// ParseRequest reads the parameters of a query request: those of the URL
// and, for a form-encoded body (the SDKs' POST), those of body, which win.
// It returns an error of type MalformedQueryString for parameters that do
// not decode, and MissingAction or InvalidAction for a request that names no
// operation of this API version.
func ParseRequest(r *http.Request, body []byte) (*Request, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "MalformedQueryString", "The query string is malformed.")
	}
	if len(body) > 0 {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "" && ct != "application/x-www-form-urlencoded" {
			return nil, errorf(http.StatusBadRequest, "UnsupportedMediaType", "The request body must be form-encoded (application/x-www-form-urlencoded).")
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "MalformedQueryString", "The request body is not a well-formed form.")
		}
		for k, v := range form {
			params[k] = v
		}
	}
	req := &Request{Action: params.Get("Action"), Version: params.Get("Version"), Params: params}
	if req.Action == "" {
		return nil, errorf(http.StatusBadRequest, "MissingAction", "The request is missing an action or a required parameter.")
	}
	if req.Version != APIVersion || !actions[req.Action] {
		version := req.Version
		if version == "" {
			version = "NO_VERSION_SPECIFIED"
		}
		return nil, errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", req.Action, version)
	}
	return req, nil
}

// actions are the operations lambdahost serves.
var actions = map[string]bool{"GetCallerIdentity": true}

// errorf returns an API error of STS's, whose type is its code.
func errorf(status int, code, format string, args ...any) *lambdahost.Error {
	e := lambdahost.Errorf(lambdahost.ErrorType(code), format, args...)
	e.Status = status
	return e
}

// getCallerIdentityResponse is GetCallerIdentity's answer.
type getCallerIdentityResponse struct {
	XMLName  xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns    string   `xml:"xmlns,attr"`
	Arn      string   `xml:"GetCallerIdentityResult>Arn"`
	UserID   string   `xml:"GetCallerIdentityResult>UserId"`
	Account  string   `xml:"GetCallerIdentityResult>Account"`
	Metadata metadata `xml:"ResponseMetadata"`
}

type metadata struct {
	RequestID string `xml:"RequestId"`
}

// handle serves one STS query request whose signature has been verified:
// the caller is in r's context, body is the request's body. It writes the
// answer, or returns the error for the caller to write.
func handle(w http.ResponseWriter, r *http.Request, body []byte) error {
	req, err := ParseRequest(r, body)
	if err != nil {
		return err
	}
	caller, _ := lambdahost.CallerFrom(r.Context())
	switch req.Action {
	case "GetCallerIdentity":
		writeXML(w, http.StatusOK, &getCallerIdentityResponse{
			Xmlns: xmlNamespace, Arn: caller.PrincipalARN(), UserID: caller.PrincipalID(), Account: caller.Account,
			Metadata: metadata{RequestID: lambdahost.RequestIDFrom(r.Context())},
		})
	}
	return nil
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		// The documents are fixed structs of strings.
		panic(err)
	}
	w.Header().Set("Content-Type", awsapi.QueryContentType)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

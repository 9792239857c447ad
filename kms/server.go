package kms

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
	"github.com/lambdahost/lambdahost/sigv4"
)

// targetPrefix starts the X-Amz-Target of every KMS operation.
const targetPrefix = "TrentService."

// Server serves the key service's API: KMS's protocol (AWS JSON 1.1),
// where every operation is POST / with X-Amz-Target:
// TrentService.<Operation>, signed for the service "kms".
type Server struct {
	service *Service
	authed  http.HandlerFunc
	ops     map[string]func(w http.ResponseWriter, r *http.Request, body []byte)

	// Logger receives request logs. If nil, slog.Default is used.
	Logger *slog.Logger
	// NewRequestID returns a request ID. If nil, a random UUID is used.
	NewRequestID func() string
}

// NewServer returns a Server for service, authenticating with verifier.
func NewServer(service *Service, verifier *sigv4.Verifier) *Server {
	s := &Server{service: service}
	auth := &awsapi.Auth{Verifier: verifier, Service: "kms", WriteError: s.writeError}
	s.authed = auth.Buffered(s.dispatch)
	s.ops = map[string]func(w http.ResponseWriter, r *http.Request, body []byte){
		"CreateKey":   s.handleCreateKey,
		"DescribeKey": s.handleDescribeKey,
		"ListKeys":    s.handleListKeys,
		"EnableKey":   s.handleEnableKey,
		"DisableKey":  s.handleDisableKey,
	}
	return s
}

// SigningName is "kms".
func (s *Server) SigningName() string { return "kms" }

// Serves reports whether r is a KMS operation: POST / with a
// TrentService X-Amz-Target.
func (s *Server) Serves(r *http.Request) bool {
	return awsapi.IsJSONTarget(r, targetPrefix)
}

// ServeHTTP authenticates r, then dispatches it on its X-Amz-Target.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = awsapi.StartRequest(w, r, s.NewRequestID)
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	s.authed(w, awsapi.WithOperation(r, op))
}

// dispatch runs the operation of an authenticated request.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	awsapi.DispatchJSON(w, r, targetPrefix, s.ops, s.writeError)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// writeError is the one writer of the key service's errors, in AWS JSON 1.1.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	awsapi.JSON11{Logger: s.logger()}.WriteError(w, r, err)
}

// keyMetadataWire is KMS's KeyMetadata for a symmetric encryption key.
type keyMetadataWire struct {
	AWSAccountID          string       `json:"AWSAccountId"`
	KeyID                 string       `json:"KeyId"`
	Arn                   string       `json:"Arn"`
	CreationDate          awsapi.Epoch `json:"CreationDate"`
	Enabled               bool         `json:"Enabled"`
	Description           string       `json:"Description"`
	KeyUsage              string       `json:"KeyUsage"`
	KeyState              string       `json:"KeyState"`
	Origin                string       `json:"Origin"`
	KeyManager            string       `json:"KeyManager"`
	CustomerMasterKeySpec string       `json:"CustomerMasterKeySpec"`
	KeySpec               string       `json:"KeySpec"`
	EncryptionAlgorithms  []string     `json:"EncryptionAlgorithms"`
	MultiRegion           bool         `json:"MultiRegion"`
}

func keyMetadata(k *Key) keyMetadataWire {
	state := "Enabled"
	if !k.Enabled {
		state = "Disabled"
	}
	return keyMetadataWire{
		AWSAccountID: k.Account, KeyID: k.KeyID, Arn: k.ARN, CreationDate: awsapi.Epoch(k.Created),
		Enabled: k.Enabled, Description: k.Description, KeyUsage: "ENCRYPT_DECRYPT", KeyState: state,
		Origin: "AWS_KMS", KeyManager: k.KeyManager, CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
		KeySpec: "SYMMETRIC_DEFAULT", EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"},
	}
}

type keyMetadataResponse struct {
	KeyMetadata keyMetadataWire `json:"KeyMetadata"`
}

type createKeyRequest struct {
	Description           *string `json:"Description"`
	KeyUsage              *string `json:"KeyUsage"`
	KeySpec               *string `json:"KeySpec"`
	CustomerMasterKeySpec *string `json:"CustomerMasterKeySpec"`
	Origin                *string `json:"Origin"`
	MultiRegion           *bool   `json:"MultiRegion"`
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request, body []byte) {
	var req createKeyRequest
	if err := awsapi.DecodeJSON11(body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Only symmetric encryption keys in KMS's own key store: what sealing
	// code needs.
	for _, f := range []struct {
		name string
		val  *string
		ok   string
	}{
		{"KeyUsage", req.KeyUsage, "ENCRYPT_DECRYPT"},
		{"KeySpec", req.KeySpec, "SYMMETRIC_DEFAULT"},
		{"CustomerMasterKeySpec", req.CustomerMasterKeySpec, "SYMMETRIC_DEFAULT"},
		{"Origin", req.Origin, "AWS_KMS"},
	} {
		if f.val != nil && *f.val != f.ok {
			s.writeError(w, r, lambdahost.Errorf(lambdahost.UnsupportedOperationException, "%s %s is not supported by lambdahost's key service; only %s keys are.", f.name, *f.val, f.ok))
			return
		}
	}
	if req.MultiRegion != nil && *req.MultiRegion {
		s.writeError(w, r, lambdahost.Errorf(lambdahost.UnsupportedOperationException, "Multi-Region keys are not supported by lambdahost's key service."))
		return
	}
	desc := ""
	if req.Description != nil {
		desc = *req.Description
	}
	k, err := s.service.CreateKey(r.Context(), desc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	awsapi.WriteJSON11(w, keyMetadataResponse{KeyMetadata: keyMetadata(k)})
}

type keyIDRequest struct {
	KeyID *string `json:"KeyId"`
}

// keyID decodes a request whose only member that matters is KeyId.
func keyID(body []byte) (string, error) {
	var req keyIDRequest
	if err := awsapi.DecodeJSON11(body, &req); err != nil {
		return "", err
	}
	if req.KeyID == nil {
		var v lambdahost.Validation
		v.Add("keyId", "null", "Member must not be null")
		return "", v.Err()
	}
	return *req.KeyID, nil
}

func (s *Server) handleDescribeKey(w http.ResponseWriter, r *http.Request, body []byte) {
	id, err := keyID(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.service.DescribeKey(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	awsapi.WriteJSON11(w, keyMetadataResponse{KeyMetadata: keyMetadata(k)})
}

func (s *Server) handleEnableKey(w http.ResponseWriter, r *http.Request, body []byte) {
	id, err := keyID(body)
	if err == nil {
		err = s.service.EnableKey(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	awsapi.WriteJSON11(w, struct{}{})
}

func (s *Server) handleDisableKey(w http.ResponseWriter, r *http.Request, body []byte) {
	id, err := keyID(body)
	if err == nil {
		err = s.service.DisableKey(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	awsapi.WriteJSON11(w, struct{}{})
}

type listKeysRequest struct {
	Limit  *int    `json:"Limit"`
	Marker *string `json:"Marker"`
}

type keyListEntry struct {
	KeyID  string `json:"KeyId"`
	KeyArn string `json:"KeyArn"`
}

type listKeysResponse struct {
	Keys       []keyListEntry `json:"Keys"`
	NextMarker string         `json:"NextMarker,omitempty"`
	Truncated  bool           `json:"Truncated"`
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request, body []byte) {
	var req listKeysRequest
	if err := awsapi.DecodeJSON11(body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, marker := 0, ""
	if req.Limit != nil {
		limit = *req.Limit
		if limit < 1 || limit > 1000 {
			var v lambdahost.Validation
			v.Add("limit", strconv.Itoa(limit), "Member must have value between 1 and 1000")
			s.writeError(w, r, v.Err())
			return
		}
	}
	if req.Marker != nil {
		marker = *req.Marker
		if marker == "" {
			s.writeError(w, r, lambdahost.Errorf(lambdahost.InvalidMarkerException, "Invalid marker"))
			return
		}
	}
	keys, next, err := s.service.ListKeys(r.Context(), limit, marker)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := listKeysResponse{Keys: []keyListEntry{}, NextMarker: next, Truncated: next != ""}
	for _, k := range keys {
		out.Keys = append(out.Keys, keyListEntry{KeyID: k.KeyID, KeyArn: k.ARN})
	}
	awsapi.WriteJSON11(w, out)
}

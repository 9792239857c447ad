package http

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// The local key service speaks KMS's protocol (AWS JSON 1.1): every
// operation is POST / with X-Amz-Target: TrentService.<Operation>, signed
// for the service "kms", so that `aws kms ... --endpoint-url` and the SDKs
// work against it. See the KMS API reference:
// https://docs.aws.amazon.com/kms/latest/APIReference/

// kmsTargetPrefix starts the X-Amz-Target of every KMS operation.
const kmsTargetPrefix = "TrentService."

// json11 reports whether r is an AWS JSON 1.1 request, whose errors are
// answered in that protocol's form.
func json11(r *http.Request) bool { return r.Header.Get("X-Amz-Target") != "" }

// handleKMS dispatches a KMS operation on its X-Amz-Target.
func (s *Server) handleKMS(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	var h func(w http.ResponseWriter, r *http.Request, body []byte)
	switch target {
	case kmsTargetPrefix + "CreateKey":
		h = s.handleCreateKey
	case kmsTargetPrefix + "DescribeKey":
		h = s.handleDescribeKey
	case kmsTargetPrefix + "ListKeys":
		h = s.handleListKeys
	case kmsTargetPrefix + "EnableKey":
		h = s.handleEnableKey
	case kmsTargetPrefix + "DisableKey":
		h = s.handleDisableKey
	default:
		e := lambdahost.Errorf(lambdahost.UnknownOperationException, "Unknown operation %s", target)
		e.Status = http.StatusBadRequest
		s.writeError(w, r, e)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h(w, r, body)
}

// decodeKMS decodes a JSON 1.1 request body; an empty body is {}.
func decodeKMS(body []byte, v any) error {
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

// epochSeconds is a timestamp as the JSON protocols send it: seconds
// since the epoch, with a fraction.
type epochSeconds time.Time

func (t epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

// keyMetadataWire is KMS's KeyMetadata for a symmetric encryption key.
type keyMetadataWire struct {
	AWSAccountID          string       `json:"AWSAccountId"`
	KeyID                 string       `json:"KeyId"`
	Arn                   string       `json:"Arn"`
	CreationDate          epochSeconds `json:"CreationDate"`
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

func keyMetadata(k *control.KMSKey) keyMetadataWire {
	state := "Enabled"
	if !k.Enabled {
		state = "Disabled"
	}
	return keyMetadataWire{
		AWSAccountID: k.Account, KeyID: k.KeyID, Arn: k.ARN, CreationDate: epochSeconds(k.Created),
		Enabled: k.Enabled, Description: k.Description, KeyUsage: "ENCRYPT_DECRYPT", KeyState: state,
		Origin: "AWS_KMS", KeyManager: k.KeyManager, CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
		KeySpec: "SYMMETRIC_DEFAULT", EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"},
	}
}

// writeKMS answers v in AWS JSON 1.1.
func writeKMS(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // wire structs always marshal
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
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
	if err := decodeKMS(body, &req); err != nil {
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
	writeKMS(w, keyMetadataResponse{KeyMetadata: keyMetadata(k)})
}

type keyIDRequest struct {
	KeyID *string `json:"KeyId"`
}

// keyID decodes a request whose only member that matters is KeyId.
func keyID(body []byte) (string, error) {
	var req keyIDRequest
	if err := decodeKMS(body, &req); err != nil {
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
	writeKMS(w, keyMetadataResponse{KeyMetadata: keyMetadata(k)})
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
	writeKMS(w, struct{}{})
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
	writeKMS(w, struct{}{})
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
	if err := decodeKMS(body, &req); err != nil {
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
	writeKMS(w, out)
}

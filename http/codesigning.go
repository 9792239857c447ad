package http

import (
	"net/http"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// CodeSigningConfig is the CodeSigningConfig shape.
type CodeSigningConfig struct {
	CodeSigningConfigId  string              `json:"CodeSigningConfigId"`
	CodeSigningConfigArn string              `json:"CodeSigningConfigArn"`
	Description          string              `json:"Description"`
	AllowedPublishers    allowedPublishers   `json:"AllowedPublishers"`
	CodeSigningPolicies  codeSigningPolicies `json:"CodeSigningPolicies"`
	LastModified         string              `json:"LastModified"`
}

type allowedPublishers struct {
	SigningProfileVersionArns []string `json:"SigningProfileVersionArns"`
}

type codeSigningPolicies struct {
	UntrustedArtifactOnDeployment string `json:"UntrustedArtifactOnDeployment"`
}

func toCodeSigningConfig(c *control.CodeSigningConfig) *CodeSigningConfig {
	return &CodeSigningConfig{
		CodeSigningConfigId: c.ID, CodeSigningConfigArn: c.ARN, Description: c.Description,
		AllowedPublishers:   allowedPublishers{SigningProfileVersionArns: nonNil(c.AllowedPublishers)},
		CodeSigningPolicies: codeSigningPolicies{UntrustedArtifactOnDeployment: c.Policy},
		LastModified:        c.LastModified.UTC().Format(timeLayout),
	}
}

// codeSigningConfigRequest is Create and UpdateCodeSigningConfig's body.
type codeSigningConfigRequest struct {
	Description       *string `json:"Description"`
	AllowedPublishers *struct {
		SigningProfileVersionArns []string `json:"SigningProfileVersionArns"`
	} `json:"AllowedPublishers"`
	CodeSigningPolicies *struct {
		UntrustedArtifactOnDeployment *string `json:"UntrustedArtifactOnDeployment"`
	} `json:"CodeSigningPolicies"`
	Tags map[string]string `json:"Tags"`
}

func (req *codeSigningConfigRequest) input() *control.CodeSigningConfigInput {
	in := &control.CodeSigningConfigInput{Description: req.Description, Tags: req.Tags}
	if p := req.AllowedPublishers; p != nil {
		in.HasPublishers = true
		in.AllowedPublishers = p.SigningProfileVersionArns
	}
	if p := req.CodeSigningPolicies; p != nil {
		in.Policy = p.UntrustedArtifactOnDeployment
	}
	return in
}

type codeSigningConfigResponse struct {
	CodeSigningConfig *CodeSigningConfig `json:"CodeSigningConfig"`
}

func (s *Server) handleCreateCodeSigningConfig(w http.ResponseWriter, r *http.Request) {
	var req codeSigningConfigRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.service.CreateCodeSigningConfig(r.Context(), req.input())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, &codeSigningConfigResponse{toCodeSigningConfig(c)})
}

func (s *Server) handleGetCodeSigningConfig(w http.ResponseWriter, r *http.Request) {
	c, err := s.service.GetCodeSigningConfig(r.Context(), r.PathValue("CodeSigningConfigArn"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &codeSigningConfigResponse{toCodeSigningConfig(c)})
}

func (s *Server) handleUpdateCodeSigningConfig(w http.ResponseWriter, r *http.Request) {
	var req codeSigningConfigRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := req.input()
	in.Tags = nil // not a member of UpdateCodeSigningConfig
	c, err := s.service.UpdateCodeSigningConfig(r.Context(), r.PathValue("CodeSigningConfigArn"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &codeSigningConfigResponse{toCodeSigningConfig(c)})
}

func (s *Server) handleDeleteCodeSigningConfig(w http.ResponseWriter, r *http.Request) {
	if err := s.service.DeleteCodeSigningConfig(r.Context(), r.PathValue("CodeSigningConfigArn")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type listCodeSigningConfigsResponse struct {
	NextMarker         string               `json:"NextMarker,omitempty"`
	CodeSigningConfigs []*CodeSigningConfig `json:"CodeSigningConfigs"`
}

func (s *Server) handleListCodeSigningConfigs(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListCodeSigningConfigs(r.Context(), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := &listCodeSigningConfigsResponse{NextMarker: out.NextMarker, CodeSigningConfigs: []*CodeSigningConfig{}}
	for _, c := range out.Configs {
		resp.CodeSigningConfigs = append(resp.CodeSigningConfigs, toCodeSigningConfig(c))
	}
	writeJSON(w, http.StatusOK, resp)
}

type listFunctionsByCodeSigningConfigResponse struct {
	NextMarker   string   `json:"NextMarker,omitempty"`
	FunctionArns []string `json:"FunctionArns"`
}

func (s *Server) handleListFunctionsByCodeSigningConfig(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListFunctionsByCodeSigningConfig(r.Context(), r.PathValue("CodeSigningConfigArn"), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &listFunctionsByCodeSigningConfigResponse{NextMarker: out.NextMarker, FunctionArns: nonNil(out.FunctionARNs)})
}

// functionCodeSigningConfig is Put and GetFunctionCodeSigningConfig's answer.
type functionCodeSigningConfig struct {
	CodeSigningConfigArn string `json:"CodeSigningConfigArn"`
	FunctionName         string `json:"FunctionName"`
}

func (s *Server) handlePutFunctionCodeSigningConfig(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CodeSigningConfigArn *string `json:"CodeSigningConfigArn"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.CodeSigningConfigArn == nil {
		var v lambdahost.Validation
		v.Add("codeSigningConfigArn", "null", "Member must not be null")
		s.writeError(w, r, v.Err())
		return
	}
	out, err := s.service.PutFunctionCodeSigningConfig(r.Context(), r.PathValue("FunctionName"), *req.CodeSigningConfigArn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &functionCodeSigningConfig{out.CodeSigningConfigARN, out.FunctionName})
}

func (s *Server) handleGetFunctionCodeSigningConfig(w http.ResponseWriter, r *http.Request) {
	out, err := s.service.GetFunctionCodeSigningConfig(r.Context(), r.PathValue("FunctionName"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &functionCodeSigningConfig{out.CodeSigningConfigARN, out.FunctionName})
}

func (s *Server) handleDeleteFunctionCodeSigningConfig(w http.ResponseWriter, r *http.Request) {
	if err := s.service.DeleteFunctionCodeSigningConfig(r.Context(), r.PathValue("FunctionName")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

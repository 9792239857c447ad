package http

import (
	"net/http"

	"github.com/lambdahost/lambdahost/control"
)

type aliasRequest struct {
	Name            string                     `json:"Name"`
	FunctionVersion *string                    `json:"FunctionVersion"`
	Description     *string                    `json:"Description"`
	RoutingConfig   *AliasRoutingConfiguration `json:"RoutingConfig"`
	RevisionId      *string                    `json:"RevisionId"`
}

func (req *aliasRequest) input(functionName string) *control.AliasInput {
	in := &control.AliasInput{FunctionName: functionName, Name: req.Name, FunctionVersion: req.FunctionVersion, Description: req.Description, RevisionID: req.RevisionId}
	if req.RoutingConfig != nil {
		w := req.RoutingConfig.AdditionalVersionWeights
		in.RoutingConfig = &w
	}
	return in
}

func (s *Server) handleCreateAlias(w http.ResponseWriter, r *http.Request) {
	var req aliasRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.service.CreateAlias(r.Context(), req.input(r.PathValue("FunctionName")))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toAlias(a))
}

func (s *Server) handleGetAlias(w http.ResponseWriter, r *http.Request) {
	a, err := s.service.GetAlias(r.Context(), r.PathValue("FunctionName"), r.PathValue("Name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAlias(a))
}

func (s *Server) handleUpdateAlias(w http.ResponseWriter, r *http.Request) {
	var req aliasRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	req.Name = r.PathValue("Name")
	a, err := s.service.UpdateAlias(r.Context(), req.input(r.PathValue("FunctionName")))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAlias(a))
}

func (s *Server) handleDeleteAlias(w http.ResponseWriter, r *http.Request) {
	if err := s.service.DeleteAlias(r.Context(), r.PathValue("FunctionName"), r.PathValue("Name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type listAliasesResponse struct {
	NextMarker string                `json:"NextMarker,omitempty"`
	Aliases    []*AliasConfiguration `json:"Aliases"`
}

func (s *Server) handleListAliases(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListAliases(r.Context(), r.PathValue("FunctionName"), optionalQuery(r, "FunctionVersion"), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := &listAliasesResponse{NextMarker: out.NextMarker, Aliases: []*AliasConfiguration{}}
	for _, a := range out.Aliases {
		resp.Aliases = append(resp.Aliases, toAlias(a))
	}
	writeJSON(w, http.StatusOK, resp)
}

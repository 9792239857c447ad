package http

import (
	"net/http"

	"github.com/lambdahost/lambdahost/control"
)

// addPermissionRequest is AddPermission's body.
type addPermissionRequest struct {
	StatementId           *string `json:"StatementId"`
	Action                *string `json:"Action"`
	Principal             *string `json:"Principal"`
	SourceArn             *string `json:"SourceArn"`
	SourceAccount         *string `json:"SourceAccount"`
	EventSourceToken      *string `json:"EventSourceToken"`
	RevisionId            *string `json:"RevisionId"`
	PrincipalOrgID        *string `json:"PrincipalOrgID"`
	FunctionUrlAuthType   *string `json:"FunctionUrlAuthType"`
	InvokedViaFunctionUrl *bool   `json:"InvokedViaFunctionUrl"`
}

func (s *Server) handleAddPermission(w http.ResponseWriter, r *http.Request) {
	var req addPermissionRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	stmt, err := s.service.AddPermission(r.Context(), &control.AddPermissionInput{
		FunctionName: r.PathValue("FunctionName"), Qualifier: r.URL.Query().Get("Qualifier"),
		StatementID: req.StatementId, Action: req.Action, Principal: req.Principal,
		SourceArn: req.SourceArn, SourceAccount: req.SourceAccount, EventSourceToken: req.EventSourceToken,
		PrincipalOrgID: req.PrincipalOrgID, FunctionURLAuthType: req.FunctionUrlAuthType,
		InvokedViaFunctionURL: req.InvokedViaFunctionUrl, RevisionID: req.RevisionId,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The statement is a JSON document inside a string, as AWS answers it.
	writeJSON(w, http.StatusCreated, struct {
		Statement string `json:"Statement"`
	}{stmt})
}

func (s *Server) handleRemovePermission(w http.ResponseWriter, r *http.Request) {
	err := s.service.RemovePermission(r.Context(), r.PathValue("FunctionName"), r.PathValue("StatementId"),
		r.URL.Query().Get("Qualifier"), optionalQuery(r, "RevisionId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleGetPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.service.GetPolicy(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Policy     string `json:"Policy"`
		RevisionId string `json:"RevisionId"`
	}{p.Document, p.RevisionID})
}

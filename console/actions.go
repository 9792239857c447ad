package console

import (
	"net/http"
	"strings"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// invokeView is an invocation's outcome as the page shows it.
type invokeView struct {
	Qualifier       string `json:"qualifier"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
	Payload         string `json:"payload"`
	Log             string `json:"log"`
}

// handleInvoke invokes the function with the form's payload (and
// qualifier), synchronously, and answers its result and log.
func (s *Server) handleInvoke(w http.ResponseWriter, r *http.Request, ss *session) {
	if s.Invoker == nil {
		s.apiError(w, r, ss, lambdahost.Errorf(lambdahost.ServiceException, "This server does not run functions."))
		return
	}
	ctx := s.callerContext(r, ss)
	name, qualifier := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("qualifier"))
	res, err := s.Invoker.Invoke(ctx, name, qualifier, []byte(r.PostFormValue("payload")))
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	out := &invokeView{Qualifier: qualifier, ExecutedVersion: res.ExecutedVersion, FunctionError: res.FunctionError, Payload: string(res.Payload), Log: string(res.Log)}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, out)
		return
	}
	s.showFunction(w, r, ss, http.StatusOK, "", "", out)
}

// rolledBack is the answer to a rollback of $LATEST.
type rolledBack struct {
	Function         string `json:"function"`
	Version          string `json:"version"`
	State            string `json:"state"`
	LastUpdateStatus string `json:"lastUpdateStatus"`
	RevisionID       string `json:"revisionId"`
	CodeSHA256       string `json:"codeSha256"`
	Message          string `json:"message"`
}

// handleRollback deploys to $LATEST the code of the form's version: an
// UpdateFunctionCode of code that is stored already.
func (s *Server) handleRollback(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := s.callerContext(r, ss)
	name, version := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("version"))
	in := &control.RollbackInput{FunctionName: name, Version: version}
	if rev := r.PostFormValue("revision_id"); rev != "" {
		in.RevisionID = &rev
	}
	out, err := s.Service.RollbackCode(ctx, in)
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	msg := "$LATEST is rolling back to the code of version " + version + ": " + out.Status.LastUpdateStatus + "."
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, rolledBack{
			Function: out.Function.Name, Version: version, State: out.Status.State, LastUpdateStatus: out.Status.LastUpdateStatus,
			RevisionID: out.RevisionID, CodeSHA256: out.Code.SHA256(), Message: msg,
		})
		return
	}
	s.showFunction(w, r, ss, http.StatusOK, msg, "", nil)
}

// handleAliasRollback points an alias at the form's version alone (its
// routing to another version is cleared): an UpdateAlias.
func (s *Server) handleAliasRollback(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := s.callerContext(r, ss)
	name, alias, version := r.PathValue("name"), r.PathValue("alias"), strings.TrimSpace(r.PostFormValue("version"))
	none := map[string]float64(nil)
	in := &control.AliasInput{FunctionName: name, Name: alias, FunctionVersion: &version, RoutingConfig: &none}
	if rev := r.PostFormValue("revision_id"); rev != "" {
		in.RevisionID = &rev
	}
	a, err := s.Service.UpdateAlias(ctx, in)
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	msg := "Alias " + a.Name + " now points at version " + a.FunctionVersion + "."
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"alias": a.Name, "functionVersion": a.FunctionVersion, "revisionId": a.RevisionID, "message": msg})
		return
	}
	s.showFunction(w, r, ss, http.StatusOK, msg, "", nil)
}

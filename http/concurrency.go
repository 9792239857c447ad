package http

import "net/http"

// concurrency is the Concurrency shape: PutFunctionConcurrency's request
// and answer, GetFunctionConcurrency's answer (empty when none is set) and
// GetFunction's Concurrency member.
type concurrency struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

func (s *Server) handlePutFunctionConcurrency(w http.ResponseWriter, r *http.Request) {
	var req concurrency
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.service.PutFunctionConcurrency(r.Context(), r.PathValue("FunctionName"), req.ReservedConcurrentExecutions)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &concurrency{ReservedConcurrentExecutions: &n})
}

func (s *Server) handleGetFunctionConcurrency(w http.ResponseWriter, r *http.Request) {
	n, err := s.service.GetFunctionConcurrency(r.Context(), r.PathValue("FunctionName"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &concurrency{ReservedConcurrentExecutions: n})
}

func (s *Server) handleDeleteFunctionConcurrency(w http.ResponseWriter, r *http.Request) {
	if err := s.service.DeleteFunctionConcurrency(r.Context(), r.PathValue("FunctionName")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

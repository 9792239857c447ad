package http

import "net/http"

type accountLimit struct {
	TotalCodeSize                  int64 `json:"TotalCodeSize"`
	CodeSizeUnzipped               int64 `json:"CodeSizeUnzipped"`
	CodeSizeZipped                 int64 `json:"CodeSizeZipped"`
	ConcurrentExecutions           int   `json:"ConcurrentExecutions"`
	UnreservedConcurrentExecutions int   `json:"UnreservedConcurrentExecutions"`
}

type accountUsage struct {
	TotalCodeSize int64 `json:"TotalCodeSize"`
	FunctionCount int64 `json:"FunctionCount"`
}

type getAccountSettingsResponse struct {
	AccountLimit accountLimit `json:"AccountLimit"`
	AccountUsage accountUsage `json:"AccountUsage"`
}

func (s *Server) handleGetAccountSettings(w http.ResponseWriter, r *http.Request) {
	a, err := s.service.GetAccountSettings(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &getAccountSettingsResponse{
		AccountLimit: accountLimit{
			TotalCodeSize: a.TotalCodeSize, CodeSizeUnzipped: a.CodeSizeUnzipped, CodeSizeZipped: a.CodeSizeZipped,
			ConcurrentExecutions: a.ConcurrentExecutions, UnreservedConcurrentExecutions: a.UnreservedConcurrentExecutions,
		},
		AccountUsage: accountUsage{TotalCodeSize: a.Usage.TotalCodeSize, FunctionCount: a.Usage.FunctionCount},
	})
}

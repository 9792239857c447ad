package http

import (
	"net/http"
)

type tagResourceRequest struct {
	Tags map[string]string `json:"Tags"`
}

func (s *Server) handleTagResource(w http.ResponseWriter, r *http.Request) {
	var req tagResourceRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.service.TagResource(r.Context(), r.PathValue("Resource"), req.Tags); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleUntagResource(w http.ResponseWriter, r *http.Request) {
	keys, ok := r.URL.Query()["tagKeys"]
	if ok && keys == nil {
		keys = []string{}
	}
	if err := s.service.UntagResource(r.Context(), r.PathValue("Resource"), keys); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type listTagsResponse struct {
	Tags map[string]string `json:"Tags"`
}

func (s *Server) handleListTags(w http.ResponseWriter, r *http.Request) {
	tags, err := s.service.ListTags(r.Context(), r.PathValue("Resource"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &listTagsResponse{Tags: tags})
}

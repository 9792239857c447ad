package sts

import "net/http"

// WriteError is the Server's error writer, for tests of what it answers
// for errors no request reaches easily.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, err)
}

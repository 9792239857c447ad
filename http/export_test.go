package http

import "net/http"

// UploadsInUse reports how many code upload slots are taken, for tests
// that need a slot held before they go on.
func (s *Server) UploadsInUse() int { return len(s.uploads) }

// OperationFor returns the name of the operation the server routes r to,
// "" if none.
func (s *Server) OperationFor(r *http.Request) string { return s.operationFor(r) }

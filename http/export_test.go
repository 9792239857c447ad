package http

// UploadsInUse reports how many code upload slots are taken, for tests
// that need a slot held before they go on.
func (s *Server) UploadsInUse() int { return len(s.uploads) }

package http

import (
	"net"
	"net/http"

	"github.com/lambdahost/lambdahost/control"
)

// urlTimeLayout is how AWS writes a URL config's CreationTime and
// LastModifiedTime: ISO 8601 with microseconds, in UTC.
const urlTimeLayout = "2006-01-02T15:04:05.000000Z"

// Cors is a function URL's CORS configuration on the wire.
type Cors struct {
	AllowCredentials *bool    `json:"AllowCredentials,omitempty"`
	AllowHeaders     []string `json:"AllowHeaders,omitempty"`
	AllowMethods     []string `json:"AllowMethods,omitempty"`
	AllowOrigins     []string `json:"AllowOrigins,omitempty"`
	ExposeHeaders    []string `json:"ExposeHeaders,omitempty"`
	MaxAge           *int     `json:"MaxAge,omitempty"`
}

func (c *Cors) control() *control.Cors {
	if c == nil {
		return nil
	}
	return &control.Cors{AllowCredentials: c.AllowCredentials, AllowHeaders: c.AllowHeaders, AllowMethods: c.AllowMethods,
		AllowOrigins: c.AllowOrigins, ExposeHeaders: c.ExposeHeaders, MaxAge: c.MaxAge}
}

func toCors(c *control.Cors) *Cors {
	if c == nil {
		return nil
	}
	return &Cors{AllowCredentials: c.AllowCredentials, AllowHeaders: c.AllowHeaders, AllowMethods: c.AllowMethods,
		AllowOrigins: c.AllowOrigins, ExposeHeaders: c.ExposeHeaders, MaxAge: c.MaxAge}
}

// FunctionUrlConfig is a URL config on the wire. Which of the optional
// members an answer carries depends on the operation (see each handler).
type FunctionUrlConfig struct {
	FunctionUrl      string `json:"FunctionUrl"`
	FunctionArn      string `json:"FunctionArn"`
	AuthType         string `json:"AuthType"`
	Cors             *Cors  `json:"Cors,omitempty"`
	CreationTime     string `json:"CreationTime"`
	LastModifiedTime string `json:"LastModifiedTime,omitempty"`
	InvokeMode       string `json:"InvokeMode,omitempty"`
}

// functionURL is the URL lambdahost serves c at:
// http://<url-id>.lambda-url.<region>.localhost:<port>/, with the port the
// request reached this listener on (function URLs share it). Browsers and
// curl resolve *.localhost to the loopback address.
func functionURL(r *http.Request, c *control.FunctionURLConfig) string {
	port := ""
	if _, p, err := net.SplitHostPort(r.Host); err == nil && p != "" {
		port = ":" + p
	}
	return "http://" + c.URLID + ".lambda-url." + c.Region + ".localhost" + port + "/"
}

// toURLConfig is the Get and List shape: LastModifiedTime and InvokeMode
// always present.
func toURLConfig(r *http.Request, c *control.FunctionURLConfig) *FunctionUrlConfig {
	return &FunctionUrlConfig{
		FunctionUrl: functionURL(r, c), FunctionArn: c.FunctionARN, AuthType: c.AuthType, Cors: toCors(c.Cors),
		CreationTime: c.Created.Format(urlTimeLayout), LastModifiedTime: c.LastModified.Format(urlTimeLayout), InvokeMode: c.Mode(),
	}
}

type urlConfigRequest struct {
	AuthType   *string `json:"AuthType"`
	Cors       *Cors   `json:"Cors"`
	InvokeMode *string `json:"InvokeMode"`
}

func (req *urlConfigRequest) input(r *http.Request) *control.FunctionURLInput {
	return &control.FunctionURLInput{FunctionName: r.PathValue("FunctionName"), Qualifier: r.URL.Query().Get("Qualifier"),
		AuthType: req.AuthType, Cors: req.Cors.control(), InvokeMode: req.InvokeMode}
}

func (s *Server) handleCreateFunctionUrlConfig(w http.ResponseWriter, r *http.Request) {
	var req urlConfigRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.service.CreateFunctionUrlConfig(r.Context(), req.input(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// AWS answers without LastModifiedTime, and with InvokeMode only if
	// the request gave one.
	out := toURLConfig(r, c)
	out.LastModifiedTime = ""
	if req.InvokeMode == nil {
		out.InvokeMode = ""
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleGetFunctionUrlConfig(w http.ResponseWriter, r *http.Request) {
	c, err := s.service.GetFunctionUrlConfig(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toURLConfig(r, c))
}

func (s *Server) handleUpdateFunctionUrlConfig(w http.ResponseWriter, r *http.Request) {
	var req urlConfigRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.service.UpdateFunctionUrlConfig(r.Context(), req.input(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// AWS answers InvokeMode when the request gave one or the URL's is
	// not the default.
	out := toURLConfig(r, c)
	if req.InvokeMode == nil && c.Mode() == control.InvokeModeBuffered {
		out.InvokeMode = ""
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDeleteFunctionUrlConfig(w http.ResponseWriter, r *http.Request) {
	if err := s.service.DeleteFunctionUrlConfig(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListFunctionUrlConfigs(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListFunctionUrlConfigs(r.Context(), r.PathValue("FunctionName"), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := struct {
		FunctionUrlConfigs []*FunctionUrlConfig `json:"FunctionUrlConfigs"`
		NextMarker         string               `json:"NextMarker,omitempty"`
	}{FunctionUrlConfigs: []*FunctionUrlConfig{}, NextMarker: out.NextMarker}
	for _, c := range out.Configs {
		resp.FunctionUrlConfigs = append(resp.FunctionUrlConfigs, toURLConfig(r, c))
	}
	writeJSON(w, http.StatusOK, resp)
}

package console

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// functionRow is a function as the functions page lists it.
type functionRow struct {
	Name, State, LastUpdateStatus, Reason, ReasonCode string
	Runtime, Architecture, PackageType                string
	CodeSize                                          int64
	LastModified                                      time.Time
}

func rowOf(fc *control.FunctionConfig) functionRow {
	st := fc.Status
	reason, code := st.LastUpdateStatusReason, st.LastUpdateStatusReasonCode
	if st.State == lambdahost.StateFailed || st.State == lambdahost.StatePending {
		reason, code = st.StateReason, st.StateReasonCode
	}
	rt := fc.Config.Runtime
	if fc.Code.PackageType == lambdahost.PackageImage {
		rt = "container image"
	}
	return functionRow{
		Name: fc.Function.Name, State: st.State, LastUpdateStatus: st.LastUpdateStatus, Reason: reason, ReasonCode: code,
		Runtime: rt, Architecture: strings.Join(fc.Config.Architectures, ","), PackageType: fc.Code.PackageType,
		CodeSize: fc.Code.Size, LastModified: fc.LastModified,
	}
}

// listAll reads every page of a list operation.
func listAll[T any](list func(marker *string) ([]T, string, error)) ([]T, error) {
	var out []T
	var marker *string
	for {
		items, next, err := list(marker)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		marker = &next
	}
}

// allFunctions reads every function of the caller's account and region.
func (s *Server) allFunctions(ctx context.Context) ([]control.FunctionConfig, error) {
	return listAll(func(marker *string) ([]control.FunctionConfig, string, error) {
		out, err := s.Service.ListFunctions(ctx, &control.ListFunctionsInput{ListInput: control.ListInput{Marker: marker}})
		if err != nil {
			return nil, "", err
		}
		return out.Functions, out.NextMarker, nil
	})
}

// functionsPage is the functions page's data: one page of the
// functions whose names contain Query.
type functionsPage struct {
	Functions []functionRow
	Query     string
	// Page is the page shown, from 1, of Pages; From and To number its
	// first and last function among Total.
	Page, Pages, From, To, Total int
	// Last says no function sorts after this page's.
	Last bool
}

// pageSize is how many functions a page of the functions list shows.
const pageSize = 100

// pageURL is the functions list's page n for query q.
func (p functionsPage) PageURL(n int) string {
	v := url.Values{}
	if p.Query != "" {
		v.Set("q", p.Query)
	}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	if len(v) == 0 {
		return Prefix + "functions"
	}
	return Prefix + "functions?" + v.Encode()
}

// handleFunctions lists the functions. ?fragment=rows answers the
// table's rows, ?fragment=row&name=NAME one row (live updates).
func (s *Server) handleFunctions(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := s.callerContext(r, ss)
	v := &view{Title: "Functions", Nav: "functions", Live: "*"}
	v.session(s, ss)
	if r.URL.Query().Get("fragment") == "row" {
		fc, err := s.Service.GetFunctionConfiguration(ctx, r.URL.Query().Get("name"), "")
		if err != nil {
			s.apiError(w, r, ss, err)
			return
		}
		v.Data = rowOf(fc)
		s.render(w, r, http.StatusOK, "functions", v)
		return
	}
	fns, err := s.allFunctions(ctx)
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	page := functionsPage{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if page.Query != "" {
		q := strings.ToLower(page.Query)
		fns = slices.DeleteFunc(fns, func(f control.FunctionConfig) bool { return !strings.Contains(strings.ToLower(f.Function.Name), q) })
	}
	page.Total = len(fns)
	page.Pages = max((len(fns)+pageSize-1)/pageSize, 1)
	page.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	page.Page = min(max(page.Page, 1), page.Pages)
	first := (page.Page - 1) * pageSize
	last := min(first+pageSize, len(fns))
	page.From, page.To, page.Last = first+1, last, page.Page == page.Pages
	page.Functions = make([]functionRow, 0, last-first)
	for i := first; i < last; i++ {
		page.Functions = append(page.Functions, rowOf(&fns[i]))
	}
	v.Data = page
	s.render(w, r, http.StatusOK, "functions", v)
}

// keyValue is one entry of a sorted map.
type keyValue struct{ Key, Value string }

func sortedMap(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, keyValue{k, m[k]})
	}
	return out
}

// urlView is a function URL config with its URLs.
type urlView struct {
	*control.FunctionURLConfig
	Qualifier, URL, PathURL string
}

// functionPage is one function's page.
type functionPage struct {
	Name string
	Row  functionRow
	Info *control.FunctionInfo
	// ARN is the unqualified ARN; CodeSHA256 $LATEST's.
	ARN, CodeSHA256 string
	Environment     []keyValue
	Tags            []keyValue
	Versions        []control.FunctionConfig
	// Published are the published versions, newest first, for rollbacks.
	Published   []string
	Aliases     []*lambdahost.Alias
	Policy      string
	URLs        []urlView
	CodeSigning string
	Concurrency *int
	Deployments []*control.Deployment
	// Invoked and Rolled are results of the page's actions, for browsers
	// without the script.
	Invoked *invokeView
}

// loadFunction reads what the function page shows.
func (s *Server) loadFunction(ctx context.Context, r *http.Request, name string) (*functionPage, error) {
	info, err := s.Service.GetFunction(ctx, name, "")
	if err != nil {
		return nil, err
	}
	p := &functionPage{Name: info.Function.Name, Info: info, Row: rowOf(&info.FunctionConfig), ARN: info.Function.ARN(), CodeSHA256: info.Code.SHA256()}
	p.Environment = sortedMap(info.Config.Environment)
	p.Tags = sortedMap(info.Tags)
	p.Concurrency = info.ReservedConcurrency
	p.Versions, err = listAll(func(marker *string) ([]control.FunctionConfig, string, error) {
		out, err := s.Service.ListVersionsByFunction(ctx, name, control.ListInput{Marker: marker})
		if err != nil {
			return nil, "", err
		}
		return out.Versions, out.NextMarker, nil
	})
	if err != nil {
		return nil, err
	}
	for i := len(p.Versions) - 1; i >= 0; i-- {
		if n := p.Versions[i].Name; lambdahost.VersionOrder(n) >= 1 {
			p.Published = append(p.Published, n)
		}
	}
	p.Aliases, err = listAll(func(marker *string) ([]*lambdahost.Alias, string, error) {
		out, err := s.Service.ListAliases(ctx, name, nil, control.ListInput{Marker: marker})
		if err != nil {
			return nil, "", err
		}
		return out.Aliases, out.NextMarker, nil
	})
	if err != nil {
		return nil, err
	}
	if pol, err := s.Service.GetPolicy(ctx, name, ""); err == nil {
		var buf bytes.Buffer
		if json.Indent(&buf, []byte(pol.Document), "", "  ") == nil {
			p.Policy = buf.String()
		} else {
			p.Policy = pol.Document
		}
	} else if lambdahost.ErrorTypeOf(err) != lambdahost.ResourceNotFoundException {
		return nil, err
	}
	urls, err := listAll(func(marker *string) ([]*control.FunctionURLConfig, string, error) {
		out, err := s.Service.ListFunctionUrlConfigs(ctx, name, control.ListInput{Marker: marker})
		if err != nil {
			return nil, "", err
		}
		return out.Configs, out.NextMarker, nil
	})
	if err != nil {
		return nil, err
	}
	for _, u := range urls {
		p.URLs = append(p.URLs, urlViewOf(r, u))
	}
	if csc, err := s.Service.GetFunctionCodeSigningConfig(ctx, name); err == nil {
		p.CodeSigning = csc.CodeSigningConfigARN
	} else {
		return nil, err
	}
	p.Deployments, err = s.Service.ListDeployments(ctx, name, 10)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// urlViewOf returns the URLs of config c as a client of r reaches them:
// by host name (*.localhost resolves to this machine) and by path.
func urlViewOf(r *http.Request, c *control.FunctionURLConfig) urlView {
	port := ""
	if i := strings.LastIndex(r.Host, ":"); i >= 0 && !strings.HasSuffix(r.Host, "]") {
		port = r.Host[i:]
	}
	q := lambdahost.VersionLatest
	if i := strings.LastIndex(c.FunctionARN, ":"); strings.Count(c.FunctionARN, ":") == 7 {
		q = c.FunctionARN[i+1:]
	}
	return urlView{
		FunctionURLConfig: c, Qualifier: q,
		URL:     "http://" + c.URLID + ".lambda-url." + c.Region + ".localhost" + port + "/",
		PathURL: scheme(r) + "://" + r.Host + "/lambda-url/" + c.URLID + "/",
	}
}

// handleFunction shows one function. ?fragment=live answers the parts of
// the page that change with its state (live updates).
func (s *Server) handleFunction(w http.ResponseWriter, r *http.Request, ss *session) {
	s.showFunction(w, r, ss, http.StatusOK, "", "", nil)
}

// showFunction renders the function page, with the outcome of an action
// for browsers without the script.
func (s *Server) showFunction(w http.ResponseWriter, r *http.Request, ss *session, status int, notice, errMsg string, invoked *invokeView) {
	ctx := s.callerContext(r, ss)
	p, err := s.loadFunction(ctx, r, r.PathValue("name"))
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	p.Invoked = invoked
	v := &view{Title: p.Name, Nav: "functions", Live: p.Name, Notice: notice, Error: errMsg, Data: p}
	v.session(s, ss)
	s.render(w, r, status, "function", v)
}

// deploymentsPage is a function's deployment history.
type deploymentsPage struct {
	Name        string
	Max         int
	Deployments []*control.Deployment
}

func (s *Server) handleDeployments(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := s.callerContext(r, ss)
	name := r.PathValue("name")
	d, err := s.Service.ListDeployments(ctx, name, 0)
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	v := &view{Title: name + ": deployments", Nav: "functions", Live: name, Data: deploymentsPage{Name: name, Max: control.DeploymentHistoryMax, Deployments: d}}
	v.session(s, ss)
	s.render(w, r, http.StatusOK, "deployments", v)
}

// invocationsPage is a function's recent invocations.
type invocationsPage struct {
	Name        string
	LogGroup    string
	Kept        bool
	Invocations []Invocation
}

// recentInvocations is how many invocations the page shows.
const recentInvocations = 25

func (s *Server) handleInvocations(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := s.callerContext(r, ss)
	name := r.PathValue("name")
	fc, err := s.Service.GetFunctionConfiguration(ctx, name, "")
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	group := fc.Config.Logging.LogGroup
	if group == "" {
		group = "/aws/lambda/" + fc.Function.Name
	}
	p := invocationsPage{Name: fc.Function.Name, LogGroup: group, Kept: s.Invocations != nil}
	if s.Invocations != nil {
		p.Invocations, err = s.Invocations.RecentInvocations(ctx, ss.account, ss.Region, group, recentInvocations)
		if err != nil {
			s.apiError(w, r, ss, err)
			return
		}
	}
	v := &view{Title: p.Name + ": invocations", Nav: "functions", Live: p.Name, Data: p}
	v.session(s, ss)
	s.render(w, r, http.StatusOK, "invocations", v)
}

// layerUse is a layer version and the functions that use it.
type layerUse struct {
	ARN       string
	Functions []string
}

// handleLayers lists the account's layers (each with its newest version)
// and every layer version its functions use, with the functions using it.
func (s *Server) handleLayers(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := s.callerContext(r, ss)
	fns, err := s.allFunctions(ctx)
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	own, err := listAll(func(marker *string) ([]*control.LayerVersion, string, error) {
		out, err := s.Service.ListLayers(ctx, control.LayerFilter{}, control.ListInput{Marker: marker})
		if err != nil {
			return nil, "", err
		}
		return out.Layers, out.NextMarker, nil
	})
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	used := map[string][]string{}
	for _, l := range own {
		used[l.ARN()] = nil
	}
	for _, f := range fns {
		for _, l := range f.Config.Layers {
			used[l.ARN] = append(used[l.ARN], f.Function.Name)
		}
	}
	var layers []layerUse
	for _, arn := range slices.Sorted(maps.Keys(used)) {
		layers = append(layers, layerUse{ARN: arn, Functions: used[arn]})
	}
	v := &view{Title: "Layers", Nav: "layers", Data: layers}
	v.session(s, ss)
	s.render(w, r, http.StatusOK, "layers", v)
}

// cscView is a code signing config with the functions that use it.
type cscView struct {
	*control.CodeSigningConfig
	Functions []string
}

func (s *Server) handleCodeSigningConfigs(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := s.callerContext(r, ss)
	configs, err := listAll(func(marker *string) ([]*control.CodeSigningConfig, string, error) {
		out, err := s.Service.ListCodeSigningConfigs(ctx, control.ListInput{Marker: marker})
		if err != nil {
			return nil, "", err
		}
		return out.Configs, out.NextMarker, nil
	})
	if err != nil {
		s.apiError(w, r, ss, err)
		return
	}
	out := make([]cscView, len(configs))
	for i, c := range configs {
		out[i].CodeSigningConfig = c
		arns, err := listAll(func(marker *string) ([]string, string, error) {
			o, err := s.Service.ListFunctionsByCodeSigningConfig(ctx, c.ARN, control.ListInput{Marker: marker})
			if err != nil {
				return nil, "", err
			}
			return o.FunctionARNs, o.NextMarker, nil
		})
		if err != nil {
			s.apiError(w, r, ss, err)
			return
		}
		for _, a := range arns {
			out[i].Functions = append(out[i].Functions, a[strings.LastIndex(a, ":")+1:])
		}
	}
	v := &view{Title: "Code signing configs", Nav: "codesigning", Data: out}
	v.session(s, ss)
	s.render(w, r, http.StatusOK, "codesigning", v)
}

package http

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// decodeJSON decodes a small, already verified body into v. An empty body
// is an empty object.
func decodeJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	return unmarshal(b, v)
}

func unmarshal(b []byte, v any) error {
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		e := lambdahost.Errorf(lambdahost.InvalidRequestContentException, "Could not parse request body into json: %s", err.Error())
		e.Err = err
		return e
	}
	return nil
}

// configFields are the configuration members shared by CreateFunction and
// UpdateFunctionConfiguration requests.
type configFields struct {
	Runtime                *string             `json:"Runtime"`
	Role                   *string             `json:"Role"`
	Handler                *string             `json:"Handler"`
	Description            *string             `json:"Description"`
	Timeout                *int                `json:"Timeout"`
	MemorySize             *int                `json:"MemorySize"`
	Environment            *Environment        `json:"Environment"`
	KMSKeyArn              *string             `json:"KMSKeyArn"`
	VpcConfig              *VpcConfig          `json:"VpcConfig"`
	DeadLetterConfig       *DeadLetterConfig   `json:"DeadLetterConfig"`
	TracingConfig          *TracingConfig      `json:"TracingConfig"`
	Layers                 *[]string           `json:"Layers"`
	FileSystemConfigs      *[]FileSystemConfig `json:"FileSystemConfigs"`
	ImageConfig            *ImageConfig        `json:"ImageConfig"`
	EphemeralStorage       *EphemeralStorage   `json:"EphemeralStorage"`
	SnapStart              *SnapStart          `json:"SnapStart"`
	LoggingConfig          *LoggingConfig      `json:"LoggingConfig"`
	CapacityProviderConfig json.RawMessage     `json:"CapacityProviderConfig"`
	DurableConfig          json.RawMessage     `json:"DurableConfig"`
	TenancyConfig          json.RawMessage     `json:"TenancyConfig"`
}

func (f *configFields) input() control.ConfigInput {
	in := control.ConfigInput{
		Runtime: f.Runtime, Role: f.Role, Handler: f.Handler, Description: f.Description,
		Timeout: f.Timeout, MemorySize: f.MemorySize, KMSKeyARN: f.KMSKeyArn, Layers: f.Layers,
	}
	if f.Environment != nil {
		vars := f.Environment.Variables
		in.Environment = &vars
	}
	if f.VpcConfig != nil {
		vc := lambdahost.VpcConfig{SubnetIDs: f.VpcConfig.SubnetIds, SecurityGroupIDs: f.VpcConfig.SecurityGroupIds}
		if f.VpcConfig.Ipv6AllowedForDualStack != nil {
			vc.Ipv6AllowedForDualStack = *f.VpcConfig.Ipv6AllowedForDualStack
		}
		in.VpcConfig = &vc
	}
	if f.DeadLetterConfig != nil {
		t := ""
		if f.DeadLetterConfig.TargetArn != nil {
			t = *f.DeadLetterConfig.TargetArn
		}
		in.DeadLetterTarget = &t
	}
	if f.TracingConfig != nil && f.TracingConfig.Mode != nil {
		in.TracingMode = f.TracingConfig.Mode
	}
	if f.FileSystemConfigs != nil {
		fs := []lambdahost.FileSystemConfig{}
		for _, c := range *f.FileSystemConfigs {
			fs = append(fs, lambdahost.FileSystemConfig{ARN: c.Arn, LocalMountPath: c.LocalMountPath})
		}
		in.FileSystemConfigs = &fs
	}
	if f.ImageConfig != nil {
		in.ImageConfig = &lambdahost.ImageConfig{EntryPoint: f.ImageConfig.EntryPoint, Command: f.ImageConfig.Command, WorkingDirectory: f.ImageConfig.WorkingDirectory}
	}
	if f.EphemeralStorage != nil {
		size := 0
		if f.EphemeralStorage.Size != nil {
			size = *f.EphemeralStorage.Size
		}
		in.EphemeralStorage = &size
	}
	if f.SnapStart != nil {
		applyOn := "None"
		if f.SnapStart.ApplyOn != nil {
			applyOn = *f.SnapStart.ApplyOn
		}
		in.SnapStartApplyOn = &applyOn
	}
	if f.LoggingConfig != nil {
		l := lambdahost.LoggingConfig(*f.LoggingConfig)
		in.Logging = &l
	}
	for name, raw := range map[string]json.RawMessage{"CapacityProviderConfig": f.CapacityProviderConfig, "DurableConfig": f.DurableConfig, "TenancyConfig": f.TenancyConfig} {
		if len(raw) > 0 && string(raw) != "null" {
			in.Unsupported = append(in.Unsupported, name)
		}
	}
	return in
}

// functionCode is the Code member of CreateFunction (ZipFile is streamed).
type functionCode struct {
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
	ImageUri        *string `json:"ImageUri"`
	SourceKMSKeyArn *string `json:"SourceKMSKeyArn"`
}

type createFunctionRequest struct {
	configFields
	FunctionName         string            `json:"FunctionName"`
	Code                 *functionCode     `json:"Code"`
	Publish              bool              `json:"Publish"`
	PackageType          string            `json:"PackageType"`
	Tags                 map[string]string `json:"Tags"`
	CodeSigningConfigArn *string           `json:"CodeSigningConfigArn"`
	Architectures        []string          `json:"Architectures"`
	PublishTo            *string           `json:"PublishTo"`
}

// checkBodySize refuses a body whose declared length passes AWS's limit,
// before reading any of it.
func checkBodySize(r *http.Request, op string) error {
	if r.ContentLength > lambdahost.MaxRequestBody {
		return lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Request must be smaller than %d bytes for the %s operation", lambdahost.MaxRequestBody, op)
	}
	return nil
}

// limitBody caps a body whose length was not declared.
type limitBody struct {
	r  io.Reader
	n  int64
	op string
}

func (l *limitBody) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	l.n += int64(n)
	if l.n > lambdahost.MaxRequestBody {
		return n, lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Request must be smaller than %d bytes for the %s operation", lambdahost.MaxRequestBody, l.op)
	}
	return n, err
}

// readCode streams a request whose member at path may carry a zip. It
// returns the rest of the body, the staged zip (nil if absent) and the
// verified request context. The caller must Abort the writer.
func (s *Server) readCode(r *http.Request, path []string) (rest []byte, zip lambdahost.BlobWriter, err error) {
	op := operationOf(r)
	if err := checkBodySize(r, op); err != nil {
		return nil, nil, err
	}
	// Staged code is sealed as it streams in: no plaintext reaches the disk.
	w, err := s.service.StageCode(r.Context())
	if err != nil {
		return nil, nil, err
	}
	rest, found, err := decodeStream(&limitBody{r: r.Body, op: op}, path, w, lambdahost.MaxZippedSize, op)
	if err != nil || !found {
		_ = w.Abort()
		return rest, nil, err
	}
	return rest, w, nil
}

// readCodeRequest reads a request whose member at path may carry a zip,
// decodes the rest into v, and returns the verified context and the staged
// zip (nil if none), which the caller must Abort. On failure it has written
// the error response and returns ok false.
func (s *Server) readCodeRequest(w http.ResponseWriter, r *http.Request, path []string, v any) (ctx context.Context, zip lambdahost.BlobWriter, ok bool) {
	rest, zip, err := s.readCode(r, path)
	if err == nil {
		ctx, err = verifiedContext(r)
	}
	if err == nil {
		err = unmarshal(rest, v)
	}
	if err != nil {
		if zip != nil {
			zip.Abort()
		}
		s.writeError(w, r, err)
		return nil, nil, false
	}
	return ctx, zip, true
}

func (s *Server) handleCreateFunction(w http.ResponseWriter, r *http.Request) {
	var req createFunctionRequest
	began := time.Now()
	ctx, zip, ok := s.readCodeRequest(w, r, []string{"Code", "ZipFile"}, &req)
	if !ok {
		return
	}
	timing := &lambdahost.DeployTiming{Received: time.Since(began)}
	ctx = lambdahost.WithDeployTiming(ctx, timing)
	if zip != nil {
		defer zip.Abort()
	}
	in := &control.CreateFunctionInput{
		FunctionName: req.FunctionName, Config: req.configFields.input(), PackageType: req.PackageType,
		Publish: req.Publish, PublishTo: req.PublishTo, Architectures: req.Architectures, Tags: req.Tags,
		CodeSigningConfigARN: req.CodeSigningConfigArn,
	}
	if req.Code != nil || zip != nil {
		in.Code = &control.CodeInput{Zip: zip}
		if c := req.Code; c != nil {
			in.Code.S3Bucket, in.Code.S3Key, in.Code.S3ObjectVersion = c.S3Bucket, c.S3Key, c.S3ObjectVersion
			in.Code.ImageURI, in.Code.SourceKMSKeyARN = c.ImageUri, c.SourceKMSKeyArn
		}
	}
	if req.FunctionName == "" {
		var v lambdahost.Validation
		v.Add("functionName", "null", "Member must not be null")
		s.writeError(w, r, v.Err())
		return
	}
	out, err := s.service.CreateFunction(ctx, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setServerTiming(w, timing)
	writeJSON(w, http.StatusCreated, toConfiguration(out))
}

type updateCodeRequest struct {
	S3Bucket        *string  `json:"S3Bucket"`
	S3Key           *string  `json:"S3Key"`
	S3ObjectVersion *string  `json:"S3ObjectVersion"`
	ImageUri        *string  `json:"ImageUri"`
	Publish         bool     `json:"Publish"`
	DryRun          bool     `json:"DryRun"`
	RevisionId      *string  `json:"RevisionId"`
	Architectures   []string `json:"Architectures"`
	SourceKMSKeyArn *string  `json:"SourceKMSKeyArn"`
	PublishTo       *string  `json:"PublishTo"`
}

func (s *Server) handleUpdateFunctionCode(w http.ResponseWriter, r *http.Request) {
	var req updateCodeRequest
	began := time.Now()
	ctx, zip, ok := s.readCodeRequest(w, r, []string{"ZipFile"}, &req)
	if !ok {
		return
	}
	timing := &lambdahost.DeployTiming{Received: time.Since(began)}
	ctx = lambdahost.WithDeployTiming(ctx, timing)
	if zip != nil {
		defer zip.Abort()
	}
	out, err := s.service.UpdateFunctionCode(ctx, &control.UpdateCodeInput{
		FunctionName: r.PathValue("FunctionName"),
		Code: control.CodeInput{
			Zip: zip, S3Bucket: req.S3Bucket, S3Key: req.S3Key, S3ObjectVersion: req.S3ObjectVersion,
			ImageURI: req.ImageUri, SourceKMSKeyARN: req.SourceKMSKeyArn,
		},
		Publish: req.Publish, PublishTo: req.PublishTo, DryRun: req.DryRun, RevisionID: req.RevisionId,
		Architectures: req.Architectures,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setServerTiming(w, timing)
	writeJSON(w, http.StatusOK, toConfiguration(out))
}

// setServerTiming tells the client how long each phase of its deployment
// took, in a Server-Timing header (W3C Server Timing; durations in
// milliseconds): receive, hash, seal, store and commit, as
// lambdahost.DeployTiming defines them. lambdahost deploy prints them.
// A DryRun, which deploys nothing, has none.
func setServerTiming(w http.ResponseWriter, t *lambdahost.DeployTiming) {
	if t.Commit == 0 {
		return
	}
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) }
	w.Header().Set("Server-Timing", "receive;dur="+ms(t.Receive)+", hash;dur="+ms(t.Hash)+", seal;dur="+ms(t.Seal)+
		", store;dur="+ms(t.Store)+", commit;dur="+ms(t.Commit))
}

type updateConfigRequest struct {
	configFields
	RevisionId *string `json:"RevisionId"`
}

func (s *Server) handleUpdateFunctionConfiguration(w http.ResponseWriter, r *http.Request) {
	var req updateConfigRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.UpdateFunctionConfiguration(r.Context(), &control.UpdateConfigInput{
		FunctionName: r.PathValue("FunctionName"), Config: req.configFields.input(), RevisionID: req.RevisionId,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toConfiguration(out))
}

// getFunctionResponse is GetFunction's answer.
type getFunctionResponse struct {
	Configuration *FunctionConfiguration `json:"Configuration"`
	Code          *codeLocation          `json:"Code"`
	Tags          map[string]string      `json:"Tags,omitempty"`
	Concurrency   *concurrency           `json:"Concurrency,omitempty"`
}

type codeLocation struct {
	RepositoryType   string `json:"RepositoryType"`
	Location         string `json:"Location,omitempty"`
	ImageUri         string `json:"ImageUri,omitempty"`
	ResolvedImageUri string `json:"ResolvedImageUri,omitempty"`
	SourceKMSKeyArn  string `json:"SourceKMSKeyArn,omitempty"`
}

func (s *Server) handleGetFunction(w http.ResponseWriter, r *http.Request) {
	out, err := s.service.GetFunction(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	code := &codeLocation{SourceKMSKeyArn: out.Code.SourceKMSKeyARN}
	if out.Code.PackageType == lambdahost.PackageImage {
		code.RepositoryType = "ECR"
		code.ImageUri, code.ResolvedImageUri = out.Code.ImageURI, out.Code.ResolvedImageURI
	} else {
		code.RepositoryType = "S3"
		code.Location = s.codeURL(r, out.Function.Account, out.Code)
	}
	resp := &getFunctionResponse{Configuration: toConfiguration(&out.FunctionConfig), Code: code, Tags: out.Tags}
	if out.ReservedConcurrency != nil {
		resp.Concurrency = &concurrency{ReservedConcurrentExecutions: out.ReservedConcurrency}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleGetFunctionConfiguration(w http.ResponseWriter, r *http.Request) {
	out, err := s.service.GetFunctionConfiguration(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toConfiguration(out))
}

func (s *Server) handleDeleteFunction(w http.ResponseWriter, r *http.Request) {
	if err := s.service.DeleteFunction(r.Context(), r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listInput reads Marker and MaxItems from the query string.
func listInput(r *http.Request) (control.ListInput, error) {
	var in control.ListInput
	q := r.URL.Query()
	if q.Has("Marker") {
		m := q.Get("Marker")
		in.Marker = &m
	}
	if q.Has("MaxItems") {
		n, err := strconv.Atoi(q.Get("MaxItems"))
		if err != nil {
			var v lambdahost.Validation
			v.Add("maxItems", lambdahost.Quote(q.Get("MaxItems")), "Member must be a number")
			return in, v.Err()
		}
		in.MaxItems = &n
	}
	return in, nil
}

func optionalQuery(r *http.Request, name string) *string {
	q := r.URL.Query()
	if !q.Has(name) {
		return nil
	}
	v := q.Get(name)
	return &v
}

type listFunctionsResponse struct {
	NextMarker string                   `json:"NextMarker,omitempty"`
	Functions  []*FunctionConfiguration `json:"Functions"`
}

func (s *Server) handleListFunctions(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListFunctions(r.Context(), &control.ListFunctionsInput{
		ListInput: li, FunctionVersion: optionalQuery(r, "FunctionVersion"), MasterRegion: optionalQuery(r, "MasterRegion"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := &listFunctionsResponse{NextMarker: out.NextMarker, Functions: []*FunctionConfiguration{}}
	for i := range out.Functions {
		resp.Functions = append(resp.Functions, toConfiguration(&out.Functions[i]))
	}
	writeJSON(w, http.StatusOK, resp)
}

type publishVersionRequest struct {
	CodeSha256  *string `json:"CodeSha256"`
	Description *string `json:"Description"`
	RevisionId  *string `json:"RevisionId"`
	PublishTo   *string `json:"PublishTo"`
}

func (s *Server) handlePublishVersion(w http.ResponseWriter, r *http.Request) {
	var req publishVersionRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.PublishVersion(r.Context(), &control.PublishVersionInput{
		FunctionName: r.PathValue("FunctionName"), CodeSHA256: req.CodeSha256, Description: req.Description,
		RevisionID: req.RevisionId, PublishTo: req.PublishTo,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toConfiguration(out))
}

type listVersionsResponse struct {
	NextMarker string                   `json:"NextMarker,omitempty"`
	Versions   []*FunctionConfiguration `json:"Versions"`
}

func (s *Server) handleListVersionsByFunction(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListVersionsByFunction(r.Context(), r.PathValue("FunctionName"), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := &listVersionsResponse{NextMarker: out.NextMarker, Versions: []*FunctionConfiguration{}}
	for i := range out.Versions {
		resp.Versions = append(resp.Versions, toConfiguration(&out.Versions[i]))
	}
	writeJSON(w, http.StatusOK, resp)
}

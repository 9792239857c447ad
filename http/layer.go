package http

import (
	"net/http"
	"strconv"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// layerContent is the Content of PublishLayerVersion (ZipFile is streamed).
type layerContent struct {
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
}

type publishLayerVersionRequest struct {
	Content                 *layerContent `json:"Content"`
	Description             *string       `json:"Description"`
	LicenseInfo             *string       `json:"LicenseInfo"`
	CompatibleRuntimes      []string      `json:"CompatibleRuntimes"`
	CompatibleArchitectures []string      `json:"CompatibleArchitectures"`
}

// layerVersionContent is LayerVersionContentOutput.
type layerVersionContent struct {
	Location                 string `json:"Location"`
	CodeSha256               string `json:"CodeSha256"`
	CodeSize                 int64  `json:"CodeSize"`
	SigningProfileVersionArn string `json:"SigningProfileVersionArn,omitempty"`
	SigningJobArn            string `json:"SigningJobArn,omitempty"`
}

// layerVersionResponse is the answer of PublishLayerVersion,
// GetLayerVersion and GetLayerVersionByArn. Description is always there;
// LicenseInfo and the compatibility lists only when they were given (the
// lists as [] when given empty), as AWS answers.
type layerVersionResponse struct {
	Content                 *layerVersionContent `json:"Content"`
	LayerArn                string               `json:"LayerArn"`
	LayerVersionArn         string               `json:"LayerVersionArn"`
	Description             string               `json:"Description"`
	CreatedDate             string               `json:"CreatedDate"`
	Version                 int64                `json:"Version"`
	CompatibleRuntimes      []string             `json:"CompatibleRuntimes,omitzero"`
	LicenseInfo             *string              `json:"LicenseInfo,omitempty"`
	CompatibleArchitectures []string             `json:"CompatibleArchitectures,omitzero"`
}

// layerVersionsListItem is a version in ListLayerVersions and ListLayers:
// no Content, no LayerArn.
type layerVersionsListItem struct {
	LayerVersionArn         string   `json:"LayerVersionArn"`
	Version                 int64    `json:"Version"`
	Description             string   `json:"Description"`
	CreatedDate             string   `json:"CreatedDate"`
	CompatibleRuntimes      []string `json:"CompatibleRuntimes,omitzero"`
	LicenseInfo             *string  `json:"LicenseInfo,omitempty"`
	CompatibleArchitectures []string `json:"CompatibleArchitectures,omitzero"`
}

type layersListItem struct {
	LayerName             string                 `json:"LayerName"`
	LayerArn              string                 `json:"LayerArn"`
	LatestMatchingVersion *layerVersionsListItem `json:"LatestMatchingVersion"`
}

func (s *Server) toLayerVersion(r *http.Request, lv *control.LayerVersion) *layerVersionResponse {
	return &layerVersionResponse{
		Content: &layerVersionContent{
			Location: s.codeURL(r, lv.Layer.Account, lv.Code), CodeSha256: lv.Code.SHA256(), CodeSize: lv.Code.Size,
			SigningProfileVersionArn: lv.Code.SigningProfileVersionARN, SigningJobArn: lv.Code.SigningJobARN,
		},
		LayerArn: lv.Layer.ARN(), LayerVersionArn: lv.ARN(), Description: lv.Description,
		CreatedDate: lv.Created.UTC().Format(timeLayout), Version: lv.Version,
		CompatibleRuntimes: lv.CompatibleRuntimes, LicenseInfo: lv.LicenseInfo, CompatibleArchitectures: lv.CompatibleArchitectures,
	}
}

func toLayerVersionsListItem(lv *control.LayerVersion) *layerVersionsListItem {
	return &layerVersionsListItem{
		LayerVersionArn: lv.ARN(), Version: lv.Version, Description: lv.Description,
		CreatedDate: lv.Created.UTC().Format(timeLayout), CompatibleRuntimes: lv.CompatibleRuntimes,
		LicenseInfo: lv.LicenseInfo, CompatibleArchitectures: lv.CompatibleArchitectures,
	}
}

// versionNumber reads the VersionNumber path label, a long.
func versionNumber(r *http.Request) (int64, error) {
	s := r.PathValue("VersionNumber")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var v lambdahost.Validation
		v.Add("versionNumber", lambdahost.Quote(s), "Member must be a number")
		return 0, v.Err()
	}
	return n, nil
}

// layerFilter reads the compatibility filters of ListLayers and ListLayerVersions.
func layerFilter(r *http.Request) control.LayerFilter {
	return control.LayerFilter{
		CompatibleRuntime:      optionalQuery(r, "CompatibleRuntime"),
		CompatibleArchitecture: optionalQuery(r, "CompatibleArchitecture"),
	}
}

func (s *Server) handlePublishLayerVersion(w http.ResponseWriter, r *http.Request) {
	var req publishLayerVersionRequest
	ctx, zip, ok := s.readCodeRequest(w, r, []string{"Content", "ZipFile"}, &req)
	if !ok {
		return
	}
	if zip != nil {
		defer zip.Abort()
	}
	in := &control.PublishLayerVersionInput{
		LayerName: r.PathValue("LayerName"), Description: req.Description, LicenseInfo: req.LicenseInfo,
		CompatibleRuntimes: req.CompatibleRuntimes, CompatibleArchitectures: req.CompatibleArchitectures,
	}
	if req.Content != nil || zip != nil {
		in.Content = &control.CodeInput{Zip: zip}
		if c := req.Content; c != nil {
			in.Content.S3Bucket, in.Content.S3Key, in.Content.S3ObjectVersion = c.S3Bucket, c.S3Key, c.S3ObjectVersion
		}
	}
	out, err := s.service.PublishLayerVersion(ctx, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.toLayerVersion(r, out))
}

func (s *Server) handleGetLayerVersion(w http.ResponseWriter, r *http.Request) {
	n, err := versionNumber(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.GetLayerVersion(r.Context(), r.PathValue("LayerName"), n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toLayerVersion(r, out))
}

func (s *Server) handleGetLayerVersionByArn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("Arn") {
		var v lambdahost.Validation
		v.Add("arn", "null", "Member must not be null")
		s.writeError(w, r, v.Err())
		return
	}
	out, err := s.service.GetLayerVersionByArn(r.Context(), q.Get("Arn"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toLayerVersion(r, out))
}

type listLayersResponse struct {
	NextMarker string            `json:"NextMarker,omitempty"`
	Layers     []*layersListItem `json:"Layers"`
}

func (s *Server) handleListLayers(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListLayers(r.Context(), layerFilter(r), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := &listLayersResponse{NextMarker: out.NextMarker, Layers: []*layersListItem{}}
	for _, lv := range out.Layers {
		resp.Layers = append(resp.Layers, &layersListItem{LayerName: lv.Layer.Name, LayerArn: lv.Layer.ARN(), LatestMatchingVersion: toLayerVersionsListItem(lv)})
	}
	writeJSON(w, http.StatusOK, resp)
}

type listLayerVersionsResponse struct {
	NextMarker    string                   `json:"NextMarker,omitempty"`
	LayerVersions []*layerVersionsListItem `json:"LayerVersions"`
}

func (s *Server) handleListLayerVersions(w http.ResponseWriter, r *http.Request) {
	li, err := listInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.ListLayerVersions(r.Context(), r.PathValue("LayerName"), layerFilter(r), li)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := &listLayerVersionsResponse{NextMarker: out.NextMarker, LayerVersions: []*layerVersionsListItem{}}
	for _, lv := range out.Versions {
		resp.LayerVersions = append(resp.LayerVersions, toLayerVersionsListItem(lv))
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleDeleteLayerVersion(w http.ResponseWriter, r *http.Request) {
	n, err := versionNumber(r)
	if err == nil {
		err = s.service.DeleteLayerVersion(r.Context(), r.PathValue("LayerName"), n)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type addLayerVersionPermissionRequest struct {
	StatementId    string  `json:"StatementId"`
	Action         string  `json:"Action"`
	Principal      string  `json:"Principal"`
	OrganizationId *string `json:"OrganizationId"`
}

type addLayerVersionPermissionResponse struct {
	Statement  string `json:"Statement"`
	RevisionId string `json:"RevisionId"`
}

func (s *Server) handleAddLayerVersionPermission(w http.ResponseWriter, r *http.Request) {
	var req addLayerVersionPermissionRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := versionNumber(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.AddLayerVersionPermission(r.Context(), &control.LayerVersionPermissionInput{
		LayerName: r.PathValue("LayerName"), Version: n, StatementID: req.StatementId, Action: req.Action,
		Principal: req.Principal, OrganizationID: req.OrganizationId, RevisionID: optionalQuery(r, "RevisionId"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, &addLayerVersionPermissionResponse{Statement: out.Statement, RevisionId: out.RevisionID})
}

type getLayerVersionPolicyResponse struct {
	Policy     string `json:"Policy"`
	RevisionId string `json:"RevisionId"`
}

func (s *Server) handleGetLayerVersionPolicy(w http.ResponseWriter, r *http.Request) {
	n, err := versionNumber(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.service.GetLayerVersionPolicy(r.Context(), r.PathValue("LayerName"), n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &getLayerVersionPolicyResponse{Policy: out.Policy, RevisionId: out.RevisionID})
}

func (s *Server) handleRemoveLayerVersionPermission(w http.ResponseWriter, r *http.Request) {
	n, err := versionNumber(r)
	if err == nil {
		err = s.service.RemoveLayerVersionPermission(r.Context(), r.PathValue("LayerName"), n, r.PathValue("StatementId"), optionalQuery(r, "RevisionId"))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

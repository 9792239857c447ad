package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lambdahost/lambdahost"
)

// Messages AWS answers for images; %s is the ImageUri as the caller gave it.
// Their text is API: clients match on it.
const (
	msgNotValid     = "Source image %s is not valid. Provide a valid source image."
	msgNotExist     = "Source image %s does not exist. Provide a valid source image."
	msgUnsupported  = "The image manifest, config or layer media type for the source image %s is not supported."
	msgAccessDenied = "Lambda does not have permission to access the ECR image. Check the ECR permissions."
	// msgArchitecture is lambdahost's own. AWS does not compare an image's
	// architecture with the function's when the function is created; the
	// function fails when invoked ("exec format error"). Refusing early is
	// kinder and costs the caller nothing AWS would have let work.
	msgArchitecture = "The architecture of the source image %s (%s) does not match the architecture of the function (%s)."
)

// Fetch resolves loc.ImageURI and writes the image manifest into w: its
// digest becomes the function's CodeSha256. For an image index it writes
// the manifest of the platform that loc.Architecture names. account is not
// used: credentials come from s.Keychain.
//
// Fetch answers InvalidParameterValueException when the URI is malformed
// or names no registry, tag or digest, when the image does not exist or the
// registry cannot be reached within FetchTimeout, when a manifest, config
// or layer media type is not one Lambda runs, and when the image is not
// built for the function's architecture; AccessDeniedException when the
// registry refuses the credentials (or their absence).
func (s *Source) Fetch(ctx context.Context, account string, loc lambdahost.CodeLocation, w lambdahost.BlobWriter) (lambdahost.Code, error) {
	s.init()
	uri := loc.ImageURI
	ref, err := s.parseReference(uri)
	if err != nil {
		return lambdahost.Code{}, err
	}
	arch, err := goArch(loc.Architecture)
	if err != nil {
		return lambdahost.Code{}, err
	}
	fctx, cancel := context.WithTimeout(ctx, s.fetchTimeout())
	defer cancel()
	raw, err := s.resolve(fctx, ref, uri, arch)
	if err != nil {
		return lambdahost.Code{}, fetchError(ctx, uri, err)
	}
	if _, err := w.Write(raw); err != nil {
		return lambdahost.Code{}, fmt.Errorf("write manifest of %s: %w", uri, err)
	}
	sum := sha256.Sum256(raw)
	return lambdahost.Code{
		PackageType:      lambdahost.PackageImage,
		ImageURI:         uri,
		ResolvedImageURI: repository(uri) + "@sha256:" + hex.EncodeToString(sum[:]),
	}, nil
}

// parseReference parses an ImageUri as AWS accepts it: a registry host, a
// repository, and a tag or digest.
func (s *Source) parseReference(uri string) (name.Reference, error) {
	host, _, ok := strings.Cut(uri, "/")
	// Without an explicit registry, go-containerregistry would read from
	// Docker Hub; AWS refuses such URIs, and so does lambdahost.
	if !ok || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return nil, lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgNotValid, uri)
	}
	ref, err := name.ParseReference(uri, s.nameOptions(uri)...)
	if err != nil {
		e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgNotValid, uri)
		e.Err = err
		return nil, e
	}
	return ref, nil
}

// repository returns uri without its tag or digest, spelled as given.
func repository(uri string) string {
	if i := strings.IndexByte(uri, '@'); i >= 0 {
		uri = uri[:i]
	}
	if i := strings.LastIndexByte(uri, ':'); i > strings.LastIndexByte(uri, '/') {
		uri = uri[:i]
	}
	return uri
}

// goArch maps a Lambda architecture to the OCI platform architecture.
func goArch(a string) (string, error) {
	switch a {
	case "", "x86_64":
		return "amd64", nil
	case "arm64":
		return "arm64", nil
	}
	return "", lambdahost.Errorf(lambdahost.InvalidParameterValueException, "Unsupported architecture %s.", a)
}

// lambdaArch maps an OCI platform architecture to Lambda's name for it.
func lambdaArch(a string) string {
	if a == "amd64" {
		return "x86_64"
	}
	return a
}

// resolve fetches the manifest ref names and, for an index, the manifest
// of platform linux/arch in it; it checks media types and the config's
// platform and returns the manifest's bytes.
func (s *Source) resolve(ctx context.Context, ref name.Reference, uri, arch string) ([]byte, error) {
	opts := s.remoteOptions(ctx)
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, err
	}
	if desc.MediaType.IsIndex() {
		child, err := pickPlatform(desc.Manifest, uri, arch)
		if err != nil {
			return nil, err
		}
		if desc, err = remote.Get(ref.Context().Digest(child.String()), opts...); err != nil {
			return nil, err
		}
		if sum := sha256.Sum256(desc.Manifest); hex.EncodeToString(sum[:]) != child.Hex {
			return nil, fmt.Errorf("manifest %s: content does not match its digest", child)
		}
	}
	if err := checkManifest(desc.MediaType, desc.Manifest); err != nil {
		e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgUnsupported, uri)
		e.Err = err
		return nil, e
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	cfg, err := parseConfig(rawCfg)
	if err != nil {
		e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgUnsupported, uri)
		e.Err = err
		return nil, e
	}
	if cfg.OS != "" && cfg.OS != "linux" {
		e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgUnsupported, uri)
		e.Err = fmt.Errorf("image OS is %q, not linux", cfg.OS)
		return nil, e
	}
	if cfg.Architecture != "" && cfg.Architecture != arch {
		return nil, lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgArchitecture, uri, lambdaArch(cfg.Architecture), lambdaArch(arch))
	}
	return desc.Manifest, nil
}

// pickPlatform returns the digest of the linux/arch image manifest listed
// in the index raw.
func pickPlatform(raw []byte, uri, arch string) (v1.Hash, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgUnsupported, uri)
		e.Err = err
		return v1.Hash{}, e
	}
	var archs []string
	for _, m := range idx.Manifests {
		// Attestation manifests (buildx provenance and SBOMs) have the
		// platform unknown/unknown and are skipped with everything else
		// that is not a Linux image.
		if !isManifestType(m.MediaType) || m.Platform == nil || m.Platform.OS != "linux" || m.Digest.Algorithm != "sha256" {
			continue
		}
		p := m.Platform
		if p.Architecture == arch && (arch != "arm64" || p.Variant == "" || p.Variant == "v8") {
			return m.Digest, nil
		}
		if a := lambdaArch(p.Architecture); !slices.Contains(archs, a) {
			archs = append(archs, a)
		}
	}
	if len(archs) == 0 {
		e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgUnsupported, uri)
		e.Err = errors.New("image index lists no Linux image manifest")
		return v1.Hash{}, e
	}
	return v1.Hash{}, lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgArchitecture, uri, strings.Join(archs, ", "), lambdaArch(arch))
}

func isManifestType(mt types.MediaType) bool {
	return mt == types.OCIManifestSchema1 || mt == types.DockerManifestSchema2
}

// checkManifest parses an image manifest and checks that lambdahost can
// run what it describes: Docker schema 2 or OCI media types, a JSON config,
// and layers that are tar archives, plain, gzip or zstd compressed.
// Foreign and non-distributable layers (Windows base layers) are refused.
func checkManifest(mt types.MediaType, raw []byte) error {
	if !isManifestType(mt) {
		return fmt.Errorf("manifest media type %q", mt)
	}
	if len(raw) > maxManifestSize {
		return fmt.Errorf("manifest of %d bytes: limit is %d", len(raw), maxManifestSize)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parse manifest: %w", err)
	}
	if m.MediaType != "" && m.MediaType != mt {
		return fmt.Errorf("manifest says media type %q, registry says %q", m.MediaType, mt)
	}
	switch m.Config.MediaType {
	case types.DockerConfigJSON, types.OCIConfigJSON:
	default:
		return fmt.Errorf("config media type %q", m.Config.MediaType)
	}
	if m.Config.Size > maxConfigSize {
		return fmt.Errorf("config of %d bytes: limit is %d", m.Config.Size, maxConfigSize)
	}
	for _, l := range m.Layers {
		switch l.MediaType {
		case types.DockerLayer, types.DockerUncompressedLayer, types.OCILayer, types.OCIUncompressedLayer, types.OCILayerZStd:
		default:
			return fmt.Errorf("layer %s: media type %q", l.Digest, l.MediaType)
		}
	}
	return nil
}

// fetchError turns a registry error into AWS's answer. ctx is the caller's:
// if it ended, that, not the registry, is the cause.
func fetchError(ctx context.Context, uri string, err error) error {
	var apiErr *lambdahost.Error
	if errors.As(err, &apiErr) {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("fetch image %s: %w", uri, ctx.Err())
	}
	notExist := func() error {
		e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgNotExist, uri)
		e.Err = err
		return e
	}
	var te *transport.Error
	if errors.As(err, &te) {
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return notExist()
			case transport.NameInvalidErrorCode, transport.TagInvalidErrorCode:
				e := lambdahost.Errorf(lambdahost.InvalidParameterValueException, msgNotValid, uri)
				e.Err = err
				return e
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				e := lambdahost.Errorf(lambdahost.AccessDeniedException, msgAccessDenied)
				e.Err = err
				return e
			}
		}
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			e := lambdahost.Errorf(lambdahost.AccessDeniedException, msgAccessDenied)
			e.Err = err
			return e
		case te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests:
			// The registry failed or is overloaded; trying again may
			// work, so this is a ServiceException, not the caller's error.
			return fmt.Errorf("fetch image %s: %w", uri, err)
		}
		// Any other refusal (404, or 400 from a server that is not a
		// registry) means there is no such image there.
		return notExist()
	}
	// The registry never answered: the name does not resolve, nothing
	// listens, TLS fails, or FetchTimeout passed. AWS's nearest answer is
	// that the image does not exist; the cause is logged.
	return notExist()
}

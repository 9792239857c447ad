package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/lambdahost/lambdahost"
)

var _ interface {
	Prepare(context.Context, *lambdahost.Version) error
} = (*Source)(nil)

// Prepare pulls and unpacks v's image while its version settles (control
// finds it by type assertion). A failure the image owner can fix is a
// *lambdahost.ReasonError with the reason code AWS uses, so the update
// ends Failed with it: ImageDeleted when the registry no longer has the
// image, ImageAccessDenied when it refuses lambdahost, InvalidImage when
// the image cannot be used. Other failures are ours and end InternalError.
func (s *Source) Prepare(ctx context.Context, v *lambdahost.Version) error {
	_, err := s.Unpack(ctx, v.Code.Digest, v.Code.ResolvedImageURI)
	if err == nil {
		return nil
	}
	uri := v.Code.ResolvedImageURI
	reason := func(code, format string) error {
		return &lambdahost.ReasonError{Code: code, Message: fmt.Sprintf(format, uri), Err: err}
	}
	var terr *transport.Error
	switch {
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.BlobUnknownErrorCode, transport.NameUnknownErrorCode)):
		return reason("ImageDeleted", "Lambda cannot find the image %s in its registry. The image may have been deleted.")
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden || hasCode(terr, transport.UnauthorizedErrorCode, transport.DeniedErrorCode)):
		return reason("ImageAccessDenied", "Lambda does not have permission to pull the image %s from its registry.")
	case errors.Is(err, ErrLimit):
		return reason("InvalidImage", "The image %s is too large or has too many files to be used by a function.")
	}
	var apiErr *lambdahost.Error
	if errors.As(err, &apiErr) {
		return reason("InvalidImage", "The image %s cannot be used by a function: "+apiErr.Message)
	}
	return err
}

func hasCode(e *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range e.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

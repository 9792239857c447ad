package signer

import (
	"context"

	"github.com/lambdahost/lambdahost"
)

// SigningPlatformID is the one signing platform lambdahost offers: AWS
// Lambda's, ECDSA over P-384 with SHA-384.
const SigningPlatformID = "AWSLambda-SHA384-ECDSA"

// SigningPlatform is a signing platform as GetSigningPlatform answers it.
type SigningPlatform struct {
	PlatformID                 string
	DisplayName                string
	Partner                    string
	Target                     string
	Category                   string
	EncryptionAlgorithms       []string
	DefaultEncryptionAlgorithm string
	HashAlgorithms             []string
	DefaultHashAlgorithm       string
	ImageFormats               []string
	DefaultImageFormat         string
	MaxSizeInMB                int
	RevocationSupported        bool
}

// lambdaPlatform is AWS Signer's AWSLambda-SHA384-ECDSA platform.
var lambdaPlatform = SigningPlatform{
	PlatformID:                 SigningPlatformID,
	DisplayName:                "AWS Lambda",
	Partner:                    "AWSLambda",
	Target:                     "SHA384-ECDSA",
	Category:                   "AWS",
	EncryptionAlgorithms:       []string{"ECDSA"},
	DefaultEncryptionAlgorithm: "ECDSA",
	HashAlgorithms:             []string{"SHA384"},
	DefaultHashAlgorithm:       "SHA384",
	ImageFormats:               []string{"JSONDetached"},
	DefaultImageFormat:         "JSONDetached",
	MaxSizeInMB:                250,
	RevocationSupported:        true,
}

// GetSigningPlatform returns the platform named id; ResourceNotFoundException
// for any but AWSLambda-SHA384-ECDSA.
func (s *Service) GetSigningPlatform(ctx context.Context, id string) (*SigningPlatform, error) {
	if id != SigningPlatformID {
		return nil, lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Platform %s not found.", id)
	}
	p := lambdaPlatform
	return &p, nil
}

// ListSigningPlatforms returns the platforms matching the filters given
// (empty ones match all).
func (s *Service) ListSigningPlatforms(ctx context.Context, category, partner, target string) []SigningPlatform {
	p := lambdaPlatform
	if (category != "" && category != p.Category) || (partner != "" && partner != p.Partner) || (target != "" && target != p.Target) {
		return []SigningPlatform{}
	}
	return []SigningPlatform{p}
}

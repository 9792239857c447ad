package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/lambdahost/lambdahost"
)

// Code is sealed at rest under a KMS key of the key service (Keys): the
// function's SourceKMSKeyArn, or the account's service-managed key.

// keyProblem is why a key cannot seal or open code: the reason code AWS
// reports on a failed update and the error Invoke answers.
type keyProblem struct {
	reason  string // LastUpdateStatusReasonCode / StateReasonCode
	message string
	invoke  lambdahost.ErrorType
}

func (p *keyProblem) Error() string { return p.reason + ": " + p.message }

// reasonError returns p as the reason a creation or update failed.
func (p *keyProblem) reasonError() *lambdahost.ReasonError {
	return &lambdahost.ReasonError{Code: p.reason, Message: p.message, Err: p}
}

// apiError returns p as Invoke's error.
func (p *keyProblem) apiError() *lambdahost.Error {
	e := lambdahost.Errorf(p.invoke, "%s", p.message)
	e.Err = p
	return e
}

// wordKeyError turns the key service's *lambdahost.KeyError into a
// *keyProblem, worded as Lambda words it; other errors pass unchanged.
func wordKeyError(err error) error {
	var ke *lambdahost.KeyError
	switch {
	case !errors.As(err, &ke):
		return err
	case errors.Is(ke, lambdahost.ErrKeyDisabled):
		return &keyProblem{
			reason:  "DisabledKMSKey",
			message: fmt.Sprintf("Lambda was unable to decrypt the function's deployment package because the KMS key used is disabled. Check the function's SourceKMSKeyArn: %s.", ke.ARN),
			invoke:  lambdahost.KMSDisabledException,
		}
	default:
		return &keyProblem{
			reason:  "KMSKeyNotFound",
			message: fmt.Sprintf("Lambda was unable to decrypt the function's deployment package because the KMS key was not found. Check the function's SourceKMSKeyArn: %s.", ke.ARN),
			invoke:  lambdahost.KMSNotFoundException,
		}
	}
}

// errNoKeyService is the failure of code operations when no key service
// is configured.
var errNoKeyService = errors.New("no key service configured")

// codeKeyFor returns the key that seals code of account in region: the
// key named by sourceARN, or the service-managed default key, created on
// first use. A missing or disabled key is a *keyProblem.
func (s *Service) codeKeyFor(ctx context.Context, account, region, sourceARN string) (lambdahost.CodeKey, error) {
	if s.Keys == nil {
		return nil, errNoKeyService
	}
	k, err := s.Keys.CodeKey(ctx, account, region, sourceARN)
	return k, wordKeyError(err)
}

// codeKeyByARN returns the key arn that sealed code, whichever account's
// default or customer key it is, for opening the code.
func (s *Service) codeKeyByARN(ctx context.Context, arn string) (lambdahost.CodeKey, error) {
	if s.Keys == nil {
		return nil, errNoKeyService
	}
	k, err := s.Keys.CodeKeyByARN(ctx, arn)
	return k, wordKeyError(err)
}

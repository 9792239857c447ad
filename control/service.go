package control

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// DefaultCodeStorageLimit is AWS's default code storage quota per account (75 GB).
const DefaultCodeStorageLimit int64 = 80530636800

// Preparer readies a version's code for execution. The executor implements
// it; settling a version calls it, and its failure fails the update.
type Preparer interface {
	Prepare(ctx context.Context, v *lambdahost.Version) error
}

// Service implements the Lambda control plane.
type Service struct {
	store lambdahost.Store
	blobs lambdahost.BlobStore

	// S3 fetches code from S3 objects. If nil, S3 sources answer AWS's
	// error for a bucket that does not exist.
	S3 lambdahost.CodeSource
	// Images fetches container images. If nil, ImageUri answers AWS's
	// error for an image that does not exist.
	Images lambdahost.CodeSource
	// Preparer readies code for execution while a version settles. If nil,
	// settling only checks that the code blob is stored.
	Preparer Preparer
	// InlineCodeMax is the size up to which a zip is stored with the
	// metadata, so that one commit makes code and version durable (one fsync
	// instead of three). If zero, DefaultInlineCodeMax; if negative, never.
	InlineCodeMax int64
	// CodeStorageLimit is each account's code storage quota in bytes.
	// If zero, DefaultCodeStorageLimit is used.
	CodeStorageLimit int64
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
	// NewRevisionID returns a fresh RevisionId. If nil, a random UUID is used.
	NewRevisionID func() string
	// NewCodeSigningConfigID returns the ID of a new code signing config
	// ("csc-" and 17 lowercase letters or digits). If nil, a random one.
	NewCodeSigningConfigID func() string
	// Rand returns a number in [0, 1) for an alias's weighted routing. It
	// must be safe for concurrent use. If nil, math/rand/v2's Float64 is
	// used.
	Rand func() float64
	// Logger receives the service's logs. If nil, slog.Default is used.
	Logger *slog.Logger
	// Collectors are told, at each garbage collection, which code is still
	// referenced, so that they drop what they derived from the rest (the
	// executor's unpacked packages). The S3 and Images sources are asked
	// too if they are Collectors.
	Collectors []Collector
	// Deleted, if set, is called after a function or one of its versions
	// is deleted, so that the executor stops their environments now rather
	// than when they idle out.
	Deleted func(id lambdahost.FunctionID)
	// Keys is the key service whose KMS keys seal code at rest. Operations
	// that store or open code fail without one.
	Keys lambdahost.KeyService
	// Publishers tells code signing checks who made a signature. If nil,
	// no publisher is known: a package signed by a profile a config allows
	// cannot be verified.
	Publishers lambdahost.Publishers
	// SettleSync makes settling happen before an operation returns instead
	// of just after. Tests use it for deterministic golden files.
	SettleSync bool

	// codeMu orders code commits against garbage collection: operations
	// hold it shared from committing a blob until the metadata that
	// references it has committed; CollectGarbage holds it exclusively while
	// it decides and deletes. Otherwise GC could delete a blob that an
	// update has just re-committed (deduplicated) and is about to reference.
	// It covers one process; several processes sharing a store need a lock
	// in the store (a later PostgreSQL issue).
	codeMu sync.RWMutex

	bg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
}

// New returns a Service over store and blobs. Call Start before use.
func New(store lambdahost.Store, blobs lambdahost.BlobStore) *Service {
	return &Service{store: store, blobs: blobs}
}

func (s *Service) init() {
	s.once.Do(func() {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
		s.Logger = s.Logger.With(lambdahost.LogKeyComponent, "control")
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.NewCodeSigningConfigID == nil {
			s.NewCodeSigningConfigID = newCSCID
		}
		if s.NewRevisionID == nil {
			s.NewRevisionID = lambdahost.NewID
		}
		if s.Rand == nil {
			s.Rand = rand.Float64
		}
		if s.CodeStorageLimit == 0 {
			s.CodeStorageLimit = DefaultCodeStorageLimit
		}
	})
}

// Start settles every version left Pending or InProgress by a previous
// process (a crash between an update's two commits).
func (s *Service) Start(ctx context.Context) error {
	s.init()
	var unsettled []*lambdahost.Version
	if err := s.store.View(ctx, func(tx lambdahost.Tx) error {
		var err error
		unsettled, err = tx.Unsettled(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("find unsettled versions: %w", err)
	}
	for _, v := range unsettled {
		s.Logger.InfoContext(ctx, "settling version left unsettled", lambdahost.LogKeyFunction, v.ARN())
		s.settle(ctx, v.Function, v.Name, v.RevisionID)
	}
	return nil
}

// Close waits for background settling to finish.
func (s *Service) Close() error {
	s.init()
	s.bg.Wait()
	s.cancel()
	return nil
}

// caller returns the authenticated caller of ctx.
func caller(ctx context.Context) (lambdahost.Caller, error) {
	return lambdahost.AuthenticatedCaller(ctx)
}

// target is a resolved function reference.
type target struct {
	id        lambdahost.FunctionID
	qualifier string
	raw       string
}

// resolve parses a FunctionName path value against the caller's account and
// region, and reconciles it with a separate Qualifier parameter (may be "").
func resolve(ctx context.Context, name string, kind lambdahost.NameKind, qualifier string) (target, error) {
	c, err := caller(ctx)
	if err != nil {
		return target{}, err
	}
	ref, err := lambdahost.ParseFunctionName(name, kind)
	if err != nil {
		return target{}, err
	}
	if qualifier != "" && !lambdahost.ValidQualifier(qualifier) {
		var v lambdahost.Validation
		v.Add("qualifier", lambdahost.Quote(qualifier), "Member must satisfy regular expression pattern: "+lambdahost.PatternQualifier)
		return target{}, v.Err()
	}
	if ref.Account != "" && ref.Account != c.Account {
		id := lambdahost.FunctionID{Account: ref.Account, Region: c.Region, Name: ref.Name}
		return target{}, accessDenied(c, id.QualifiedARN(ref.Qualifier))
	}
	if ref.Region != "" && ref.Region != c.Region {
		return target{}, lambdahost.Errorf(lambdahost.ResourceNotFoundException,
			"Functions from '%s' are not reachable in this region ('%s')", ref.Region, c.Region)
	}
	q := ref.Qualifier
	if qualifier != "" {
		if q != "" && q != qualifier {
			return target{}, lambdahost.Errorf(lambdahost.InvalidParameterValueException,
				"The derived qualifier from the function name does not match the specified qualifier.")
		}
		q = qualifier
	}
	return target{id: lambdahost.FunctionID{Account: c.Account, Region: c.Region, Name: ref.Name}, qualifier: q, raw: name}, nil
}

// accessDenied is AWS's answer to a caller naming another account's resource.
func accessDenied(c lambdahost.Caller, resource string) error {
	return lambdahost.AccessDenied(c, resource)
}

// qualifierRule says which qualifier an operation on the function itself
// accepts in its FunctionName.
type qualifierRule int

const (
	// ruleFunctionOnly refuses aliases and versions.
	ruleFunctionOnly qualifierRule = iota
	// ruleLatestOnly accepts only $LATEST, for operations that change it.
	ruleLatestOnly
)

// resolveFunction resolves a FunctionName of the model's FunctionName shape
// for an operation on the function itself, applying rule to a qualifier.
func resolveFunction(ctx context.Context, name string, rule qualifierRule) (target, error) {
	t, err := resolve(ctx, name, lambdahost.NameFunction, "")
	if err != nil {
		return t, err
	}
	if rule == ruleLatestOnly {
		return t, t.latestOnly()
	}
	return t, t.unqualified()
}

// unqualified rejects a qualified name for operations on the function itself.
func (t target) unqualified() error {
	if t.qualifier != "" {
		return lambdahost.Errorf(lambdahost.InvalidParameterValueException,
			"This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
	}
	return nil
}

// latestOnly rejects a qualifier other than $LATEST, for operations that
// change $LATEST.
func (t target) latestOnly() error {
	if t.qualifier != "" && t.qualifier != lambdahost.VersionLatest {
		return lambdahost.Errorf(lambdahost.InvalidParameterValueException,
			"Current operation does not support versions other than $LATEST. Please set the version to $LATEST or do not set a version in your request.")
	}
	return nil
}

func notFound(id lambdahost.FunctionID, qualifier string) error {
	return lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Function not found: %s", id.QualifiedARN(qualifier))
}

func inProgress(id lambdahost.FunctionID) error {
	return lambdahost.Errorf(lambdahost.ResourceConflictException,
		"The operation cannot be performed at this time. An update is in progress for resource: %s", id.ARN())
}

func revisionMismatch() error {
	return lambdahost.Errorf(lambdahost.PreconditionFailedException,
		"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}

// internal wraps an unexpected error as a ServiceException, keeping the
// cause for the log: lambdahost.Internal.
func internal(op string, err error) error { return lambdahost.Internal(op, err) }

// now returns the current time truncated to milliseconds in UTC, the
// precision of LastModified.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

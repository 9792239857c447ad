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
	// NewMappingID returns the UUID of a new event source mapping. If nil,
	// a random UUID.
	NewMappingID func() string
	// NewURLID returns the ID of a new function URL (32 lowercase letters
	// and digits). If nil, a random one.
	NewURLID func() string
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
	// Messengers send the messages of destinations and dead-letter
	// queues, by the service their ARN names: "sqs", "sns", "events" and
	// "s3". A message for a service without one is retried until it is
	// MaxDeliveryAge old, and the log says why.
	Messengers map[string]lambdahost.Messenger
	// MaxDeliveryAge is how long a message that cannot be sent is retried
	// before it is given up. If zero, DefaultMaxDeliveryAge.
	MaxDeliveryAge time.Duration
	// DeliveryBackoff is the wait after a failed send, doubled at each
	// further failure up to five minutes. If zero, DefaultDeliveryBackoff.
	DeliveryBackoff time.Duration
	// Metrics counts what the asynchronous machinery does.
	Metrics Metrics
	// Queues and Streams are the SQS and Kinesis services event source
	// mappings poll. A mapping of a source without its service is kept,
	// and not polled. StartMappings sets the Runner that invokes their
	// functions.
	Queues  lambdahost.Queues
	Streams lambdahost.Streams
	Runner  Runner
	// Provisioner keeps the environments of provisioned concurrency
	// (StartProvisioning sets it); ProvisionInterval is how often the node
	// looks at the configs. If zero, DefaultProvisionInterval.
	Provisioner       Provisioner
	ProvisionInterval time.Duration
	// ESMInterval is how often the node looks at every event source
	// mapping: disabling one stops its polling within about that. If
	// zero, DefaultESMInterval.
	ESMInterval time.Duration

	// Meter receives what the service measures: code deployments by
	// phase, the time updates take to settle, signature validation errors
	// and garbage collection. If nil, nothing is measured.
	Meter lambdahost.Meter
	// SettleSync makes settling happen before an operation returns instead
	// of just after. Tests use it for deterministic golden files.
	SettleSync bool

	// Node identifies this process among those serving the store: the
	// work it claims is its own while it renews its registration every
	// NodeTTL/3 (see lambdahost.Coordinator). If empty, a new ID.
	Node string
	// NodeTTL is how long the node's registration lasts without renewal:
	// work of a node that dies is taken over by another after about that.
	// If zero, DefaultNodeTTL.
	NodeTTL time.Duration

	// provisionWake wakes the provisioner (see provisionChanged).
	provisionWake chan struct{}
	// deliveries are the messages this node sends (see delivery.go).
	deliveries deliveryQueue
	// esm runs the event source mappings this node holds (esmrun.go).
	esm runner
	// prov keeps the provisioned environments this node holds.
	prov provisioner
	// loops are the background loops Start starts and Close stops.
	loops     sync.WaitGroup
	stopLoops context.CancelFunc
	loopCtx   context.Context
	// mappings is the event source mapping runner (StartMappings).
	mappings     sync.WaitGroup
	stopMappings context.CancelFunc

	bg sync.WaitGroup
	// beat renews the node's registration until Close.
	beat     sync.WaitGroup
	stopBeat context.CancelFunc
	started  bool
	ctx      context.Context
	cancel   context.CancelFunc
	once     sync.Once
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
		if s.NewMappingID == nil {
			s.NewMappingID = lambdahost.NewID
		}
		if s.Rand == nil {
			s.Rand = rand.Float64
		}
		if s.CodeStorageLimit == 0 {
			s.CodeStorageLimit = DefaultCodeStorageLimit
		}
		if s.Node == "" {
			s.Node = lambdahost.NewNodeID()
		}
		if s.NodeTTL == 0 {
			s.NodeTTL = DefaultNodeTTL
		}
		s.provisionWake = make(chan struct{}, 1)
		if s.MaxDeliveryAge == 0 {
			s.MaxDeliveryAge = DefaultMaxDeliveryAge
		}
		if s.DeliveryBackoff == 0 {
			s.DeliveryBackoff = DefaultDeliveryBackoff
		}
		s.deliveries = deliveryQueue{queued: map[string]bool{}, wake: make(chan struct{}, 1)}
		if s.ESMInterval == 0 {
			s.ESMInterval = DefaultESMInterval
		}
		s.esm = runner{pollers: map[string]*poller{}, wake: make(chan struct{}, 1)}
		if s.ProvisionInterval == 0 {
			s.ProvisionInterval = DefaultProvisionInterval
		}
		s.prov = provisioner{held: map[string]string{}}
	})
}

// Start registers the node and takes over the work no live node holds
// (see Sweep): versions left Pending or InProgress by a process that
// stopped between an update's two commits. Then it renews the node's
// registration in the background until Close.
func (s *Service) Start(ctx context.Context) error {
	s.init()
	if err := s.store.Heartbeat(ctx, s.Node, s.NodeTTL); err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	bctx, stop := context.WithCancel(s.ctx)
	s.stopBeat, s.started = stop, true
	s.beat.Go(func() { s.heartbeat(bctx) })
	lctx, stopLoops := context.WithCancel(s.ctx)
	s.stopLoops = stopLoops
	for range deliveryWorkers {
		s.loops.Go(func() { s.deliveryLoop(lctx) })
	}
	s.loopCtx = lctx
	return s.Sweep(ctx)
}

// StartMappings starts running the event source mappings, invoking their
// functions through r, until Close. Call it after Start.
func (s *Service) StartMappings(r Runner) {
	s.init()
	s.Runner = r
	ctx, cancel := context.WithCancel(s.loopCtx)
	s.stopMappings = cancel
	s.mappings.Go(func() { s.esmLoop(ctx) })
}

// StopMappings stops polling event sources and waits until the batches in
// flight are settled. Close does too; a server calls it before it stops
// the executor that runs the batches.
func (s *Service) StopMappings() {
	s.init()
	if s.stopMappings != nil {
		s.stopMappings()
	}
	s.mappings.Wait()
}

// Close waits for background settling to finish, then ends the node's
// registration, so that other nodes take over its unfinished work (the
// asynchronous events it did not finish) at once.
func (s *Service) Close() error {
	s.init()
	s.StopMappings()
	if s.stopLoops != nil {
		s.stopLoops()
		s.loops.Wait()
	}
	s.bg.Wait()
	var err error
	if s.started {
		s.stopBeat()
		s.beat.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = s.store.Leave(ctx, s.Node)
		cancel()
	}
	s.cancel()
	return err
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
	// foreign marks another account's function in the caller's region,
	// which only resolveGranted admits (see policy.go). named is the
	// qualifier the name itself carried, which AccessDeniedException's
	// resource shows; mismatch is a Qualifier parameter's contradiction
	// of it, held back until access is granted, so that strangers learn
	// nothing about the function.
	foreign  bool
	named    string
	mismatch error
}

// resolve parses a FunctionName path value against the caller's account and
// region, and reconciles it with a separate Qualifier parameter (may be "").
// Another account's function is refused with AccessDeniedException.
func resolve(ctx context.Context, name string, kind lambdahost.NameKind, qualifier string) (target, error) {
	t, err := resolveAny(ctx, name, kind, qualifier)
	if err == nil && t.foreign {
		c, _ := caller(ctx)
		return target{}, accessDenied(c, t.id.QualifiedARN(t.named))
	}
	return t, err
}

// resolveAny is resolve that answers another account's function in the
// caller's region as a foreign target instead of refusing it.
func resolveAny(ctx context.Context, name string, kind lambdahost.NameKind, qualifier string) (target, error) {
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
	q := ref.Qualifier
	var mismatch error
	if qualifier != "" {
		if q != "" && q != qualifier {
			mismatch = lambdahost.Errorf(lambdahost.InvalidParameterValueException,
				"The derived qualifier from the function name does not match the specified qualifier.")
		}
		q = qualifier
	}
	if ref.Account != "" && ref.Account != c.Account {
		id := lambdahost.FunctionID{Account: ref.Account, Region: c.Region, Name: ref.Name}
		if ref.Region != "" && ref.Region != c.Region {
			return target{}, accessDenied(c, id.QualifiedARN(ref.Qualifier))
		}
		return target{id: id, qualifier: q, raw: name, foreign: true, named: ref.Qualifier, mismatch: mismatch}, nil
	}
	if ref.Region != "" && ref.Region != c.Region {
		return target{}, lambdahost.Errorf(lambdahost.ResourceNotFoundException,
			"Functions from '%s' are not reachable in this region ('%s')", ref.Region, c.Region)
	}
	if mismatch != nil {
		return target{}, mismatch
	}
	return target{id: lambdahost.FunctionID{Account: c.Account, Region: c.Region, Name: ref.Name}, qualifier: q, raw: name, named: ref.Qualifier}, nil
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

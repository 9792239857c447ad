package s3

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/lambdahost/lambdahost"
)

// Defaults for the zero values of [Options].
const (
	// DefaultRegion is the region used when neither Options nor the SDK's
	// configuration names one.
	DefaultRegion = "us-east-1"
	// DefaultTimeout bounds a GetObject until S3's response headers arrive,
	// retries included.
	DefaultTimeout = 10 * time.Second
	// DefaultStallTimeout is how long the object's body may send nothing.
	DefaultStallTimeout = 30 * time.Second
	// DefaultConnectTimeout bounds one attempt to open a connection.
	DefaultConnectTimeout = 3 * time.Second
	// DefaultMaxAttempts is how many times a request is sent at most.
	DefaultMaxAttempts = 3
)

// maxBackoff caps the wait between attempts, which the SDK's default of 20
// seconds would let outlast DefaultTimeout.
const maxBackoff = time.Second

// Log attribute keys of this package.
const (
	logKeyBucket   = "s3_bucket"
	logKeyKey      = "s3_key"
	logKeyVersion  = "s3_version"
	logKeyBytes    = "bytes"
	logKeyDuration = "duration"
)

// Options configure a [CodeSource]. The zero value fetches from AWS with
// the SDK's default configuration.
type Options struct {
	// Endpoint is the S3 endpoint URL, such as "http://127.0.0.1:7070".
	// If empty, the SDK's configuration decides: AWS_ENDPOINT_URL_S3,
	// AWS_ENDPOINT_URL, endpoint_url in the shared config file, else AWS's
	// endpoint for the region.
	Endpoint string
	// PathStyle addresses buckets in the path (http://host/bucket/key)
	// instead of the host name (http://bucket.host/key). S3-compatible
	// servers without wildcard DNS need it, unless Endpoint's host is an IP
	// address, for which the SDK uses path style anyway.
	PathStyle bool
	// Region signs requests and picks AWS's endpoint. If empty, the SDK's
	// configuration (AWS_REGION, the profile) decides, else DefaultRegion.
	Region string
	// Credentials sign requests. If nil, the SDK's default chain is used
	// (environment, shared files, SSO, web identity, container, EC2); if
	// that finds nothing on the first Fetch, requests are sent anonymously, which
	// can read public buckets only. aws.AnonymousCredentials{} forces
	// anonymous requests.
	Credentials aws.CredentialsProvider
	// MaxSize is the largest object Fetch accepts, in bytes. If zero,
	// lambdahost.MaxUnzippedSize.
	MaxSize int64
	// Timeout bounds a GetObject from the first attempt until S3's response
	// headers arrive, retries included. If zero, DefaultTimeout.
	Timeout time.Duration
	// StallTimeout is how long the object's body may send nothing before
	// Fetch gives up. There is no bound on the whole transfer, which may be
	// slow but must not stop. If zero, DefaultStallTimeout.
	StallTimeout time.Duration
	// ConnectTimeout bounds one attempt to connect, so that a silent
	// endpoint leaves time to retry. If zero, DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxAttempts is how many times a request is sent at most, the first
	// included. If zero, AWS_MAX_ATTEMPTS or max_attempts in the profile,
	// else DefaultMaxAttempts.
	MaxAttempts int
	// Logger receives the SDK's warnings and this package's records.
	// If nil, slog.Default is used.
	Logger *slog.Logger
}

// CodeSource fetches function code packages from S3. Create it with [New].
// It is safe for concurrent use.
type CodeSource struct {
	cfg  aws.Config
	opts Options
	// client is built on first use: finding credentials may wait on the
	// EC2 metadata service, which start-up should not do for a server that
	// may never read S3.
	clientOnce sync.Once
	client     *awss3.Client

	logger  *slog.Logger
	maxSize int64
	timeout time.Duration
	stall   time.Duration
}

var _ lambdahost.CodeSource = (*CodeSource)(nil)

// New loads the SDK's configuration, applies opts over it and returns a
// CodeSource. It sends no request: on the first Fetch, if opts.Credentials
// is nil, the default credential chain is asked for credentials once,
// waiting at most opts.Timeout, and requests fall back to anonymous ones if
// there are none.
func New(ctx context.Context, opts Options) (*CodeSource, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With(lambdahost.LogKeyComponent, "s3")
	s := &CodeSource{
		logger:  logger,
		maxSize: cmp.Or(opts.MaxSize, lambdahost.MaxUnzippedSize),
		timeout: cmp.Or(opts.Timeout, DefaultTimeout),
		stall:   cmp.Or(opts.StallTimeout, DefaultStallTimeout),
	}
	connect := cmp.Or(opts.ConnectTimeout, DefaultConnectTimeout)

	load := []func(*config.LoadOptions) error{
		config.WithLogger(sdkLogger(logger)),
		// A BuildableClient, so that AWS_CA_BUNDLE still applies.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = connect
		})),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = DefaultMaxAttempts
				o.MaxBackoff = maxBackoff
			})
		}),
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}

	s.cfg, s.opts = cfg, opts
	return s, nil
}

// Fetch streams the object at loc.S3Bucket/loc.S3Key, in the version
// loc.S3ObjectVersion if not empty, into w, and returns a Code of package
// type Zip; control takes its digest and size from w and inspects the zip.
// All accounts fetch with the same credentials: account is not used.
//
// S3's refusals and an unreachable S3 are InvalidParameterValueExceptions
// worded as AWS's ("Error occurred while GetObject. S3 Error Code: ...");
// an object larger than the maximum size is an InvalidParameterValueException
// "Unzipped size must be smaller than N bytes", and nothing beyond N bytes
// is written. See the package documentation. A cancelled ctx and a failing
// w give errors that are not *lambdahost.Error.
func (s *CodeSource) Fetch(ctx context.Context, account string, loc lambdahost.CodeLocation, w lambdahost.BlobWriter) (lambdahost.Code, error) {
	start := time.Now()
	in := &awss3.GetObjectInput{Bucket: aws.String(loc.S3Bucket), Key: aws.String(loc.S3Key)}
	if loc.S3ObjectVersion != "" {
		in.VersionId = aws.String(loc.S3ObjectVersion)
	}

	// One timer bounds first the request, then each wait for the body.
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(s.timeout, func() { cancel(errTimeout) })
	defer timer.Stop()

	out, err := s.s3Client(ctx).GetObject(fctx, in)
	if err != nil {
		return lambdahost.Code{}, s.getObjectError(ctx, fctx, loc, err)
	}
	defer out.Body.Close()
	size := aws.ToInt64(out.ContentLength)
	if size > s.maxSize {
		return lambdahost.Code{}, s.tooLarge()
	}

	timer.Reset(s.stall)
	body := &stallReader{r: out.Body, timer: timer, stall: s.stall}
	n, err := copyLimited(w, body, s.maxSize, make([]byte, bufferSize(size)))
	var rerr *readError
	switch {
	case err == nil:
	case errors.Is(err, errTooLarge):
		return lambdahost.Code{}, s.tooLarge()
	case errors.As(err, &rerr):
		return lambdahost.Code{}, s.readBodyError(ctx, fctx, loc, n, rerr.err)
	default:
		return lambdahost.Code{}, fmt.Errorf("write %s: %w", objectURL(loc), err)
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "fetched code from S3",
		slog.String(lambdahost.LogKeyAccount, account),
		slog.String(logKeyBucket, loc.S3Bucket), slog.String(logKeyKey, loc.S3Key),
		slog.String(logKeyVersion, aws.ToString(out.VersionId)),
		slog.Int64(logKeyBytes, n), slog.Duration(logKeyDuration, time.Since(start)))
	return lambdahost.Code{PackageType: lambdahost.PackageZip}, nil
}

func (s *CodeSource) tooLarge() error {
	return lambdahost.Errorf(lambdahost.InvalidParameterValueException,
		"Unzipped size must be smaller than %d bytes", s.maxSize)
}

// stallReader resets timer after every read that returns bytes, so that
// the timer fires only when the body sends nothing for stall.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
	stall time.Duration
}

func (r *stallReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.stall)
	}
	return n, err
}

// sdkLogger sends the SDK's log messages, mostly warnings such as falling
// back to IMDSv1, to logger.
func sdkLogger(logger *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		logger.Log(context.Background(), level, fmt.Sprintf(format, v...), "source", "aws-sdk-go-v2")
	})
}

// s3Client returns the S3 client, building it on first use.
func (s *CodeSource) s3Client(ctx context.Context) *awss3.Client {
	s.clientOnce.Do(func() {
		// The first caller's cancellation must not decide for every later one.
		ctx := context.WithoutCancel(ctx)
		creds := s.opts.Credentials
		if creds == nil && s.cfg.Credentials == nil {
			creds = aws.AnonymousCredentials{}
		}
		if creds == nil {
			creds = s.cfg.Credentials
			rctx, cancel := context.WithTimeout(ctx, s.timeout)
			_, err := creds.Retrieve(rctx)
			cancel()
			if err != nil {
				s.logger.WarnContext(ctx, "no AWS credentials found; S3 requests are sent anonymously and can read public buckets only",
					lambdahost.LogKeyError, err)
				creds = aws.AnonymousCredentials{}
			}
		}
		s.client = awss3.NewFromConfig(s.cfg, func(o *awss3.Options) {
			o.Credentials = creds
			if s.opts.Endpoint != "" {
				o.BaseEndpoint = aws.String(s.opts.Endpoint)
			}
			o.UsePathStyle = s.opts.PathStyle
			if s.opts.MaxAttempts > 0 {
				o.RetryMaxAttempts = s.opts.MaxAttempts
			}
		})
	})
	return s.client
}

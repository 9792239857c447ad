// Package awsclient builds the AWS SDK configuration with which lambdahost
// reaches the services its functions' destinations and event sources live
// in (SQS, SNS, EventBridge, Kinesis): an endpoint the operator chose, the
// SDK's usual credentials, and bounded connection attempts and retries.
package awsclient

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// Defaults of Options.
const (
	// DefaultRegion is the region when neither Options nor the SDK's
	// configuration names one.
	DefaultRegion = "us-east-1"
	// DefaultConnectTimeout bounds one attempt to connect.
	DefaultConnectTimeout = 3 * time.Second
	// DefaultMaxAttempts is how many times a request is sent at most.
	DefaultMaxAttempts = 3
)

// Options say how to reach a service. The zero value reaches AWS with the
// SDK's default configuration.
type Options struct {
	// Endpoint is the service's endpoint URL, such as
	// "http://127.0.0.1:4566". If empty, the SDK's configuration decides:
	// AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, endpoint_url in the
	// shared config file, else AWS's endpoint for the region.
	Endpoint string
	// Region is the region of requests that name none. Requests about a
	// resource are signed for the region of its ARN. If empty, the SDK's
	// configuration decides, else DefaultRegion.
	Region string
	// Credentials sign requests. If nil, the SDK's default chain is used
	// (environment, shared files, SSO, web identity, container, EC2).
	Credentials aws.CredentialsProvider
	// ConnectTimeout bounds one attempt to connect. If zero,
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxAttempts is how many times a request is sent at most. If zero,
	// DefaultMaxAttempts.
	MaxAttempts int
	// Logger receives the SDK's warnings. If nil, slog.Default is used.
	Logger *slog.Logger
}

// Config loads the SDK's configuration with opts applied over it. It
// sends no request.
func Config(ctx context.Context, opts Options) (aws.Config, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	connect := opts.ConnectTimeout
	if connect == 0 {
		connect = DefaultConnectTimeout
	}
	attempts := opts.MaxAttempts
	if attempts == 0 {
		attempts = DefaultMaxAttempts
	}
	load := []func(*config.LoadOptions) error{
		config.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
			logger.Warn(fmt.Sprintf(format, v...), "sdk_level", string(c))
		})),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) { d.Timeout = connect })),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = time.Second
			})
		}),
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.Credentials != nil {
		load = append(load, config.WithCredentialsProvider(opts.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	return cfg, nil
}

// ARN is the parts of an ARN that requests need.
type ARN struct {
	Service  string
	Region   string
	Account  string
	Resource string
}

// ParseARN splits arn:partition:service:region:account:resource.
func ParseARN(arn string) (ARN, error) {
	var parts [6]string
	rest := arn
	for i := range 5 {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return ARN{}, fmt.Errorf("not an ARN: %q", arn)
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	parts[5] = rest
	if parts[0] != "arn" {
		return ARN{}, fmt.Errorf("not an ARN: %q", arn)
	}
	return ARN{Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, nil
}

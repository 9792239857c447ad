package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambdahost/lambdahost/deploy"
)

// deployCmd is lambdahost deploy: a directory's code to a function, once
// or on every change.
type deployCmd struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	Function, Dir, Alias, Endpoint, Region, Profile string
	Watch, Publish                                  bool
	Debounce                                        time.Duration
}

func (c *deployCmd) parseFlags(args []string) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.StringVar(&c.Function, "function", "", "name or ARN of the function (required)")
	fs.StringVar(&c.Dir, "dir", ".", "directory whose files are the function's code")
	fs.BoolVar(&c.Watch, "watch", false, "deploy again on every change in --dir until interrupted")
	fs.BoolVar(&c.Publish, "publish", false, "publish a version with each deployment")
	fs.StringVar(&c.Alias, "alias", "", "point this alias at each published version (needs --publish)")
	fs.StringVar(&c.Endpoint, "endpoint", "", "Lambda endpoint URL (default: the AWS SDK configuration: AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL, the profile, else AWS)")
	fs.StringVar(&c.Region, "region", "", "region (default: the AWS SDK configuration)")
	fs.StringVar(&c.Profile, "profile", "", "shared configuration profile (default: AWS_PROFILE, else the default profile)")
	fs.DurationVar(&c.Debounce, "debounce", deploy.DefaultDebounce, "with --watch, the quiet time after a change before deploying")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.Function == "" {
		return errors.New("--function is required")
	}
	if c.Alias != "" && !c.Publish {
		return errors.New("--alias points an alias at a published version: add --publish")
	}
	info, err := os.Stat(c.Dir)
	if err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("--dir: %s is not a directory", c.Dir)
	}
	if c.Debounce < 0 {
		return errors.New("--debounce: want a positive duration")
	}
	return nil
}

// client returns a Lambda client configured as the AWS SDK configures
// one (environment, shared files), with the flags' overrides.
func (c *deployCmd) client(ctx context.Context) (*lambda.Client, error) {
	var opts []func(*config.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no region: set --region, AWS_REGION or a profile's region")
	}
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	}), nil
}

func (c *deployCmd) run(ctx context.Context) error {
	client, err := c.client(ctx)
	if err != nil {
		return err
	}
	d := &deploy.Deployer{Client: client, Function: c.Function, Publish: c.Publish, Alias: c.Alias}
	if c.Watch {
		w := &deploy.Watcher{Dir: c.Dir, Deploy: d.Deploy, Function: c.Function, Debounce: c.Debounce, Out: c.Stdout, Err: c.Stderr}
		return w.Run(ctx)
	}
	pkg, err := deploy.Zip(c.Dir)
	if err != nil {
		return err
	}
	res, err := d.Deploy(ctx, pkg)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, res.Line(c.Function))
	return nil
}

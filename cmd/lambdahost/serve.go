package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
	"github.com/lambdahost/lambdahost/disk"
	"github.com/lambdahost/lambdahost/eventbridge"
	fnhttp "github.com/lambdahost/lambdahost/http"
	"github.com/lambdahost/lambdahost/invoke"
	"github.com/lambdahost/lambdahost/invoke/bootstrap"
	"github.com/lambdahost/lambdahost/kinesis"
	"github.com/lambdahost/lambdahost/kms"
	"github.com/lambdahost/lambdahost/logs"
	"github.com/lambdahost/lambdahost/oci"
	fns3 "github.com/lambdahost/lambdahost/s3"
	"github.com/lambdahost/lambdahost/sandbox"
	"github.com/lambdahost/lambdahost/signer"
	"github.com/lambdahost/lambdahost/sigv4"
	fnsns "github.com/lambdahost/lambdahost/sns"
	fnsqs "github.com/lambdahost/lambdahost/sqs"
	"github.com/lambdahost/lambdahost/sts"
)

var errHelp = errors.New("help requested")

// Main is the serve command: flags and environment → adapters → server.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	Listen           string
	DataDir          string
	ReadyFile        string
	CredentialsFile  string
	CodeStorageLimit int64
	LogLevel         string
	GCInterval       time.Duration
	GCGrace          time.Duration
	S3Endpoint       string
	S3PathStyle      bool
	S3Region         string
	InsecureRegistry []string
	// Endpoints of the services destinations and event sources live in.
	SQSEndpoint         string
	SNSEndpoint         string
	EventBridgeEndpoint string
	KinesisEndpoint     string
	Sandbox             string
	ScratchDir          string
	IdleTimeout         time.Duration
	InitTimeout         time.Duration
	MemoryBudgetMB      int
	AsyncRetryDelays    []time.Duration
	MasterKeyFile       string
	// FunctionNetwork is --function-network as given: host, internet,
	// none, or "" for the default of the listen address.
	FunctionNetwork string
	// FunctionEnv are the --function-env NAME=VALUE entries.
	FunctionEnv []string

	runtime     runtimeFlags
	functionEnv listFlag

	LogStorageLimit  int64
	LogSweepInterval time.Duration
	// Backends: where metadata and code live (several nodes share them).
	backendFlags
	NodeTTL       time.Duration
	SweepInterval time.Duration
	// The operator's view: metrics and the console (operator.go).
	operatorFlags
}

// ParseFlags reads flags, with LAMBDAHOST_* environment variables as defaults.
// maxHeaderBytes bounds a request's headers, which net/http holds in
// memory before any handler runs (its default is 1 MB per connection).
// The Lambda API's own headers are small: the largest, X-Amz-Client-Context,
// is at most 3583 bytes.
const maxHeaderBytes = 64 << 10

func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	env := envDefault(m.Getenv)
	fs.StringVar(&m.Listen, "listen", env("listen", "127.0.0.1:9001"), "address to listen on (LAMBDAHOST_LISTEN)")
	fs.StringVar(&m.DataDir, "data-dir", env("data-dir", defaultDataDir(m.Getenv)), "directory for metadata and code (LAMBDAHOST_DATA_DIR)")
	fs.StringVar(&m.ReadyFile, "ready-file", env("ready-file", ""), "write the bound address here as JSON once listening (LAMBDAHOST_READY_FILE)")
	fs.StringVar(&m.CredentialsFile, "credentials", env("credentials", ""), "JSON file of access keys, secrets and accounts (LAMBDAHOST_CREDENTIALS); without it only test/test → 000000000000 is accepted")
	limit := fs.String("code-storage-limit", env("code-storage-limit", strconv.FormatInt(control.DefaultCodeStorageLimit, 10)), "code storage quota per account in bytes (LAMBDAHOST_CODE_STORAGE_LIMIT)")
	fs.StringVar(&m.LogLevel, "log-level", env("log-level", "info"), "debug, info, warn or error (LAMBDAHOST_LOG_LEVEL)")
	fs.StringVar(&m.S3Endpoint, "s3-endpoint", env("s3-endpoint", ""), "S3 endpoint for S3Bucket/S3Key code (LAMBDAHOST_S3_ENDPOINT); default: the AWS SDK configuration (AWS_ENDPOINT_URL_S3...)")
	pathStyle := fs.String("s3-path-style", env("s3-path-style", "false"), "address S3 buckets in the path, for S3-compatible servers (LAMBDAHOST_S3_PATH_STYLE)")
	fs.StringVar(&m.S3Region, "s3-region", env("s3-region", ""), "region for S3 requests (LAMBDAHOST_S3_REGION); default: the AWS SDK configuration")
	fs.StringVar(&m.SQSEndpoint, "sqs-endpoint", env("sqs-endpoint", ""), "SQS endpoint of destinations, dead-letter queues and event source mappings (LAMBDAHOST_SQS_ENDPOINT); default: the AWS SDK configuration (AWS_ENDPOINT_URL_SQS...)")
	fs.StringVar(&m.SNSEndpoint, "sns-endpoint", env("sns-endpoint", ""), "SNS endpoint of destinations and dead-letter topics (LAMBDAHOST_SNS_ENDPOINT); default: the AWS SDK configuration (AWS_ENDPOINT_URL_SNS...)")
	fs.StringVar(&m.EventBridgeEndpoint, "eventbridge-endpoint", env("eventbridge-endpoint", ""), "EventBridge endpoint of destinations on event buses (LAMBDAHOST_EVENTBRIDGE_ENDPOINT); default: the AWS SDK configuration (AWS_ENDPOINT_URL_EVENTBRIDGE...)")
	fs.StringVar(&m.KinesisEndpoint, "kinesis-endpoint", env("kinesis-endpoint", ""), "Kinesis endpoint of event source mappings (LAMBDAHOST_KINESIS_ENDPOINT); default: the AWS SDK configuration (AWS_ENDPOINT_URL_KINESIS...)")
	insecure := fs.String("insecure-registry", env("insecure-registry", ""), "comma-separated registries (host[:port]) that may be reached over plain HTTP besides loopback ones (LAMBDAHOST_INSECURE_REGISTRY)")
	fs.StringVar(&m.Sandbox, "sandbox", env("sandbox", "auto"), "how functions are isolated: namespaces (user, pid, mount, network... namespaces and cgroups), process (plain processes: no isolation), or auto: namespaces where the kernel allows them (LAMBDAHOST_SANDBOX)")
	fs.StringVar(&m.ScratchDir, "scratch-dir", env("scratch-dir", ""), "directory on disk for the /tmp of execution environments, each a file system of EphemeralStorage MB in a sparse file (LAMBDAHOST_SCRATCH_DIR); default: scratch in the data dir")
	fs.DurationVar(&m.IdleTimeout, "idle-timeout", invoke.DefaultIdleTimeout, "how long an idle execution environment is kept warm")
	fs.DurationVar(&m.InitTimeout, "init-timeout", invoke.DefaultInitTimeout, "how long a new execution environment's runtime may take to start (Lambda's is 10s)")
	fs.IntVar(&m.MemoryBudgetMB, "memory-budget", 0, "memory for all execution environments together, in MB (default: three quarters of the host's memory)")
	retries := fs.String("async-retry-delays", env("async-retry-delays", "1m,2m"), "waits before each retry of a failed asynchronous invocation, comma-separated; their number is the number of retries (LAMBDAHOST_ASYNC_RETRY_DELAYS)")
	fs.StringVar(&m.MasterKeyFile, "master-key-file", env("master-key-file", ""), "file of the 32-byte key that seals the secrets kept in the metadata (LAMBDAHOST_MASTER_KEY_FILE); created if missing; default: master.key in the data dir")
	fs.StringVar(&m.FunctionNetwork, "function-network", env("function-network", ""), "what functions reach besides lambdahost: host (outbound, and the host's loopback at "+sandbox.HostName+"), internet (public addresses and lambdahost's API only) or none (LAMBDAHOST_FUNCTION_NETWORK); default: host for a loopback --listen, internet otherwise")
	m.functionEnv = listDefault(env("function-env", ""))
	fs.Var(&m.functionEnv, "function-env", "NAME=VALUE added to every function's environment, below the function's own variables; repeatable (LAMBDAHOST_FUNCTION_ENV, comma-separated)")
	m.runtime.register(fs, env, m.Getenv)
	logLimit := fs.String("log-storage-limit", env("log-storage-limit", strconv.FormatInt(logs.DefaultAccountLimit, 10)), "bytes of CloudWatch Logs events kept per account; past it the oldest are deleted first (LAMBDAHOST_LOG_STORAGE_LIMIT)")
	fs.DurationVar(&m.LogSweepInterval, "log-sweep-interval", 10*time.Minute, "how often log events past their group's retention are deleted")
	fs.StringVar(&m.Database, "database", env("database", ""), "postgres://… URL of a PostgreSQL database that several nodes share (LAMBDAHOST_DATABASE); default: SQLite in the data dir")
	fs.StringVar(&m.BlobStore, "blob-store", env("blob-store", ""), "s3://BUCKET/PREFIX where code blobs are kept, shared by several nodes (LAMBDAHOST_BLOB_STORE); default: the data dir")
	fs.StringVar(&m.BlobS3Endpoint, "blob-s3-endpoint", env("blob-s3-endpoint", ""), "S3 endpoint of --blob-store (LAMBDAHOST_BLOB_S3_ENDPOINT); default: the AWS SDK configuration")
	blobPathStyle := fs.String("blob-s3-path-style", env("blob-s3-path-style", "false"), "address the --blob-store bucket in the path (LAMBDAHOST_BLOB_S3_PATH_STYLE)")
	fs.StringVar(&m.BlobS3Region, "blob-s3-region", env("blob-s3-region", ""), "region of --blob-store (LAMBDAHOST_BLOB_S3_REGION); default: the AWS SDK configuration")
	nodeTTL := fs.String("node-ttl", env("node-ttl", control.DefaultNodeTTL.String()), "how long this node's registration lasts unrenewed: other nodes take over its work after that once it dies (LAMBDAHOST_NODE_TTL)")
	sweepInterval := fs.String("sweep-interval", env("sweep-interval", defaultSweepInterval.String()), "how often this node looks for work of nodes that are gone (LAMBDAHOST_SWEEP_INTERVAL)")
	m.operatorFlags.register(fs, env)
	fs.DurationVar(&m.GCInterval, "gc-interval", 10*time.Minute, "how often unreferenced code is deleted")
	fs.DurationVar(&m.GCGrace, "gc-grace", time.Hour, "how old unreferenced code must be to be deleted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch m.Sandbox {
	case "auto", "namespaces", "process":
	default:
		return fmt.Errorf("--sandbox: want auto, namespaces or process, got %q", m.Sandbox)
	}
	if m.FunctionNetwork != "" {
		if _, err := sandbox.ParseNetwork(m.FunctionNetwork); err != nil {
			return fmt.Errorf("--function-network: %w", err)
		}
	}
	m.FunctionEnv = nil
	for _, e := range m.functionEnv {
		name, _, ok := strings.Cut(e, "=")
		switch {
		case !ok || !envNameRE.MatchString(name):
			return fmt.Errorf("--function-env: want NAME=VALUE with a NAME of letters, digits and _, got %q", e)
		case invoke.ReservedEnv(name):
			return fmt.Errorf("--function-env %s: Lambda reserves this name", name)
		}
		m.FunctionEnv = append(m.FunctionEnv, e)
	}
	if err := m.runtime.check(); err != nil {
		return err
	}
	m.AsyncRetryDelays = nil
	for _, d := range strings.Split(*retries, ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		v, err := time.ParseDuration(d)
		if err != nil || v < 0 {
			return fmt.Errorf("--async-retry-delays: want durations such as 1m,2m, got %q", *retries)
		}
		m.AsyncRetryDelays = append(m.AsyncRetryDelays, v)
	}
	if m.AsyncRetryDelays == nil {
		m.AsyncRetryDelays = []time.Duration{}
	}
	ps, err := strconv.ParseBool(*pathStyle)
	if err != nil {
		return fmt.Errorf("--s3-path-style: want true or false, got %q", *pathStyle)
	}
	m.S3PathStyle = ps
	if m.BlobS3PathStyle, err = strconv.ParseBool(*blobPathStyle); err != nil {
		return fmt.Errorf("--blob-s3-path-style: want true or false, got %q", *blobPathStyle)
	}
	if err := m.backendFlags.check(""); err != nil {
		return err
	}
	if err := m.operatorFlags.check(); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"node-ttl", *nodeTTL, &m.NodeTTL}, {"sweep-interval", *sweepInterval, &m.SweepInterval}} {
		v, err := time.ParseDuration(d.in)
		if err != nil || v < 100*time.Millisecond {
			return fmt.Errorf("--%s: want a duration of at least 100ms, got %q", d.name, d.in)
		}
		*d.out = v
	}
	for _, h := range strings.Split(*insecure, ",") {
		if h = strings.TrimSpace(h); h != "" {
			m.InsecureRegistry = append(m.InsecureRegistry, h)
		}
	}
	n, err := strconv.ParseInt(*limit, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("--code-storage-limit: want a positive number of bytes, got %q", *limit)
	}
	m.CodeStorageLimit = n
	ln, err := strconv.ParseInt(*logLimit, 10, 64)
	if err != nil || ln <= 0 {
		return fmt.Errorf("--log-storage-limit: want a positive number of bytes, got %q", *logLimit)
	}
	m.LogStorageLimit = ln
	if m.LogSweepInterval <= 0 {
		return fmt.Errorf("--log-sweep-interval: want a positive duration, got %v", m.LogSweepInterval)
	}
	if m.DataDir == "" {
		return errors.New("--data-dir: no default data directory (set HOME or XDG_DATA_HOME)")
	}
	return nil
}

// envNameRE is the pattern of environment variable names the Lambda API
// accepts.
var envNameRE = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)

func defaultDataDir(getenv func(string) string) string {
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "lambdahost")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "lambdahost")
	}
	return ""
}

// Run serves until ctx is done, then drains in-flight requests.
func (m *Main) Run(ctx context.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(m.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level}))

	creds, err := loadCredentials(m.CredentialsFile)
	if err != nil {
		return err
	}
	if m.CredentialsFile == "" && !loopback(m.Listen) {
		return fmt.Errorf("refusing to listen on %s with the built-in test credentials: pass --credentials FILE, or listen on a loopback address", m.Listen)
	}
	// One process per data dir: two servers on one store would each run
	// the queued events and collect garbage with guards that cover only
	// their own process.
	lock, err := lockDataDir(m.DataDir, "serve")
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := checkRestored(m.DataDir); err != nil {
		return err
	}
	gcLock, err := openGCLock(m.DataDir)
	if err != nil {
		return err
	}
	defer gcLock.Close()
	store, err := openStore(ctx, m.Database, m.DataDir, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	blobs, err := openBlobs(ctx, m.backendFlags, m.DataDir, logger)
	if err != nil {
		return err
	}
	masterKeyFile := m.MasterKeyFile
	if masterKeyFile == "" {
		masterKeyFile = filepath.Join(m.DataDir, "master.key")
	}
	masterKey, err := loadMasterKey(masterKeyFile)
	if err != nil {
		return err
	}
	// Before anything reads what the key seals.
	if err := checkMasterKey(ctx, store, masterKey); err != nil {
		return err
	}
	// Registered before the services claim work (svc.Start renews it).
	node := lambdahost.NewNodeID()
	if err := store.Heartbeat(ctx, node, m.NodeTTL); err != nil {
		return fmt.Errorf("register node: %w", err)
	}

	s3src, err := fns3.New(ctx, fns3.Options{Endpoint: m.S3Endpoint, PathStyle: m.S3PathStyle, Region: m.S3Region, Logger: logger})
	if err != nil {
		return err
	}
	images := oci.NewSource(filepath.Join(m.DataDir, "images"))
	images.Insecure = m.InsecureRegistry
	images.Logger = logger

	// Listening comes first: the address is what functions are told to
	// call lambdahost at.
	ln, err := net.Listen("tcp", m.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	addr := ln.Addr().String()

	// The environments' credentials, vouched for by this node's
	// registration: other nodes refuse them once it leaves (svc.Close) or
	// dies (its registration expires).
	sessions, err := sts.New(store, masterKey, node)
	if err != nil {
		return err
	}
	sessions.Logger = logger
	// Deferred before the executor's Close, so run after it: the
	// environments' sessions end first.
	defer sessions.Close()

	// The services besides Lambda's control plane, which depends on them
	// through root interfaces: KMS keys seal code, Signer's profiles sign it.
	keys := kms.New(store, masterKey)
	signing := signer.New(store, blobs, masterKey)
	signing.S3, signing.Objects = s3src, s3src
	signing.Logger = logger
	signing.Node = node
	if err := signing.Start(ctx); err != nil {
		return err
	}

	// CloudWatch Logs: functions' output is written by the Ingester, off
	// the invoke path. It is closed after the executor (defers run last
	// first), so that the lines of the last invocations are written.
	logStore, ok := store.(lambdahost.LogStore)
	if !ok {
		return fmt.Errorf("the %T store does not keep CloudWatch Logs", store)
	}
	logService := logs.New(logStore)
	logService.AccountLimit = m.LogStorageLimit
	logService.Logger = logger.With(lambdahost.LogKeyComponent, "logs")
	ingester := logs.NewIngester(logService)
	ingester.Start()
	defer func() {
		if err := ingester.Close(); err != nil {
			logger.Error("store the last function logs", lambdahost.LogKeyError, err)
		}
	}()

	// Destinations and event sources, reached through the AWS SDK at the
	// endpoints the operator configured.
	queues, err := fnsqs.New(ctx, fnsqs.Options{Endpoint: m.SQSEndpoint, Logger: logger})
	if err != nil {
		return fmt.Errorf("sqs: %w", err)
	}
	messengers, err := m.messengers(ctx, queues, s3src, logger)
	if err != nil {
		return err
	}

	svc := control.New(store, blobs)
	svc.Messengers = messengers
	svc.Queues = queues
	streams, err := kinesis.New(ctx, kinesis.Options{Endpoint: m.KinesisEndpoint, Logger: logger})
	if err != nil {
		return fmt.Errorf("kinesis: %w", err)
	}
	svc.Streams = streams
	svc.Keys = keys
	svc.Publishers = signing
	svc.CodeStorageLimit = m.CodeStorageLimit
	svc.Logger = logger
	svc.S3 = s3src
	svc.Images = images
	svc.Node, svc.NodeTTL = node, m.NodeTTL
	if err := svc.Start(ctx); err != nil {
		return err
	}
	defer svc.Close()
	// After Start, which checked the master key that seals it.
	urlKey, err := loadURLKey(ctx, store, m.Database != "", masterKey, m.DataDir)
	if err != nil {
		return err
	}

	executor, err := m.executor(ctx, svc, images, sessions, ln.Addr().(*net.TCPAddr).AddrPort(), logger)
	if err != nil {
		return err
	}
	executor.Logs = ingester
	meter := m.newMetrics(store, blobs, executor, svc)
	if meter != nil {
		svc.Meter, executor.Meter = meter, meter
	}
	executor.Concurrency = nodeLimiter{store: store, node: node}
	executor.Start()
	defer executor.Close()
	svc.Collectors = append(svc.Collectors, executor)
	svc.Deleted = executor.Retire
	// The loops that follow other nodes end before the executor and the
	// service close.
	var loops sync.WaitGroup
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer func() { stopWatch(); loops.Wait() }()
	loops.Go(func() { watchChanges(watchCtx, store, svc, executor, logger) })

	verifier := &sigv4.Verifier{Service: "lambda", Lookup: func(key string) (sigv4.Credential, bool) {
		c, ok := creds[key]
		return c, ok
	}, LookupSession: func(key, token string) (sigv4.Credential, error) {
		// Not ctx, which ends before the requests in flight are drained.
		id, err := sessions.Verify(context.WithoutCancel(ctx), key, token)
		if errors.Is(err, sts.ErrExpired) {
			return sigv4.Credential{}, fmt.Errorf("%w: %w", sigv4.ErrTokenExpired, err)
		}
		if err != nil {
			return sigv4.Credential{}, err
		}
		return sigv4.Credential{AccessKey: key, Secret: id.Secret, Account: id.Account, Principal: id.ARN, UserID: id.UserID}, nil
	}}
	api := fnhttp.NewServer(svc, blobs, verifier)
	api.URLKey = urlKey
	api.Logger = logger.With(lambdahost.LogKeyComponent, "http")
	api.Invoker = executor
	// Run again the asynchronous events an earlier process acknowledged
	// and did not finish; they are deleted as they finish.
	if err := svc.ReplayEvents(ctx, api.InvokeEvent); err != nil {
		return err
	}
	// The event source mappings, whose batches the API's executor runs.
	svc.StartProvisioning(api)
	svc.StartMappings(api)
	defer svc.StopMappings() // before the executor closes: batches in flight settle
	// And those of other nodes that die while this one serves.
	loops.Go(func() { sweep(watchCtx, m.SweepInterval, svc, signing, api.InvokeEvent, logger) })
	// Every AWS service on the listener, picked by the service each
	// request is signed for (see fnhttp.Router).
	signerAPI := signer.NewServer(signing, verifier)
	signerAPI.Logger = logger.With(lambdahost.LogKeyComponent, "signer")
	kmsAPI := kms.NewServer(keys, verifier)
	kmsAPI.Logger = logger.With(lambdahost.LogKeyComponent, "kms")
	stsAPI := sts.NewServer(verifier)
	stsAPI.Logger = logger.With(lambdahost.LogKeyComponent, "sts")
	router := fnhttp.NewRouter(api)
	router.Register(signerAPI)
	router.Register(kmsAPI)
	router.Register(stsAPI)
	logsAPI := logs.NewServer(logService, verifier)
	logsAPI.Logger = logger.With(lambdahost.LogKeyComponent, "logs")
	router.Register(logsAPI)
	// lambdahost's own pages beside the services: the console, /metrics.
	operator, err := m.mountOperator(router, meter, svc, api, creds, urlKey, store, logStore, logger)
	if err != nil {
		return err
	}
	defer operator.shutdown()

	srv := &http.Server{Handler: router, ReadHeaderTimeout: 30 * time.Second, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	// Live tails last up to three hours, console event streams as long
	// as a page is open: a shutdown ends them.
	srv.RegisterOnShutdown(logsAPI.CloseTails)
	srv.RegisterOnShutdown(operator.shutdown)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening", "address", addr, "data_dir", m.DataDir, "node", node, "version", version)
	if err := lock.setListen(addr); err != nil {
		_ = srv.Close()
		return err
	}
	if m.ReadyFile != "" {
		if err := writeReadyFile(m.ReadyFile, addr, m.metricsAddr); err != nil {
			_ = srv.Close()
			return err
		}
	}

	gcDone := make(chan struct{})
	gcCtx, stopGC := context.WithCancel(ctx)
	go func() {
		defer close(gcDone)
		m.collectGarbage(gcCtx, svc, gcLock, sessions, logger)
	}()
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		sw := logs.NewSweeper(logService)
		sw.Interval = m.LogSweepInterval
		sw.Run(gcCtx)
	}()

	select {
	case err := <-served:
		stopGC()
		<-gcDone
		<-sweepDone
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining in-flight requests")
	stopGC()
	<-gcDone
	<-sweepDone
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("drain requests: %w", err)
	}
	return nil
}

// messengers reaches the services of destinations: SQS, SNS, EventBridge
// and, for failure records, S3 through the S3 code source's credentials.
func (m *Main) messengers(ctx context.Context, queues *fnsqs.Client, s3src *fns3.CodeSource, logger *slog.Logger) (map[string]lambdahost.Messenger, error) {
	topics, err := fnsns.New(ctx, fnsns.Options{Endpoint: m.SNSEndpoint, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("sns: %w", err)
	}
	buses, err := eventbridge.New(ctx, eventbridge.Options{Endpoint: m.EventBridgeEndpoint, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("eventbridge: %w", err)
	}
	return map[string]lambdahost.Messenger{
		"sqs": queues, "sns": topics, "events": buses, "s3": control.ObjectMessenger{Objects: s3src},
	}, nil
}

// networkFor returns the function network of --function-network, or the
// default for a listener on listen: host on a loopback address, which only
// the machine's own users reach; internet otherwise, since a shared server's
// functions should not reach the host's or each other's private services.
func networkFor(flagValue, listen string) (mode sandbox.Network, explicit bool) {
	if flagValue != "" {
		return sandbox.Network(flagValue), true
	}
	if loopback(listen) {
		return sandbox.NetworkHost, false
	}
	return sandbox.NetworkInternet, false
}

// executor wires the executor: the sandbox and its network, the host's
// runtimes, the environments' credentials and the code the control plane
// stores. api is the address lambdahost's API listens on.
func (m *Main) executor(ctx context.Context, svc *control.Service, images *oci.Source, sessions *sts.Service, api netip.AddrPort, logger *slog.Logger) (*invoke.Executor, error) {
	opts := sandbox.Options{StateDir: filepath.Join(m.DataDir, "sandbox"), ScratchDir: m.ScratchDir, Logger: logger, Endpoints: []netip.AddrPort{api}}
	if opts.ScratchDir == "" {
		opts.ScratchDir = filepath.Join(m.DataDir, "scratch")
	}
	switch m.Sandbox {
	case "namespaces":
		opts.Mode = sandbox.ModeNamespaces
	case "process":
		opts.Mode = sandbox.ModeProcess
	}
	network, explicit := networkFor(m.FunctionNetwork, m.Listen)
	opts.Network = network
	launcher, err := sandbox.New(opts)
	if errors.Is(err, sandbox.ErrNetwork) && !explicit {
		logger.Warn("no network for functions: environments reach nothing but lambdahost's Runtime API; install pasta (apt-get install passt) for outbound networking",
			"function_network", network, lambdahost.LogKeyError, err)
		opts.Network = sandbox.NetworkNone
		launcher, err = sandbox.New(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if launcher.Mode() == sandbox.ModeProcess && os.Geteuid() == 0 {
		// Functions run as an unprivileged user here, and must reach their
		// code, the runtime clients and /tmp under the data dir.
		if err := traversableDataDir(m.DataDir); err != nil {
			return nil, err
		}
		if dir := closedAncestor(m.DataDir); dir != "" {
			logger.Warn("functions run as an unprivileged user in --sandbox process and cannot reach the data dir: other users cannot pass through "+dir+" (chmod o+x it, or use another --data-dir)", "data_dir", m.DataDir)
		}
	}
	if launcher.Mode() == sandbox.ModeProcess && explicit && network != sandbox.NetworkHost {
		logger.Warn("--sandbox process shares the host's network: --function-network is not enforced", "function_network", network)
	}
	endpoint := ""
	if ep, ok := launcher.Endpoint(api); ok {
		endpoint = "http://" + ep
	}
	logger.Info("function network", "mode", launcher.Network(), "aws_endpoint_url", endpoint)

	host := m.runtime.host()
	if err := host.Install(ctx, filepath.Join(m.DataDir, "runtime")); err != nil {
		if host.BootstrapDir == "" {
			return nil, err
		}
		logger.Warn("precompile runtime clients", lambdahost.LogKeyError, err)
	}
	tmp := "file system"
	if !launcher.TmpEnforced() {
		tmp = "directory (size not enforced)"
	}
	logger.Info("executor", "sandbox", launcher.Mode(), "memory_limit", launcher.MemoryLimit(), "tmp", tmp, "scratch_dir", opts.ScratchDir, "runtimes", strings.Join(host.Runtimes(), ","))
	if sdk, err := bootstrap.ReadSDKManifest(host.SDKDir); err != nil || len(sdk.Python) == 0 || len(sdk.Node) == 0 {
		logger.Warn("the AWS SDKs are not installed for functions: boto3 and @aws-sdk/* cannot be imported unless bundled; run `lambdahost runtimes --install`",
			"runtimes_dir", m.runtime.RuntimesDir)
	}
	x := &invoke.Executor{
		Launcher:    launcher,
		Sessions:    sessions,
		Endpoint:    endpoint,
		FunctionEnv: m.FunctionEnv,
		Runtime: func(id string) (*invoke.Runtime, error) {
			rt, err := host.Resolve(id)
			if err != nil {
				return nil, err
			}
			return &invoke.Runtime{Argv: rt.Argv, Mounts: rt.Mounts, Env: rt.Env}, nil
		},
		Code:      svc.OpenCode,
		CheckCode: svc.CheckCode,
		Image: func(ctx context.Context, v *lambdahost.Version) (*invoke.Image, error) {
			rootfs, err := images.Unpack(ctx, v.Code.Digest, v.Code.ResolvedImageURI)
			if err != nil {
				return nil, err
			}
			cfg, err := images.Config(ctx, v.Code.Digest)
			if err != nil {
				return nil, err
			}
			return &invoke.Image{RootFS: rootfs, Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, WorkingDir: cfg.WorkingDir, Env: cfg.Env}, nil
		},
		Dir:            filepath.Join(m.DataDir, "exec"),
		IdleTimeout:    m.IdleTimeout,
		InitTimeout:    m.InitTimeout,
		MemoryBudgetMB: m.MemoryBudgetMB,
		RetryDelays:    m.AsyncRetryDelays,
		Foreign:        foreignArchitectures(),
		Logger:         logger,
		FunctionLog: func(fn lambdahost.FunctionID, line []byte) {
			logger.Debug(strings.TrimRight(string(line), "\n"), lambdahost.LogKeyComponent, "function", lambdahost.LogKeyFunction, fn.ARN())
		},
	}
	return x, nil
}

// foreignArchitectures lists the Lambda architectures this host runs
// through qemu-user binfmt handlers besides its own.
func foreignArchitectures() []string {
	handlers := map[string]string{"amd64": "qemu-aarch64", "arm64": "qemu-x86_64"}
	arch := map[string]string{"amd64": "arm64", "arm64": "x86_64"}
	h, ok := handlers[runtime.GOARCH]
	if !ok {
		return nil
	}
	b, err := os.ReadFile("/proc/sys/fs/binfmt_misc/" + h)
	if err != nil || !strings.HasPrefix(string(b), "enabled") {
		return nil
	}
	return []string{arch[runtime.GOARCH]}
}

// collectGarbage deletes unreferenced code, and the records of sessions
// that have expired, now and every GCInterval. Code is collected holding
// lock exclusively; a round that finds lock taken (a backup or check is
// reading code) skips code.
func (m *Main) collectGarbage(ctx context.Context, svc *control.Service, lock *disk.LockFile, sessions *sts.Service, logger *slog.Logger) {
	t := time.NewTicker(m.GCInterval)
	defer t.Stop()
	for {
		if err := lock.TryLock(); errors.Is(err, disk.ErrLocked) {
			logger.Info("garbage collection deferred: a backup or check is reading the data dir")
		} else if err != nil {
			logger.Warn("collect garbage", lambdahost.LogKeyError, err)
		} else {
			if n, err := svc.CollectGarbage(ctx, m.GCGrace); err != nil && ctx.Err() == nil {
				logger.Warn("collect garbage", lambdahost.LogKeyError, err)
			} else if n > 0 {
				logger.Info("deleted unreferenced code", "blobs", n)
			}
			if err := lock.Unlock(); err != nil {
				logger.Warn("collect garbage", lambdahost.LogKeyError, err)
			}
		}
		if _, err := sessions.Collect(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("collect ended sessions", lambdahost.LogKeyError, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentialsFile is the format of --credentials.
type credentialsFile struct {
	Credentials []struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		AccountID       string `json:"account_id"`
	} `json:"credentials"`
}

func loadCredentials(path string) (map[string]sigv4.Credential, error) {
	if path == "" {
		return map[string]sigv4.Credential{"test": {AccessKey: "test", Secret: "test", Account: "000000000000"}}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	var f credentialsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse credentials %s: %w", path, err)
	}
	out := map[string]sigv4.Credential{}
	for i, c := range f.Credentials {
		if c.AccessKeyID == "" || c.SecretAccessKey == "" || len(c.AccountID) != 12 || strings.Trim(c.AccountID, "0123456789") != "" {
			return nil, fmt.Errorf("credentials %s: entry %d needs access_key_id, secret_access_key and a 12-digit account_id", path, i)
		}
		if _, dup := out[c.AccessKeyID]; dup {
			return nil, fmt.Errorf("credentials %s: access key %s appears twice", path, c.AccessKeyID)
		}
		out[c.AccessKeyID] = sigv4.Credential{AccessKey: c.AccessKeyID, Secret: c.SecretAccessKey, Account: c.AccountID}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("credentials %s: no credentials", path)
	}
	return out, nil
}

// loadOrCreateKey returns the key that signs code download URLs, creating
// it on first start so that URLs survive restarts.
func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) == 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read url key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write url key: %w", err)
	}
	return key, nil
}

func writeReadyFile(path, addr, metricsAddr string) error {
	ready := map[string]string{"address": addr, "endpoint": "http://" + addr}
	if metricsAddr != "" {
		ready["metrics_endpoint"] = "http://" + metricsAddr
	}
	b, _ := json.Marshal(ready)
	return writeFileAtomic(path, append(b, '\n'), 0o644)
}

// writeFileAtomic writes via a temporary file and a rename, so a reader
// never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// envDefault returns the default of a flag: the LAMBDAHOST_ environment
// variable named after it (upper case, - as _) if set, else def.
func envDefault(getenv func(string) string) func(name, def string) string {
	return func(name, def string) string {
		if v := getenv("LAMBDAHOST_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
}

// parseFlags parses a command's args into fs: -h answers errHelp, and
// arguments other than flags are refused.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return nil
}

// traversableDataDir lets other users pass through dir (mode 0711: no
// listing) to what lies below it, and first makes the SQLite files in it
// readable by their owner only: they hold functions' configurations.
// The keys and the lock file are created 0600; code blobs are sealed.
func traversableDataDir(dir string) error {
	for _, name := range []string{"lambdahost.db", "lambdahost.db-wal", "lambdahost.db-shm"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data dir: %w", err)
		}
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// closedAncestor returns the first directory above dir that other users
// cannot pass through (no search permission for others), or "".
func closedAncestor(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

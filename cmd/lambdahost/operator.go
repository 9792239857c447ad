package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/console"
	"github.com/lambdahost/lambdahost/control"
	fnhttp "github.com/lambdahost/lambdahost/http"
	"github.com/lambdahost/lambdahost/invoke"
	"github.com/lambdahost/lambdahost/metrics"
	"github.com/lambdahost/lambdahost/sigv4"
)

// operatorFlags configure the operator's view of a server: Prometheus
// metrics and the web console.
type operatorFlags struct {
	Metrics             bool
	MetricsListen       string
	MetricsTokenFile    string
	MetricsMaxFunctions int
	Console             bool
	ConsoleSessionTTL   time.Duration

	// metricsAddr is where a --metrics-listen listener was bound.
	metricsAddr string

	metrics, console, maxFunctions, sessionTTL string
}

func (o *operatorFlags) register(fs *flag.FlagSet, env func(name, def string) string) {
	fs.StringVar(&o.metrics, "metrics", env("metrics", "true"), "serve Prometheus metrics at /metrics (LAMBDAHOST_METRICS)")
	fs.StringVar(&o.MetricsListen, "metrics-listen", env("metrics-listen", ""), "serve /metrics on this address of its own instead of --listen (LAMBDAHOST_METRICS_LISTEN)")
	fs.StringVar(&o.MetricsTokenFile, "metrics-token-file", env("metrics-token-file", ""), "file holding a bearer token that scrapes of /metrics must present (LAMBDAHOST_METRICS_TOKEN_FILE); without it, /metrics on --listen answers loopback clients only")
	fs.StringVar(&o.maxFunctions, "metrics-max-functions", env("metrics-max-functions", strconv.Itoa(metrics.DefaultMaxFunctions)), "functions with their own function label in metrics; the rest share \"(other)\" (LAMBDAHOST_METRICS_MAX_FUNCTIONS)")
	fs.StringVar(&o.console, "console", env("console", "true"), "serve the web console at /_lambdahost/console/ (LAMBDAHOST_CONSOLE)")
	fs.StringVar(&o.sessionTTL, "console-session-ttl", env("console-session-ttl", "12h"), "how long a console sign-in lasts (LAMBDAHOST_CONSOLE_SESSION_TTL)")
}

func (o *operatorFlags) check() error {
	var err error
	if o.Metrics, err = strconv.ParseBool(o.metrics); err != nil {
		return fmt.Errorf("--metrics: want true or false, got %q", o.metrics)
	}
	if o.Console, err = strconv.ParseBool(o.console); err != nil {
		return fmt.Errorf("--console: want true or false, got %q", o.console)
	}
	if o.MetricsMaxFunctions, err = strconv.Atoi(o.maxFunctions); err != nil || o.MetricsMaxFunctions < 0 {
		return fmt.Errorf("--metrics-max-functions: want a number of functions, got %q", o.maxFunctions)
	}
	if o.ConsoleSessionTTL, err = time.ParseDuration(o.sessionTTL); err != nil || o.ConsoleSessionTTL < time.Minute {
		return fmt.Errorf("--console-session-ttl: want a duration of at least 1m, got %q", o.sessionTTL)
	}
	if o.MetricsListen != "" && !o.Metrics {
		return errors.New("--metrics-listen: metrics are off (--metrics=false)")
	}
	return nil
}

// newMetrics returns the server's metrics, reading the gauges from store,
// blobs and executor, and the asynchronous machinery's counters and event
// source lag from svc; nil with --metrics=false.
func (o *operatorFlags) newMetrics(store lambdahost.Store, blobs lambdahost.BlobStore, executor *invoke.Executor, svc *control.Service) *metrics.Registry {
	if !o.Metrics {
		return nil
	}
	reg := metrics.New(version)
	reg.MaxFunctions = o.MetricsMaxFunctions
	reg.Sources = metrics.Sources{
		Environments:   executor.Environments,
		AsyncQueue:     executor.AsyncQueue,
		Async:          func() metrics.AsyncCounts { return asyncCounts(&svc.Metrics) },
		EventSourceLag: func() []metrics.Lag { return eventSourceLag(svc.EventSourceLag()) },
		Blobs: func(ctx context.Context) (count, bytes int64, err error) {
			err = blobs.Walk(ctx, func(_ lambdahost.Digest, size int64, _ time.Time) error {
				count++
				bytes += size
				return nil
			})
			return count, bytes, err
		},
	}
	if sz, ok := store.(lambdahost.Sizer); ok {
		reg.Sources.StoreBytes = sz.Size
	}
	return reg
}

// asyncCounts reads m for the metrics.
func asyncCounts(m *control.Metrics) metrics.AsyncCounts {
	return metrics.AsyncCounts{
		EventsReceived:               m.AsyncEventsReceived.Load(),
		EventsDropped:                m.AsyncEventsDropped.Load(),
		DestinationDeliveries:        m.DestinationDeliveries.Load(),
		DestinationDeliveryFailures:  m.DestinationDeliveryFailures.Load(),
		DeadLetterErrors:             m.DeadLetterErrors.Load(),
		DestinationDeliveriesExpired: m.DestinationDeliveriesExpired.Load(),
		RecursiveInvocationsDropped:  m.RecursiveInvocationsDropped.Load(),
		EventSourceBatches:           m.EventSourceBatches.Load(),
		EventSourceBatchFailures:     m.EventSourceBatchFailures.Load(),
		EventSourceRecords:           m.EventSourceRecords.Load(),
		EventSourceRecordsFiltered:   m.EventSourceRecordsFiltered.Load(),
		EventSourceRecordsDropped:    m.EventSourceRecordsDropped.Load(),
		EventSourcePollErrors:        m.EventSourcePollErrors.Load(),
	}
}

// eventSourceLag converts the lags of the mappings for the metrics.
func eventSourceLag(ls []control.MappingLag) []metrics.Lag {
	out := make([]metrics.Lag, len(ls))
	for i, l := range ls {
		out[i] = metrics.Lag{Function: l.Function, UUID: l.UUID, Lag: l.Lag}
	}
	return out
}

// mountOperator puts the console and /metrics beside the services on
// router, or /metrics on a listener of its own (--metrics-listen), whose
// server it returns.
func (o *operatorFlags) mountOperator(router *fnhttp.Router, reg *metrics.Registry, svc *control.Service, api *fnhttp.Server, creds map[string]sigv4.Credential, urlKey []byte, store lambdahost.Store, logs lambdahost.LogStore, logger *slog.Logger) (*operatorView, error) {
	view := &operatorView{}
	var err error
	if view.console, err = o.mountConsole(router, svc, api, creds, urlKey, store.Watch, logs, logger); err != nil {
		return nil, err
	}
	if reg == nil {
		return view, nil
	}
	router.Meter = reg
	opts := metrics.HandlerOptions{LoopbackOnly: o.MetricsListen == ""}
	if o.MetricsTokenFile != "" {
		b, err := os.ReadFile(o.MetricsTokenFile)
		if err != nil {
			return nil, fmt.Errorf("--metrics-token-file: %w", err)
		}
		if opts.Token = strings.TrimSpace(string(b)); opts.Token == "" {
			return nil, fmt.Errorf("--metrics-token-file: %s is empty", o.MetricsTokenFile)
		}
	}
	h := exactPath("/metrics", reg.Handler(opts))
	if o.MetricsListen == "" {
		router.Mount("/metrics", h)
		return view, nil
	}
	ln, err := net.Listen("tcp", o.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	o.metricsAddr = ln.Addr().String()
	view.metrics = &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go view.metrics.Serve(ln)
	logger.Info("metrics listening", "address", o.metricsAddr)
	return view, nil
}

// operatorView is what mountOperator started: the console and the
// metrics listener, if any.
type operatorView struct {
	console *console.Server
	metrics *http.Server
}

// shutdown ends the console's event streams, which would keep the API
// server's Shutdown waiting, and the metrics listener.
func (v *operatorView) shutdown() {
	if v.console != nil {
		v.console.Close()
	}
	if v.metrics != nil {
		v.metrics.Close()
	}
}

// exactPath serves path only, and 404 for the rest.
func exactPath(path string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// mountConsole mounts the web console (unless --console=false), signed in
// with creds, its sessions signed with a key derived from urlKey (which
// the nodes of a cluster share).
func (o *operatorFlags) mountConsole(router *fnhttp.Router, svc *control.Service, api *fnhttp.Server, creds map[string]sigv4.Credential, urlKey []byte, watch func(context.Context, func(lambdahost.FunctionID)) error, logs lambdahost.LogStore, logger *slog.Logger) (*console.Server, error) {
	if !o.Console {
		return nil, nil
	}
	c, err := console.New(svc, urlKey)
	if err != nil {
		return nil, err
	}
	c.Credentials = func(key string) (console.Credential, bool) {
		cr, ok := creds[key]
		return console.Credential{Secret: cr.Secret, Account: cr.Account}, ok
	}
	c.Invoker = consoleInvoker{api}
	c.Watch = watch
	c.Invocations = console.LogStoreInvocations{Store: logs}
	c.SessionTTL = o.ConsoleSessionTTL
	c.Logger = logger.With(lambdahost.LogKeyComponent, "console")
	c.Version = version
	c.Start()
	router.Mount(console.Prefix, c)
	return c, nil
}

// consoleInvoker runs the console's invocations through the Lambda API's
// Invoke path.
type consoleInvoker struct{ api *fnhttp.Server }

func (i consoleInvoker) Invoke(ctx context.Context, function, qualifier string, payload []byte) (*console.InvokeResult, error) {
	res, executed, err := i.api.InvokeTail(ctx, function, qualifier, payload)
	if err != nil {
		return nil, err
	}
	return &console.InvokeResult{ExecutedVersion: executed, FunctionError: res.FunctionError, Payload: res.Payload, Log: res.Log}, nil
}

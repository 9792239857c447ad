// Package metrics is lambdahost's Prometheus metrics: a lambdahost.Meter
// that the components report to (http, control, invoke, which never import
// Prometheus), gauges read from them at each scrape, and the /metrics
// handler in Prometheus's text format.
//
// Every metric is named lambdahost_*; README.md lists them with their
// labels. Labels are bounded: operations, statuses, outcomes and phases
// are finite sets, and the function label has at most MaxFunctions values
// besides "(other)" (see Registry.MaxFunctions).
package metrics

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lambdahost/lambdahost"
)

// DefaultMaxFunctions is the default of Registry.MaxFunctions.
const DefaultMaxFunctions = 100

// OtherFunction is the function label of the functions past
// MaxFunctions. It is no valid function name, so it names no function.
const OtherFunction = "(other)"

// DefaultSizeInterval is the default of Registry.SizeInterval.
const DefaultSizeInterval = time.Minute

// Sources are the gauges a Registry reads when it is scraped. A nil
// field leaves its metrics out.
type Sources struct {
	// Environments returns this node's execution environments: idle
	// (warm) and busy (starting or running).
	Environments func() (idle, busy int)
	// AsyncQueue returns how many asynchronous events this node holds and
	// when the oldest was queued.
	AsyncQueue func() (depth int, oldest time.Time)
	// EventSourceLag returns how far each event source mapping that this
	// node polls is behind its source.
	EventSourceLag func() []Lag
	// Async returns the counters of the asynchronous machinery:
	// destinations, dead-letter queues, event source mappings.
	Async func() AsyncCounts
	// StoreBytes returns the size of the metadata store (the SQLite file,
	// the PostgreSQL database).
	StoreBytes func(ctx context.Context) (int64, error)
	// Blobs returns how many code blobs the blob store holds and their size.
	Blobs func(ctx context.Context) (count, bytes int64, err error)
}

// Lag is how far an event source mapping is behind its source: the age
// of the oldest record its poller took from the source and has not yet
// settled (handed to its function with success, or given up), 0 when it
// holds none.
type Lag struct {
	Function lambdahost.FunctionID
	// UUID identifies the mapping.
	UUID string
	Lag  time.Duration
}

// AsyncCounts are the counters of the asynchronous machinery, as they
// stand: they only grow. The fields are named after AWS's CloudWatch
// metrics where Lambda has one.
type AsyncCounts struct {
	// EventsReceived counts the asynchronous events stored (Event
	// invocations, and invocations of Lambda destinations);
	// EventsDropped those that ended without their function succeeding.
	EventsReceived, EventsDropped int64
	// DestinationDeliveries counts the records and dead-letter messages
	// sent; DestinationDeliveryFailures and DeadLetterErrors the failed
	// attempts (each retried), DestinationDeliveriesExpired the messages
	// given up.
	DestinationDeliveries, DestinationDeliveryFailures, DeadLetterErrors, DestinationDeliveriesExpired int64
	// RecursiveInvocationsDropped counts the invocations stopped by
	// recursive loop detection.
	RecursiveInvocationsDropped int64
	// The work of event source mappings: batches handed to functions and
	// those that failed, records handed on, filtered out and given up,
	// failed calls to the sources.
	EventSourceBatches, EventSourceBatchFailures                              int64
	EventSourceRecords, EventSourceRecordsFiltered, EventSourceRecordsDropped int64
	EventSourcePollErrors                                                     int64
}

// asyncCounter is a counter of AsyncCounts.
type asyncCounter struct {
	desc  *prometheus.Desc
	value func(*AsyncCounts) int64
}

func newAsyncCounters() []asyncCounter {
	c := func(name, help string, value func(*AsyncCounts) int64) asyncCounter {
		return asyncCounter{prometheus.NewDesc(name, help, nil, nil), value}
	}
	return []asyncCounter{
		c("lambdahost_async_events_received_total", "Asynchronous events stored: Event invocations accepted, and invocations of Lambda destinations.", func(a *AsyncCounts) int64 { return a.EventsReceived }),
		c("lambdahost_async_events_dropped_total", "Asynchronous events that ended without their function succeeding: after their retries, too old, not run for zero reserved concurrency, or stopped in a recursive loop (AWS's AsyncEventsDropped).", func(a *AsyncCounts) int64 { return a.EventsDropped }),
		c("lambdahost_destination_deliveries_total", "Messages sent to destinations: invocation records to OnSuccess and OnFailure (stream mappings' included), and dead-letter messages.", func(a *AsyncCounts) int64 { return a.DestinationDeliveries }),
		c("lambdahost_destination_delivery_failures_total", "Failed attempts to send a record to a destination, each retried with backoff (AWS's DestinationDeliveryFailures).", func(a *AsyncCounts) int64 { return a.DestinationDeliveryFailures }),
		c("lambdahost_dead_letter_errors_total", "Failed attempts to send a dead-letter message, each retried with backoff (AWS's DeadLetterErrors).", func(a *AsyncCounts) int64 { return a.DeadLetterErrors }),
		c("lambdahost_destination_deliveries_expired_total", "Destination and dead-letter messages given up after failing for longer than the maximum delivery age.", func(a *AsyncCounts) int64 { return a.DestinationDeliveriesExpired }),
		c("lambdahost_recursive_invocations_dropped_total", "Invocations and event source batches stopped by recursive loop detection (AWS's RecursiveInvocationsDropped).", func(a *AsyncCounts) int64 { return a.RecursiveInvocationsDropped }),
		c("lambdahost_event_source_batches_total", "Batches that event source mappings handed to functions, retries included.", func(a *AsyncCounts) int64 { return a.EventSourceBatches }),
		c("lambdahost_event_source_batch_failures_total", "Event source batches that failed in whole or in part, or could not run.", func(a *AsyncCounts) int64 { return a.EventSourceBatchFailures }),
		c("lambdahost_event_source_records_total", "Records (queue messages, stream records) that event source mappings handed to functions, retries included.", func(a *AsyncCounts) int64 { return a.EventSourceRecords }),
		c("lambdahost_event_source_records_filtered_total", "Records that event source mappings' filter criteria left out (queue messages left out are deleted).", func(a *AsyncCounts) int64 { return a.EventSourceRecordsFiltered }),
		c("lambdahost_event_source_records_dropped_total", "Stream records given up after their retries or maximum age: sent to the mapping's OnFailure destination, or dropped without one.", func(a *AsyncCounts) int64 { return a.EventSourceRecordsDropped }),
		c("lambdahost_event_source_poll_errors_total", "Failed calls of event source mappings to their sources (queues, streams).", func(a *AsyncCounts) int64 { return a.EventSourcePollErrors }),
	}
}

// Registry keeps lambdahost's metrics. It is a lambdahost.Meter; create it
// with New, set Sources, and serve Handler.
type Registry struct {
	reg *prometheus.Registry

	// MaxFunctions bounds the function label: the first MaxFunctions
	// functions to report anything have their own series, later ones
	// share OtherFunction, until a function with its own series is
	// deleted (FunctionDeleted) and frees its place. Set before use;
	// New sets DefaultMaxFunctions.
	MaxFunctions int
	// Sources are read at each scrape. Set before serving.
	Sources Sources
	// SizeInterval is how long the store and blob sizes are reused
	// between scrapes: they walk every blob. New sets
	// DefaultSizeInterval.
	SizeInterval time.Duration
	// Now is the clock of the queue's age. If nil, time.Now.
	Now func() time.Time

	mu        sync.RWMutex
	functions map[lambdahost.FunctionID]string

	apiRequests *prometheus.CounterVec
	apiLatency  *prometheus.HistogramVec
	codeBytes   *prometheus.HistogramVec
	codePhase   *prometheus.HistogramVec
	settle      *prometheus.HistogramVec
	invocations *prometheus.CounterVec
	invokeTime  *prometheus.HistogramVec
	coldStarts  *prometheus.CounterVec
	coldTime    prometheus.Histogram
	throttles   *prometheus.CounterVec
	sigErrors   *prometheus.CounterVec
	gcRuns      *prometheus.CounterVec
	gcDeleted   prometheus.Counter
	gcTime      prometheus.Histogram
	perFunction []*prometheus.MetricVec
	sizes       sizeCache
	gaugeDescs  gaugeDescs
	async       []asyncCounter
}

// latencyBuckets covers API requests and deployments: 0.5 ms to 32 s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0005, 2, 17)

// invokeBuckets covers invocations: 1 ms to 15 minutes, Lambda's
// longest timeout.
var invokeBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900}

// New returns a Registry with every metric registered, and Go runtime
// and process metrics.
func New(version string) *Registry {
	r := &Registry{reg: prometheus.NewRegistry(), MaxFunctions: DefaultMaxFunctions, SizeInterval: DefaultSizeInterval, functions: map[lambdahost.FunctionID]string{}}
	f := factory{r.reg}
	r.apiRequests = f.counterVec("lambdahost_api_requests_total", "API requests answered, by service, operation (as AWS names it) and HTTP status.", "service", "operation", "status")
	r.apiLatency = f.histogramVec("lambdahost_api_request_duration_seconds", "Time to answer an API request, by service and operation.", latencyBuckets, "service", "operation")
	r.codeBytes = f.histogramVec("lambdahost_code_deploy_bytes", "Size of deployed packages, by operation (CreateFunction, UpdateFunctionCode).", prometheus.ExponentialBuckets(1024, 4, 10), "operation")
	r.codePhase = f.histogramVec("lambdahost_code_deploy_phase_seconds", "Time of each phase of a code deployment (receive, hash, seal, store, commit), by operation.", latencyBuckets, "operation", "phase")
	r.settle = f.histogramVec("lambdahost_update_settle_seconds", "Time from a change operation's start to its final LastUpdateStatus (the time a function-updated waiter waits), by operation and status (Successful, Failed).", latencyBuckets, "operation", "status")
	r.invocations = f.counterVec("lambdahost_invocations_total", "Invocations, by function, invocation type (RequestResponse, Event) and outcome (success, function_error, timeout, runtime_error, throttled, error).", "function", "type", "outcome")
	r.invokeTime = f.histogramVec("lambdahost_invocation_duration_seconds", "Time of an invocation as the executor saw it (queueing for an environment and a cold start included), by invocation type and outcome.", invokeBuckets, "type", "outcome")
	r.coldStarts = f.counterVec("lambdahost_cold_starts_total", "Execution environments started for an invocation, by function.", "function")
	r.coldTime = f.histogram("lambdahost_cold_start_duration_seconds", "Time from starting an execution environment until its runtime asked for its first invocation (Init Duration).", invokeBuckets)
	r.throttles = f.counterVec("lambdahost_throttles_total", "Invocations refused for concurrency, by function and reason.", "function", "reason")
	r.sigErrors = f.counterVec("lambdahost_signature_validation_errors_total", "Deployments that a code signing config's Warn policy let through although their signature check failed (AWS's SignatureValidationErrors), by function.", "function")
	r.gcRuns = f.counterVec("lambdahost_gc_runs_total", "Garbage collection rounds, by result (ok, error).", "result")
	r.gcDeleted = f.counter("lambdahost_gc_deleted_total", "Unreferenced code packages deleted by garbage collection.")
	r.gcTime = f.histogram("lambdahost_gc_duration_seconds", "Time of a garbage collection round.", latencyBuckets)
	r.perFunction = []*prometheus.MetricVec{r.invocations.MetricVec, r.coldStarts.MetricVec, r.throttles.MetricVec, r.sigErrors.MetricVec}
	r.gaugeDescs = newGaugeDescs()
	r.async = newAsyncCounters()
	r.reg.MustRegister(prometheus.CollectorFunc(r.collectGauges))
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "lambdahost_build_info", Help: "Always 1, labelled with lambdahost's version.", ConstLabels: prometheus.Labels{"version": version}})
	build.Set(1)
	r.reg.MustRegister(build)
	return r
}

// factory registers metrics as it makes them.
type factory struct{ reg *prometheus.Registry }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

// function returns fn's function label: its ARN, or OtherFunction once
// MaxFunctions functions have theirs.
func (r *Registry) function(fn lambdahost.FunctionID) string {
	r.mu.RLock()
	l, ok := r.functions[fn]
	r.mu.RUnlock()
	if ok {
		return l
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if l, ok := r.functions[fn]; ok {
		return l
	}
	if len(r.functions) >= r.MaxFunctions {
		return OtherFunction
	}
	l = fn.ARN()
	r.functions[fn] = l
	return l
}

// Registry is a lambdahost.Meter.
var _ lambdahost.Meter = (*Registry)(nil)

// APIRequest implements lambdahost.Meter.
func (r *Registry) APIRequest(service, operation string, status int, elapsed time.Duration) {
	r.apiRequests.WithLabelValues(service, operation, strconv.Itoa(status)).Inc()
	r.apiLatency.WithLabelValues(service, operation).Observe(elapsed.Seconds())
}

// CodeDeployed implements lambdahost.Meter.
func (r *Registry) CodeDeployed(operation string, t *lambdahost.DeployTiming) {
	r.codeBytes.WithLabelValues(operation).Observe(float64(t.Bytes))
	for _, p := range []struct {
		phase string
		d     time.Duration
	}{{"receive", t.Receive}, {"hash", t.Hash}, {"seal", t.Seal}, {"store", t.Store}, {"commit", t.Commit}} {
		r.codePhase.WithLabelValues(operation, p.phase).Observe(p.d.Seconds())
	}
}

// UpdateSettled implements lambdahost.Meter.
func (r *Registry) UpdateSettled(operation, status string, elapsed time.Duration) {
	r.settle.WithLabelValues(operation, status).Observe(elapsed.Seconds())
}

// Invoked implements lambdahost.Meter.
func (r *Registry) Invoked(fn lambdahost.FunctionID, kind, outcome string, elapsed time.Duration) {
	r.invocations.WithLabelValues(r.function(fn), kind, outcome).Inc()
	r.invokeTime.WithLabelValues(kind, outcome).Observe(elapsed.Seconds())
}

// ColdStart implements lambdahost.Meter.
func (r *Registry) ColdStart(fn lambdahost.FunctionID, elapsed time.Duration) {
	r.coldStarts.WithLabelValues(r.function(fn)).Inc()
	r.coldTime.Observe(elapsed.Seconds())
}

// Throttled implements lambdahost.Meter.
func (r *Registry) Throttled(fn lambdahost.FunctionID, reason string) {
	r.throttles.WithLabelValues(r.function(fn), reason).Inc()
}

// SignatureValidationError implements lambdahost.Meter.
func (r *Registry) SignatureValidationError(fn lambdahost.FunctionID) {
	r.sigErrors.WithLabelValues(r.function(fn)).Inc()
}

// GarbageCollected implements lambdahost.Meter.
func (r *Registry) GarbageCollected(deleted int, elapsed time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	r.gcRuns.WithLabelValues(result).Inc()
	r.gcDeleted.Add(float64(deleted))
	r.gcTime.Observe(elapsed.Seconds())
}

// FunctionDeleted implements lambdahost.Meter: fn's series go, and its
// place among MaxFunctions is free for another.
func (r *Registry) FunctionDeleted(fn lambdahost.FunctionID) {
	r.mu.Lock()
	l, ok := r.functions[fn]
	delete(r.functions, fn)
	r.mu.Unlock()
	if !ok {
		return
	}
	for _, v := range r.perFunction {
		v.DeletePartialMatch(prometheus.Labels{"function": l})
	}
}

// gaugeDescs describe the gauges read from Sources.
type gaugeDescs struct {
	environments, queueDepth, queueAge, lag, storeBytes, blobBytes, blobCount, functions *prometheus.Desc
}

func newGaugeDescs() gaugeDescs {
	return gaugeDescs{
		environments: prometheus.NewDesc("lambdahost_environments", "Execution environments of this node, by state: idle (warm) or busy (starting or running an invocation).", []string{"state"}, nil),
		queueDepth:   prometheus.NewDesc("lambdahost_async_queue_depth", "Asynchronous events this node holds: running, or waiting for a retry.", nil, nil),
		queueAge:     prometheus.NewDesc("lambdahost_async_queue_oldest_age_seconds", "Age of the oldest asynchronous event this node holds (0 if none).", nil, nil),
		lag:          prometheus.NewDesc("lambdahost_event_source_lag_seconds", "How far each event source mapping this node polls is behind its source: the age of the oldest record its poller took and has not settled (SQS: by SentTimestamp; Kinesis: by ApproximateArrivalTimestamp), 0 when it holds none. The mappings of functions past the function label cap share one series, uuid \"(other)\", with the largest lag.", []string{"function", "uuid"}, nil),
		storeBytes:   prometheus.NewDesc("lambdahost_store_bytes", "Size of the metadata store.", nil, nil),
		blobBytes:    prometheus.NewDesc("lambdahost_blob_bytes", "Size of the code blobs in the blob store.", nil, nil),
		blobCount:    prometheus.NewDesc("lambdahost_blobs", "Code blobs in the blob store.", nil, nil),
		functions:    prometheus.NewDesc("lambdahost_metrics_functions", "Functions that have their own function label (at most the --metrics-max-functions cap; the rest share \"(other)\").", nil, nil),
	}
}

// collectGauges reads Sources: the gauges, and the counters of the
// asynchronous machinery.
func (r *Registry) collectGauges(ch chan<- prometheus.Metric) {
	d, src := r.gaugeDescs, r.Sources
	if src.Environments != nil {
		idle, busy := src.Environments()
		ch <- prometheus.MustNewConstMetric(d.environments, prometheus.GaugeValue, float64(idle), "idle")
		ch <- prometheus.MustNewConstMetric(d.environments, prometheus.GaugeValue, float64(busy), "busy")
	}
	if src.AsyncQueue != nil {
		depth, oldest := src.AsyncQueue()
		age := 0.0
		if !oldest.IsZero() {
			age = max(r.now().Sub(oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(d.queueDepth, prometheus.GaugeValue, float64(depth))
		ch <- prometheus.MustNewConstMetric(d.queueAge, prometheus.GaugeValue, age)
	}
	if src.EventSourceLag != nil {
		// Bounded as the function label is: the mappings of the functions
		// past MaxFunctions fold into one series.
		type series struct{ function, uuid string }
		lags := map[series]time.Duration{}
		var order []series
		for _, l := range src.EventSourceLag() {
			k := series{r.function(l.Function), l.UUID}
			if k.function == OtherFunction {
				k.uuid = OtherFunction
			}
			if cur, ok := lags[k]; !ok {
				order = append(order, k)
				lags[k] = l.Lag
			} else {
				lags[k] = max(cur, l.Lag)
			}
		}
		for _, k := range order {
			ch <- prometheus.MustNewConstMetric(d.lag, prometheus.GaugeValue, lags[k].Seconds(), k.function, k.uuid)
		}
	}
	if src.Async != nil {
		a := src.Async()
		for _, c := range r.async {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(c.value(&a)))
		}
	}
	if s, ok := r.sizes.get(r, src); ok {
		if s.store >= 0 {
			ch <- prometheus.MustNewConstMetric(d.storeBytes, prometheus.GaugeValue, float64(s.store))
		}
		if s.blobCount >= 0 {
			ch <- prometheus.MustNewConstMetric(d.blobBytes, prometheus.GaugeValue, float64(s.blobBytes))
			ch <- prometheus.MustNewConstMetric(d.blobCount, prometheus.GaugeValue, float64(s.blobCount))
		}
	}
	r.mu.RLock()
	n := len(r.functions)
	r.mu.RUnlock()
	ch <- prometheus.MustNewConstMetric(d.functions, prometheus.GaugeValue, float64(n))
}

func (r *Registry) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// sizeCache keeps the store and blob sizes for SizeInterval.
type sizeCache struct {
	mu   sync.Mutex
	at   time.Time
	last sizes
}

// sizes are the sizes measured; -1 where unknown.
type sizes struct {
	store, blobCount, blobBytes int64
}

// sizeTimeout bounds measuring the sizes, within a scrape.
const sizeTimeout = 5 * time.Second

// get returns the sizes, measuring them again once they are older than
// SizeInterval; ok is false if no source measures any.
func (c *sizeCache) get(r *Registry, src Sources) (sizes, bool) {
	if src.StoreBytes == nil && src.Blobs == nil {
		return sizes{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < r.SizeInterval {
		return c.last, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), sizeTimeout)
	defer cancel()
	s := sizes{store: -1, blobCount: -1, blobBytes: -1}
	if src.StoreBytes != nil {
		if n, err := src.StoreBytes(ctx); err == nil {
			s.store = n
		}
	}
	if src.Blobs != nil {
		if count, n, err := src.Blobs(ctx); err == nil {
			s.blobCount, s.blobBytes = count, n
		}
	}
	c.at, c.last = time.Now(), s
	return s, true
}

// HandlerOptions says who may scrape.
type HandlerOptions struct {
	// Token, if set, is the bearer token a scrape must present
	// (Authorization: Bearer TOKEN): Prometheus's
	// authorization.credentials_file.
	Token string
	// LoopbackOnly answers 403 to scrapes without the token from peers
	// that are not on a loopback address.
	LoopbackOnly bool
}

// Handler serves the metrics in Prometheus's text format (or OpenMetrics,
// when the scraper asks for it).
func (r *Registry) Handler(opts HandlerOptions) http.Handler {
	h := promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !allowed(req, opts) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, req)
	})
}

// allowed reports whether req may scrape under opts.
func allowed(req *http.Request, opts HandlerOptions) bool {
	if opts.Token != "" {
		got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		return ok && subtle.ConstantTimeCompare([]byte(got), []byte(opts.Token)) == 1
	}
	if !opts.LoopbackOnly {
		return true
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

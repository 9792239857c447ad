package invoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Defaults of the Executor's settings.
const (
	// DefaultIdleTimeout is how long an idle environment is kept warm.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultInitTimeout bounds a runtime's start-up, Lambda's 10 s.
	DefaultInitTimeout = 10 * time.Second
	// DefaultAccountConcurrency is Lambda's default concurrency quota.
	DefaultAccountConcurrency = 1000
	// DefaultCloseGrace is how long Close waits for running invocations.
	DefaultCloseGrace = 10 * time.Second
	// DefaultMaxEventAge is how long an asynchronous event is retried.
	DefaultMaxEventAge = 6 * time.Hour
	// defaultTmpMB is the default EphemeralStorage size.
	defaultTmpMB = 512
	// defaultTimeout and defaultMemory are Lambda's defaults.
	defaultTimeout = 3
	defaultMemory  = 128
)

// DefaultRetryDelays are the waits before the two retries of an
// asynchronous invocation whose function failed: about one minute, then
// two, as Lambda does.
var DefaultRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// Target is what an invocation runs, resolved by the control plane.
type Target struct {
	// Function names the function; Generation is its creation time, which
	// tells a function apart from an earlier one of the same name.
	Function   lambdahost.FunctionID
	Generation time.Time
	// Version is the version whose code and configuration run.
	Version *lambdahost.Version
	// InvokedARN is the ARN as invoked (with alias or version, if any).
	InvokedARN string
	// ExecutedVersion is "$LATEST" or a version number.
	ExecutedVersion string
	// ReservedConcurrency is the function's reserved concurrency, if set.
	ReservedConcurrency *int
	// InitType is AWS_LAMBDA_INITIALIZATION_TYPE of the environments
	// started for it: "" for on-demand.
	InitType string
}

// Runtime says how to run a runtime in an environment.
type Runtime struct {
	// Argv is the command, with paths inside the environment.
	Argv []string
	// Mounts are the interpreter and bootstrap directories.
	Mounts []lambdahost.Mount
	// Env holds the runtime's variables ("KEY=value"): PATH,
	// AWS_EXECUTION_ENV...
	Env []string
}

// Image is a container image function, ready to run.
type Image struct {
	RootFS     string
	Entrypoint []string
	Cmd        []string
	WorkingDir string
	Env        []string
}

// Executor runs invocations in pooled execution environments.
type Executor struct {
	// Launcher starts environments.
	Launcher lambdahost.Launcher
	// Runtime finds how to run a Zip function's runtime. Its error is
	// answered as InvalidRuntimeException.
	Runtime func(runtime string) (*Runtime, error)
	// Code opens a code package, decrypting it. Its *lambdahost.Error (a
	// KMS key that cannot be used) is Invoke's answer.
	Code func(ctx context.Context, c lambdahost.Code) (lambdahost.Blob, error)
	// CheckCode, if set, is called at every cold start of a Zip function,
	// also when its package is unpacked already: its *lambdahost.Error (the
	// KMS key sealing the code is disabled or gone) is Invoke's answer. If
	// nil, only opening the package checks.
	CheckCode func(ctx context.Context, c lambdahost.Code) error
	// Image readies an image function's file system and settings. If nil,
	// image functions cannot be invoked.
	Image func(ctx context.Context, v *lambdahost.Version) (*Image, error)
	// Dir holds unpacked code (Dir/code/<hex>, function code and layers
	// alike) and the merged layers environments see at /opt (Dir/opt).
	Dir string
	// MemoryBudgetMB bounds the memory of all environments together. If
	// zero, three quarters of the host's memory.
	MemoryBudgetMB int
	// IdleTimeout is how long an idle environment is kept. If zero,
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// InitTimeout bounds a runtime's start. If zero, DefaultInitTimeout.
	InitTimeout time.Duration
	// AccountConcurrency bounds the invocations in flight per account and
	// region of functions without reserved concurrency. If zero,
	// DefaultAccountConcurrency.
	AccountConcurrency int
	// RetryDelays are the waits before each retry of a failed asynchronous
	// invocation; its length is the number of retries. If nil,
	// DefaultRetryDelays.
	RetryDelays []time.Duration
	// MaxEventAge bounds how long an asynchronous event is retried, unless
	// its Request says otherwise. If zero, DefaultMaxEventAge.
	MaxEventAge time.Duration
	// Now is the clock that ages asynchronous events. If nil, time.Now.
	Now func() time.Time
	// Arch is the host's Lambda architecture ("x86_64" or "arm64"); Foreign
	// lists architectures the host can also run (qemu-user binfmt). If Arch
	// is empty, it is the architecture of this program.
	Arch    string
	Foreign []string
	// Sessions, if set, issues each environment temporary credentials for
	// its function's execution role (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), ended with the
	// environment. An environment is not reused once they would expire
	// before its next invocation could end.
	Sessions lambdahost.SessionIssuer
	// Endpoint, if set, is every environment's AWS_ENDPOINT_URL: where
	// lambdahost's API is reached from inside it.
	Endpoint string
	// FunctionEnv are variables ("KEY=value") every environment gets: a
	// function's own Environment wins over them, and they lose to the
	// variables Lambda reserves (see ReservedEnv), as does Endpoint to them.
	FunctionEnv []string
	// Concurrency, if set, counts the invocations in flight across every
	// process sharing the store, so that reserved and account concurrency
	// hold for all of them together. If nil, this process counts its own.
	Concurrency Limiter
	// CloseGrace is how long Close lets running invocations finish before
	// it stops their environments. If zero, DefaultCloseGrace.
	CloseGrace time.Duration
	// Logger receives the service's logs; FunctionLog, if set, receives
	// every line of every function's log.
	Logger      *slog.Logger
	FunctionLog func(fn lambdahost.FunctionID, line []byte)
	// Meter receives every invocation's outcome, cold starts and
	// throttles. If nil, nothing is measured.
	Meter lambdahost.Meter
	// Logs, if set, stores every function's log as Lambda sends it to
	// CloudWatch Logs: each environment's lines in a stream of its own in
	// the function's log group, with the platform's INIT_START, START,
	// END and REPORT lines (or platform.* records in the JSON log format),
	// filtered by the LoggingConfig's levels. It is called on the invoke
	// path and must not block.
	Logs lambdahost.LogSink

	code *codeDirs
	opt  *optDirs

	mu sync.Mutex
	// slots maps a function version to its current pool.
	slots map[string]*pool
	// memUsed is the memory of all live environments, in MB.
	memUsed int
	// freed is closed, and replaced, whenever capacity is released.
	freed chan struct{}
	// inflight counts invocations per function (reserved concurrency) and
	// per account and region (the rest).
	inflight map[string]int
	closed   bool
	// live holds every started environment until it is dropped.
	live map[*env]struct{}
	// provs are the provisioned environments, by key (see Provision).
	provs map[string]*provSet
	// queued holds the asynchronous events in hand, with when each was
	// first queued (AsyncQueue).
	queued map[*Request]time.Time

	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup
	// running counts invocations in progress; none start after Close.
	running sync.WaitGroup
	once    sync.Once
}

// Limiter counts invocations in flight under a key (a function, or an
// account and region) across processes.
type Limiter interface {
	// Acquire counts one more invocation under key if fewer than limit
	// are in flight, and reports whether it did.
	Acquire(ctx context.Context, key string, limit int) (bool, error)
	// Release counts one fewer.
	Release(ctx context.Context, key string) error
}

// pool holds the environments of one function version with one code and
// configuration.
type pool struct {
	fn         lambdahost.FunctionID
	slot, hash string
	idle       []*env
	live       int
	draining   bool
	memoryMB   int
	// provisioned marks the pool of provisioned environments (see
	// Provision): not in the slots, never reaped.
	provisioned bool
}

func (x *Executor) init() {
	x.once.Do(func() {
		if x.Logger == nil {
			x.Logger = slog.Default()
		}
		x.Logger = x.Logger.With(lambdahost.LogKeyComponent, "invoke")
		if x.MemoryBudgetMB == 0 {
			x.MemoryBudgetMB = hostMemoryMB() * 3 / 4
		}
		if x.IdleTimeout == 0 {
			x.IdleTimeout = DefaultIdleTimeout
		}
		if x.InitTimeout == 0 {
			x.InitTimeout = DefaultInitTimeout
		}
		if x.AccountConcurrency == 0 {
			x.AccountConcurrency = DefaultAccountConcurrency
		}
		if x.RetryDelays == nil {
			x.RetryDelays = DefaultRetryDelays
		}
		if x.MaxEventAge == 0 {
			x.MaxEventAge = DefaultMaxEventAge
		}
		if x.Arch == "" {
			x.Arch = "x86_64"
			if runtime.GOARCH == "arm64" {
				x.Arch = "arm64"
			}
		}
		x.code = &codeDirs{dir: filepath.Join(x.Dir, "code"), open: x.Code}
		x.opt = &optDirs{dir: filepath.Join(x.Dir, "opt"), code: x.code}
		x.slots = map[string]*pool{}
		x.inflight = map[string]int{}
		x.live = map[*env]struct{}{}
		x.provs = map[string]*provSet{}
		x.queued = map[*Request]time.Time{}
		x.freed = make(chan struct{})
		x.ctx, x.cancel = context.WithCancel(context.Background())
	})
}

// Start begins reaping idle environments.
func (x *Executor) Start() {
	x.init()
	x.bg.Add(1)
	go func() {
		defer x.bg.Done()
		tick := time.NewTicker(x.IdleTimeout/4 + time.Second)
		defer tick.Stop()
		for {
			select {
			case <-x.ctx.Done():
				return
			case <-tick.C:
				x.reap()
			}
		}
	}()
}

// Close stops every environment. Asynchronous events not finished yet are
// left unfinished: their Done is not called.
func (x *Executor) Close() error {
	x.init()
	x.mu.Lock()
	x.closed = true
	var all []*env
	for slot, p := range x.slots {
		all = append(all, x.drainLocked(p)...)
		delete(x.slots, slot)
	}
	for key, ps := range x.provs {
		all = append(all, x.drainLocked(ps.pool)...)
		delete(x.provs, key)
	}
	x.mu.Unlock()
	x.cancel()
	for _, e := range all {
		e.kill()
	}
	// Invocations still running get CloseGrace to finish; then their
	// environments are stopped too, which ends them as a runtime exit
	// (asynchronous ones stay stored for the next start).
	done := make(chan struct{})
	go func() {
		x.bg.Wait()
		x.running.Wait()
		close(done)
	}()
	grace := x.CloseGrace
	if grace == 0 {
		grace = DefaultCloseGrace
	}
	select {
	case <-done:
	case <-time.After(grace):
		x.mu.Lock()
		busy := make([]*env, 0, len(x.live))
		for e := range x.live {
			busy = append(busy, e)
		}
		x.mu.Unlock()
		killAll(busy)
		<-done
	}
	return nil
}

// Collect removes unpacked code that no version references, and merged
// layers built from such code. It satisfies control.Collector.
func (x *Executor) Collect(ctx context.Context, referenced map[lambdahost.Digest]bool) (int, error) {
	x.init()
	n, err := x.code.collect(referenced)
	if err != nil {
		return n, err
	}
	m, err := x.opt.collect(referenced)
	return n + m, err
}

// Invoke runs req synchronously. Errors are API errors (throttling, an
// unavailable runtime); the function's own failures are in the Result.
func (x *Executor) Invoke(ctx context.Context, req *Request) (*Result, error) {
	x.init()
	began := time.Now()
	res, err := x.invoke(ctx, req)
	x.meterInvocation(req, res, err, time.Since(began))
	return res, err
}

func (x *Executor) invoke(ctx context.Context, req *Request) (*Result, error) {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil, errShuttingDown()
	}
	x.running.Add(1)
	x.mu.Unlock()
	defer x.running.Done()
	release, err := x.admit(ctx, req.Target)
	if err != nil {
		return nil, err
	}
	defer release()
	// An idle runtime may exit just as it is picked (a Go runtime exits
	// after reporting a panic): the invocation, never handed to it, gets
	// another environment.
	for attempt := 0; ; attempt++ {
		e, err := x.acquire(ctx, req.Target)
		var ff *functionFailure
		if errors.As(err, &ff) {
			return x.failed(req, ff.outcome), nil
		}
		if err != nil {
			return nil, err
		}
		if res := x.run(e, req, attempt < 2); res != nil {
			return res, nil
		}
	}
}

// errShuttingDown answers invocations that arrive once Close has begun.
func errShuttingDown() error {
	return lambdahost.Errorf(lambdahost.ServiceException, "The service is shutting down.")
}

// functionFailure is a failure to start that the caller sees as a function
// error, as Lambda reports a missing bootstrap.
type functionFailure struct{ outcome }

func (f *functionFailure) Error() string { return f.errorType + ": " + string(f.payload) }

// failed is the result of an invocation that never reached a runtime.
func (x *Executor) failed(req *Request, o outcome) *Result {
	c := newCall(req)
	d := x.logDestOf(req.Target)
	x.startLine(d, req.Target, c)
	x.endLines(d, req.Target, c, &o, 0, 0, 0)
	return o.result(c)
}

// run hands req to e and waits for the outcome. If retry is set and e's
// runtime had exited before it took the invocation, run returns nil.
func (x *Executor) run(e *env, req *Request, retry bool) *Result {
	t := req.Target
	c := newCall(req)
	c.onStart = func() { x.startLine(e.log, t, c) }
	e.logTo.Store(c)
	cold := e.cold
	e.cold = false
	var o *outcome
	if cold {
		o = x.awaitInit(e, c)
	}
	timeout := time.Duration(timeoutOf(t.Version)) * time.Second
	begin := time.Now()
	c.deadline = begin.Add(timeout)
	if o == nil {
		var handed bool
		o, handed = x.exchange(e, c, timeout)
		if !handed && retry && o.errorType == errExit && !cold {
			e.logTo.Store(nil)
			x.release(e, true)
			return nil
		}
	}
	c.start()
	dur := time.Since(begin)
	e.logTo.Store(nil)
	var initDur time.Duration
	if cold {
		initDur = e.initDur
		if initDur > 0 {
			x.meter().ColdStart(t.Function, initDur)
		}
	}
	x.endLines(e.log, t, c, o, dur, e.proc.MaxMemory(), initDur)
	x.release(e, o.fatal)
	return o.result(c)
}

// startLine writes an invocation's START line (platform.start).
func (x *Executor) startLine(d *logDest, t Target, c *call) {
	d.write(c, platform{
		text: fmt.Sprintf("START RequestId: %s Version: %s\n", c.req.RequestID, t.ExecutedVersion),
		kind: "platform.start", level: "INFO", tail: true,
		record: struct {
			RequestID string `json:"requestId"`
			Version   string `json:"version"`
		}{c.req.RequestID, t.ExecutedVersion},
	})
}

// reportMetrics are a platform.report record's metrics.
type reportMetrics struct {
	DurationMs       float64  `json:"durationMs"`
	BilledDurationMs int64    `json:"billedDurationMs"`
	MemorySizeMB     int      `json:"memorySizeMB"`
	MaxMemoryUsedMB  int64    `json:"maxMemoryUsedMB"`
	InitDurationMs   *float64 `json:"initDurationMs,omitempty"`
}

// endRecord is a platform.runtimeDone or platform.report record.
type endRecord struct {
	RequestID string `json:"requestId"`
	Status    string `json:"status"`
	ErrorType string `json:"errorType,omitempty"`
	Metrics   any    `json:"metrics"`
}

// endLines writes the lines that close an invocation's log, as Lambda
// does: the timeout notice if it timed out, END, and REPORT with its
// duration, peak memory (bytes), Init Duration for a cold start (0 for a
// warm one) and the failure's status. In the JSON log format they are
// platform.runtimeDone (a DEBUG record) and platform.report.
func (x *Executor) endLines(d *logDest, t Target, c *call, o *outcome, dur time.Duration, maxMem int64, initDur time.Duration) {
	id := c.req.RequestID
	if o.errorType == errTimedOut {
		d.write(c, platform{text: fmt.Sprintf("%s %s Task timed out after %.2f seconds\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), id, float64(timeoutOf(t.Version))), tail: true})
	}
	status := "success"
	switch {
	case o.status != "":
		status = o.status
	case o.errorType != "":
		status = "failure"
	}
	errType := ""
	if status != "success" {
		errType = o.errorType
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }
	d.write(c, platform{
		text: fmt.Sprintf("END RequestId: %s\n", id), kind: "platform.runtimeDone", level: "DEBUG", tail: true,
		record: endRecord{RequestID: id, Status: status, ErrorType: errType, Metrics: struct {
			DurationMs float64 `json:"durationMs"`
		}{ms(dur)}},
	})
	billed := int64((dur + time.Millisecond - 1) / time.Millisecond)
	maxMB := (maxMem + (1 << 20) - 1) >> 20
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		id, float64(dur.Microseconds())/1000, billed, memoryOf(t.Version), maxMB)
	metrics := reportMetrics{DurationMs: ms(dur), BilledDurationMs: billed, MemorySizeMB: memoryOf(t.Version), MaxMemoryUsedMB: maxMB}
	if initDur > 0 {
		report += fmt.Sprintf("Init Duration: %.2f ms\t", float64(initDur.Microseconds())/1000)
		init := ms(initDur)
		metrics.InitDurationMs = &init
	}
	if o.status != "" {
		report += "Status: " + o.status + "\t"
		if o.status == "error" {
			report += "Error Type: " + o.errorType + "\t"
		}
	}
	d.write(c, platform{
		text: report + "\n", kind: "platform.report", level: "INFO", tail: true,
		record: endRecord{RequestID: id, Status: status, ErrorType: errType, Metrics: metrics},
	})
}

// awaitInit waits for a new environment's runtime to ask for its first
// invocation. It returns the outcome if the runtime failed instead.
func (x *Executor) awaitInit(e *env, c *call) *outcome {
	timer := time.NewTimer(x.InitTimeout)
	defer timer.Stop()
	select {
	case <-e.ready:
		return nil
	case <-e.initFailed:
		return initFailure(e)
	case <-e.proc.Done():
		select {
		case <-e.initFailed:
			return initFailure(e)
		default:
		}
		o := exited(e, c)
		return &o
	case <-timer.C:
		o := outcome{
			payload:   errorDoc(errTimedOut, "RequestId: %s Error: Runtime failed to start within %.2f seconds", c.req.RequestID, x.InitTimeout.Seconds()),
			errorType: errTimedOut, fatal: true, status: "timeout",
		}
		return &o
	}
}

func initFailure(e *env) *outcome {
	return &outcome{payload: e.initDoc, errorType: e.initType, fatal: true, status: "error"}
}

// exchange passes c to the runtime and waits for its answer, the
// runtime's exit or the deadline. handed reports whether the runtime took c.
func (x *Executor) exchange(e *env, c *call, timeout time.Duration) (o *outcome, handed bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case e.next <- c:
	case <-e.proc.Done():
		o := exited(e, c)
		return &o, false
	case <-timer.C:
		o := timedOut(c, timeout)
		return &o, false
	}
	var out outcome
	select {
	case out = <-c.result:
	case <-e.proc.Done():
		// The runtime may have answered just before it exited.
		c.finish(exited(e, c))
		out = <-c.result
	case <-timer.C:
		if c.finish(timedOut(c, timeout)) {
			e.kill()
		}
		out = <-c.result
	}
	return &out, true
}

// exited is the outcome of a runtime that exited during c.
func exited(e *env, c *call) outcome {
	ex := e.proc.Exit()
	if ex.OutOfMemory {
		return outcome{
			payload:   errorDoc(errOutOfMemory, "RequestId: %s Error: Runtime exited with error: %s", c.req.RequestID, ex),
			errorType: errOutOfMemory, fatal: true, status: "error",
		}
	}
	return outcome{
		payload:   errorDoc(errExit, "RequestId: %s Error: Runtime exited with error: %s", c.req.RequestID, ex),
		errorType: errExit, fatal: true, status: "error",
	}
}

func timeoutOf(v *lambdahost.Version) int {
	if v.Config.Timeout > 0 {
		return v.Config.Timeout
	}
	return defaultTimeout
}

func memoryOf(v *lambdahost.Version) int {
	if v.Config.MemorySize > 0 {
		return v.Config.MemorySize
	}
	return defaultMemory
}

func tmpOf(v *lambdahost.Version) int {
	if v.Config.EphemeralStorage > 0 {
		return v.Config.EphemeralStorage
	}
	return defaultTmpMB
}

func newEnvID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostMemoryMB is the host's physical memory, or 4 GiB if unknown.
func hostMemoryMB() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 4096
	}
	var kb int
	if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err != nil || kb == 0 {
		return 4096
	}
	return kb / 1024
}

package invoke

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/lambdahost/lambdahost"
)

// env is one execution environment: a sandboxed runtime process and the
// Runtime API it talks to. It serves one invocation at a time.
type env struct {
	id     string
	pool   *pool
	proc   lambdahost.Process
	srv    *http.Server
	logger *slog.Logger

	// next passes an invocation to the runtime's pending /next request.
	next chan *call
	// ready is closed at the runtime's first /next: init is over.
	ready     chan struct{}
	readyOnce sync.Once
	// initFailed is closed when the runtime reported an init error.
	initFailed chan struct{}
	initDoc    []byte
	initType   string
	initOnce   sync.Once
	started    time.Time
	initDur    time.Duration

	mu  sync.Mutex
	cur *call // handed to the runtime and not answered yet

	// logTo is the call whose log the environment's output belongs to.
	logTo atomic.Pointer[call]
	// out is the read end of the environment's output pipe.
	out     *os.File
	outBusy atomic.Bool
	outDone chan struct{}
	// log is where the environment's log goes.
	log *logDest

	// idleSince is when the environment last went idle (pool's lock).
	idleSince time.Time
	// session holds the environment's credentials, or is nil.
	session *lambdahost.Session
	// cold is true until the environment has served an invocation.
	cold     bool
	killOnce sync.Once
}

// serveRuntimeAPI starts the environment's Runtime API on its listener.
func (e *env) serveRuntimeAPI() {
	e.srv = &http.Server{Handler: e.runtimeAPI(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go e.srv.Serve(e.proc.Listener())
}

// runtimeAPI routes the Runtime API (2018-06-01). The environment's code
// is not trusted: every handler bounds what it reads.
func (e *env) runtimeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", e.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", e.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", e.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", e.handleInitError)
	mux.HandleFunc("GET /2018-06-01/ping", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("pong")) })
	mux.HandleFunc("PUT /2022-07-01/telemetry", e.handleTelemetryStub)
	mux.HandleFunc("PUT /2020-08-15/logs", e.handleTelemetryStub)
	notFound := func(w http.ResponseWriter, r *http.Request) {
		renderRuntimeError(w, http.StatusNotFound, "NotFound", "Not found: "+r.Method+" "+r.URL.Path)
	}
	mux.HandleFunc("/", notFound)
	// ServeMux answers a path with "." or ".." segments or doubled slashes
	// with a redirect to its clean form, which the Runtime API never
	// answers (RIE's router says 404): refuse such paths before it does.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "" || path.Clean(p) != p {
			notFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// readOutput copies the environment's output, line by line, to the log of
// the current invocation and to the function's log.
func (e *env) readOutput() {
	defer close(e.outDone)
	// A line up to the largest CloudWatch Logs event is one event; a
	// longer one is cut.
	r := bufio.NewReaderSize(e.out, 256<<10-26)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			e.outBusy.Store(true)
			if e.log.keepApp(line) {
				if c := e.logTo.Load(); c != nil {
					c.log.write(line)
				}
				e.log.output(line)
			}
			e.outBusy.Store(false)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}

// settles reports whether output must be settled before c finishes: when
// its log is returned (Tail), or stored, where lines must come before the
// END line.
func (e *env) settles(c *call) bool {
	return c.req.Tail || e.log != nil && e.log.x.Logs != nil
}

// settleOutput waits, briefly, until output the runtime wrote before it
// answered has been read, so that it lands in the right invocation's log.
// The runtime wrote it before its HTTP request, so it is in the pipe now.
func (e *env) settleOutput() {
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
		if pipeEmpty(e.out) && !e.outBusy.Load() {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// pipeEmpty reports whether nothing is waiting to be read from f.
func pipeEmpty(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return true
	}
	n := 0
	rc.Control(func(fd uintptr) {
		syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	return n == 0
}

// kill stops the environment.
func (e *env) kill() {
	e.killOnce.Do(func() {
		e.proc.Kill()
		// Close, not Shutdown: a runtime's pending /next would hold
		// Shutdown until its timeout.
		e.srv.Close()
	})
}

// expiring reports whether the environment's credentials expire before an
// invocation of t starting now could end, with a minute to spare.
func (e *env) expiring(t Target) bool {
	if e.session == nil {
		return false
	}
	need := time.Duration(timeoutOf(t.Version))*time.Second + time.Minute
	return time.Until(e.session.Expires) < need
}

func (e *env) markReady() {
	e.readyOnce.Do(func() {
		e.initDur = time.Since(e.started)
		close(e.ready)
	})
}

// current returns the call handed to the runtime, if its ID is id.
func (e *env) current(id string) *call {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil && e.cur.req.RequestID == id {
		return e.cur
	}
	return nil
}

// answered clears the current call once the runtime has answered it.
func (e *env) answered(c *call) {
	e.mu.Lock()
	if e.cur == c {
		e.cur = nil
	}
	e.mu.Unlock()
}

var _ io.Writer = (*os.File)(nil)

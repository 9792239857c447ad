// Package console is lambdahost's web console: server-rendered pages of
// the functions of the signed-in account and region, their versions,
// aliases, policies, URLs, deployment history, recent invocations and
// logs, layers and code signing configs; invoking a function and rolling
// $LATEST or an alias back to an earlier version; and live updates of
// states over Server-Sent Events.
//
// Everything the console does goes through the control plane as the
// signed-in account, with the API's validation and errors. Its pages and
// assets are embedded in the binary and fetch nothing from elsewhere; its
// script is a small vanilla JavaScript file that the pages work without
// (forms post and the server answers with the page).
//
// Sign-in takes an access key and its secret, checked against the
// credentials that SigV4 verification uses. The session is a signed,
// HttpOnly, SameSite=Strict cookie (Secure over TLS); every form and
// script request that changes something carries the session's CSRF token.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// Prefix is where the console is served.
const Prefix = "/_lambdahost/console/"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Credential is an access key's secret and account.
type Credential struct {
	Secret  string
	Account string
}

// InvokeResult is the outcome of an invocation from the console.
type InvokeResult struct {
	ExecutedVersion string
	// FunctionError is "Unhandled" when the function failed.
	FunctionError string
	Payload       []byte
	// Log is the end of the invocation's log (LogType Tail).
	Log []byte
}

// Invoker runs an invocation for the caller of ctx, as Invoke with
// LogType Tail does (same checks and errors).
type Invoker interface {
	Invoke(ctx context.Context, function, qualifier string, payload []byte) (*InvokeResult, error)
}

// Server is the console, an http.Handler for the paths under Prefix.
type Server struct {
	// Service is the control plane the console reads and acts through.
	Service *control.Service
	// Invoker runs invocations. If nil, the console cannot invoke.
	Invoker Invoker
	// Credentials finds an access key's secret and account: the ones
	// SigV4 verification uses.
	Credentials func(accessKey string) (Credential, bool)
	// Watch reports every change to a function (lambdahost.Coordinator's
	// Watch), for live updates. If nil, pages update only when reloaded.
	Watch func(ctx context.Context, fn func(lambdahost.FunctionID)) error
	// Invocations reads a function's recent invocations and their logs.
	// If nil, the console says that none are kept.
	Invocations InvocationReader
	// SessionTTL is how long a sign-in lasts. If zero, 12 hours.
	SessionTTL time.Duration
	// Now is the clock. If nil, time.Now.
	Now func() time.Time
	// Logger receives the console's logs. If nil, slog.Default.
	Logger *slog.Logger
	// Version is shown in the footer.
	Version string

	sessionKey []byte
	pages      map[string]*template.Template
	mux        *http.ServeMux
	hub        hub
	limiter    signInLimiter
	done       chan struct{}
	closeOnce  sync.Once
	cancel     context.CancelFunc
}

// New returns a console whose sessions are signed with a key derived from
// key: give every node of a cluster the same key (the key that signs
// code download URLs). Set the optional fields, then Start.
func New(service *control.Service, key []byte) (*Server, error) {
	s := &Server{Service: service, done: make(chan struct{}), mux: http.NewServeMux()}
	s.sessionKey = deriveKey(key, "lambdahost console session v1")
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.routes()
	return s, nil
}

// Start begins following changes for live updates, until Close.
func (s *Server) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.watch(ctx)
}

// Close ends the event streams (which would otherwise keep a server's
// shutdown waiting) and stops following changes.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.cancel != nil {
			s.cancel()
		}
	})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Server) sessionTTL() time.Duration {
	if s.SessionTTL == 0 {
		return 12 * time.Hour
	}
	return s.SessionTTL
}

// authed is a page or action that needs a session.
type authed func(w http.ResponseWriter, r *http.Request, ss *session)

// routes registers every page and action.
func (s *Server) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(Prefix+"static/", http.FileServerFS(static))
	s.mux.Handle("GET "+Prefix+"static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("GET "+Prefix+"{$}", s.handleHome)
	s.mux.HandleFunc("GET "+Prefix+"signin", s.handleSignInPage)
	s.mux.HandleFunc("POST "+Prefix+"signin", s.handleSignIn)
	s.mux.HandleFunc("POST "+Prefix+"signout", s.page(s.handleSignOut, true))
	s.mux.HandleFunc("GET "+Prefix+"functions", s.page(s.handleFunctions, false))
	s.mux.HandleFunc("GET "+Prefix+"functions/{name}", s.page(s.handleFunction, false))
	s.mux.HandleFunc("GET "+Prefix+"functions/{name}/deployments", s.page(s.handleDeployments, false))
	s.mux.HandleFunc("GET "+Prefix+"functions/{name}/invocations", s.page(s.handleInvocations, false))
	s.mux.HandleFunc("POST "+Prefix+"functions/{name}/invoke", s.page(s.handleInvoke, true))
	s.mux.HandleFunc("POST "+Prefix+"functions/{name}/rollback", s.page(s.handleRollback, true))
	s.mux.HandleFunc("POST "+Prefix+"functions/{name}/aliases/{alias}/rollback", s.page(s.handleAliasRollback, true))
	s.mux.HandleFunc("GET "+Prefix+"layers", s.page(s.handleLayers, false))
	s.mux.HandleFunc("GET "+Prefix+"code-signing-configs", s.page(s.handleCodeSigningConfigs, false))
	s.mux.HandleFunc("GET "+Prefix+"events", s.page(s.handleEvents, false))
}

// ServeHTTP serves the console, with headers that keep its pages from
// being framed, cached or given scripts from elsewhere.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if !strings.HasPrefix(r.URL.Path, Prefix+"static/") {
		h.Set("Cache-Control", "no-store")
	}
	r = r.WithContext(lambdahost.WithRequestID(r.Context(), lambdahost.NewID()))
	s.mux.ServeHTTP(w, r)
}

// page wraps a handler that needs a session: without one, a page
// redirects to the sign-in form and an action answers 401. A
// state-changing action (mutates) must carry the session's CSRF token.
func (s *Server) page(h authed, mutates bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, err := s.sessionOf(r)
		if err != nil {
			if r.Method == http.MethodGet && !wantsJSON(r) && !strings.HasSuffix(r.URL.Path, "/events") {
				http.Redirect(w, r, Prefix+"signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, nil, http.StatusUnauthorized, "Sign in first.")
			return
		}
		if mutates && !s.checkCSRF(r, ss) {
			s.fail(w, r, ss, http.StatusForbidden, "The form is out of date or came from another site: reload the page and try again.")
			return
		}
		h(w, r, ss)
	}
}

// callerContext returns r's context carrying the session's account as the
// caller, and where the request came from, for the control plane.
func (s *Server) callerContext(r *http.Request, ss *session) context.Context {
	ctx := lambdahost.WithCaller(r.Context(), lambdahost.Caller{AccessKey: ss.AccessKey, Account: ss.account, Region: ss.Region})
	ua := "lambdahost-console"
	if s.Version != "" {
		ua += "/" + s.Version
	}
	if b := r.UserAgent(); b != "" {
		ua += " (" + b + ")"
	}
	return lambdahost.WithClient(ctx, lambdahost.Client{SourceIP: clientIP(r), UserAgent: ua})
}

// handleHome sends a visitor to the functions, or to sign in.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	if _, err := s.sessionOf(r); err != nil {
		http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"functions", http.StatusSeeOther)
}

func (s *Server) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", &view{Title: "Sign in", Data: signInData{Region: "us-east-1", Next: safeNext(r.URL.Query().Get("next"))}})
}

// signInData fills the sign-in form.
type signInData struct {
	AccessKey, Region, Next string
}

// handleSignIn checks an access key and secret, and starts a session in
// the region asked for.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	ip, now := clientIP(r), s.now()
	form := signInData{AccessKey: strings.TrimSpace(r.PostFormValue("access_key")), Region: strings.TrimSpace(r.PostFormValue("region")), Next: safeNext(r.PostFormValue("next"))}
	fail := func(status int, msg string) {
		s.render(w, r, status, "signin", &view{Title: "Sign in", Error: msg, Data: form})
	}
	if o := r.Header.Get("Origin"); o != "" && o != origin(r) {
		fail(http.StatusForbidden, "Sign in from the console's own page.")
		return
	}
	if s.limiter.blocked(ip, now) {
		fail(http.StatusTooManyRequests, "Too many failed sign-ins from your address: wait a few minutes.")
		return
	}
	if !validRegion(form.Region) {
		fail(http.StatusBadRequest, "The region must look like us-east-1.")
		return
	}
	cred, ok := s.Credentials(form.AccessKey)
	if !ok || !equalSecret(r.PostFormValue("secret_key"), cred.Secret) {
		s.limiter.fail(ip, now)
		s.logger().Info("console: sign-in refused", "access_key", form.AccessKey, "source_ip", ip)
		fail(http.StatusUnauthorized, "The access key or the secret is not valid.")
		return
	}
	expires := now.Add(s.sessionTTL())
	ss := &session{AccessKey: form.AccessKey, Region: form.Region, Expires: expires.Unix(), Nonce: lambdahost.NewID()}
	s.setSessionCookie(w, r, s.encodeSession(ss, cred.Secret), expires)
	s.logger().Info("console: signed in", "access_key", form.AccessKey, "account", cred.Account, "region", form.Region, "source_ip", ip)
	next := form.Next
	if next == "" {
		next = Prefix + "functions"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request, ss *session) {
	s.setSessionCookie(w, r, "", time.Time{})
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// safeNext keeps a redirect target only if it is a console page.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix) && !strings.Contains(next, "//") && !strings.Contains(next, "\\") && !strings.HasPrefix(next, Prefix+"events") {
		return next
	}
	return ""
}

// fail answers an error: a JSON document to the console's scripts, a page
// otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, ss *session, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg}})
		return
	}
	v := &view{Title: "Error", Error: msg}
	v.session(s, ss)
	s.render(w, r, status, "error", v)
}

// apiError answers an error of the control plane, whose type and message
// are the API's.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, ss *session, err error) {
	var e *lambdahost.Error
	if !errors.As(err, &e) {
		s.logger().ErrorContext(r.Context(), "console", lambdahost.LogKeyError, err)
		e = lambdahost.Errorf(lambdahost.ServiceException, "An internal error occurred.")
	}
	status := e.Status
	if status == 0 {
		status = e.Type.Status()
	}
	if status >= 500 && e.Err != nil {
		s.logger().ErrorContext(r.Context(), "console: "+e.Message, lambdahost.LogKeyError, e.Err)
	}
	if wantsJSON(r) {
		writeJSON(w, status, map[string]any{"error": map[string]string{"type": string(e.Type), "message": e.Message}})
		return
	}
	v := &view{Title: "Error", Error: string(e.Type) + ": " + e.Message}
	v.session(s, ss)
	s.render(w, r, status, "error", v)
}

// wantsJSON reports whether r comes from the console's script, which
// takes JSON answers.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

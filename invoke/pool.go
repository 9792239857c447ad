package invoke

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// maxCapacityWait bounds how long an invocation waits for memory held by
// other environments before it is throttled.
const maxCapacityWait = 10 * time.Second

// throttled is Lambda's answer to an invocation over a concurrency limit.
func throttled(reason string) error {
	e := lambdahost.Errorf(lambdahost.TooManyRequestsException, "Rate Exceeded.")
	e.Reason = reason
	return e
}

// admit counts req against its function's reserved concurrency or the
// account's unreserved concurrency.
func (x *Executor) admit(ctx context.Context, t Target) (release func(), err error) {
	key := "fn:" + t.Function.ARN()
	limit, reason := x.AccountConcurrency, "ConcurrentInvocationLimitExceeded"
	if r := t.ReservedConcurrency; r != nil {
		limit, reason = *r, "ReservedFunctionConcurrentInvocationLimitExceeded"
	} else {
		key = "acct:" + t.Function.Account + ":" + t.Function.Region
	}
	if x.Concurrency != nil {
		return x.admitShared(ctx, key, limit, reason)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.inflight[key] >= limit {
		return nil, throttled(reason)
	}
	x.inflight[key]++
	return func() {
		x.mu.Lock()
		if x.inflight[key]--; x.inflight[key] == 0 {
			delete(x.inflight, key)
		}
		x.mu.Unlock()
	}, nil
}

// slotOf names the function version t runs; hashOf covers everything an
// environment is started with, so that any change starts new ones.
func slotOf(t Target) string {
	return t.Function.ARN() + ":" + t.ExecutedVersion + "@" + t.Generation.UTC().Format(time.RFC3339Nano)
}

func hashOf(t Target) string {
	b, _ := json.Marshal(struct {
		Code   lambdahost.Digest
		Config lambdahost.Config
	}{t.Version.Code.Digest, t.Version.Config})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// poolFor returns the current pool of t's version and configuration. A
// pool of the same version with other code or configuration is drained:
// its idle environments stop now, its busy ones when they finish.
func (x *Executor) poolForLocked(t Target) (*pool, []*env) {
	slot, hash := slotOf(t), hashOf(t)
	cur := x.slots[slot]
	if cur != nil && cur.hash == hash {
		return cur, nil
	}
	var doomed []*env
	if cur != nil {
		doomed = x.drainLocked(cur)
	}
	p := &pool{fn: t.Function, slot: slot, hash: hash, memoryMB: memoryOf(t.Version)}
	x.slots[slot] = p
	return p, doomed
}

// drainLocked marks p as draining and takes its idle environments out, for
// the caller to kill.
func (x *Executor) drainLocked(p *pool) []*env {
	p.draining = true
	if x.slots[p.slot] == p {
		delete(x.slots, p.slot)
	}
	doomed := p.idle
	p.idle = nil
	for _, e := range doomed {
		x.dropLocked(p, e)
	}
	return doomed
}

// dropLocked forgets environment e of p and releases its memory.
func (x *Executor) dropLocked(p *pool, e *env) {
	delete(x.live, e)
	p.live--
	x.memUsed -= p.memoryMB
	x.freedLocked()
}

// freedLocked wakes invocations waiting for capacity.
func (x *Executor) freedLocked() {
	close(x.freed)
	x.freed = make(chan struct{})
}

// acquire returns an idle environment for t or starts one.
func (x *Executor) acquire(ctx context.Context, t Target) (*env, error) {
	var waited time.Duration
	for {
		x.mu.Lock()
		if x.closed {
			x.mu.Unlock()
			return nil, errShuttingDown()
		}
		if e := x.takeProvisionedLocked(t); e != nil {
			x.mu.Unlock()
			return e, nil
		}
		p, doomed := x.poolForLocked(t)
		if n := len(p.idle); n > 0 {
			e := p.idle[n-1]
			p.idle = p.idle[:n-1]
			select {
			case <-e.proc.Done():
				// Its runtime exited while idle: start another.
				x.dropLocked(p, e)
				x.mu.Unlock()
				killAll(append(doomed, e))
				continue
			default:
			}
			if e.expiring(t) {
				// Its credentials would expire before the invocation
				// could end: retire it, as Lambda recycles environments.
				x.dropLocked(p, e)
				x.mu.Unlock()
				killAll(append(doomed, e))
				continue
			}
			x.mu.Unlock()
			killAll(doomed)
			return e, nil
		}
		if x.memUsed+p.memoryMB <= x.MemoryBudgetMB || x.memUsed == 0 {
			p.live++
			x.memUsed += p.memoryMB
			x.mu.Unlock()
			// The retired environments are stopped alongside the start
			// of the new one: waiting for their end (reaping, cgroup
			// removal) would add about a millisecond to this cold start.
			go killAll(doomed)
			e, err := x.start(ctx, p, t)
			x.mu.Lock()
			if err == nil && x.closed {
				e.kill()
				err = errShuttingDown()
			}
			if err != nil {
				x.dropLocked(p, nil)
				x.mu.Unlock()
				return nil, err
			}
			x.live[e] = struct{}{}
			x.mu.Unlock()
			return e, nil
		}
		if victim := x.oldestIdleLocked(); victim != nil {
			x.mu.Unlock()
			killAll(append(doomed, victim))
			continue
		}
		freed := x.freed
		x.mu.Unlock()
		killAll(doomed)
		if waited >= maxCapacityWait {
			return nil, throttled("ConcurrentInvocationLimitExceeded")
		}
		start := time.Now()
		select {
		case <-freed:
		case <-time.After(maxCapacityWait - waited):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		waited += time.Since(start)
	}
}

// oldestIdleLocked takes the environment idle the longest out of its pool.
func (x *Executor) oldestIdleLocked() *env {
	var best *env
	for _, p := range x.slots {
		if len(p.idle) > 0 && (best == nil || p.idle[0].idleSince.Before(best.idleSince)) {
			best = p.idle[0]
		}
	}
	if best != nil {
		p := best.pool
		p.idle = slices.Delete(p.idle, 0, 1)
		x.dropLocked(p, best)
	}
	return best
}

// release returns e to its pool after an invocation, or stops it if it
// cannot serve another one or its pool is draining.
func (x *Executor) release(e *env, fatal bool) {
	x.mu.Lock()
	p := e.pool
	if fatal || p.draining || x.closed {
		x.dropLocked(p, e)
		x.mu.Unlock()
		go e.kill()
		return
	}
	e.idleSince = time.Now()
	p.idle = append(p.idle, e)
	x.freedLocked()
	x.mu.Unlock()
}

// reap stops environments idle longer than IdleTimeout.
func (x *Executor) reap() {
	cutoff := time.Now().Add(-x.IdleTimeout)
	var doomed []*env
	x.mu.Lock()
	for slot, p := range x.slots {
		keep := p.idle[:0]
		for _, e := range p.idle {
			if e.idleSince.Before(cutoff) {
				doomed = append(doomed, e)
				x.dropLocked(p, e)
			} else {
				keep = append(keep, e)
			}
		}
		p.idle = keep
		if p.live == 0 {
			delete(x.slots, slot)
		}
	}
	x.mu.Unlock()
	killAll(doomed)
}

// Retire drains the pools of function fn, for example after it was
// updated or deleted: idle environments stop now, busy ones once done.
func (x *Executor) Retire(fn lambdahost.FunctionID) {
	x.init()
	prefix := fn.ARN() + ":"
	var doomed []*env
	x.mu.Lock()
	for slot, p := range x.slots {
		if strings.HasPrefix(slot, prefix) {
			doomed = append(doomed, x.drainLocked(p)...)
		}
	}
	// The control plane provisions again what still has a config.
	for key, ps := range x.provs {
		if strings.HasPrefix(ps.pool.slot, prefix) {
			doomed = append(doomed, x.drainLocked(ps.pool)...)
			delete(x.provs, key)
		}
	}
	x.mu.Unlock()
	killAll(doomed)
}

func killAll(envs []*env) {
	for _, e := range envs {
		e.kill()
	}
}

// start launches a new environment for t in pool p.
func (x *Executor) start(ctx context.Context, p *pool, t Target) (_ *env, err error) {
	sess, err := x.issueSession(ctx, t)
	if err != nil {
		return nil, err
	}
	// From here on, an environment that does not start ends its session
	// at once; one that starts, when it ends.
	defer func() {
		if err != nil {
			x.endSession(sess)
		}
	}()
	dest := x.logDestOf(t)
	spec, err := x.spec(ctx, t, sess, dest)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start environment: %w", err)
	}
	spec.Output = w
	e := &env{
		id: spec.ID, pool: p, cold: true, session: sess,
		next: make(chan *call), ready: make(chan struct{}), initFailed: make(chan struct{}),
		out: r, outDone: make(chan struct{}), started: time.Now(),
		logger: x.Logger.With(lambdahost.LogKeyFunction, t.Function.ARN(), "env", spec.ID),
		log:    dest,
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), x.InitTimeout)
	defer cancel()
	proc, err := x.Launcher.Launch(lctx, spec)
	if err != nil {
		w.Close()
		r.Close()
		e.logger.Error("launch environment", lambdahost.LogKeyError, err)
		return nil, lambdahost.Errorf(lambdahost.ServiceException, "The execution environment could not be started.")
	}
	e.proc = proc
	if t.Version.Code.PackageType != lambdahost.PackageImage {
		// Once per environment, before its first START; not in the tail.
		version, arn := runtimeVersion(t.Function.Region, t.Version.Config.Runtime)
		dest.write(nil, platform{
			text: fmt.Sprintf("INIT_START Runtime Version: %s\tRuntime Version ARN: %s\n", version, arn),
			kind: "platform.initStart", level: "INFO",
			record: struct {
				InitializationType string `json:"initializationType"`
				Phase              string `json:"phase"`
				RuntimeVersion     string `json:"runtimeVersion"`
				RuntimeVersionARN  string `json:"runtimeVersionArn"`
				FunctionName       string `json:"functionName"`
				FunctionVersion    string `json:"functionVersion"`
			}{initType(t), "init", version, arn, t.Function.Name, t.ExecutedVersion},
		})
	}
	go e.readOutput()
	go func() {
		// The launcher may copy the output into w itself rather than give
		// w to the process: w stays open until the process is done.
		<-proc.Done()
		// The credentials die with the environment.
		x.endSession(sess)
		w.Close()
		<-e.outDone
		r.Close()
	}()
	e.serveRuntimeAPI()
	return e, nil
}

// issueSession issues the temporary credentials of a new environment for
// t, or returns nil without Sessions.
func (x *Executor) issueSession(ctx context.Context, t Target) (*lambdahost.Session, error) {
	if x.Sessions == nil {
		return nil, nil
	}
	sess, err := x.Sessions.IssueSession(ctx, lambdahost.SessionRequest{
		Account: t.Function.Account,
		Role:    t.Version.Config.Role,
		Name:    t.Function.Name,
	})
	if err != nil {
		return nil, fmt.Errorf("issue the environment's credentials: %w", err)
	}
	return sess, nil
}

// endSession revokes the credentials of an environment that has ended.
func (x *Executor) endSession(sess *lambdahost.Session) {
	if sess == nil {
		return
	}
	if err := x.Sessions.EndSession(context.Background(), sess.AccessKeyID); err != nil {
		x.Logger.Warn("end an environment's credentials", "access_key", sess.AccessKeyID, lambdahost.LogKeyError, err)
	}
}

// spec builds the launch of an environment for t, with the credentials of
// sess if not nil.
func (x *Executor) spec(ctx context.Context, t Target, sess *lambdahost.Session, dest *logDest) (*lambdahost.LaunchSpec, error) {
	v := t.Version
	spec := &lambdahost.LaunchSpec{ID: newEnvID(), MemoryMB: memoryOf(v), TmpMB: tmpOf(v), Dir: "/var/task"}
	arch := "x86_64"
	if len(v.Config.Architectures) > 0 {
		arch = v.Config.Architectures[0]
	}
	lambdaEnv := x.lambdaEnv(t, sess, dest)
	if v.Code.PackageType == lambdahost.PackageImage {
		if err := x.checkArch(arch); err != nil {
			return nil, err
		}
		if x.Image == nil {
			return nil, lambdahost.Errorf(lambdahost.InvalidRuntimeException, "Container image functions cannot run on this host.")
		}
		img, err := x.Image(ctx, v)
		if err != nil {
			return nil, fmt.Errorf("ready image: %w", err)
		}
		spec.RootFS = img.RootFS
		argv := slices.Concat(img.Entrypoint, img.Cmd)
		if ic := v.Config.ImageConfig; ic != nil {
			ep, cmd := img.Entrypoint, img.Cmd
			if ic.EntryPoint != nil {
				ep = ic.EntryPoint
			}
			if ic.Command != nil {
				cmd = ic.Command
			}
			argv = slices.Concat(ep, cmd)
			if ic.WorkingDirectory != "" {
				img.WorkingDir = ic.WorkingDirectory
			}
		}
		if len(argv) == 0 {
			return nil, &functionFailure{outcome{payload: errorDoc("Runtime.InvalidEntrypoint", "RequestId: %s Error: The image has no entrypoint or command", ""), errorType: "Runtime.InvalidEntrypoint", status: "error"}}
		}
		spec.Argv = argv
		if img.WorkingDir != "" {
			spec.Dir = img.WorkingDir
		} else {
			spec.Dir = "/"
		}
		spec.Env = mergeEnv(img.Env, x.functionEnv(), v.Config.Environment, lambdaEnv)
		return spec, nil
	}
	rt, err := x.Runtime(v.Config.Runtime)
	if err != nil {
		return nil, lambdahost.Errorf(lambdahost.InvalidRuntimeException, "%s", err.Error())
	}
	if x.CheckCode != nil {
		if err := x.CheckCode(ctx, v.Code); err != nil {
			return nil, err
		}
	}
	dir, err := x.code.get(ctx, v.Code)
	if err != nil {
		return nil, unpackError(err, "Lambda was unable to unzip the function's code package.")
	}
	opt, err := x.opt.get(ctx, v.Config.Layers)
	if err != nil {
		return nil, unpackError(err, "Lambda was unable to unzip the function's layers.")
	}
	argv := rt.Argv
	if strings.HasPrefix(v.Config.Runtime, "provided") {
		if err := x.checkArch(arch); err != nil {
			return nil, err
		}
		// The code's bootstrap, else a layer's, as Lambda looks for them.
		switch {
		case isFile(filepath.Join(dir, "bootstrap")):
		case isFile(filepath.Join(opt, "bootstrap")):
			argv = []string{"/opt/bootstrap"}
		default:
			return nil, &functionFailure{outcome{
				payload:   errorDoc("Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"),
				errorType: "Runtime.InvalidEntrypoint", status: "error",
			}}
		}
	}
	spec.Argv = argv
	spec.Mounts = append([]lambdahost.Mount{{Source: dir, Target: "/var/task"}, {Source: opt, Target: "/opt"}}, rt.Mounts...)
	env := append(lambdaEnv, "_HANDLER="+v.Config.Handler)
	spec.Env = mergeEnv(rt.Env, x.functionEnv(), v.Config.Environment, env)
	return spec, nil
}

// isFile reports whether path names a regular file, following links (a
// bootstrap may be a link to an executable elsewhere in its package).
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

// unpackError is Invoke's answer when a package cannot be unpacked: the
// KMS error if its key cannot be used, else InvalidZipFileException with
// msg.
func unpackError(err error, msg string) error {
	if t := lambdahost.ErrorTypeOf(err); t == lambdahost.KMSDisabledException || t == lambdahost.KMSNotFoundException {
		var apiErr *lambdahost.Error
		errors.As(err, &apiErr)
		return apiErr
	}
	e := lambdahost.Errorf(lambdahost.InvalidZipFileException, "%s", msg)
	e.Err = err
	return e
}

// checkArch refuses an architecture the host cannot run.
func (x *Executor) checkArch(arch string) error {
	if arch == x.Arch || slices.Contains(x.Foreign, arch) {
		return nil
	}
	return lambdahost.Errorf(lambdahost.InvalidRuntimeException,
		"The function's architecture %s cannot run on this host, which runs %s and has no emulator (qemu-user binfmt) for %s.", arch, x.Arch, arch)
}

// reservedEnv are the variables Lambda sets and a function cannot override.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "AWS_REGION": true, "AWS_DEFAULT_REGION": true, "AWS_EXECUTION_ENV": true,
	"AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true, "AWS_LAMBDA_FUNCTION_VERSION": true,
	"AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
	"AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
}

// ReservedEnv reports whether Lambda reserves the environment variable
// name: a function's configuration, and FunctionEnv, cannot set it.
func ReservedEnv(name string) bool { return reservedEnv[name] || strings.HasPrefix(name, "_") }

// functionEnv is the layer of variables the operator gives every function:
// AWS_ENDPOINT_URL, then FunctionEnv, which may replace it.
func (x *Executor) functionEnv() []string {
	var env []string
	if x.Endpoint != "" {
		env = append(env, "AWS_ENDPOINT_URL="+x.Endpoint)
	}
	return append(env, x.FunctionEnv...)
}

// lambdaEnv is the environment Lambda gives every function, with the
// credentials of sess if not nil.
func (x *Executor) lambdaEnv(t Target, sess *lambdahost.Session, dest *logDest) []string {
	v := t.Version
	group, stream := dest.group.Name, dest.stream
	env := []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + t.Function.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=" + t.ExecutedVersion,
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", memoryOf(v)),
		"AWS_LAMBDA_LOG_GROUP_NAME=" + group,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE=" + initType(t),
		"AWS_REGION=" + t.Function.Region,
		"AWS_DEFAULT_REGION=" + t.Function.Region,
		"LAMBDA_TASK_ROOT=/var/task",
		"LAMBDA_RUNTIME_DIR=/var/runtime",
		"TZ=:UTC",
	}
	if sess != nil {
		env = append(env,
			"AWS_ACCESS_KEY_ID="+sess.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY="+sess.SecretAccessKey,
			"AWS_SESSION_TOKEN="+sess.SessionToken,
		)
	}
	if dest.json() {
		// The runtime clients write structured logs at this level.
		env = append(env, "AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL="+v.Config.Logging.ApplicationLogLevel)
	}
	return env
}

// initType is the AWS_LAMBDA_INITIALIZATION_TYPE of t's environments.
func initType(t Target) string {
	if t.InitType != "" {
		return t.InitType
	}
	return "on-demand"
}

// mergeEnv layers the runtime's defaults, the operator's variables for
// every function, the function's own variables and Lambda's reserved ones,
// later layers winning; neither the operator nor the function can set
// reserved names or names starting with "_".
func mergeEnv(defaults, operator []string, custom map[string]string, lambda []string) []string {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	base := []string{bootstrap.DefaultPath, "LANG=en_US.UTF-8", bootstrap.DefaultLDLibraryPath}
	for _, kv := range slices.Concat(base, defaults) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			set(k, v)
		}
	}
	for _, kv := range operator {
		if k, v, ok := strings.Cut(kv, "="); ok && !ReservedEnv(k) {
			set(k, v)
		}
	}
	keys := make([]string, 0, len(custom))
	for k := range custom {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !ReservedEnv(k) {
			set(k, custom[k])
		}
	}
	for _, kv := range lambda {
		if k, v, ok := strings.Cut(kv, "="); ok {
			set(k, v)
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out
}

package invoke

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// tailSize is how much of an invocation's log Invoke returns.
const tailSize = 4096

// tail keeps the end of one invocation's log.
type tail struct {
	mu   sync.Mutex
	keep bool
	buf  []byte
}

func newTail(keep bool) *tail { return &tail{keep: keep} }

func (t *tail) write(p []byte) {
	if t == nil || !t.keep {
		return
	}
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4*tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	t.mu.Unlock()
}

func (t *tail) bytes() []byte {
	if t == nil || !t.keep {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > tailSize {
		b = b[len(b)-tailSize:]
	}
	return bytes.Clone(b)
}

// logDest is where an execution environment's log goes: its function's
// log group and its own stream, in the function's LoggingConfig's format
// and at its levels, and the server's debug log.
type logDest struct {
	x      *Executor
	fn     lambdahost.FunctionID
	group  lambdahost.LogGroupID
	stream string
	cfg    lambdahost.LoggingConfig
}

// logDestOf returns the destination of a new environment of t.
func (x *Executor) logDestOf(t Target) *logDest {
	return &logDest{x: x, fn: t.Function, group: logGroupOf(t), stream: streamName(t), cfg: t.Version.Config.Logging}
}

// logGroupOf is the function's log group: LoggingConfig.LogGroup, or
// /aws/lambda/<name>.
func logGroupOf(t Target) lambdahost.LogGroupID {
	name := t.Version.Config.Logging.LogGroup
	if name == "" {
		name = "/aws/lambda/" + t.Function.Name
	}
	return lambdahost.LogGroupID{Account: t.Function.Account, Region: t.Function.Region, Name: name}
}

// streamName names an environment's log stream as Lambda does:
// YYYY/MM/DD/[VERSION] and 32 hex digits.
func streamName(t Target) string {
	return time.Now().UTC().Format("2006/01/02") + "/[" + t.ExecutedVersion + "]" + newEnvID() + newEnvID()
}

func (d *logDest) json() bool { return d.cfg.LogFormat == "JSON" }

// Log levels of LoggingConfig, from the most detailed.
var logLevels = map[string]int{"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "WARNING": 3, "ERROR": 4, "FATAL": 5, "CRITICAL": 5}

// levelOf returns the level of s, or INFO (as Lambda assigns a log
// without a valid level).
func levelOf(s string) int {
	if l, ok := logLevels[strings.ToUpper(s)]; ok {
		return l
	}
	return logLevels["INFO"]
}

// keepApp reports whether an application log line passes the
// ApplicationLogLevel: in JSON format, a line that is a JSON object with a
// "level" below it is dropped; other lines count as INFO.
func (d *logDest) keepApp(line []byte) bool {
	if !d.json() || d.cfg.ApplicationLogLevel == "" {
		return true
	}
	level := logLevels["INFO"]
	if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '{' {
		var rec struct {
			Level any `json:"level"`
		}
		if json.Unmarshal(t, &rec) == nil {
			if s, ok := rec.Level.(string); ok {
				level = levelOf(s)
			}
		}
	}
	return level >= levelOf(d.cfg.ApplicationLogLevel)
}

// output takes one line the runtime wrote: to the server's debug log, and
// to the log group unless it is empty.
func (d *logDest) output(line []byte) {
	if d.x.FunctionLog != nil {
		d.x.FunctionLog(d.fn, line)
	}
	if d.x.Logs != nil && len(bytes.TrimRight(line, "\n")) > 0 {
		d.x.Logs.Log(d.group, d.stream, lambdahost.LogEvent{Time: time.Now().UnixMilli(), Message: string(line)})
	}
}

// platform is a record Lambda writes itself: text lines in Text format,
// platform.* JSON records in JSON format.
type platform struct {
	// text is the Text format's line, with its newline; "" if the record
	// has no text form.
	text string
	// kind is the JSON record's type ("platform.start"), "" if the record
	// has no JSON form; level its system log level.
	kind   string
	level  string
	record any
	// tail puts the record in LogType Tail's log too.
	tail bool
}

// write writes a platform record to c's log (if tail) and the log group.
func (d *logDest) write(c *call, p platform) {
	msg := p.text
	if d.json() {
		if p.kind == "" || levelOf(p.level) < levelOf(d.cfg.SystemLogLevel) {
			return
		}
		b, _ := json.Marshal(struct {
			Time   string `json:"time"`
			Type   string `json:"type"`
			Record any    `json:"record"`
		}{time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), p.kind, p.record})
		msg = string(b)
	}
	if msg == "" {
		return
	}
	if p.tail && c != nil {
		if d.json() {
			c.log.write([]byte(msg + "\n"))
		} else {
			c.log.write([]byte(msg))
		}
	}
	if d.x.FunctionLog != nil {
		d.x.FunctionLog(d.fn, []byte(msg))
	}
	if d.x.Logs != nil {
		d.x.Logs.Log(d.group, d.stream, lambdahost.LogEvent{Time: time.Now().UnixMilli(), Message: msg})
	}
}

// runtimeVersion is the INIT_START line's runtime version of a managed
// runtime ("python:3.12.v1"), and the ARN Lambda would give it.
func runtimeVersion(region, runtime string) (version, arn string) {
	name, rest := runtime, ""
	switch {
	case strings.HasPrefix(runtime, "python"):
		name, rest = "python", strings.TrimPrefix(runtime, "python")
	case strings.HasPrefix(runtime, "nodejs"):
		name, rest = "nodejs", strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x")
	case strings.HasPrefix(runtime, "provided"):
		name, rest = "provided", strings.TrimPrefix(strings.TrimPrefix(runtime, "provided"), ".")
		if rest == "" {
			rest = "al1"
		}
	}
	version = name + ":" + rest + ".v1"
	sum := sha256.Sum256([]byte("lambdahost runtime " + version))
	return version, "arn:aws:lambda:" + region + "::runtime:" + hex.EncodeToString(sum[:])
}

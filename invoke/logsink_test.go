package invoke_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
)

// recordingSink is a lambdahost.LogSink that keeps what it is given.
type recordingSink struct {
	mu     sync.Mutex
	events map[lambdahost.LogGroupID]map[string][]string
}

func (s *recordingSink) Log(g lambdahost.LogGroupID, stream string, evs ...lambdahost.LogEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events == nil {
		s.events = map[lambdahost.LogGroupID]map[string][]string{}
	}
	if s.events[g] == nil {
		s.events[g] = map[string][]string{}
	}
	for _, e := range evs {
		if e.Time == 0 {
			panic("event without a timestamp")
		}
		s.events[g][stream] = append(s.events[g][stream], e.Message)
	}
}

// waitFor returns the streams of group once one holds an event containing
// want, failing after a minute.
func (s *recordingSink) waitFor(t *testing.T, group string, want string) map[string][]string {
	t.Helper()
	g := lambdahost.LogGroupID{Account: "000000000000", Region: "us-east-1", Name: group}
	deadline := time.Now().Add(time.Minute)
	for {
		s.mu.Lock()
		streams := map[string][]string{}
		found := false
		for name, evs := range s.events[g] {
			streams[name] = append([]string(nil), evs...)
			for _, e := range evs {
				found = found || strings.Contains(e, want)
			}
		}
		s.mu.Unlock()
		if found {
			return streams
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event with %q in %s: %q", want, group, streams)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var reStream = regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`)

func TestLogSinkText(t *testing.T) {
	f := newFixture(t)
	sink := &recordingSink{}
	f.x.Logs = sink
	tg := target(t, "A")
	call(t, f.x, tg, `{"print":"hello"}`)
	res := call(t, f.x, tg, `{"env":"AWS_LAMBDA_LOG_STREAM_NAME"}`)
	streamEnv := decode(t, res).Env
	r2 := "req-" + strings.TrimPrefix(decode(t, res).Request, "req-")
	streams := sink.waitFor(t, "/aws/lambda/fn", "REPORT RequestId: "+r2)
	if len(streams) != 1 {
		t.Fatalf("streams = %q, want one per environment", streams)
	}
	for name, evs := range streams {
		if !reStream.MatchString(name) || name != streamEnv {
			t.Errorf("stream %q, AWS_LAMBDA_LOG_STREAM_NAME %q", name, streamEnv)
		}
		if len(evs) != 8 {
			t.Fatalf("events = %q", evs)
		}
		if !regexp.MustCompile(`^INIT_START Runtime Version: provided:al2023\.v1\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}\n$`).MatchString(evs[0]) {
			t.Errorf("INIT_START = %q", evs[0])
		}
		r1 := strings.TrimSuffix(strings.TrimPrefix(evs[1], "START RequestId: "), " Version: $LATEST\n")
		if evs[2] != "hello\n" || evs[3] != "END RequestId: "+r1+"\n" {
			t.Errorf("first invocation = %q", evs[1:5])
		}
		if !regexp.MustCompile(`^REPORT RequestId: ` + r1 + `\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d{2} ms\t\n$`).MatchString(evs[4]) {
			t.Errorf("cold REPORT = %q", evs[4])
		}
		if !regexp.MustCompile(`^REPORT RequestId: ` + r2 + `\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t\n$`).MatchString(evs[7]) {
			t.Errorf("warm REPORT = %q", evs[7])
		}
	}
	if strings.Contains(string(res.Log), "INIT_START") {
		t.Errorf("the tail holds INIT_START: %q", res.Log)
	}
}

func TestLogSinkJSON(t *testing.T) {
	tests := []struct {
		name      string
		sysLevel  string
		wantTypes []string
	}{
		{"system-info", "INFO", []string{"platform.initStart", "platform.start", "platform.report"}},
		{"system-debug", "DEBUG", []string{"platform.initStart", "platform.start", "platform.runtimeDone", "platform.report"}},
		{"system-warn", "WARN", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			sink := &recordingSink{}
			f.x.Logs = sink
			tg := target(t, "A", func(v *lambdahost.Version) {
				v.Config.Logging = lambdahost.LoggingConfig{LogFormat: "JSON", ApplicationLogLevel: "WARN", SystemLogLevel: tt.sysLevel, LogGroup: "custom-group"}
			})
			call(t, f.x, tg, `{"print":"{\"level\":\"DEBUG\",\"msg\":\"hidden\"}"}`)
			call(t, f.x, tg, `{"print":"plain text is INFO"}`)
			res := call(t, f.x, tg, `{"print":"{\"level\":\"error\",\"msg\":\"shown\"}","env":"AWS_LAMBDA_LOG_LEVEL"}`)
			if got := decode(t, res).Env; got != "WARN" {
				t.Errorf("AWS_LAMBDA_LOG_LEVEL = %q", got)
			}
			streams := sink.waitFor(t, "custom-group", `"msg":"shown"`)
			var types []string
			for _, evs := range streams {
				for _, e := range evs {
					if strings.Contains(e, "hidden") || strings.Contains(e, "plain text") {
						t.Errorf("a log below WARN was kept: %q", e)
					}
					var rec struct {
						Time   string         `json:"time"`
						Type   string         `json:"type"`
						Record map[string]any `json:"record"`
					}
					if json.Unmarshal([]byte(e), &rec) == nil && strings.HasPrefix(rec.Type, "platform.") {
						if _, err := time.Parse(time.RFC3339, rec.Time); err != nil {
							t.Errorf("time %q: %v", rec.Time, err)
						}
						if len(types) == 0 || types[len(types)-1] != rec.Type || rec.Type != "platform.initStart" {
							types = append(types, rec.Type)
						}
						if rec.Type == "platform.report" {
							m := rec.Record["metrics"].(map[string]any)
							if rec.Record["status"] != "success" || m["memorySizeMB"] != float64(128) || m["billedDurationMs"] == nil {
								t.Errorf("platform.report = %q", e)
							}
						}
					}
				}
			}
			// The first invocation's records, then the same for the others.
			var want []string
			want = append(want, tt.wantTypes...)
			for range 2 {
				for _, ty := range tt.wantTypes {
					if ty != "platform.initStart" {
						want = append(want, ty)
					}
				}
			}
			if strings.Join(types, ",") != strings.Join(want, ",") {
				t.Errorf("platform records %v, want %v", types, want)
			}
			if tt.sysLevel == "INFO" && !strings.Contains(string(res.Log), `"type":"platform.start"`) {
				t.Errorf("the tail has no JSON records: %q", res.Log)
			}
		})
	}
}

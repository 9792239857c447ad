package invoke

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newTestEnv is an environment without a process, whose Runtime API is
// exercised through its handler.
func newTestEnv() (*env, http.Handler) {
	e := &env{next: make(chan *call), ready: make(chan struct{}), initFailed: make(chan struct{})}
	mux := e.runtimeAPI()
	return e, mux
}

// handOut makes c the invocation the runtime is answering.
func handOut(e *env, c *call) {
	e.mu.Lock()
	e.cur = c
	e.mu.Unlock()
}

func TestRuntimeAPIStates(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
		finished                 bool
		errorType                string
	}{
		{name: "Response", method: "POST", path: "/2018-06-01/runtime/invocation/req-1/response", body: `{"ok":1}`, status: 202, finished: true},
		{name: "Error", method: "POST", path: "/2018-06-01/runtime/invocation/req-1/error", body: `{"errorMessage":"x","errorType":"ValueError"}`, status: 202, finished: true, errorType: "ValueError"},
		{name: "ErrorHeaderOnly", method: "POST", path: "/2018-06-01/runtime/invocation/req-1/error", headers: map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.Custom"}, status: 202, finished: true, errorType: "Runtime.Custom"},
		{name: "ErrorNotJSON", method: "POST", path: "/2018-06-01/runtime/invocation/req-1/error", body: `oops`, status: 202, finished: true, errorType: "Runtime.Unknown"},
		{name: "UnknownID", method: "POST", path: "/2018-06-01/runtime/invocation/other/response", body: `{}`, status: 400},
		{name: "BadMode", method: "POST", path: "/2018-06-01/runtime/invocation/req-1/response", headers: map[string]string{"Lambda-Runtime-Function-Response-Mode": "sideways"}, status: 400, finished: true, errorType: errInvalidMode},
		{name: "NextWhileBusy", method: "GET", path: "/2018-06-01/runtime/invocation/next", status: 403},
		{name: "UnknownPath", method: "GET", path: "/2018-06-01/runtime/whatever", status: 404},
		{name: "Extensions", method: "POST", path: "/2020-01-01/extension/register", status: 404},
		{name: "Telemetry", method: "PUT", path: "/2022-07-01/telemetry", status: 202},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, h := newTestEnv()
			c := newCall(&Request{RequestID: "req-1"})
			handOut(e, c)
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			select {
			case o := <-c.result:
				if !tc.finished {
					t.Errorf("call finished: %+v", o)
				}
				if o.errorType != tc.errorType {
					t.Errorf("errorType %q, want %q", o.errorType, tc.errorType)
				}
			default:
				if tc.finished {
					t.Error("call not finished")
				}
			}
		})
	}
}

func TestRuntimeAPIInitError(t *testing.T) {
	e, h := newTestEnv()
	r := httptest.NewRequest("POST", "/2018-06-01/runtime/init/error", strings.NewReader(`{"errorMessage":"Unable to import module 'app'","errorType":"Runtime.ImportModuleError"}`))
	r.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 202 {
		t.Fatalf("status %d", w.Code)
	}
	select {
	case <-e.initFailed:
	case <-time.After(time.Minute):
		t.Fatal("init failure not recorded after a minute")
	}
	if e.initType != "Runtime.ImportModuleError" || !bytes.Contains(e.initDoc, []byte("Unable to import")) {
		t.Errorf("init error %q %s", e.initType, e.initDoc)
	}
}

// FuzzRuntimeAPI feeds the Runtime API what a hostile function might
// send: any method, path, headers and body. It must never panic, must
// answer with a status the API uses, and must finish the current
// invocation at most once.
func FuzzRuntimeAPI(f *testing.F) {
	f.Add("POST", "/2018-06-01/runtime/invocation/req-1/response", "", `{"a":1}`)
	f.Add("POST", "/2018-06-01/runtime/invocation/req-1/error", "Runtime.X", `{"errorType":1}`)
	f.Add("POST", "/2018-06-01/runtime/invocation/req-1/response", "streaming", "chunk")
	f.Add("POST", "/2018-06-01/runtime/init/error", "", "")
	f.Add("GET", "/2018-06-01/runtime/invocation/next", "", "")
	f.Add("DELETE", "/2018-06-01/runtime/invocation/req-1/response", "", "")
	f.Fuzz(func(t *testing.T, method, path, header, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(method+path, " \r\n\t") || method == "" {
			return
		}
		r, err := http.NewRequest(method, "http://127.0.0.1:9001"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		r.Header.Set("Lambda-Runtime-Function-Error-Type", header)
		r.Header.Set("Lambda-Runtime-Function-Response-Mode", header)
		e, h := newTestEnv()
		c := newCall(&Request{RequestID: "req-1"})
		handOut(e, c)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200, 202, 400, 403, 404, 405, 413:
		default:
			t.Fatalf("status %d for %s %s", w.Code, method, path)
		}
		if len(c.result) > 1 {
			t.Fatal("call finished twice")
		}
	})
}

package awsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/internal/awsapi"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// written is what an error writer answered.
type written struct {
	Status  int
	Headers map[string]string
	Body    string
}

func write(t *testing.T, wr func(http.ResponseWriter, *http.Request, error), err error) written {
	t.Helper()
	r := httptest.NewRequest("POST", "/", nil)
	r = r.WithContext(lambdahost.WithRequestID(r.Context(), "req-1"))
	w := httptest.NewRecorder()
	wr(w, r, err)
	out := written{Status: w.Code, Headers: map[string]string{}, Body: w.Body.String()}
	for _, h := range []string{"Content-Type", "X-Amzn-Errortype", "Retry-After"} {
		if v := w.Header().Get(h); v != "" {
			out.Headers[h] = v
		}
	}
	return out
}

func throttled() error {
	e := lambdahost.Errorf(lambdahost.TooManyRequestsException, "Rate exceeded")
	e.Reason, e.RetryAfter = "CallerRateLimitExceeded", 1
	return e
}

func TestErrorWriters(t *testing.T) {
	lambda := awsapi.RESTJSON{Logger: discard, TypeMember: true, CapitalMessage: map[lambdahost.ErrorType]bool{lambdahost.ResourceNotFoundException: true, lambdahost.ServiceException: true}}.WriteError
	signer := awsapi.RESTJSON{Logger: discard, Internal: lambdahost.InternalServiceErrorException}.WriteError
	kms := awsapi.JSON11{Logger: discard}.WriteError
	sts := awsapi.Query{Logger: discard, Namespace: "https://sts.amazonaws.com/doc/2011-06-15/"}.WriteError
	notFound := lambdahost.Errorf(lambdahost.ResourceNotFoundException, "Function not found: f")
	unsigned := lambdahost.Errorf(lambdahost.MissingAuthenticationToken, "Missing Authentication Token")
	cause := errors.New("disk on fire")
	jsonHeaders := func(t string) map[string]string {
		return map[string]string{"Content-Type": "application/json", "X-Amzn-Errortype": t}
	}
	json11Headers := func(t string) map[string]string {
		return map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amzn-Errortype": t}
	}
	xml := map[string]string{"Content-Type": "text/xml"}
	tests := []struct {
		name  string
		write func(http.ResponseWriter, *http.Request, error)
		err   error
		want  written
	}{
		{"rest-json-lambda-not-found", lambda, notFound, written{404, jsonHeaders("ResourceNotFoundException"), `{"Message":"Function not found: f","Type":"User"}` + "\n"}},
		{"rest-json-lambda-auth-has-no-type", lambda, unsigned, written{403, jsonHeaders("MissingAuthenticationTokenException"), `{"message":"Missing Authentication Token"}` + "\n"}},
		{"rest-json-lambda-expired-token-has-no-type", lambda, lambdahost.Errorf(lambdahost.ExpiredTokenException, "The security token included in the request is expired"),
			written{403, jsonHeaders("ExpiredTokenException"), `{"message":"The security token included in the request is expired"}` + "\n"}},
		{"rest-json-lambda-internal", lambda, cause, written{500, jsonHeaders("ServiceException"), `{"Message":"An internal error occurred.","Type":"Service"}` + "\n"}},
		{"rest-json-lambda-throttled", lambda, throttled(), written{429, map[string]string{"Content-Type": "application/json", "X-Amzn-Errortype": "TooManyRequestsException", "Retry-After": "1"},
			`{"Reason":"CallerRateLimitExceeded","Type":"User","message":"Rate exceeded"}` + "\n"}},
		{"rest-json-signer-not-found", signer, notFound, written{404, jsonHeaders("ResourceNotFoundException"), `{"message":"Function not found: f"}` + "\n"}},
		{"rest-json-signer-internal", signer, cause, written{500, jsonHeaders("InternalServiceErrorException"), `{"message":"An internal error occurred."}` + "\n"}},
		{"json11-client-error-is-400", kms, notFound, written{400, json11Headers("ResourceNotFoundException"), `{"__type":"ResourceNotFoundException","message":"Function not found: f"}` + "\n"}},
		{"json11-internal", kms, cause, written{500, json11Headers("ServiceException"), `{"__type":"ServiceException","message":"An internal error occurred."}` + "\n"}},
		{"query-sender", sts, unsigned, written{403, xml, `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>MissingAuthenticationTokenException</Code><Message>Missing Authentication Token</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`}},
		{"query-receiver-escaped", sts, lambdahost.Errorf(lambdahost.ServiceException, "a <b> & c"), written{500, xml, `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Receiver</Type><Code>ServiceException</Code><Message>a &lt;b&gt; &amp; c</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, write(t, tt.write, tt.err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorWriterClientGone: a request whose client went away gets
// nothing, whatever the protocol.
func TestErrorWriterClientGone(t *testing.T) {
	for name, wr := range map[string]func(http.ResponseWriter, *http.Request, error){
		"rest-json": awsapi.RESTJSON{Logger: discard}.WriteError,
		"json11":    awsapi.JSON11{Logger: discard}.WriteError,
		"query":     awsapi.Query{Logger: discard}.WriteError,
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			r := httptest.NewRequest("POST", "/", nil).WithContext(ctx)
			w := httptest.NewRecorder()
			wr(w, r, context.Canceled)
			if w.Body.Len() != 0 || len(w.Header()) != 0 {
				t.Errorf("answered %d %v %q", w.Code, w.Header(), w.Body)
			}
		})
	}
}

func TestDecodeJSON11(t *testing.T) {
	var v struct{ KeyID string }
	if err := awsapi.DecodeJSON11(nil, &v); err != nil {
		t.Errorf("empty body: %v", err)
	}
	err := awsapi.DecodeJSON11([]byte(`{"KeyID":`), &v)
	if lambdahost.ErrorTypeOf(err) != lambdahost.SerializationException {
		t.Errorf("malformed body: %v, want SerializationException", err)
	}
}

func TestEpoch(t *testing.T) {
	b, _ := json.Marshal(awsapi.Epoch(time.Date(2026, 1, 2, 3, 4, 5, 250e6, time.UTC)))
	if string(b) != "1767323045.25" {
		t.Errorf("Marshal = %s", b)
	}
	for _, in := range []string{"1767323045.25", "0"} {
		var e awsapi.Epoch
		if err := json.Unmarshal([]byte(in), &e); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
		}
	}
	for _, in := range []string{"-1", "1e300", `"x"`} {
		var e awsapi.Epoch
		if err := json.Unmarshal([]byte(in), &e); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, time.Time(e))
		}
	}
	if awsapi.EpochPtr(time.Time{}) != nil {
		t.Error("EpochPtr of the zero time is not nil")
	}
}

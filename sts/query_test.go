package sts_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sts"
)

// FuzzParseRequest checks that parsing never panics, that it accepts only
// GetCallerIdentity of this version, and that it refuses with a 400 API
// error.
func FuzzParseRequest(f *testing.F) {
	f.Add("", "Action=GetCallerIdentity&Version=2011-06-15", "application/x-www-form-urlencoded; charset=utf-8")
	f.Add("Action=GetCallerIdentity&Version=2011-06-15", "", "")
	f.Add("Action=AssumeRole", "Version=2011-06-15&Action=GetCallerIdentity", "application/x-www-form-urlencoded")
	f.Add("", "Action=%zz", "text/plain")
	f.Add("Action=GetCallerIdentity;Version=2011-06-15", "", "")
	f.Fuzz(func(t *testing.T, query, body, contentType string) {
		r, err := http.NewRequest("POST", "http://sts.test/", strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", contentType)
		req, err := sts.ParseRequest(r, []byte(body))
		if err != nil {
			var apiErr *lambdahost.Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400 API error", err)
			}
			return
		}
		if req.Action != "GetCallerIdentity" || req.Version != sts.APIVersion {
			t.Fatalf("accepted %q version %q", req.Action, req.Version)
		}
	})
}

// FuzzVerify checks that no token but the one issued verifies for an
// access key, and that Verify never panics on what clients send.
func FuzzVerify(f *testing.F) {
	c := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := sts.New(nil, masterKey, "node-fuzz")
	if err != nil {
		f.Fatal(err)
	}
	s.Now = c.Now
	f.Add("ASIAAAAAAAAAAAAAAAAA", "")
	f.Add("ASIAAAAAAAAAAAAAAAAA", "AQ")
	f.Add("ASIAAAAAAAAAAAAAAAAA", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("", "Ag==")
	f.Fuzz(func(t *testing.T, key, token string) {
		// The store is nil: a token that opened would be checked in it
		// and panic, which is the failure looked for.
		if _, err := s.Verify(t.Context(), key, token); !errors.Is(err, sts.ErrInvalid) {
			t.Fatalf("Verify(%q, %q)=%v, want ErrInvalid", key, token, err)
		}
	})
}

package awsapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/lambdahost/lambdahost/internal/awsapi"
)

func TestShapes(t *testing.T) {
	tests := []struct {
		name, method, target, contentType string
		path                              string
		json, query                       bool
	}{
		{name: "kms", method: "POST", path: "/", target: "TrentService.CreateKey", contentType: "application/x-amz-json-1.1", json: true},
		{name: "json-other-path", method: "POST", path: "/x", target: "TrentService.CreateKey"},
		{name: "json-get", method: "GET", path: "/", target: "TrentService.CreateKey"},
		{name: "other-target", method: "POST", path: "/", target: "Logs_20140328.GetLogEvents"},
		{name: "query-post", method: "POST", path: "/", contentType: "application/x-www-form-urlencoded; charset=utf-8", query: true},
		{name: "query-get", method: "GET", path: "/?Action=GetCallerIdentity&Version=2011-06-15", query: true},
		{name: "query-get-without-action", method: "GET", path: "/?Version=2011-06-15"},
		{name: "query-with-target", method: "POST", path: "/", target: "TrentService.CreateKey", contentType: "application/x-www-form-urlencoded", json: true},
		{name: "json-body-without-target", method: "POST", path: "/", contentType: "application/json"},
		{name: "rest", method: "GET", path: "/2015-03-31/functions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.target != "" {
				r.Header.Set("X-Amz-Target", tt.target)
			}
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			if got := awsapi.IsJSONTarget(r, "TrentService."); got != tt.json {
				t.Errorf("IsJSONTarget = %v, want %v", got, tt.json)
			}
			if got := awsapi.IsQuery(r); got != tt.query {
				t.Errorf("IsQuery = %v, want %v", got, tt.query)
			}
		})
	}
}

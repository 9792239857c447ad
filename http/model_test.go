package http_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lambdahost/lambdahost"
)

// lambdaModel is what TestEveryModelOperationAnswers reads of botocore's
// Lambda model (data/lambda/2015-03-31/service-2.json).
type lambdaModel struct {
	Operations map[string]struct {
		HTTP struct {
			Method     string `json:"method"`
			RequestURI string `json:"requestUri"`
		} `json:"http"`
		Errors []struct {
			Shape string `json:"shape"`
		} `json:"errors"`
	} `json:"operations"`
	Shapes map[string]struct {
		Pattern string `json:"pattern"`
	} `json:"shapes"`
}

// loadLambdaModel loads the model through botocore's own loader, which
// finds it whichever way botocore ships it (plain or gzipped JSON). It
// skips the test without python3 and botocore, and fails it in CI.
func loadLambdaModel(t *testing.T) *lambdaModel {
	t.Helper()
	out, err := exec.Command("python3", "-c",
		"import json, botocore.loaders as l; print(json.dumps(l.Loader().load_service_model('lambda', 'service-2')))").Output()
	if err != nil {
		msg := "botocore's Lambda model is not available (python3 with botocore): " + err.Error()
		if os.Getenv("LAMBDAHOST_E2E_REQUIRE") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var m lambdaModel
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// TestModelPatterns checks that the patterns lambdahost quotes in its
// validation messages are the model's, where AWS quotes the model's.
func TestModelPatterns(t *testing.T) {
	m := loadLambdaModel(t)
	for shape, ours := range map[string]string{
		"RoleArn":   lambdahost.PatternRole,
		"LayerName": lambdahost.PatternLayerName,
	} {
		if got := m.Shapes[shape].Pattern; got != ours {
			t.Errorf("the model's %s pattern is\n  %s\nlambdahost quotes\n  %s", shape, got, ours)
		}
	}
}

// modelLabels are values for the path labels of the model's request URIs:
// names of what the test creates, or well-formed names of nothing.
var modelLabels = map[string]string{
	"FunctionName":         "f",
	"Name":                 "live",
	"Resource":             "arn:aws:lambda:us-east-1:000000000000:function:f",
	"LayerName":            "deps",
	"VersionNumber":        "1",
	"StatementId":          "s1",
	"UUID":                 "14e0db71-5d35-4eb5-b481-8945cf9d10c2",
	"CodeSigningConfigArn": firstCSC,
	"CapacityProviderName": "cp",
	"DurableExecutionArn":  "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST/durable-execution/run/0a1b2c",
	"CallbackId":           "Y2FsbGJhY2s=",
}

var reLabel = regexp.MustCompile(`\{([A-Za-z]+)\+?\}`)

// TestEveryModelOperationAnswers walks every operation of botocore's Lambda
// model: each must route to the handler of the operation of that name, and
// answer success or one of the errors the model lists for it (or a
// ValidationException, which AWS answers for constraints), never
// UnknownOperationException. Operations lambdahost does not implement yet
// answer as AWS does for a function without that resource (pending.go).
func TestEveryModelOperationAnswers(t *testing.T) {
	m := loadLambdaModel(t)
	if len(m.Operations) < 80 {
		t.Fatalf("the model has %d operations; is it Lambda's?", len(m.Operations))
	}
	e := newEnv(t)
	withFunction("f")(e)
	e.must("POST", fnPath+"f/versions", "{}")
	e.must("POST", fnPath+"f/aliases", `{"Name":"live","FunctionVersion":"1"}`)
	withLayer("deps", "d")(e)
	withCSC(e)

	names := make([]string, 0, len(m.Operations))
	for name := range m.Operations {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		op := m.Operations[name]
		t.Run(name, func(t *testing.T) {
			var missing []string
			path := reLabel.ReplaceAllStringFunc(op.HTTP.RequestURI, func(label string) string {
				l := reLabel.FindStringSubmatch(label)[1]
				v, ok := modelLabels[l]
				if !ok {
					missing = append(missing, l)
				}
				return url.PathEscape(v)
			})
			if missing != nil {
				t.Fatalf("no test value for path labels %v of %s", missing, op.HTTP.RequestURI)
			}
			req, err := http.NewRequest(op.HTTP.Method, e.srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.api.OperationFor(req); got != name {
				t.Errorf("%s %s routes to %q, want %s", op.HTTP.Method, path, got, name)
			}
			body := ""
			if op.HTTP.Method == "POST" || op.HTTP.Method == "PUT" {
				body = "{}"
			}
			resp := e.do(op.HTTP.Method, path, body)
			typ := resp.Headers["X-Amzn-Errortype"]
			allowed := []string{"ValidationException"}
			for _, e := range op.Errors {
				allowed = append(allowed, e.Shape)
			}
			switch {
			case typ == "" && resp.Status >= 300:
				t.Errorf("HTTP %d without an error type: %s", resp.Status, resp.Body)
			case typ != "" && !slices.Contains(allowed, typ):
				t.Errorf("answered %s (HTTP %d: %s), which the model does not list for %s: %s", typ, resp.Status, resp.Body, name, strings.Join(allowed, ", "))
			}
		})
	}
}

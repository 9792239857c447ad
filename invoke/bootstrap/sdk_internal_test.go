package bootstrap

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionBefore(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"1.29.27", true},
		{"1.31.6", true},
		{"1.31.7", false},
		{"1.31.10", false},
		{"1.43.11", false},
		{"2.0.0", false},
		{"1.31", true},
		{"1.31.7rc1", false},
	}
	for _, tt := range tests {
		if got := versionBefore(tt.v, []int{1, 31, 7}); got != tt.want {
			t.Errorf("versionBefore(%q)=%v, want %v", tt.v, got, tt.want)
		}
	}
}

// fakeSession is a botocore/session.py with what the endpoint module
// relies on: Session.create_client's signature, and get_service_model's
// service_id.
const fakeSession = `
class _Model:
    def __init__(self, name):
        self.service_id = {"lambda": "Lambda", "sts": "STS", "cloudwatch": "CloudWatch", "apigatewayv2": "ApiGatewayV2", "es": "Elasticsearch Service"}[name]


class Session:
    def get_service_model(self, service_name, api_version=None):
        return _Model(service_name)

    def create_client(self, service_name, region_name=None, api_version=None, use_ssl=True, verify=None,
                      endpoint_url=None, aws_access_key_id=None, aws_secret_access_key=None,
                      aws_session_token=None, config=None):
        return endpoint_url
`

// TestAddEndpointURL runs the module added to an old botocore with Python.
func TestAddEndpointURL(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	for _, tt := range []struct {
		version string
		added   bool
	}{{"1.29.27", true}, {"1.34.0", false}} {
		root := t.TempDir()
		dir := filepath.Join(root, "botocore")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "__init__.py"), nil, 0o644)
		os.WriteFile(filepath.Join(dir, "session.py"), []byte(fakeSession), 0o644)
		if err := addEndpointURL(dir, tt.version); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(filepath.Join(dir, "_lambdahost_endpoint_url.py"))
		if added := err == nil; added != tt.added {
			t.Fatalf("botocore %s: module added %v, want %v", tt.version, added, tt.added)
		}
		if !tt.added {
			continue
		}
		script := `
from botocore.session import Session
s = Session()
print(s.create_client("lambda"), s.create_client("sts", "us-east-1"), s.create_client("cloudwatch"),
      s.create_client("es"), s.create_client("lambda", endpoint_url="http://given"),
      s.create_client("lambda", "r", None, True, None, "http://positional"))
`
		for _, c := range []struct {
			env  []string
			want string
		}{
			{[]string{"AWS_ENDPOINT_URL=http://all", "AWS_ENDPOINT_URL_STS=http://sts", "AWS_ENDPOINT_URL_ELASTICSEARCH_SERVICE=http://es"},
				"http://all http://sts http://all http://es http://given http://positional"},
			{nil, "None None None None http://given http://positional"},
			{[]string{"AWS_ENDPOINT_URL=http://all", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true"},
				"None None None None http://given http://positional"},
		} {
			cmd := exec.Command(python, "-S", "-c", script)
			cmd.Env = append([]string{"PYTHONPATH=" + root}, c.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v\n%s", c.env, err, out)
			}
			if got := strings.TrimSpace(string(out)); got != c.want {
				t.Errorf("%v:\n got %s\nwant %s", c.env, got, c.want)
			}
		}
	}
}

package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Directories of an SDK directory (Host.SDKDir).
const (
	// sdkPython holds boto3 and its dependencies, as importable packages.
	sdkPython = "python"
	// sdkNodeModules holds the AWS SDK for JavaScript v3.
	sdkNodeModules = "nodejs/node_modules"
	// sdkManifest records what InstallSDK installed.
	sdkManifest = "manifest.json"
)

// PythonSDKPackages are the Debian packages whose Python modules make the
// Python SDK: boto3 and everything it imports. They are pure Python, and
// work on every Python the runtime client supports.
var PythonSDKPackages = []string{
	"python3-boto3", "python3-botocore", "python3-s3transfer", "python3-jmespath",
	"python3-dateutil", "python3-six", "python3-urllib3",
	"python3-requests", "python3-certifi", "python3-chardet", "python3-charset-normalizer", "python3-idna",
}

// NodeSDKPackages are the npm packages of the AWS SDK for JavaScript v3
// that the Node.js runtimes provide: the clients of the services lambdahost
// serves, and of those functions most often call.
var NodeSDKPackages = []string{
	"@aws-sdk/client-lambda", "@aws-sdk/client-sts", "@aws-sdk/client-kms", "@aws-sdk/client-signer",
	"@aws-sdk/client-s3", "@aws-sdk/client-sqs", "@aws-sdk/client-sns", "@aws-sdk/client-dynamodb",
	"@aws-sdk/lib-dynamodb", "@aws-sdk/client-cloudwatch-logs", "@aws-sdk/client-ssm",
	"@aws-sdk/client-secrets-manager", "@aws-sdk/client-eventbridge", "@aws-sdk/client-kinesis",
	"@aws-sdk/credential-providers",
}

// SDKManifest describes an installed SDK directory: the versions of its
// main packages.
type SDKManifest struct {
	// Python maps Python package names to versions ("boto3": "1.26.27").
	Python map[string]string `json:"python,omitempty"`
	// Node maps npm package names to versions.
	Node map[string]string `json:"nodejs,omitempty"`
}

// ReadSDKManifest reads what InstallSDK recorded in dir; a missing
// manifest is an empty one.
func ReadSDKManifest(dir string) (*SDKManifest, error) {
	m := &SDKManifest{}
	b, err := os.ReadFile(filepath.Join(dir, sdkManifest))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, sdkManifest), err)
	}
	return m, nil
}

// InstallSDK installs the AWS SDKs into dir, for Host.SDKDir:
//
//   - Python: PythonSDKPackages, downloaded with apt-get download and
//     unpacked with dpkg-deb into dir/python (nothing is installed on the
//     system). Debian 12's botocore predates AWS_ENDPOINT_URL; a small
//     module added to it reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
//     as later versions do, so that an unmodified function reaches
//     lambdahost.
//   - Node.js: NodeSDKPackages, installed with npm into dir/nodejs.
//
// A language whose tool (apt-get and dpkg-deb, or npm) is missing is
// skipped with a note on out. Each is installed into a new directory
// renamed into place at the end, so that environments starting meanwhile
// see the old SDK or the new one, never half of one. Progress goes to out.
func InstallSDK(ctx context.Context, dir string, out io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("install SDK: %w", err)
	}
	m, err := ReadSDKManifest(dir)
	if err != nil {
		return err
	}
	var errs []error
	if missing := missingTools("apt-get", "dpkg-deb"); missing != "" {
		fmt.Fprintf(out, "Python SDK: skipped, %s not found\n", missing)
	} else if m.Python, err = installPythonSDK(ctx, dir, out); err != nil {
		errs = append(errs, fmt.Errorf("install the Python SDK: %w", err))
	}
	if missing := missingTools("npm"); missing != "" {
		fmt.Fprintf(out, "Node.js SDK: skipped, %s not found\n", missing)
	} else if m.Node, err = installNodeSDK(ctx, dir, out); err != nil {
		errs = append(errs, fmt.Errorf("install the Node.js SDK: %w", err))
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err == nil {
		err = writeFile(filepath.Join(dir, sdkManifest), append(b, '\n'))
	}
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func missingTools(tools ...string) string {
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	return strings.Join(missing, " and ")
}

// run runs a command in dir, its output going to out.
func run(ctx context.Context, dir string, out io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func installPythonSDK(ctx context.Context, dir string, out io.Writer) (map[string]string, error) {
	fmt.Fprintf(out, "Python SDK: %s\n", strings.Join(PythonSDKPackages, " "))
	tmp, err := os.MkdirTemp(dir, ".python-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// apt-get download runs as _apt when it can; the directory must be
	// open to it.
	if err := os.Chmod(tmp, 0o777); err != nil {
		return nil, err
	}
	args := append([]string{"download"}, PythonSDKPackages...)
	if err := run(ctx, tmp, out, "apt-get", args...); err != nil {
		// The package lists may be missing or stale: update them once.
		if uerr := run(ctx, tmp, out, "apt-get", "update"); uerr != nil {
			return nil, errors.Join(err, uerr)
		}
		if err := run(ctx, tmp, out, "apt-get", args...); err != nil {
			return nil, err
		}
	}
	debs, err := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if err != nil {
		return nil, err
	}
	root := filepath.Join(tmp, "root")
	for _, deb := range debs {
		if err := run(ctx, tmp, out, "dpkg-deb", "-x", deb, root); err != nil {
			return nil, err
		}
	}
	site := filepath.Join(root, "usr", "lib", "python3", "dist-packages")
	versions := map[string]string{}
	for _, pkg := range []string{"boto3", "botocore"} {
		v, err := pythonVersion(filepath.Join(site, pkg, "__init__.py"))
		if err != nil {
			return nil, err
		}
		versions[pkg] = v
	}
	if err := addEndpointURL(filepath.Join(site, "botocore"), versions["botocore"]); err != nil {
		return nil, err
	}
	if err := replaceDir(site, filepath.Join(dir, sdkPython)); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Python SDK: boto3 %s, botocore %s in %s\n", versions["boto3"], versions["botocore"], filepath.Join(dir, sdkPython))
	return versions, nil
}

var versionRE = regexp.MustCompile(`(?m)^__version__ = ['"]([^'"]+)['"]`)

// pythonVersion reads the __version__ of a package's __init__.py.
func pythonVersion(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	m := versionRE.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s: no __version__", file)
	}
	return string(m[1]), nil
}

// endpointURLModule reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
// for botocore before 1.31.7, which added them: each client without an
// endpoint_url of its own gets the service's variable, else the general
// one, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
const endpointURLModule = `"""AWS_ENDPOINT_URL for this botocore, which predates it.

Added by lambdahost when it installed this SDK for its functions, so that a
function's unmodified clients reach the endpoint lambdahost gives it, as
they would with botocore 1.31.7 and later.
"""

import os


def _configured(session, service_name, api_version):
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    try:
        service_id = session.get_service_model(service_name, api_version).service_id
        url = os.environ.get("AWS_ENDPOINT_URL_" + str(service_id).replace(" ", "_").upper())
        if url:
            return url
    except Exception:
        pass
    return os.environ.get("AWS_ENDPOINT_URL") or None


def install(session_class):
    create_client = session_class.create_client

    def create_client_with_endpoint(self, service_name, region_name=None, api_version=None,
                                    use_ssl=True, verify=None, endpoint_url=None, *args, **kwargs):
        if endpoint_url is None:
            endpoint_url = _configured(self, service_name, api_version)
        return create_client(self, service_name, region_name, api_version, use_ssl, verify,
                             endpoint_url, *args, **kwargs)

    create_client_with_endpoint.__doc__ = create_client.__doc__
    session_class.create_client = create_client_with_endpoint
`

// addEndpointURL adds endpointURLModule to the botocore in dir if its
// version predates AWS_ENDPOINT_URL.
func addEndpointURL(dir, version string) error {
	if !versionBefore(version, []int{1, 31, 7}) {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "_lambdahost_endpoint_url.py"), []byte(endpointURLModule), 0o644); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "session.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, "\n\n# Added by lambdahost: AWS_ENDPOINT_URL, which this botocore predates.\n"+
		"from botocore import _lambdahost_endpoint_url  # noqa: E402\n\n_lambdahost_endpoint_url.install(Session)\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// versionBefore reports whether dotted version v is before want.
func versionBefore(v string, want []int) bool {
	var got []int
	for _, p := range strings.Split(v, ".") {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		got = append(got, n)
	}
	return slices.Compare(got, want) < 0
}

func installNodeSDK(ctx context.Context, dir string, out io.Writer) (map[string]string, error) {
	fmt.Fprintf(out, "Node.js SDK: %s\n", strings.Join(NodeSDKPackages, " "))
	tmp, err := os.MkdirTemp(dir, ".nodejs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	// The packages are named without versions: npm picks the newest of
	// each, which agree with each other.
	args := append([]string{"install", "--prefix", tmp, "--no-audit", "--no-fund", "--omit=dev", "--no-package-lock"}, NodeSDKPackages...)
	if err := run(ctx, tmp, out, "npm", args...); err != nil {
		return nil, err
	}
	versions := map[string]string{}
	for _, pkg := range NodeSDKPackages {
		b, err := os.ReadFile(filepath.Join(tmp, "node_modules", pkg, "package.json"))
		if err != nil {
			return nil, err
		}
		var p struct{ Version string }
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("%s: %w", pkg, err)
		}
		versions[pkg] = p.Version
	}
	if err := replaceDir(tmp, filepath.Join(dir, "nodejs")); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Node.js SDK: %d packages in %s\n", len(versions), filepath.Join(dir, sdkNodeModules))
	return versions, nil
}

// replaceDir puts directory src at dst, exchanging the two atomically if
// dst exists: environments starting meanwhile bind the old directory or the
// new one, never neither. The old one is then deleted.
func replaceDir(src, dst string) error {
	if err := os.Chmod(src, 0o755); err != nil {
		return err
	}
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.ENOENT) {
		return os.Rename(src, dst)
	}
	if err != nil {
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	// src now holds the old directory.
	return os.RemoveAll(src)
}

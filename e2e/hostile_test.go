//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"
)

// zipEntry is one entry of a hand-made archive.
type zipEntry struct {
	name, content string
	symlink       bool
	method        uint16
}

// rawZip builds an archive of entries as they are, names included.
func rawZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: e.method, Modified: zipTime}
		h.SetMode(0o644)
		if e.symlink {
			h.SetMode(fs.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.content); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zerosZip is a deflated archive of entries of n zero bytes each: a
// compression ratio of about 800. Deflating hundreds of megabytes takes
// minutes under the race detector, so each archive is made once per test
// binary, with flate.BestSpeed (a quarter of the default level's time),
// and shared by the tests and drivers that ask for the same sizes.
func zerosZip(t testing.TB, sizes ...int) []byte {
	t.Helper()
	key := fmt.Sprint(sizes)
	zerosZipsMu.Lock()
	build, ok := zerosZips[key]
	if !ok {
		build = sync.OnceValues(func() ([]byte, error) { return newZerosZip(sizes) })
		zerosZips[key] = build
	}
	zerosZipsMu.Unlock()
	b, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	zerosZipsMu sync.Mutex
	zerosZips   = map[string]func() ([]byte, error){}
)

func newZerosZip(sizes []int) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	zeros := make([]byte, 1<<20)
	for i, n := range sizes {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("zeros%d.bin", i), Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return nil, err
		}
		for n > 0 {
			k := min(n, len(zeros))
			if _, err := w.Write(zeros[:k]); err != nil {
				return nil, err
			}
			n -= k
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// signedAt builds a request signed at the given time, as a replay of an
// old request or a client with a wrong clock would send it.
func signedAt(t testing.TB, method, url string, body []byte, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	c := aws.Credentials{AccessKeyID: TestCredentials.AccessKeyID, SecretAccessKey: TestCredentials.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(t.Context(), c, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

// slipHandler reports what the function sees of its code's links; the
// event names a host path that must not be visible through them.
const slipHandler = `import os

def handler(event, context):
    out = {"task": sorted(os.listdir("/var/task"))}
    for name in ("etc", "up"):
        p = os.path.join("/var/task", name)
        out[name] = {"link": os.readlink(p) if os.path.islink(p) else None, "real": os.path.realpath(p)}
    out["host_path_visible"] = os.path.exists("/var/task/up" + event["host_path"])
    try:
        with open("/var/task/up/tmp/" + event["marker"], "w") as f:
            f.write("x")
        out["write_through_up"] = "ok"
    except OSError as e:
        out["write_through_up"] = type(e).__name__
    return out
`

// escapeNames are the base names the hostile archives try to plant.
var escapeNames = []string{"escape", "abs-escape", "lambdahost-zipslip"}

// wantNothingEscaped fails if any file named in escapeNames exists under
// the test's directory (data directory included) other than inside an
// unpacked package, <data-dir>/exec/code/<hex>, or in /etc or /tmp.
func wantNothingEscaped(t testing.TB, srv *Server, marker string) {
	t.Helper()
	codeRoot := filepath.Join(srv.DataDir, "exec", "code") + string(filepath.Separator)
	filepath.WalkDir(srv.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		for _, n := range escapeNames {
			if d.Name() != n {
				continue
			}
			rel, inCode := strings.CutPrefix(p, codeRoot)
			if !inCode || !strings.Contains(rel, string(filepath.Separator)) || strings.HasPrefix(rel, ".tmp-") {
				t.Errorf("%s exists outside the unpacked code directories", p)
			}
		}
		return nil
	})
	paths := []string{"/etc/lambdahost-zipslip", "/tmp/lambdahost-zipslip", "/abs-escape", filepath.Join(filepath.Dir(srv.Dir), "escape")}
	if marker != "" {
		paths = append(paths, "/tmp/"+marker)
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists: the package reached the host", p)
		}
	}
}

// TestHostileZip deploys archives that try to write outside their
// directory: deploying succeeds, as on AWS (any zip it can unzip), and
// invoking unpacks them without writing outside <data-dir>/exec/code/<hex>;
// links pointing outside resolve in the sandbox's view only. Zip bombs are
// refused with AWS's error and store nothing; of duplicate entries the
// last wins, as with unzip (scenario 25).
func TestHostileZip(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithArgs("--sandbox", "namespaces"))
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")

	t.Run("zip-slip-and-links", func(t *testing.T) {
		marker := fmt.Sprintf("lambdahost-e2e-%d", time.Now().UnixNano())
		code := rawZip(t,
			zipEntry{name: "index.py", content: slipHandler},
			zipEntry{name: "../../escape", content: "x"},
			zipEntry{name: "../../../../../../../../tmp/lambdahost-zipslip", content: "x"},
			zipEntry{name: "/abs-escape", content: "x"},
			zipEntry{name: "etc", content: "/etc", symlink: true},
			zipEntry{name: "up", content: "../../../../../../../../..", symlink: true},
		)
		mustCreate(t, d, "slip", code)
		reply := invoke(t, d, "slip", map[string]any{"host_path": srv.DataDir, "marker": marker}).Reply(t)
		t.Logf("function sees %v", reply)
		task, _ := reply["task"].([]any)
		var names []string
		for _, n := range task {
			names = append(names, n.(string))
		}
		// Absolute names are unpacked below the code directory; names
		// climbing out of it are dropped.
		if want := []string{"abs-escape", "etc", "index.py", "up"}; !cmp.Equal(names, want) {
			t.Errorf("/var/task holds %v, want %v", names, want)
		}
		if reply["write_through_up"] != "ok" {
			t.Errorf("writing through up to the sandbox's /tmp: %v, want ok (and nothing on the host's /tmp)", reply["write_through_up"])
		}
		if got := reply["etc"].(map[string]any); got["link"] != "/etc" || got["real"] != "/etc" {
			t.Errorf("etc link: %v, want /etc as the sandbox sees it", got)
		}
		if got := reply["up"].(map[string]any); got["real"] != "/" {
			t.Errorf("up link: %v, want the sandbox's root", got)
		}
		if reply["host_path_visible"] != false {
			t.Errorf("the function sees the host's data directory %s through a link", srv.DataDir)
		}
		wantNothingEscaped(t, srv, marker)
	})

	t.Run("write-through-link", func(t *testing.T) {
		// A link, then an entry written through it: unpacking fails (the
		// invocation answers an error) and writes nothing outside.
		code := rawZip(t,
			zipEntry{name: "index.py", content: "def handler(e, c):\n    return 1\n"},
			zipEntry{name: "etc", content: "/etc", symlink: true},
			zipEntry{name: "etc/lambdahost-zipslip", content: "x"},
			zipEntry{name: "out", content: "../../..", symlink: true},
			zipEntry{name: "out/escape", content: "x"},
		)
		mustCreate(t, d, "through-link", code)
		r := invoke(t, d, "through-link", map[string]any{})
		r.WantError(t, 502, "InvalidZipFileException", "Lambda was unable to unzip the function's code package.")
		wantNothingEscaped(t, srv, "")
	})

	t.Run("duplicate-entries", func(t *testing.T) {
		code := rawZip(t,
			zipEntry{name: "index.py", content: "def handler(e, c):\n    return 'first'\n"},
			zipEntry{name: "index.py", content: "def handler(e, c):\n    return 'second'\n"},
		)
		mustCreate(t, d, "duplicates", code)
		wantPayload(t, invoke(t, d, "duplicates", map[string]any{}), `"second"`)
	})

	bombs := []struct {
		name string
		zip  []byte
	}{
		// 300 MB of zeros in one entry: a ratio of about 800.
		{"ratio", zerosZip(t, 300<<20)},
		// Two entries under the limit whose sum is over it.
		{"sum", zerosZip(t, 140<<20, 140<<20)},
	}
	for _, b := range bombs {
		t.Run("bomb-"+b.name, func(t *testing.T) {
			t.Logf("%d bytes zipped", len(b.zip))
			msg := "Unzipped size must be smaller than 262144000 bytes"
			name := "bomb-" + b.name
			blobs := codeFiles(t, srv)
			defer func() {
				if got := codeFiles(t, srv); !cmp.Equal(got, blobs) {
					t.Errorf("refused bombs left files in the code store: %v, before %v", got, blobs)
				}
			}()
			d.Call(t, "CreateFunction", createParams(name, b.zip)).WantError(t, 400, "InvalidParameterValueException", msg)
			d.Call(t, "GetFunction", Params{"FunctionName": name}).WantError(t, 404, "ResourceNotFoundException", "")
			mustCreate(t, d, name, handlerZip(t, name))
			before := takeSnapshot(t, d, name)
			d.Call(t, "UpdateFunctionCode", Params{"FunctionName": name, "ZipFile": b.zip}).WantError(t, 400, "InvalidParameterValueException", msg)
			if diff := cmp.Diff(before, takeSnapshot(t, d, name)); diff != "" {
				t.Errorf("a refused bomb changed something (-before +after):\n%s", diff)
			}
			wantPayload(t, invoke(t, d, name, map[string]any{}), strconv.Quote(name))
		})
	}
}

// TestHostileRequests sends malformed and hostile requests: deeply nested
// JSON, huge headers, bad base64, replayed and expired signatures, and
// path traversal in names and qualifiers. Each is answered with an
// AWS-style error, writes nothing, and leaves the server serving
// (scenario 25).
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	name := "target"
	mustCreate(t, d, name, handlerZip(t, name))
	before := takeSnapshot(t, d, name)
	fnURL := srv.Endpoint + "/2015-03-31/functions"
	signed := func(method, url string, body []byte) *http.Request {
		return rawRequest(t, method, url, &TestCredentials, "us-east-1", body, body)
	}
	// intact checks that nothing was written and the server still serves.
	intact := func(t *testing.T) {
		t.Helper()
		if !srv.Running() {
			t.Fatal("lambdahost is no longer running")
		}
		if diff := cmp.Diff(before, takeSnapshot(t, d, name)); diff != "" {
			t.Errorf("a refused request changed something (-before +after):\n%s", diff)
		}
		wantPayload(t, invoke(t, d, name, map[string]any{}), strconv.Quote(name))
	}

	t.Run("deep-json", func(t *testing.T) {
		hwm := peakRSS(t, srv)
		deep := strings.Repeat("[", 100000)
		deepObj := strings.Repeat(`{"a":`, 100000)
		zip64 := base64.StdEncoding.EncodeToString(handlerZip(t, "deep"))
		for _, body := range []string{
			`{"FunctionName":"deep","Runtime":"python3.12","Role":"` + testRole + `","Handler":"index.handler","Code":{"ZipFile":"` + zip64 + `"},"Environment":` + deep + `}`,
			`{"FunctionName":"deep","Runtime":"python3.12","Role":"` + testRole + `","Handler":"index.handler","Code":{"ZipFile":"` + zip64 + `"},"Tags":` + deepObj + `}`,
			`{"FunctionName":"deep","Code":` + deepObj + `}`,
			deep,
		} {
			r := doRaw(t, nil, signed("POST", fnURL, []byte(body)))
			r.wantError(t, 400, "InvalidRequestContentException", "")
			if !strings.HasPrefix(r.message(), "Could not parse request body into json: ") {
				t.Errorf("CreateFunction with nested JSON: message %q", r.message())
			}
		}
		d.Call(t, "GetFunction", Params{"FunctionName": "deep"}).WantError(t, 404, "ResourceNotFoundException", "")
		for _, body := range []string{deep, deepObj, `{"a":` + deep} {
			r := doRaw(t, nil, signed("POST", fnURL+"/"+name+"/invocations", []byte(body)))
			r.wantError(t, 400, "InvalidRequestContentException", "")
			if !strings.HasPrefix(r.message(), "Could not parse request body into json: Could not parse payload into json") {
				t.Errorf("Invoke with nested JSON: message %q", r.message())
			}
			r = doRaw(t, nil, signed("PUT", fnURL+"/"+name+"/configuration", []byte(body)))
			r.wantError(t, 400, "InvalidRequestContentException", "")
		}
		if grown := peakRSS(t, srv) - hwm; grown > 200<<20 {
			t.Errorf("peak RSS grew by %d MB parsing nested JSON", grown>>20)
		}
		intact(t)
	})

	t.Run("huge-header", func(t *testing.T) {
		req := signed("GET", fnURL+"/"+name, nil)
		req.Header.Set("X-Junk", strings.Repeat("a", 1<<20))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			// The server may close the connection before reading it all.
			t.Logf("1 MB header: %v", err)
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("1 MB header: HTTP %d %.100q, want 431", resp.StatusCode, b)
			}
		}
		// A header just under the bound still works; a little over is refused.
		for _, c := range []struct {
			size   int
			status int
		}{{60 << 10, 200}, {70 << 10, http.StatusRequestHeaderFieldsTooLarge}} {
			req := signed("GET", fnURL+"/"+name, nil)
			req.Header.Set("X-Junk", strings.Repeat("a", c.size))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%d KB header: %v", c.size>>10, err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("%d KB header: HTTP %d, want %d", c.size>>10, resp.StatusCode, c.status)
			}
		}
		// Many headers summing to over 1 MB.
		req = signed("GET", fnURL+"/"+name, nil)
		for i := range 2000 {
			req.Header.Set(fmt.Sprintf("X-Junk-%d", i), strings.Repeat("b", 1000))
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("2 MB of headers: HTTP %d, want 431", resp.StatusCode)
			}
		}
		intact(t)
	})

	t.Run("bad-base64", func(t *testing.T) {
		for _, zip64 := range []string{"!!!!", "QUJD=QUJD", strings.Repeat("A", 5), "QUJD\x00"} {
			body := []byte(`{"ZipFile":"` + zip64 + `"}`)
			r := doRaw(t, nil, signed("PUT", fnURL+"/"+name+"/code", body))
			if r.Status != 400 || r.ErrorType == "" {
				t.Errorf("UpdateFunctionCode with ZipFile %q: HTTP %d %s %v, want a 400 API error", zip64, r.Status, r.ErrorType, r.Body)
			}
			create, _ := json.Marshal(createParams("bad-base64", nil))
			create = bytes.Replace(create, []byte(`"ZipFile":null`), []byte(`"ZipFile":"`+zip64+`"`), 1)
			r = doRaw(t, nil, signed("POST", fnURL, create))
			if r.Status != 400 || r.ErrorType == "" {
				t.Errorf("CreateFunction with ZipFile %q: HTTP %d %s %v, want a 400 API error", zip64, r.Status, r.ErrorType, r.Body)
			}
		}
		d.Call(t, "GetFunction", Params{"FunctionName": "bad-base64"}).WantError(t, 404, "ResourceNotFoundException", "")
		intact(t)
	})

	t.Run("replayed-and-expired", func(t *testing.T) {
		create, _ := json.Marshal(createParams("replayed", handlerZip(t, "replayed")))
		update := updateCodeBody(t, handlerZip(t, "replayed update"))
		// Three minutes past the 15-minute skew either way: the margin
		// covers a request's trip on a loaded machine.
		for _, skew := range []time.Duration{-18 * time.Minute, -24 * time.Hour, 18 * time.Minute} {
			at := time.Now().Add(skew)
			for _, req := range []*http.Request{
				signedAt(t, "POST", fnURL, create, at),
				signedAt(t, "PUT", fnURL+"/"+name+"/code", update, at),
				signedAt(t, "DELETE", fnURL+"/"+name, nil, at),
				signedAt(t, "POST", fnURL+"/"+name+"/invocations", []byte(`{}`), at),
			} {
				r := doRaw(t, nil, req)
				r.wantError(t, 403, "InvalidSignatureException", "")
				prefix := "Signature expired: "
				if skew > 0 {
					prefix = "Signature not yet current: "
				}
				if !strings.HasPrefix(r.message(), prefix) {
					t.Errorf("%s %s signed %v away: message %q, want %q...", req.Method, req.URL.Path, skew, r.message(), prefix)
				}
			}
		}
		// A presigned request used after its X-Amz-Expires lifetime.
		for _, method := range []string{"GET", "DELETE"} {
			req, err := http.NewRequestWithContext(t.Context(), method, fnURL+"/"+name+"?X-Amz-Expires=60", nil)
			if err != nil {
				t.Fatal(err)
			}
			c := aws.Credentials{AccessKeyID: TestCredentials.AccessKeyID, SecretAccessKey: TestCredentials.SecretAccessKey}
			emptySum := sha256.Sum256(nil)
			u, _, err := v4.NewSigner().PresignHTTP(t.Context(), c, req, hex.EncodeToString(emptySum[:]), "lambda", "us-east-1", time.Now().Add(-2*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			presigned, err := http.NewRequestWithContext(t.Context(), method, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			doRaw(t, nil, presigned).wantError(t, 403, "InvalidSignatureException", "Request has expired")
		}
		// Within the skew, the same requests would pass: the refusals
		// above are for their time alone.
		r := doRaw(t, nil, signedAt(t, "GET", fnURL+"/"+name, nil, time.Now().Add(-12*time.Minute)))
		if r.Status != 200 {
			t.Errorf("GetFunction signed 12 minutes ago: HTTP %d %s, want 200", r.Status, r.ErrorType)
		}
		d.Call(t, "GetFunction", Params{"FunctionName": "replayed"}).WantError(t, 404, "ResourceNotFoundException", "")
		intact(t)
	})

	t.Run("path-traversal", func(t *testing.T) {
		for _, fn := range []string{"..%2f..%2fetc%2fpasswd", "..%2ftarget", "%2e%2e%2ftarget", "target%00", "a%2fb", "%00", "target%2f..", "..%5ctarget"} {
			for _, req := range []*http.Request{
				signed("GET", fnURL+"/"+fn, nil),
				signed("GET", fnURL+"/"+fn+"/configuration", nil),
				signed("PUT", fnURL+"/"+fn+"/code", updateCodeBody(t, handlerZip(t, "traversal"))),
				signed("DELETE", fnURL+"/"+fn, nil),
				signed("POST", fnURL+"/"+fn+"/invocations", []byte(`{}`)),
			} {
				r := doRaw(t, nil, req)
				if r.Status != 400 || (r.ErrorType != "ValidationException" && r.ErrorType != "InvalidParameterValueException") {
					t.Errorf("%s %s: HTTP %d %s %q, want a 400 validation error", req.Method, req.URL.EscapedPath(), r.Status, r.ErrorType, r.message())
				}
			}
		}
		// ".." matches the namespaced name pattern (dots allowed), so it is
		// looked up like any name, and not found.
		doRaw(t, nil, signed("GET", fnURL+"/%2e%2e", nil)).wantError(t, 404, "ResourceNotFoundException", "Function not found: "+functionARN("us-east-1", "000000000000", ".."))
		for _, q := range []string{"..%2f..%2fetc", "%00", "1%2f..", "$LATEST%00", "..", "a/b"} {
			for _, req := range []*http.Request{
				signed("GET", fnURL+"/"+name+"?Qualifier="+q, nil),
				signed("POST", fnURL+"/"+name+"/invocations?Qualifier="+q, []byte(`{}`)),
				signed("DELETE", fnURL+"/"+name+"?Qualifier="+q, nil),
			} {
				r := doRaw(t, nil, req)
				if r.Status != 400 || r.ErrorType != "ValidationException" {
					t.Errorf("%s %s?%s: HTTP %d %s %q, want 400 ValidationException", req.Method, req.URL.EscapedPath(), req.URL.RawQuery, r.Status, r.ErrorType, r.message())
				}
			}
		}
		for _, fn := range []string{"../x", "a/b", "x\x00y", "/etc/passwd", "..", "arn:aws:lambda:us-east-1:000000000000:function:../x"} {
			body, _ := json.Marshal(createParams(fn, handlerZip(t, "traversal")))
			r := doRaw(t, nil, signed("POST", fnURL, body))
			if r.Status != 400 || r.ErrorType != "ValidationException" {
				t.Errorf("CreateFunction named %q: HTTP %d %s %q, want 400 ValidationException", fn, r.Status, r.ErrorType, r.message())
			}
		}
		intact(t)
	})
}

// codeFiles lists the files of the code store, <data-dir>/code. Small
// zips are stored in SQLite, so only large ones appear here.
func codeFiles(t testing.TB, srv *Server) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(filepath.Join(srv.DataDir, "code"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// peakRSS is the server process's peak resident set size (VmHWM), in bytes.
func peakRSS(t testing.TB, srv *Server) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.proc.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

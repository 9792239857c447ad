package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// layersPerFunction is the layer count of the cold start comparison: AWS's
// limit.
const layersPerFunction = 5

// layerResult is the outcome of the layer test.
type layerResult struct {
	publish []layerPublish
	// cold0 and cold5 are cold starts of a Python function with no layer
	// and with five, taken in turns.
	cold0, cold5 coldResult
	pySkip       string
}

// layerPublish is PublishLayerVersion's latency at one zip size.
type layerPublish struct {
	label   string
	bytes   int
	latency []time.Duration
	errors  int
}

// layerHandler imports a module from each of the five layers.
const layerHandler = `import layer0, layer1, layer2, layer3, layer4


def handler(event, context):
    return {"request_id": context.aws_request_id}
`

// benchLayerZip is layer i: python/layer<i>/ with an __init__.py and 40
// small modules, and a bin/ program, as layers of dependencies have many
// files.
func benchLayerZip(i int) ([]byte, error) {
	files := map[string][]byte{
		fmt.Sprintf("python/layer%d/__init__.py", i): []byte("VALUE = " + fmt.Sprint(i) + "\n"),
		fmt.Sprintf("bin/tool%d", i):                 []byte("#!/bin/sh\necho tool\n"),
	}
	for j := range 40 {
		files[fmt.Sprintf("python/layer%d/mod%02d.py", i, j)] = bytes.Repeat([]byte("# padding of a module of a dependency\n"), 25)
	}
	return zipOf(files, 0o755)
}

// layerTest measures PublishLayerVersion at each of cfg.layerSizes and
// cold starts of a Python function with and without five layers, on a
// lambdahost of its own.
func layerTest(tmp, bin string, cfg *config) (*layerResult, error) {
	dir := filepath.Join(tmp, "layers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	res := &layerResult{}
	var wrap []string
	if cfg.layersOnly {
		wrap = cfg.wrap
	}
	logf("layers: starting lambdahost")
	srv, err := startLambdahost(bin, dir, wrap, nil, nil)
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	// PublishLayerVersion: pre-signed bodies of distinct zips, replayed
	// one at a time over a keep-alive connection, as the updates are.
	rng := rand.NewChaCha8([32]byte{'l', 'a', 'y', 'e', 'r'})
	c := newClient(srv.addr)
	defer c.close()
	var out bytes.Buffer
	for _, s := range cfg.layerSizes {
		p := layerPublish{label: s.label, bytes: s.bytes}
		n := cfg.layerPublishN
		if s.bytes > 4<<20 {
			n = max(n/2, 5)
		}
		logf("layers: PublishLayerVersion %s: %d warmup + %d timed", s.label, cfg.warmup, n)
		path := "/2018-10-31/layers/bench-" + strings.ReplaceAll(s.label, ".", "_") + "/versions"
		var reqs []rawRequest
		for range cfg.warmup + n {
			z, err := makeZip(s.bytes, rng)
			if err != nil {
				return nil, err
			}
			r, err := sign(srv.addr, http.MethodPost, path, "", newBody(zipFileBody(`{"Content": {"ZipFile": "`, z, `"}}`)), "application/json", "lambda")
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, r)
		}
		for i, r := range reqs {
			t0 := time.Now()
			st, err := c.do(r, &out)
			d := time.Since(t0)
			if err != nil {
				return nil, fmt.Errorf("PublishLayerVersion %s: %w", s.label, err)
			}
			if i < cfg.warmup {
				continue
			}
			if st != http.StatusCreated {
				p.errors++
				logf("PublishLayerVersion %s: HTTP %d: %s", s.label, st, trim(out.Bytes()))
				continue
			}
			p.latency = append(p.latency, d)
		}
		res.publish = append(res.publish, p)
	}

	if bootstrap.Discover().Interpreters[pyRuntime] == "" {
		res.pySkip = "no " + pyRuntime + " interpreter on this host"
		logf("layers: cold starts skipped: %s", res.pySkip)
		return res, nil
	}
	lc, _ := newLambdaClient(srv.addr, 2)
	ctx := context.Background()
	var arns []string
	for i := range layersPerFunction {
		z, err := benchLayerZip(i)
		if err != nil {
			return nil, err
		}
		lv, err := lc.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{
			LayerName: aws.String(fmt.Sprintf("bench-deps-%d", i)), Content: &types.LayerVersionContentInput{ZipFile: z},
		})
		if err != nil {
			return nil, fmt.Errorf("publish layer %d: %w", i, err)
		}
		arns = append(arns, aws.ToString(lv.LayerVersionArn))
	}
	plain, err := zipOf(map[string][]byte{"index.py": []byte(pythonHandler)}, 0o644)
	if err != nil {
		return nil, err
	}
	withLayers, err := zipOf(map[string][]byte{"index.py": []byte(layerHandler)}, 0o644)
	if err != nil {
		return nil, err
	}
	fns := []struct {
		name   string
		zip    []byte
		layers []string
		res    *coldResult
	}{
		{"bench-layers-0", plain, nil, &res.cold0},
		{"bench-layers-5", withLayers, arns, &res.cold5},
	}
	for _, f := range fns {
		if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(f.name), Runtime: pyRuntime, Handler: aws.String("index.handler"), Role: aws.String(role),
			Code: &types.FunctionCode{ZipFile: f.zip}, Timeout: aws.Int32(30), Layers: f.layers,
		}); err != nil {
			return nil, fmt.Errorf("create %s: %w", f.name, err)
		}
		if err := waitUpdated(ctx, lc, f.name, 30*time.Second); err != nil {
			return nil, err
		}
	}
	logf("layers: cold starts with 0 and %d layers, %d each, in turns", layersPerFunction, cfg.invokeColdN)
	for i := range cfg.invokeColdN + 1 { // the first of each is untimed: it unpacks and merges the layers
		for _, f := range fns {
			time.Sleep(coldGap)
			if err := coldOurs(ctx, lc, f.name, i, f.res); err != nil {
				return nil, fmt.Errorf("%s cold: %w", f.name, err)
			}
		}
	}
	return res, nil
}

func layerRows(res *layerResult) []row {
	var rows []row
	for _, p := range res.publish {
		rows = append(rows,
			row{metric: "PublishLayerVersion " + p.label + " p50", ours: fmtDur(percentile(p.latency, .5))},
			row{metric: "PublishLayerVersion " + p.label + " p99", ours: fmtDur(percentile(p.latency, .99))},
			row{metric: "PublishLayerVersion " + p.label + " errors", ours: fmt.Sprintf("%d / %d", p.errors, len(p.latency)+p.errors), target: "0", pass: passMark(p.errors == 0)},
		)
	}
	if res.pySkip != "" {
		return rows
	}
	for _, c := range []struct {
		label string
		res   *coldResult
	}{{"0 layers", &res.cold0}, {fmt.Sprintf("%d layers", layersPerFunction), &res.cold5}} {
		rows = append(rows,
			row{metric: "Python cold start, " + c.label + ", round trip p50", ours: fmtDur(percentile(c.res.rtt, .5))},
			row{metric: "Python cold start, " + c.label + ", round trip p99", ours: fmtDur(percentile(c.res.rtt, .99))},
			row{metric: "Python cold start, " + c.label + ", REPORT Init Duration p50", ours: fmtDur(percentile(c.res.init, .5))},
			row{metric: "Python cold start, " + c.label + ", errors / not cold", ours: fmt.Sprintf("%d / %d", c.res.errors, c.res.notCold)},
		)
	}
	d50 := percentile(res.cold5.rtt, .5) - percentile(res.cold0.rtt, .5)
	rows = append(rows, row{metric: fmt.Sprintf("Python cold start p50, %d layers − 0 layers", layersPerFunction), ours: fmtSigned(d50)})
	return rows
}

func fmtSigned(d time.Duration) string {
	if d < 0 {
		return "−" + fmtDur(-d)
	}
	return "+" + fmtDur(d)
}

func layerNotes(w io.Writer, cfg *config, res *layerResult) {
	fmt.Fprintln(w, "- Layers: a lambdahost of its own. PublishLayerVersion: distinct zips of each size (stored random bytes, as the updates'), bodies `{\"Content\": {\"ZipFile\": ...}}` signed ahead and replayed one at a time on a keep-alive connection, the first", cfg.warmup, "untimed; the latency is request written → 201 read.")
	if res.pySkip != "" {
		fmt.Fprintln(w, "  Cold starts with layers skipped:", res.pySkip+".")
		return
	}
	fmt.Fprintf(w, "  Cold starts: two %s functions, one without layers, one with %d (each 40 small modules under python/ and a program in bin/) whose handler imports a module of each; %d samples each after an untimed one (which unpacks the layers and builds their merge), taken in turns, as the invoke test's cold starts are (UpdateFunctionConfiguration, wait for Successful, one timed Invoke with LogType Tail).\n", pyRuntime, layersPerFunction, cfg.invokeColdN)
}

package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// How to install the servers the deploy test needs, as internal/testserver
// (and CI) installs them.
const (
	versityGWInstall = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"
	registryInstall  = "apt-get install -y docker-registry"
)

// Fixed parameters of the deploy test.
const (
	deployBucket = "bench-deploy"
	// The gateway's root keys; lambdahost gets them as AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY.
	gwAccessKey = "LHBENCHS3ACCESSKEY"
	gwSecretKey = "lambdahost-bench-s3-secret"

	imageRepo       = "bench/deploy"
	imageLayers     = 4
	imageLayerBytes = 5_000_000 // random bytes per layer: a ~20 MB image
	// imageWarm images are deployed untimed first, then alternated for the
	// warm updates; one more cold image is an untimed warmup.
	imageWarm = 2
)

// deployS3Sizes are the object sizes deployed from S3, with their timed
// update counts.
var deployS3Sizes = []sizeSpec{
	{label: "1MiB", bytes: 1 << 20, n: 30},
	{label: "50MiB", bytes: 50 << 20, n: 10},
}

// deployResult is the outcome of the deploy test.
type deployResult struct {
	s3Skip, imageSkip string // why a part did not run

	s3       []*s3Deploy
	s3Upload time.Duration // generating and putting every object

	imageN     int
	imagePush  time.Duration // generating and pushing every image
	imageBytes int64         // compressed layers of one image
	registry   string        // docker-registry --version
	cold, warm updateResult

	stopErr error
}

// s3Deploy is one object size deployed from S3.
type s3Deploy struct {
	spec  sizeSpec
	keys  []string // warmup first, all distinct objects
	res   updateResult
	floor []time.Duration
}

// deployTest measures UpdateFunctionCode from S3 objects (served by a
// versitygw) and from container images (served by a distribution registry)
// through a lambdahost of its own, with its own data dir under tmp. A part
// whose server is not installed is skipped, with the reason in the result.
func deployTest(tmp, bin string, cfg *config) (*deployResult, error) {
	dir := filepath.Join(tmp, "deploy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	res := &deployResult{imageN: cfg.deployImageN}

	var gw, reg *process
	if p, err := findBinary("versitygw"); err != nil {
		res.s3Skip = fmt.Sprintf("%v; install it with `%s`", err, versityGWInstall)
		logf("deploy from S3 skipped: %s", res.s3Skip)
	} else {
		if gw, err = startVersityGW(p, dir); err != nil {
			return nil, err
		}
		defer stopLogged(gw)
	}
	if p, err := findBinary("docker-registry"); err != nil {
		res.imageSkip = fmt.Sprintf("%v; install it with `%s`", err, registryInstall)
		logf("deploy from images skipped: %s", res.imageSkip)
	} else {
		if out, err := exec.Command(p, "--version").CombinedOutput(); err == nil {
			res.registry = strings.Join(strings.Fields(strings.TrimPrefix(string(out), p)), " ")
		}
		if reg, err = startRegistry(p, dir); err != nil {
			return nil, err
		}
		defer stopLogged(reg)
	}
	if gw == nil && reg == nil {
		return res, nil
	}

	// Put the objects and push the images at the same time.
	var (
		wg             sync.WaitGroup
		s3Err, imgErr  error
		s3c            *awss3.Client
		digests        []v1.Hash
		gwURL, regHost string
	)
	if gw != nil {
		gwURL = "http://" + gw.addr
		s3c = awss3.New(awss3.Options{
			BaseEndpoint: aws.String(gwURL), UsePathStyle: true, Region: region,
			Credentials: credentials.NewStaticCredentialsProvider(gwAccessKey, gwSecretKey, ""),
		})
		for _, s := range deployS3Sizes {
			d := &s3Deploy{spec: s}
			for j := range cfg.warmup + s.n {
				d.keys = append(d.keys, fmt.Sprintf("%s/%03d.zip", s.label, j))
			}
			res.s3 = append(res.s3, d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			s3Err = putObjects(s3c, res.s3)
			res.s3Upload = time.Since(t)
			if s3Err == nil {
				logf("put %d objects in %s", countKeys(res.s3), res.s3Upload.Round(time.Millisecond))
			}
		}()
	}
	if reg != nil {
		regHost = reg.addr
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			digests, res.imageBytes, imgErr = pushImages(regHost, imageWarm+1+cfg.deployImageN)
			res.imagePush = time.Since(t)
			if imgErr == nil {
				logf("pushed %d images in %s", len(digests), res.imagePush.Round(time.Millisecond))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(s3Err, imgErr); err != nil {
		return nil, err
	}

	var extra, env []string
	if gw != nil {
		extra = []string{"--s3-endpoint", gwURL, "--s3-path-style", "true"}
		env = []string{"AWS_ACCESS_KEY_ID=" + gwAccessKey, "AWS_SECRET_ACCESS_KEY=" + gwSecretKey, "AWS_REGION=" + region}
	}
	var wrap []string
	if cfg.deployOnly {
		wrap = cfg.wrap
	}
	logf("starting lambdahost for the deploy test")
	srv, err := startLambdahost(bin, dir, wrap, extra, env)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.stop()
		}
	}()
	c := newClient(srv.addr)
	defer c.close()

	if gw != nil {
		if err := s3Deploys(c, srv.addr, s3c, dir, cfg, res); err != nil {
			return nil, fmt.Errorf("deploy from S3: %w", err)
		}
	}
	if reg != nil {
		if err := imageDeploys(c, srv.addr, regHost, digests, cfg, res); err != nil {
			return nil, fmt.Errorf("deploy from images: %w", err)
		}
	}
	stopped = true
	if res.stopErr = srv.stop(); res.stopErr != nil {
		logf("deploy lambdahost exit: %v (log: %s)", res.stopErr, filepath.Join(dir, "lambdahost.log"))
	}
	return res, nil
}

func countKeys(ds []*s3Deploy) int {
	n := 0
	for _, d := range ds {
		n += len(d.keys)
	}
	return n
}

// stopLogged stops p, logging an unclean exit. Dying of the SIGTERM is
// clean enough for the gateway and the registry (docker-registry does).
func stopLogged(p *process) {
	err := p.stop()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return
		}
	}
	if err != nil {
		logf("%s exit: %v (log: %s)", p.name, err, p.log.Name())
	}
}

// startVersityGW runs versitygw with the posix backend under dir, as
// internal/testserver.StartS3 does.
func startVersityGW(bin, dir string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	root, versions := filepath.Join(dir, "s3", "root"), filepath.Join(dir, "s3", "versions")
	for _, d := range []string{root, versions} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	logf("starting versitygw (%s)", bin)
	return startHTTPServer("versitygw",
		[]string{bin, "--port", addr, "--quiet", "posix", "--versioning-dir", versions, root},
		[]string{"ROOT_ACCESS_KEY=" + gwAccessKey, "ROOT_SECRET_KEY=" + gwSecretKey},
		filepath.Join(dir, "versitygw.log"), addr, "http://"+addr+"/")
}

// startRegistry runs the distribution registry with filesystem storage
// under dir, as internal/testserver.StartRegistry does.
func startRegistry(bin, dir string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	config := filepath.Join(dir, "registry.yml")
	yml := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "registry"), addr)
	if err := os.WriteFile(config, []byte(yml), 0o644); err != nil {
		return nil, err
	}
	logf("starting docker-registry (%s)", bin)
	return startHTTPServer("docker-registry", []string{bin, "serve", config}, nil,
		filepath.Join(dir, "docker-registry.log"), addr, "http://"+addr+"/v2/")
}

// putObjects creates the bucket and puts a distinct zip of the right size
// at every key, two at a time. Zips are made as they are put, so they are
// never all in memory.
func putObjects(c *awss3.Client, ds []*s3Deploy) error {
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(deployBucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", deployBucket, err)
	}
	type job struct {
		size int
		key  string
		seed [32]byte
	}
	jobs := make(chan job)
	const workers = 2
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if errs[w] != nil {
					continue
				}
				z, err := makeZip(j.size, rand.NewChaCha8(j.seed))
				if err != nil {
					errs[w] = err
					continue
				}
				if _, err := c.PutObject(ctx, &awss3.PutObjectInput{
					Bucket: aws.String(deployBucket), Key: aws.String(j.key),
					Body: bytes.NewReader(z), ContentLength: aws.Int64(int64(len(z))),
				}); err != nil {
					errs[w] = fmt.Errorf("put %s: %w", j.key, err)
				}
			}
		}()
	}
	for i, d := range ds {
		for k, key := range d.keys {
			jobs <- job{size: d.spec.bytes, key: key, seed: [32]byte{0xd0, byte(i), byte(k), byte(k >> 8)}}
		}
	}
	close(jobs)
	wg.Wait()
	return errors.Join(errs...)
}

// s3Deploys creates one function per size and replays the updates that
// point it at the size's objects, one after another, each waiting for
// Successful; then it measures the floor on the same objects.
func s3Deploys(c *client, host string, s3c *awss3.Client, dir string, cfg *config, res *deployResult) error {
	tiny, err := makeZip(0, rand.NewChaCha8([32]byte{}))
	if err != nil {
		return err
	}
	floorDir := filepath.Join(dir, "floor")
	if err := os.MkdirAll(floorDir, 0o755); err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	for _, d := range res.s3 {
		fn := "deploy-s3-" + d.spec.label
		if err := createFunction(c, host, fn, tiny); err != nil {
			return err
		}
		if err := waitSuccessful(c, host, fn, 30*time.Second); err != nil {
			return err
		}
		var reqs []rawRequest
		for _, k := range d.keys {
			b := newBody(fmt.Appendf(nil, `{"S3Bucket": %q, "S3Key": %q}`, deployBucket, k))
			r, err := sign(host, http.MethodPut, "/2015-03-31/functions/"+fn+"/code", "", b, "application/json", "lambda")
			if err != nil {
				return err
			}
			reqs = append(reqs, r)
		}
		get, err := sign(host, http.MethodGet, "/2015-03-31/functions/"+fn, "", emptyBody, "", "lambda")
		if err != nil {
			return err
		}
		logf("deploy from S3 %s: %d warmup + %d timed", d.spec.label, cfg.warmup, d.spec.n)
		if d.res, err = replayUpdates(c, reqs, cfg.warmup, &get); err != nil {
			return fmt.Errorf("%s: %w", d.spec.label, err)
		}
		logf("S3 floor %s", d.spec.label)
		for i, k := range d.keys {
			t, err := s3FloorOnce(s3c, k, floorDir, buf)
			if err != nil {
				return err
			}
			if i >= cfg.warmup {
				d.floor = append(d.floor, t)
			}
		}
	}
	return nil
}

// s3FloorOnce does the least work any server must do to deploy code from
// S3 durably: GetObject with aws-sdk-go-v2 (lambdahost's client), SHA-256
// the body while writing it to a new file in dir, fsync.
func s3FloorOnce(c *awss3.Client, key, dir string, buf []byte) (time.Duration, error) {
	t0 := time.Now()
	out, err := c.GetObject(context.Background(), &awss3.GetObjectInput{Bucket: aws.String(deployBucket), Key: aws.String(key)})
	if err != nil {
		return 0, fmt.Errorf("floor: get %s: %w", key, err)
	}
	defer out.Body.Close()
	if err := storeHashed(dir, out.Body, buf); err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return time.Since(t0), nil
}

// pushImages pushes count distinct images of imageLayers random layers to
// the registry at host, two at a time, and returns their manifest digests
// and the compressed size of one image's layers.
func pushImages(host string, count int) ([]v1.Hash, int64, error) {
	digests := make([]v1.Hash, count)
	sizes := make([]int64, count)
	errs := make([]error, count)
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			digests[i], sizes[i], errs[i] = pushImage(host, i)
		}()
	}
	wg.Wait()
	return digests, sizes[0], errors.Join(errs...)
}

// pushImage pushes image i: imageLayers layers of imageLayerBytes seeded
// random bytes each, linux/amd64, tagged img-NN.
func pushImage(host string, i int) (v1.Hash, int64, error) {
	rng := rand.NewChaCha8([32]byte{0xe0, byte(i)})
	var (
		layers []v1.Layer
		size   int64
	)
	for l := range imageLayers {
		layer, err := randomLayer(fmt.Sprintf("opt/bench/layer-%d.bin", l), imageLayerBytes, rng)
		if err != nil {
			return v1.Hash{}, 0, err
		}
		n, err := layer.Size()
		if err != nil {
			return v1.Hash{}, 0, err
		}
		size += n
		layers = append(layers, layer)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/var/task/bootstrap"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return v1.Hash{}, 0, err
	}
	ref, err := name.ParseReference(fmt.Sprintf("%s/%s:img-%02d", host, imageRepo, i), name.Insecure)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	if err := remote.Write(ref, img); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	return d, size, err
}

// randomLayer is a layer holding one file of size random bytes at path
// (and its directories), gzipped at BestSpeed: random bytes do not
// compress, and a faster level only makes the push quicker.
func randomLayer(path string, size int, rng *rand.ChaCha8) (v1.Layer, error) {
	data := make([]byte, size)
	rng.Read(data)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, d := range []string{"opt/", "opt/bench/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: path, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size), ModTime: epoch}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	tarBytes := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed))
}

// imageDeploys creates an Image function from image 0, deploys image 1
// (untimed), then times updates to the images never deployed (cold: the
// server pulls and unpacks while the update is InProgress; the first is an
// untimed warmup), then updates alternating between images 0 and 1 (warm:
// already unpacked). Images are named by digest.
func imageDeploys(c *client, host, regHost string, digests []v1.Hash, cfg *config, res *deployResult) error {
	uri := func(i int) string { return regHost + "/" + imageRepo + "@" + digests[i].String() }
	const fn = "deploy-image"
	create := fmt.Appendf(nil, `{"FunctionName": %q, "Role": %q, "PackageType": "Image", "Code": {"ImageUri": %q}}`, fn, role, uri(0))
	if err := postCreate(c, host, fn, create); err != nil {
		return err
	}
	if err := waitSuccessful(c, host, fn, time.Minute); err != nil {
		return err
	}
	get, err := sign(host, http.MethodGet, "/2015-03-31/functions/"+fn, "", emptyBody, "", "lambda")
	if err != nil {
		return err
	}
	updates := func(images []int) ([]rawRequest, error) {
		var reqs []rawRequest
		for _, i := range images {
			b := newBody(fmt.Appendf(nil, `{"ImageUri": %q}`, uri(i)))
			r, err := sign(host, http.MethodPut, "/2015-03-31/functions/"+fn+"/code", "", b, "application/json", "lambda")
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, r)
		}
		return reqs, nil
	}
	var warm, cold, alternate []int
	for i := 1; i < imageWarm; i++ {
		warm = append(warm, i)
	}
	for i := imageWarm; i < len(digests); i++ {
		cold = append(cold, i)
	}
	for i := range cfg.deployImageN {
		alternate = append(alternate, i%imageWarm)
	}

	reqs, err := updates(warm)
	if err != nil {
		return err
	}
	logf("deploy images: %d untimed", len(reqs))
	if r, err := replayUpdates(c, reqs, 0, &get); err != nil {
		return err
	} else if r.errors > 0 {
		return errors.New("an untimed image update failed")
	}

	if reqs, err = updates(cold); err != nil {
		return err
	}
	logf("deploy images cold: 1 warmup + %d timed", len(reqs)-1)
	if res.cold, err = replayUpdates(c, reqs, 1, &get); err != nil {
		return fmt.Errorf("cold: %w", err)
	}

	if reqs, err = updates(alternate); err != nil {
		return err
	}
	logf("deploy images warm: %d timed", len(reqs))
	if res.warm, err = replayUpdates(c, reqs, 0, &get); err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	return nil
}

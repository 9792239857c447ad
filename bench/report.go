package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Targets.
const (
	targetFloorRatio = 1.5  // ours p50 / floor p50, at most
	targetMotoRatio  = 4.0  // moto p50 / ours p50, at least
	targetIdleRSS    = 40e6 // bytes, at most
	// targetInFlight is the most memory an in-flight update may hold, as a
	// fraction of its body: a server that buffers whole bodies needs at
	// least 1.
	targetInFlight = 0.5
)

// table turns the results into rows.
func table(cfg *config, data []*sizeData, list *listResult, mem *memResult, moto *motoResult) []row {
	var rows []row
	motoCell := func(d *sizeData, f func(updateResult) string) string {
		if moto == nil {
			return "—"
		}
		return f(d.moto)
	}
	for _, d := range data {
		l := d.spec.label
		o50, o99 := percentile(d.our.latency, .5), percentile(d.our.latency, .99)
		f50, f99 := percentile(d.floor, .5), percentile(d.floor, .99)
		m50 := percentile(d.moto.latency, .5)
		r := float64(o50) / float64(f50)
		rows = append(rows, row{
			metric: "UpdateFunctionCode " + l + " p50",
			ours:   fmtDur(o50), moto: motoCell(d, func(u updateResult) string { return fmtDur(m50) }), floor: fmtDur(f50),
			ratio: fmtRatio(r) + " of floor", target: fmt.Sprintf("≤ %.1f× floor", targetFloorRatio), pass: passMark(r <= targetFloorRatio),
		})
		if moto != nil {
			mr := float64(m50) / float64(o50)
			// The floor's own moto ratio is the best any durable server can reach.
			rows = append(rows, row{
				metric: "UpdateFunctionCode " + l + " p50 vs moto",
				ours:   fmtDur(o50), moto: fmtDur(m50), floor: fmtDur(f50),
				ratio:  fmtRatio(mr) + " moto/ours (moto/floor " + fmtRatio(float64(m50)/float64(f50)) + ")",
				target: fmt.Sprintf("≥ %.0f×", targetMotoRatio), pass: passMark(mr >= targetMotoRatio),
			})
		}
		rows = append(rows, row{
			metric: "UpdateFunctionCode " + l + " p99",
			ours:   fmtDur(o99), moto: motoCell(d, func(u updateResult) string { return fmtDur(percentile(u.latency, .99)) }), floor: fmtDur(f99),
			ratio: fmtRatio(float64(o99)/float64(f99)) + " of floor",
		})
		rows = append(rows, row{
			metric: "time to Successful " + l + " p50",
			ours:   fmtDur(percentile(d.our.settled, .5)), moto: motoCell(d, func(u updateResult) string { return fmtDur(percentile(u.settled, .5)) + " (sync)" }),
			floor: fmtDur(f50), ratio: fmtRatio(float64(percentile(d.our.settled, .5))/float64(f50)) + " of floor",
		})
		rows = append(rows, row{
			metric: "time to Successful " + l + " p99",
			ours:   fmtDur(percentile(d.our.settled, .99)), moto: motoCell(d, func(u updateResult) string { return fmtDur(percentile(u.settled, .99)) + " (sync)" }),
		})
		rows = append(rows, row{
			metric: "UpdateFunctionCode " + l + " errors (non-200)",
			ours:   fmt.Sprintf("%d / %d", d.our.errors, len(d.our.latency)),
			moto:   motoCell(d, func(u updateResult) string { return fmt.Sprintf("%d / %d", u.errors, len(u.latency)) }),
			target: "0", pass: passMark(d.our.errors == 0),
		})
	}

	rows = append(rows,
		row{
			metric: fmt.Sprintf("CreateFunction ×%d, tiny zip, %d connections: wall", list.created, cfg.createConc),
			ours:   fmtDur(list.createTime), ratio: fmt.Sprintf("%.0f/s", float64(list.created)/list.createTime.Seconds()),
		},
		row{metric: "CreateFunction (concurrent) p50", ours: fmtDur(percentile(list.createLat, .5))},
		row{metric: "CreateFunction (concurrent) p99", ours: fmtDur(percentile(list.createLat, .99))},
		row{metric: fmt.Sprintf("ListFunctions page p50 (MaxItems=50, %d fns)", list.total), ours: fmtDur(percentile(list.pages, .5))},
		row{metric: "ListFunctions page p99", ours: fmtDur(percentile(list.pages, .99))},
		row{metric: fmt.Sprintf("ListFunctions full walk (%d pages) p50", list.pagesPerRun), ours: fmtDur(percentile(list.walks, .5))},
		row{metric: fmt.Sprintf("ListFunctions full walk (%d pages) max", list.pagesPerRun), ours: fmtDur(slices.Max(list.walks))},
	)

	motoIdle := "—"
	if moto != nil {
		motoIdle = fmtBytes(moto.idleRSS)
	}
	bodySize := int64(len(updateCodeBody(make([]byte, cfg.memSize))))
	perIdle := (mem.peak - mem.idle) / int64(mem.concurrent)
	perBefore := (mem.peak - mem.before) / int64(mem.concurrent)
	rows = append(rows,
		row{metric: "idle RSS after start", ours: fmtBytes(mem.idle), moto: motoIdle, target: "≤ 40 MB", pass: passMark(mem.idle <= targetIdleRSS)},
		row{metric: fmt.Sprintf("peak RSS, %d concurrent %s updates", mem.concurrent, fmtBytes(int64(cfg.memSize))), ours: fmtBytes(mem.peak)},
		row{
			metric: fmt.Sprintf("(peak − idle) / %d per in-flight update", mem.concurrent), ours: fmtBytes(perIdle),
			ratio:  fmt.Sprintf("%.0f%% of body", 100*float64(perIdle)/float64(bodySize)),
			target: fmt.Sprintf("< %.0f%% of %s body", 100*targetInFlight, fmtBytes(bodySize)), pass: passMark(float64(perIdle) < targetInFlight*float64(bodySize)),
		},
		row{
			metric: fmt.Sprintf("(peak − RSS before burst) / %d", mem.concurrent), ours: fmtBytes(perBefore),
			ratio: fmt.Sprintf("%.0f%% of body", 100*float64(perBefore)/float64(bodySize)),
		},
	)
	return rows
}

// notes explains the table.
func notes(w io.Writer, cfg *config, data []*sizeData, list *listResult, mem *memResult, moto *motoResult, stopErr error) {
	fmt.Fprintln(w, "Notes:")
	fmt.Fprintf(w, "- Update latency: request write → response fully read, one keep-alive connection, sequential, pre-signed requests replayed as raw bytes; %d untimed warmup updates per size. Every update carries a distinct zip (no blob dedup).\n", cfg.warmup)
	fmt.Fprintf(w, "- Time to Successful: update write → first GetFunction answer (polled every %s) showing LastUpdateStatus Successful.", pollInterval)
	if moto != nil {
		fmt.Fprint(w, " moto answers synchronously, so its time to Successful is its update latency.")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "- Floor: in-process, same body from a bytes.Reader: streaming base64 decode of ZipFile, SHA-256, write to a new file on the data dir's file system, fsync.")
	for _, d := range data {
		fmt.Fprintf(w, "- %s: body %s, n=%d, ours %s total (%d redials, statuses %v)", d.spec.label, fmtBytes(int64(len(d.bodies[0].b))), len(d.our.latency), d.our.elapsed.Round(time.Millisecond), d.our.redials, d.our.status)
		if moto != nil {
			fmt.Fprintf(w, "; moto n=%d, %s total (%d redials, statuses %v)", len(d.moto.latency), d.moto.elapsed.Round(time.Millisecond), d.moto.redials, d.moto.status)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "- ListFunctions: %d walks timed after one warmup walk; the last walk listed %d of %d functions. Walk time is the sum of page latencies (signing and JSON parsing excluded).\n", len(list.walks), list.seen, list.total)
	if list.seen != list.total {
		fmt.Fprintf(w, "  **The walk did not list every function.**\n")
	}
	fmt.Fprintf(w, "- Memory: RSS from /proc/PID/status, sampled every 1 ms during %d rounds of %d concurrent updates (p50 latency %s, %d non-200)", cfg.memRounds, mem.concurrent, fmtDur(percentile(mem.latency, .5)), mem.errors)
	if mem.hwmReset {
		fmt.Fprint(w, "; VmHWM was reset before the burst and read after it")
	}
	fmt.Fprintf(w, ". RSS before the burst: %s.\n", fmtBytes(mem.before))
	if moto != nil && moto.roleNeeded {
		fmt.Fprintln(w, "- moto refused CreateFunction until the role existed in its IAM; the bench created it with a signed IAM CreateRole.")
	}
	if stopErr != nil {
		fmt.Fprintf(w, "- **lambdahost did not exit cleanly on SIGTERM: %v**\n", stopErr)
	} else {
		fmt.Fprintln(w, "- lambdahost exited cleanly on SIGTERM.")
	}
}

// imageLabel names the deploy test's images by their size.
func imageLabel() string {
	return fmt.Sprintf("image ~%dMB", imageLayers*imageLayerBytes/1_000_000)
}

// deployRows turns the deploy test's results into rows.
func deployRows(dep *deployResult) []row {
	var rows []row
	if dep.s3Skip != "" {
		rows = append(rows, row{metric: "deploy from S3", ours: "skipped: no versitygw (see notes)"})
	}
	for _, d := range dep.s3 {
		l := "deploy from S3 " + d.spec.label
		o50, o99 := percentile(d.res.latency, .5), percentile(d.res.latency, .99)
		s50, s99 := percentile(d.res.settled, .5), percentile(d.res.settled, .99)
		f50, f99 := percentile(d.floor, .5), percentile(d.floor, .99)
		rows = append(rows,
			row{metric: l + " p50", ours: fmtDur(o50), floor: fmtDur(f50), ratio: fmtRatio(float64(o50)/float64(f50)) + " of floor"},
			row{metric: l + " p99", ours: fmtDur(o99), floor: fmtDur(f99), ratio: fmtRatio(float64(o99)/float64(f99)) + " of floor"},
			row{metric: l + " time to Successful p50", ours: fmtDur(s50), floor: fmtDur(f50), ratio: fmtRatio(float64(s50)/float64(f50)) + " of floor"},
			row{metric: l + " time to Successful p99", ours: fmtDur(s99)},
			row{
				metric: l + " errors (non-200)", ours: fmt.Sprintf("%d / %d", d.res.errors, len(d.res.latency)),
				target: "0", pass: passMark(d.res.errors == 0),
			},
		)
	}
	if dep.imageSkip != "" {
		return append(rows, row{metric: "deploy from image", ours: "skipped: no docker-registry (see notes)"})
	}
	if dep.cold.status == nil {
		return rows
	}
	img := imageLabel()
	cold50, warm50 := percentile(dep.cold.settled, .5), percentile(dep.warm.settled, .5)
	rows = append(rows,
		row{metric: img + " cold UpdateFunctionCode p50", ours: fmtDur(percentile(dep.cold.latency, .5))},
		row{metric: img + " cold UpdateFunctionCode p99", ours: fmtDur(percentile(dep.cold.latency, .99))},
		row{metric: img + " cold time to Successful p50", ours: fmtDur(cold50), ratio: fmtRatio(float64(cold50)/float64(warm50)) + " of warm"},
		row{metric: img + " cold time to Successful p99", ours: fmtDur(percentile(dep.cold.settled, .99))},
		row{metric: img + " warm UpdateFunctionCode p50", ours: fmtDur(percentile(dep.warm.latency, .5))},
		row{metric: img + " warm UpdateFunctionCode p99", ours: fmtDur(percentile(dep.warm.latency, .99))},
		row{metric: img + " warm time to Successful p50", ours: fmtDur(warm50)},
		row{metric: img + " warm time to Successful p99", ours: fmtDur(percentile(dep.warm.settled, .99))},
		row{
			metric: img + " errors (non-200)",
			ours:   fmt.Sprintf("%d / %d", dep.cold.errors+dep.warm.errors, len(dep.cold.latency)+len(dep.warm.latency)),
			target: "0", pass: passMark(dep.cold.errors+dep.warm.errors == 0),
		},
	)
	return rows
}

// deployNotes explains the deploy rows.
func deployNotes(w io.Writer, cfg *config, dep *deployResult, tmp string) {
	fmt.Fprintf(w, "- Deploys: measured on %s; temporary directory (data dirs, gateway, registry, floor) on %s.\n", machine(), fileSystem(tmp))
	fmt.Fprintln(w, "  A lambdahost of their own (own data dir), started after the other tests, with --s3-endpoint (the gateway), --s3-path-style true, and the gateway's root keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_REGION=us-east-1. Updates are pre-signed and replayed on one keep-alive connection, each waiting for Successful (GetFunction polled as above) before the next.")
	if dep.s3Skip != "" {
		fmt.Fprintf(w, "- Deploy from S3 skipped: %s.\n", dep.s3Skip)
	} else {
		fmt.Fprintf(w, "- Deploy from S3: versitygw (posix backend) holding %d objects, each a distinct zip of exactly its size (stored random bytes), put with aws-sdk-go-v2 before the timing (%s). ", countKeys(dep.s3), dep.s3Upload.Round(time.Millisecond))
		fmt.Fprintf(w, "UpdateFunctionCode {\"S3Bucket\", \"S3Key\"}, %d untimed warmup updates per size. lambdahost fetches the object while handling the request, so its latency includes GetObject, hashing and the durable store. ", cfg.warmup)
		fmt.Fprintln(w, "Floor: in-process aws-sdk-go-v2 GetObject of the same objects from the same gateway, SHA-256 while writing a new file, fsync.")
		for _, d := range dep.s3 {
			fmt.Fprintf(w, "  - %s: n=%d, %s total (%d redials, statuses %v)\n", d.spec.label, len(d.res.latency), d.res.elapsed.Round(time.Millisecond), d.res.redials, d.res.status)
		}
	}
	if dep.imageSkip != "" {
		fmt.Fprintf(w, "- Deploy from images skipped: %s.\n", dep.imageSkip)
	} else if dep.cold.status != nil {
		fmt.Fprintf(w, "- Deploy from images: docker-registry (%s); %d distinct linux/amd64 images of %d layers × %s random bytes (%s of gzipped layers each), pushed with go-containerregistry before the timing (%s). ",
			dep.registry, imageWarm+1+dep.imageN, imageLayers, fmtBytes(imageLayerBytes), fmtBytes(dep.imageBytes), dep.imagePush.Round(time.Millisecond))
		fmt.Fprintf(w, "ImageUri is repo@digest. The function is created from one image and updated (untimed) to a second. ")
		fmt.Fprintf(w, "Cold: updates to images never deployed (1 untimed warmup, n=%d): UpdateFunctionCode resolves the manifest, then lambdahost pulls and unpacks the layers while LastUpdateStatus is InProgress; %s total, statuses %v. ", len(dep.cold.latency), dep.cold.elapsed.Round(time.Millisecond), dep.cold.status)
		fmt.Fprintf(w, "Warm: updates alternating between the first two images, already unpacked (n=%d); %s total, statuses %v.\n", len(dep.warm.latency), dep.warm.elapsed.Round(time.Millisecond), dep.warm.status)
	}
	if dep.s3Skip != "" && dep.imageSkip != "" {
		return
	}
	if dep.stopErr != nil {
		fmt.Fprintf(w, "- **The deploy lambdahost did not exit cleanly on SIGTERM: %v**\n", dep.stopErr)
	} else {
		fmt.Fprintln(w, "- The deploy lambdahost exited cleanly on SIGTERM.")
	}
}

// fileSystem describes the file system holding dir, from /proc/self/mounts:
// its type and device.
func fileSystem(dir string) string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "an unknown file system"
	}
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	best, desc := "", "an unknown file system"
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, desc = mp, fmt.Sprintf("%s (%s, %s mounted at %s)", dir, f[2], f[0], mp)
		}
	}
	return desc
}

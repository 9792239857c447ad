package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long Watch waits after a change for more before
// it deploys: an editor's save is often several writes and renames.
const DefaultDebounce = 100 * time.Millisecond

// Watcher deploys a directory, then deploys it again on every change.
type Watcher struct {
	// Dir is the directory zipped.
	Dir string
	// Deploy deploys a package (Deployer.Deploy).
	Deploy func(ctx context.Context, pkg *Package) (*Result, error)
	// Function names the function in what is printed.
	Function string
	// Debounce is the quiet time after a change before deploying. If
	// zero, DefaultDebounce.
	Debounce time.Duration
	// Out receives a line per deployment, Err its failures.
	Out, Err io.Writer
	// Deployed, if set, is called after each deployment attempt with the
	// time of the first change it deploys (zero for the first
	// deployment), its result and error.
	Deployed func(changed time.Time, res *Result, err error)
}

// Run deploys w.Dir now and after every change until ctx is done. A
// failed deployment is reported and the watch goes on. Changes to
// ignored files (see Ignored) are not changes. A save that leaves the
// package as it was (the same CodeSha256) deploys nothing.
func (w *Watcher) Run(ctx context.Context) error {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.Dir, err)
	}
	defer fsw.Close()
	if err := w.addTree(fsw, w.Dir); err != nil {
		return err
	}
	debounce := w.Debounce
	if debounce == 0 {
		debounce = DefaultDebounce
	}

	// Changes are noted as they come, with the time of the first one not
	// yet deployed, while a deployment runs.
	var (
		mu    sync.Mutex
		since time.Time
		wake  = make(chan struct{}, 1)
	)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case err, ok := <-fsw.Errors:
				if !ok {
					return
				}
				fmt.Fprintf(w.Err, "watch %s: %v\n", w.Dir, err)
			case ev, ok := <-fsw.Events:
				if !ok {
					return
				}
				if !w.relevant(fsw, ev) {
					continue
				}
				mu.Lock()
				if since.IsZero() {
					since = time.Now()
				}
				mu.Unlock()
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
	}()

	fmt.Fprintf(w.Out, "watching %s: %s is deployed again on every change (Ctrl-C stops)\n", w.Dir, w.Function)
	last := w.deploy(ctx, time.Time{}, "")
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			timer.Reset(debounce)
		case <-timer.C:
			mu.Lock()
			changed := since
			since = time.Time{}
			mu.Unlock()
			if changed.IsZero() {
				continue
			}
			last = w.deploy(ctx, changed, last)
		}
	}
}

// deploy zips and deploys the directory, unless its package is last
// (the CodeSha256 deployed last), and returns the CodeSha256 deployed.
func (w *Watcher) deploy(ctx context.Context, changed time.Time, last string) string {
	pkg, err := Zip(w.Dir)
	if err != nil {
		fmt.Fprintf(w.Err, "not deployed: %v\n", err)
		w.report(changed, nil, err)
		return last
	}
	if pkg.SHA256() == last {
		fmt.Fprintf(w.Out, "unchanged: CodeSha256 %s is deployed already\n", last)
		w.report(changed, nil, nil)
		return last
	}
	res, err := w.Deploy(ctx, pkg)
	if err != nil {
		if ctx.Err() != nil {
			return last
		}
		var ue *UpdateError
		if errors.As(err, &ue) {
			fmt.Fprintf(w.Err, "deploy of %s failed: %s: %s (still watching)\n", w.Function, ue.Code, ue.Reason)
		} else {
			fmt.Fprintf(w.Err, "deploy of %s failed: %v (still watching)\n", w.Function, err)
		}
		w.report(changed, res, err)
		// A failed update leaves $LATEST's code unknown to us: the same
		// package deploys again on the next change.
		return ""
	}
	line := res.Line(w.Function)
	if !changed.IsZero() {
		line += fmt.Sprintf("; save → Successful %s", ms(time.Since(changed)))
	}
	fmt.Fprintln(w.Out, line)
	w.report(changed, res, nil)
	return res.CodeSHA256
}

func (w *Watcher) report(changed time.Time, res *Result, err error) {
	if w.Deployed != nil {
		w.Deployed(changed, res, err)
	}
}

// relevant reports whether ev changes the package, and watches a new
// directory.
func (w *Watcher) relevant(fsw *fsnotify.Watcher, ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		// Only the execute bits count, which Zip reads again anyway;
		// editors and indexers touch modes and times often.
		info, err := os.Stat(ev.Name)
		return err == nil && info.Mode().IsRegular()
	}
	rel, err := filepath.Rel(w.Dir, ev.Name)
	if err != nil {
		return false
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for _, p := range parts[:len(parts)-1] {
		if Ignored(p, true) {
			return false
		}
	}
	info, err := os.Lstat(ev.Name)
	isDir := err == nil && info.IsDir()
	if Ignored(parts[len(parts)-1], isDir) {
		return false
	}
	if isDir && ev.Has(fsnotify.Create) {
		if err := w.addTree(fsw, ev.Name); err != nil {
			fmt.Fprintf(w.Err, "watch %s: %v\n", ev.Name, err)
		}
	}
	return true
}

// addTree watches dir and every directory under it that is not ignored.
func (w *Watcher) addTree(fsw *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != dir && Ignored(d.Name(), true) {
			return filepath.SkipDir
		}
		if err := fsw.Add(path); err != nil {
			return fmt.Errorf("watch %s: %w", path, err)
		}
		return nil
	})
}

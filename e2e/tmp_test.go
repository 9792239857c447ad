//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestEphemeralStorage checks /tmp through the binary: it is disk of
// EphemeralStorage MB apart from MemorySize, full is ENOSPC inside the
// function, it is private to an environment and kept across its warm
// invocations, a larger EphemeralStorage applies to new environments, and
// nothing of it is left once its environment ends, nor after lambdahost is
// killed with SIGKILL and started again.
func TestEphemeralStorage(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithArgs("--sandbox", "namespaces"))
	scratch := filepath.Join(srv.DataDir, "scratch")

	t.Run("disk", func(t *testing.T) {
		forEachDriver(t, srv, []string{SDKDriver, Boto3Driver}, func(t *testing.T, d Driver) {
			name := "tmp-" + d.Name()
			createFunction(t, d, name, python312Fn, "tmp", Params{"MemorySize": 256, "Timeout": 300, "EphemeralStorage": Params{"Size": 512}})

			// 400 MB in a 512 MB /tmp, with 256 MB of memory.
			r := invoke(t, d, name, Params{"tmp": Params{"statvfs": true, "write": Params{"path": "/tmp/big", "mb": 400}}}, Params{"LogType": "Tail"})
			got := tmpReply(t, r)
			if got["available_mb"] != 512.0 {
				requireTool(t, fmt.Sprintf("/tmp has %v MB available, not 512: it is not a file system of its own here (loop devices, mke2fs from e2fsprogs)", got["available_mb"]))
			}
			if got["written_mb"] != 400.0 || got["error"] != nil {
				t.Errorf("writing 400 MB: wrote %v MB, error %v; want 400 MB, no error", got["written_mb"], got["error"])
			}
			// The page cache of /tmp is not what the function uses.
			if used := maxMemoryUsed(t, r.Log); used >= 128 {
				t.Errorf("Max Memory Used: %d MB after writing 400 MB to /tmp, want what the runtime uses (under 128 MB)", used)
			}

			// The next, warm, invocation finds the file.
			if got := tmpReply(t, invoke(t, d, name, Params{"tmp": Params{"list": true}})); !slices.Equal(anyStrings(got["list"]), []string{"big"}) {
				t.Errorf("warm invocation lists /tmp as %v, want [big]", got["list"])
			}

			// 600 MB do not fit in 512: ENOSPC, which the function handles.
			got = tmpReply(t, invoke(t, d, name, Params{"tmp": Params{"remove": "/tmp/big", "write": Params{"path": "/tmp/fill", "mb": 600}}}))
			if w, _ := got["written_mb"].(float64); got["error"] != "ENOSPC" || w < 500 || w > 512 {
				t.Errorf("writing 600 MB: wrote %v MB, error %v; want 500 to 512 MB, then ENOSPC", got["written_mb"], got["error"])
			}
			if got := tmpReply(t, invoke(t, d, name, Params{"tmp": Params{"remove": "/tmp/fill", "list": true}})); len(anyStrings(got["list"])) != 0 {
				t.Errorf("after ENOSPC and a removal, /tmp lists %v, want nothing", got["list"])
			}
		})
	})

	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")

	t.Run("10240-mb-sparse", func(t *testing.T) {
		name := "tmp-large"
		createFunction(t, d, name, python312Fn, "tmp", Params{"MemorySize": 128, "Timeout": 120, "EphemeralStorage": Params{"Size": 10240}})
		got := tmpReply(t, invoke(t, d, name, Params{"tmp": Params{"statvfs": true, "sparse": Params{"path": "/tmp/sparse", "mb": 10000}}}))
		if got["available_mb"] != 10240.0 || got["sparse_mb"] != 10000.0 {
			t.Errorf("/tmp of 10240 MB: available %v MB, sparse file of %v MB; want 10240 and 10000", got["available_mb"], got["sparse_mb"])
		}
	})

	t.Run("private-to-an-environment", func(t *testing.T) {
		name := "tmp-private"
		createFunction(t, d, name, python312Fn, "tmp", Params{"Timeout": 120})
		// Two invocations at once run in two environments; each writes
		// a file named after its invocation, waits for the other to
		// have written its own, and lists /tmp.
		lists := make([][]string, 2)
		var wg sync.WaitGroup
		for i := range lists {
			wg.Go(func() {
				marker := "from-" + strconv.Itoa(i)
				got := tmpReply(t, invoke(t, d, name, Params{"tmp": Params{"write": Params{"path": "/tmp/" + marker, "mb": 1}, "wait_ms": 3000, "list": true}}))
				lists[i] = anyStrings(got["list"])
			})
		}
		wg.Wait()
		for i, l := range lists {
			if want := []string{"from-" + strconv.Itoa(i)}; !slices.Equal(l, want) {
				t.Errorf("invocation %d lists /tmp as %v, want %v", i, l, want)
			}
		}
	})

	t.Run("larger-in-new-environments", func(t *testing.T) {
		name := "tmp-" + SDKDriver
		d.Call(t, "UpdateFunctionConfiguration", Params{"FunctionName": name, "EphemeralStorage": Params{"Size": 1024}}).OK(t)
		mustWait(t, d, "FunctionUpdatedV2", Params{"FunctionName": name})
		got := tmpReply(t, invoke(t, d, name, Params{"tmp": Params{"statvfs": true, "list": true}}))
		if got["available_mb"] != 1024.0 || len(anyStrings(got["list"])) != 0 {
			t.Errorf("after raising EphemeralStorage to 1024: available %v MB, /tmp lists %v; want 1024 MB of an empty /tmp", got["available_mb"], got["list"])
		}
		if got := d.Call(t, "GetFunctionConfiguration", Params{"FunctionName": name}).OK(t).Int("EphemeralStorage.Size"); got != 1024 {
			t.Errorf("EphemeralStorage.Size=%d, want 1024", got)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("emptied-when-environments-end", func(t *testing.T) {
		// Each function wrote hundreds of MB to its /tmp, which the
		// file under it holds on the host; empty file systems hold a
		// few hundred KB. lambdahost keeps those files open, unnamed.
		const held = 64 << 20
		pid := srv.proc.cmd.Process.Pid
		if len(filesHolding(t, pid, scratch, held)) == 0 {
			t.Fatalf("no file of %s holds %d bytes while the /tmp written to are in use", scratch, held)
		}
		for _, name := range []string{"tmp-" + SDKDriver, "tmp-" + Boto3Driver} {
			d.Call(t, "DeleteFunction", Params{"FunctionName": name}).OK(t)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			files := filesHolding(t, pid, scratch, held)
			if len(files) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("files of %s still hold %v bytes 2 minutes after their environments ended", scratch, files)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("nothing-left-after-sigkill", func(t *testing.T) {
		name := "tmp-crash"
		createFunction(t, d, name, python312Fn, "tmp", Params{"MemorySize": 256, "Timeout": 300})
		if got := tmpReply(t, invoke(t, d, name, Params{"tmp": Params{"write": Params{"path": "/tmp/big", "mb": 300}}})); got["written_mb"] != 300.0 {
			t.Fatalf("wrote %v MB, want 300", got["written_mb"])
		}
		srv.Kill()
		// The environments die with lambdahost; the kernel then frees
		// their file systems, the spare ones and the files under them.
		waitLoopDevices(t, scratch)
		if left := leftIn(t, scratch); len(left) != 0 {
			t.Errorf("%s holds %q after SIGKILL, want nothing", scratch, left)
		}
		srv.Restart()
		d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
		if got := tmpReply(t, invoke(t, d, name, Params{"tmp": Params{"list": true}})); len(anyStrings(got["list"])) != 0 {
			t.Errorf("after a restart, /tmp lists %v, want nothing", got["list"])
		}
		if left := leftIn(t, scratch); len(left) != 0 {
			t.Errorf("%s holds %q after the restart, want nothing", scratch, left)
		}
	})
}

// tmpReply returns the "tmp" member of a successful invocation's reply.
func tmpReply(t testing.TB, r *Result) map[string]any {
	t.Helper()
	reply := wantVersion(t, r, "tmp")
	got, _ := reply["tmp"].(map[string]any)
	if got == nil {
		t.Fatalf("%s %s: reply without tmp: %s", r.Driver, r.Op, r.Payload)
	}
	return got
}

// anyStrings converts a JSON array of strings.
func anyStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

var reMaxMemory = regexp.MustCompile(`Max Memory Used: (\d+) MB`)

// maxMemoryUsed reads Max Memory Used from the REPORT line of log.
func maxMemoryUsed(t testing.TB, log string) int {
	t.Helper()
	m := reMaxMemory.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no Max Memory Used in the log:\n%s", log)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// filesHolding returns the files of dir that process pid has open, with
// no name left, and that hold more than held bytes on the host, with what
// they hold.
func filesHolding(t testing.TB, pid int, dir string, held int64) map[string]int64 {
	t.Helper()
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]int64)
	for _, fd := range fds {
		target, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(target, dir+"/") {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(fd, &st); err != nil {
			continue // closed meanwhile
		}
		if st.Blocks*512 > held {
			files[target] = st.Blocks * 512
		}
	}
	return files
}

// loopDevicesIn returns the loop devices over a file of dir.
func loopDevicesIn(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		t.Fatal(err)
	}
	var devs []string
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err == nil && strings.HasPrefix(string(b), dir+"/") {
			devs = append(devs, strings.Split(n, "/")[3])
		}
	}
	return devs
}

// waitLoopDevices waits until no loop device is over a file of dir: the
// kernel detaches them once their file system is unmounted,
// asynchronously.
func waitLoopDevices(t testing.TB, dir string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		devs := loopDevicesIn(t, dir)
		if len(devs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("loop devices %v over files of %s are still in use after 2 minutes", devs, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leftIn lists what is in dir, if it exists.
func leftIn(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupPrefix starts the name of every cgroup the package creates; the
// launcher's pid follows, so that New can remove the empty cgroups left by a
// launcher that died.
const cgroupPrefix = "lambdahost-"

// cgroups creates the cgroups of environments under one parent cgroup.
type cgroups struct {
	v2 bool
	// memory is the parent directory in the memory hierarchy (v1) or in
	// the unified hierarchy (v2).
	memory string
	// pids is the parent directory in the v1 pids hierarchy, the unified
	// one when v2 has the pids controller, or empty.
	pids string
	// memsw is true when v1 can limit memory plus swap.
	memsw bool
	// swap is true when v2 can limit swap.
	swap bool
}

// name reports the kind of cgroup in use, as MemoryLimit does.
func (c *cgroups) name() string {
	if c.v2 {
		return "cgroup2"
	}
	return "cgroup1"
}

// findCgroups locates parent, a cgroup path such as "/process_api/x" (this
// process's own cgroup if empty), in the mounted hierarchies and checks that
// a child with a memory limit can be created there.
func findCgroups(parent string) (*cgroups, error) {
	own, err := parseProcCgroup("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	mounts, err := parseCgroupMounts("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	dir := func(controller string) string { return cgroupDir(mounts, own, controller, parent) }

	var errs []error
	if d := dir(""); d != "" {
		c, err := unifiedCgroups(d)
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("cgroup v2 at %s: %w", d, err))
	}
	if d := dir("memory"); d != "" {
		c := &cgroups{memory: d}
		if err := c.check(); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v1 memory at %s: %w", d, err))
		} else {
			_, err := os.Stat(filepath.Join(d, "memory.memsw.limit_in_bytes"))
			c.memsw = err == nil
			// Without a usable pids hierarchy, RLIMIT_NPROC limits
			// processes instead.
			if c.pids = dir("pids"); c.pids != "" && c.check() != nil {
				c.pids = ""
			}
			c.removeStale()
			return c, nil
		}
	}
	if len(errs) == 0 {
		return nil, errors.New("no memory cgroup hierarchy")
	}
	return nil, errors.Join(errs...)
}

// cgroupDir returns the directory of cgroup parent, or of this process's
// cgroup if parent is empty, in the hierarchy of controller ("" for v2),
// or "" if that hierarchy is not mounted or the cgroup is outside its
// mount.
func cgroupDir(mounts map[string]cgroupMount, own map[string]string, controller, parent string) string {
	m, ok := mounts[controller]
	if !ok {
		return ""
	}
	p := parent
	if p == "" {
		if p, ok = own[controller]; !ok {
			return ""
		}
	}
	rel := p
	if m.root != "/" {
		r, ok := strings.CutPrefix(p, m.root)
		if !ok || (r != "" && r[0] != '/') {
			return ""
		}
		rel = r
	}
	return filepath.Join(m.mountpoint, rel)
}

// unifiedCgroups prepares the v2 cgroup d: it must offer the memory
// controller, which is then enabled for its children. The kernel refuses
// that while processes live in d itself (other than at the root), so a
// launcher on a v2 host needs Options.CgroupParent to name a delegated
// cgroup without processes, or runs in a namespace root.
func unifiedCgroups(d string) (*cgroups, error) {
	available, err := os.ReadFile(filepath.Join(d, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(string(available))
	if !slices.Contains(fields, "memory") {
		return nil, errors.New("no memory controller")
	}
	enabled, err := os.ReadFile(filepath.Join(d, "cgroup.subtree_control"))
	if err != nil {
		return nil, err
	}
	want := []string{"memory"}
	if slices.Contains(fields, "pids") {
		want = append(want, "pids")
	}
	for _, ctl := range want {
		if !slices.Contains(strings.Fields(string(enabled)), ctl) {
			if err := writeFile(filepath.Join(d, "cgroup.subtree_control"), "+"+ctl); err != nil {
				if ctl == "memory" {
					return nil, err
				}
				want = want[:1]
			}
		}
	}
	c := &cgroups{v2: true, memory: d}
	if len(want) == 2 {
		c.pids = d
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	c.removeStale()
	return c, nil
}

// check creates and removes a child with a memory limit.
func (c *cgroups) check() error {
	g, err := c.create(cgroupName("check"), 64, 64)
	if err != nil {
		return err
	}
	if c.v2 {
		// The parent may be a root without memory.swap.max of its own,
		// so a child tells whether swap can be limited.
		_, err := os.Stat(filepath.Join(g.memory, "memory.swap.max"))
		c.swap = err == nil
	}
	return g.remove()
}

// removeStale removes the empty cgroups of launchers that no longer run.
func (c *cgroups) removeStale() {
	parents := []string{c.memory}
	if c.pids != "" && c.pids != c.memory {
		parents = append(parents, c.pids)
	}
	for _, parent := range parents {
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.Name(), cgroupPrefix)
			if !ok || !e.IsDir() {
				continue
			}
			pidText, _, _ := strings.Cut(rest, "-")
			pid, err := strconv.Atoi(pidText)
			if err != nil || pid == os.Getpid() || unix.Kill(pid, 0) != unix.ESRCH {
				continue
			}
			unix.Rmdir(filepath.Join(parent, e.Name()))
		}
	}
}

// cgroup is the cgroup of one environment.
type cgroup struct {
	v2     bool
	memory string
	pids   string
	// fd is the open v2 cgroup that the init is cloned into, or -1.
	fd int
	// use tracks the memory the environment uses (memory.go).
	use memUse
}

// create makes the cgroup name with a memory limit of memoryMB (none if 0)
// and a limit of maxProcs processes and threads.
func (c *cgroups) create(name string, memoryMB, maxProcs int) (g *cgroup, err error) {
	g = &cgroup{v2: c.v2, memory: filepath.Join(c.memory, name), fd: -1}
	if err := os.Mkdir(g.memory, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	defer func() {
		if err != nil {
			g.remove()
			err = fmt.Errorf("create cgroup: %w", err)
		}
	}()
	limit := strconv.FormatInt(int64(memoryMB)<<20, 10)
	if c.v2 {
		if memoryMB > 0 {
			if err := writeFile(filepath.Join(g.memory, "memory.max"), limit); err != nil {
				return g, err
			}
			if c.swap {
				if err := writeFile(filepath.Join(g.memory, "memory.swap.max"), "0"); err != nil {
					return g, err
				}
			}
		}
		// Lambda ends the environment when it runs out of memory.
		writeFile(filepath.Join(g.memory, "memory.oom.group"), "1")
		if c.pids != "" {
			g.pids = g.memory
			if err := writeFile(filepath.Join(g.memory, "pids.max"), strconv.Itoa(maxProcs)); err != nil {
				return g, err
			}
		}
		fd, err := unix.Open(g.memory, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return g, err
		}
		g.fd = fd
		return g, nil
	}
	if memoryMB > 0 {
		// memsw must stay at or above the memory limit, so it comes second.
		if err := writeFile(filepath.Join(g.memory, "memory.limit_in_bytes"), limit); err != nil {
			return g, err
		}
		if c.memsw {
			if err := writeFile(filepath.Join(g.memory, "memory.memsw.limit_in_bytes"), limit); err != nil {
				return g, err
			}
		}
	}
	if c.pids != "" {
		g.pids = filepath.Join(c.pids, name)
		if err := os.Mkdir(g.pids, 0o755); err != nil {
			g.pids = ""
			return g, err
		}
		if err := writeFile(filepath.Join(g.pids, "pids.max"), strconv.Itoa(maxProcs)); err != nil {
			return g, err
		}
	}
	return g, nil
}

// tasks returns the files through which an init moves itself into a v1
// cgroup, nil for v2.
func (g *cgroup) tasks() []string {
	if g.v2 {
		return nil
	}
	files := []string{filepath.Join(g.memory, "tasks")}
	if g.pids != "" {
		files = append(files, filepath.Join(g.pids, "tasks"))
	}
	return files
}

// join moves pid, with all its threads, into a v2 cgroup, for an init not
// cloned into it. It takes a global lock and an RCU grace period: v1 inits
// move themselves instead (tasks).
func (g *cgroup) join(pid int) error {
	s := strconv.Itoa(pid)
	if err := writeFile(filepath.Join(g.memory, "cgroup.procs"), s); err != nil {
		return fmt.Errorf("join cgroup: %w", err)
	}
	if g.pids != "" && g.pids != g.memory {
		if err := writeFile(filepath.Join(g.pids, "cgroup.procs"), s); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	return nil
}

// oomKilled reports whether the kernel killed a process of the cgroup for
// lack of memory.
func (g *cgroup) oomKilled() bool {
	name := "memory.oom_control"
	if g.v2 {
		name = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(g.memory, name))
	if err != nil {
		return false
	}
	if n, ok := keyedValue(b, "oom_kill"); ok {
		return n > 0
	}
	// Kernels before 4.13 count no kills in v1: hitting the limit is
	// the best hint left.
	b, err = os.ReadFile(filepath.Join(g.memory, "memory.failcnt"))
	if err != nil {
		return false
	}
	n, _ := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	return n > 0
}

// remove deletes the cgroup once its processes are gone.
func (g *cgroup) remove() error {
	if g.fd >= 0 {
		unix.Close(g.fd)
		g.fd = -1
	}
	g.use.close()
	var errs []error
	errs = append(errs, rmdirCgroup(g.memory))
	if g.pids != "" && g.pids != g.memory {
		errs = append(errs, rmdirCgroup(g.pids))
	}
	return errors.Join(errs...)
}

// rmdirCgroup removes d, waiting a little while the last exiting tasks
// leave it.
func rmdirCgroup(d string) error {
	var err error
	for i := range 50 {
		err = unix.Rmdir(d)
		if err != unix.EBUSY {
			break
		}
		time.Sleep(time.Duration(i+1) * time.Millisecond)
	}
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove cgroup %s: %w", d, err)
	}
	return nil
}

// parseProcCgroup reads /proc/self/cgroup into controller → path; the v2
// hierarchy is under "".
func parseProcCgroup(name string) (map[string]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	own := make(map[string]string)
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			own[""] = parts[2]
			continue
		}
		for ctl := range strings.SplitSeq(parts[1], ",") {
			own[ctl] = parts[2]
		}
	}
	return own, nil
}

type cgroupMount struct {
	mountpoint string
	root       string
}

// parseCgroupMounts reads the cgroup mounts of mountinfo into controller →
// mount; the v2 hierarchy is under "".
func parseCgroupMounts(name string) (map[string]cgroupMount, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mounts := make(map[string]cgroupMount)
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for s.Scan() {
		// 35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(tail) < 3 {
			continue
		}
		m := cgroupMount{root: unescapeMount(fields[3]), mountpoint: unescapeMount(fields[4])}
		switch tail[0] {
		case "cgroup2":
			if _, ok := mounts[""]; !ok {
				mounts[""] = m
			}
		case "cgroup":
			for opt := range strings.SplitSeq(tail[2], ",") {
				if _, ok := mounts[opt]; !ok {
					mounts[opt] = m
				}
			}
		}
	}
	return mounts, s.Err()
}

// unescapeMount undoes the octal escapes (\040) of mountinfo paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// keyedValue finds "key value" in a cgroup file such as memory.events.
func keyedValue(b []byte, key string) (int64, bool) {
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func writeFile(name, s string) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// parseStatPPID returns the parent pid from the contents of /proc/PID/stat.
// The command name (field 2) is in parentheses and may itself hold spaces
// and parentheses, so the fields are counted from the last ')'.
func parseStatPPID(stat []byte) (int, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, errors.New("stat: too few fields")
	}
	return strconv.Atoi(f[1]) // f[0] is the state
}

// processes maps every pid on the machine to its parent's pid. Processes
// that end while it reads are left out.
func processes() (map[int]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	m := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if ppid, err := parseStatPPID(b); err == nil {
			m[pid] = ppid
		}
	}
	return m, nil
}

// descendants returns the pids below root in ppids (root excluded).
func descendants(root int, ppids map[int]int) []int {
	children := map[int][]int{}
	for pid, ppid := range ppids {
		children[ppid] = append(children[ppid], pid)
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parseSmapsRollup returns Rss and Pss, in bytes, from the contents of
// /proc/PID/smaps_rollup.
func parseSmapsRollup(b []byte) (rss, pss int64, err error) {
	var seenRss, seenPss bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "Rss":
			rss, seenRss = n<<10, true
		case "Pss":
			pss, seenPss = n<<10, true
		}
	}
	if !seenRss || !seenPss {
		return 0, 0, errors.New("smaps_rollup: no Rss or Pss")
	}
	return rss, pss, nil
}

// procMem returns the resident and proportional set sizes of pid, in bytes.
func procMem(pid int) (rss, pss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseSmapsRollup(b)
}

// treeMem is the memory of a set of processes.
type treeMem struct {
	procs    int
	rss, pss int64
}

// sumMem adds up the memory of pids; processes that are gone are skipped.
func sumMem(pids []int) treeMem {
	var t treeMem
	for _, p := range pids {
		rss, pss, err := procMem(p)
		if err != nil {
			continue
		}
		t.procs++
		t.rss += rss
		t.pss += pss
	}
	return t
}

// memoryCgroup returns the memory cgroup of pid as a directory under
// /sys/fs/cgroup, from /proc/PID/cgroup: the v1 memory hierarchy if there
// is one, else the unified one.
func memoryCgroup(pid int) (string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", false
	}
	v2 := ""
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				return filepath.Join("/sys/fs/cgroup/memory", parts[2]), true
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
	}
	if v2 == "" {
		return "", false
	}
	for _, root := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		d := filepath.Join(root, v2)
		if _, err := os.Stat(filepath.Join(d, "memory.current")); err == nil {
			return d, true
		}
	}
	return "", false
}

// cgroupUsage returns the memory charged to the cgroup directory d
// (memory.current or memory.usage_in_bytes): resident memory and page
// cache, tmpfs included.
func cgroupUsage(d string) (int64, bool) {
	for _, f := range []string{"memory.current", "memory.usage_in_bytes"} {
		if b, err := os.ReadFile(filepath.Join(d, f)); err == nil {
			n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// sameNamespace reports whether pids a and b share their namespace of
// kind ("pid", "net"...).
func sameNamespace(a, b int, kind string) bool {
	la, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", a, kind))
	lb, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", b, kind))
	return err1 == nil && err2 == nil && la == lb
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// parseStatCPU returns the user plus system CPU time from the contents of
// /proc/PID/stat (fields 14 and 15).
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat: %w", err)
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// cpuOf returns the CPU time used so far by the processes pids; processes
// that are gone are skipped.
func cpuOf(pids ...int) time.Duration {
	var t time.Duration
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		if d, err := parseStatCPU(b); err == nil {
			t += d
		}
	}
	return t
}

// treeCPU returns the CPU time of root and every process below it.
func treeCPU(root int) time.Duration {
	ps, err := processes()
	if err != nil {
		return 0
	}
	return cpuOf(append(descendants(root, ps), root)...)
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

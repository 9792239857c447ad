package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// memTick is how often the memory of running environments is sampled.
const memTick = 10 * time.Millisecond

// memUse tracks the memory an environment uses, for Process.MaxMemory.
//
// The kernel's peak of a memory cgroup (memory.peak, or
// memory.max_usage_in_bytes in v1) counts the page cache charged to it,
// which holds what the function wrote to /tmp until the kernel reclaims it,
// at the limit: a function that wrote a large file would be reported near
// its limit whatever its processes used. MaxMemory reports the high-water
// mark of the usage without the page cache that no process maps (what the
// kernel can drop or write back to make room) instead. The kernel keeps no
// peak of that, so it is sampled, every memTick and whenever MaxMemory is
// asked: the usage less the page cache at that moment and, if the usage rose
// above its previous sample in between (the kernel's peak since then says
// so: it is reset after each sample, where the kernel allows it), that peak
// less the page cache at the time of the peak, taken as the page cache now
// if the usage is still at the peak, as the larger of the page cache at the
// two samples otherwise. A peak of anonymous memory, however short, is
// seen; the estimate is off at most by how much the page cache changed
// within one sampling period.
type memUse struct {
	mu sync.Mutex
	// usage, peak and stat are the cgroup's files, opened by the first
	// sample.
	usage, peak, stat *os.File
	opened            bool
	closed            bool
	// reset is true while the peak can be reset by writing to it.
	reset bool
	hwm   int64
	// lastPeak, lastUsage and lastCache are what the previous sample
	// read; lastCache is -1 when it was not read.
	lastPeak, lastUsage, lastCache int64
	buf                            [8 << 10]byte
}

// sample updates and returns the high-water mark of the memory used by the
// processes of the cgroup g.
func (g *cgroup) sample() int64 {
	m := &g.use
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return m.hwm
	}
	if !m.opened {
		m.open(g.memory, g.v2)
	}
	if m.usage == nil || m.peak == nil {
		return m.hwm
	}
	u, ok1 := m.readInt(m.usage)
	p, ok2 := m.readInt(m.peak)
	if !ok1 || !ok2 {
		return m.hwm
	}
	// No shortcut for an unchanged usage and peak: at the memory limit
	// both stay pinned to it while the process memory inside grows and the
	// page cache shrinks, and only memory.stat tells.
	// Did the usage rise above what the previous sample saw? p is the
	// peak since then where it is reset, the peak of all time otherwise.
	rose := p > m.lastPeak
	if m.reset {
		rose = p > m.lastUsage+peakSlack(p)
		m.resetPeak()
	} else {
		m.lastPeak = p
	}
	prevCache := m.lastCache
	m.lastUsage, m.lastCache = u, -1
	if u <= m.hwm && (!rose || p <= m.hwm) {
		// Nothing here can raise the mark: the usage bounds what is
		// used without the page cache.
		return m.hwm
	}
	c, ok := m.cache(g.v2)
	if !ok {
		// Without memory.stat, the kernel's peak is the best there is.
		m.hwm = max(m.hwm, p)
		return m.hwm
	}
	m.lastCache = c
	m.hwm = max(m.hwm, u-c)
	if rose {
		atPeak := c
		if u < p-peakSlack(p) && prevCache >= 0 {
			// The usage came down since its peak, which was in
			// between: most often a file was written, then removed.
			atPeak = max(c, prevCache)
		}
		m.hwm = max(m.hwm, p-atPeak)
	}
	return m.hwm
}

// resetPeak resets the kernel's peak to the current usage and reads it
// back.
func (m *memUse) resetPeak() {
	if _, err := m.peak.WriteAt([]byte("0"), 0); err != nil {
		m.reset = false
		return
	}
	if p, ok := m.readInt(m.peak); ok {
		m.lastPeak = p
	}
}

// peakSlack is how far below its peak the usage may be and still count as
// at the peak: the kernel reclaims in batches at the limit.
func peakSlack(peak int64) int64 {
	return 2<<20 + peak/128
}

// open opens the cgroup's memory files in dir.
func (m *memUse) open(dir string, v2 bool) {
	m.opened = true
	m.lastCache = -1
	usage, peak, stat := "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.stat"
	if v2 {
		usage, peak = "memory.current", "memory.peak"
	}
	m.usage, _ = os.Open(filepath.Join(dir, usage))
	m.stat, _ = os.Open(filepath.Join(dir, stat))
	// The peak resets when written to: v1 always, v2 from Linux 6.12,
	// for the descriptor written to.
	f, err := os.OpenFile(filepath.Join(dir, peak), os.O_RDWR, 0)
	m.reset = err == nil
	if err != nil {
		f, _ = os.Open(filepath.Join(dir, peak))
	}
	m.peak = f
}

// close closes the cgroup's files; later samples return the last mark.
func (m *memUse) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, f := range []*os.File{m.usage, m.peak, m.stat} {
		if f != nil {
			f.Close()
		}
	}
}

// readInt reads the number in a cgroup file open as f.
func (m *memUse) readInt(f *os.File) (int64, bool) {
	n, err := f.ReadAt(m.buf[:32], 0)
	if n == 0 && err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(m.buf[:n])), 10, 64)
	return v, err == nil
}

// cache returns the page cache charged to the cgroup that no process maps.
func (m *memUse) cache(v2 bool) (int64, bool) {
	if m.stat == nil {
		return 0, false
	}
	n, err := m.stat.ReadAt(m.buf[:], 0)
	if n == 0 && err != nil {
		return 0, false
	}
	// The page cache as the memory cgroup counts it, less shared memory
	// (tmpfs, memfd: memory the function holds) and the pages processes
	// map. The file LRU lists would leave out the pages reclaim or a
	// truncation has taken off them for a moment, and count them as used.
	file, shmem, mapped := "total_cache", "total_shmem", "total_mapped_file"
	if v2 {
		file, shmem, mapped = "file", "shmem", "file_mapped"
	}
	var v [3]int64
	found := 0
	for line := range bytes.Lines(m.buf[:n]) {
		k, val, ok := bytes.Cut(bytes.TrimSpace(line), []byte(" "))
		if !ok {
			continue
		}
		for i, key := range [3]string{file, shmem, mapped} {
			if string(k) == key {
				if v[i], err = strconv.ParseInt(string(val), 10, 64); err != nil {
					return 0, false
				}
				found++
			}
		}
	}
	if found != 3 {
		return 0, false
	}
	return max(v[0]-v[1]-v[2], 0), true
}

// memWatch samples the memory of running environments every memTick, so
// that MaxMemory sees peaks between two invocations' reports.
type memWatch struct {
	mu      sync.Mutex
	cgs     map[*cgroup]struct{}
	running bool
}

// add starts sampling g.
func (w *memWatch) add(g *cgroup) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cgs == nil {
		w.cgs = make(map[*cgroup]struct{})
	}
	w.cgs[g] = struct{}{}
	if !w.running {
		w.running = true
		go w.run()
	}
}

// remove stops sampling g.
func (w *memWatch) remove(g *cgroup) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.cgs, g)
}

// run samples until no cgroup is left.
func (w *memWatch) run() {
	t := time.NewTicker(memTick)
	defer t.Stop()
	var cgs []*cgroup
	for range t.C {
		w.mu.Lock()
		if len(w.cgs) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		cgs = cgs[:0]
		for g := range w.cgs {
			cgs = append(cgs, g)
		}
		w.mu.Unlock()
		for _, g := range cgs {
			g.sample()
		}
	}
}

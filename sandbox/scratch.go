package sandbox

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lambdahost/lambdahost"
)

// scratchPrefix starts the name of every directory and image file a
// launcher keeps in its scratch directory; the launcher's pid follows, so
// that New can remove what a launcher that died left behind.
const scratchPrefix = "lambdahost-tmp-"

// blockSize is the block size of /tmp images and of their loop devices.
const blockSize = 4096

// sizeIdle is how long spare images of a size no launch has asked for are
// kept; spares of the default size are always kept.
const sizeIdle = 10 * time.Minute

// DefaultTmpSpares is how many /tmp images of each size in use a launcher
// keeps ready unless Options say otherwise.
const DefaultTmpSpares = 2

// tmpStore is the host side of an environment's /tmp: a file system for
// the init to attach, or a directory to bind, removed when the environment
// ends.
type tmpStore struct {
	img *image
	dir string
}

// image is a /tmp file system, mounted but attached nowhere.
type image struct {
	// mount is the detached mount, which the init attaches.
	mount *os.File
	// root is its root directory, kept open by the launcher until the
	// environment ends, to empty the file system or shut it down then.
	root *os.File
	// file is the file under the loop device dev.
	file *os.File
	dev  string
	// empty is what the file system has free when it is empty.
	empty emptyFS
	// sizeMB is the size of /tmp it serves.
	sizeMB int
}

// emptyFS is what an empty image has free, and what its file holds.
type emptyFS struct {
	blocks int64  // available to the function user, in blocks
	inodes uint64 // free inodes
	file   int64  // bytes its file holds on the host
}

// fsIOCShutdown is FS_IOC_SHUTDOWN (EXT4_IOC_SHUTDOWN), and
// fsGoingNoLogFlush its argument to stop all I/O at once.
const (
	fsIOCShutdown     = 0x8004587d
	fsGoingNoLogFlush = 2
)

// close releases the image: the kernel then unmounts the file system (when
// no environment holds it either), detaches the loop device and frees the
// file. With shutdown, the file system stops all I/O first (see shutdown).
func (im *image) close(shutdown bool) {
	if im.mount != nil {
		im.mount.Close()
	}
	if shutdown {
		im.shutdown()
	}
	im.root.Close()
	if im.file != nil {
		im.file.Close()
	}
}

// shutdown stops all I/O to the file system at once: its unmount would
// otherwise write back what the function left in the page cache, to a file
// about to be freed. Later writes fail with EIO.
func (im *image) shutdown() {
	unix.IoctlSetPointerInt(int(im.root.Fd()), fsIOCShutdown, fsGoingNoLogFlush)
}

// scratch provides environments' /tmp on disk, in a directory of the host:
// ext4 file systems of their own on loop devices, copies of a template per
// size, a few per size in use made ahead by a background goroutine, or
// directories whose size is not enforced (see /tmp in the package
// documentation).
type scratch struct {
	dir  string
	log  *slog.Logger
	mkfs string // mke2fs; empty when /tmp is a directory
	// spares is how many images of each size are kept ready.
	spares int

	seq atomic.Uint64

	// tplMu is held to read templates, and to close them.
	tplMu     sync.RWMutex
	templates map[int]*template // by size, under mu

	mu    sync.Mutex
	sizes map[int]*tmpSize
	// retired are images of ended environments, shut down, for the keeper
	// to close.
	retired []*image
	closed  bool
	// keeping is true while the keeper goroutine runs.
	keeping bool
	wake    chan struct{}
	closing chan struct{}
	done    chan struct{}
}

// tmpSize is the pool of one size.
type tmpSize struct {
	spares []*image  // ready and empty
	used   time.Time // the last launch that asked for the size
	failed time.Time // the last failure to format one
}

// imageLayout is how an image of one size is made: its size in blocks and
// how many are reserved for root, so that exactly the size in MiB is
// available to the function user.
type imageLayout struct {
	blocks, reserved int64
}

// newScratch prepares dir and removes what launchers that no longer run
// left there. It uses images if images is set and mke2fs is found.
func newScratch(dir string, log *slog.Logger, images bool, spares int) (*scratch, error) {
	// Traversable by HostUID, whose /tmp directories live here in
	// ModeProcess.
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	s := &scratch{
		dir:       dir,
		log:       log,
		spares:    spares,
		sizes:     make(map[int]*tmpSize),
		templates: make(map[int]*template),
		wake:      make(chan struct{}, 1),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	s.removeStale()
	if images {
		s.mkfs = findMkfs()
	}
	return s, nil
}

// useImages checks that an image can be made, making the template of the
// default size, and returns one, for the probe. Without success, /tmp stays
// a directory and the reason is returned.
func (s *scratch) useImages() (*image, error) {
	if s.mkfs == "" {
		return nil, errors.New("mke2fs not found (install e2fsprogs)")
	}
	img, err := s.format(defaultTmpMB)
	if err != nil {
		s.mkfs = ""
		return nil, err
	}
	return img, nil
}

// start begins keeping spare images, after the first one is known to work.
func (s *scratch) start() {
	if s.mkfs == "" || s.spares <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.keeping {
		return
	}
	s.sizes[defaultTmpMB] = &tmpSize{used: time.Now()}
	s.keeping = true
	go s.keep()
}

// images reports whether /tmp is an image rather than a directory.
func (s *scratch) images() bool { return s.mkfs != "" }

// close stops keeping spares and releases them and the templates. Later
// launches copy their image themselves, from templates made again; those
// last as long as the process.
func (s *scratch) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	keeping := s.keeping
	close(s.closing)
	s.mu.Unlock()
	if keeping {
		<-s.done
	}
	s.mu.Lock()
	retired := s.retired
	s.retired = nil
	var spares []*image
	for _, z := range s.sizes {
		spares = append(spares, z.spares...)
		z.spares = nil
	}
	s.mu.Unlock()
	for _, im := range retired {
		im.close(true)
	}
	for _, im := range spares {
		im.close(false)
	}
	s.tplMu.Lock()
	for _, t := range s.templates {
		if t.file != nil {
			t.file.Close()
		}
	}
	s.templates = make(map[int]*template)
	s.tplMu.Unlock()
}

// get returns the /tmp of a new environment in ModeNamespaces: a spare
// image of sizeMB if there is one, a new image otherwise, or a directory
// when images are not used.
func (s *scratch) get(sizeMB int) (tmpStore, error) {
	if !s.images() {
		// Root inside is root outside: the directory is the
		// environment's own, sticky and writable by all.
		dir, err := s.newDir(0, 0, 0o777|os.ModeSticky)
		return tmpStore{dir: dir}, err
	}
	s.mu.Lock()
	z := s.sizes[sizeMB]
	if z == nil && !s.closed {
		z = &tmpSize{}
		s.sizes[sizeMB] = z
	}
	var img *image
	if z != nil {
		z.used = time.Now()
		if n := len(z.spares); n > 0 {
			img = z.spares[n-1]
			z.spares = z.spares[:n-1]
		}
	}
	s.mu.Unlock()
	s.poke()
	if img != nil {
		return tmpStore{img: img}, nil
	}
	img, err := s.format(sizeMB)
	if err != nil {
		return tmpStore{}, fmt.Errorf("/tmp of %d MB: %w", sizeMB, err)
	}
	return tmpStore{img: img}, nil
}

// release takes back the image of an environment that has ended. The
// keeper empties it and keeps it as a spare (see recycle), at its low
// priority; without a keeper, it is shut down and closed at once.
func (s *scratch) release(img *image) {
	s.mu.Lock()
	keeper := s.keeping && !s.closed
	if keeper {
		s.retired = append(s.retired, img)
	}
	s.mu.Unlock()
	if !keeper {
		img.close(true)
		return
	}
	s.poke()
}

// spare reports whether img is among the spares, for tests.
func (s *scratch) spare(img *image) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.sizes[img.sizeMB]
	return z != nil && slices.Contains(z.spares, img)
}

// poke wakes the keeper.
func (s *scratch) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// keep makes spare images until close: for each size in use, up to
// s.spares of them. It also closes the images of environments that ended.
//
// It runs on a thread of its own at a low CPU priority (nice 10) and the
// lowest best-effort I/O priority, which mke2fs inherits, so that the
// kernel's work of making and unmounting file systems, done in the calling
// thread, does not slow down the cold starts it is for; the thread ends
// with the goroutine.
func (s *scratch) keep() {
	defer close(s.done)
	runtime.LockOSThread()
	// The calling thread only, on Linux.
	unix.Setpriority(unix.PRIO_PROCESS, 0, 10)
	unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, ioprioBestEffortLowest)
	for {
		s.recycleRetired()
		size, wait := s.next()
		if size == 0 {
			timer := time.NewTimer(wait)
			select {
			case <-s.wake:
			case <-timer.C:
			case <-s.closing:
				timer.Stop()
				return
			}
			timer.Stop()
			// A launch that just took a spare is probably starting
			// its environment now: formatting at once would compete
			// with that cold start for the CPU.
			select {
			case <-time.After(spareDelay):
			case <-s.closing:
				return
			}
			continue
		}
		img, err := s.format(size)
		s.mu.Lock()
		z := s.sizes[size]
		switch {
		case err != nil:
			if z != nil {
				z.failed = time.Now()
			}
		case s.closed || z == nil:
			img.close(false)
		default:
			z.spares = append(z.spares, img)
		}
		s.mu.Unlock()
		if err != nil {
			s.log.Warn("make a spare /tmp file system", "size_mb", size, lambdahost.LogKeyError, err)
		}
	}
}

// ioprio_set(2) arguments: the calling thread, and the lowest priority of
// the best-effort class (IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7)).
const (
	ioprioWhoProcess       = 1
	ioprioBestEffortLowest = 2<<13 | 7
)

// recycleRetired empties the images of environments that ended and keeps
// them as spares of their size, up to twice s.spares: a launch and the end
// of an environment, the usual pair (a function's new version replaces the
// old one's environments), then cost no new image. It closes the others,
// and those it cannot empty.
func (s *scratch) recycleRetired() {
	s.mu.Lock()
	retired := s.retired
	s.retired = nil
	s.mu.Unlock()
	for _, im := range retired {
		s.mu.Lock()
		z := s.sizes[im.sizeMB]
		wanted := !s.closed && z != nil && len(z.spares) < 2*s.spares
		s.mu.Unlock()
		if !wanted {
			im.close(true)
			continue
		}
		if err := s.recycle(im); err != nil {
			s.log.Debug("a /tmp file system is not reused", lambdahost.LogKeyError, err)
			im.close(true)
			continue
		}
		s.mu.Lock()
		if z := s.sizes[im.sizeMB]; !s.closed && z != nil {
			z.spares = append(z.spares, im)
			im = nil
		}
		s.mu.Unlock()
		if im != nil {
			im.close(false)
		}
	}
}

// fitrim is FITRIM, which discards the free blocks of a file system, and
// fstrimRange its argument.
const fitrim = 0xc0185879

type fstrimRange struct {
	start, len, minlen uint64
}

// trimAbove is how much more than an empty image's the file of a used one
// may hold before recycle gives the rest back to the host.
const trimAbove = 16 << 20

// recycle makes the image of an ended environment ready for another:
// everything in it is removed (through the root directory, so that no link
// the function left can lead elsewhere), it must then have exactly what it
// had free when new, or it is not reused, blocks the function used are
// given back to the host (FITRIM, which punches holes in the file), and it
// is mounted anew, detached, for the next init: the file system stays
// mounted and the loop device attached, which saves a cold start the work
// of making them. Every environment of a launcher runs as the same user,
// with its files' contents unreadable once removed, as on a new file
// system.
func (s *scratch) recycle(im *image) error {
	root, err := os.OpenRoot(fmt.Sprintf("/proc/self/fd/%d", im.root.Fd()))
	if err != nil {
		return err
	}
	defer root.Close()
	dir, err := root.Open(".")
	if err != nil {
		return err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := root.RemoveAll(name); err != nil {
			return err
		}
	}
	fd := int(im.root.Fd())
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return err
	}
	var fi unix.Stat_t
	if err := unix.Fstat(fd, &fi); err != nil {
		return err
	}
	switch {
	case int64(st.Bavail)*st.Bsize/blockSize != im.empty.blocks || st.Ffree != im.empty.inodes:
		return fmt.Errorf("emptied, it has %d blocks and %d inodes free, want %d and %d", st.Bavail, st.Ffree, im.empty.blocks, im.empty.inodes)
	case fi.Mode&0o7777 != 0o1777 || fi.Uid != 0 || fi.Gid != 0:
		return fmt.Errorf("its root is %o %d:%d", fi.Mode&0o7777, fi.Uid, fi.Gid)
	}
	var file unix.Stat_t
	if err := unix.Fstat(int(im.file.Fd()), &file); err == nil && file.Blocks*512 > im.empty.file+trimAbove {
		r := fstrimRange{len: ^uint64(0)}
		unix.Syscall(unix.SYS_IOCTL, uintptr(fd), fitrim, uintptr(unsafe.Pointer(&r)))
	}
	mnt, err := mountImage(im.dev)
	if err != nil {
		return err
	}
	im.mount = mnt
	return nil
}

// next picks a size that lacks spares, or returns 0 and how long to wait
// before looking again. It drops the spares of sizes unused for sizeIdle.
func (s *scratch) next() (size int, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, sizeIdle
	}
	now := time.Now()
	wait = sizeIdle
	var drop []*image
	for n, z := range s.sizes {
		if n != defaultTmpMB && now.Sub(z.used) > sizeIdle {
			drop = append(drop, z.spares...)
			delete(s.sizes, n)
			continue
		}
		if n != defaultTmpMB {
			wait = min(wait, z.used.Add(sizeIdle).Sub(now)+time.Second)
		}
		if len(z.spares) >= s.spares {
			continue
		}
		if since := now.Sub(z.failed); since < time.Second {
			wait = min(wait, time.Second-since)
			continue
		}
		if size == 0 || n == defaultTmpMB {
			size = n
		}
	}
	for _, im := range drop {
		im.close(false)
	}
	return size, wait
}

// format makes an empty image of exactly sizeMB MiB available to the
// function user and returns it mounted: a copy of the size's template,
// made by the first call for the size.
func (s *scratch) format(sizeMB int) (*image, error) {
	s.tplMu.RLock()
	defer s.tplMu.RUnlock()
	s.mu.Lock()
	t := s.templates[sizeMB]
	if t == nil {
		t = &template{}
		s.templates[sizeMB] = t
	}
	s.mu.Unlock()
	t.once.Do(func() { t.file, t.blocks, t.empty, t.err = s.makeTemplate(sizeMB) })
	if t.err != nil {
		s.mu.Lock()
		if s.templates[sizeMB] == t {
			delete(s.templates, sizeMB) // to try again next time
		}
		s.mu.Unlock()
		return nil, t.err
	}
	img, err := s.copyImage(t)
	if err != nil {
		return nil, err
	}
	img.sizeMB = sizeMB
	return img, nil
}

// template is the file system of a size, formatted by mke2fs and prepared
// once: the images of the size are copies of its file, which take a
// millisecond where mke2fs takes 15 to 50, and no fsync.
type template struct {
	once   sync.Once
	file   *os.File
	blocks int64 // its size, in blocks
	empty  emptyFS
	err    error
}

// makeTemplate formats the template of sizeMB, in a file with no name:
// root sticky and writable by all, no lost+found, and exactly sizeMB MiB
// available to the function user. The first layout is a guess, measured
// once mounted and corrected if need be.
func (s *scratch) makeTemplate(sizeMB int) (*os.File, int64, emptyFS, error) {
	want := int64(sizeMB) << 20 / blockSize
	lay := guessLayout(want)
	for attempt := 0; ; attempt++ {
		file, empty, err := s.formatTemplate(lay)
		if err != nil {
			return nil, 0, emptyFS{}, err
		}
		if empty.blocks == want {
			return file, lay.blocks, empty, nil
		}
		file.Close()
		if attempt == 3 {
			return nil, 0, emptyFS{}, fmt.Errorf("a file system of %d blocks, %d reserved, leaves %d available, want %d", lay.blocks, lay.reserved, empty.blocks, want)
		}
		avail := empty.blocks
		if avail > want {
			lay.reserved += avail - want
		} else {
			// More blocks add metadata and the kernel's reserve
			// (2%) too.
			lay.blocks += (want-avail)*11/10 + 256
			lay.reserved = 0
		}
	}
}

// guessLayout estimates the blocks of an image that leaves want blocks
// available: inode tables (one 256-byte inode per 8 KiB), the clusters
// ext4 keeps in reserve (2%, at most 4096), bitmaps and descriptors.
func guessLayout(want int64) imageLayout {
	resv := min(want/49+1, 4096)
	return imageLayout{blocks: want + want/32 + resv + want/1024 + 256}
}

// formatTemplate formats a new file with layout lay, prepares its root and
// returns it with what it has free.
func (s *scratch) formatTemplate(lay imageLayout) (_ *os.File, empty emptyFS, err error) {
	file, err := s.backingFile(lay.blocks * blockSize)
	if err != nil {
		return nil, emptyFS{}, err
	}
	defer func() {
		if err != nil {
			file.Close()
		}
	}()
	args := []string{"-q", "-F", "-t", "ext4", "-b", strconv.Itoa(blockSize), "-i", "8192", "-I", "256",
		"-O", "^has_journal,^resize_inode", "-E", "lazy_itable_init=1,nodiscard,root_owner=0:0"}
	if lay.reserved > 0 {
		// mke2fs reserves the given percentage of the blocks, rounded
		// down: half a block more makes it exact.
		pct := (float64(lay.reserved) + 0.5) * 100 / float64(lay.blocks)
		args = append(args, "-m", strconv.FormatFloat(pct, 'f', -1, 64))
	} else {
		args = append(args, "-m", "0")
	}
	// The file has no name: mke2fs gets it as its descriptor 3.
	cmd := exec.Command(s.mkfs, append(args, "/proc/self/fd/3")...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.ExtraFiles = []*os.File{file}
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, emptyFS{}, fmt.Errorf("mke2fs: %w: %s", err, strings.TrimSpace(string(out)))
	}
	img, err := s.mountFile(file)
	if err != nil {
		return nil, emptyFS{}, err
	}
	img.file = nil // the template's own
	root := int(img.root.Fd())
	if err := unix.Fchmod(root, 0o1777); err != nil {
		img.close(false)
		return nil, emptyFS{}, fmt.Errorf("chmod /tmp: %w", err)
	}
	if err := unix.Unlinkat(root, "lost+found", unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		img.close(false)
		return nil, emptyFS{}, fmt.Errorf("remove lost+found: %w", err)
	}
	var st unix.Statfs_t
	err = unix.Fstatfs(root, &st)
	if err == nil {
		err = unix.Syncfs(root)
	}
	img.close(false)
	if err != nil {
		return nil, emptyFS{}, fmt.Errorf("statfs: %w", err)
	}
	// The copies must not start before the unmount has written the file
	// system back, which a process forked meanwhile, holding our
	// descriptors until it executes, can delay: the loop device detaches
	// once it is done.
	if err := waitDetached(img.dev, time.Minute); err != nil {
		return nil, emptyFS{}, err
	}
	var fi unix.Stat_t
	if err := unix.Fstat(int(file.Fd()), &fi); err != nil {
		return nil, emptyFS{}, err
	}
	return file, emptyFS{blocks: int64(st.Bavail) * st.Bsize / blockSize, inodes: st.Ffree, file: fi.Blocks * 512}, nil
}

// copyImage copies the template t into a new file and mounts it.
func (s *scratch) copyImage(t *template) (*image, error) {
	file, err := s.backingFile(t.blocks * blockSize)
	if err != nil {
		return nil, err
	}
	if err := copyData(file, t.file); err != nil {
		file.Close()
		return nil, fmt.Errorf("copy /tmp template: %w", err)
	}
	img, err := s.mountFile(file)
	if err != nil {
		file.Close()
		return nil, err
	}
	img.empty = t.empty
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(img.root.Fd()), &st); err != nil || int64(st.Bavail)*st.Bsize/blockSize != t.empty.blocks {
		img.close(false)
		return nil, fmt.Errorf("a copy of the /tmp template has %d blocks available, want %d (%v)", st.Bavail, t.empty.blocks, err)
	}
	return img, nil
}

// copyData copies what src holds into dst, at the same offsets, skipping
// its holes: a new file system is mostly holes.
func copyData(dst, src *os.File) error {
	sfd, dfd := int(src.Fd()), int(dst.Fd())
	var buf []byte
	for off := int64(0); ; {
		// Offsets are explicit: copies from one template may run at
		// once, and the file offset that lseek sets is not used.
		data, err := unix.Seek(sfd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			return nil
		}
		if err != nil {
			return err
		}
		hole, err := unix.Seek(sfd, data, unix.SEEK_HOLE)
		if err != nil {
			return err
		}
		for in, out := data, data; in < hole; {
			n, err := unix.CopyFileRange(sfd, &in, dfd, &out, int(hole-in), 0)
			if err == unix.EXDEV || err == unix.ENOSYS || err == unix.EOPNOTSUPP || err == unix.EINVAL {
				if buf == nil {
					buf = make([]byte, 1<<20)
				}
				n, err = unix.Pread(sfd, buf[:min(int64(len(buf)), hole-in)], in)
				if err == nil && n > 0 {
					n, err = unix.Pwrite(dfd, buf[:n], out)
				}
				in += int64(n)
				out += int64(n)
			}
			if err != nil {
				return err
			}
			if n == 0 {
				return io.ErrUnexpectedEOF
			}
		}
		off = hole
	}
}

// mountFile attaches file, a formatted image, to a loop device and mounts
// it, detached. The loop device holds the file too, and detaches itself
// once the file system is unmounted; the image owns file.
func (s *scratch) mountFile(file *os.File) (*image, error) {
	dev, devName, err := attachLoop(file)
	if err != nil {
		return nil, err
	}
	// Once the file system holds the device, its last close is the
	// unmount's.
	defer dev.Close()
	mnt, err := mountImage(devName)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(mnt.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		mnt.Close()
		return nil, fmt.Errorf("open /tmp: %w", err)
	}
	return &image{mount: mnt, root: os.NewFile(uintptr(fd), devName), file: file, dev: devName}, nil
}

// waitDetached waits until the loop device dev is detached.
func waitDetached(dev string, timeout time.Duration) error {
	name := "/sys/block/" + filepath.Base(dev) + "/loop/backing_file"
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still attached after %v", dev, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// backingFile creates the sparse file of an image, with no name: with
// O_TMPFILE if the file system allows it, otherwise removed as soon as it
// is created.
func (s *scratch) backingFile(size int64) (*os.File, error) {
	var f *os.File
	fd, err := unix.Open(s.dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		f = os.NewFile(uintptr(fd), filepath.Join(s.dir, "(image)"))
	} else {
		name := filepath.Join(s.dir, s.newName()+".img")
		if f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return nil, fmt.Errorf("create image: %w", err)
		}
		os.Remove(name)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("create image: %w", err)
	}
	return f, nil
}

// attachLoop attaches file to a free loop device, which detaches itself
// on its last close, and returns the open device and its path.
func attachLoop(file *os.File) (*os.File, string, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return nil, "", fmt.Errorf("loop device: %w", err)
	}
	defer ctl.Close()
	flags := uint32(unix.LO_FLAGS_AUTOCLEAR | unix.LO_FLAGS_DIRECT_IO)
	for attempt := 0; ; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, "", fmt.Errorf("find a free loop device: %w", err)
		}
		name := "/dev/loop" + strconv.Itoa(n)
		dev, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			return nil, "", fmt.Errorf("loop device: %w", err)
		}
		cfg := unix.LoopConfig{Fd: uint32(file.Fd()), Size: blockSize}
		cfg.Info.Flags = flags
		copy(cfg.Info.File_name[:], "lambdahost-tmp")
		err = unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
		if err == nil {
			return dev, name, nil
		}
		dev.Close()
		switch {
		case err == unix.EBUSY && attempt < 100:
			// Another process took the device between the two
			// calls.
			continue
		case err == unix.EINVAL && flags&unix.LO_FLAGS_DIRECT_IO != 0:
			// The backing file system may not do direct I/O.
			flags &^= unix.LO_FLAGS_DIRECT_IO
			continue
		}
		return nil, "", fmt.Errorf("configure %s: %w", name, err)
	}
}

// mountImage mounts the ext4 file system on dev as a detached mount, which
// no mount namespace shows until an init attaches it.
func mountImage(dev string) (*os.File, error) {
	fs, err := unix.Fsopen("ext4", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen ext4: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetString(fs, "source", dev); err != nil {
		return nil, fmt.Errorf("mount %s: %w", dev, err)
	}
	// The inode tables were not zeroed (lazy_itable_init), and need not
	// be: nothing on this file system outlives it, which is also why it
	// never asks the device to flush (nobarrier): a flush of a loop
	// device fsyncs its file, a commit of the host's journal that can
	// take seconds on a busy disk, and fsync(2) in /tmp is then as cheap
	// as on tmpfs.
	for _, flag := range []string{"noinit_itable", "nobarrier"} {
		if err := unix.FsconfigSetFlag(fs, flag); err != nil {
			return nil, fmt.Errorf("mount %s: %s: %w", dev, flag, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return nil, fmt.Errorf("mount %s: %w", dev, err)
	}
	mfd, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dev, err)
	}
	return os.NewFile(uintptr(mfd), dev), nil
}

// findMkfs looks for mke2fs where Debian and others install it; sbin is
// often missing from a service's PATH.
func findMkfs() string {
	if p, err := exec.LookPath("mke2fs"); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, "mke2fs")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// newName returns a new name for a directory or file in the scratch
// directory.
func (s *scratch) newName() string {
	return scratchPrefix + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(s.seq.Add(1), 10)
}

// newDir creates a /tmp directory with mode, owned by uid and gid unless
// uid is negative.
func (s *scratch) newDir(uid, gid int, mode os.FileMode) (string, error) {
	dir := filepath.Join(s.dir, s.newName())
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create /tmp: %w", err)
	}
	var err error
	if uid >= 0 {
		err = os.Chown(dir, uid, gid)
	}
	if err == nil {
		// Chmod, unlike Mkdir, is not subject to the umask and sets the
		// sticky bit.
		err = os.Chmod(dir, mode)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("create /tmp: %w", err)
	}
	return dir, nil
}

// removeStale removes the directories and image files of launchers whose
// process no longer runs.
func (s *scratch) removeStale() {
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), scratchPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
			s.log.Warn("remove a stale /tmp", lambdahost.LogKeyError, err)
		}
	}
}

//go:build linux && !arm

package disk

import (
	"os"
	"syscall"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE from <linux/fs.h>: start
// writing out the dirty pages of the range, without waiting for them.
const syncFileRangeWrite = 0x2

// startWriteback asks the kernel to start writing n bytes of f at off to the
// disk, so that the fsync in Commit finds little left to do and writing
// overlaps hashing and the arrival of the rest of the blob. RocksDB's
// bytes_per_sync does the same. It is only a hint: errors are left for the
// fsync to report.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.SyncFileRange(int(fd), off, n, syncFileRangeWrite)
	})
}

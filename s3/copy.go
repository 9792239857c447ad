package s3

import (
	"errors"
	"io"
)

// maxBuffer is the largest copy buffer Fetch uses. Writes of 64 KiB and
// more bypass the disk blob writer's buffer, and a quarter megabyte per
// fetch is cheap next to the object.
const maxBuffer = 256 << 10

// minBuffer is the smallest copy buffer, for objects S3 says are tiny.
const minBuffer = 512

// errTooLarge means the body holds more than the limit given to copyLimited.
var errTooLarge = errors.New("object larger than the limit")

// readError wraps an error from the reader copyLimited reads, telling it
// apart from an error of the writer.
type readError struct{ err error }

func (e *readError) Error() string { return "read: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// bufferSize returns the copy buffer size for a body of size bytes (0 if
// unknown): one more than the size, so that one read can see the end, within
// [minBuffer, maxBuffer].
func bufferSize(size int64) int {
	if size <= 0 || size >= maxBuffer {
		return maxBuffer
	}
	return max(int(size)+1, minBuffer)
}

// copyLimited copies r into w until r ends, using buf, and returns the number
// of bytes written. It never writes more than limit bytes: if r holds more,
// it returns errTooLarge without writing the read that passed the limit.
// Errors from r are wrapped in *readError; errors from w are returned as
// they are.
func copyLimited(w io.Writer, r io.Reader, limit int64, buf []byte) (int64, error) {
	var written int64
	for {
		nr, rerr := r.Read(buf)
		if nr > 0 {
			if int64(nr) > limit-written {
				return written, errTooLarge
			}
			nw, werr := w.Write(buf[:nr])
			written += int64(nw)
			if werr != nil {
				return written, werr
			}
			if nw != nr {
				return written, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, &readError{rerr}
		}
	}
}

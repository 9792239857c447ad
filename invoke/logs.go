package invoke

import (
	"bytes"
	"sync"
)

// tailSize is how much of an invocation's log Invoke returns.
const tailSize = 4096

// tail keeps the end of one invocation's log.
type tail struct {
	mu   sync.Mutex
	keep bool
	buf  []byte
}

func newTail(keep bool) *tail { return &tail{keep: keep} }

func (t *tail) write(p []byte) {
	if t == nil || !t.keep {
		return
	}
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4*tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	t.mu.Unlock()
}

func (t *tail) bytes() []byte {
	if t == nil || !t.keep {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > tailSize {
		b = b[len(b)-tailSize:]
	}
	return bytes.Clone(b)
}

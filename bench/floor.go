package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// floorOnce does the least work any server must do to accept an
// UpdateFunctionCode body durably: read the body, base64-decode ZipFile as
// it streams, hash the decoded zip with SHA-256, write it to a new file in
// dir and fsync it. It returns the time taken.
func floorOnce(b []byte, dir string, buf []byte) (time.Duration, error) {
	t0 := time.Now()
	br := bufio.NewReaderSize(bytes.NewReader(b), 64<<10)
	if err := skipPast(br, updateCodePrefix); err != nil {
		return 0, err
	}
	dec := base64.NewDecoder(base64.StdEncoding, &untilQuote{r: br})
	if err := storeHashed(dir, dec, buf); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// storeHashed is the durable write both floors must do: SHA-256 r while
// writing it to a new file in dir, fsync it; the file is removed after.
func storeHashed(dir string, r io.Reader, buf []byte) error {
	f, err := os.CreateTemp(dir, "floor-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(h, f), r, buf); err != nil {
		f.Close()
		return fmt.Errorf("floor: copy: %w", err)
	}
	_ = h.Sum(nil)
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// skipPast reads br up to and including prefix, which must come first.
func skipPast(br *bufio.Reader, prefix string) error {
	p := make([]byte, len(prefix))
	if _, err := io.ReadFull(br, p); err != nil || string(p) != prefix {
		return errors.New("floor: body does not start with the ZipFile member")
	}
	return nil
}

// untilQuote reads a JSON string's content: it ends at the closing quote.
// (Base64 text has no escapes.)
type untilQuote struct {
	r    *bufio.Reader
	done bool
}

func (u *untilQuote) Read(p []byte) (int, error) {
	if u.done {
		return 0, io.EOF
	}
	if u.r.Buffered() == 0 {
		if _, err := u.r.Peek(1); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
	b, _ := u.r.Peek(min(len(p), u.r.Buffered()))
	if i := bytes.IndexByte(b, '"'); i >= 0 {
		b = b[:i]
		u.done = true
	}
	n := copy(p, b)
	u.r.Discard(n)
	if u.done {
		u.r.Discard(1)
	}
	return n, nil
}

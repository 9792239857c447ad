// Package blobtest is the conformance suite that every
// [lambdahost.BlobStore] passes. An adapter's tests call [Run] with a
// function that opens an empty store, as litestream runs one suite against
// every replica client and go-containerregistry's validate checks any image.
package blobtest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lambdahost/lambdahost"
)

// clockSlack is how far a committed time may stray from the test's clock.
// It covers coarse file-system timestamps and stores, such as S3, that keep
// times to the second.
const clockSlack = time.Second

// Run runs the conformance suite against the stores that open returns.
//
// Every subtest calls open once and expects an empty store of its own,
// isolated from the stores of other subtests, which run in parallel.
// open should register any cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) lambdahost.BlobStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lambdahost.BlobStore)
	}{
		{"commit-returns-sha256", testCommitReturnsSHA256},
		{"writer-tracks-size-and-digest", testWriterTracksSizeAndDigest},
		{"writer-read-at-before-commit", testWriterReadAt},
		{"writer-inspect-zip-before-commit", testWriterInspectZip},
		{"open-reads-content", testOpenReadsContent},
		{"open-passes-iotest", testOpenPassesIOTest},
		{"stat", testStat},
		{"open-missing", testOpenMissing},
		{"stat-missing", testStatMissing},
		{"commit-twice-dedups", testCommitTwiceDedups},
		{"commit-as-addresses-by-d", testCommitAs},
		{"abort-leaves-nothing", testAbortLeavesNothing},
		{"abort-twice", testAbortTwice},
		{"abort-after-commit-is-noop", testAbortAfterCommit},
		{"write-after-commit-fails", testWriteAfterCommit},
		{"commit-after-abort-fails", testCommitAfterAbort},
		{"delete-then-open", testDeleteThenOpen},
		{"delete-missing", testDeleteMissing},
		{"delete-then-commit-again", testDeleteThenCommitAgain},
		{"walk-lists-every-blob", testWalkListsEveryBlob},
		{"walk-stops-on-error", testWalkStopsOnError},
		{"recommit-refreshes-committed-time", testRecommitRefreshesCommittedTime},
		{"concurrent-writers-same-content", testConcurrentSameContent},
		{"concurrent-writers-different-content", testConcurrentDifferentContent},
		{"large-blob", testLargeBlob},
		{"empty-blob", testEmptyBlob},
		{"create-canceled", testCreateCanceled},
		{"commit-canceled", testCommitCanceled},
		{"walk-canceled", testWalkCanceled},
		{"walk-canceled-during-iteration", testWalkCanceledDuringIteration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

func testCommitReturnsSHA256(t *testing.T, s lambdahost.BlobStore) {
	content := randomBytes(1, 100_000)
	got := MustPut(t, s, content)
	if want := lambdahost.Digest(sha256.Sum256(content)); got != want {
		t.Errorf("Commit=%s, want %s", got, want)
	}
}

func testWriterTracksSizeAndDigest(t *testing.T, s lambdahost.BlobStore) {
	ctx := t.Context()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()

	if got, want := w.Size(), int64(0); got != want {
		t.Errorf("Size=%d before writing, want %d", got, want)
	}
	if got, want := w.Digest(), lambdahost.Digest(sha256.Sum256(nil)); got != want {
		t.Errorf("Digest=%s before writing, want %s", got, want)
	}
	content := randomBytes(2, 300_000)
	for off := 0; off < len(content); {
		n := min(1+off%70_000, len(content)-off)
		mustWrite(t, w, content[off:off+n])
		off += n
		if got, want := w.Size(), int64(off); got != want {
			t.Fatalf("Size=%d, want %d", got, want)
		}
		if got, want := w.Digest(), lambdahost.Digest(sha256.Sum256(content[:off])); got != want {
			t.Fatalf("Digest=%s after %d bytes, want %s", got, off, want)
		}
	}
	d, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := lambdahost.Digest(sha256.Sum256(content)); d != want {
		t.Errorf("Commit=%s, want %s", d, want)
	}
	if got := mustRead(t, s, d); !bytes.Equal(got, content) {
		t.Error("content read back differs from the pieces written")
	}
}

func testWriterReadAt(t *testing.T, s lambdahost.BlobStore) {
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()

	mustWrite(t, w, []byte("hello, "))
	checkReadAt(t, w, 0, 7, "hello, ", nil)
	mustWrite(t, w, []byte("world"))
	checkReadAt(t, w, 0, 12, "hello, world", nil)
	checkReadAt(t, w, 7, 5, "world", nil)
	checkReadAt(t, w, 10, 4, "ld", io.EOF)
	checkReadAt(t, w, 12, 1, "", io.EOF)

	// Reading back must not disturb what comes next.
	mustWrite(t, w, []byte("!"))
	checkReadAt(t, w, 0, 13, "hello, world!", nil)
	d, err := w.Commit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mustRead(t, s, d), "hello, world!"; string(got) != want {
		t.Errorf("content=%q, want %q", got, want)
	}
}

func checkReadAt(t *testing.T, r io.ReaderAt, off int64, n int, want string, wantErr error) {
	t.Helper()
	p := make([]byte, n)
	got, err := r.ReadAt(p, off)
	if string(p[:got]) != want {
		t.Errorf("ReadAt(%d bytes, off %d)=%q, want %q", n, off, p[:got], want)
	}
	if wantErr == nil && err != nil {
		t.Errorf("ReadAt(%d bytes, off %d): %v", n, off, err)
	}
	if wantErr != nil && !errors.Is(err, wantErr) {
		t.Errorf("ReadAt(%d bytes, off %d) err=%v, want %v", n, off, err, wantErr)
	}
}

func testWriterInspectZip(t *testing.T, s lambdahost.BlobStore) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create("bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(randomBytes(3, 10_000)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}

	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	mustWrite(t, w, buf.Bytes())
	zr, err := zip.NewReader(w, w.Size())
	if err != nil {
		t.Fatalf("zip.NewReader on writer: %v", err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].UncompressedSize64 != 10_000 {
		t.Errorf("zip entries=%v, want one 10000-byte bootstrap", zr.File)
	}
	if _, err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func testOpenReadsContent(t *testing.T, s lambdahost.BlobStore) {
	content := randomBytes(4, 200_000)
	d := MustPut(t, s, content)
	b, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if got, want := b.Size(), int64(len(content)); got != want {
		t.Errorf("Size=%d, want %d", got, want)
	}
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("Read returned %d bytes that differ from the %d written", len(got), len(content))
	}

	seeks := []struct {
		off    int64
		whence int
		want   int64
	}{
		{0, io.SeekStart, 0},
		{1000, io.SeekCurrent, 1000},
		{-10, io.SeekEnd, int64(len(content)) - 10},
		{150_000, io.SeekStart, 150_000},
	}
	for _, sk := range seeks {
		pos, err := b.Seek(sk.off, sk.whence)
		if err != nil {
			t.Fatalf("Seek(%d, %d): %v", sk.off, sk.whence, err)
		}
		if pos != sk.want {
			t.Fatalf("Seek(%d, %d)=%d, want %d", sk.off, sk.whence, pos, sk.want)
		}
		rest, err := io.ReadAll(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rest, content[pos:]) {
			t.Fatalf("Read after Seek(%d, %d) differs from content", sk.off, sk.whence)
		}
		if _, err := b.Seek(pos, io.SeekStart); err != nil {
			t.Fatal(err)
		}
	}

	for _, off := range []int64{0, 1, 65_535, 199_000} {
		p := make([]byte, 1000)
		n, err := b.ReadAt(p, off)
		if err != nil || n != len(p) {
			t.Fatalf("ReadAt(1000, %d)=%d, %v", off, n, err)
		}
		if !bytes.Equal(p, content[off:off+1000]) {
			t.Errorf("ReadAt(1000, %d) differs from content", off)
		}
	}
	p := make([]byte, 1000)
	n, err := b.ReadAt(p, int64(len(content))-100)
	if n != 100 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadAt across the end=%d, %v; want 100, io.EOF", n, err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func testOpenPassesIOTest(t *testing.T, s lambdahost.BlobStore) {
	content := randomBytes(5, 70_000)
	d := MustPut(t, s, content)
	b, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := iotest.TestReader(b, content); err != nil {
		t.Error(err)
	}
}

func testStat(t *testing.T, s lambdahost.BlobStore) {
	content := randomBytes(6, 12_345)
	d := MustPut(t, s, content)
	size, err := s.Stat(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(content)); size != want {
		t.Errorf("Stat=%d, want %d", size, want)
	}
}

func testOpenMissing(t *testing.T, s lambdahost.BlobStore) {
	MustPut(t, s, []byte("something else"))
	b, err := s.Open(t.Context(), digestOf("missing"))
	if !errors.Is(err, lambdahost.ErrBlobNotFound) {
		t.Errorf("Open of a missing blob: err=%v, want ErrBlobNotFound", err)
	}
	if err == nil {
		b.Close()
	}
}

func testStatMissing(t *testing.T, s lambdahost.BlobStore) {
	if _, err := s.Stat(t.Context(), digestOf("missing")); !errors.Is(err, lambdahost.ErrBlobNotFound) {
		t.Errorf("Stat of a missing blob: err=%v, want ErrBlobNotFound", err)
	}
}

func testCommitTwiceDedups(t *testing.T, s lambdahost.BlobStore) {
	content := randomBytes(7, 50_000)
	d1 := MustPut(t, s, content)
	d2 := MustPut(t, s, content)
	if d1 != d2 {
		t.Errorf("second Commit=%s, want %s", d2, d1)
	}
	checkWalk(t, s, map[lambdahost.Digest]int64{d1: int64(len(content))})
	if got := mustRead(t, s, d1); !bytes.Equal(got, content) {
		t.Error("content differs after the second commit")
	}
}

// testCommitAs checks that CommitAs stores content under the address
// given, that a second commit of the same address keeps one blob, and that
// the writer is closed after it.
func testCommitAs(t *testing.T, s lambdahost.BlobStore) {
	addr := digestOf("an address, not the content's digest")
	for i := range 2 {
		w, err := s.Create(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// The ciphertext of sealed code differs each time; the address does not.
		mustWrite(t, w, randomBytes(uint64(20+i), 10_000))
		if err := w.CommitAs(t.Context(), addr); err != nil {
			t.Fatalf("CommitAs: %v", err)
		}
		if _, err := w.Write([]byte("x")); err == nil {
			t.Error("Write after CommitAs succeeded")
		}
		w.Abort()
	}
	if got := mustRead(t, s, addr); !bytes.Equal(got, randomBytes(20, 10_000)) {
		t.Error("content at the address is not the first commit's")
	}
	checkWalk(t, s, map[lambdahost.Digest]int64{addr: 10_000})
}

func testAbortLeavesNothing(t *testing.T, s lambdahost.BlobStore) {
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	content := randomBytes(8, 100_000)
	mustWrite(t, w, content)
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	checkWalk(t, s, map[lambdahost.Digest]int64{})
	if _, err := s.Stat(t.Context(), sha256.Sum256(content)); !errors.Is(err, lambdahost.ErrBlobNotFound) {
		t.Errorf("Stat of an aborted blob: err=%v, want ErrBlobNotFound", err)
	}
}

func testAbortTwice(t *testing.T, s lambdahost.BlobStore) {
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, []byte("abc"))
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
}

func testAbortAfterCommit(t *testing.T, s lambdahost.BlobStore) {
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	content := randomBytes(9, 30_000)
	mustWrite(t, w, content)
	d, err := w.Commit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if got := mustRead(t, s, d); !bytes.Equal(got, content) {
		t.Error("content differs after Abort following Commit")
	}
	checkWalk(t, s, map[lambdahost.Digest]int64{d: int64(len(content))})
}

func testWriteAfterCommit(t *testing.T, s lambdahost.BlobStore) {
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	mustWrite(t, w, []byte("abc"))
	d, err := w.Commit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("def")); err == nil {
		t.Error("Write after Commit succeeded")
	}
	if got, want := string(mustRead(t, s, d)), "abc"; got != want {
		t.Errorf("content=%q, want %q", got, want)
	}
}

func testCommitAfterAbort(t *testing.T, s lambdahost.BlobStore) {
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, []byte("abc"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(t.Context()); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	checkWalk(t, s, map[lambdahost.Digest]int64{})
}

func testDeleteThenOpen(t *testing.T, s lambdahost.BlobStore) {
	ctx := t.Context()
	keep := MustPut(t, s, []byte("keep"))
	d := MustPut(t, s, []byte("delete me"))
	if err := s.Delete(ctx, d); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if b, err := s.Open(ctx, d); !errors.Is(err, lambdahost.ErrBlobNotFound) {
		t.Errorf("Open after Delete: err=%v, want ErrBlobNotFound", err)
		if err == nil {
			b.Close()
		}
	}
	if _, err := s.Stat(ctx, d); !errors.Is(err, lambdahost.ErrBlobNotFound) {
		t.Errorf("Stat after Delete: err=%v, want ErrBlobNotFound", err)
	}
	checkWalk(t, s, map[lambdahost.Digest]int64{keep: 4})
}

func testDeleteMissing(t *testing.T, s lambdahost.BlobStore) {
	if err := s.Delete(t.Context(), digestOf("missing")); err != nil {
		t.Errorf("Delete of a missing blob: %v", err)
	}
}

func testDeleteThenCommitAgain(t *testing.T, s lambdahost.BlobStore) {
	content := []byte("phoenix")
	d := MustPut(t, s, content)
	if err := s.Delete(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got := MustPut(t, s, content); got != d {
		t.Errorf("Commit=%s, want %s", got, d)
	}
	if got := mustRead(t, s, d); !bytes.Equal(got, content) {
		t.Errorf("content=%q, want %q", got, content)
	}
}

func testWalkListsEveryBlob(t *testing.T, s lambdahost.BlobStore) {
	start := time.Now()
	want := map[lambdahost.Digest]int64{}
	for i, size := range []int{0, 1, 1000, 65_536, 300_001} {
		want[MustPut(t, s, randomBytes(uint64(100+i), size))] = int64(size)
	}
	end := time.Now()
	for d, c := range checkWalk(t, s, want) {
		if c.Before(start.Add(-clockSlack)) || c.After(end.Add(clockSlack)) {
			t.Errorf("blob %s committed=%v, want between %v and %v", d, c, start, end)
		}
	}
}

func testWalkStopsOnError(t *testing.T, s lambdahost.BlobStore) {
	for i := range 3 {
		MustPut(t, s, fmt.Appendf(nil, "blob %d", i))
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Walk(t.Context(), func(lambdahost.Digest, int64, time.Time) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("Walk err=%v, want the error fn returned", err)
	}
	if calls != 1 {
		t.Errorf("fn called %d times after returning an error, want 1", calls)
	}
}

// testRecommitRefreshesCommittedTime checks what garbage collection relies
// on: a blob committed again counts as newly committed, so a collector that
// spares blobs younger than a grace period never deletes one that metadata
// is about to reference.
func testRecommitRefreshesCommittedTime(t *testing.T, s lambdahost.BlobStore) {
	content := []byte("committed twice")
	d := MustPut(t, s, content)
	first := checkWalk(t, s, map[lambdahost.Digest]int64{d: int64(len(content))})[d]

	// Wait long enough that a refreshed time is distinguishable even at a
	// resolution of one second.
	time.Sleep(clockSlack + 500*time.Millisecond)
	before := time.Now()
	MustPut(t, s, content)
	second := checkWalk(t, s, map[lambdahost.Digest]int64{d: int64(len(content))})[d]
	if second.Before(before.Add(-clockSlack)) {
		t.Errorf("committed=%v after committing again at %v (first commit %v), want it refreshed", second, before, first)
	}
}

func testConcurrentSameContent(t *testing.T, s lambdahost.BlobStore) {
	content := randomBytes(10, 1<<20)
	want := lambdahost.Digest(sha256.Sum256(content))
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			errs[i] = put(t.Context(), s, content, 1+i*4096)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	checkWalk(t, s, map[lambdahost.Digest]int64{want: int64(len(content))})
	if got := mustRead(t, s, want); !bytes.Equal(got, content) {
		t.Error("content differs after concurrent commits")
	}
}

func testConcurrentDifferentContent(t *testing.T, s lambdahost.BlobStore) {
	var wg sync.WaitGroup
	contents := make([][]byte, 10)
	errs := make([]error, len(contents))
	want := map[lambdahost.Digest]int64{}
	for i := range contents {
		contents[i] = randomBytes(uint64(200+i), 100_000+i)
		want[sha256.Sum256(contents[i])] = int64(len(contents[i]))
		wg.Go(func() {
			errs[i] = put(t.Context(), s, contents[i], 32*1024)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	checkWalk(t, s, want)
	for _, c := range contents {
		if got := mustRead(t, s, sha256.Sum256(c)); !bytes.Equal(got, c) {
			t.Error("content differs after concurrent commits")
		}
	}
}

func testLargeBlob(t *testing.T, s lambdahost.BlobStore) {
	const size = 20 << 20
	content := randomBytes(11, size)
	d := MustPut(t, s, content)
	if want := lambdahost.Digest(sha256.Sum256(content)); d != want {
		t.Fatalf("Commit=%s, want %s", d, want)
	}
	b, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != size {
		t.Errorf("Size=%d, want %d", b.Size(), size)
	}
	h := sha256.New()
	if n, err := io.Copy(h, b); err != nil || n != size {
		t.Fatalf("Copy=%d, %v; want %d, nil", n, err, size)
	}
	if got := lambdahost.Digest(h.Sum(nil)); got != d {
		t.Errorf("content hashes to %s, want %s", got, d)
	}
	p := make([]byte, 1<<20)
	if _, err := b.ReadAt(p, size-1<<20); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, content[size-1<<20:]) {
		t.Error("ReadAt of the last MiB differs from content")
	}
}

func testEmptyBlob(t *testing.T, s lambdahost.BlobStore) {
	ctx := t.Context()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	d, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := lambdahost.Digest(sha256.Sum256(nil)); d != want {
		t.Errorf("Commit=%s, want %s", d, want)
	}
	if size, err := s.Stat(ctx, d); err != nil || size != 0 {
		t.Errorf("Stat=%d, %v; want 0, nil", size, err)
	}
	b, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != 0 {
		t.Errorf("Size=%d, want 0", b.Size())
	}
	if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read=%d, %v; want 0, io.EOF", n, err)
	}
	checkWalk(t, s, map[lambdahost.Digest]int64{d: 0})
}

func testCreateCanceled(t *testing.T, s lambdahost.BlobStore) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	w, err := s.Create(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a canceled context: err=%v, want context.Canceled", err)
	}
	if err == nil {
		w.Abort()
	}
}

func testCommitCanceled(t *testing.T, s lambdahost.BlobStore) {
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, []byte("never committed"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := w.Commit(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a canceled context: err=%v, want context.Canceled", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after a canceled Commit: %v", err)
	}
	checkWalk(t, s, map[lambdahost.Digest]int64{})
}

func testWalkCanceled(t *testing.T, s lambdahost.BlobStore) {
	MustPut(t, s, []byte("a"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := 0
	err := s.Walk(ctx, func(lambdahost.Digest, int64, time.Time) error {
		calls++
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a canceled context: err=%v, want context.Canceled", err)
	}
	if calls != 0 {
		t.Errorf("fn called %d times, want 0", calls)
	}
}

func testWalkCanceledDuringIteration(t *testing.T, s lambdahost.BlobStore) {
	for i := range 5 {
		MustPut(t, s, fmt.Appendf(nil, "blob %d", i))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	err := s.Walk(ctx, func(lambdahost.Digest, int64, time.Time) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Walk canceled by fn: err=%v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("fn called %d times after cancel, want 1", calls)
	}
}

// MustPut stores content in s, writing it in 64 KiB pieces, and returns its
// digest. It fails the test on any error.
func MustPut(tb testing.TB, s lambdahost.BlobStore, content []byte) lambdahost.Digest {
	tb.Helper()
	if err := put(tb.Context(), s, content, 64<<10); err != nil {
		tb.Fatal(err)
	}
	return sha256.Sum256(content)
}

// put stores content in s, writing it chunk bytes at a time, and checks that
// Commit returns its SHA-256.
func put(ctx context.Context, s lambdahost.BlobStore, content []byte, chunk int) error {
	w, err := s.Create(ctx)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer w.Abort()
	for off := 0; off < len(content); off += chunk {
		if _, err := w.Write(content[off:min(off+chunk, len(content))]); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	d, err := w.Commit(ctx)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if want := lambdahost.Digest(sha256.Sum256(content)); d != want {
		return fmt.Errorf("commit returned %s, want %s", d, want)
	}
	return nil
}

func mustWrite(t *testing.T, w io.Writer, p []byte) {
	t.Helper()
	n, err := w.Write(p)
	if err != nil || n != len(p) {
		t.Fatalf("Write(%d bytes)=%d, %v", len(p), n, err)
	}
}

func mustRead(t *testing.T, s lambdahost.BlobStore, d lambdahost.Digest) []byte {
	t.Helper()
	b, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkWalk walks s, checks that it lists exactly the blobs in want with
// their sizes, each once with a committed time, and returns those times.
func checkWalk(t *testing.T, s lambdahost.BlobStore, want map[lambdahost.Digest]int64) map[lambdahost.Digest]time.Time {
	t.Helper()
	got := map[lambdahost.Digest]int64{}
	committed := map[lambdahost.Digest]time.Time{}
	err := s.Walk(t.Context(), func(d lambdahost.Digest, size int64, c time.Time) error {
		if _, ok := got[d]; ok {
			t.Errorf("Walk listed %s twice", d)
		}
		if c.IsZero() {
			t.Errorf("Walk listed %s with a zero committed time", d)
		}
		got[d] = size
		committed[d] = c
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	for d, size := range want {
		if g, ok := got[d]; !ok {
			t.Errorf("Walk did not list %s", d)
		} else if g != size {
			t.Errorf("Walk listed %s with size %d, want %d", d, g, size)
		}
	}
	for d := range got {
		if _, ok := want[d]; !ok {
			t.Errorf("Walk listed unexpected blob %s", d)
		}
	}
	return committed
}

func digestOf(s string) lambdahost.Digest { return sha256.Sum256([]byte(s)) }

// randomBytes returns n pseudo-random bytes, the same for the same seed.
func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	key[0] = byte(seed)
	key[1] = byte(seed >> 8)
	p := make([]byte, n)
	rand.NewChaCha8(key).Read(p)
	return p
}

package disk_test

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/disk"
)

// crashChildEnv names the store directory when the test binary runs as the
// child of TestCrash.
const crashChildEnv = "LAMBDAHOST_DISK_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if path := os.Getenv(lockChildEnv); path != "" {
		lockChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild commits blobs into the store at dir until it is killed,
// printing "committed <hex>" for each Commit that returned. Four writers
// run at once; some content repeats, so that commits dedup, and some writes
// are aborted.
func crashChild(dir string) {
	s, err := disk.NewBlobStore(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Content drawn from a small pool repeats across writers and rounds.
	pool := make([][]byte, 4)
	for i := range pool {
		pool[i] = bytes.Repeat([]byte{byte(i)}, 1000*(i+1)*(i+1))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var seed [32]byte
			crand.Read(seed[:])
			src := rand.NewChaCha8(seed)
			for {
				if err := crashChildPut(s, src, pool); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
			}
		})
	}
	wg.Wait()
}

func crashChildPut(s *disk.BlobStore, src *rand.ChaCha8, pool [][]byte) error {
	rng := rand.New(src)
	var content []byte
	fromPool := false
	switch n := rng.IntN(10); {
	case n < 2:
		content, fromPool = pool[rng.IntN(len(pool))], true
	case n < 6:
		content = make([]byte, rng.IntN(64<<10))
	case n < 9:
		content = make([]byte, rng.IntN(1<<20))
	default:
		content = make([]byte, rng.IntN(4<<20))
	}
	if !fromPool {
		src.Read(content)
	}
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		return err
	}
	defer w.Abort()
	for off := 0; off < len(content); {
		n := min(1+rng.IntN(128<<10), len(content)-off)
		if _, err := w.Write(content[off : off+n]); err != nil {
			return err
		}
		off += n
	}
	if rng.IntN(10) == 0 {
		return w.Abort()
	}
	d, err := w.Commit(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Printf("committed %s\n", d.Hex())
	return err
}

// TestCrash kills a process that is committing blobs at a random moment,
// several times over the same directory, and checks after each kill that
// every blob whose Commit returned is there and that no blob file holds
// content other than what its name promises. SIGKILL keeps the page cache,
// so this proves atomicity, not fsync; the fsync ordering is in Commit.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	dir := t.TempDir()
	committed := map[lambdahost.Digest]bool{}
	for round := range 8 {
		for _, d := range crashRound(t, dir) {
			committed[d] = true
		}
		s := MustOpenBlobStore(t, dir)
		for d := range committed {
			if err := checkBlob(t, s, d); err != nil {
				t.Errorf("round %d: committed blob %s: %v", round, d, err)
			}
		}
		checkBlobDir(t, dir)
		t.Logf("round %d: %d blobs committed so far, %d temporary files left", round, len(committed), len(listDir(t, filepath.Join(dir, "tmp"))))
	}
	if len(committed) == 0 {
		t.Fatal("the child committed nothing")
	}
}

// crashRound runs the child on dir, kills it at a random moment after its
// first commit, and returns the digests it reported committed.
func crashRound(t *testing.T, dir string) []lambdahost.Digest {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var digests []lambdahost.Digest
	record := func(line string) {
		hex, ok := strings.CutPrefix(line, "committed ")
		d, err := lambdahost.ParseDigestHex(hex)
		if !ok || err != nil {
			// Only the last line can be cut short by the kill; Println
			// writes each line at once, so this is the child's own output.
			t.Errorf("child printed %q", line)
			return
		}
		digests = append(digests, d)
	}

	select {
	case line, ok := <-lines:
		if !ok {
			cmd.Wait()
			t.Fatalf("child exited before committing: %s", stderr.Bytes())
		}
		record(line)
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child committed nothing in 2 minutes: %s", stderr.Bytes())
	}
	kill := time.After(time.Duration(rand.IntN(500)) * time.Millisecond)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("child exited before it was killed: %s", stderr.Bytes())
			}
			record(line)
			continue
		case <-kill:
		}
		break
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for line := range lines {
		record(line)
	}
	cmd.Wait()
	if stderr.Len() > 0 {
		t.Errorf("child wrote to stderr: %s", stderr.Bytes())
	}
	return digests
}

// checkBlob checks that blob d exists and hashes to d.
func checkBlob(t *testing.T, s *disk.BlobStore, d lambdahost.Digest) error {
	b, err := s.Open(t.Context(), d)
	if err != nil {
		return err
	}
	defer b.Close()
	h := sha256.New()
	n, err := io.Copy(h, b)
	if err != nil {
		return err
	}
	if n != b.Size() {
		return fmt.Errorf("read %d bytes, Size=%d", n, b.Size())
	}
	if got := lambdahost.Digest(h.Sum(nil)); got != d {
		return fmt.Errorf("content hashes to %s", got)
	}
	return nil
}

// checkBlobDir checks that every file in the blob directory is named by a
// digest, hashes to it, and is read-only.
func checkBlobDir(t *testing.T, dir string) {
	t.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	s := MustOpenBlobStore(t, dir)
	for _, name := range listDir(t, blobs) {
		d, err := lambdahost.ParseDigestHex(name)
		if err != nil {
			t.Errorf("blob directory holds %q", name)
			continue
		}
		if err := checkBlob(t, s, d); err != nil {
			t.Errorf("blob %s: %v", d, err)
		}
		fi, err := os.Stat(filepath.Join(blobs, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o444 {
			t.Errorf("blob %s: mode %v, want read-only", d, fi.Mode())
		}
	}
}

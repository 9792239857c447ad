package control

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lambdahost/lambdahost"
)

// CheckOptions configures Check.
type CheckOptions struct {
	// Grace is the grace period of the garbage collection whose work
	// Check predicts (serve's --gc-grace): unreferenced blobs committed
	// longer ago are what it would delete. Zero counts them all.
	Grace time.Duration
	// Progress, if set, is called after each stored package is verified
	// with how many are verified, how many there are, and the bytes read.
	Progress func(done, total int, bytes int64)
}

// CheckReport is what Check found.
type CheckReport struct {
	Functions, Versions, Aliases int
	LayerVersions                int
	// Packages counts the distinct stored packages verified, Bytes their
	// stored size.
	Packages int
	Bytes    int64
	// Unopened counts sealed packages that could not be opened for want
	// of a master key: their layout and key were checked, their content
	// was not.
	Unopened int
	// Problems are what is damaged or missing. The store is intact when
	// there are none.
	Problems []Problem
	// Orphans are stored packages that nothing references, by address.
	Orphans []Orphan
}

// Intact reports whether Check found no problem.
func (r *CheckReport) Intact() bool { return len(r.Problems) == 0 }

// Problem is something damaged or missing.
type Problem struct {
	// Resource is the ARN of the resource affected (a function, a
	// function version, an alias, a KMS key), or "" for the store itself.
	Resource string
	Message  string
}

func (p Problem) String() string {
	if p.Resource == "" {
		return p.Message
	}
	return p.Resource + ": " + p.Message
}

// Orphan is a stored package that nothing references.
type Orphan struct {
	Address lambdahost.Digest
	// Inline says it is stored with the metadata, not in the blob store.
	Inline    bool
	Size      int64
	Committed time.Time // zero for inline code
	// Collectable says serve's garbage collection would delete it: inline
	// code at once, a blob once it was committed longer ago than the
	// grace period, which spares uploads that have not committed their
	// metadata yet.
	Collectable bool
}

// Check verifies the store's integrity as one snapshot of the metadata
// sees it, beside a running server:
//
//   - every function has its $LATEST, every alias's versions exist, and
//     every code signing config binding names a config and a function
//     that exist;
//   - every resource-based policy and function URL belongs to a function,
//     version or alias that exists, and every URL and the index entry of
//     its ID name each other (access_check.go);
//   - every layer version's number is within its layer's counter, every
//     layer policy belongs to a layer version that exists, and the layer
//     code each account is counted for is what its layer versions store
//     (layer_check.go);
//   - every package that a resource references (CodeUses) is stored,
//     inline or as a blob, and its content matches its CodeSha256: plain
//     code by its SHA-256, sealed code by opening every chunk with its
//     data key, unwrapped by its KMS key, whose material the master key
//     opens. Without a master key, sealed code is checked for its layout
//     and key only (CheckReport.Unopened);
//   - every KMS key's material opens with the master key;
//   - packages that nothing references are listed as orphans, with what
//     garbage collection would delete.
//
// Problems name the resource affected. Check returns an error only when
// it could not run.
func (s *Service) Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	s.init()
	c := &checker{s: s, opts: opts, rep: &CheckReport{}, keys: map[string]*checkedKey{}}
	err := s.store.View(ctx, func(tx lambdahost.Tx) error {
		c.tx = tx
		if err := c.relations(ctx); err != nil {
			return err
		}
		if err := c.access(ctx); err != nil {
			return err
		}
		if err := c.layers(ctx); err != nil {
			return err
		}
		if err := c.kmsKeys(ctx); err != nil {
			return err
		}
		if err := c.code(ctx); err != nil {
			return err
		}
		return c.orphans(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	return c.rep, nil
}

type checker struct {
	s    *Service
	opts CheckOptions
	tx   lambdahost.Tx
	rep  *CheckReport
	// keys are the KMS keys that seal code, by ARN.
	keys map[string]*checkedKey
	// stored are the addresses of referenced code.
	stored map[lambdahost.Digest]bool
}

// checkedKey is a KMS key that seals code: key is nil if it cannot open
// code, for the reason problem says ("" when there is no master key).
type checkedKey struct {
	key     lambdahost.CodeKey
	problem string
}

func (c *checker) problem(resource, format string, args ...any) {
	c.rep.Problems = append(c.rep.Problems, Problem{Resource: resource, Message: fmt.Sprintf(format, args...)})
}

// relations checks that no row of the metadata points at nothing.
func (c *checker) relations(ctx context.Context) error {
	tx := c.tx
	err := eachFunction(ctx, tx, func(f *lambdahost.Function) error {
		c.rep.Functions++
		vs, err := tx.ListVersions(ctx, f.ID, math.MinInt64, 0)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, v := range vs {
			c.rep.Versions++
			names[v.Name] = true
		}
		if !names[lambdahost.VersionLatest] {
			c.problem(f.ID.ARN(), "has no $LATEST version")
		}
		as, err := tx.ListAliases(ctx, f.ID, "", 0)
		if err != nil {
			return err
		}
		for _, a := range as {
			c.rep.Aliases++
			if !names[a.FunctionVersion] {
				c.problem(a.ARN(), "points at version %s, which does not exist", a.FunctionVersion)
			}
			for _, v := range slices.Sorted(maps.Keys(a.AdditionalVersionWeights)) {
				if !names[v] {
					c.problem(a.ARN(), "routes to version %s, which does not exist", v)
				}
			}
		}
		arn, err := boundCSC(ctx, tx, f.ID)
		if err != nil {
			return err
		}
		if arn != "" {
			cscID := arn[strings.LastIndexByte(arn, ':')+1:]
			if _, err := tx.Record(ctx, kindCSC, cscKey(f.ID.Account, f.ID.Region, cscID)); errors.Is(err, lambdahost.ErrNotFound) {
				c.problem(f.ID.ARN(), "uses code signing config %s, which does not exist", arn)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Bindings of functions that are gone.
	for after := ""; ; {
		recs, err := tx.ListRecords(ctx, kindFunctionCSC, "", after, 100)
		if err != nil {
			return err
		}
		for _, r := range recs {
			parts := strings.SplitN(r.Key, "/", 3)
			if len(parts) != 3 {
				c.problem("", "code signing config binding %q names no function", r.Key)
				continue
			}
			id := lambdahost.FunctionID{Account: parts[0], Region: parts[1], Name: parts[2]}
			if _, err := tx.Function(ctx, id); errors.Is(err, lambdahost.ErrNotFound) {
				c.problem(id.ARN(), "has a code signing config binding (%s) but no function", r.Value)
			} else if err != nil {
				return err
			}
		}
		if len(recs) < 100 {
			return nil
		}
		after = recs[len(recs)-1].Key
	}
}

// kmsKeys checks that the master key opens every KMS key's material.
func (c *checker) kmsKeys(ctx context.Context) error {
	a, ok := c.s.Keys.(lambdahost.KeyAuditor)
	if !ok {
		return nil
	}
	return a.AuditKeys(ctx, c.tx, func(arn, msg string) { c.problem(arn, "%s", msg) })
}

// sealingKey returns KMS key arn, which seals code, enabled or not.
func (c *checker) sealingKey(ctx context.Context, arn string) (*checkedKey, error) {
	if k, ok := c.keys[arn]; ok {
		return k, nil
	}
	k := &checkedKey{}
	c.keys[arn] = k
	a, ok := c.s.Keys.(lambdahost.KeyAuditor)
	if !ok {
		return k, nil // no master key: the code cannot be opened
	}
	key, err := a.AuditKey(ctx, c.tx, arn)
	var ke *lambdahost.KeyError
	switch {
	case errors.As(err, &ke):
		k.problem = fmt.Sprintf("sealed under KMS key %s, which does not exist", arn)
	case errors.Is(err, lambdahost.ErrKeyUnopenable):
		k.problem = fmt.Sprintf("sealed under KMS key %s, whose material does not open with this master key", arn)
	case err != nil:
		return nil, err
	default:
		k.key = key
	}
	return k, nil
}

// code verifies every referenced package.
func (c *checker) code(ctx context.Context) error {
	uses := map[lambdahost.CodeRef][]CodeUse{}
	if err := CodeUses(ctx, c.tx, func(u CodeUse) error {
		uses[u.CodeRef] = append(uses[u.CodeRef], u)
		return nil
	}); err != nil {
		return err
	}
	// Garbage collection keeps what referencedCode lists: if a kind of
	// code holder listed other code in its uses, check and collection
	// would disagree about what may be deleted.
	refs, err := referencedCode(ctx, c.tx)
	if err != nil {
		return err
	}
	c.stored = map[lambdahost.Digest]bool{}
	for _, r := range refs {
		c.stored[r.Address()] = true
		if _, ok := uses[r]; !ok {
			c.problem("", "garbage collection keeps code %s sealed with %q, which no resource uses: the lists of references disagree", r.Digest, r.SealedWith)
		}
	}
	for r := range uses {
		if !c.stored[r.Address()] {
			c.problem("", "code %s sealed with %q is used but garbage collection would not keep it: the lists of references disagree", r.Digest, r.SealedWith)
			c.stored[r.Address()] = true
		}
	}

	order := slices.SortedFunc(maps.Keys(uses), func(a, b lambdahost.CodeRef) int {
		return cmp.Compare(uses[a][0].Holder, uses[b][0].Holder)
	})
	return c.verifyAll(ctx, order, uses)
}

// verifyJob is a package to verify: its reference, its content if it is
// stored inline, and the key that seals it.
type verifyJob struct {
	ref      lambdahost.CodeRef
	uses     []CodeUse
	inline   []byte // nil: in the blob store
	key      *checkedKey
	unstored bool
}

// verifyAll verifies the packages of order, reading the metadata they
// need here, in the transaction, and their content in one worker per CPU,
// since hashing and opening sealed code is CPU-bound. Problems are
// reported in order.
func (c *checker) verifyAll(ctx context.Context, order []lambdahost.CodeRef, uses map[lambdahost.CodeRef][]CodeUse) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		jobs    = make(chan int)
		mu      sync.Mutex
		msgs    = make([]string, len(order))
		done    int
		errOnce error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if errOnce == nil {
			errOnce = err
		}
		mu.Unlock()
		cancel()
	}
	prepared := make([]verifyJob, len(order))
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range jobs {
				msg, size, opened, err := c.verify(ctx, &prepared[i])
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				msgs[i] = msg
				done++
				if size >= 0 {
					c.rep.Packages++
					c.rep.Bytes += size
				}
				if !opened && size >= 0 && prepared[i].ref.SealedWith != "" && msg == "" {
					c.rep.Unopened++
				}
				if c.opts.Progress != nil {
					c.opts.Progress(done, len(order), c.rep.Bytes)
				}
				mu.Unlock()
			}
		})
	}
	for i, r := range order {
		j, err := c.prepare(ctx, r, uses[r])
		if err != nil {
			fail(err)
			break
		}
		prepared[i] = j
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if errOnce != nil {
		return errOnce
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, r := range order {
		if msgs[i] == "" {
			continue
		}
		for _, u := range uses[r] {
			if u.Layer != "" {
				c.problem(u.Holder, "layer %s: code %s: %s", u.Layer, u.Digest, msgs[i])
				continue
			}
			c.problem(u.Holder, "code %s: %s", u.Digest, msgs[i])
		}
	}
	return nil
}

// prepare reads, in the transaction, what verifying r needs besides its
// blob.
func (c *checker) prepare(ctx context.Context, r lambdahost.CodeRef, us []CodeUse) (verifyJob, error) {
	j := verifyJob{ref: r, uses: us, unstored: allUnstored(us)}
	data, err := c.tx.Code(ctx, r.Address())
	switch {
	case err == nil:
		j.inline = data
	case !errors.Is(err, lambdahost.ErrBlobNotFound):
		return j, err
	}
	if r.SealedWith != "" {
		if j.key, err = c.sealingKey(ctx, r.SealedWith); err != nil {
			return j, err
		}
	}
	return j, nil
}

func allUnstored(us []CodeUse) bool {
	for _, u := range us {
		if !u.Unstored {
			return false
		}
	}
	return true
}

// verify checks the package of j. It returns what is wrong ("" if
// nothing), the stored size (-1 if nothing is stored), whether sealed code
// was opened, and an error only if it could not look. It must not use the
// transaction: it runs beside others.
func (c *checker) verify(ctx context.Context, j *verifyJob) (msg string, size int64, opened bool, err error) {
	r := j.ref
	addr := r.Address()
	var b lambdahost.Blob
	if j.inline != nil {
		b = &inlineBlob{bytes.NewReader(j.inline)}
	} else {
		b, err = c.s.blobs.Open(ctx, addr)
		if errors.Is(err, lambdahost.ErrBlobNotFound) {
			if j.unstored {
				return "", -1, false, nil // never stored: its holder reports why
			}
			return fmt.Sprintf("missing: neither the blob store (blob %s) nor the metadata holds it", addr.Hex()), -1, false, nil
		}
		if err != nil {
			return "", -1, false, err
		}
	}
	defer b.Close()
	size = b.Size()

	if r.SealedWith == "" {
		// Stored before code was sealed: plain, at its own digest.
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(b, 0, b.Size())); err != nil {
			return "unreadable: " + err.Error(), size, false, nil
		}
		if lambdahost.Digest(h.Sum(nil)) != r.Digest {
			return "damaged: the stored bytes do not match the digest", size, false, nil
		}
		return "", size, false, nil
	}
	tr, _, err := lambdahost.CheckSealedLayout(b, b.Size())
	if err != nil {
		return "damaged: " + err.Error(), size, false, nil
	}
	if tr.KeyARN != r.SealedWith {
		return fmt.Sprintf("damaged: sealed under %s, but its holder says %s", tr.KeyARN, r.SealedWith), size, false, nil
	}
	k := j.key
	if k.problem != "" {
		return k.problem, size, false, nil
	}
	if k.key == nil {
		return "", size, false, nil // no master key
	}
	sb, err := openSealed(b, k.key)
	if err != nil {
		return "does not open with its key: " + err.Error(), size, true, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(sb, 0, sb.Size())); err != nil {
		return "does not open with its key: " + err.Error(), size, true, nil
	}
	if lambdahost.Digest(h.Sum(nil)) != r.Digest {
		return "damaged: it opens, but to content that does not match the digest", size, true, nil
	}
	return "", size, true, nil
}

// orphans lists stored packages that nothing references.
func (c *checker) orphans(ctx context.Context) error {
	inline, err := c.tx.ListCode(ctx)
	if err != nil {
		return err
	}
	for _, sc := range inline {
		if !c.stored[sc.Address] {
			c.rep.Orphans = append(c.rep.Orphans, Orphan{Address: sc.Address, Inline: true, Size: sc.Size, Collectable: true})
		}
	}
	cutoff := c.s.Now().Add(-c.opts.Grace)
	return c.s.blobs.Walk(ctx, func(d lambdahost.Digest, size int64, committed time.Time) error {
		if !c.stored[d] {
			c.rep.Orphans = append(c.rep.Orphans, Orphan{Address: d, Size: size, Committed: committed, Collectable: committed.Before(cutoff)})
		}
		return nil
	})
}

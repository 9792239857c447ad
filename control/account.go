package control

import (
	"context"
	"fmt"
	"time"

	"github.com/lambdahost/lambdahost"
)

// AccountSettings is what GetAccountSettings answers.
type AccountSettings struct {
	TotalCodeSize                  int64
	CodeSizeUnzipped               int64
	CodeSizeZipped                 int64
	ConcurrentExecutions           int
	UnreservedConcurrentExecutions int
	Usage                          lambdahost.AccountUsage
}

// accountConcurrency is AWS's default concurrency quota, per account and
// region.
const accountConcurrency = 1000

// GetAccountSettings answers the caller's limits and its real usage.
func (s *Service) GetAccountSettings(ctx context.Context) (*AccountSettings, error) {
	s.init()
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("get account settings", err)
	}
	out := &AccountSettings{
		TotalCodeSize: s.CodeStorageLimit, CodeSizeUnzipped: lambdahost.MaxUnzippedSize, CodeSizeZipped: lambdahost.MaxZippedSize,
		ConcurrentExecutions: accountConcurrency,
	}
	provisioned := 0
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		out.Usage, err = usage(ctx, tx, c.Account, c.Region)
		if err != nil {
			return err
		}
		// Provisioned concurrency of functions that reserve none is taken
		// from the unreserved pool.
		all, err := provisionedRecords(ctx, tx, lambdahost.FunctionID{Account: c.Account, Region: c.Region})
		if err != nil {
			return err
		}
		provisioned, err = unreservedProvisioned(ctx, tx, all, nil)
		return err
	})
	if err != nil {
		return nil, internal("get account usage", err)
	}
	out.UnreservedConcurrentExecutions = accountConcurrency - int(out.Usage.ReservedConcurrency) - provisioned
	return out, nil
}

// Collector is a code source's ability to delete what it derived from code
// (unpacked image file systems) once no version references that code.
type Collector interface {
	Collect(ctx context.Context, referenced map[lambdahost.Digest]bool) (int, error)
}

// CollectGarbage deletes code blobs that nothing references (see
// codeHolders: versions, their own code and their layers', and layer
// versions) and that were last committed more than grace ago. The grace
// period spares blobs committed by operations whose metadata has not
// committed yet.
func (s *Service) CollectGarbage(ctx context.Context, grace time.Duration) (deleted int, err error) {
	s.init()
	began := time.Now()
	defer func() { s.meter().GarbageCollected(deleted, time.Since(began), err) }()
	// No code commit, on any node, may run between reading the references
	// and deleting: see lambdahost.Coordinator.LockCode.
	unlock, err := s.store.LockCode(ctx, true)
	if err != nil {
		return 0, fmt.Errorf("collect garbage: %w", err)
	}
	defer unlock()
	cutoff := s.Now().Add(-grace)
	// referenced holds the plaintext digests versions reference, for the
	// collectors (an image's derived state is keyed by its digest); stored,
	// the addresses their code is stored at: CodeAddress of the key that
	// sealed it and the digest, or the digest of code from before sealing.
	referenced := map[lambdahost.Digest]bool{}
	stored := map[lambdahost.Digest]bool{}
	// Inline code is referenced in the same transaction that stores it, so it
	// needs no grace period: the references are read in the transaction that
	// deletes it.
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		clear(referenced)
		clear(stored)
		refs, err := referencedCode(ctx, tx)
		if err != nil {
			return err
		}
		for _, r := range refs {
			referenced[r.Digest] = true
			stored[r.Address()] = true
		}
		n, err := tx.DeleteUnreferencedCode(ctx, stored)
		deleted += n
		return err
	})
	if err != nil {
		return deleted, fmt.Errorf("collect garbage: %w", err)
	}
	var doomed []lambdahost.Digest
	err = s.blobs.Walk(ctx, func(d lambdahost.Digest, _ int64, committed time.Time) error {
		if !stored[d] && committed.Before(cutoff) {
			doomed = append(doomed, d)
		}
		return nil
	})
	if err != nil {
		return deleted, fmt.Errorf("collect garbage: %w", err)
	}
	for _, d := range doomed {
		if err := s.blobs.Delete(ctx, d); err != nil {
			return deleted, fmt.Errorf("collect garbage: %w", err)
		}
		deleted++
		s.Logger.DebugContext(ctx, "deleted unreferenced code", lambdahost.LogKeyDigest, d.String())
	}
	// Sources that keep derived state (unpacked images) drop what nothing
	// references any more.
	collectors := s.Collectors
	for _, src := range []lambdahost.CodeSource{s.S3, s.Images} {
		if c, ok := src.(Collector); ok {
			collectors = append(collectors[:len(collectors):len(collectors)], c)
		}
	}
	for _, c := range collectors {
		n, err := c.Collect(ctx, referenced)
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("collect garbage: %w", err)
		}
	}
	return deleted, nil
}

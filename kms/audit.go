package kms

import (
	"context"
	"errors"
	"fmt"

	"github.com/lambdahost/lambdahost"
)

var _ lambdahost.KeyAuditor = (*Service)(nil)

// AuditKeys implements lambdahost.KeyAuditor: it reports every key whose
// material does not open with the master key.
func (s *Service) AuditKeys(ctx context.Context, tx lambdahost.Tx, problem func(arn, message string)) error {
	mk, err := s.checkedMasterKey()
	if err != nil {
		return err
	}
	for after := ""; ; {
		recs, err := tx.ListRecords(ctx, recordKey, "", after, 100)
		if err != nil {
			return err
		}
		for _, r := range recs {
			rec, err := readKey(ctx, tx, r.Key)
			if err != nil {
				return err
			}
			if _, err := lambdahost.Unseal(mk, rec.Material, materialAAD(rec.ARN)); err != nil {
				problem(rec.ARN, "its key material does not open with this master key: is it the master key this data was sealed with?")
			}
		}
		if len(recs) < 100 {
			return nil
		}
		after = recs[len(recs)-1].Key
	}
}

// AuditKey implements lambdahost.KeyAuditor: the key arn names, enabled
// or not.
func (s *Service) AuditKey(ctx context.Context, tx lambdahost.Tx, arn string) (lambdahost.CodeKey, error) {
	mk, err := s.checkedMasterKey()
	if err != nil {
		return nil, err
	}
	m := reKeyARN.FindStringSubmatch(arn)
	if m == nil {
		return nil, &lambdahost.KeyError{ARN: arn, Err: lambdahost.ErrKeyNotFound}
	}
	rec, err := readKey(ctx, tx, recordKeyOf(m[2], m[1], m[3]))
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, &lambdahost.KeyError{ARN: arn, Err: lambdahost.ErrKeyNotFound}
	}
	if err != nil {
		return nil, err
	}
	material, err := lambdahost.Unseal(mk, rec.Material, materialAAD(rec.ARN))
	if err != nil {
		return nil, fmt.Errorf("open key %s: %w", rec.ARN, lambdahost.ErrKeyUnopenable)
	}
	return &codeKey{arn: rec.ARN, material: material}, nil
}

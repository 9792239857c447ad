package kms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lambdahost/lambdahost"
)

// Keys are records in the store, so every serve process sharing the store
// sees them, scoped by account and region as AWS's are. Their key material
// never leaves lambdahost and is kept sealed with the operator's master key.
const (
	// recordKey holds a keyRecord under "<account>/<region>/<key-id>".
	recordKey = "kms-key"
	// recordDefault holds, under "<account>/<region>", the key ID of the
	// service-managed key that seals code without a SourceKMSKeyArn.
	recordDefault = "kms-default-key"
)

// Key managers, as KMS reports them.
const (
	KeyManagerCustomer = "CUSTOMER"
	KeyManagerAWS      = "AWS"
)

// Service is the local key service: the keys of every account and region,
// which the API manages and lambdahost.KeyService uses to seal code.
type Service struct {
	store     lambdahost.Store
	masterKey []byte

	// NewKeyID returns the ID of a new key. If nil, a random UUID is used.
	NewKeyID func() string
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
}

var _ lambdahost.KeyService = (*Service)(nil)

// New returns the key service over store, sealing key material with
// masterKey (lambdahost.MasterKeySize bytes).
func New(store lambdahost.Store, masterKey []byte) *Service {
	return &Service{store: store, masterKey: masterKey}
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC().Truncate(time.Millisecond)
	}
	return s.Now().UTC().Truncate(time.Millisecond)
}

func (s *Service) newKeyID() string {
	if s.NewKeyID == nil {
		return lambdahost.NewID()
	}
	return s.NewKeyID()
}

// Key is a key of the local key service, as DescribeKey reports it.
type Key struct {
	Account     string
	Region      string
	KeyID       string
	ARN         string
	Created     time.Time
	Enabled     bool
	Description string
	KeyManager  string
}

// keyRecord is the stored form of a key.
type keyRecord struct {
	KeyID       string    `json:"keyId"`
	ARN         string    `json:"arn"`
	Created     time.Time `json:"created"`
	Enabled     bool      `json:"enabled"`
	Description string    `json:"description,omitzero"`
	KeyManager  string    `json:"keyManager"`
	// Material is the 32-byte key sealed with the master key, bound to ARN.
	Material []byte `json:"material"`
}

func (r *keyRecord) key(account, region string) *Key {
	return &Key{
		Account: account, Region: region, KeyID: r.KeyID, ARN: r.ARN, Created: r.Created,
		Enabled: r.Enabled, Description: r.Description, KeyManager: r.KeyManager,
	}
}

func recordKeyOf(account, region, id string) string { return account + "/" + region + "/" + id }

func keyARN(account, region, id string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + id
}

func materialAAD(arn string) []byte { return []byte("lambdahost kms key material\x00" + arn) }

var (
	reKeyID  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	reKeyARN = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:kms:([a-z0-9-]+):(\d{12}):key/(.+)$`)
)

// checkedMasterKey returns the key that seals key material.
func (s *Service) checkedMasterKey() ([]byte, error) {
	if len(s.masterKey) != lambdahost.MasterKeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(s.masterKey), lambdahost.MasterKeySize)
	}
	return s.masterKey, nil
}

func notFound(arn string) error {
	return lambdahost.Errorf(lambdahost.NotFoundException, "Key '%s' does not exist", arn)
}

// resolveKey parses a KeyId member (a key ID or a key ARN) for caller c and
// returns the record key and the ARN it names. A key of another account or
// region is answered as missing: one account never sees another's keys.
func resolveKey(c lambdahost.Caller, keyID string) (recKey, arn string, err error) {
	if m := reKeyARN.FindStringSubmatch(keyID); m != nil {
		if m[1] != c.Region || m[2] != c.Account || !reKeyID.MatchString(m[3]) {
			return "", "", notFound(keyID)
		}
		return recordKeyOf(c.Account, c.Region, m[3]), keyID, nil
	}
	if reKeyID.MatchString(keyID) {
		return recordKeyOf(c.Account, c.Region, keyID), keyARN(c.Account, c.Region, keyID), nil
	}
	if strings.HasPrefix(keyID, "arn:") {
		return "", "", lambdahost.Errorf(lambdahost.InvalidArnException, "ARN %s is not valid", keyID)
	}
	return "", "", lambdahost.Errorf(lambdahost.NotFoundException, "Invalid keyId '%s'", keyID)
}

// DefaultAlias names the service-managed key that seals code without a
// SourceKMSKeyArn, as AWS names Lambda's AWS managed key.
const DefaultAlias = "alias/aws/lambda"

var reAliasARN = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:kms:([a-z0-9-]+):(\d{12}):(alias/.+)$`)

// resolveAlias reports whether keyID is an alias name or alias ARN, and
// returns the caller's alias it names ("" for an alias ARN of another
// account or region) and its ARN.
func resolveAlias(c lambdahost.Caller, keyID string) (alias, arn string, ok bool) {
	if strings.HasPrefix(keyID, "alias/") {
		return keyID, "arn:aws:kms:" + c.Region + ":" + c.Account + ":" + keyID, true
	}
	if m := reAliasARN.FindStringSubmatch(keyID); m != nil {
		if m[1] != c.Region || m[2] != c.Account {
			return "", keyID, true
		}
		return m[3], keyID, true
	}
	return "", "", false
}

func checkKeyID(keyID string) error {
	if len(keyID) < 1 || len(keyID) > 2048 {
		var v lambdahost.Validation
		v.Add("keyId", lambdahost.Quote(keyID), "Member must have length between 1 and 2048")
		return v.Err()
	}
	return nil
}

// newKey creates a key of account in region with fresh key material.
func (s *Service) newKey(ctx context.Context, tx lambdahost.Tx, account, region, description, manager string) (*keyRecord, error) {
	mk, err := s.checkedMasterKey()
	if err != nil {
		return nil, err
	}
	id := s.newKeyID()
	material := make([]byte, 32)
	if _, err := rand.Read(material); err != nil {
		return nil, err
	}
	rec := &keyRecord{
		KeyID: id, ARN: keyARN(account, region, id), Created: s.now(),
		Enabled: true, Description: description, KeyManager: manager,
	}
	if rec.Material, err = lambdahost.Seal(mk, material, materialAAD(rec.ARN)); err != nil {
		return nil, err
	}
	if err := lambdahost.CreateRecord(ctx, tx, recordKey, recordKeyOf(account, region, id), rec); err != nil {
		return nil, err
	}
	return rec, nil
}

func readKey(ctx context.Context, tx lambdahost.Tx, recKey string) (*keyRecord, error) {
	return lambdahost.GetRecord[keyRecord](ctx, tx, recordKey, recKey)
}

// CreateKey creates a symmetric encryption key of the caller's account in
// its region (KMS CreateKey).
func (s *Service) CreateKey(ctx context.Context, description string) (*Key, error) {
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return nil, lambdahost.Internal("create key", err)
	}
	if len(description) > 8192 {
		var v lambdahost.Validation
		v.Add("description", lambdahost.Quote(description), "Member must have length less than or equal to 8192")
		return nil, v.Err()
	}
	var rec *keyRecord
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		rec, err = s.newKey(ctx, tx, c.Account, c.Region, description, KeyManagerCustomer)
		return err
	})
	if err != nil {
		return nil, lambdahost.Internal("create key", err)
	}
	return rec.key(c.Account, c.Region), nil
}

// DescribeKey answers the key named by keyID, a key ID or key ARN.
// Returns NotFoundException if the caller's account has no such key in
// its region.
func (s *Service) DescribeKey(ctx context.Context, keyID string) (*Key, error) {
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return nil, lambdahost.Internal("describe key", err)
	}
	if err := checkKeyID(keyID); err != nil {
		return nil, err
	}
	if alias, arn, ok := resolveAlias(c, keyID); ok {
		// As on AWS, describing the predefined alias of an AWS managed key
		// creates the key if it does not exist yet.
		if alias != DefaultAlias {
			return nil, lambdahost.Errorf(lambdahost.NotFoundException, "Alias '%s' is not found.", arn)
		}
		rec, err := s.defaultKey(ctx, c.Account, c.Region)
		if err != nil {
			return nil, lambdahost.Internal("describe key", err)
		}
		return rec.key(c.Account, c.Region), nil
	}
	recKey, arn, err := resolveKey(c, keyID)
	if err != nil {
		return nil, err
	}
	var rec *keyRecord
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		rec, err = readKey(ctx, tx, recKey)
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, notFound(arn)
	}
	if err != nil {
		return nil, lambdahost.Internal("describe key", err)
	}
	return rec.key(c.Account, c.Region), nil
}

// ListKeys answers up to limit (1 to 1000; 0 means 100) of the caller's
// keys in its region after marker, and the marker of the next page.
func (s *Service) ListKeys(ctx context.Context, limit int, marker string) ([]*Key, string, error) {
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return nil, "", lambdahost.Internal("list keys", err)
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		var v lambdahost.Validation
		v.Add("limit", strconv.Itoa(limit), "Member must have value between 1 and 1000")
		return nil, "", v.Err()
	}
	if marker != "" && !reKeyID.MatchString(marker) {
		return nil, "", lambdahost.Errorf(lambdahost.InvalidMarkerException, "Invalid marker")
	}
	var recs []*keyRecord
	var next string
	err = s.store.View(ctx, func(tx lambdahost.Tx) (err error) {
		recs, next, err = lambdahost.ScanRecords(ctx, tx, recordKey, recordKeyOf(c.Account, c.Region, ""), marker, limit,
			func(*keyRecord) bool { return true }, func(r *keyRecord) string { return r.KeyID })
		return err
	})
	if err != nil {
		return nil, "", lambdahost.Internal("list keys", err)
	}
	out := make([]*Key, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.key(c.Account, c.Region))
	}
	return out, next, nil
}

// EnableKey and DisableKey set whether the key may wrap and unwrap data
// keys. Code sealed under a disabled key cannot be deployed or read.
func (s *Service) EnableKey(ctx context.Context, keyID string) error {
	return s.setKeyEnabled(ctx, keyID, true)
}

// DisableKey: see EnableKey.
func (s *Service) DisableKey(ctx context.Context, keyID string) error {
	return s.setKeyEnabled(ctx, keyID, false)
}

func (s *Service) setKeyEnabled(ctx context.Context, keyID string, enabled bool) error {
	c, err := lambdahost.AuthenticatedCaller(ctx)
	if err != nil {
		return lambdahost.Internal("enable key", err)
	}
	if err := checkKeyID(keyID); err != nil {
		return err
	}
	recKey, arn, err := resolveKey(c, keyID)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		rec, err := readKey(ctx, tx, recKey)
		if err != nil {
			return err
		}
		if rec.KeyManager == KeyManagerAWS {
			// KMS refuses to change AWS managed keys.
			e := lambdahost.Errorf(lambdahost.KMSInvalidStateException, "%s is an AWS managed key and cannot be modified.", rec.ARN)
			e.Status = 400 // KMS's, not Lambda's 502
			return e
		}
		rec.Enabled = enabled
		return lambdahost.PutRecord(ctx, tx, recordKey, recKey, rec)
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return notFound(arn)
	}
	if err != nil {
		return lambdahost.Internal("enable key", err)
	}
	return nil
}

// codeKey is a key ready to wrap or unwrap code data keys.
type codeKey struct {
	arn      string
	material []byte
}

// CodeKey implements lambdahost.KeyService: the key that seals code of
// account in region, the one keyARN names or the service-managed default
// key, created on first use.
func (s *Service) CodeKey(ctx context.Context, account, region, keyARN string) (lambdahost.CodeKey, error) {
	mk, err := s.checkedMasterKey()
	if err != nil {
		return nil, err
	}
	var rec *keyRecord
	if keyARN == "" {
		rec, err = s.defaultKey(ctx, account, region)
	} else {
		rec, err = s.sourceKey(ctx, account, region, keyARN)
	}
	if err != nil {
		return nil, err
	}
	if !rec.Enabled {
		return nil, &lambdahost.KeyError{ARN: rec.ARN, Err: lambdahost.ErrKeyDisabled}
	}
	material, err := lambdahost.Unseal(mk, rec.Material, materialAAD(rec.ARN))
	if err != nil {
		return nil, fmt.Errorf("open key %s: %w", rec.ARN, err)
	}
	return &codeKey{arn: rec.ARN, material: material}, nil
}

// CodeKeyByARN implements lambdahost.KeyService: the key arn names,
// whichever account's default or customer key it is, for opening code.
func (s *Service) CodeKeyByARN(ctx context.Context, arn string) (lambdahost.CodeKey, error) {
	m := reKeyARN.FindStringSubmatch(arn)
	if m == nil {
		return nil, fmt.Errorf("code sealed with %q: not a key ARN", arn)
	}
	return s.CodeKey(ctx, m[2], m[1], arn)
}

// sourceKey reads the key arn names, which must be account's in region.
func (s *Service) sourceKey(ctx context.Context, account, region, arn string) (*keyRecord, error) {
	missing := &lambdahost.KeyError{ARN: arn, Err: lambdahost.ErrKeyNotFound}
	m := reKeyARN.FindStringSubmatch(arn)
	if m == nil || m[1] != region || m[2] != account {
		return nil, missing
	}
	var rec *keyRecord
	err := s.store.View(ctx, func(tx lambdahost.Tx) error {
		var err error
		rec, err = readKey(ctx, tx, recordKeyOf(account, region, m[3]))
		return err
	})
	if errors.Is(err, lambdahost.ErrNotFound) {
		return nil, missing
	}
	return rec, err
}

// defaultKey returns account's service-managed key in region, creating it
// if there is none. Concurrent first uses agree on one key: the default
// record is created once, and losers read the winner's.
func (s *Service) defaultKey(ctx context.Context, account, region string) (*keyRecord, error) {
	var rec *keyRecord
	read := func(tx lambdahost.Tx) error {
		id, err := tx.Record(ctx, recordDefault, account+"/"+region)
		if err != nil {
			return err
		}
		rec, err = readKey(ctx, tx, recordKeyOf(account, region, string(id)))
		return err
	}
	// Usually the key exists: a read transaction suffices.
	err := s.store.View(ctx, read)
	if err == nil {
		return rec, nil
	}
	if !errors.Is(err, lambdahost.ErrNotFound) {
		return nil, fmt.Errorf("default key of %s in %s: %w", account, region, err)
	}
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		// Another process may have created it since the View.
		if err := read(tx); !errors.Is(err, lambdahost.ErrNotFound) {
			return err
		}
		var err error
		rec, err = s.newKey(ctx, tx, account, region, "Default key that protects my Lambda functions when no other key is defined", KeyManagerAWS)
		if err != nil {
			return err
		}
		return tx.CreateRecord(ctx, recordDefault, account+"/"+region, []byte(rec.KeyID))
	})
	if err != nil {
		return nil, fmt.Errorf("default key of %s in %s: %w", account, region, err)
	}
	return rec, nil
}

func dataKeyAAD(arn string) []byte { return []byte("lambdahost code data key\x00" + arn) }

func (k *codeKey) ARN() string { return k.arn }

func (k *codeKey) Wrap(dataKey []byte) ([]byte, error) {
	return lambdahost.Seal(k.material, dataKey, dataKeyAAD(k.arn))
}

func (k *codeKey) Unwrap(wrapped []byte) ([]byte, error) {
	return lambdahost.Unseal(k.material, wrapped, dataKeyAAD(k.arn))
}

package lambdahost

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// A signed package is the zip as it was, with a signature block as its
// zip comment (the end of central directory record's comment). The files
// the function sees are unchanged, and every zip reader skips the comment.
//
// The signature covers the package with an empty comment: every byte up to
// the comment length field, then a zero length. The block is the marker
// signatureMagic followed by the base64 of a JSON object: the profile
// version and job ARNs, the signing and expiry times, and an ECDSA (P-384)
// ASN.1 signature over the SHA-384 of signedMessage, which binds those
// fields to the SHA-384 of the covered bytes. Signing a package again
// replaces its comment; a package with a comment that is not a signature
// block verifies as unsigned.
const signatureMagic = "lambdahost-code-signature-v1:"

// eocdLen is the size of the end of central directory record without its
// comment; the comment length is its last two bytes.
const eocdLen = 22

// maxSignatureBlock bounds the block read from an untrusted package.
const maxSignatureBlock = 8 << 10

// CodeSignature is what a package's signature asserts.
type CodeSignature struct {
	// ProfileVersionARN is the signing profile version whose key signed.
	ProfileVersionARN string
	// JobARN is the signing job that made the signature.
	JobARN string
	// SignedAt is when the package was signed; ExpiresAt is the end of
	// the profile's signature validity period.
	SignedAt  time.Time
	ExpiresAt time.Time
}

// Errors of ReadCodeSignature and SignedCode.Verify.
var (
	// ErrNotSigned: the package carries no signature block.
	ErrNotSigned = errors.New("package is not signed")
	// ErrBadSignature: the package carries a signature block that does not
	// verify: malformed, made by another key, or the content changed.
	ErrBadSignature = errors.New("package signature does not verify")
)

// SignedCode is a signature read from a package, with the digest of the
// content it should cover.
type SignedCode struct {
	Signature CodeSignature
	sig       []byte
	content   []byte // SHA-384 of the covered bytes, as read
}

type signatureBlock struct {
	ProfileVersionARN string    `json:"profileVersionArn"`
	JobARN            string    `json:"jobArn"`
	SignedAt          time.Time `json:"signedAt"`
	ExpiresAt         time.Time `json:"expiresAt"`
	Signature         []byte    `json:"signature"`
}

// signedMessage is what the key signs: the fields of sig and the digest of
// the covered content, unambiguously (JSON strings cannot hold a raw
// newline).
func signedMessage(sig CodeSignature, content []byte) []byte {
	fields, _ := json.Marshal([]string{sig.ProfileVersionARN, sig.JobARN,
		sig.SignedAt.UTC().Format(time.RFC3339Nano), sig.ExpiresAt.UTC().Format(time.RFC3339Nano)})
	m := sha512.Sum384(append(append([]byte("lambdahost code signature v1\n"), fields...), content...))
	return m[:]
}

// findEOCD returns the offset of r's end of central directory record: the
// last one whose comment ends exactly at size.
func findEOCD(r io.ReaderAt, size int64) (int64, error) {
	if size < eocdLen {
		return 0, errors.New("not a zip: too short")
	}
	tail := min(size, eocdLen+0xFFFF)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return 0, err
	}
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if buf[i] != 'P' || buf[i+1] != 'K' || buf[i+2] != 5 || buf[i+3] != 6 {
			continue
		}
		if n := int(binary.LittleEndian.Uint16(buf[i+20:])); i+eocdLen+n == len(buf) {
			return size - tail + int64(i), nil
		}
	}
	return 0, errors.New("not a zip: no end of central directory record")
}

// hashCovered returns the SHA-384 of what a signature of the package in r
// covers, and where its comment starts.
func hashCovered(r io.ReaderAt, size int64) (digest []byte, comment int64, err error) {
	eocd, err := findEOCD(r, size)
	if err != nil {
		return nil, 0, err
	}
	digest, err = hashUpTo(r, eocd)
	return digest, eocd + eocdLen, err
}

// hashUpTo returns the SHA-384 of what a signature covers, given the
// offset of the end of central directory record.
func hashUpTo(r io.ReaderAt, eocd int64) ([]byte, error) {
	h := sha512.New384()
	if err := copyRange(h, r, eocd+20); err != nil {
		return nil, err
	}
	h.Write([]byte{0, 0})
	return h.Sum(nil), nil
}

func copyRange(h hash.Hash, r io.ReaderAt, n int64) error {
	_, err := io.Copy(h, io.NewSectionReader(r, 0, n))
	return err
}

// SignZip writes to w the zip in r (size bytes) signed with key, which
// must be the ECDSA P-384 key of sig.ProfileVersionARN.
func SignZip(r io.ReaderAt, size int64, w io.Writer, sig CodeSignature, key crypto.Signer) error {
	if pub, ok := key.Public().(*ecdsa.PublicKey); !ok || pub.Curve.Params().BitSize != 384 {
		return errors.New("sign zip: key is not an ECDSA P-384 key")
	}
	content, comment, err := hashCovered(r, size)
	if err != nil {
		return fmt.Errorf("sign zip: %w", err)
	}
	s, err := key.Sign(rand.Reader, signedMessage(sig, content), crypto.SHA384)
	if err != nil {
		return fmt.Errorf("sign zip: %w", err)
	}
	b, _ := json.Marshal(signatureBlock{sig.ProfileVersionARN, sig.JobARN, sig.SignedAt.UTC(), sig.ExpiresAt.UTC(), s})
	block := signatureMagic + base64.StdEncoding.EncodeToString(b)
	if len(block) > maxSignatureBlock {
		return errors.New("sign zip: signature block too large (ARNs too long)")
	}
	if _, err := io.Copy(w, io.NewSectionReader(r, 0, comment-2)); err != nil {
		return fmt.Errorf("sign zip: %w", err)
	}
	var n [2]byte
	binary.LittleEndian.PutUint16(n[:], uint16(len(block)))
	if _, err := w.Write(n[:]); err != nil {
		return fmt.Errorf("sign zip: %w", err)
	}
	if _, err := io.WriteString(w, block); err != nil {
		return fmt.Errorf("sign zip: %w", err)
	}
	return nil
}

// ReadCodeSignature reads the signature of the package in r (size bytes)
// and hashes the content it covers; Verify then checks it against the
// signer's key. It returns an error wrapping ErrNotSigned if the package
// carries no signature block, or ErrBadSignature if it carries one that
// cannot be read.
func ReadCodeSignature(r io.ReaderAt, size int64) (*SignedCode, error) {
	eocd, err := findEOCD(r, size)
	if err != nil {
		return nil, fmt.Errorf("read code signature: %w: %v", ErrNotSigned, err)
	}
	// The comment is looked at first: an unsigned package, the usual case,
	// is not hashed.
	comment := eocd + eocdLen
	n := size - comment
	if n < int64(len(signatureMagic)) || n > maxSignatureBlock {
		return nil, fmt.Errorf("read code signature: %w", ErrNotSigned)
	}
	raw := make([]byte, n)
	if _, err := r.ReadAt(raw, comment); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read code signature: %w", err)
	}
	rest, ok := bytes.CutPrefix(raw, []byte(signatureMagic))
	if !ok {
		return nil, fmt.Errorf("read code signature: %w", ErrNotSigned)
	}
	b, err := base64.StdEncoding.DecodeString(string(rest))
	if err != nil {
		return nil, fmt.Errorf("read code signature: %w: %v", ErrBadSignature, err)
	}
	var blk signatureBlock
	if err := json.Unmarshal(b, &blk); err != nil {
		return nil, fmt.Errorf("read code signature: %w: %v", ErrBadSignature, err)
	}
	if blk.ProfileVersionARN == "" || len(blk.Signature) == 0 {
		return nil, fmt.Errorf("read code signature: %w: incomplete block", ErrBadSignature)
	}
	content, err := hashUpTo(r, eocd)
	if err != nil {
		return nil, fmt.Errorf("read code signature: %w", err)
	}
	return &SignedCode{
		Signature: CodeSignature{blk.ProfileVersionARN, blk.JobARN, blk.SignedAt.UTC(), blk.ExpiresAt.UTC()},
		sig:       blk.Signature,
		content:   content,
	}, nil
}

// Verify checks that pub made the signature over the content as read: it
// returns an error wrapping ErrBadSignature if the content or the
// signature's fields changed since signing, or another key signed.
func (s *SignedCode) Verify(pub *ecdsa.PublicKey) error {
	if pub == nil || !ecdsa.VerifyASN1(pub, signedMessage(s.Signature, s.content), s.sig) {
		return fmt.Errorf("verify code signature: %w", ErrBadSignature)
	}
	return nil
}

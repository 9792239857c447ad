package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lambdahost/lambdahost/signer"
)

// PEM headers of an exported profile key.
const (
	pemHeaderProfileVersionARN = "Profile-Version-Arn"
	pemHeaderValidity          = "Signature-Validity"
)

// exportKey is lambdahost signer export-key: it writes a profile
// version's private key as PEM for lambdahost sign.
//
// It reads the data directory's store and master key directly instead of
// asking a server: no API can hand out a private key, so a key leaves only
// for someone who can read the data directory and the master key, the
// operator. The store is SQLite in WAL mode, so this works while serve runs.
type exportKey struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	DataDir           string
	Database          string
	MasterKeyFile     string
	ProfileVersionARN string
	Out               string
}

func (c *exportKey) parseFlags(args []string) error {
	fs := flag.NewFlagSet("signer export-key", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	env := envDefault(c.Getenv)
	fs.StringVar(&c.DataDir, "data-dir", env("data-dir", defaultDataDir(c.Getenv)), "serve's data directory (LAMBDAHOST_DATA_DIR)")
	fs.StringVar(&c.Database, "database", env("database", ""), "postgres://… URL of the database serve's nodes share (LAMBDAHOST_DATABASE); default: SQLite in the data dir")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", env("master-key-file", ""), "serve's master key file (LAMBDAHOST_MASTER_KEY_FILE); default: master.key in the data dir")
	fs.StringVar(&c.ProfileVersionARN, "profile-version-arn", "", "the profileVersionArn put-signing-profile answered")
	fs.StringVar(&c.Out, "out", "", "file to create with the key, readable by its owner only; - for standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case c.ProfileVersionARN == "":
		return errors.New("--profile-version-arn is required")
	case c.Out == "":
		return errors.New("--out is required")
	case c.Database != "" && !isPostgres(c.Database):
		return errors.New("--database: want a postgres:// URL (or nothing for SQLite in the data dir)")
	case c.DataDir == "" && (c.Database == "" || c.MasterKeyFile == ""):
		return errors.New("--data-dir: no default data directory (set HOME or XDG_DATA_HOME)")
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	return nil
}

func (c *exportKey) run(ctx context.Context) error {
	// Neither the store nor the key is created here: without them there
	// is no key to export.
	if c.Database == "" {
		if _, err := os.Stat(filepath.Join(c.DataDir, "lambdahost.db")); err != nil {
			return fmt.Errorf("no lambdahost store in %s: %w", c.DataDir, err)
		}
	}
	if _, err := os.Stat(c.MasterKeyFile); err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	masterKey, err := loadMasterKey(c.MasterKeyFile)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, c.Database, c.DataDir, slog.New(slog.NewTextHandler(c.Stderr, nil)))
	if err != nil {
		return err
	}
	defer store.Close()
	k, err := signer.New(store, nil, masterKey).ExportProfileKey(ctx, c.ProfileVersionARN)
	if err != nil {
		return err
	}
	b, err := encodeProfileKey(k)
	if err != nil {
		return err
	}
	if c.Out == "-" {
		_, err := c.Stdout.Write(b)
		return err
	}
	f, err := os.OpenFile(c.Out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(c.Out)
		return err
	}
	return f.Close()
}

// encodeProfileKey writes k as a PKCS #8 PEM block whose headers name the
// profile version and its signature validity period.
func encodeProfileKey(k *signer.ExportedKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{
		Type: "PRIVATE KEY",
		Headers: map[string]string{
			pemHeaderProfileVersionARN: k.ProfileVersionARN,
			pemHeaderValidity:          fmt.Sprintf("%d %s", k.Validity.Value, k.Validity.Type),
		},
		Bytes: der,
	}), nil
}

// decodeProfileKey reads what encodeProfileKey wrote. A missing validity
// header means AWS Signer's default, 135 months.
func decodeProfileKey(b []byte) (*signer.ExportedKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PRIVATE KEY PEM block")
	}
	arn := block.Headers[pemHeaderProfileVersionARN]
	if _, _, err := splitProfileVersionARN(arn); err != nil {
		return nil, fmt.Errorf("%s header: %w", pemHeaderProfileVersionARN, err)
	}
	validity := signer.DefaultSignatureValidity
	if v := block.Headers[pemHeaderValidity]; v != "" {
		n, unit, ok := strings.Cut(v, " ")
		value, err := strconv.Atoi(n)
		if !ok || err != nil || value <= 0 || (unit != signer.ValidityDays && unit != signer.ValidityMonths && unit != signer.ValidityYears) {
			return nil, fmt.Errorf("%s header: want a number and DAYS, MONTHS or YEARS, got %q", pemHeaderValidity, v)
		}
		validity = signer.ValidityPeriod{Value: value, Type: unit}
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve.Params().BitSize != 384 {
		return nil, errors.New("not an ECDSA P-384 key")
	}
	return &signer.ExportedKey{Key: ek, ProfileVersionARN: arn, Validity: validity}, nil
}

// splitProfileVersionARN returns the region and account of
// arn:aws:signer:<region>:<account>:/signing-profiles/<name>/<version>.
func splitProfileVersionARN(arn string) (region, account string, err error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "signer" || parts[3] == "" || len(parts[4]) != 12 {
		return "", "", fmt.Errorf("not a signing profile version ARN: %q", arn)
	}
	rest, ok := strings.CutPrefix(parts[5], "/signing-profiles/")
	if name, version, ok2 := strings.Cut(rest, "/"); !ok || !ok2 || name == "" || len(version) != 10 {
		return "", "", fmt.Errorf("not a signing profile version ARN: %q", arn)
	}
	return parts[3], parts[4], nil
}

// runSigner runs lambdahost signer SUBCOMMAND and returns the exit code.
func runSigner(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	const usage = "usage: lambdahost signer export-key --profile-version-arn ARN --out FILE [--data-dir DIR | --database postgres://…] [--master-key-file FILE]"
	if len(args) == 0 || args[0] != "export-key" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	c := &exportKey{Stdout: stdout, Stderr: stderr, Getenv: getenv}
	if err := c.parseFlags(args[1:]); err != nil {
		if err == errHelp {
			return 0
		}
		fmt.Fprintln(stderr, "lambdahost signer export-key:", err)
		return 2
	}
	if err := c.run(ctx); err != nil {
		fmt.Fprintln(stderr, "lambdahost signer export-key:", err)
		return 1
	}
	return 0
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lambdahost/lambdahost"
)

// sign is lambdahost sign: it signs a zip offline with a key that
// lambdahost signer export-key wrote, for pipelines without S3. The
// signature names the key's profile version and a job ARN made up here
// (arn:aws:signer:<region>:<account>:/signing-jobs/<uuid>); no server
// knows that job, so RevokeSignature cannot revoke it, but revoking the
// profile does.
type sign struct {
	Stdout, Stderr io.Writer
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time

	Key, In, Out string
}

func (c *sign) parseFlags(args []string) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.StringVar(&c.Key, "key", "", "PEM file written by lambdahost signer export-key")
	fs.StringVar(&c.In, "in", "", "zip to sign")
	fs.StringVar(&c.Out, "out", "", "signed zip to write")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.Key == "" || c.In == "" || c.Out == "" {
		return errors.New("--key, --in and --out are required")
	}
	return nil
}

func (c *sign) run() error {
	pemBytes, err := os.ReadFile(c.Key)
	if err != nil {
		return err
	}
	k, err := decodeProfileKey(pemBytes)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Key, err)
	}
	region, account, _ := splitProfileVersionARN(k.ProfileVersionARN)

	in, err := os.Open(c.In)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	// As AWS Signer does, refuse a zip that is already signed.
	if _, err := lambdahost.ReadCodeSignature(in, st.Size()); !errors.Is(err, lambdahost.ErrNotSigned) {
		return fmt.Errorf("%s is already signed", c.In)
	}

	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	signedAt := now().UTC().Truncate(time.Millisecond)
	sig := lambdahost.CodeSignature{
		ProfileVersionARN: k.ProfileVersionARN,
		JobARN:            fmt.Sprintf("arn:aws:signer:%s:%s:/signing-jobs/%s", region, account, lambdahost.NewID()),
		SignedAt:          signedAt,
		ExpiresAt:         k.Validity.After(signedAt),
	}

	// Write beside the output and rename, so that no half-signed zip is
	// ever seen under its name.
	tmp := c.Out + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = lambdahost.SignZip(in, st.Size(), out, sig, k.Key)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, c.Out)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sign %s: %w", c.In, err)
	}
	fmt.Fprintf(c.Stdout, "signed %s as %s\njob %s\nexpires %s\n", c.Out, sig.ProfileVersionARN, sig.JobARN, sig.ExpiresAt.Format(time.RFC3339))
	return nil
}

// runSign runs lambdahost sign and returns the exit code.
func runSign(args []string, stdout, stderr io.Writer) int {
	c := &sign{Stdout: stdout, Stderr: stderr}
	if err := c.parseFlags(args); err != nil {
		if err == errHelp {
			return 0
		}
		fmt.Fprintln(stderr, "lambdahost sign:", err)
		return 2
	}
	if err := c.run(); err != nil {
		fmt.Fprintln(stderr, "lambdahost sign:", err)
		return 1
	}
	return 0
}

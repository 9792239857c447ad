// Command lambdahost serves the AWS Lambda API on your own machine.
//
//	lambdahost serve [--listen 127.0.0.1:9001] [--data-dir DIR] [--ready-file FILE]
//	                 [--credentials FILE] [--code-storage-limit BYTES] [--log-level LEVEL]
//	                 [--function-network host|internet|none] [--function-env NAME=VALUE]...
//	                 [--interpreter RUNTIME=PATH]... [--runtimes-dir DIR]
//	lambdahost runtimes [--install] [--interpreter RUNTIME=PATH]... [--runtimes-dir DIR]
//	lambdahost backup --to DIR [--data-dir DIR] [--include-master-key] [--master-key-file FILE] [--copy]
//	lambdahost restore --from DIR [--data-dir DIR] [--master-key-file FILE] [--copy]
//	lambdahost check [--data-dir DIR] [--master-key-file FILE] [--gc-grace 1h] [--repair]
//	lambdahost signer export-key --profile-version-arn ARN --out key.pem [--data-dir DIR | --database postgres://…]
//	lambdahost sign --key key.pem --in code.zip --out signed.zip
//	lambdahost migrate --from DATA_DIR --to-database postgres://… --to-blob-store s3://BUCKET/PREFIX
//	lambdahost deploy --function NAME [--dir DIR] [--watch] [--publish] [--alias ALIAS] [--endpoint URL]
//	lambdahost version
//
// Every flag of these commands may also be set by an environment variable named
// LAMBDAHOST_ and the flag in upper case with - as _ (LAMBDAHOST_DATA_DIR).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/lambdahost/lambdahost/sandbox"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: lambdahost serve|backup|restore|check|deploy [flags] | lambdahost runtimes [--install] | lambdahost version")
		return 2
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "lambdahost", version)
		fmt.Fprintln(stdout, networkSummary(getenv))
		return 0
	case "runtimes":
		return runRuntimes(ctx, args[1:], getenv, stdout, stderr)
	case "serve":
		m := &Main{Stdout: stdout, Stderr: stderr, Getenv: getenv}
		if err := m.ParseFlags(args[1:]); err != nil {
			if err == errHelp {
				return 0
			}
			fmt.Fprintln(stderr, "lambdahost serve:", err)
			return 2
		}
		if err := m.Run(ctx); err != nil {
			fmt.Fprintln(stderr, "lambdahost serve:", err)
			return 1
		}
		return 0
	case "backup":
		c := &backupCmd{Stdout: stdout, Stderr: stderr, Getenv: getenv}
		return runCommand(ctx, "backup", c.parseFlags, c.run, args[1:], stderr)
	case "restore":
		c := &restoreCmd{Stdout: stdout, Stderr: stderr, Getenv: getenv}
		return runCommand(ctx, "restore", c.parseFlags, c.run, args[1:], stderr)
	case "check":
		c := &checkCmd{Stdout: stdout, Stderr: stderr, Getenv: getenv}
		return runCommand(ctx, "check", c.parseFlags, c.run, args[1:], stderr)
	case "signer":
		return runSigner(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		c := &migrateCmd{Stdout: stdout, Stderr: stderr, Getenv: getenv}
		if err := c.parseFlags(args[1:]); err != nil {
			if err == errHelp {
				return 0
			}
			fmt.Fprintln(stderr, "lambdahost migrate:", err)
			return 2
		}
		if err := c.run(ctx); err != nil {
			fmt.Fprintln(stderr, "lambdahost migrate:", err)
			return 1
		}
		return 0
	case "sign":
		return runSign(args[1:], stdout, stderr)
	case "deploy":
		c := &deployCmd{Stdout: stdout, Stderr: stderr, Getenv: getenv}
		return runCommand(ctx, "deploy", c.parseFlags, c.run, args[1:], stderr)
	default:
		fmt.Fprintf(stderr, "lambdahost: unknown command %q\nusage: lambdahost serve|backup|restore|check|deploy [flags] | lambdahost runtimes [--install] | lambdahost version\n", args[0])
		return 2
	}
}

// networkSummary says what functions of a serve started with this
// environment would reach: the mode of LAMBDAHOST_FUNCTION_NETWORK, or the
// default for LAMBDAHOST_LISTEN, and whether pasta is there to provide it.
func networkSummary(getenv func(string) string) string {
	env := envDefault(getenv)
	listen := env("listen", "127.0.0.1:9001")
	mode, explicit := networkFor(env("function-network", ""), listen)
	why := "the default for --listen " + listen
	if explicit {
		why = "LAMBDAHOST_FUNCTION_NETWORK"
	}
	pasta := "pasta: not found, so functions get no network (apt-get install passt)"
	if p, err := exec.LookPath("pasta"); err == nil {
		pasta = "pasta: " + p
	}
	if mode == sandbox.NetworkNone {
		pasta = "pasta: not needed"
	}
	return fmt.Sprintf("function network: %s (%s; --function-network host, internet or none); %s", mode, why, pasta)
}

// runCommand parses a command's flags and runs it: exit status 2 for bad
// flags, 1 for a failure (errNotIntact: the command reported it), 0 else.
func runCommand(ctx context.Context, name string, parse func([]string) error, run func(context.Context) error, args []string, stderr io.Writer) int {
	if err := parse(args); err != nil {
		if err == errHelp {
			return 0
		}
		fmt.Fprintf(stderr, "lambdahost %s: %v\n", name, err)
		return 2
	}
	if err := run(ctx); err != nil {
		if err != errNotIntact {
			fmt.Fprintf(stderr, "lambdahost %s: %v\n", name, err)
		}
		return 1
	}
	return 0
}

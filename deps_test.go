package lambdahost_test

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestDeps keeps the root package free of non-standard-library imports:
// adapters depend on it, never the other way round.
func TestDeps(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			t.Errorf("root package imports %q; it may import only the standard library", imp)
		}
	}
}

// TestServiceDeps keeps each AWS service in its own package: the Lambda
// control plane imports only the root package (it reaches the other
// services through root interfaces: KeyService, Publishers), no service
// package imports another but http, Lambda's wire layer, imports control,
// and cmd/lambdahost alone wires them. A new service adds its package.
func TestServiceDeps(t *testing.T) {
	const module = "github.com/lambdahost/lambdahost"
	services := []string{"control", "http", "kms", "logs", "signer", "sts"}
	for _, dir := range services {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			rest, inModule := strings.CutPrefix(imp, module+"/")
			switch {
			case dir == "control" && inModule:
				t.Errorf("control imports %s; it may import only the root package", imp)
			case !inModule || dir == "http" && rest == "control":
			case slices.Contains(services, rest):
				t.Errorf("%s imports the service package %s: services depend on each other through root interfaces", dir, imp)
			}
		}
	}
}

// TestOperatorDeps keeps the operator's view apart: only metrics imports
// the Prometheus client (the rest report through lambdahost.Meter), and
// the console reaches lambdahost through the control plane alone.
func TestOperatorDeps(t *testing.T) {
	const module = "github.com/lambdahost/lambdahost"
	for _, dir := range []string{".", "control", "invoke", "http", "console", "sqlite", "postgres"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, "github.com/prometheus/") {
				t.Errorf("%s imports %s: report through lambdahost.Meter; only metrics/ imports Prometheus", dir, imp)
			}
			if rest, ok := strings.CutPrefix(imp, module+"/"); dir == "console" && ok && rest != "control" {
				t.Errorf("console imports %s; it may import only the root package and control", imp)
			}
		}
	}
	pkg, err := build.ImportDir("metrics", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
			t.Errorf("metrics imports %s; it may import only the root package", rest)
		}
	}
}

// TestExecutorDeps keeps the executor off the service packages: it hands
// functions' logs to a lambdahost.LogSink, which cmd/lambdahost wires to
// package logs.
func TestExecutorDeps(t *testing.T) {
	const module = "github.com/lambdahost/lambdahost/"
	pkg, err := build.ImportDir("invoke", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		switch strings.TrimPrefix(imp, module) {
		case "control", "http", "kms", "logs", "signer":
			t.Errorf("invoke imports the service package %s", imp)
		}
	}
}

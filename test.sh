#!/usr/bin/env bash
# The project's test command: vet, unit tests, golden files, fuzz seeds and
# the end-to-end suite through the real binary, all with the race detector,
# then every fuzz target for a bounded time (LAMBDAHOST_FUZZTIME, 8s each).
set -euo pipefail
cd "$(dirname "$0")"
go vet ./...
go vet -tags e2e ./e2e/...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags e2e ./e2e/...
go test -race -count=1 -tags e2e -timeout 30m ./... "$@"

# Fuzz every target for a bounded time (Go fuzzes one target per run). The
# targets are found, not listed, so that a new one cannot be forgotten. A
# crasher is written to the package's testdata/fuzz and fails the run.
fuzztime="${LAMBDAHOST_FUZZTIME:-8s}"
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg="./$(dirname "${file#./}")"
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz $pkg $target for $fuzztime"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done

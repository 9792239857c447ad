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
#
# Go 1.26's fuzz coordinator can fail a run with a bare "context deadline
# exceeded" when -fuzztime ends while a worker is mid-input (go.dev/issue/
# 75804, fixed in Go 1.27). Such a run found nothing: it wrote no failing
# input and reported no panic or test failure. It is run again, up to
# twice; any other failure fails at once.
fuzztime="${LAMBDAHOST_FUZZTIME:-8s}"
fuzz_one() {
	local pkg=$1 target=$2 log attempt
	log=$(mktemp)
	for attempt in 1 2 3; do
		echo "fuzz $pkg $target for $fuzztime"
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
			rm -f "$log"
			return 0
		fi
		if ! grep -q 'context deadline exceeded' "$log" ||
			grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"; then
			rm -f "$log"
			return 1
		fi
		echo "fuzz $pkg $target: Go's fuzztime deadline race (go.dev/issue/75804), nothing found; running again ($attempt)"
	done
	rm -f "$log"
	return 1
}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg="./$(dirname "${file#./}")"
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		fuzz_one "$pkg" "$target"
	done
done

#!/usr/bin/env bash
# The project's test command: vet, staticcheck, then unit tests, golden
# files, fuzz seeds and the end-to-end suite through the real binary, all
# with the race detector, then every fuzz target for a bounded time
# (LAMBDAHOST_FUZZTIME, 8s each). Arguments go to the go test run
# (./test.sh -run TestX).
#
# Each phase prints its wall time as it ends, and a table of them all,
# with every test package's time, closes the run (.ci/phases.sh).
set -euo pipefail
cd "$(dirname "$0")"
. .ci/phases.sh

# vet and staticcheck see every package once: the e2e tag only adds the
# e2e package's files.
phase "vet" go vet -tags e2e ./...
phase "staticcheck" go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags e2e ./...

# go test prints "ok <package> <seconds>" as each package's tests end;
# the table lists those times under this phase, longest first.
run_tests() {
	local log status=0
	log=$(mktemp)
	go test -race -count=1 -tags e2e -timeout 30m ./... "$@" 2>&1 | tee "$log" || status=$?
	# "ok  <tab>pkg<tab>12.3s", "FAIL<tab>pkg<tab>12.3s" (no "(cached)": -count=1).
	awk -F'\t' '($1 ~ /^ok/ || $1 == "FAIL") && $3 ~ /^[0-9.]+s/ {
		sub(/^github\.com\/lambdahost\/lambdahost/, ".", $2)
		st = ($1 == "FAIL") ? 1 : 0
		printf "%s\t%d\t%s\n", substr($3, 1, length($3) - 1), st, "package " $2
	}' "$log" | sort -t$'\t' -k1,1 -rn | while IFS=$'\t' read -r secs st name; do
		phase_record 1 "$secs" "$st" "$name"
	done
	rm -f "$log"
	return "$status"
}
phase "test (go test -race -tags e2e ./...)" run_tests "$@"

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
fuzz_all() {
	local file pkg target failed=0
	while read -r file; do
		pkg="./$(dirname "${file#./}")"
		for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
			phase "$pkg $target" fuzz_one "$pkg" "$target" || failed=1
		done
	done < <(grep -rl --include='*_test.go' '^func Fuzz' . | sort)
	return "$failed"
}
phase "fuzz ($fuzztime per target)" fuzz_all

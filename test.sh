#!/usr/bin/env bash
# The project's test command: vet, unit tests, golden files, fuzz seeds and
# the end-to-end suite through the real binary, all with the race detector.
set -euo pipefail
cd "$(dirname "$0")"
go vet ./...
go vet -tags e2e ./e2e/...
go test -race -count=1 -tags e2e -timeout 30m ./... "$@"

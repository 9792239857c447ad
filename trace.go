package lambdahost

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Recursive loop detection follows an event through the invocations it
// causes, as Lambda does, in the X-Ray trace header that travels with it:
// its Lineage field counts, per function, how many times the chain of
// invocations has run that function. lambdahost sets it on every
// invocation that its own asynchronous paths start (Event invocations,
// destinations, event source mappings) and passes it to the runtime, whose
// SDK sends it on with the calls the function makes.
//
// The field is "Lineage=" and, separated by '|', entries "<hash>:<count>",
// where hash is eight hex digits of the SHA-256 of the unqualified function
// ARN.

// MaxRecursionDepth is how many times a chain of invocations may run one
// function before recursive loop detection stops it (AWS: 16).
const MaxRecursionDepth = 16

// lineageKey is the trace header field of the counts.
const lineageKey = "Lineage"

// lineageHash names function arn in a Lineage field.
func lineageHash(arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return hex.EncodeToString(sum[:4])
}

// LineageCount returns how many times the chain of invocations that trace
// belongs to has run function arn (unqualified), 0 if the trace does not
// say.
func LineageCount(trace, arn string) int {
	h := lineageHash(arn)
	for _, e := range lineageEntries(trace) {
		if hash, n, ok := strings.Cut(e, ":"); ok && hash == h {
			c, err := strconv.Atoi(n)
			if err != nil || c < 0 {
				return 0
			}
			return c
		}
	}
	return 0
}

// WithLineage returns trace with the count of function arn set to n, other
// fields and counts kept. An empty trace gets only the Lineage field.
func WithLineage(trace, arn string, n int) string {
	h := lineageHash(arn)
	entries := []string{h + ":" + strconv.Itoa(n)}
	for _, e := range lineageEntries(trace) {
		if hash, _, _ := strings.Cut(e, ":"); hash != h && e != "" {
			entries = append(entries, e)
		}
	}
	field := lineageKey + "=" + strings.Join(entries, "|")
	var parts []string
	for _, p := range strings.Split(trace, ";") {
		if k, _, _ := strings.Cut(strings.TrimSpace(p), "="); k == lineageKey || strings.TrimSpace(p) == "" {
			continue
		}
		parts = append(parts, p)
	}
	return strings.Join(append(parts, field), ";")
}

// lineageEntries returns the entries of trace's Lineage field.
func lineageEntries(trace string) []string {
	for _, p := range strings.Split(trace, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && k == lineageKey {
			return strings.Split(v, "|")
		}
	}
	return nil
}

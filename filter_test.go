package lambdahost

import (
	"errors"
	"testing"
)

func TestParseFilterInvalid(t *testing.T) {
	for _, p := range []string{
		`"simple string"`, `null`, `[]`, `{"eventSource": "aws:sqs"}`, `{"eventSource": []}`, `{`, `{}`,
		`{"a": [{"prefix": 1}]}`, `{"a": [{"numeric": [">", "x"]}]}`, `{"a": [{"numeric": ["<", 1, ">", 2]}]}`,
		`{"a": [{"numeric": [">", 5, "<", 1]}]}`, `{"a": [{"numeric": ["=", 1, "<", 3]}]}`, `{"a": [{"exists": "yes"}]}`,
		`{"a": [{"unknown": 1}]}`, `{"a": [{"prefix": "x", "suffix": "y"}]}`, `{"a": [{"anything-but": []}]}`,
		`{"a": [{"anything-but": [{"prefix": "x"}]}]}`, `{"$or": [{"a": [1]}]}`, `{"$or": {"a": [1]}}`,
		`{"a": [1]} {"b": [2]}`, `{"a": [[1]]}`, `{"a": 1}`,
	} {
		if _, err := ParseFilterPattern(p); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("Parse(%s) = %v, want ErrInvalid", p, err)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	record := `{"body": {"testItem": "test24", "n": 5, "neg": -1.5, "name": "Alice", "tags": ["a", "b"], "nested": {"x": true}, "none": null, "empty": ""},
		"attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs"}`
	data, err := DecodeFilterData([]byte(record))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"exact", `{"body": {"testItem": ["test24"]}}`, true},
		{"exact-miss", `{"body": {"testItem": ["test25"]}}`, false},
		{"or-values", `{"body": {"testItem": ["x", "test24"]}}`, true},
		{"number", `{"body": {"n": [5]}}`, true},
		{"number-as-written", `{"body": {"n": [5.0]}}`, true},
		{"number-vs-string", `{"body": {"n": ["5"]}}`, false},
		{"bool", `{"body": {"nested": {"x": [true]}}}`, true},
		{"null", `{"body": {"none": [null]}}`, true},
		{"null-not-missing", `{"body": {"missing": [null]}}`, false},
		{"empty", `{"body": {"empty": [""]}}`, true},
		{"prefix", `{"body": {"testItem": [{"prefix": "test"}]}}`, true},
		{"prefix-miss", `{"body": {"testItem": [{"prefix": "TEST"}]}}`, false},
		{"prefix-ignore-case", `{"body": {"testItem": [{"prefix": {"equals-ignore-case": "TEST"}}]}}`, true},
		{"suffix", `{"body": {"testItem": [{"suffix": "24"}]}}`, true},
		{"suffix-miss", `{"body": {"testItem": [{"suffix": "25"}]}}`, false},
		{"equals-ignore-case", `{"body": {"name": [{"equals-ignore-case": "ALICE"}]}}`, true},
		{"wildcard", `{"body": {"testItem": [{"wildcard": "te*4"}]}}`, true},
		{"wildcard-miss", `{"body": {"testItem": [{"wildcard": "te*5"}]}}`, false},
		{"anything-but", `{"body": {"testItem": [{"anything-but": ["x", "y"]}]}}`, true},
		{"anything-but-miss", `{"body": {"testItem": [{"anything-but": "test24"}]}}`, false},
		{"anything-but-number", `{"body": {"n": [{"anything-but": [5]}]}}`, false},
		{"anything-but-missing-field", `{"body": {"missing": [{"anything-but": "x"}]}}`, false},
		{"anything-but-prefix", `{"body": {"testItem": [{"anything-but": {"prefix": "x"}}]}}`, true},
		{"anything-but-prefix-miss", `{"body": {"testItem": [{"anything-but": {"prefix": "te"}}]}}`, false},
		{"anything-but-ignore-case", `{"body": {"name": [{"anything-but": {"equals-ignore-case": ["alice", "bob"]}}]}}`, false},
		{"numeric-range", `{"body": {"n": [{"numeric": [">", 0, "<=", 5]}]}}`, true},
		{"numeric-open-bound", `{"body": {"n": [{"numeric": [">", 0, "<", 5]}]}}`, false},
		{"numeric-equals", `{"body": {"neg": [{"numeric": ["=", -1.5]}]}}`, true},
		{"numeric-not-a-number", `{"body": {"testItem": [{"numeric": [">", 0]}]}}`, false},
		{"exists", `{"body": {"testItem": [{"exists": true}]}}`, true},
		{"exists-missing", `{"body": {"missing": [{"exists": true}]}}`, false},
		{"not-exists", `{"body": {"missing": [{"exists": false}]}}`, true},
		{"not-exists-present", `{"body": {"testItem": [{"exists": false}]}}`, false},
		{"exists-object-is-no-leaf", `{"body": {"nested": [{"exists": true}]}}`, false},
		{"array-any-element", `{"body": {"tags": ["b"]}}`, true},
		{"array-no-element", `{"body": {"tags": ["c"]}}`, false},
		{"and", `{"body": {"testItem": ["test24"], "n": [6]}}`, false},
		{"top-level", `{"eventSource": ["aws:sqs"], "attributes": {"ApproximateReceiveCount": ["1"]}}`, true},
		{"$or", `{"body": {"$or": [{"testItem": ["nope"]}, {"n": [5]}]}}`, true},
		{"$or-none", `{"body": {"$or": [{"testItem": ["nope"]}, {"n": [6]}]}}`, false},
		{"nested-on-string", `{"body": {"testItem": {"x": ["y"]}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseFilterPattern(tt.pattern)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := p.Match(data); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFilterPatternsOr(t *testing.T) {
	fs, err := ParseFilterPatterns([]string{`{"a": ["x"]}`, `{"b": ["y"]}`})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		doc  string
		want bool
	}{{`{"a": "x"}`, true}, {`{"b": "y"}`, true}, {`{"a": "y", "b": "x"}`, false}} {
		d, _ := DecodeFilterData([]byte(tt.doc))
		if got := fs.Match(d); got != tt.want {
			t.Errorf("Filters.Match(%s) = %v, want %v", tt.doc, got, tt.want)
		}
	}
	if !FilterPatterns(nil).Match(map[string]any{}) {
		t.Error("no filters must let everything through")
	}
}

// FuzzFilterPattern: any pattern either parses or is refused with ErrInvalid, and
// a parsed one matches any record without panicking; a pattern matching
// nothing but its own exact values matches the record it was built from.
func FuzzFilterPattern(f *testing.F) {
	for _, s := range []string{
		`{"body": {"testItem": ["test24"]}}`, `{"a": [{"numeric": [">", 0, "<=", 5]}]}`,
		`{"a": [{"anything-but": {"prefix": "x"}}], "$or": [{"b": [null]}, {"c": [{"exists": false}]}]}`,
		`{"a": [{"wildcard": "*\\**"}]}`, `{"a": {"b": {"c": [{"suffix": {"equals-ignore-case": "Z"}}]}}}`,
	} {
		f.Add(s, `{"a": 1, "body": {"testItem": "test24"}, "b": [null, "x"]}`)
	}
	f.Fuzz(func(t *testing.T, pattern, record string) {
		p, err := ParseFilterPattern(pattern)
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) {
				t.Fatalf("Parse(%q) = %v, not ErrInvalid", pattern, err)
			}
			return
		}
		if d, err := DecodeFilterData([]byte(record)); err == nil {
			p.Match(d)
		}
		// The pattern's own literals: {"k": ["v"]} matches {"k": "v"}.
		if d, err := DecodeFilterData([]byte(record)); err == nil {
			if obj, ok := d.(map[string]any); ok {
				for k, v := range obj {
					switch v.(type) {
					case string, bool, nil:
						q := &FilterPattern{fields: map[string]*filterField{k: {matchers: []filterMatcher{filterEqual{v}}}}}
						if !q.Match(d) {
							t.Fatalf("{%q: [%v]} does not match %s", k, v, record)
						}
					}
				}
			}
		}
	})
}

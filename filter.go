package lambdahost

// The filter patterns of event source mappings (FilterCriteria), the pattern language Lambda shares with
// EventBridge: a record passes a mapping's filters (FilterPatterns) when it matches
// any of its patterns.
//
// A pattern is a JSON object. Each key names a field of the record: its
// value is an object, a pattern of the nested object, or a non-empty array
// of matchers, any of which may match the field. Keys are ANDed; "$or"
// takes an array of patterns, any of which must match. A field whose value
// is an array matches when one of its elements does. The matchers:
//
//	"text", 42, true, null      equal to that value (numbers compare as numbers)
//	{"prefix": "ab"}            a string that starts with ab ({"prefix": {"equals-ignore-case": "ab"}} in any case)
//	{"suffix": "yz"}            a string that ends with yz (also with equals-ignore-case)
//	{"equals-ignore-case": "X"} a string equal to X in any case
//	{"wildcard": "a*z"}         a string that * characters match (\* is a literal star)
//	{"anything-but": ...}       a present value other than the string, number or list
//	                            given, or not starting ({"prefix"}) or ending ({"suffix"})
//	                            with, or not equal in any case ({"equals-ignore-case"}) to it
//	{"numeric": [">", 0, "<=", 5]} a number in the range (one bound, "=", or a lower and an upper bound)
//	{"exists": true}            the field is present (false: absent)
//
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html)

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
)

// ErrInvalidFilter is what ParseFilterPattern answers for a pattern the language does not
// allow; Lambda answers "Invalid filter pattern definition." for all of them.
var ErrInvalidFilter = errors.New("invalid filter pattern definition")

// MaxFilterPatternLength is the longest pattern the model accepts.
const MaxFilterPatternLength = 4096

// FilterPattern is a parsed filter pattern.
type FilterPattern struct {
	fields map[string]*filterField
	ors    [][]*FilterPattern
}

// filterField is what a pattern says of one key: a nested pattern, or matchers.
type filterField struct {
	nested   *FilterPattern
	matchers []filterMatcher
}

// filterMatcher is one element of a field's array.
type filterMatcher interface {
	// match reports whether value (present or not) matches.
	match(value any, present bool) bool
}

// ParseFilterPattern parses a pattern. It answers an error wrapping ErrInvalidFilter for
// anything that is not a valid pattern.
func ParseFilterPattern(s string) (*FilterPattern, error) {
	if len(s) > MaxFilterPatternLength {
		return nil, ErrInvalidFilter
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, ErrInvalidFilter
	}
	if dec.More() {
		return nil, ErrInvalidFilter
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, ErrInvalidFilter
	}
	return parseFilterObject(obj, 0)
}

// maxFilterDepth bounds the nesting of patterns.
const maxFilterDepth = 32

func parseFilterObject(obj map[string]any, depth int) (*FilterPattern, error) {
	if depth > maxFilterDepth || len(obj) == 0 {
		return nil, ErrInvalidFilter
	}
	p := &FilterPattern{fields: map[string]*filterField{}}
	for k, v := range obj {
		if k == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return nil, ErrInvalidFilter
			}
			var group []*FilterPattern
			for _, a := range alts {
				o, ok := a.(map[string]any)
				if !ok {
					return nil, ErrInvalidFilter
				}
				sub, err := parseFilterObject(o, depth+1)
				if err != nil {
					return nil, err
				}
				group = append(group, sub)
			}
			p.ors = append(p.ors, group)
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			sub, err := parseFilterObject(v, depth+1)
			if err != nil {
				return nil, err
			}
			p.fields[k] = &filterField{nested: sub}
		case []any:
			if len(v) == 0 {
				return nil, ErrInvalidFilter
			}
			f := &filterField{}
			for _, m := range v {
				mm, err := parseFilterMatcher(m)
				if err != nil {
					return nil, err
				}
				f.matchers = append(f.matchers, mm)
			}
			p.fields[k] = f
		default:
			return nil, ErrInvalidFilter
		}
	}
	return p, nil
}

func parseFilterMatcher(v any) (filterMatcher, error) {
	switch v := v.(type) {
	case nil, string, bool:
		return filterEqual{v}, nil
	case json.Number:
		f, err := filterNumber(v)
		if err != nil {
			return nil, err
		}
		return filterEqual{f}, nil
	case map[string]any:
		if len(v) != 1 {
			return nil, ErrInvalidFilter
		}
		for op, arg := range v {
			return parseFilterOperator(op, arg)
		}
	}
	return nil, ErrInvalidFilter
}

func parseFilterOperator(op string, arg any) (filterMatcher, error) {
	switch op {
	case "prefix", "suffix":
		s, fold, err := filterStringOrFold(arg)
		if err != nil {
			return nil, err
		}
		return filterAffix{suffix: op == "suffix", s: s, fold: fold}, nil
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return nil, ErrInvalidFilter
		}
		return filterAffix{s: s, fold: true, whole: true}, nil
	case "wildcard":
		s, ok := arg.(string)
		if !ok {
			return nil, ErrInvalidFilter
		}
		return filterWildcard(s), nil
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return nil, ErrInvalidFilter
		}
		return filterExists(b), nil
	case "numeric":
		return parseFilterNumeric(arg)
	case "anything-but":
		return parseFilterAnythingBut(arg)
	}
	return nil, ErrInvalidFilter
}

// filterStringOrFold reads the argument of prefix and suffix: a string, or
// {"equals-ignore-case": string}.
func filterStringOrFold(arg any) (string, bool, error) {
	switch a := arg.(type) {
	case string:
		return a, false, nil
	case map[string]any:
		if s, ok := a["equals-ignore-case"].(string); ok && len(a) == 1 {
			return s, true, nil
		}
	}
	return "", false, ErrInvalidFilter
}

func filterNumber(n json.Number) (float64, error) {
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, ErrInvalidFilter
	}
	return f, nil
}

func parseFilterNumeric(arg any) (filterMatcher, error) {
	list, ok := arg.([]any)
	if !ok || (len(list) != 2 && len(list) != 4) {
		return nil, ErrInvalidFilter
	}
	var r filterNumeric
	for i := 0; i < len(list); i += 2 {
		op, ok := list[i].(string)
		n, isNum := list[i+1].(json.Number)
		if !ok || !isNum {
			return nil, ErrInvalidFilter
		}
		f, err := filterNumber(n)
		if err != nil {
			return nil, err
		}
		switch op {
		case "=":
			if len(list) != 2 {
				return nil, ErrInvalidFilter
			}
			r.lo, r.hi, r.hasLo, r.hasHi = f, f, true, true
		case ">", ">=":
			if r.hasLo {
				return nil, ErrInvalidFilter
			}
			r.lo, r.hasLo, r.loOpen = f, true, op == ">"
		case "<", "<=":
			if r.hasHi {
				return nil, ErrInvalidFilter
			}
			r.hi, r.hasHi, r.hiOpen = f, true, op == "<"
		default:
			return nil, ErrInvalidFilter
		}
	}
	if len(list) == 4 && (!r.hasLo || !r.hasHi || r.lo > r.hi) {
		return nil, ErrInvalidFilter
	}
	return r, nil
}

func parseFilterAnythingBut(arg any) (filterMatcher, error) {
	switch a := arg.(type) {
	case string, json.Number:
		v, err := filterLiteral(a)
		if err != nil {
			return nil, err
		}
		return filterAnythingBut{values: []any{v}}, nil
	case []any:
		if len(a) == 0 {
			return nil, ErrInvalidFilter
		}
		var vs []any
		for _, x := range a {
			switch x.(type) {
			case string, json.Number:
			default:
				return nil, ErrInvalidFilter
			}
			v, err := filterLiteral(x)
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
		return filterAnythingBut{values: vs}, nil
	case map[string]any:
		if len(a) != 1 {
			return nil, ErrInvalidFilter
		}
		for op, x := range a {
			switch op {
			case "prefix", "suffix":
				s, fold, err := filterStringOrFold(x)
				if err != nil {
					return nil, err
				}
				return filterAnythingBut{not: filterAffix{suffix: op == "suffix", s: s, fold: fold}}, nil
			case "equals-ignore-case":
				var ss []string
				switch x := x.(type) {
				case string:
					ss = []string{x}
				case []any:
					for _, e := range x {
						s, ok := e.(string)
						if !ok {
							return nil, ErrInvalidFilter
						}
						ss = append(ss, s)
					}
				}
				if len(ss) == 0 {
					return nil, ErrInvalidFilter
				}
				var of filterAnyOf
				for _, s := range ss {
					of = append(of, filterAffix{s: s, fold: true, whole: true})
				}
				return filterAnythingBut{not: of}, nil
			case "wildcard":
				s, ok := x.(string)
				if !ok {
					return nil, ErrInvalidFilter
				}
				return filterAnythingBut{not: filterWildcard(s)}, nil
			}
		}
	}
	return nil, ErrInvalidFilter
}

// filterLiteral turns a JSON string or number into the value equal compares.
func filterLiteral(v any) (any, error) {
	if n, ok := v.(json.Number); ok {
		return filterNumber(n)
	}
	return v, nil
}

// Match reports whether the record data (decoded JSON: maps, slices,
// strings, float64 or json.Number, bools and nil) matches p.
func (p *FilterPattern) Match(data any) bool {
	obj, _ := data.(map[string]any)
	for k, f := range p.fields {
		v, present := obj[k]
		if !f.match(v, present) {
			return false
		}
	}
	for _, group := range p.ors {
		ok := false
		for _, alt := range group {
			if alt.Match(data) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (f *filterField) match(v any, present bool) bool {
	if f.nested != nil {
		if !present {
			return false
		}
		if list, ok := v.([]any); ok {
			for _, e := range list {
				if _, isObj := e.(map[string]any); isObj && f.nested.Match(e) {
					return true
				}
			}
			return false
		}
		if _, isObj := v.(map[string]any); !isObj {
			return false
		}
		return f.nested.Match(v)
	}
	for _, m := range f.matchers {
		if m.match(v, present) {
			return true
		}
	}
	return false
}

// filterEach calls ok on each leaf value v stands for: its elements if it is an
// array, else itself; it reports whether ok held for one.
func filterEach(v any, ok func(any) bool) bool {
	if list, isList := v.([]any); isList {
		for _, e := range list {
			if ok(e) {
				return true
			}
		}
		return false
	}
	return ok(v)
}

// filterNorm gives a record's number as float64.
func filterNorm(v any) any {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return nil
		}
		return f
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return v
}

type filterEqual struct{ v any }

func (e filterEqual) match(v any, present bool) bool {
	return present && filterEach(v, func(x any) bool { return filterNorm(x) == e.v })
}

type filterAffix struct {
	s            string
	suffix, fold bool
	// whole compares the whole string (equals-ignore-case).
	whole bool
}

func (a filterAffix) test(x any) bool {
	s, ok := x.(string)
	if !ok {
		return false
	}
	want := a.s
	if a.fold {
		s, want = strings.ToLower(s), strings.ToLower(want)
	}
	switch {
	case a.whole:
		return s == want
	case a.suffix:
		return strings.HasSuffix(s, want)
	}
	return strings.HasPrefix(s, want)
}

func (a filterAffix) match(v any, present bool) bool { return present && filterEach(v, a.test) }

type filterAnyOf []filterAffix

func (o filterAnyOf) test(x any) bool {
	for _, a := range o {
		if a.test(x) {
			return true
		}
	}
	return false
}

type filterWildcard string

func (w filterWildcard) test(x any) bool {
	s, ok := x.(string)
	return ok && filterGlob(string(w), s)
}

func (w filterWildcard) match(v any, present bool) bool { return present && filterEach(v, w.test) }

// filterGlob matches s against pattern, where * matches any run of
// characters and \* a star.
func filterGlob(pattern, s string) bool {
	var parts []string
	var cur bytes.Buffer
	for i := 0; i < len(pattern); i++ {
		switch {
		case pattern[i] == '\\' && i+1 < len(pattern) && pattern[i+1] == '*':
			cur.WriteByte('*')
			i++
		case pattern[i] == '*':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(pattern[i])
		}
	}
	parts = append(parts, cur.String())
	if len(parts) == 1 {
		return s == parts[0]
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

type filterExists bool

func (e filterExists) match(v any, present bool) bool {
	if !bool(e) {
		return !present
	}
	if !present {
		return false
	}
	// exists matches leaves: a value that is not an object.
	_, isObj := v.(map[string]any)
	return !isObj
}

type filterNumeric struct {
	lo, hi         float64
	hasLo, hasHi   bool
	loOpen, hiOpen bool
}

func (r filterNumeric) test(x any) bool {
	f, ok := filterNorm(x).(float64)
	if !ok {
		return false
	}
	if r.hasLo && (f < r.lo || (r.loOpen && f == r.lo)) {
		return false
	}
	if r.hasHi && (f > r.hi || (r.hiOpen && f == r.hi)) {
		return false
	}
	return true
}

func (r filterNumeric) match(v any, present bool) bool { return present && filterEach(v, r.test) }

type filterTester interface{ test(any) bool }

type filterAnythingBut struct {
	values []any
	not    filterTester
}

func (a filterAnythingBut) test(x any) bool {
	if a.not != nil {
		if _, isStr := x.(string); !isStr {
			return false
		}
		return !a.not.test(x)
	}
	switch x.(type) {
	case map[string]any, nil:
		return false
	}
	n := filterNorm(x)
	for _, v := range a.values {
		if n == v {
			return false
		}
	}
	return true
}

func (a filterAnythingBut) match(v any, present bool) bool { return present && filterEach(v, a.test) }

// FilterPatterns are a mapping's patterns: a record passes if it matches any.
type FilterPatterns []*FilterPattern

// ParseFilterPatterns parses patterns.
func ParseFilterPatterns(patterns []string) (FilterPatterns, error) {
	var fs FilterPatterns
	for _, s := range patterns {
		p, err := ParseFilterPattern(s)
		if err != nil {
			return nil, err
		}
		fs = append(fs, p)
	}
	return fs, nil
}

// Match reports whether data matches one of fs; with no patterns,
// everything does.
func (fs FilterPatterns) Match(data any) bool {
	if len(fs) == 0 {
		return true
	}
	for _, p := range fs {
		if p.Match(data) {
			return true
		}
	}
	return false
}

// DecodeFilterData decodes JSON for Match, keeping numbers exact.
func DecodeFilterData(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// Package eventfilter implements the filter patterns of event source
// mappings (FilterCriteria), the pattern language Lambda shares with
// EventBridge: a record passes a mapping's filters when it matches any of
// its patterns.
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
package eventfilter

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
)

// ErrInvalid is what Parse answers for a pattern the language does not
// allow; Lambda answers "Invalid filter pattern definition." for all of them.
var ErrInvalid = errors.New("invalid filter pattern definition")

// MaxPatternLength is the longest pattern the model accepts.
const MaxPatternLength = 4096

// Pattern is a parsed filter pattern.
type Pattern struct {
	fields map[string]*field
	ors    [][]*Pattern
}

// field is what a pattern says of one key: a nested pattern, or matchers.
type field struct {
	nested   *Pattern
	matchers []matcher
}

// matcher is one element of a field's array.
type matcher interface {
	// match reports whether value (present or not) matches.
	match(value any, present bool) bool
}

// Parse parses a pattern. It answers an error wrapping ErrInvalid for
// anything that is not a valid pattern.
func Parse(s string) (*Pattern, error) {
	if len(s) > MaxPatternLength {
		return nil, ErrInvalid
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, ErrInvalid
	}
	if dec.More() {
		return nil, ErrInvalid
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, ErrInvalid
	}
	return parseObject(obj, 0)
}

// maxDepth bounds the nesting of patterns.
const maxDepth = 32

func parseObject(obj map[string]any, depth int) (*Pattern, error) {
	if depth > maxDepth || len(obj) == 0 {
		return nil, ErrInvalid
	}
	p := &Pattern{fields: map[string]*field{}}
	for k, v := range obj {
		if k == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return nil, ErrInvalid
			}
			var group []*Pattern
			for _, a := range alts {
				o, ok := a.(map[string]any)
				if !ok {
					return nil, ErrInvalid
				}
				sub, err := parseObject(o, depth+1)
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
			sub, err := parseObject(v, depth+1)
			if err != nil {
				return nil, err
			}
			p.fields[k] = &field{nested: sub}
		case []any:
			if len(v) == 0 {
				return nil, ErrInvalid
			}
			f := &field{}
			for _, m := range v {
				mm, err := parseMatcher(m)
				if err != nil {
					return nil, err
				}
				f.matchers = append(f.matchers, mm)
			}
			p.fields[k] = f
		default:
			return nil, ErrInvalid
		}
	}
	return p, nil
}

func parseMatcher(v any) (matcher, error) {
	switch v := v.(type) {
	case nil, string, bool:
		return equal{v}, nil
	case json.Number:
		f, err := number(v)
		if err != nil {
			return nil, err
		}
		return equal{f}, nil
	case map[string]any:
		if len(v) != 1 {
			return nil, ErrInvalid
		}
		for op, arg := range v {
			return parseOperator(op, arg)
		}
	}
	return nil, ErrInvalid
}

func parseOperator(op string, arg any) (matcher, error) {
	switch op {
	case "prefix", "suffix":
		s, fold, err := stringOrFold(arg)
		if err != nil {
			return nil, err
		}
		return affix{suffix: op == "suffix", s: s, fold: fold}, nil
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return nil, ErrInvalid
		}
		return affix{s: s, fold: true, whole: true}, nil
	case "wildcard":
		s, ok := arg.(string)
		if !ok {
			return nil, ErrInvalid
		}
		return wildcard(s), nil
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return nil, ErrInvalid
		}
		return exists(b), nil
	case "numeric":
		return parseNumeric(arg)
	case "anything-but":
		return parseAnythingBut(arg)
	}
	return nil, ErrInvalid
}

// stringOrFold reads the argument of prefix and suffix: a string, or
// {"equals-ignore-case": string}.
func stringOrFold(arg any) (string, bool, error) {
	switch a := arg.(type) {
	case string:
		return a, false, nil
	case map[string]any:
		if s, ok := a["equals-ignore-case"].(string); ok && len(a) == 1 {
			return s, true, nil
		}
	}
	return "", false, ErrInvalid
}

func number(n json.Number) (float64, error) {
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, ErrInvalid
	}
	return f, nil
}

func parseNumeric(arg any) (matcher, error) {
	list, ok := arg.([]any)
	if !ok || (len(list) != 2 && len(list) != 4) {
		return nil, ErrInvalid
	}
	var r numeric
	for i := 0; i < len(list); i += 2 {
		op, ok := list[i].(string)
		n, isNum := list[i+1].(json.Number)
		if !ok || !isNum {
			return nil, ErrInvalid
		}
		f, err := number(n)
		if err != nil {
			return nil, err
		}
		switch op {
		case "=":
			if len(list) != 2 {
				return nil, ErrInvalid
			}
			r.lo, r.hi, r.hasLo, r.hasHi = f, f, true, true
		case ">", ">=":
			if r.hasLo {
				return nil, ErrInvalid
			}
			r.lo, r.hasLo, r.loOpen = f, true, op == ">"
		case "<", "<=":
			if r.hasHi {
				return nil, ErrInvalid
			}
			r.hi, r.hasHi, r.hiOpen = f, true, op == "<"
		default:
			return nil, ErrInvalid
		}
	}
	if len(list) == 4 && (!r.hasLo || !r.hasHi || r.lo > r.hi) {
		return nil, ErrInvalid
	}
	return r, nil
}

func parseAnythingBut(arg any) (matcher, error) {
	switch a := arg.(type) {
	case string, json.Number:
		v, err := literal(a)
		if err != nil {
			return nil, err
		}
		return anythingBut{values: []any{v}}, nil
	case []any:
		if len(a) == 0 {
			return nil, ErrInvalid
		}
		var vs []any
		for _, x := range a {
			switch x.(type) {
			case string, json.Number:
			default:
				return nil, ErrInvalid
			}
			v, err := literal(x)
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
		return anythingBut{values: vs}, nil
	case map[string]any:
		if len(a) != 1 {
			return nil, ErrInvalid
		}
		for op, x := range a {
			switch op {
			case "prefix", "suffix":
				s, fold, err := stringOrFold(x)
				if err != nil {
					return nil, err
				}
				return anythingBut{not: affix{suffix: op == "suffix", s: s, fold: fold}}, nil
			case "equals-ignore-case":
				var ss []string
				switch x := x.(type) {
				case string:
					ss = []string{x}
				case []any:
					for _, e := range x {
						s, ok := e.(string)
						if !ok {
							return nil, ErrInvalid
						}
						ss = append(ss, s)
					}
				}
				if len(ss) == 0 {
					return nil, ErrInvalid
				}
				var of anyOf
				for _, s := range ss {
					of = append(of, affix{s: s, fold: true, whole: true})
				}
				return anythingBut{not: of}, nil
			case "wildcard":
				s, ok := x.(string)
				if !ok {
					return nil, ErrInvalid
				}
				return anythingBut{not: wildcard(s)}, nil
			}
		}
	}
	return nil, ErrInvalid
}

// literal turns a JSON string or number into the value equal compares.
func literal(v any) (any, error) {
	if n, ok := v.(json.Number); ok {
		return number(n)
	}
	return v, nil
}

// Match reports whether the record data (decoded JSON: maps, slices,
// strings, float64 or json.Number, bools and nil) matches p.
func (p *Pattern) Match(data any) bool {
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

func (f *field) match(v any, present bool) bool {
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

// each calls ok on each leaf value v stands for: its elements if it is an
// array, else itself; it reports whether ok held for one.
func each(v any, ok func(any) bool) bool {
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

// norm gives a record's number as float64.
func norm(v any) any {
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

type equal struct{ v any }

func (e equal) match(v any, present bool) bool {
	return present && each(v, func(x any) bool { return norm(x) == e.v })
}

type affix struct {
	s            string
	suffix, fold bool
	// whole compares the whole string (equals-ignore-case).
	whole bool
}

func (a affix) test(x any) bool {
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

func (a affix) match(v any, present bool) bool { return present && each(v, a.test) }

type anyOf []affix

func (o anyOf) test(x any) bool {
	for _, a := range o {
		if a.test(x) {
			return true
		}
	}
	return false
}

type wildcard string

func (w wildcard) test(x any) bool {
	s, ok := x.(string)
	return ok && globMatch(string(w), s)
}

func (w wildcard) match(v any, present bool) bool { return present && each(v, w.test) }

// globMatch matches s against pattern, where * matches any run of
// characters and \* a star.
func globMatch(pattern, s string) bool {
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

type exists bool

func (e exists) match(v any, present bool) bool {
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

type numeric struct {
	lo, hi         float64
	hasLo, hasHi   bool
	loOpen, hiOpen bool
}

func (r numeric) test(x any) bool {
	f, ok := norm(x).(float64)
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

func (r numeric) match(v any, present bool) bool { return present && each(v, r.test) }

type tester interface{ test(any) bool }

type anythingBut struct {
	values []any
	not    tester
}

func (a anythingBut) test(x any) bool {
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
	n := norm(x)
	for _, v := range a.values {
		if n == v {
			return false
		}
	}
	return true
}

func (a anythingBut) match(v any, present bool) bool { return present && each(v, a.test) }

// Filters are a mapping's patterns: a record passes if it matches any.
type Filters []*Pattern

// ParseAll parses patterns.
func ParseAll(patterns []string) (Filters, error) {
	var fs Filters
	for _, s := range patterns {
		p, err := Parse(s)
		if err != nil {
			return nil, err
		}
		fs = append(fs, p)
	}
	return fs, nil
}

// Match reports whether data matches one of fs; with no patterns,
// everything does.
func (fs Filters) Match(data any) bool {
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

// Decode decodes JSON for Match, keeping numbers exact.
func Decode(b []byte) (any, error) {
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

package logs

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lambdahost/lambdahost"
)

// The filter pattern language of FilterLogEvents and StartLiveTail, as
// CloudWatch Logs documents it (Filter pattern syntax):
//
//   - Text patterns: terms an event must all contain (ERROR Exception),
//     quoted phrases ("Internal Server Error"), alternatives of which one
//     must match (?ERROR ?WARN), exclusions (-DEBUG) and regular
//     expressions between percent signs (%time[a-z]+%). Matching is
//     case-sensitive.
//   - JSON patterns between braces, over events whose message is a JSON
//     object: { $.level = "ERROR" }, { $.latency > 200 && $.path = /api* },
//     with =, !=, <, <=, >, >=, IS NULL, NOT EXISTS, IS TRUE, IS FALSE,
//     && and || (&& binds tighter), parentheses, array indexes ($.a[0])
//     and * in selectors ($.a[*].b) and in string values.
//   - Space-delimited patterns between brackets, over events whose
//     fields are separated by spaces ("..." and [...] are one field):
//     [ip, user, ..., status = 5*, bytes > 1000].
//
// An empty pattern matches every event.

// maxPattern is the model's length limit of a filter pattern.
const maxPattern = 1024

// pattern is a parsed filter pattern.
type pattern interface {
	// match reports whether an event with message msg matches.
	match(msg string) bool
	// String returns the pattern in canonical form, which parses to an
	// equivalent pattern.
	String() string
}

// invalidPattern is AWS's answer to a pattern it cannot parse.
func invalidPattern(format string, args ...any) error {
	return lambdahost.Errorf(lambdahost.InvalidParameterException, "Invalid filter pattern: "+format, args...)
}

// parsePattern parses a filter pattern.
func parsePattern(s string) (pattern, error) {
	if utf8.RuneCountInString(s) > maxPattern {
		var v lambdahost.Validation
		v.Type = lambdahost.InvalidParameterException
		v.Add("filterPattern", lambdahost.Quote(s), fmt.Sprintf("Member must have length less than or equal to %d", maxPattern))
		return nil, v.Err()
	}
	if !utf8.ValidString(s) {
		return nil, invalidPattern("not valid UTF-8")
	}
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return allPattern{}, nil
	case strings.HasPrefix(t, "{"):
		if !strings.HasSuffix(t, "}") {
			return nil, lambdahost.Errorf(lambdahost.InvalidParameterException, "If a filter pattern starts with '{' it must end with '}'")
		}
		return parseJSONPattern(t[1 : len(t)-1])
	case strings.HasPrefix(t, "["):
		if !strings.HasSuffix(t, "]") {
			return nil, lambdahost.Errorf(lambdahost.InvalidParameterException, "If a filter pattern starts with '[' it must end with ']'")
		}
		return parseSpacePattern(t[1 : len(t)-1])
	}
	return parseTextPattern(t)
}

// allPattern is the empty pattern.
type allPattern struct{}

func (allPattern) match(string) bool { return true }
func (allPattern) String() string    { return "" }

// --- text patterns ---------------------------------------------------------

// term is one term of a text pattern.
type term struct {
	text string
	re   *regexp.Regexp // a %regex% term
	kind byte           // 0: required, '?': alternative, '-': excluded
}

func (t term) matches(msg string) bool {
	if t.re != nil {
		return t.re.MatchString(msg)
	}
	return strings.Contains(msg, t.text)
}

func (t term) String() string {
	var b strings.Builder
	if t.kind != 0 {
		b.WriteByte(t.kind)
	}
	if t.re != nil {
		b.WriteString("%" + t.re.String() + "%")
	} else {
		b.WriteString(quote(t.text))
	}
	return b.String()
}

// textPattern matches events containing all required terms, at least one
// alternative if there are any, and no excluded term.
type textPattern []term

func (p textPattern) match(msg string) bool {
	alt, anyAlt := false, false
	for _, t := range p {
		switch t.kind {
		case '?':
			anyAlt = true
			if !alt && t.matches(msg) {
				alt = true
			}
		case '-':
			if t.matches(msg) {
				return false
			}
		default:
			if !t.matches(msg) {
				return false
			}
		}
	}
	return alt || !anyAlt
}

func (p textPattern) String() string {
	parts := make([]string, len(p))
	for i, t := range p {
		parts[i] = t.String()
	}
	return strings.Join(parts, " ")
}

// termChar reports whether r may appear in an unquoted term.
func termChar(r rune) bool {
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return true
	}
	return strings.ContainsRune("_.:/@#+-'$^~`;", r)
}

func parseTextPattern(s string) (pattern, error) {
	var p textPattern
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			i += n
			continue
		}
		var t term
		if r == '?' || r == '-' {
			t.kind = byte(r)
			i += n
			if i >= len(s) {
				return nil, invalidPattern("'%c' must be followed by a term", r)
			}
			r, _ = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case r == '"':
			text, end, err := quoted(s, i)
			if err != nil {
				return nil, err
			}
			t.text, i = text, end
		case r == '%':
			end := strings.IndexByte(s[i+1:], '%')
			if end < 0 {
				return nil, invalidPattern("a regular expression must end with '%%'")
			}
			expr := s[i+1 : i+1+end]
			if expr == "" {
				return nil, invalidPattern("empty regular expression")
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, invalidPattern("invalid regular expression %q", expr)
			}
			t.re, i = re, i+end+2
		default:
			start := i
			for i < len(s) {
				r, n := utf8.DecodeRuneInString(s[i:])
				if unicode.IsSpace(r) {
					break
				}
				if !termChar(r) || r == utf8.RuneError && n == 1 {
					end := i + n
					for end < len(s) && !unicode.IsSpace(rune(s[end])) {
						end++
					}
					return nil, lambdahost.Errorf(lambdahost.InvalidParameterException, "Invalid character(s) in term '%s'", s[start:end])
				}
				i += n
			}
			t.text = s[start:i]
		}
		if i < len(s) {
			if r, _ := utf8.DecodeRuneInString(s[i:]); !unicode.IsSpace(r) {
				return nil, invalidPattern("terms must be separated by spaces")
			}
		}
		if t.re == nil && t.text == "" {
			return nil, lambdahost.Errorf(lambdahost.InvalidParameterException, "Invalid character(s) in term '\"\"'")
		}
		p = append(p, t)
	}
	return p, nil
}

// quote writes s as a quoted string of the pattern language: only a quote
// and a backslash are escaped.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// quoted reads the double-quoted string starting at s[i] (backslash
// escapes a quote or a backslash) and returns it and the index after it.
func quoted(s string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; c {
		case '\\':
			if j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
				b.WriteByte(s[j+1])
				j++
				continue
			}
			b.WriteByte(c)
		case '"':
			return b.String(), j + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, invalidPattern("unterminated quoted string")
}

// --- values and comparisons shared by JSON and space-delimited patterns ---

// value is the right-hand side of a comparison.
type value struct {
	str     string
	num     float64
	isNum   bool
	quoted  bool
	pattern *regexp.Regexp // a string value with * wildcards
}

func (v value) String() string {
	if v.isNum {
		return strconv.FormatFloat(v.num, 'g', -1, 64)
	}
	if v.quoted || v.str == "" {
		return quote(v.str)
	}
	return v.str
}

// newValue makes a value of a literal: a number unless quoted, else a
// string whose * are wildcards.
func newValue(lit string, quoted bool) (value, error) {
	v := value{str: lit, quoted: quoted}
	if !quoted {
		if f, err := strconv.ParseFloat(lit, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			v.num, v.isNum = f, true
			return v, nil
		}
		if lit == "" {
			return v, invalidPattern("missing value")
		}
	}
	if strings.Contains(lit, "*") {
		parts := strings.Split(lit, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		v.pattern = regexp.MustCompile("^(?s:" + strings.Join(parts, ".*") + ")$")
	}
	return v, nil
}

// compareString applies op to a string field.
func (v value) compareString(op, s string) bool {
	if v.isNum {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return op == "!="
		}
		return compareNum(op, f, v.num)
	}
	eq := s == v.str
	if v.pattern != nil {
		eq = v.pattern.MatchString(s)
	}
	switch op {
	case "=":
		return eq
	case "!=":
		return !eq
	}
	return false
}

func compareNum(op string, a, b float64) bool {
	switch op {
	case "=":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

// --- JSON patterns -----------------------------------------------------------

// jsonExpr is a node of a JSON pattern.
type jsonExpr interface {
	eval(doc any) bool
	String() string
}

type jsonPattern struct {
	expr jsonExpr
	// needs are strings every matching message contains as they are:
	// plain string values that an event must equal. Checking them first
	// spares decoding most events that cannot match.
	needs []string
}

func newJSONPattern(e jsonExpr) jsonPattern { return jsonPattern{expr: e, needs: needs(e)} }

// needs returns the plain string values e requires equal: a message
// without one of them cannot match. A value of letters, digits and a few
// punctuation marks is written as is in any JSON encoding of it.
func needs(e jsonExpr) []string {
	switch e := e.(type) {
	case jsonAnd:
		return append(needs(e.l), needs(e.r)...)
	case jsonCompare:
		if e.op == "=" && e.val.quoted && e.val.pattern == nil && e.val.str != "" && plain(e.val.str) {
			return []string{`"` + e.val.str + `"`}
		}
	}
	return nil
}

func plain(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" _-.:@", r)) {
			return false
		}
	}
	return true
}

func (p jsonPattern) match(msg string) bool {
	msg = strings.TrimSpace(msg)
	if !strings.HasPrefix(msg, "{") {
		return false
	}
	for _, n := range p.needs {
		if !strings.Contains(msg, n) {
			return false
		}
	}
	dec := json.NewDecoder(strings.NewReader(msg))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return false
	}
	return p.expr.eval(doc)
}

func (p jsonPattern) String() string { return "{ " + p.expr.String() + " }" }

type jsonAnd struct{ l, r jsonExpr }
type jsonOr struct{ l, r jsonExpr }

func (e jsonAnd) eval(doc any) bool { return e.l.eval(doc) && e.r.eval(doc) }
func (e jsonAnd) String() string    { return "(" + e.l.String() + " && " + e.r.String() + ")" }
func (e jsonOr) eval(doc any) bool  { return e.l.eval(doc) || e.r.eval(doc) }
func (e jsonOr) String() string     { return "(" + e.l.String() + " || " + e.r.String() + ")" }

// step is one step of a selector: a member name, an index, or * (any
// member or element).
type step struct {
	name  string
	index int
	kind  byte // '.', '[' or '*'
}

type selector []step

func (s selector) String() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, st := range s {
		switch st.kind {
		case '.':
			b.WriteString("." + st.name)
		case '[':
			b.WriteString("[" + strconv.Itoa(st.index) + "]")
		case '*':
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// values returns every value s selects in doc.
func (s selector) values(doc any) []any {
	cur := []any{doc}
	for _, st := range s {
		var next []any
		for _, v := range cur {
			switch st.kind {
			case '.':
				if m, ok := v.(map[string]any); ok {
					if x, ok := m[st.name]; ok {
						next = append(next, x)
					}
				}
			case '[':
				if a, ok := v.([]any); ok && st.index < len(a) {
					next = append(next, a[st.index])
				}
			case '*':
				switch c := v.(type) {
				case []any:
					next = append(next, c...)
				case map[string]any:
					for _, x := range c {
						next = append(next, x)
					}
				}
			}
		}
		cur = next
	}
	return cur
}

// jsonCompare is "selector op value", or a test: IS NULL, NOT EXISTS,
// IS TRUE, IS FALSE (op holds the test, val is unused).
type jsonCompare struct {
	sel selector
	op  string
	val value
}

func (c jsonCompare) String() string {
	switch c.op {
	case "IS NULL", "NOT EXISTS", "IS TRUE", "IS FALSE":
		return c.sel.String() + " " + c.op
	}
	return c.sel.String() + " " + c.op + " " + c.val.String()
}

func (c jsonCompare) eval(doc any) bool {
	vals := c.sel.values(doc)
	if c.op == "NOT EXISTS" {
		return len(vals) == 0
	}
	for _, v := range vals {
		if c.one(v) {
			return true
		}
	}
	return false
}

func (c jsonCompare) one(v any) bool {
	switch c.op {
	case "IS NULL":
		return v == nil
	case "IS TRUE":
		return v == true
	case "IS FALSE":
		return v == false
	}
	switch x := v.(type) {
	case string:
		// A string never equals a number: "300" is not 300.
		if c.val.isNum {
			return false
		}
		return c.val.compareString(c.op, x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return false
		}
		if !c.val.isNum {
			return c.val.compareString(c.op, x.String())
		}
		return compareNum(c.op, f, c.val.num)
	case bool:
		if c.val.isNum || c.op != "=" && c.op != "!=" {
			return false
		}
		return c.val.compareString(c.op, strconv.FormatBool(x))
	}
	return false
}

// jsonParser parses the inside of a JSON pattern's braces.
type jsonParser struct {
	s   string
	pos int
}

func parseJSONPattern(s string) (pattern, error) {
	p := &jsonParser{s: s}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, invalidPattern("unexpected %q", p.rest())
	}
	return newJSONPattern(e), nil
}

// maxDepth bounds nested parentheses.
const maxDepth = 32

func (p *jsonParser) rest() string {
	r := p.s[p.pos:]
	if len(r) > 20 {
		r = r[:20]
	}
	return r
}

func (p *jsonParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func (p *jsonParser) eat(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *jsonParser) or(depth int) (jsonExpr, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.eat("||") {
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = jsonOr{l, r}
	}
	return l, nil
}

func (p *jsonParser) and(depth int) (jsonExpr, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.eat("&&") {
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = jsonAnd{l, r}
	}
	return l, nil
}

func (p *jsonParser) unary(depth int) (jsonExpr, error) {
	if p.eat("(") {
		if depth >= maxDepth {
			return nil, invalidPattern("too many nested parentheses")
		}
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, invalidPattern("missing ')'")
		}
		return e, nil
	}
	return p.comparison()
}

func (p *jsonParser) comparison() (jsonExpr, error) {
	sel, err := p.selector()
	if err != nil {
		return nil, err
	}
	for _, test := range []string{"IS NULL", "NOT EXISTS", "IS TRUE", "IS FALSE"} {
		p.space()
		if p.matchWords(test) {
			return jsonCompare{sel: sel, op: test}, nil
		}
	}
	p.space()
	var op string
	for _, o := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(p.s[p.pos:], o) {
			op = o
			p.pos += len(o)
			break
		}
	}
	if op == "" {
		return nil, invalidPattern("expected a comparison after %s", sel)
	}
	val, err := p.value()
	if err != nil {
		return nil, err
	}
	if op != "=" && op != "!=" && !val.isNum {
		return nil, invalidPattern("%s needs a number", op)
	}
	return jsonCompare{sel: sel, op: op, val: val}, nil
}

// matchWords consumes words (separated by single spaces in words, by any
// spaces in the input), case-insensitively, if they come next.
func (p *jsonParser) matchWords(words string) bool {
	pos := p.pos
	for i, w := range strings.Fields(words) {
		if i > 0 {
			n := pos
			for n < len(p.s) && p.s[n] == ' ' {
				n++
			}
			if n == pos {
				return false
			}
			pos = n
		}
		if len(p.s)-pos < len(w) || !strings.EqualFold(p.s[pos:pos+len(w)], w) {
			return false
		}
		pos += len(w)
	}
	if pos < len(p.s) && isIdentByte(p.s[pos]) {
		return false
	}
	p.pos = pos
	return true
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c == '@' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func (p *jsonParser) selector() (selector, error) {
	p.space()
	if !strings.HasPrefix(p.s[p.pos:], "$") {
		return nil, invalidPattern("a JSON pattern's selector must start with '$'")
	}
	p.pos++
	var sel selector
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case '.':
			p.pos++
			if strings.HasPrefix(p.s[p.pos:], "*") {
				p.pos++
				sel = append(sel, step{kind: '*'})
				continue
			}
			start := p.pos
			for p.pos < len(p.s) && isIdentByte(p.s[p.pos]) {
				p.pos++
			}
			if p.pos == start {
				return nil, invalidPattern("missing member name after '.'")
			}
			sel = append(sel, step{kind: '.', name: p.s[start:p.pos]})
		case '[':
			end := strings.IndexByte(p.s[p.pos:], ']')
			if end < 0 {
				return nil, invalidPattern("missing ']' in selector")
			}
			in := strings.TrimSpace(p.s[p.pos+1 : p.pos+end])
			p.pos += end + 1
			if in == "*" {
				sel = append(sel, step{kind: '*'})
				continue
			}
			n, err := strconv.Atoi(in)
			if err != nil || n < 0 {
				return nil, invalidPattern("invalid array index %q", in)
			}
			sel = append(sel, step{kind: '[', index: n})
		default:
			if len(sel) == 0 {
				return nil, invalidPattern("a selector needs a member after '$'")
			}
			return sel, nil
		}
	}
	if len(sel) == 0 {
		return nil, invalidPattern("a selector needs a member after '$'")
	}
	return sel, nil
}

func (p *jsonParser) value() (value, error) {
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		s, end, err := quoted(p.s, p.pos)
		if err != nil {
			return value{}, err
		}
		p.pos = end
		return newValue(s, true)
	}
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == ' ' || c == '\t' || c == ')' || c == '&' || c == '|' || c == '\n' || c == '\r' {
			break
		}
		p.pos++
	}
	return newValue(p.s[start:p.pos], false)
}

// --- space-delimited patterns ------------------------------------------

// spaceField is one field of a space-delimited pattern: a name, "..."
// (any number of fields), and the conditions on it.
type spaceField struct {
	name     string
	ellipsis bool
	cond     spaceExpr
}

// spaceExpr is a condition of a space-delimited pattern, over the fields
// by name.
type spaceExpr interface {
	eval(fields map[string]string) bool
	String() string
}

type spaceAnd struct{ l, r spaceExpr }
type spaceOr struct{ l, r spaceExpr }

func (e spaceAnd) eval(f map[string]string) bool { return e.l.eval(f) && e.r.eval(f) }
func (e spaceAnd) String() string                { return e.l.String() + " && " + e.r.String() }
func (e spaceOr) eval(f map[string]string) bool  { return e.l.eval(f) || e.r.eval(f) }
func (e spaceOr) String() string                 { return e.l.String() + " || " + e.r.String() }

type spaceCompare struct {
	name string
	op   string
	val  value
}

func (c spaceCompare) eval(f map[string]string) bool {
	s, ok := f[c.name]
	if !ok {
		return false
	}
	if c.val.isNum || c.op == "=" || c.op == "!=" {
		return c.val.compareString(c.op, s)
	}
	return false
}

func (c spaceCompare) String() string { return c.name + " " + c.op + " " + c.val.String() }

type spacePattern []spaceField

func (p spacePattern) String() string {
	parts := make([]string, len(p))
	for i, f := range p {
		switch {
		case f.ellipsis:
			parts[i] = "..."
		case f.cond != nil:
			parts[i] = f.cond.String()
		default:
			parts[i] = f.name
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// splitFields splits a message into space-delimited fields: a field
// starting with '"' or '[' runs to the matching '"' or ']'.
func splitFields(msg string) []string {
	var out []string
	for i := 0; i < len(msg); {
		c := msg[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		if c == '"' || c == '[' {
			closer := byte('"')
			if c == '[' {
				closer = ']'
			}
			if end := strings.IndexByte(msg[i+1:], closer); end >= 0 {
				out = append(out, msg[i+1:i+1+end])
				i += end + 2
				continue
			}
		}
		start := i
		for i < len(msg) && msg[i] != ' ' && msg[i] != '\t' && msg[i] != '\n' && msg[i] != '\r' {
			i++
		}
		out = append(out, msg[start:i])
	}
	return out
}

func (p spacePattern) match(msg string) bool {
	fields := splitFields(msg)
	byName := map[string]string{}
	if !p.bind(p, fields, byName) {
		return false
	}
	for _, f := range p {
		if f.cond != nil && !f.cond.eval(byName) {
			return false
		}
	}
	return true
}

// bind assigns fields to the pattern's fields in order; an ellipsis takes
// as many as leave the rest the number they need.
func (p spacePattern) bind(rest spacePattern, fields []string, byName map[string]string) bool {
	for i, f := range rest {
		if f.ellipsis {
			after := rest[i+1:]
			need := 0
			for _, a := range after {
				if !a.ellipsis {
					need++
				}
			}
			if len(fields) < need {
				return false
			}
			// Later fields bind to the end of the message.
			return p.bind(after, fields[len(fields)-need:], byName)
		}
		if len(fields) == 0 {
			return false
		}
		byName[f.name] = fields[0]
		fields = fields[1:]
	}
	return len(fields) == 0
}

func parseSpacePattern(s string) (pattern, error) {
	var p spacePattern
	names := map[string]bool{}
	for _, part := range splitTopLevel(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, invalidPattern("empty field in a space-delimited pattern")
		}
		if part == "..." {
			p = append(p, spaceField{ellipsis: true})
			continue
		}
		sp := &spaceParser{s: part}
		name := sp.ident()
		if name == "" {
			return nil, lambdahost.Errorf(lambdahost.InvalidParameterException, "Invalid character(s) in term '%s'", part)
		}
		if names[name] {
			return nil, invalidPattern("field %s appears twice", name)
		}
		names[name] = true
		f := spaceField{name: name}
		sp.space()
		if sp.pos < len(sp.s) {
			sp.pos = 0
			cond, err := sp.or()
			if err != nil {
				return nil, err
			}
			sp.space()
			if sp.pos != len(sp.s) {
				return nil, invalidPattern("unexpected %q", sp.s[sp.pos:])
			}
			f.cond = cond
		}
		p = append(p, f)
	}
	if len(p) == 0 {
		return nil, invalidPattern("a space-delimited pattern needs fields")
	}
	// Conditions may name only the pattern's fields.
	for _, f := range p {
		if f.cond != nil {
			for _, n := range spaceNames(f.cond) {
				if !names[n] {
					return nil, invalidPattern("unknown field %s", n)
				}
			}
		}
	}
	return p, nil
}

func spaceNames(e spaceExpr) []string {
	switch e := e.(type) {
	case spaceAnd:
		return append(spaceNames(e.l), spaceNames(e.r)...)
	case spaceOr:
		return append(spaceNames(e.l), spaceNames(e.r)...)
	case spaceCompare:
		return []string{e.name}
	}
	return nil
}

// splitTopLevel splits s at commas outside double quotes.
func splitTopLevel(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// spaceParser parses one field's conditions: name op value, joined by
// && and ||.
type spaceParser struct {
	s   string
	pos int
}

func (p *spaceParser) space() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *spaceParser) ident() string {
	p.space()
	start := p.pos
	for p.pos < len(p.s) && (isIdentByte(p.s[p.pos]) || p.s[p.pos] == '.') {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *spaceParser) eat(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *spaceParser) or() (spaceExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.eat("||") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = spaceOr{l, r}
	}
	return l, nil
}

func (p *spaceParser) and() (spaceExpr, error) {
	l, err := p.compare()
	if err != nil {
		return nil, err
	}
	for p.eat("&&") {
		r, err := p.compare()
		if err != nil {
			return nil, err
		}
		l = spaceAnd{l, r}
	}
	return l, nil
}

func (p *spaceParser) compare() (spaceExpr, error) {
	name := p.ident()
	if name == "" {
		return nil, invalidPattern("expected a field name in %q", p.s)
	}
	p.space()
	var op string
	for _, o := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(p.s[p.pos:], o) {
			op = o
			p.pos += len(o)
			break
		}
	}
	if op == "" {
		return nil, invalidPattern("expected a comparison after %s", name)
	}
	p.space()
	var val value
	var err error
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		var s string
		s, p.pos, err = quoted(p.s, p.pos)
		if err != nil {
			return nil, err
		}
		val, err = newValue(s, true)
	} else {
		start := p.pos
		for p.pos < len(p.s) && p.s[p.pos] != ' ' && p.s[p.pos] != '&' && p.s[p.pos] != '|' {
			p.pos++
		}
		val, err = newValue(p.s[start:p.pos], false)
	}
	if err != nil {
		return nil, err
	}
	if op != "=" && op != "!=" && !val.isNum {
		return nil, invalidPattern("%s needs a number", op)
	}
	return spaceCompare{name: name, op: op, val: val}, nil
}

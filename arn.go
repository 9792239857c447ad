package lambdahost

import (
	"regexp"
	"strconv"
	"strings"
)

// Version names with a meaning of their own.
const (
	VersionLatest          = "$LATEST"
	VersionLatestPublished = "$LATEST.PUBLISHED"
)

// FunctionID names a function: its account, region and name.
type FunctionID struct {
	Account string
	Region  string
	Name    string
}

// ARN returns the unqualified function ARN.
func (id FunctionID) ARN() string {
	return "arn:aws:lambda:" + id.Region + ":" + id.Account + ":function:" + id.Name
}

// QualifiedARN returns the function ARN with ":qualifier" appended,
// or the unqualified ARN if qualifier is empty.
func (id FunctionID) QualifiedARN(qualifier string) string {
	if qualifier == "" {
		return id.ARN()
	}
	return id.ARN() + ":" + qualifier
}

// FunctionRef is a function name as a caller wrote it: a name, a partial
// ARN or a full ARN, possibly qualified. Empty fields were not given.
type FunctionRef struct {
	Partition string
	Region    string
	Account   string
	Name      string
	Qualifier string
}

// String formats the reference back with exactly the parts that were
// given, so that ParseFunctionName(r.String()) == r.
func (r FunctionRef) String() string {
	var b strings.Builder
	if r.Partition != "" {
		b.WriteString("arn:" + r.Partition + ":lambda:")
	}
	if r.Region != "" {
		b.WriteString(r.Region + ":")
	}
	if r.Account != "" {
		b.WriteString(r.Account + ":")
	}
	if b.Len() > 0 {
		b.WriteString("function:")
	}
	b.WriteString(r.Name)
	if r.Qualifier != "" {
		b.WriteString(":" + r.Qualifier)
	}
	return b.String()
}

// NameKind selects which of the model's function name shapes applies.
type NameKind int

const (
	// NameFunction is the model's FunctionName: at most 140 characters,
	// no dots, qualifier $LATEST or [a-zA-Z0-9-_]+.
	NameFunction NameKind = iota
	// NameNamespaced is NamespacedFunctionName (GetFunction, DeleteFunction,
	// ListVersionsByFunction...): up to 256 characters, $LATEST.PUBLISHED allowed.
	NameNamespaced
)

// The patterns AWS prints in its validation messages (they differ from the
// model's only by the eusc- region prefix).
const (
	patternFunctionName   = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	patternNamespacedName = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	regionPattern         = `(?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}`
	// PatternRole is the IAM role ARN pattern of the model's RoleArn.
	PatternRole = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
	// PatternQualifier is NumericLatestPublishedOrAliasQualifier.
	PatternQualifier = `\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+`
	// PatternAlias is the model's Alias pattern.
	PatternAlias = `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`
	// PatternTaggableResource is the pattern AWS prints for TagResource's resource.
	PatternTaggableResource = `arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)`
)

var (
	reFunctionName = regexp.MustCompile(`^(?:arn:(aws[a-zA-Z-]*)?:lambda:)?(?:(` + regionPattern + `):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9-_]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	reNamespaced   = regexp.MustCompile(`^(?:arn:(aws[a-zA-Z-]*)?:lambda:)?(?:(` + regionPattern + `):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9-_.]+)(?::(\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9-_]+))?$`)
	reRole         = regexp.MustCompile(`^(?:` + PatternRole + `)$`)
	reQualifier    = regexp.MustCompile(`^(?:` + PatternQualifier + `)$`)
	reAliasChars   = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
	reDigits       = regexp.MustCompile(`^[0-9]+$`)
	reTaggable     = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*):lambda:(` + regionPattern + `):(\d{12}):(?:function:([a-zA-Z0-9-_]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?|layer:[a-zA-Z0-9-_]+|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)$`)
)

// MaxFunctionNameLength is the longest function name AWS accepts.
const MaxFunctionNameLength = 64

// ParseFunctionName parses the FunctionName path parameter of an operation
// whose model shape is kind. It returns an API error worded as AWS's:
// ValidationException for the model's pattern and length, and
// InvalidParameterValueException for a name longer than 64 characters.
func ParseFunctionName(s string, kind NameKind) (FunctionRef, error) {
	re, pattern, maxLen := reFunctionName, patternFunctionName, 140
	if kind == NameNamespaced {
		re, pattern, maxLen = reNamespaced, patternNamespacedName, 256
	}
	var v Validation
	if len(s) < 1 {
		v.Add("functionName", Quote(s), "Member must have length greater than or equal to 1")
	}
	if len(s) > maxLen {
		v.Add("functionName", Quote(s), "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	m := re.FindStringSubmatch(s)
	if m == nil && len(s) > 0 {
		v.Add("functionName", Quote(s), "Member must satisfy regular expression pattern: "+pattern)
	}
	if err := v.Err(); err != nil {
		return FunctionRef{}, err
	}
	ref := FunctionRef{Partition: m[1], Region: m[2], Account: m[3], Name: m[4], Qualifier: m[5]}
	if len(ref.Name) > MaxFunctionNameLength {
		v := Validation{Type: InvalidParameterValueException}
		v.Add("functionName", Quote(s), "Member must have length less than or equal to "+strconv.Itoa(MaxFunctionNameLength))
		return FunctionRef{}, v.Err()
	}
	return ref, nil
}

// ValidRole reports whether role matches the model's IAM role ARN pattern.
func ValidRole(role string) bool { return reRole.MatchString(role) }

// ValidQualifier reports whether q matches NumericLatestPublishedOrAliasQualifier.
func ValidQualifier(q string) bool { return len(q) >= 1 && len(q) <= 128 && reQualifier.MatchString(q) }

// ValidAliasName reports whether name matches the model's Alias shape:
// 1 to 128 of [a-zA-Z0-9-_], not all digits.
func ValidAliasName(name string) bool {
	return len(name) >= 1 && len(name) <= 128 && reAliasChars.MatchString(name) && !reDigits.MatchString(name)
}

// IsVersionNumber reports whether q names a published version ("1", "2"...).
func IsVersionNumber(q string) bool { return reDigits.MatchString(q) }

// ResourceRef is a TagResource/ListTags resource ARN.
type ResourceRef struct {
	Region    string
	Account   string
	Name      string // empty if the ARN is not a function's
	Qualifier string
}

// ParseTaggableResource parses the Resource of TagResource, UntagResource
// and ListTags, answering AWS's ValidationException when it fails the pattern.
func ParseTaggableResource(s string) (ResourceRef, error) {
	var v Validation
	if len(s) > 256 {
		v.Add("resource", Quote(s), "Member must have length less than or equal to 256")
	}
	m := reTaggable.FindStringSubmatch(s)
	if m == nil {
		v.Add("resource", Quote(s), "Member must satisfy regular expression pattern: "+PatternTaggableResource)
	}
	if err := v.Err(); err != nil {
		return ResourceRef{}, err
	}
	return ResourceRef{Region: m[2], Account: m[3], Name: m[4], Qualifier: m[5]}, nil
}

// VersionOrder returns the sort key of a version name: $LATEST first,
// then $LATEST.PUBLISHED, then published versions in numeric order.
// It returns -3 for a name that is neither.
func VersionOrder(v string) int64 {
	switch v {
	case VersionLatest:
		return -2
	case VersionLatestPublished:
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return -3
	}
	return n
}

package lambdahost

import (
	"regexp"
	"strconv"
)

// LayerID names a layer: its account, region and name. Its versions are
// numbered from 1 and never reused.
type LayerID struct {
	Account string
	Region  string
	Name    string
}

// ARN returns the layer's ARN (LayerArn).
func (id LayerID) ARN() string {
	return "arn:aws:lambda:" + id.Region + ":" + id.Account + ":layer:" + id.Name
}

// VersionARN returns the ARN of one version of the layer (LayerVersionArn).
func (id LayerID) VersionARN(version int64) string {
	return id.ARN() + ":" + strconv.FormatInt(version, 10)
}

// The layer patterns AWS prints in its validation messages. The model's
// LayerName and LayerVersionArn shapes are looser about the region; AWS
// checks, and prints, these.
const (
	// PatternLayerName is the LayerName of the layer operations: a name or
	// a layer ARN.
	PatternLayerName = `(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`
	// PatternLayerVersionARN is a layer version ARN as GetLayerVersionByArn
	// and a function's Layers take it.
	PatternLayerVersionARN = `(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)`
	// MaxLayerNameLength bounds LayerName, a LayerVersionArn and a LayerArn.
	MaxLayerNameLength = 140
)

var (
	reLayerName = regexp.MustCompile(`^(?:arn:([a-zA-Z0-9-]+):lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+)|([a-zA-Z0-9-_]+))$`)
	reLayerARN  = regexp.MustCompile(`^(?:arn:(aws[a-zA-Z-]*)?:lambda:(` + regionPattern + `):(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)|arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)$`)
)

// LayerRef is a LayerName as a caller wrote it: a bare name, or a layer
// ARN whose Partition, Region and Account are then set.
type LayerRef struct {
	Partition string
	Region    string
	Account   string
	Name      string
}

// ParseLayerName parses the LayerName path parameter of a layer
// operation. It answers AWS's ValidationException for a name that fails
// the model's length or pattern.
func ParseLayerName(s string) (LayerRef, error) {
	var v Validation
	if len(s) < 1 {
		v.Add("layerName", Quote(s), "Member must have length greater than or equal to 1")
	}
	if len(s) > MaxLayerNameLength {
		v.Add("layerName", Quote(s), "Member must have length less than or equal to "+strconv.Itoa(MaxLayerNameLength))
	}
	m := reLayerName.FindStringSubmatch(s)
	if m == nil && len(s) > 0 {
		v.Add("layerName", Quote(s), "Member must satisfy regular expression pattern: "+PatternLayerName)
	}
	if err := v.Err(); err != nil {
		return LayerRef{}, err
	}
	if m[5] != "" {
		return LayerRef{Name: m[5]}, nil
	}
	return LayerRef{Partition: m[1], Region: m[2], Account: m[3], Name: m[4]}, nil
}

// LayerVersionRef is a parsed layer version ARN. AWSLayer is set for the
// arn:...:lambda:::awslayer:NAME form of layers that AWS itself owns;
// lambdahost has none.
type LayerVersionRef struct {
	Layer    LayerID
	Version  int64
	AWSLayer bool
	// Partition is the ARN's partition ("aws").
	Partition string
}

// ValidLayerVersionARN reports whether s is a layer version ARN as AWS
// checks it: PatternLayerVersionARN and at most 140 characters (a
// function's Layers entries may have 2048, which the pattern never
// reaches once a name is longer than the LayerName's 140).
func ValidLayerVersionARN(s string) bool {
	return len(s) >= 1 && len(s) <= 2048 && reLayerARN.MatchString(s)
}

// ParseLayerVersionARN parses a layer version ARN. ok is false when s does
// not match PatternLayerVersionARN; a version number too large for an
// int64 parses as -1, which names no version.
func ParseLayerVersionARN(s string) (ref LayerVersionRef, ok bool) {
	if len(s) > 2048 {
		return ref, false
	}
	m := reLayerARN.FindStringSubmatch(s)
	if m == nil {
		return ref, false
	}
	if m[4] == "" {
		return LayerVersionRef{AWSLayer: true}, true
	}
	n, err := strconv.ParseInt(m[5], 10, 64)
	if err != nil {
		n = -1
	}
	return LayerVersionRef{Layer: LayerID{Account: m[3], Region: m[2], Name: m[4]}, Version: n, Partition: m[1]}, true
}

// Package storedoc encodes the parts of versions and aliases that stores
// keep as one JSON document (the data column of sqlite/ and postgres/),
// so that both stores read and write the same documents: the fields that
// no query filters or sorts on. Fields are tagged omitzero, so that nil
// maps and slices stay nil and empty ones stay empty.
package storedoc

import (
	"encoding/json"
	"fmt"

	"github.com/lambdahost/lambdahost"
)

// EncodeVersion returns the document of v: everything but its identity,
// RevisionID, LastModified, Code.Digest, Code.Size, Status.State and
// Status.LastUpdateStatus, which stores keep as columns.
func EncodeVersion(v *lambdahost.Version) ([]byte, error) {
	b, err := json.Marshal(newVersionRecord(v))
	if err != nil {
		return nil, fmt.Errorf("encode version %s: %w", v.ARN(), err)
	}
	return b, nil
}

// DecodeVersion sets the fields of v that document b holds.
func DecodeVersion(b []byte, v *lambdahost.Version) error {
	var r versionRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("decode version %s: %w", v.ARN(), err)
	}
	if err := r.apply(v); err != nil {
		return fmt.Errorf("decode version %s: %w", v.ARN(), err)
	}
	return nil
}

// EncodeAlias returns the document of a: its Description and
// AdditionalVersionWeights.
func EncodeAlias(a *lambdahost.Alias) ([]byte, error) {
	b, err := json.Marshal(aliasRecord{Description: a.Description, AdditionalVersionWeights: a.AdditionalVersionWeights})
	if err != nil {
		return nil, fmt.Errorf("encode alias %s: %w", a.ARN(), err)
	}
	return b, nil
}

// DecodeAlias sets the fields of a that document b holds.
func DecodeAlias(b []byte, a *lambdahost.Alias) error {
	var r aliasRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("decode alias %s: %w", a.ARN(), err)
	}
	a.Description = r.Description
	a.AdditionalVersionWeights = r.AdditionalVersionWeights
	return nil
}

// aliasRecord is the document of an alias. A nil weight map stays nil and
// an empty one stays empty.
type aliasRecord struct {
	Description              string             `json:"description,omitzero"`
	AdditionalVersionWeights map[string]float64 `json:"additionalVersionWeights,omitzero"`
}

// versionRecord is the JSON of a version's data column: the fields of a
// lambdahost.Version that are not columns of their own. Fields are tagged
// omitzero, so that nil maps and slices stay nil and empty ones stay empty.
type versionRecord struct {
	Config configRecord `json:"config,omitzero"`
	Code   codeRecord   `json:"code,omitzero"`
	Status statusRecord `json:"status,omitzero"`
}

type configRecord struct {
	Runtime           string                   `json:"runtime,omitzero"`
	Role              string                   `json:"role,omitzero"`
	Handler           string                   `json:"handler,omitzero"`
	Description       string                   `json:"description,omitzero"`
	Timeout           int                      `json:"timeout,omitzero"`
	MemorySize        int                      `json:"memorySize,omitzero"`
	Environment       map[string]string        `json:"environment,omitzero"`
	KMSKeyARN         string                   `json:"kmsKeyArn,omitzero"`
	VpcConfig         *vpcConfigRecord         `json:"vpcConfig,omitzero"`
	DeadLetterTarget  string                   `json:"deadLetterTarget,omitzero"`
	TracingMode       string                   `json:"tracingMode,omitzero"`
	Layers            []LayerRecord            `json:"layers,omitzero"`
	FileSystemConfigs []fileSystemConfigRecord `json:"fileSystemConfigs,omitzero"`
	ImageConfig       *imageConfigRecord       `json:"imageConfig,omitzero"`
	Architectures     []string                 `json:"architectures,omitzero"`
	EphemeralStorage  int                      `json:"ephemeralStorage,omitzero"`
	SnapStartApplyOn  string                   `json:"snapStartApplyOn,omitzero"`
	Logging           loggingConfigRecord      `json:"logging,omitzero"`
}

// LayerRecord is a lambdahost.Layer in a version's document
// (config.layers): its ARN and the code it stands for. Stores read digest
// and sealedWith from the JSON for Tx.CodeRefs and Tx.Digests, so these
// names are part of their queries.
type LayerRecord struct {
	ARN                      string `json:"arn"`
	Digest                   string `json:"digest"` // lowercase hex
	Size                     int64  `json:"size,omitzero"`
	UnzippedSize             int64  `json:"unzippedSize,omitzero"`
	SealedWith               string `json:"sealedWith,omitzero"`
	SigningProfileVersionARN string `json:"signingProfileVersionArn,omitzero"`
	SigningJobARN            string `json:"signingJobArn,omitzero"`
}

type vpcConfigRecord struct {
	SubnetIDs               []string `json:"subnetIds,omitzero"`
	SecurityGroupIDs        []string `json:"securityGroupIds,omitzero"`
	Ipv6AllowedForDualStack bool     `json:"ipv6AllowedForDualStack,omitzero"`
}

type fileSystemConfigRecord struct {
	ARN            string `json:"arn,omitzero"`
	LocalMountPath string `json:"localMountPath,omitzero"`
}

type imageConfigRecord struct {
	EntryPoint       []string `json:"entryPoint,omitzero"`
	Command          []string `json:"command,omitzero"`
	WorkingDirectory string   `json:"workingDirectory,omitzero"`
}

type loggingConfigRecord struct {
	LogFormat           string `json:"logFormat,omitzero"`
	ApplicationLogLevel string `json:"applicationLogLevel,omitzero"`
	SystemLogLevel      string `json:"systemLogLevel,omitzero"`
	LogGroup            string `json:"logGroup,omitzero"`
}

// codeRecord is a lambdahost.Code without Digest and Size, which are columns.
type codeRecord struct {
	PackageType              string `json:"packageType,omitzero"`
	UnzippedSize             int64  `json:"unzippedSize,omitzero"`
	SourceKMSKeyARN          string `json:"sourceKmsKeyArn,omitzero"`
	ImageURI                 string `json:"imageUri,omitzero"`
	ResolvedImageURI         string `json:"resolvedImageUri,omitzero"`
	SigningProfileVersionARN string `json:"signingProfileVersionArn,omitzero"`
	SigningJobARN            string `json:"signingJobArn,omitzero"`
	SealedWith               string `json:"sealedWith,omitzero"`
}

// statusRecord is a lambdahost.Status without State and LastUpdateStatus,
// which are columns.
type statusRecord struct {
	StateReason                string `json:"stateReason,omitzero"`
	StateReasonCode            string `json:"stateReasonCode,omitzero"`
	LastUpdateStatusReason     string `json:"lastUpdateStatusReason,omitzero"`
	LastUpdateStatusReasonCode string `json:"lastUpdateStatusReasonCode,omitzero"`
}

func newVersionRecord(v *lambdahost.Version) versionRecord {
	c := v.Config
	r := versionRecord{
		Config: configRecord{
			Runtime:          c.Runtime,
			Role:             c.Role,
			Handler:          c.Handler,
			Description:      c.Description,
			Timeout:          c.Timeout,
			MemorySize:       c.MemorySize,
			Environment:      c.Environment,
			KMSKeyARN:        c.KMSKeyARN,
			DeadLetterTarget: c.DeadLetterTarget,
			TracingMode:      c.TracingMode,
			Architectures:    c.Architectures,
			EphemeralStorage: c.EphemeralStorage,
			SnapStartApplyOn: c.SnapStartApplyOn,
			Logging: loggingConfigRecord{
				LogFormat:           c.Logging.LogFormat,
				ApplicationLogLevel: c.Logging.ApplicationLogLevel,
				SystemLogLevel:      c.Logging.SystemLogLevel,
				LogGroup:            c.Logging.LogGroup,
			},
		},
		Code: codeRecord{
			PackageType:              v.Code.PackageType,
			UnzippedSize:             v.Code.UnzippedSize,
			SourceKMSKeyARN:          v.Code.SourceKMSKeyARN,
			ImageURI:                 v.Code.ImageURI,
			ResolvedImageURI:         v.Code.ResolvedImageURI,
			SigningProfileVersionARN: v.Code.SigningProfileVersionARN,
			SigningJobARN:            v.Code.SigningJobARN,
			SealedWith:               v.Code.SealedWith,
		},
		Status: statusRecord{
			StateReason:                v.Status.StateReason,
			StateReasonCode:            v.Status.StateReasonCode,
			LastUpdateStatusReason:     v.Status.LastUpdateStatusReason,
			LastUpdateStatusReasonCode: v.Status.LastUpdateStatusReasonCode,
		},
	}
	if c.Layers != nil {
		r.Config.Layers = make([]LayerRecord, len(c.Layers))
		for i, l := range c.Layers {
			r.Config.Layers[i] = LayerRecord{
				ARN: l.ARN, Digest: l.Digest.Hex(), Size: l.Size, UnzippedSize: l.UnzippedSize,
				SealedWith: l.SealedWith, SigningProfileVersionARN: l.SigningProfileVersionARN,
				SigningJobARN: l.SigningJobARN,
			}
		}
	}
	if vc := c.VpcConfig; vc != nil {
		r.Config.VpcConfig = &vpcConfigRecord{
			SubnetIDs:               vc.SubnetIDs,
			SecurityGroupIDs:        vc.SecurityGroupIDs,
			Ipv6AllowedForDualStack: vc.Ipv6AllowedForDualStack,
		}
	}
	if c.FileSystemConfigs != nil {
		r.Config.FileSystemConfigs = make([]fileSystemConfigRecord, len(c.FileSystemConfigs))
		for i, fs := range c.FileSystemConfigs {
			r.Config.FileSystemConfigs[i] = fileSystemConfigRecord{ARN: fs.ARN, LocalMountPath: fs.LocalMountPath}
		}
	}
	if ic := c.ImageConfig; ic != nil {
		r.Config.ImageConfig = &imageConfigRecord{
			EntryPoint:       ic.EntryPoint,
			Command:          ic.Command,
			WorkingDirectory: ic.WorkingDirectory,
		}
	}
	return r
}

// apply sets the fields of v that r holds.
func (r *versionRecord) apply(v *lambdahost.Version) error {
	c := &r.Config
	v.Config = lambdahost.Config{
		Runtime:          c.Runtime,
		Role:             c.Role,
		Handler:          c.Handler,
		Description:      c.Description,
		Timeout:          c.Timeout,
		MemorySize:       c.MemorySize,
		Environment:      c.Environment,
		KMSKeyARN:        c.KMSKeyARN,
		DeadLetterTarget: c.DeadLetterTarget,
		TracingMode:      c.TracingMode,
		Architectures:    c.Architectures,
		EphemeralStorage: c.EphemeralStorage,
		SnapStartApplyOn: c.SnapStartApplyOn,
		Logging: lambdahost.LoggingConfig{
			LogFormat:           c.Logging.LogFormat,
			ApplicationLogLevel: c.Logging.ApplicationLogLevel,
			SystemLogLevel:      c.Logging.SystemLogLevel,
			LogGroup:            c.Logging.LogGroup,
		},
	}
	if c.Layers != nil {
		v.Config.Layers = make([]lambdahost.Layer, len(c.Layers))
		for i, l := range c.Layers {
			d, err := lambdahost.ParseDigestHex(l.Digest)
			if err != nil {
				return fmt.Errorf("layer %s: %w", l.ARN, err)
			}
			v.Config.Layers[i] = lambdahost.Layer{
				ARN: l.ARN, Digest: d, Size: l.Size, UnzippedSize: l.UnzippedSize, SealedWith: l.SealedWith,
				SigningProfileVersionARN: l.SigningProfileVersionARN, SigningJobARN: l.SigningJobARN,
			}
		}
	}
	if vc := c.VpcConfig; vc != nil {
		v.Config.VpcConfig = &lambdahost.VpcConfig{
			SubnetIDs:               vc.SubnetIDs,
			SecurityGroupIDs:        vc.SecurityGroupIDs,
			Ipv6AllowedForDualStack: vc.Ipv6AllowedForDualStack,
		}
	}
	if c.FileSystemConfigs != nil {
		v.Config.FileSystemConfigs = make([]lambdahost.FileSystemConfig, len(c.FileSystemConfigs))
		for i, fs := range c.FileSystemConfigs {
			v.Config.FileSystemConfigs[i] = lambdahost.FileSystemConfig{ARN: fs.ARN, LocalMountPath: fs.LocalMountPath}
		}
	}
	if ic := c.ImageConfig; ic != nil {
		v.Config.ImageConfig = &lambdahost.ImageConfig{
			EntryPoint:       ic.EntryPoint,
			Command:          ic.Command,
			WorkingDirectory: ic.WorkingDirectory,
		}
	}
	v.Code.PackageType = r.Code.PackageType
	v.Code.UnzippedSize = r.Code.UnzippedSize
	v.Code.SourceKMSKeyARN = r.Code.SourceKMSKeyARN
	v.Code.ImageURI = r.Code.ImageURI
	v.Code.ResolvedImageURI = r.Code.ResolvedImageURI
	v.Code.SigningProfileVersionARN = r.Code.SigningProfileVersionARN
	v.Code.SigningJobARN = r.Code.SigningJobARN
	v.Code.SealedWith = r.Code.SealedWith
	v.Status.StateReason = r.Status.StateReason
	v.Status.StateReasonCode = r.Status.StateReasonCode
	v.Status.LastUpdateStatusReason = r.Status.LastUpdateStatusReason
	v.Status.LastUpdateStatusReasonCode = r.Status.LastUpdateStatusReasonCode
	return nil
}

package http

import (
	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/control"
)

// timeLayout is how AWS writes LastModified.
const timeLayout = "2006-01-02T15:04:05.000-0700"

// FunctionConfiguration is the wire form of a version's configuration.
// Field order and omissions follow AWS's responses.
type FunctionConfiguration struct {
	FunctionName               string               `json:"FunctionName"`
	FunctionArn                string               `json:"FunctionArn"`
	Runtime                    string               `json:"Runtime,omitempty"`
	Role                       string               `json:"Role"`
	Handler                    string               `json:"Handler,omitempty"`
	CodeSize                   int64                `json:"CodeSize"`
	Description                string               `json:"Description"`
	Timeout                    int                  `json:"Timeout"`
	MemorySize                 int                  `json:"MemorySize"`
	LastModified               string               `json:"LastModified"`
	CodeSha256                 string               `json:"CodeSha256"`
	Version                    string               `json:"Version"`
	VpcConfig                  *VpcConfigResponse   `json:"VpcConfig,omitempty"`
	DeadLetterConfig           *DeadLetterConfig    `json:"DeadLetterConfig,omitempty"`
	Environment                *EnvironmentResponse `json:"Environment,omitempty"`
	KMSKeyArn                  string               `json:"KMSKeyArn,omitempty"`
	TracingConfig              *TracingConfig       `json:"TracingConfig,omitempty"`
	MasterArn                  string               `json:"MasterArn,omitempty"`
	RevisionId                 string               `json:"RevisionId"`
	Layers                     []Layer              `json:"Layers,omitempty"`
	State                      string               `json:"State,omitempty"`
	StateReason                string               `json:"StateReason,omitempty"`
	StateReasonCode            string               `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string               `json:"LastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string               `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string               `json:"LastUpdateStatusReasonCode,omitempty"`
	FileSystemConfigs          []FileSystemConfig   `json:"FileSystemConfigs,omitempty"`
	PackageType                string               `json:"PackageType"`
	ImageConfigResponse        *ImageConfigResponse `json:"ImageConfigResponse,omitempty"`
	SigningProfileVersionArn   string               `json:"SigningProfileVersionArn,omitempty"`
	SigningJobArn              string               `json:"SigningJobArn,omitempty"`
	Architectures              []string             `json:"Architectures"`
	EphemeralStorage           *EphemeralStorage    `json:"EphemeralStorage,omitempty"`
	SnapStart                  *SnapStartResponse   `json:"SnapStart,omitempty"`
	LoggingConfig              *LoggingConfig       `json:"LoggingConfig,omitempty"`
}

// VpcConfigResponse is VpcConfig as answered.
type VpcConfigResponse struct {
	SubnetIds               []string `json:"SubnetIds"`
	SecurityGroupIds        []string `json:"SecurityGroupIds"`
	VpcId                   string   `json:"VpcId"`
	Ipv6AllowedForDualStack bool     `json:"Ipv6AllowedForDualStack"`
}

// VpcConfig is VpcConfig as requested.
type VpcConfig struct {
	SubnetIds               []string `json:"SubnetIds"`
	SecurityGroupIds        []string `json:"SecurityGroupIds"`
	Ipv6AllowedForDualStack *bool    `json:"Ipv6AllowedForDualStack"`
}

// DeadLetterConfig names a dead-letter queue or topic.
type DeadLetterConfig struct {
	TargetArn *string `json:"TargetArn,omitempty"`
}

// Environment is Environment as requested.
type Environment struct {
	Variables map[string]string `json:"Variables"`
}

// EnvironmentResponse is Environment as answered.
type EnvironmentResponse struct {
	Variables map[string]string `json:"Variables"`
}

// TracingConfig is the X-Ray tracing mode.
type TracingConfig struct {
	Mode *string `json:"Mode,omitempty"`
}

// Layer is a layer reference as answered: signing members only for a
// signed layer.
type Layer struct {
	Arn                      string `json:"Arn"`
	CodeSize                 int64  `json:"CodeSize"`
	SigningProfileVersionArn string `json:"SigningProfileVersionArn,omitempty"`
	SigningJobArn            string `json:"SigningJobArn,omitempty"`
}

// FileSystemConfig mounts an EFS access point.
type FileSystemConfig struct {
	Arn            string `json:"Arn"`
	LocalMountPath string `json:"LocalMountPath"`
}

// ImageConfig overrides an image's entry point, command and directory.
type ImageConfig struct {
	EntryPoint       []string `json:"EntryPoint,omitempty"`
	Command          []string `json:"Command,omitempty"`
	WorkingDirectory string   `json:"WorkingDirectory,omitempty"`
}

// ImageConfigResponse wraps ImageConfig in a configuration.
type ImageConfigResponse struct {
	ImageConfig *ImageConfig `json:"ImageConfig,omitempty"`
}

// EphemeralStorage is /tmp's size.
type EphemeralStorage struct {
	Size *int `json:"Size"`
}

// SnapStart is SnapStart as requested.
type SnapStart struct {
	ApplyOn *string `json:"ApplyOn"`
}

// SnapStartResponse is SnapStart as answered.
type SnapStartResponse struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

// LoggingConfig says how a function logs.
type LoggingConfig struct {
	LogFormat           string `json:"LogFormat,omitempty"`
	ApplicationLogLevel string `json:"ApplicationLogLevel,omitempty"`
	SystemLogLevel      string `json:"SystemLogLevel,omitempty"`
	LogGroup            string `json:"LogGroup,omitempty"`
}

// toConfiguration converts a version to its wire form.
func toConfiguration(fc *control.FunctionConfig) *FunctionConfiguration {
	v := fc.Version
	c := v.Config
	out := &FunctionConfiguration{
		FunctionName: v.Function.Name, FunctionArn: fc.ARN,
		Runtime: c.Runtime, Role: c.Role, Handler: c.Handler,
		CodeSize: v.Code.Size, Description: c.Description, Timeout: c.Timeout, MemorySize: c.MemorySize,
		LastModified: v.LastModified.UTC().Format(timeLayout), CodeSha256: v.Code.SHA256(),
		Version: v.Name, KMSKeyArn: c.KMSKeyARN, RevisionId: v.RevisionID,
		State: v.Status.State, StateReason: v.Status.StateReason, StateReasonCode: v.Status.StateReasonCode,
		LastUpdateStatus: v.Status.LastUpdateStatus, LastUpdateStatusReason: v.Status.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: v.Status.LastUpdateStatusReasonCode,
		PackageType:                v.Code.PackageType, SigningProfileVersionArn: v.Code.SigningProfileVersionARN,
		SigningJobArn: v.Code.SigningJobARN, Architectures: c.Architectures,
	}
	if v.Code.PackageType == lambdahost.PackageImage {
		// AWS reports no code size for an image.
		out.CodeSize = 0
	}
	if c.VpcConfig != nil {
		out.VpcConfig = &VpcConfigResponse{SubnetIds: nonNil(c.VpcConfig.SubnetIDs), SecurityGroupIds: nonNil(c.VpcConfig.SecurityGroupIDs), Ipv6AllowedForDualStack: c.VpcConfig.Ipv6AllowedForDualStack}
	}
	if c.DeadLetterTarget != "" {
		t := c.DeadLetterTarget
		out.DeadLetterConfig = &DeadLetterConfig{TargetArn: &t}
	}
	if c.Environment != nil {
		out.Environment = &EnvironmentResponse{Variables: c.Environment}
	}
	if c.TracingMode != "" {
		m := c.TracingMode
		out.TracingConfig = &TracingConfig{Mode: &m}
	}
	for _, l := range c.Layers {
		out.Layers = append(out.Layers, Layer{Arn: l.ARN, CodeSize: l.Size, SigningProfileVersionArn: l.SigningProfileVersionARN, SigningJobArn: l.SigningJobARN})
	}
	for _, f := range c.FileSystemConfigs {
		out.FileSystemConfigs = append(out.FileSystemConfigs, FileSystemConfig{Arn: f.ARN, LocalMountPath: f.LocalMountPath})
	}
	if c.ImageConfig != nil {
		out.ImageConfigResponse = &ImageConfigResponse{ImageConfig: &ImageConfig{EntryPoint: c.ImageConfig.EntryPoint, Command: c.ImageConfig.Command, WorkingDirectory: c.ImageConfig.WorkingDirectory}}
	}
	if c.EphemeralStorage != 0 {
		size := c.EphemeralStorage
		out.EphemeralStorage = &EphemeralStorage{Size: &size}
	}
	if c.SnapStartApplyOn != "" {
		out.SnapStart = &SnapStartResponse{ApplyOn: c.SnapStartApplyOn, OptimizationStatus: "Off"}
	}
	if c.Logging != (lambdahost.LoggingConfig{}) {
		out.LoggingConfig = &LoggingConfig{LogFormat: c.Logging.LogFormat, ApplicationLogLevel: c.Logging.ApplicationLogLevel, SystemLogLevel: c.Logging.SystemLogLevel, LogGroup: c.Logging.LogGroup}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AliasConfiguration is an alias on the wire.
type AliasConfiguration struct {
	AliasArn        string                     `json:"AliasArn"`
	Name            string                     `json:"Name"`
	FunctionVersion string                     `json:"FunctionVersion"`
	Description     string                     `json:"Description"`
	RoutingConfig   *AliasRoutingConfiguration `json:"RoutingConfig,omitempty"`
	RevisionId      string                     `json:"RevisionId"`
}

// AliasRoutingConfiguration is an alias's weighted routing.
type AliasRoutingConfiguration struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

func toAlias(a *lambdahost.Alias) *AliasConfiguration {
	out := &AliasConfiguration{AliasArn: a.ARN(), Name: a.Name, FunctionVersion: a.FunctionVersion, Description: a.Description, RevisionId: a.RevisionID}
	if len(a.AdditionalVersionWeights) > 0 {
		out.RoutingConfig = &AliasRoutingConfiguration{AdditionalVersionWeights: a.AdditionalVersionWeights}
	}
	return out
}

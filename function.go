package lambdahost

import "time"

// State values of a function version (FunctionConfiguration.State).
const (
	StatePending  = "Pending"
	StateActive   = "Active"
	StateInactive = "Inactive"
	StateFailed   = "Failed"
)

// LastUpdateStatus values.
const (
	UpdateSuccessful = "Successful"
	UpdateFailed     = "Failed"
	UpdateInProgress = "InProgress"
)

// Package types.
const (
	PackageZip   = "Zip"
	PackageImage = "Image"
)

// Function is the record of a function: what is shared by its versions.
type Function struct {
	ID FunctionID
	// Tags are the function's tags; nil means none.
	Tags map[string]string
	// LastVersion is the number of the latest published version, 0 if none.
	// Version numbers are never reused, even after a version is deleted.
	LastVersion int64
	// Created is when CreateFunction committed.
	Created time.Time
	// Changes counts the changes made to $LATEST's code or configuration.
	// PublishedChanges is the value Changes had when LastVersion was
	// published: PublishVersion makes no new version while they are equal.
	Changes          int64
	PublishedChanges int64
	// ReservedConcurrency is the function's reserved concurrency
	// (PutFunctionConcurrency), nil when none is set. Zero is a setting:
	// it throttles every invocation. It belongs to the function as a
	// whole, not to a version, and changes no RevisionId.
	ReservedConcurrency *int
}

// Version is one version of a function: $LATEST, $LATEST.PUBLISHED or a
// published number, with its configuration, code and state.
type Version struct {
	Function FunctionID
	// Name is "$LATEST", "$LATEST.PUBLISHED" or a decimal number.
	Name string
	// RevisionID changes with every change to this version.
	RevisionID   string
	LastModified time.Time
	Config       Config
	Code         Code
	Status       Status
}

// ARN returns the version-qualified ARN.
func (v *Version) ARN() string { return v.Function.QualifiedARN(v.Name) }

// Status is the state machine of a version, as GetFunction reports it.
type Status struct {
	State                      string
	StateReason                string
	StateReasonCode            string
	LastUpdateStatus           string
	LastUpdateStatusReason     string
	LastUpdateStatusReasonCode string
}

// Busy reports whether an operation is under way, so that another update
// must be refused with ResourceConflictException.
func (s Status) Busy() bool {
	return s.State == StatePending || s.LastUpdateStatus == UpdateInProgress
}

// Code is a version's deployment package.
type Code struct {
	PackageType string
	// Digest is the SHA-256 of the zip; CodeSha256 is its base64.
	// For an image it is the manifest digest.
	Digest Digest
	Size   int64
	// UnzippedSize is the sum of the entries' uncompressed sizes.
	UnzippedSize    int64
	SourceKMSKeyARN string
	ImageURI        string
	// ResolvedImageURI is ImageURI with the tag resolved to a digest.
	ResolvedImageURI         string
	SigningProfileVersionARN string
	SigningJobARN            string
	// SealedWith is the ARN of the KMS key the code is sealed under at
	// rest: SourceKMSKeyARN, or the account's service-managed default key.
	// Empty for code stored before lambdahost sealed code, which is plain.
	SealedWith string
}

// SHA256 returns CodeSha256 as AWS reports it: the base64 SHA-256 of a
// zip, or an image's manifest digest in hex.
func (c Code) SHA256() string {
	if c.PackageType == PackageImage {
		return c.Digest.Hex()
	}
	return c.Digest.Base64()
}

// Config is a version's configuration.
type Config struct {
	Runtime     string
	Role        string
	Handler     string
	Description string
	// Timeout is in seconds.
	Timeout int
	// MemorySize is in MB.
	MemorySize int
	// Environment is nil when the function has no Environment block.
	Environment      map[string]string
	KMSKeyARN        string
	VpcConfig        *VpcConfig
	DeadLetterTarget string
	TracingMode      string
	// Layers are the layer versions the function uses, in the order their
	// contents are extracted into /opt.
	Layers            []Layer
	FileSystemConfigs []FileSystemConfig
	ImageConfig       *ImageConfig
	Architectures     []string
	// EphemeralStorage is /tmp's size in MB.
	EphemeralStorage int
	SnapStartApplyOn string
	Logging          LoggingConfig
}

// Layer is a layer version a function version uses. It keeps what it
// needs of the layer version's code when it is attached, so that deleting
// the layer version changes nothing for the function, as on AWS.
type Layer struct {
	// ARN is the layer version ARN (arn:aws:lambda:...:layer:NAME:N).
	ARN string
	// Digest, Size, UnzippedSize and SealedWith are those of the layer's
	// zip, as in Code.
	Digest       Digest
	Size         int64
	UnzippedSize int64
	SealedWith   string
	// SigningProfileVersionARN and SigningJobARN name who signed the
	// layer, if anyone did.
	SigningProfileVersionARN string
	SigningJobARN            string
}

// Code returns the layer's package as a zip Code, to open or unpack it as
// a function's own code.
func (l Layer) Code() Code {
	return Code{
		PackageType: PackageZip, Digest: l.Digest, Size: l.Size, UnzippedSize: l.UnzippedSize,
		SealedWith: l.SealedWith, SigningProfileVersionARN: l.SigningProfileVersionARN, SigningJobARN: l.SigningJobARN,
	}
}

// VpcConfig attaches a function to subnets and security groups.
type VpcConfig struct {
	SubnetIDs               []string
	SecurityGroupIDs        []string
	Ipv6AllowedForDualStack bool
}

// FileSystemConfig mounts an EFS access point.
type FileSystemConfig struct {
	ARN            string
	LocalMountPath string
}

// ImageConfig overrides an image's ENTRYPOINT, CMD and WORKDIR.
type ImageConfig struct {
	EntryPoint       []string
	Command          []string
	WorkingDirectory string
}

// LoggingConfig says where and how the function logs.
type LoggingConfig struct {
	LogFormat           string
	ApplicationLogLevel string
	SystemLogLevel      string
	LogGroup            string
}

// Alias is a named pointer to a version, with optional weighted routing.
type Alias struct {
	Function        FunctionID
	Name            string
	FunctionVersion string
	Description     string
	// AdditionalVersionWeights routes that share of invokes to another version.
	AdditionalVersionWeights map[string]float64
	RevisionID               string
}

// ARN returns the alias ARN.
func (a *Alias) ARN() string { return a.Function.QualifiedARN(a.Name) }

// AccountUsage is what GetAccountSettings reports as used.
type AccountUsage struct {
	TotalCodeSize int64
	FunctionCount int64
	// ReservedConcurrency sums the reserved concurrency of the functions,
	// which UnreservedConcurrentExecutions leaves out.
	ReservedConcurrency int64
}

// ReasonError fails an update or creation with a reason AWS defines: Code
// is the LastUpdateStatusReasonCode (and StateReasonCode of a new
// function), Message its reason. Adapters that prepare code return it.
type ReasonError struct {
	Code    string
	Message string
	Err     error
}

func (e *ReasonError) Error() string { return e.Code + ": " + e.Message }
func (e *ReasonError) Unwrap() error { return e.Err }

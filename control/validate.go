package control

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// ConfigInput holds the configuration fields of CreateFunction and
// UpdateFunctionConfiguration. A nil field was not given.
type ConfigInput struct {
	Runtime     *string
	Role        *string
	Handler     *string
	Description *string
	Timeout     *int
	MemorySize  *int
	// Environment is the Variables of an Environment block; a non-nil
	// pointer to a nil map is an Environment block without Variables.
	Environment       *map[string]string
	KMSKeyARN         *string
	VpcConfig         *lambdahost.VpcConfig
	DeadLetterTarget  *string
	TracingMode       *string
	Layers            *[]string
	FileSystemConfigs *[]lambdahost.FileSystemConfig
	ImageConfig       *lambdahost.ImageConfig
	EphemeralStorage  *int
	SnapStartApplyOn  *string
	Logging           *lambdahost.LoggingConfig
	// Unsupported names fields of the request that lambdahost cannot honour
	// (CapacityProviderConfig, DurableConfig, TenancyConfig...).
	Unsupported []string
}

// Runtimes AWS accepts for new and updated functions, in the order its
// validation message lists them (recorded responses).
var supportedRuntimes = []string{"nodejs20.x", "python3.14", "provided.al2023", "python3.12", "python3.13", "nodejs24.x", "nodejs22.x", "java25", "python3.10", "python3.11", "java21", "ruby3.3", "ruby3.4", "ruby3.2", "python3.8", "python3.9", "java17", "nodejs16.x", "dotnet10", "dotnet8", "java11", "dotnet6", "nodejs18.x", "provided.al2", "java8.al2"}

// Runtimes returns every runtime CreateFunction and
// UpdateFunctionConfiguration accept, whether or not this host can run it.
func Runtimes() []string { return append(slices.Clone(supportedRuntimes), "ruby4.0") }

// Runtimes the model knows that AWS no longer accepts for create or update.
var deprecatedRuntimes = []string{"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "java8", "python2.7", "python3.6", "python3.7", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "nodejs4.3-edge", "go1.x", "ruby2.5", "ruby2.7", "provided"}

// Environment variable names Lambda reserves
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
var reservedEnvKeys = []string{"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}

var (
	reEnvKey    = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
	reHandler   = regexp.MustCompile(`^[^\s]+$`)
	reKMSKey    = regexp.MustCompile(`^(?:(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|())$`)
	reLogGroup  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	reSubnet    = regexp.MustCompile(`^subnet-[0-9a-z]*$`)
	reSG        = regexp.MustCompile(`^sg-[0-9a-zA-Z]*$`)
	reEFSArn    = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:elasticfilesystem:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}:\d{12}:access-point/fsap-[a-f0-9]{17}$`)
	reMountPath = regexp.MustCompile(`^/mnt/[a-zA-Z0-9-_.]+$`)
)

const (
	patternKMSKey   = `(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()`
	patternLogGroup = `[\.\-_/#A-Za-z0-9]+`
	// maxEnvironmentSize is the 4 KB limit on the JSON of the variables.
	maxEnvironmentSize = 4096
	maxTimeout         = 900
	maxMemory          = 10240
)

// validateConfig checks every given field of in against the model and AWS's
// limits. packageType is the function's package type.
func validateConfig(in *ConfigInput, packageType string) error {
	var v lambdahost.Validation
	if in.Role != nil && !lambdahost.ValidRole(*in.Role) {
		v.Add("role", lambdahost.Quote(*in.Role), "Member must satisfy regular expression pattern: "+lambdahost.PatternRole)
	}
	if in.Handler != nil {
		h := *in.Handler
		if len(h) > 128 {
			v.Add("handler", lambdahost.Quote(h), "Member must have length less than or equal to 128")
		}
		if h != "" && !reHandler.MatchString(h) {
			v.Add("handler", lambdahost.Quote(h), `Member must satisfy regular expression pattern: [^\s]+`)
		}
	}
	checkDescription(&v, in.Description)
	if in.Timeout != nil && *in.Timeout < 1 {
		v.Add("timeout", lambdahost.Quote(strconv.Itoa(*in.Timeout)), "Member must have value greater than or equal to 1")
	}
	if in.MemorySize != nil {
		if *in.MemorySize < 128 {
			v.Add("memorySize", lambdahost.Quote(strconv.Itoa(*in.MemorySize)), "Member must have value greater than or equal to 128")
		}
		if *in.MemorySize > 32768 {
			v.Add("memorySize", lambdahost.Quote(strconv.Itoa(*in.MemorySize)), "Member must have value less than or equal to 32768")
		}
	}
	if in.EphemeralStorage != nil {
		if *in.EphemeralStorage < 512 {
			v.Add("ephemeralStorage.size", lambdahost.Quote(strconv.Itoa(*in.EphemeralStorage)), "Member must have value greater than or equal to 512")
		}
		if *in.EphemeralStorage > 10240 {
			v.Add("ephemeralStorage.size", lambdahost.Quote(strconv.Itoa(*in.EphemeralStorage)), "Member must have value less than or equal to 10240")
		}
	}
	if in.KMSKeyARN != nil && !reKMSKey.MatchString(*in.KMSKeyARN) {
		v.Add("kMSKeyArn", lambdahost.Quote(*in.KMSKeyARN), "Member must satisfy regular expression pattern: "+patternKMSKey)
	}
	if in.TracingMode != nil && *in.TracingMode != "Active" && *in.TracingMode != "PassThrough" {
		v.Add("tracingConfig.mode", lambdahost.Quote(*in.TracingMode), "Member must satisfy enum value set: [Active, PassThrough]")
	}
	if in.SnapStartApplyOn != nil && *in.SnapStartApplyOn != "PublishedVersions" && *in.SnapStartApplyOn != "None" {
		v.Add("snapStart.applyOn", lambdahost.Quote(*in.SnapStartApplyOn), "Member must satisfy enum value set: [PublishedVersions, None]")
	}
	if in.Layers != nil {
		var bad []string
		for _, l := range *in.Layers {
			if !lambdahost.ValidLayerVersionARN(l) {
				bad = append(bad, l)
			}
		}
		if bad != nil {
			v.Add("layers", "'["+strings.Join(*in.Layers, ", ")+"]'", "Member must satisfy constraint: [Member must have length less than or equal to 2048, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: "+lambdahost.PatternLayerVersionARN+", Member must not be null]")
		}
	}
	if in.Logging != nil {
		l := in.Logging
		if l.LogFormat != "" && l.LogFormat != "JSON" && l.LogFormat != "Text" {
			v.Add("loggingConfig.logFormat", lambdahost.Quote(l.LogFormat), "Member must satisfy enum value set: [JSON, Text]")
		}
		if l.ApplicationLogLevel != "" && !slices.Contains(appLogLevels, l.ApplicationLogLevel) {
			v.Add("loggingConfig.applicationLogLevel", lambdahost.Quote(l.ApplicationLogLevel), "Member must satisfy enum value set: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]")
		}
		if l.SystemLogLevel != "" && !slices.Contains(sysLogLevels, l.SystemLogLevel) {
			v.Add("loggingConfig.systemLogLevel", lambdahost.Quote(l.SystemLogLevel), "Member must satisfy enum value set: [DEBUG, INFO, WARN]")
		}
		if l.LogGroup != "" && (len(l.LogGroup) > 512 || !reLogGroup.MatchString(l.LogGroup)) {
			v.Add("loggingConfig.logGroup", lambdahost.Quote(l.LogGroup), "Member must satisfy regular expression pattern: "+patternLogGroup)
		}
	}
	if in.VpcConfig != nil {
		if bad := badItems(in.VpcConfig.SubnetIDs, reSubnet); bad {
			v.Add("vpcConfig.subnetIds", "'["+strings.Join(in.VpcConfig.SubnetIDs, ", ")+"]'", "Member must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: subnet-[0-9a-z]*]")
		}
		if bad := badItems(in.VpcConfig.SecurityGroupIDs, reSG); bad {
			v.Add("vpcConfig.securityGroupIds", "'["+strings.Join(in.VpcConfig.SecurityGroupIDs, ", ")+"]'", "Member must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: sg-[0-9a-zA-Z]*]")
		}
	}
	if in.FileSystemConfigs != nil && len(*in.FileSystemConfigs) > 1 {
		v.Add("fileSystemConfigs", "'"+fmt.Sprint(len(*in.FileSystemConfigs))+"'", "Member must have length less than or equal to 1")
	}
	if in.ImageConfig != nil && len(in.ImageConfig.WorkingDirectory) > 1000 {
		v.Add("imageConfig.workingDirectory", lambdahost.Quote(in.ImageConfig.WorkingDirectory), "Member must have length less than or equal to 1000")
	}
	if err := v.Err(); err != nil {
		return err
	}

	// Checks AWS makes after the model's constraints, as InvalidParameterValueException.
	if in.Runtime != nil {
		if err := checkRuntime(*in.Runtime); err != nil {
			return err
		}
	}
	if in.Timeout != nil && *in.Timeout > maxTimeout {
		var v lambdahost.Validation
		v.Add("timeout", lambdahost.Quote(strconv.Itoa(*in.Timeout)), "Member must have value less than or equal to "+strconv.Itoa(maxTimeout))
		return v.Err()
	}
	if in.MemorySize != nil && *in.MemorySize > maxMemory {
		return lambdahost.Errorf(lambdahost.ValidationException, "'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to %d", maxMemory)
	}
	if in.Environment != nil {
		if err := checkEnvironment(*in.Environment); err != nil {
			return err
		}
	}
	if in.DeadLetterTarget != nil && *in.DeadLetterTarget != "" && !strings.HasPrefix(*in.DeadLetterTarget, "arn:") {
		return invalidf("Invalid dead letter queue ARN: ARNs must start with 'arn:': %s", *in.DeadLetterTarget)
	}
	if in.SnapStartApplyOn != nil && *in.SnapStartApplyOn == "PublishedVersions" && in.Runtime != nil && !strings.HasPrefix(*in.Runtime, "java") && !strings.HasPrefix(*in.Runtime, "python") && !strings.HasPrefix(*in.Runtime, "dotnet") {
		return invalidf("%s is not supported for SnapStart enabled functions.", *in.Runtime)
	}
	if packageType == lambdahost.PackageImage {
		if (in.Runtime != nil && *in.Runtime != "") || (in.Handler != nil && *in.Handler != "") || (in.Layers != nil && len(*in.Layers) > 0) {
			return invalidf("Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.")
		}
	} else if in.ImageConfig != nil {
		return invalidf("ImageConfig is not supported for functions with package type Zip.")
	}
	if in.Layers != nil && len(*in.Layers) > maxLayers {
		return invalidf("Cannot reference more than 5 layers.")
	}
	// Resources lambdahost has no service for: AWS answers that they do not exist.
	if in.VpcConfig != nil {
		if ids := in.VpcConfig.SubnetIDs; len(ids) > 0 {
			return invalidf("Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. EC2 Error Message: The subnet ID '%s' does not exist", ids[0])
		}
		if ids := in.VpcConfig.SecurityGroupIDs; len(ids) > 0 {
			return invalidf("Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. EC2 Error Message: The security group '%s' does not exist", ids[0])
		}
	}
	if in.FileSystemConfigs != nil {
		if fs := *in.FileSystemConfigs; len(fs) > 0 {
			if !reEFSArn.MatchString(fs[0].ARN) || !reMountPath.MatchString(fs[0].LocalMountPath) {
				return invalidf("FileSystemConfigs must have a valid access point ARN and a local mount path under /mnt/.")
			}
			return invalidf("Error occurred while DescribeAccessPoints. EFS Error Code: AccessPointNotFound. EFS Error Message: Access point %s does not exist.", fs[0].ARN)
		}
	}
	if len(in.Unsupported) > 0 {
		return invalidf("%s is not supported by this Lambda endpoint.", strings.Join(in.Unsupported, ", "))
	}
	return nil
}

var (
	appLogLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	sysLogLevels = []string{"DEBUG", "INFO", "WARN"}
)

// checkDescription adds the model's Description constraint to v, for every
// operation that takes a Description.
// checkLogLevels refuses log levels for a function whose log format,
// once in is applied to a configuration of format current ("" for a new
// function), is Text: only the JSON format filters by level.
func checkLogLevels(in *ConfigInput, current string) error {
	l := in.Logging
	if l == nil || l.ApplicationLogLevel == "" && l.SystemLogLevel == "" {
		return nil
	}
	format := l.LogFormat
	if format == "" {
		format = current
	}
	if format != "JSON" {
		return invalidf("LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or change the LogFormat to \"Json\" and try again.")
	}
	return nil
}

func checkDescription(v *lambdahost.Validation, d *string) {
	if d != nil && len(*d) > 256 {
		v.Add("description", lambdahost.Quote(*d), "Member must have length less than or equal to 256")
	}
}

func badItems(items []string, re *regexp.Regexp) bool {
	for _, it := range items {
		if len(it) > 1024 || !re.MatchString(it) {
			return true
		}
	}
	return false
}

func invalidf(format string, args ...any) error {
	return lambdahost.Errorf(lambdahost.InvalidParameterValueException, format, args...)
}

func checkRuntime(r string) error {
	if slices.Contains(supportedRuntimes, r) || r == "ruby4.0" {
		return nil
	}
	if slices.Contains(deprecatedRuntimes, r) {
		return invalidf("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.", r)
	}
	return invalidf("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN", r, strings.Join(supportedRuntimes, ", "))
}

func checkEnvironment(vars map[string]string) error {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var reserved []string
	for _, k := range keys {
		if !reEnvKey.MatchString(k) {
			var v lambdahost.Validation
			v.Add("environment.variables", "", "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
			return v.Err()
		}
		if slices.Contains(reservedEnvKeys, k) {
			reserved = append(reserved, k)
		}
	}
	if reserved != nil {
		return invalidf("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	b, err := json.Marshal(vars)
	if err != nil {
		return invalidf("Lambda was unable to configure your environment variables.")
	}
	if len(b) > maxEnvironmentSize {
		return invalidf("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", b)
	}
	return nil
}

// validateArchitectures checks the Architectures list of a request.
func validateArchitectures(a []string) error {
	if a == nil {
		return nil
	}
	var v lambdahost.Validation
	val := "'[" + strings.Join(a, ", ") + "]'"
	if len(a) > 1 {
		v.Add("architectures", val, "Member must have length less than or equal to 1")
	} else if len(a) < 1 {
		v.Add("architectures", val, "Member must have length greater than or equal to 1")
	} else if a[0] != "x86_64" && a[0] != "arm64" {
		v.Add("architectures", val, "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]")
	}
	return v.Err()
}

// apply writes the given fields of in over c, but Layers, which
// attachLayers resolves to the layer versions they name.
func apply(c *lambdahost.Config, in *ConfigInput) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.Runtime, in.Runtime)
	set(&c.Role, in.Role)
	set(&c.Handler, in.Handler)
	set(&c.Description, in.Description)
	set(&c.KMSKeyARN, in.KMSKeyARN)
	set(&c.DeadLetterTarget, in.DeadLetterTarget)
	set(&c.TracingMode, in.TracingMode)
	set(&c.SnapStartApplyOn, in.SnapStartApplyOn)
	if in.Timeout != nil {
		c.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		c.MemorySize = *in.MemorySize
	}
	if in.EphemeralStorage != nil {
		c.EphemeralStorage = *in.EphemeralStorage
	}
	if in.Environment != nil {
		env := map[string]string{}
		for k, val := range *in.Environment {
			env[k] = val
		}
		c.Environment = env
	}
	if in.VpcConfig != nil {
		vc := *in.VpcConfig
		c.VpcConfig = &vc
		if len(vc.SubnetIDs) == 0 && len(vc.SecurityGroupIDs) == 0 {
			c.VpcConfig = nil
		}
	}
	if in.FileSystemConfigs != nil {
		c.FileSystemConfigs = slices.Clone(*in.FileSystemConfigs)
	}
	if in.ImageConfig != nil {
		ic := *in.ImageConfig
		c.ImageConfig = &ic
	}
	if in.Logging != nil {
		l := *in.Logging
		if l.LogFormat != "" {
			c.Logging.LogFormat = l.LogFormat
		}
		if l.ApplicationLogLevel != "" {
			c.Logging.ApplicationLogLevel = l.ApplicationLogLevel
		}
		if l.SystemLogLevel != "" {
			c.Logging.SystemLogLevel = l.SystemLogLevel
		}
		if l.LogGroup != "" {
			c.Logging.LogGroup = l.LogGroup
		}
		if c.Logging.LogFormat == "JSON" {
			if c.Logging.ApplicationLogLevel == "" {
				c.Logging.ApplicationLogLevel = "INFO"
			}
			if c.Logging.SystemLogLevel == "" {
				c.Logging.SystemLogLevel = "INFO"
			}
		} else {
			c.Logging.ApplicationLogLevel, c.Logging.SystemLogLevel = "", ""
		}
	}
}

package storetest

import (
	"crypto/sha256"
	"reflect"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
)

// created is the fixtures' creation time: UTC, with nanoseconds, so that a
// store that keeps milliseconds passes and one that keeps seconds fails.
var created = time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, time.UTC)

func digest(s string) lambdahost.Digest { return sha256.Sum256([]byte(s)) }

// newFunction returns a function record with only its ID and creation time.
func newFunction(id lambdahost.FunctionID) *lambdahost.Function {
	return &lambdahost.Function{ID: id, Created: created}
}

// fullFunction returns a function record with every field set.
func fullFunction(id lambdahost.FunctionID) *lambdahost.Function {
	return &lambdahost.Function{
		ID:                  id,
		Tags:                map[string]string{"team": "payments", "env": "prod", "empty": ""},
		LastVersion:         7,
		Created:             created,
		Changes:             12,
		PublishedChanges:    11,
		ReservedConcurrency: ptr(250),
	}
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// fullVersion returns version name of id with every field set to a value
// that depends on the version, so that mixed-up rows are noticed.
func fullVersion(id lambdahost.FunctionID, name string) *lambdahost.Version {
	return &lambdahost.Version{
		Function:     id,
		Name:         name,
		RevisionID:   "rev-" + id.Name + "-" + name,
		LastModified: created.Add(time.Duration(len(name)) * time.Hour),
		Config: lambdahost.Config{
			Runtime:     "provided.al2023",
			Role:        "arn:aws:iam::" + id.Account + ":role/lambda-" + id.Name,
			Handler:     "bootstrap",
			Description: "version " + name + " of " + id.Name + ` with "quotes", 'apostrophes', \backslash and ünïcödé`,
			Timeout:     30,
			MemorySize:  512,
			Environment: map[string]string{
				"GREETING": "hello, " + name,
				"EMPTY":    "",
				"JSON":     `{"a": [1, 2]}`,
			},
			KMSKeyARN: "arn:aws:kms:" + id.Region + ":" + id.Account + ":key/1234abcd-12ab-34cd-56ef-1234567890ab",
			VpcConfig: &lambdahost.VpcConfig{
				SubnetIDs:               []string{"subnet-071f712345678e7c8", "subnet-07fd123456788a036"},
				SecurityGroupIDs:        []string{"sg-085912345678492fb"},
				Ipv6AllowedForDualStack: true,
			},
			DeadLetterTarget: "arn:aws:sqs:" + id.Region + ":" + id.Account + ":dlq",
			TracingMode:      "Active",
			Layers: []lambdahost.Layer{
				{
					ARN: "arn:aws:lambda:" + id.Region + ":" + id.Account + ":layer:deps:3", Digest: digest("layer deps:3 of " + id.ARN() + ":" + name),
					Size: 300, UnzippedSize: 900 + int64(len(name)),
					SealedWith:               "arn:aws:kms:" + id.Region + ":" + id.Account + ":key/00000000-0000-4000-8000-000000000001",
					SigningProfileVersionARN: "arn:aws:signer:" + id.Region + ":" + id.Account + ":/signing-profiles/layers/v2",
					SigningJobARN:            "arn:aws:signer:" + id.Region + ":" + id.Account + ":/signing-jobs/j2",
				},
				{
					ARN: "arn:aws:lambda:" + id.Region + ":999999999999:layer:shared:12", Digest: digest("layer shared:12"), Size: 40, UnzippedSize: 70,
					SealedWith:               "arn:aws:kms:" + id.Region + ":999999999999:key/00000000-0000-4000-8000-000000000002",
					SigningProfileVersionARN: "arn:aws:signer:" + id.Region + ":999999999999:/signing-profiles/shared/v1",
					SigningJobARN:            "arn:aws:signer:" + id.Region + ":999999999999:/signing-jobs/j3",
				},
			},
			FileSystemConfigs: []lambdahost.FileSystemConfig{{
				ARN:            "arn:aws:elasticfilesystem:" + id.Region + ":" + id.Account + ":access-point/fsap-01234567890abcdef",
				LocalMountPath: "/mnt/efs",
			}},
			ImageConfig: &lambdahost.ImageConfig{
				EntryPoint:       []string{"/lambda-entrypoint.sh"},
				Command:          []string{"app.handler", "--flag"},
				WorkingDirectory: "/var/task",
			},
			Architectures:    []string{"arm64"},
			EphemeralStorage: 1024,
			SnapStartApplyOn: "None",
			Logging: lambdahost.LoggingConfig{
				LogFormat:           "JSON",
				ApplicationLogLevel: "INFO",
				SystemLogLevel:      "WARN",
				LogGroup:            "/aws/lambda/" + id.Name,
			},
		},
		Code: lambdahost.Code{
			PackageType:              lambdahost.PackageZip,
			Digest:                   digest(id.ARN() + ":" + name),
			Size:                     int64(1000 + len(name)),
			UnzippedSize:             int64(5000 + len(name)),
			SourceKMSKeyARN:          "arn:aws:kms:" + id.Region + ":" + id.Account + ":key/source",
			ImageURI:                 id.Account + ".dkr.ecr." + id.Region + ".amazonaws.com/app:latest",
			ResolvedImageURI:         id.Account + ".dkr.ecr." + id.Region + ".amazonaws.com/app@sha256:0123",
			SigningProfileVersionARN: "arn:aws:signer:" + id.Region + ":" + id.Account + ":/signing-profiles/p/v1",
			SigningJobARN:            "arn:aws:signer:" + id.Region + ":" + id.Account + ":/signing-jobs/j1",
			SealedWith:               "arn:aws:kms:" + id.Region + ":" + id.Account + ":key/00000000-0000-4000-8000-000000000001",
		},
		Status: lambdahost.Status{
			State:                      lambdahost.StateActive,
			StateReason:                "The function is ready",
			StateReasonCode:            "Idle",
			LastUpdateStatus:           lambdahost.UpdateSuccessful,
			LastUpdateStatusReason:     "Updated",
			LastUpdateStatusReasonCode: "None",
		},
	}
}

// emptyVersion returns a version whose maps, slices and pointers are all
// set but empty: they must not come back nil.
func emptyVersion(id lambdahost.FunctionID, name string) *lambdahost.Version {
	return &lambdahost.Version{
		Function:   id,
		Name:       name,
		RevisionID: "empty",
		Config: lambdahost.Config{
			Environment:       map[string]string{},
			VpcConfig:         &lambdahost.VpcConfig{SubnetIDs: []string{}, SecurityGroupIDs: []string{}},
			Layers:            []lambdahost.Layer{},
			FileSystemConfigs: []lambdahost.FileSystemConfig{},
			ImageConfig:       &lambdahost.ImageConfig{EntryPoint: []string{}, Command: []string{}},
			Architectures:     []string{},
		},
	}
}

// imageVersion returns a version of an image function, nil where a zip
// function's fields would be set.
func imageVersion(id lambdahost.FunctionID, name string) *lambdahost.Version {
	return &lambdahost.Version{
		Function:     id,
		Name:         name,
		RevisionID:   "image",
		LastModified: created,
		Config: lambdahost.Config{
			Role:          "arn:aws:iam::" + id.Account + ":role/r",
			Timeout:       3,
			MemorySize:    128,
			ImageConfig:   &lambdahost.ImageConfig{Command: []string{"cmd"}},
			Architectures: []string{"x86_64"},
		},
		Code: lambdahost.Code{
			PackageType:      lambdahost.PackageImage,
			Digest:           digest("manifest"),
			Size:             4096,
			ImageURI:         "registry.example.com/app:1",
			ResolvedImageURI: "registry.example.com/app@sha256:abc",
		},
		Status: lambdahost.Status{State: lambdahost.StateInactive, StateReasonCode: "Idle"},
	}
}

// fullAlias returns alias name of id with every field set.
func fullAlias(id lambdahost.FunctionID, name string) *lambdahost.Alias {
	return &lambdahost.Alias{
		Function:                 id,
		Name:                     name,
		FunctionVersion:          "3",
		Description:              "alias " + name,
		AdditionalVersionWeights: map[string]float64{"4": 0.125},
		RevisionID:               "alias-rev-" + name,
	}
}

// fullEvent returns asynchronous event id of function fn with every field
// set to a value that depends on the event.
func fullEvent(fn lambdahost.FunctionID, id string) *lambdahost.AsyncEvent {
	return &lambdahost.AsyncEvent{
		ID:        id,
		Function:  fn,
		Qualifier: "live",
		// Bytes that are not valid UTF-8 must come back unchanged.
		Payload:   []byte(`{"event":"` + id + `","bytes":"` + "\xff\xfe\x80" + `"}`),
		RequestID: "req-" + id,
		TraceID:   "Root=1-67890abc-" + id + ";Sampled=0",
		Created:   created.Add(time.Duration(len(id)) * time.Second),
		Node:      "node-" + id,
	}
}

// rootPkg is the import path of the domain types, whose structs
// checkAllSet walks into.
var rootPkg = reflect.TypeFor[lambdahost.Function]().PkgPath()

// checkAllSet fails the test for every field under v that is zero, nil or
// empty, naming it by path.
func checkAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			t.Errorf("fixture leaves %s nil; set it so that its round trip is tested", path)
			return
		}
		checkAllSet(t, path, v.Elem())
	case reflect.Struct:
		if v.Type().PkgPath() != rootPkg {
			// time.Time and the like: a value, not a record.
			if v.IsZero() {
				t.Errorf("fixture leaves %s zero; set it so that its round trip is tested", path)
			}
			return
		}
		for i := range v.NumField() {
			checkAllSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			t.Errorf("fixture leaves %s empty; set it so that its round trip is tested", path)
			return
		}
		if v.Kind() == reflect.Slice {
			for i := range v.Len() {
				checkAllSet(t, path+"[]", v.Index(i))
			}
		}
	default:
		if v.IsZero() {
			t.Errorf("fixture leaves %s zero; set it so that its round trip is tested", path)
		}
	}
}

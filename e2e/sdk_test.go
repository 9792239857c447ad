//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"
)

// NewSDKClient returns an aws-sdk-go-v2 Lambda client for endpoint that
// signs as creds in region. It never retries, so that every call the test
// makes is exactly one request. optFns adjust the options further.
func NewSDKClient(endpoint string, creds Credentials, region string, optFns ...func(*lambda.Options)) *lambda.Client {
	opts := lambda.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Timeout: 10 * time.Minute},
	}
	for _, f := range optFns {
		f(&opts)
	}
	return lambda.New(opts)
}

// SDK drives aws-sdk-go-v2. Call decodes Params into the operation's input
// struct (whose fields are named as the API's members) and encodes the
// output back to JSON, so scenarios read the same for every driver.
type SDK struct {
	Client *lambda.Client
}

// Name implements Driver.
func (s *SDK) Name() string { return SDKDriver }

type sdkOp func(ctx context.Context, c *lambda.Client, params sdkParams) (any, error)

// op adapts a client method to sdkOp.
func op[In, Out any](m func(*lambda.Client, context.Context, *In, ...func(*lambda.Options)) (*Out, error)) sdkOp {
	return func(ctx context.Context, c *lambda.Client, params sdkParams) (any, error) {
		in := new(In)
		if err := params.decode(in); err != nil {
			return nil, err
		}
		return m(c, ctx, in)
	}
}

// sdkParams are an operation's Params as Call passes them on: JSON, but
// for their []byte members, which it keeps out of encoding/json. Tens of
// megabytes of base64 (a zip near the size limit) cost seconds of CPU
// under -race, which a loaded machine stretches to minutes.
type sdkParams struct {
	json  []byte
	blobs []blob
}

// blob is a []byte member of Params at path (member names from the top).
type blob struct {
	path []string
	data []byte
}

func newSDKParams(params Params) (sdkParams, error) {
	rest, blobs := takeBlobs(params, nil)
	b, err := json.Marshal(rest)
	return sdkParams{json: b, blobs: blobs}, err
}

// takeBlobs returns params without its []byte members, at any depth of
// nested Params, and those members.
func takeBlobs(params Params, prefix []string) (Params, []blob) {
	out := Params{}
	var blobs []blob
	for k, v := range params {
		path := append(slices.Clip(prefix), k)
		switch v := v.(type) {
		case []byte:
			blobs = append(blobs, blob{path, v})
		case Params:
			sub, bs := takeBlobs(v, path)
			out[k] = sub
			blobs = append(blobs, bs...)
		default:
			out[k] = v
		}
	}
	return out, blobs
}

// decode decodes p into in, a pointer to an input struct whose fields are
// named as the API's members.
func (p sdkParams) decode(in any) error {
	if err := decodeStrict(p.json, in); err != nil {
		return err
	}
	for _, b := range p.blobs {
		v := reflect.ValueOf(in).Elem()
		for i, name := range b.path {
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					v.Set(reflect.New(v.Type().Elem()))
				}
				v = v.Elem()
			}
			if v.Kind() != reflect.Struct {
				return fmt.Errorf("params for %T: %s is not a structure", in, strings.Join(b.path[:i], "."))
			}
			if v = v.FieldByName(name); !v.IsValid() {
				return fmt.Errorf("params for %T: unknown member %s", in, strings.Join(b.path[:i+1], "."))
			}
		}
		if v.Type() != reflect.TypeFor[[]byte]() {
			return fmt.Errorf("params for %T: %s is a %s, not a blob", in, strings.Join(b.path, "."), v.Type())
		}
		v.SetBytes(b.data)
	}
	return nil
}

// decodeStrict decodes params into in, refusing members the input lacks.
func decodeStrict(params []byte, in any) error {
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		return fmt.Errorf("params for %T: %w", in, err)
	}
	return nil
}

var sdkOps = map[string]sdkOp{
	"CreateFunction":              op((*lambda.Client).CreateFunction),
	"GetFunction":                 op((*lambda.Client).GetFunction),
	"GetFunctionConfiguration":    op((*lambda.Client).GetFunctionConfiguration),
	"UpdateFunctionCode":          op((*lambda.Client).UpdateFunctionCode),
	"UpdateFunctionConfiguration": op((*lambda.Client).UpdateFunctionConfiguration),
	"DeleteFunction":              op((*lambda.Client).DeleteFunction),
	"ListFunctions":               op((*lambda.Client).ListFunctions),
	"PublishVersion":              op((*lambda.Client).PublishVersion),
	"ListVersionsByFunction":      op((*lambda.Client).ListVersionsByFunction),
	"CreateAlias":                 op((*lambda.Client).CreateAlias),
	"GetAlias":                    op((*lambda.Client).GetAlias),
	"UpdateAlias":                 op((*lambda.Client).UpdateAlias),
	"DeleteAlias":                 op((*lambda.Client).DeleteAlias),
	"ListAliases":                 op((*lambda.Client).ListAliases),
	"TagResource":                 op((*lambda.Client).TagResource),
	"UntagResource":               op((*lambda.Client).UntagResource),
	"ListTags":                    op((*lambda.Client).ListTags),
	"GetAccountSettings":          op((*lambda.Client).GetAccountSettings),
	"PutFunctionConcurrency":      op((*lambda.Client).PutFunctionConcurrency),
	"GetFunctionConcurrency":      op((*lambda.Client).GetFunctionConcurrency),
	"DeleteFunctionConcurrency":   op((*lambda.Client).DeleteFunctionConcurrency),
	"Invoke":                      op((*lambda.Client).Invoke),
	"InvokeWithResponseStream":    invokeWithResponseStream,

	"CreateCodeSigningConfig":          op((*lambda.Client).CreateCodeSigningConfig),
	"GetCodeSigningConfig":             op((*lambda.Client).GetCodeSigningConfig),
	"UpdateCodeSigningConfig":          op((*lambda.Client).UpdateCodeSigningConfig),
	"DeleteCodeSigningConfig":          op((*lambda.Client).DeleteCodeSigningConfig),
	"ListCodeSigningConfigs":           op((*lambda.Client).ListCodeSigningConfigs),
	"PutFunctionCodeSigningConfig":     op((*lambda.Client).PutFunctionCodeSigningConfig),
	"GetFunctionCodeSigningConfig":     op((*lambda.Client).GetFunctionCodeSigningConfig),
	"DeleteFunctionCodeSigningConfig":  op((*lambda.Client).DeleteFunctionCodeSigningConfig),
	"ListFunctionsByCodeSigningConfig": op((*lambda.Client).ListFunctionsByCodeSigningConfig),

	"PutFunctionEventInvokeConfig":       op((*lambda.Client).PutFunctionEventInvokeConfig),
	"UpdateFunctionEventInvokeConfig":    op((*lambda.Client).UpdateFunctionEventInvokeConfig),
	"GetFunctionEventInvokeConfig":       op((*lambda.Client).GetFunctionEventInvokeConfig),
	"DeleteFunctionEventInvokeConfig":    op((*lambda.Client).DeleteFunctionEventInvokeConfig),
	"ListFunctionEventInvokeConfigs":     op((*lambda.Client).ListFunctionEventInvokeConfigs),
	"CreateEventSourceMapping":           op((*lambda.Client).CreateEventSourceMapping),
	"GetEventSourceMapping":              op((*lambda.Client).GetEventSourceMapping),
	"UpdateEventSourceMapping":           op((*lambda.Client).UpdateEventSourceMapping),
	"DeleteEventSourceMapping":           op((*lambda.Client).DeleteEventSourceMapping),
	"ListEventSourceMappings":            op((*lambda.Client).ListEventSourceMappings),
	"PutProvisionedConcurrencyConfig":    op((*lambda.Client).PutProvisionedConcurrencyConfig),
	"GetProvisionedConcurrencyConfig":    op((*lambda.Client).GetProvisionedConcurrencyConfig),
	"DeleteProvisionedConcurrencyConfig": op((*lambda.Client).DeleteProvisionedConcurrencyConfig),
	"ListProvisionedConcurrencyConfigs":  op((*lambda.Client).ListProvisionedConcurrencyConfigs),
	"GetFunctionRecursionConfig":         op((*lambda.Client).GetFunctionRecursionConfig),
	"PutFunctionRecursionConfig":         op((*lambda.Client).PutFunctionRecursionConfig),
	"GetRuntimeManagementConfig":         op((*lambda.Client).GetRuntimeManagementConfig),
	"PutRuntimeManagementConfig":         op((*lambda.Client).PutRuntimeManagementConfig),

	"AddPermission":           op((*lambda.Client).AddPermission),
	"GetPolicy":               op((*lambda.Client).GetPolicy),
	"RemovePermission":        op((*lambda.Client).RemovePermission),
	"CreateFunctionUrlConfig": op((*lambda.Client).CreateFunctionUrlConfig),
	"GetFunctionUrlConfig":    op((*lambda.Client).GetFunctionUrlConfig),
	"UpdateFunctionUrlConfig": op((*lambda.Client).UpdateFunctionUrlConfig),
	"DeleteFunctionUrlConfig": op((*lambda.Client).DeleteFunctionUrlConfig),
	"ListFunctionUrlConfigs":  op((*lambda.Client).ListFunctionUrlConfigs),

	"PublishLayerVersion":          op((*lambda.Client).PublishLayerVersion),
	"GetLayerVersion":              op((*lambda.Client).GetLayerVersion),
	"GetLayerVersionByArn":         op((*lambda.Client).GetLayerVersionByArn),
	"ListLayers":                   op((*lambda.Client).ListLayers),
	"ListLayerVersions":            op((*lambda.Client).ListLayerVersions),
	"DeleteLayerVersion":           op((*lambda.Client).DeleteLayerVersion),
	"AddLayerVersionPermission":    op((*lambda.Client).AddLayerVersionPermission),
	"GetLayerVersionPolicy":        op((*lambda.Client).GetLayerVersionPolicy),
	"RemoveLayerVersionPermission": op((*lambda.Client).RemoveLayerVersionPermission),

	"GetFunctionScalingConfig": op((*lambda.Client).GetFunctionScalingConfig),
	"PutFunctionScalingConfig": op((*lambda.Client).PutFunctionScalingConfig),
}

// invokeWithResponseStream reads the whole event stream and answers what
// boto3's driver answers: StatusCode, ExecutedVersion, the chunks joined
// as Payload and the InvokeComplete event's members.
//
// Each call gets its own protocol: smithy-go v1.28.9's event stream
// decoder shares one buffer per client (Codec.payloadBuf), so two streams
// read at once through one client race on it.
func invokeWithResponseStream(ctx context.Context, c *lambda.Client, params sdkParams) (any, error) {
	in := new(lambda.InvokeWithResponseStreamInput)
	if err := params.decode(in); err != nil {
		return nil, err
	}
	out, err := c.InvokeWithResponseStream(ctx, in, func(o *lambda.Options) { o.Protocol = restjson1.New(nil) })
	if err != nil {
		return nil, err
	}
	stream := out.GetStream()
	defer stream.Close()
	body := map[string]any{"StatusCode": out.StatusCode, "ExecutedVersion": aws.ToString(out.ExecutedVersion)}
	var payload []byte
	for ev := range stream.Events() {
		switch ev := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			payload = append(payload, ev.Value.Payload...)
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			body["ErrorCode"] = aws.ToString(ev.Value.ErrorCode)
			body["ErrorDetails"] = aws.ToString(ev.Value.ErrorDetails)
			body["LogResult"] = aws.ToString(ev.Value.LogResult)
		}
	}
	if err := stream.Err(); err != nil {
		return nil, fmt.Errorf("read event stream: %w", err)
	}
	body["Payload"] = payload
	return body, nil
}

// Call implements Driver.
func (s *SDK) Call(t testing.TB, opName string, params Params) *Result {
	t.Helper()
	f, ok := sdkOps[opName]
	if !ok {
		t.Fatalf("sdk driver: no operation %s", opName)
	}
	p, err := newSDKParams(params)
	if err != nil {
		t.Fatal(err)
	}
	// Only a server that never answers could take this long.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	out, err := f(ctx, s.Client, p)
	return sdkResult(t, opName, out, err)
}

// sdkResult turns an SDK output or error into a Result.
func sdkResult(t testing.TB, opName string, out any, err error) *Result {
	t.Helper()
	r := &Result{Driver: SDKDriver, Op: opName}
	if err != nil {
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) {
			r.Err = err
			return r
		}
		r.Code, r.Message = apiErr.ErrorCode(), apiErr.ErrorMessage()
		var throttled *types.TooManyRequestsException
		if errors.As(err, &throttled) {
			r.Reason = string(throttled.Reason)
		}
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			r.Status = re.HTTPStatusCode()
		}
		return r
	}
	r.Status = rawStatus(out)
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatalf("sdk driver: encode %T: %v", out, err)
	}
	if err := json.Unmarshal(b, &r.Body); err != nil {
		t.Fatal(err)
	}
	delete(r.Body, "ResultMetadata")
	if invokeOps[opName] {
		if err := r.fillInvoke(); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// rawStatus digs the HTTP status out of an output's ResultMetadata.
func rawStatus(out any) int {
	v := reflect.ValueOf(out)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0
	}
	f := v.FieldByName("ResultMetadata")
	if !f.IsValid() {
		return 0
	}
	md, ok := f.Interface().(middleware.Metadata)
	if !ok {
		return 0
	}
	if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
		return resp.StatusCode
	}
	return 0
}

// Wait implements Driver with the SDK's waiters, polling every 100–500ms.
func (s *SDK) Wait(t testing.TB, waiter string, params Params, maxWait time.Duration) error {
	t.Helper()
	b, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const minDelay, maxDelay = 100 * time.Millisecond, 500 * time.Millisecond
	switch waiter {
	case "FunctionActiveV2":
		var in lambda.GetFunctionInput
		if err := decodeStrict(b, &in); err != nil {
			t.Fatal(err)
		}
		return lambda.NewFunctionActiveV2Waiter(s.Client, func(o *lambda.FunctionActiveV2WaiterOptions) {
			o.MinDelay, o.MaxDelay = minDelay, maxDelay
		}).Wait(ctx, &in, maxWait)
	case "FunctionUpdatedV2":
		var in lambda.GetFunctionInput
		if err := decodeStrict(b, &in); err != nil {
			t.Fatal(err)
		}
		return lambda.NewFunctionUpdatedV2Waiter(s.Client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
			o.MinDelay, o.MaxDelay = minDelay, maxDelay
		}).Wait(ctx, &in, maxWait)
	case "FunctionExists":
		var in lambda.GetFunctionInput
		if err := decodeStrict(b, &in); err != nil {
			t.Fatal(err)
		}
		return lambda.NewFunctionExistsWaiter(s.Client, func(o *lambda.FunctionExistsWaiterOptions) {
			o.MinDelay, o.MaxDelay = minDelay, maxDelay
		}).Wait(ctx, &in, maxWait)
	case "PublishedVersionActive":
		var in lambda.GetFunctionConfigurationInput
		if err := decodeStrict(b, &in); err != nil {
			t.Fatal(err)
		}
		return lambda.NewPublishedVersionActiveWaiter(s.Client, func(o *lambda.PublishedVersionActiveWaiterOptions) {
			o.MinDelay, o.MaxDelay = minDelay, maxDelay
		}).Wait(ctx, &in, maxWait)
	}
	t.Fatalf("sdk driver: no waiter %s", waiter)
	return nil
}

// Paginate implements Driver with the SDK's paginators.
func (s *SDK) Paginate(t testing.TB, opName string, params Params, pageSize int) []map[string]any {
	t.Helper()
	b, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var pages []any
	collect := func(page any, err error) bool {
		if err != nil {
			t.Fatalf("sdk paginate %s: %v", opName, err)
		}
		pages = append(pages, page)
		return true
	}
	limit := int32(pageSize)
	switch opName {
	case "ListFunctions":
		var in lambda.ListFunctionsInput
		if err := decodeStrict(b, &in); err != nil {
			t.Fatal(err)
		}
		p := lambda.NewListFunctionsPaginator(s.Client, &in, func(o *lambda.ListFunctionsPaginatorOptions) { o.Limit = limit })
		for p.HasMorePages() && collect(p.NextPage(ctx)) {
		}
	case "ListVersionsByFunction":
		var in lambda.ListVersionsByFunctionInput
		if err := decodeStrict(b, &in); err != nil {
			t.Fatal(err)
		}
		p := lambda.NewListVersionsByFunctionPaginator(s.Client, &in, func(o *lambda.ListVersionsByFunctionPaginatorOptions) { o.Limit = limit })
		for p.HasMorePages() && collect(p.NextPage(ctx)) {
		}
	case "ListAliases":
		var in lambda.ListAliasesInput
		if err := decodeStrict(b, &in); err != nil {
			t.Fatal(err)
		}
		p := lambda.NewListAliasesPaginator(s.Client, &in, func(o *lambda.ListAliasesPaginatorOptions) { o.Limit = limit })
		for p.HasMorePages() && collect(p.NextPage(ctx)) {
		}
	case "ListFunctionUrlConfigs":
		var in lambda.ListFunctionUrlConfigsInput
		if err := decodeStrict(b, &in); err != nil {
			t.Fatal(err)
		}
		p := lambda.NewListFunctionUrlConfigsPaginator(s.Client, &in, func(o *lambda.ListFunctionUrlConfigsPaginatorOptions) { o.Limit = limit })
		for p.HasMorePages() && collect(p.NextPage(ctx)) {
		}
	default:
		t.Fatalf("sdk driver: no paginator for %s", opName)
	}
	var out []map[string]any
	for _, page := range pages {
		r := sdkResult(t, opName, page, nil)
		out = append(out, items(r.Body[paginatedOps[opName]])...)
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out
}

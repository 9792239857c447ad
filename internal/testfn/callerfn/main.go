// Command callerfn is a test function built with aws-lambda-go and
// aws-sdk-go-v2: from inside its execution environment it calls lambdahost's
// API with the credentials and endpoint the environment was given, and
// fetches a URL, so that tests see what a function can reach. Every call's
// outcome is reported, failures included, rather than failing the
// invocation.
package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

type event struct {
	// Target is a function to invoke, with Payload.
	Target  string `json:"target"`
	Payload string `json:"payload"`
	// Fetch is a URL to GET.
	Fetch string `json:"fetch"`
	// Env names variables whose values are returned.
	Env []string `json:"env"`
}

// result is one call's outcome: its value, or its error.
type result struct {
	Value any    `json:"value,omitempty"`
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
}

type reply struct {
	Functions *result           `json:"list_functions"`
	Identity  *result           `json:"get_caller_identity"`
	Invoke    *result           `json:"invoke,omitempty"`
	Fetch     *result           `json:"fetch,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

func outcome(v any, err error) *result {
	if err == nil {
		return &result{Value: v}
	}
	r := &result{Error: err.Error()}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		r.Code = apiErr.ErrorCode()
	}
	return r
}

func handle(ctx context.Context, ev event) (*reply, error) {
	r := &reply{Env: map[string]string{}}
	for _, k := range ev.Env {
		r.Env[k] = os.Getenv(k)
	}
	// Bounded: a call that cannot connect must fail, not hang.
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// The SDK's defaults: credentials and AWS_ENDPOINT_URL from the
	// environment, as an unmodified function reads them. No retries, so
	// that refusals answer at once.
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryMaxAttempts(1))
	if err != nil {
		return nil, err
	}
	fns := awslambda.NewFromConfig(cfg)
	out, err := fns.ListFunctions(ctx, &awslambda.ListFunctionsInput{})
	var names []string
	if err == nil {
		for _, f := range out.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	r.Functions = outcome(names, err)

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err == nil {
		r.Identity = outcome(map[string]string{"Account": aws.ToString(id.Account), "Arn": aws.ToString(id.Arn), "UserId": aws.ToString(id.UserId)}, nil)
	} else {
		r.Identity = outcome(nil, err)
	}

	if ev.Target != "" {
		inv, err := fns.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(ev.Target), Payload: []byte(ev.Payload)})
		if err == nil {
			r.Invoke = outcome(string(inv.Payload), nil)
		} else {
			r.Invoke = outcome(nil, err)
		}
	}
	if ev.Fetch != "" {
		r.Fetch = outcome(fetch(ctx, ev.Fetch))
	}
	return r, nil
}

func fetch(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func main() { lambda.Start(handle) }

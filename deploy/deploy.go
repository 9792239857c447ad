package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Deployer deploys packages to one function.
type Deployer struct {
	// Client is a Lambda client, configured the standard AWS SDK way.
	Client *lambda.Client
	// Function is the function's name or ARN.
	Function string
	// Publish publishes a version with each deployment.
	Publish bool
	// Alias, if set, is pointed at each published version.
	Alias string
	// MaxWait bounds the wait for Successful. If zero, 10 minutes.
	MaxWait time.Duration
}

// Result is what a deployment did and how long each part took.
type Result struct {
	Size       int
	CodeSHA256 string
	// Zip is how long zipping took.
	Zip time.Duration
	// Upload is UpdateFunctionCode's round trip; Wait the wait after it
	// until $LATEST's LastUpdateStatus was Successful.
	Upload, Wait time.Duration
	// ServerTiming is the server's phases (receive, hash, seal, store,
	// commit) as its Server-Timing header gave them: lambdahost sends
	// them, AWS does not.
	ServerTiming []Phase
	// Version is the version published, Alias the alias moved to it.
	Version, Alias string
}

// Phase is one phase the server timed.
type Phase struct {
	Name string
	Dur  time.Duration
}

// UpdateError is a deployment that Lambda refused or that ended Failed:
// Reason is AWS's reason.
type UpdateError struct {
	// Code is the error code or LastUpdateStatusReasonCode.
	Code   string
	Reason string
}

func (e *UpdateError) Error() string { return e.Code + ": " + e.Reason }

// Deploy uploads pkg as the function's code (UpdateFunctionCode), waits
// with the SDK's FunctionUpdatedV2 waiter until the update is Successful,
// and, with Alias, points the alias at the version published.
func (d *Deployer) Deploy(ctx context.Context, pkg *Package) (*Result, error) {
	res := &Result{Size: len(pkg.Zip), CodeSHA256: pkg.SHA256(), Zip: pkg.Took}
	began := time.Now()
	out, err := d.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: &d.Function, ZipFile: pkg.Zip, Publish: d.Publish,
	})
	res.Upload = time.Since(began)
	if err != nil {
		return res, apiError(err)
	}
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
		res.ServerTiming = ParseServerTiming(raw.Header.Get("Server-Timing"))
	}
	if out.CodeSha256 != nil {
		res.CodeSHA256 = *out.CodeSha256
	}
	waited := time.Now()
	maxWait := d.MaxWait
	if maxWait == 0 {
		maxWait = 10 * time.Minute
	}
	w := lambda.NewFunctionUpdatedV2Waiter(d.Client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		// A zip's update is usually Successful at the first poll: poll
		// again soon when it is not.
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 2*time.Second
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: &d.Function}, maxWait); err != nil {
		res.Wait = time.Since(waited)
		return res, d.failure(ctx, err)
	}
	res.Wait = time.Since(waited)
	if d.Publish && out.Version != nil {
		res.Version = *out.Version
		if d.Alias != "" {
			if _, err := d.Client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: &d.Function, Name: &d.Alias, FunctionVersion: out.Version}); err != nil {
				return res, apiError(err)
			}
			res.Alias = d.Alias
		}
	}
	return res, nil
}

// failure explains a waiter's failure with the update's reason.
func (d *Deployer) failure(ctx context.Context, err error) error {
	if !strings.Contains(err.Error(), "transitioned to Failure") {
		return apiError(err)
	}
	cfg, gerr := d.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &d.Function})
	if gerr != nil {
		return apiError(gerr)
	}
	e := &UpdateError{Code: string(cfg.LastUpdateStatusReasonCode), Reason: "the update failed"}
	if cfg.LastUpdateStatusReason != nil {
		e.Reason = *cfg.LastUpdateStatusReason
	}
	if e.Code == "" {
		e.Code = string(types.LastUpdateStatusFailed)
	}
	return e
}

// apiError turns an SDK error into an UpdateError with AWS's code and
// message, where it is one.
func apiError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return &UpdateError{Code: ae.ErrorCode(), Reason: ae.ErrorMessage()}
	}
	return err
}

// ParseServerTiming reads a Server-Timing header's metrics and their
// durations (in milliseconds).
func ParseServerTiming(h string) []Phase {
	var out []Phase
	for _, m := range strings.Split(h, ",") {
		parts := strings.Split(strings.TrimSpace(m), ";")
		if parts[0] == "" {
			continue
		}
		p := Phase{Name: parts[0]}
		for _, param := range parts[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(param), "dur="); ok {
				var ms float64
				if _, err := fmt.Sscanf(v, "%g", &ms); err == nil && ms >= 0 && ms < 1e9 {
					p.Dur = time.Duration(ms * float64(time.Millisecond))
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// Line is the progress line of a deployment: its size, CodeSha256 and
// each part's time.
func (r *Result) Line(function string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "deployed %s: %s, CodeSha256 %s; zip %s, upload %s", function, size(r.Size), r.CodeSHA256, ms(r.Zip), ms(r.Upload))
	if len(r.ServerTiming) > 0 {
		b.WriteString(" (server:")
		for _, p := range r.ServerTiming {
			fmt.Fprintf(&b, " %s %s", p.Name, ms(p.Dur))
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, ", Successful after %s more", ms(r.Wait))
	if r.Version != "" {
		fmt.Fprintf(&b, "; version %s", r.Version)
	}
	if r.Alias != "" {
		fmt.Fprintf(&b, ", alias %s", r.Alias)
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func size(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

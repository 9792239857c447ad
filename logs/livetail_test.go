package logs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/lambdahost/lambdahost/internal/apitest"
)

// sdk returns an aws-sdk-go-v2 CloudWatch Logs client of e's server,
// signing at the test clock.
func (e *env) sdk() *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           apitest.Region,
		BaseEndpoint:     aws.String(e.srv.URL),
		Credentials:      aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return apitest.Test, nil }),
		RetryMaxAttempts: 1,
		// The SDK puts "stream-" before StartLiveTail's host, which a
		// test server does not have: disable that, as a user of a local
		// endpoint does.
		APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
		}},
	})
}

// TestStartLiveTail tails a group with aws-sdk-go-v2: the session starts,
// then updates bring the events put after it, filtered by the pattern.
func TestStartLiveTail(t *testing.T) {
	// The SDK signs with the real clock.
	e := newEnvAt(t, time.Time{})
	e.api.TailPoll, e.api.TailUpdate = 10*time.Millisecond, 20*time.Millisecond
	c := e.sdk()
	put := func(msgs ...string) {
		var evs []types.InputLogEvent
		for _, m := range msgs {
			evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(m)})
		}
		if _, err := c.PutLogEvents(t.Context(), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s1"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateLogGroup(t.Context(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(t.Context(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s1")}); err != nil {
		t.Fatal(err)
	}
	put("ERROR before the session")

	out, err := c.StartLiveTail(t.Context(), &cloudwatchlogs.StartLiveTailInput{
		LogGroupIdentifiers:   []string{"arn:aws:logs:us-east-1:000000000000:log-group:app"},
		LogEventFilterPattern: aws.String("ERROR"),
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var got []string
	started := false
	deadline := time.After(time.Minute)
	for len(got) < 2 {
		select {
		case ev, ok := <-stream.Events():
			if !ok {
				t.Fatalf("stream ended: %v", stream.Err())
			}
			switch v := ev.(type) {
			case *types.StartLiveTailResponseStreamMemberSessionStart:
				started = true
				if len(v.Value.LogGroupIdentifiers) != 1 || aws.ToString(v.Value.LogEventFilterPattern) != "ERROR" {
					t.Errorf("sessionStart = %+v", v.Value)
				}
				put("ERROR one", "INFO skipped", "ERROR two")
			case *types.StartLiveTailResponseStreamMemberSessionUpdate:
				for _, r := range v.Value.SessionResults {
					got = append(got, aws.ToString(r.Message))
					if aws.ToString(r.LogStreamName) != "s1" || aws.ToString(r.LogGroupIdentifier) != "arn:aws:logs:us-east-1:000000000000:log-group:app" {
						t.Errorf("event %+v", r)
					}
				}
			}
		case <-deadline:
			t.Fatalf("got %v after a minute", got)
		}
	}
	if !started || fmt.Sprint(got) != "[ERROR one ERROR two]" {
		t.Errorf("started %v, events %v", started, got)
	}
}

// TestStartLiveTailErrors answers a bad session before the stream starts.
func TestStartLiveTailErrors(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		body, want string
	}{
		{`{"logGroupIdentifiers":["app"]}`, "The log group identifier app is not a valid log group ARN."},
		{`{"logGroupIdentifiers":["arn:aws:logs:us-east-1:000000000000:log-group:none"]}`, "The specified log group does not exist."},
		{`{"logGroupIdentifiers":[]}`, "1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have length between 1 and 10"},
		{`{"logGroupIdentifiers":["arn:aws:logs:us-east-1:000000000000:log-group:none"],"logEventFilterPattern":"{ $.a"}`, "If a filter pattern starts with '{' it must end with '}'"},
	} {
		r := e.logs("StartLiveTail", tt.body)
		if r.Status != 400 || !strings.Contains(string(r.Body), tt.want) {
			t.Errorf("StartLiveTail %s: %d %s, want %q", tt.body, r.Status, r.Body, tt.want)
		}
	}
}

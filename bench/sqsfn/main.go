// Command sqsfn is the function of the bench's async test: a Go
// provided.al2023 bootstrap built with aws-lambda-go. Handed an SQS event,
// it prints, before anything else, when it started and the bodies of the
// batch:
//
//	SQSAT <unix nanoseconds> <body>,<body>,…
//
// which the bench reads back through lambdahost's CloudWatch Logs API. Any
// other event (an Event invocation's payload) is answered as it came;
// {"sleep_ms": N} sleeps first, which keeps N environments busy when
// invoked N times at once, so that they are warm for the timed part.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	start := time.Now()
	var ev struct {
		events.SQSEvent
		SleepMS int `json:"sleep_ms"`
	}
	if err := json.Unmarshal(raw, &ev); err == nil && len(ev.Records) > 0 && ev.Records[0].EventSource == "aws:sqs" {
		var b strings.Builder
		b.WriteString("SQSAT ")
		b.WriteString(strconv.FormatInt(start.UnixNano(), 10))
		for i, r := range ev.Records {
			if i == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteByte(',')
			}
			b.WriteString(r.Body)
		}
		fmt.Println(b.String())
		return nil, nil
	}
	if ev.SleepMS > 0 {
		time.Sleep(time.Duration(ev.SleepMS) * time.Millisecond)
	}
	return raw, nil
}

func main() { lambda.Start(handle) }

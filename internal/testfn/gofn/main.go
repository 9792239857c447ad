// Command gofn is a test function built with aws-lambda-go. What it does
// is driven by the event: it echoes it, and can sleep, print, fail, exit,
// allocate memory, report its environment or wait for a file.
//
// Tests that need an invocation to be in flight at a known moment do not
// sleep for a guessed time: the event says "print" (a line the test waits
// for in the function's log) and "wait_file" (a host path the handler
// polls for, which the test creates to let it finish). That works where
// the function runs as a plain process on the host, as in the invoke
// package's tests.
//
// A function URL's event (payload format 2.0) is answered as an HTTP app:
// see url.go.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Version is set with -ldflags "-X main.Version=..." so that tests can
// tell code revisions apart.
var Version = "v0"

type event struct {
	SleepMS  int    `json:"sleep_ms"`
	Print    string `json:"print"`
	Fail     string `json:"fail"`
	Exit     *int   `json:"exit"`
	Panic    string `json:"panic"`
	Allocate int    `json:"allocate_mb"`
	Env      string `json:"env"`
	Size     int    `json:"size"`
	// WaitFile makes the handler wait, after printing Print, until the
	// file exists (or the invocation's deadline passes).
	WaitFile string `json:"wait_file"`
	// Chunks makes the handler return an io.Reader that yields this many
	// chunks ChunkMS (default 50) apart, which aws-lambda-go sends as a
	// chunked body;
	// with BreakAfter set, reading fails after that many chunks. With
	// AckPrefix set, chunk i+1 is written only once the file
	// AckPrefix+"<i>" exists: the test creates it when chunk i reached
	// it, so that streaming is proved without timing.
	Chunks     int    `json:"chunks"`
	ChunkMS    int    `json:"chunk_ms"`
	BreakAfter int    `json:"break_after"`
	AckPrefix  string `json:"ack_prefix"`
}

type reply struct {
	Version  string `json:"version"`
	Request  string `json:"request_id"`
	ARN      string `json:"arn"`
	Env      string `json:"env,omitempty"`
	Data     string `json:"data,omitempty"`
	Deadline int64  `json:"deadline_ms"`
	Client   any    `json:"client,omitempty"`
}

var hold [][]byte

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if isURLEvent(raw) {
		return serveURL(raw)
	}
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	if ev.Chunks > 0 {
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < ev.Chunks; i++ {
				if ev.BreakAfter > 0 && i == ev.BreakAfter {
					pw.CloseWithError(errors.New("stream broke"))
					return
				}
				fmt.Fprintf(pw, "chunk %d;", i)
				if ev.AckPrefix == "" {
					time.Sleep(time.Duration(cmp.Or(ev.ChunkMS, 50)) * time.Millisecond)
				} else if i+1 < ev.Chunks {
					if err := waitFile(ctx, fmt.Sprintf("%s%d", ev.AckPrefix, i)); err != nil {
						pw.CloseWithError(err)
						return
					}
				}
			}
			pw.Close()
		}()
		return pr, nil
	}
	return reply1(ctx, ev)
}

func reply1(ctx context.Context, ev event) (*reply, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	if ev.Print != "" {
		fmt.Println(ev.Print)
	}
	if ev.WaitFile != "" {
		if err := waitFile(ctx, ev.WaitFile); err != nil {
			return nil, err
		}
	}
	if ev.SleepMS > 0 {
		time.Sleep(time.Duration(ev.SleepMS) * time.Millisecond)
	}
	if ev.Allocate > 0 {
		for i := 0; i < ev.Allocate; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			hold = append(hold, b)
		}
	}
	if ev.Exit != nil {
		os.Exit(*ev.Exit)
	}
	if ev.Panic != "" {
		panic(ev.Panic)
	}
	if ev.Fail != "" {
		return nil, errors.New(ev.Fail)
	}
	r := &reply{Version: Version, Request: lc.AwsRequestID, ARN: lc.InvokedFunctionArn}
	if d, ok := ctx.Deadline(); ok {
		r.Deadline = d.UnixMilli()
	}
	if ev.Env != "" {
		r.Env = os.Getenv(ev.Env)
	}
	if ev.Size > 0 {
		b := make([]byte, ev.Size)
		for i := range b {
			b[i] = 'x'
		}
		r.Data = string(b)
	}
	if lc.ClientContext.Custom != nil {
		r.Client = lc.ClientContext.Custom
	}
	return r, nil
}

// waitFile polls until path exists or ctx ends.
func waitFile(ctx context.Context, path string) error {
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", path, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func main() { lambda.Start(handle) }

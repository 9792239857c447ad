//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestInvokeStreamsChunks: a Go function whose handler returns an
// io.Reader sends its response in chunks, and InvokeWithResponseStream
// passes them on as separate PayloadChunk events as they come, then
// InvokeComplete; a stream that breaks ends with its error in
// InvokeComplete.
func TestInvokeStreamsChunks(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	c := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	createFunction(t, d, "chunks", goFn, "chunks", nil)

	stream := func(payload string) (chunks []string, complete *types.InvokeWithResponseStreamCompleteEvent) {
		t.Helper()
		out, err := c.InvokeWithResponseStream(t.Context(), &lambda.InvokeWithResponseStreamInput{
			FunctionName: aws.String("chunks"), Payload: []byte(payload), LogType: types.LogTypeTail,
		})
		if err != nil {
			t.Fatal(err)
		}
		es := out.GetStream()
		defer es.Close()
		for ev := range es.Events() {
			switch v := ev.(type) {
			case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
				chunks = append(chunks, string(v.Value.Payload))
			case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
				complete = &v.Value
			}
		}
		if err := es.Err(); err != nil {
			t.Fatal(err)
		}
		if complete == nil {
			t.Fatal("no InvokeComplete event")
		}
		return chunks, complete
	}

	chunks, complete := stream(`{"chunks":4}`)
	if got := strings.Join(chunks, ""); got != "chunk 0;chunk 1;chunk 2;chunk 3;" {
		t.Errorf("streamed %q", got)
	}
	if len(chunks) < 2 {
		t.Errorf("%d PayloadChunk events: the response was not streamed as written", len(chunks))
	}
	if complete.ErrorCode != nil {
		t.Errorf("ErrorCode %q on success", *complete.ErrorCode)
	}
	if complete.LogResult == nil || *complete.LogResult == "" {
		t.Error("no LogResult with LogType Tail")
	}

	chunks, complete = stream(`{"chunks":4,"break_after":2}`)
	if complete.ErrorCode == nil || complete.ErrorDetails == nil || !strings.Contains(*complete.ErrorDetails, "stream broke") {
		t.Errorf("broken stream: chunks %q, InvokeComplete %+v", chunks, complete)
	}
}

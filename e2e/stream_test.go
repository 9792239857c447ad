//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"io"
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
	srv := Shared(t)
	c := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	d := NewDriver(t, SDKDriver, srv, TestCredentials, "us-east-1")
	createFunction(t, d, "streams-chunks", goFn, "chunks", nil)

	stream := func(payload string) ([]string, *types.InvokeWithResponseStreamCompleteEvent) {
		t.Helper()
		return readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: aws.String("streams-chunks"), Payload: []byte(payload), LogType: types.LogTypeTail,
		})
	}

	// Chunks 300 ms apart: coming as fewer than two events would take
	// the server stalling that long at each of three chunks.
	chunks, complete := stream(`{"chunks":4,"chunk_ms":300}`)
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

// nodeStreamingZip is a Node.js function wrapped in
// awslambda.streamifyResponse that writes four parts 300 ms apart, and
// fails after them if the event says so.
func nodeStreamingZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("index.mjs")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, `export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType('text/plain');
  for (let i = 0; i < 4; i++) {
    responseStream.write('part ' + i + ';');
    await new Promise((r) => setTimeout(r, 300));
  }
  if (event.fail) throw new Error('node stream broke');
  responseStream.end();
});
`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestInvokeStreamsNode: awslambda.streamifyResponse works with our
// Node.js runtime client, chunk by chunk, errors in InvokeComplete.
func TestInvokeStreamsNode(t *testing.T) {
	t.Parallel()
	srv := Shared(t)
	c := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1")
	ctx := t.Context()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("streams-node"), Runtime: types.RuntimeNodejs20x, Handler: aws.String("index.handler"),
		Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: nodeStreamingZip(t)}, Timeout: aws.Int32(fnTimeout),
	}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("streams-node")}, waitTimeout); err != nil {
		t.Fatal(err)
	}
	read := func(payload string) ([]string, *types.InvokeWithResponseStreamCompleteEvent) {
		t.Helper()
		return readStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streams-node"), Payload: []byte(payload)})
	}
	chunks, complete := read(`{}`)
	if got := strings.Join(chunks, ""); got != "part 0;part 1;part 2;part 3;" || len(chunks) < 2 || complete.ErrorCode != nil {
		t.Errorf("chunks %q, InvokeComplete %+v", chunks, complete)
	}
	chunks, complete = read(`{"fail":true}`)
	if complete.ErrorCode == nil || complete.ErrorDetails == nil || !strings.Contains(*complete.ErrorDetails, "node stream broke") {
		t.Errorf("failed stream: chunks %q, InvokeComplete %+v", chunks, complete)
	}
	// Invoke (not streaming) gets the whole response at once.
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("streams-node"), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Payload) != "part 0;part 1;part 2;part 3;" || out.FunctionError != nil {
		t.Errorf("Invoke: %q %v", out.Payload, out.FunctionError)
	}
}

// readStream calls InvokeWithResponseStream and returns the payload chunks
// in the order they came and the InvokeComplete event.
func readStream(t *testing.T, c *lambda.Client, in *lambda.InvokeWithResponseStreamInput) (chunks []string, complete *types.InvokeWithResponseStreamCompleteEvent) {
	t.Helper()
	out, err := c.InvokeWithResponseStream(t.Context(), in)
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

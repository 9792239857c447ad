package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// isURLEvent reports whether raw is a function URL's event.
func isURLEvent(raw json.RawMessage) bool {
	var probe struct {
		Version  string `json:"version"`
		RouteKey string `json:"routeKey"`
	}
	return json.Unmarshal(raw, &probe) == nil && probe.Version == "2.0" && probe.RouteKey == "$default"
}

// serveURL answers a function URL request by its path:
//
//	/binary        the bytes 0 to 255, base64-encoded, application/octet-stream
//	/fail          a function error
//	/string        the JSON string "hello" (sent without quotes)
//	/status/N      status N with a text body
//	/stream        a streamed response (RESPONSE_STREAM URLs): status 201,
//	               then "chunk 0;" and, gap_ms later, "chunk 1;", or
//	               chunks=N chunks 50 ms apart
//	anything else  status 200, the event itself as JSON, a cookie, x-echo: 1
func serveURL(raw json.RawMessage) (any, error) {
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	switch path := ev.RawPath; {
	case path == "/binary":
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return events.LambdaFunctionURLResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/octet-stream"},
			Body: base64.StdEncoding.EncodeToString(b), IsBase64Encoded: true}, nil
	case path == "/fail":
		return nil, errors.New("failed on purpose")
	case path == "/string":
		return "hello", nil
	case strings.HasPrefix(path, "/status/"):
		n, err := strconv.Atoi(strings.TrimPrefix(path, "/status/"))
		if err != nil {
			return nil, err
		}
		return events.LambdaFunctionURLResponse{StatusCode: n, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "status " + strconv.Itoa(n)}, nil
	case path == "/stream":
		return stream(ev.QueryStringParameters), nil
	}
	return events.LambdaFunctionURLResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json", "X-Echo": "1"},
		Cookies:    []string{"served=" + Version + "; Path=/"},
		Body:       string(raw),
	}, nil
}

// stream returns a streamed response whose body the handler writes after
// it has returned, as aws-lambda-go streams an io.Reader: "chunk 0;",
// then, gap_ms later, "chunk 1;"; or chunks=N chunks 50 ms apart.
func stream(query map[string]string) *events.LambdaFunctionURLStreamingResponse {
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprint(pw, "chunk 0;")
		if gap, _ := strconv.Atoi(query["gap_ms"]); gap > 0 {
			time.Sleep(time.Duration(gap) * time.Millisecond)
			fmt.Fprint(pw, "chunk 1;")
			pw.Close()
			return
		}
		n, _ := strconv.Atoi(query["chunks"])
		for i := 1; i < n; i++ {
			time.Sleep(50 * time.Millisecond)
			fmt.Fprintf(pw, "chunk %d;", i)
		}
		pw.Close()
	}()
	return &events.LambdaFunctionURLStreamingResponse{
		StatusCode: 201,
		Headers:    map[string]string{"Content-Type": "text/plain", "X-Stream": "yes"},
		Body:       pr,
	}
}

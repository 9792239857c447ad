package http_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCodeLocation: GetFunction's Code.Location serves the exact zip, from
// either code tier, to anyone holding the URL until it expires.
func TestCodeLocation(t *testing.T) {
	big := make([]byte, 300<<10)
	rand.Read(big)
	tests := []struct {
		name string
		zip  []byte
	}{
		{name: "inline", zip: testZip(t, "small")},
		{name: "blob-store", zip: testZip(t, string(big))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.must("POST", "/2015-03-31/functions", `{"FunctionName":"f","Runtime":"python3.12","Role":"arn:aws:iam::000000000000:role/r","Handler":"app.handler","Code":{"ZipFile":"`+b64(tt.zip)+`"}}`)
			var got struct{ Code struct{ Location string } }
			if err := json.Unmarshal(e.must("GET", fnPath+"f", "").Body, &got); err != nil {
				t.Fatal(err)
			}
			// The URL names the host the client used; fetch it from the test server.
			loc := strings.Replace(got.Code.Location, "http://"+testHost, e.srv.URL, 1)
			fetch := func(url string) (int, []byte) {
				resp, err := http.Get(url)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, b
			}
			if status, b := fetch(loc); status != 200 || !bytes.Equal(b, tt.zip) {
				t.Fatalf("GET Location: %d, %d bytes; want 200 and the %d-byte zip", status, len(b), len(tt.zip))
			}
			if status, _ := fetch(strings.Replace(loc, "Signature=", "Signature=0", 1)); status != http.StatusForbidden {
				t.Errorf("tampered signature: %d, want 403", status)
			}
			if status, _ := fetch(strings.Replace(loc, "Account=000000000000", "Account=111111111111", 1)); status != http.StatusForbidden {
				t.Errorf("other account: %d, want 403", status)
			}
			e.api.Now = func() time.Time { return clock.Add(11 * time.Minute) }
			if status, _ := fetch(loc); status != http.StatusForbidden {
				t.Errorf("after 11 minutes: %d, want 403", status)
			}
		})
	}
}

// TestCodeUploadLimit: past MaxCodeUploads, a code upload is throttled
// with AWS's TooManyRequestsException, and succeeds once a slot frees.
func TestCodeUploadLimit(t *testing.T) {
	e := newEnv(t)
	e.api.MaxCodeUploads = 1
	e.must("POST", "/2015-03-31/functions", createBody(t, "f", ""))

	// Hold the only slot with an upload whose body has not ended. It is
	// written on a raw connection, so the server surely has its headers.
	body := updateZip(e, "v2", "")
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %sf/code HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", fnPath, testHost, len(body))
	for k, vs := range e.signedHeaders("PUT", fnPath+"f/code", body) {
		for _, v := range vs {
			fmt.Fprintf(conn, "%s: %s\r\n", k, v)
		}
	}
	io.WriteString(conn, "\r\n"+body[:10])
	// Wait until the server has started reading that request.
	for deadline := time.Now().Add(2 * time.Minute); e.api.UploadsInUse() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the held upload never took its slot")
		}
		time.Sleep(time.Millisecond)
	}
	throttled := e.do("PUT", fnPath+"f/code", updateZip(e, "v3", ""))
	checkGolden(t, "UpdateFunctionCode", "throttled", throttled)
	io.WriteString(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("held upload finished with %d", resp.StatusCode)
	}
	if r := e.do("PUT", fnPath+"f/code", updateZip(e, "v3", "")); r.Status != 200 {
		t.Errorf("after the slot freed: %d %s", r.Status, r.Body)
	}
}

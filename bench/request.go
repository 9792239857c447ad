package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const region = "us-east-1"

// creds are the built-in test credentials lambdahost accepts without
// --credentials (account 000000000000). moto accepts anything.
var creds = aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "bench"}

var signer = v4.NewSigner()

// body is a request body with its SHA-256, computed once so that requests
// re-signed for another host don't hash it again.
type body struct {
	b   []byte
	sum string // hex SHA-256 of b
}

func newBody(b []byte) *body {
	s := sha256.Sum256(b)
	return &body{b: b, sum: hex.EncodeToString(s[:])}
}

var emptyBody = newBody(nil)

// rawRequest is a signed HTTP/1.1 request serialized ahead of time: head is
// the request line and headers, body is sent after it unchanged. Replaying
// one costs a writev, nothing else.
type rawRequest struct {
	head []byte
	body *body
}

// sign builds the request botocore would send for method and path (with
// rawQuery, already escaped) to host, signed with SigV4 for service.
func sign(host, method, path, rawQuery string, b *body, contentType, service string) (rawRequest, error) {
	u := "http://" + host + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return rawRequest{}, err
	}
	req.ContentLength = int64(len(b.b))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if err := signer.SignHTTP(context.Background(), creds, req, b.sum, service, region, time.Now()); err != nil {
		return rawRequest{}, fmt.Errorf("sign %s %s: %w", method, path, err)
	}
	req.Header.Set("User-Agent", "lambdahost-bench")
	var h bytes.Buffer
	fmt.Fprintf(&h, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, req.URL.RequestURI(), host)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range req.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range req.Header[k] {
			fmt.Fprintf(&h, "%s: %s\r\n", k, v)
		}
	}
	if len(b.b) > 0 || method == http.MethodPut || method == http.MethodPost {
		h.WriteString("Content-Length: " + strconv.Itoa(len(b.b)) + "\r\n")
	}
	h.WriteString("\r\n")
	return rawRequest{head: h.Bytes(), body: b}, nil
}

// client replays raw requests over one keep-alive connection, one at a time.
type client struct {
	addr    string
	conn    net.Conn
	br      *bufio.Reader
	redials int // connections opened after the first
	dials   int
}

func newClient(addr string) *client { return &client{addr: addr} }

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *client) dial() error {
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		return err
	}
	if c.dials > 0 {
		c.redials++
	}
	c.dials++
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, 64<<10)
	return nil
}

// do sends req and reads the whole response into out (reset first). It
// returns the status code. A connection the server closed is reopened.
func (c *client) do(req rawRequest, out *bytes.Buffer) (int, error) {
	out.Reset()
	if c.conn == nil {
		if err := c.dial(); err != nil {
			return 0, err
		}
	}
	bufs := net.Buffers{req.head, req.body.b}
	if _, err := bufs.WriteTo(c.conn); err != nil {
		c.close()
		return 0, fmt.Errorf("write request: %w", err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, fmt.Errorf("read response: %w", err)
	}
	_, err = out.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.close()
		return 0, fmt.Errorf("read response body: %w", err)
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, nil
}

// doRetry is do for untimed setup calls: a connection lost between calls
// is retried once on a fresh connection.
func (c *client) doRetry(req rawRequest, out *bytes.Buffer) (int, error) {
	st, err := c.do(req, out)
	if err != nil {
		st, err = c.do(req, out)
	}
	return st, err
}

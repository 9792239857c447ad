package http

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/lambdahost/lambdahost"
)

// Limits of the streaming decoder.
const (
	// maxRest bounds the JSON around the streamed member.
	maxRest = 1 << 20
	// maxDepth bounds nesting, against deeply nested documents.
	maxDepth = 64
)

var errMalformed = errors.New("malformed JSON")

// streamDecoder reads one JSON object from a request body. The string
// member at path (for example ["Code", "ZipFile"]) is base64-decoded into
// dst as it is read, never held whole in memory; every other member is
// copied to rest, which is returned as a JSON object for json.Unmarshal.
// The body is read to its end, so that a streamed signature is verified.
type streamDecoder struct {
	r          *bufio.Reader
	path       []string
	dst        io.Writer
	maxDecoded int64
	op         string

	rest    bytes.Buffer
	found   bool
	decoded int64
	b64     []byte // undecoded base64 characters, fewer than 4 between chunks
	out     []byte // decode buffer
}

// decodeStream decodes body as described on streamDecoder. It answers API
// errors: InvalidRequestContentException for malformed JSON or base64, and
// RequestEntityTooLargeException when the decoded member passes maxDecoded
// or the rest passes maxRest. Errors from reading body are returned as they are.
func decodeStream(body io.Reader, path []string, dst io.Writer, maxDecoded int64, op string) (rest []byte, found bool, err error) {
	d := &streamDecoder{r: bufio.NewReaderSize(body, 64<<10), path: path, dst: dst, maxDecoded: maxDecoded, op: op}
	if err := d.document(); err != nil {
		if errors.Is(err, errMalformed) {
			return nil, false, lambdahost.Errorf(lambdahost.InvalidRequestContentException, "Could not parse request body into json: %s", err.Error())
		}
		return nil, false, err
	}
	return d.rest.Bytes(), d.found, nil
}

func (d *streamDecoder) document() error {
	c, err := d.peek()
	if err == io.EOF {
		d.rest.WriteString("{}")
		return nil
	}
	if err != nil {
		return err
	}
	if c != '{' {
		return fmt.Errorf("%w: expected an object", errMalformed)
	}
	if err := d.object(d.path, 1); err != nil {
		return err
	}
	// Read to the end so that the signature is checked.
	if _, err := d.peek(); err != io.EOF {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: data after the object", errMalformed)
	}
	return nil
}

// peek skips whitespace and returns the next byte without consuming it.
func (d *streamDecoder) peek() (byte, error) {
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, d.r.UnreadByte()
	}
}

func (d *streamDecoder) expect(want byte) error {
	c, err := d.peek()
	if err != nil {
		return d.eof(err)
	}
	if c != want {
		return fmt.Errorf("%w: expected %q, found %q", errMalformed, want, c)
	}
	_, _ = d.r.ReadByte()
	return nil
}

// eof turns an early end of the body into a syntax error.
func (d *streamDecoder) eof(err error) error {
	if err == io.EOF {
		return fmt.Errorf("%w: unexpected end of input", errMalformed)
	}
	return err
}

func (d *streamDecoder) emit(b ...byte) error {
	d.rest.Write(b)
	if d.rest.Len() > maxRest {
		return lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Request must be smaller than %d bytes for the %s operation", lambdahost.MaxRequestBody, d.op)
	}
	return nil
}

// object copies an object, streaming the member at path.
func (d *streamDecoder) object(path []string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested too deeply", errMalformed)
	}
	if err := d.expect('{'); err != nil {
		return err
	}
	if err := d.emit('{'); err != nil {
		return err
	}
	first := true
	c, err := d.peek()
	if err != nil {
		return d.eof(err)
	}
	if c == '}' {
		_, _ = d.r.ReadByte()
		return d.emit('}')
	}
	for {
		if err := d.expect('"'); err != nil {
			return err
		}
		var raw bytes.Buffer
		raw.WriteByte('"')
		if err := d.copyString(&raw); err != nil {
			return err
		}
		key, err := decodeKey(raw.Bytes())
		if err != nil {
			return err
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		c, err := d.peek()
		if err != nil {
			return d.eof(err)
		}
		switch {
		case len(path) == 1 && key == path[0] && c == '"':
			if d.found {
				return fmt.Errorf("%w: duplicate %s", errMalformed, key)
			}
			d.found = true
			_, _ = d.r.ReadByte()
			if err := d.streamString(); err != nil {
				return err
			}
		default:
			if !first {
				if err := d.emit(','); err != nil {
					return err
				}
			}
			first = false
			if err := d.emit(raw.Bytes()...); err != nil {
				return err
			}
			if err := d.emit(':'); err != nil {
				return err
			}
			if len(path) > 1 && key == path[0] && c == '{' {
				err = d.object(path[1:], depth+1)
			} else {
				err = d.value(depth + 1)
			}
			if err != nil {
				return err
			}
		}
		c, err = d.peek()
		if err != nil {
			return d.eof(err)
		}
		_, _ = d.r.ReadByte()
		switch c {
		case ',':
			continue
		case '}':
			return d.emit('}')
		default:
			return fmt.Errorf("%w: expected ',' or '}', found %q", errMalformed, c)
		}
	}
}

func decodeKey(raw []byte) (string, error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("%w: bad key", errMalformed)
	}
	return k, nil
}

// value copies any JSON value to rest. Its syntax is checked loosely here
// and fully by json.Unmarshal of rest.
func (d *streamDecoder) value(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested too deeply", errMalformed)
	}
	c, err := d.peek()
	if err != nil {
		return d.eof(err)
	}
	switch c {
	case '"':
		_, _ = d.r.ReadByte()
		var raw bytes.Buffer
		raw.WriteByte('"')
		if err := d.copyString(&raw); err != nil {
			return err
		}
		return d.emit(raw.Bytes()...)
	case '{', '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		_, _ = d.r.ReadByte()
		if err := d.emit(c); err != nil {
			return err
		}
		for n := 0; ; n++ {
			c, err := d.peek()
			if err != nil {
				return d.eof(err)
			}
			if c == closing {
				_, _ = d.r.ReadByte()
				return d.emit(closing)
			}
			if n > 0 {
				if err := d.expect(','); err != nil {
					return err
				}
				if err := d.emit(','); err != nil {
					return err
				}
			}
			if closing == '}' {
				if err := d.value(depth + 1); err != nil { // key
					return err
				}
				if err := d.expect(':'); err != nil {
					return err
				}
				if err := d.emit(':'); err != nil {
					return err
				}
			}
			if err := d.value(depth + 1); err != nil {
				return err
			}
		}
	default:
		// A literal: number, true, false or null.
		for {
			c, err := d.r.ReadByte()
			if err != nil {
				return d.eof(err)
			}
			if !isLiteralByte(c) {
				return d.r.UnreadByte()
			}
			if err := d.emit(c); err != nil {
				return err
			}
		}
	}
}

func isLiteralByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// copyString copies the rest of a string (after its opening quote),
// including the closing quote, to raw.
func (d *streamDecoder) copyString(raw *bytes.Buffer) error {
	for {
		chunk, err := d.r.ReadSlice('"')
		if err != nil && err != bufio.ErrBufferFull {
			return d.eof(err)
		}
		raw.Write(chunk)
		if raw.Len() > maxRest {
			return d.emit(raw.Bytes()...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		// The quote ends the string unless an odd number of backslashes precede it.
		b := raw.Bytes()
		n := 0
		for i := len(b) - 2; i >= 0 && b[i] == '\\'; i-- {
			n++
		}
		if n%2 == 0 {
			return nil
		}
	}
}

// streamString base64-decodes the rest of a string (after its opening
// quote) into dst.
func (d *streamDecoder) streamString() error {
	if d.out == nil {
		d.out = make([]byte, 48<<10)
	}
	for {
		chunk, err := d.r.ReadSlice('"')
		if err != nil && err != bufio.ErrBufferFull {
			return d.eof(err)
		}
		done := err == nil
		if done {
			chunk = chunk[:len(chunk)-1]
		}
		if i := bytes.IndexByte(chunk, '\\'); i >= 0 {
			// Escapes are rare in base64 (some encoders write \/): take the
			// slow path from here to the end of the string.
			if err := d.feed(chunk[:i]); err != nil {
				return err
			}
			rest := append([]byte(nil), chunk[i:]...)
			if done {
				rest = append(rest, '"')
			}
			return d.streamEscaped(rest)
		}
		if err := d.feed(chunk); err != nil {
			return err
		}
		if done {
			return d.flush()
		}
	}
}

// streamEscaped decodes a string's remainder that contains escapes. pre is
// what was already read from the reader.
func (d *streamDecoder) streamEscaped(pre []byte) error {
	r := io.MultiReader(bytes.NewReader(pre), d.r)
	br := bufio.NewReaderSize(r, 4096)
	defer func() {
		// Give back what the local reader read ahead of the string's end.
		if n := br.Buffered(); n > 0 {
			ahead, _ := br.Peek(n)
			d.r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(append([]byte(nil), ahead...)), d.r), 64<<10)
		}
	}()
	var buf []byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			return d.eof(err)
		}
		switch c {
		case '"':
			if err := d.feed(buf); err != nil {
				return err
			}
			return d.flush()
		case '\\':
			e, err := br.ReadByte()
			if err != nil {
				return d.eof(err)
			}
			switch e {
			case '/', '\\', '"':
				buf = append(buf, e)
			case 'n', 'r', 't', 'b', 'f':
				// Whitespace in base64 carries nothing.
			case 'u':
				var hex [4]byte
				if _, err := io.ReadFull(br, hex[:]); err != nil {
					return d.eof(err)
				}
				var r rune
				if _, err := fmt.Sscanf(string(hex[:]), "%04x", &r); err != nil {
					return fmt.Errorf("%w: bad \\u escape", errMalformed)
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return fmt.Errorf("%w: bad escape", errMalformed)
			}
		default:
			buf = append(buf, c)
		}
		if len(buf) >= 32<<10 {
			if err := d.feed(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
}

func (d *streamDecoder) badBase64() error {
	return lambdahost.Errorf(lambdahost.InvalidRequestContentException, "Could not parse request body into json: %s is not valid base64", d.path[len(d.path)-1])
}

// feed decodes whole base64 quanta of b (with any left over from the last
// call) into dst.
func (d *streamDecoder) feed(b []byte) error {
	if len(d.b64) > 0 {
		need := 4 - len(d.b64)
		if len(b) < need {
			d.b64 = append(d.b64, b...)
			return nil
		}
		d.b64 = append(d.b64, b[:need]...)
		b = b[need:]
		if err := d.decode(d.b64); err != nil {
			return err
		}
		d.b64 = d.b64[:0]
	}
	whole := len(b) / 4 * 4
	for len(b[:whole]) > 0 {
		n := min(whole, len(d.out)/3*4)
		if err := d.decode(b[:n]); err != nil {
			return err
		}
		b, whole = b[n:], whole-n
	}
	d.b64 = append(d.b64, b...)
	return nil
}

func (d *streamDecoder) decode(src []byte) error {
	n, err := base64.StdEncoding.Decode(d.out, src)
	if err != nil {
		return d.badBase64()
	}
	d.decoded += int64(n)
	if d.decoded > d.maxDecoded {
		return lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Zipped size must be smaller than %d bytes", d.maxDecoded)
	}
	_, err = d.dst.Write(d.out[:n])
	return err
}

// flush decodes what is left at the end of the string, which must be a
// whole quantum (padded) or an unpadded tail.
func (d *streamDecoder) flush() error {
	if len(d.b64) == 0 {
		return nil
	}
	n, err := base64.RawStdEncoding.Decode(d.out, d.b64)
	if err != nil {
		return d.badBase64()
	}
	d.decoded += int64(n)
	d.b64 = d.b64[:0]
	if d.decoded > d.maxDecoded {
		return lambdahost.Errorf(lambdahost.RequestEntityTooLargeException, "Zipped size must be smaller than %d bytes", d.maxDecoded)
	}
	_, err = d.dst.Write(d.out[:n])
	return err
}

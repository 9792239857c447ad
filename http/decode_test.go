package http

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/lambdahost/lambdahost"
)

func TestDecodeStream(t *testing.T) {
	zip := bytes.Repeat([]byte("PK\x03\x04zip-bytes"), 1000)
	b64 := base64.StdEncoding.EncodeToString(zip)
	tests := []struct {
		name      string
		body      string
		path      []string
		wantRest  map[string]any
		wantZip   []byte
		wantFound bool
		wantErr   lambdahost.ErrorType
	}{
		{name: "update-code", path: []string{"ZipFile"}, body: `{"ZipFile":"` + b64 + `","Publish":true,"RevisionId":"r1"}`,
			wantRest: map[string]any{"Publish": true, "RevisionId": "r1"}, wantZip: zip, wantFound: true},
		{name: "zip-last", path: []string{"ZipFile"}, body: `{"DryRun":false, "Architectures":["arm64"] , "ZipFile" : "` + b64 + `"}`,
			wantRest: map[string]any{"DryRun": false, "Architectures": []any{"arm64"}}, wantZip: zip, wantFound: true},
		{name: "create-nested", path: []string{"Code", "ZipFile"}, body: `{"FunctionName":"f","Code":{"ZipFile":"` + b64 + `","SourceKMSKeyArn":"arn:aws:kms:x"},"Tags":{"a":"b"}}`,
			wantRest: map[string]any{"FunctionName": "f", "Code": map[string]any{"SourceKMSKeyArn": "arn:aws:kms:x"}, "Tags": map[string]any{"a": "b"}}, wantZip: zip, wantFound: true},
		{name: "escaped-slashes", path: []string{"ZipFile"}, body: `{"ZipFile":"` + strings.ReplaceAll(b64, "/", `\/`) + `"}`,
			wantRest: map[string]any{}, wantZip: zip, wantFound: true},
		{name: "no-zip", path: []string{"ZipFile"}, body: `{"S3Bucket":"b","S3Key":"k"}`, wantRest: map[string]any{"S3Bucket": "b", "S3Key": "k"}},
		{name: "zip-not-string", path: []string{"ZipFile"}, body: `{"ZipFile":null}`, wantRest: map[string]any{"ZipFile": nil}},
		{name: "empty-body", path: []string{"ZipFile"}, body: ``, wantRest: map[string]any{}},
		{name: "string-with-quotes", path: []string{"ZipFile"}, body: `{"Description":"a \"quoted\" \\\" x","ZipFile":"QUJD"}`,
			wantRest: map[string]any{"Description": `a "quoted" \" x`}, wantZip: []byte("ABC"), wantFound: true},
		{name: "unpadded-base64", path: []string{"ZipFile"}, body: `{"ZipFile":"QUI"}`, wantRest: map[string]any{}, wantZip: []byte("AB"), wantFound: true},
		{name: "bad-base64", path: []string{"ZipFile"}, body: `{"ZipFile":"!!!!"}`, wantErr: lambdahost.InvalidRequestContentException},
		{name: "truncated", path: []string{"ZipFile"}, body: `{"ZipFile":"QUJD`, wantErr: lambdahost.InvalidRequestContentException},
		{name: "not-object", path: []string{"ZipFile"}, body: `[1,2]`, wantErr: lambdahost.InvalidRequestContentException},
		{name: "trailing-garbage", path: []string{"ZipFile"}, body: `{} x`, wantErr: lambdahost.InvalidRequestContentException},
		{name: "duplicate-zip", path: []string{"ZipFile"}, body: `{"ZipFile":"QUJD","ZipFile":"QUJD"}`, wantErr: lambdahost.InvalidRequestContentException},
		{name: "deep-nesting", path: []string{"ZipFile"}, body: `{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, wantErr: lambdahost.InvalidRequestContentException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			// OneByteReader makes every chunk boundary happen somewhere.
			for _, r := range []io.Reader{strings.NewReader(tt.body), iotest.OneByteReader(strings.NewReader(tt.body))} {
				got.Reset()
				rest, found, err := decodeStream(r, tt.path, &got, lambdahost.MaxZippedSize, "UpdateFunctionCode")
				if tt.wantErr != "" {
					if typ := lambdahost.ErrorTypeOf(err); typ != tt.wantErr {
						t.Fatalf("err = %v, want %s", err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				var restMap map[string]any
				if err := json.Unmarshal(rest, &restMap); err != nil {
					t.Fatalf("rest %q is not JSON: %v", rest, err)
				}
				if diff := cmp.Diff(tt.wantRest, restMap); diff != "" {
					t.Errorf("rest (-want +got):\n%s", diff)
				}
				if found != tt.wantFound {
					t.Errorf("found = %v, want %v", found, tt.wantFound)
				}
				if !bytes.Equal(got.Bytes(), tt.wantZip) {
					t.Errorf("zip: got %d bytes, want %d", got.Len(), len(tt.wantZip))
				}
			}
		})
	}
}

func TestDecodeStreamLimits(t *testing.T) {
	t.Run("zipped-size", func(t *testing.T) {
		body := `{"ZipFile":"` + base64.StdEncoding.EncodeToString(make([]byte, 3000)) + `"}`
		_, _, err := decodeStream(strings.NewReader(body), []string{"ZipFile"}, io.Discard, 2048, "UpdateFunctionCode")
		var e *lambdahost.Error
		if !errors.As(err, &e) || e.Type != lambdahost.RequestEntityTooLargeException || e.Message != "Zipped size must be smaller than 2048 bytes" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("rest-size", func(t *testing.T) {
		body := `{"Description":"` + strings.Repeat("x", maxRest+10) + `"}`
		_, _, err := decodeStream(strings.NewReader(body), []string{"ZipFile"}, io.Discard, 1<<20, "UpdateFunctionCode")
		if lambdahost.ErrorTypeOf(err) != lambdahost.RequestEntityTooLargeException {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("read-error-passes-through", func(t *testing.T) {
		boom := errors.New("signature mismatch")
		_, _, err := decodeStream(io.MultiReader(strings.NewReader(`{"ZipFile":"QUJD"}`), iotest.ErrReader(boom)), []string{"ZipFile"}, io.Discard, 1<<20, "UpdateFunctionCode")
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the reader's error", err)
		}
	})
}

// FuzzDecodeStream: for any object with a ZipFile member, the streamed
// bytes are the member's base64-decoded value and rest is the object
// without it. Arbitrary bodies never panic and fail with API errors.
func FuzzDecodeStream(f *testing.F) {
	f.Add([]byte("zip"), `{"Publish":true}`, false)
	f.Add([]byte{}, `{}`, true)
	f.Add([]byte("\x00\xff/+"), `{"a":[1,{"b":"c\"d"}],"e":null}`, true)
	f.Fuzz(func(t *testing.T, zip []byte, other string, escape bool) {
		var m map[string]any
		if json.Unmarshal([]byte(other), &m) != nil || m == nil {
			// Not an object: decoding must fail cleanly or succeed, never panic.
			_, _, err := decodeStream(strings.NewReader(other), []string{"ZipFile"}, io.Discard, 1<<20, "op")
			if err != nil && lambdahost.ErrorTypeOf(err) == "" {
				t.Fatalf("non-API error %v", err)
			}
			return
		}
		delete(m, "ZipFile")
		b64 := base64.StdEncoding.EncodeToString(zip)
		if escape {
			b64 = strings.ReplaceAll(b64, "/", `\/`)
		}
		restJSON, _ := json.Marshal(m)
		body := `{"ZipFile":"` + b64 + `"`
		if len(m) > 0 {
			body += "," + string(restJSON[1:])
		} else {
			body += "}"
		}
		var got bytes.Buffer
		rest, found, err := decodeStream(iotest.HalfReader(strings.NewReader(body)), []string{"ZipFile"}, &got, 1<<20, "op")
		if err != nil {
			if lambdahost.ErrorTypeOf(err) == lambdahost.RequestEntityTooLargeException {
				return
			}
			t.Fatalf("decode %q: %v", body, err)
		}
		if !found || !bytes.Equal(got.Bytes(), zip) {
			t.Fatalf("streamed %x, want %x", got.Bytes(), zip)
		}
		var gotRest map[string]any
		if err := json.Unmarshal(rest, &gotRest); err != nil {
			t.Fatalf("rest %q: %v", rest, err)
		}
		if diff := cmp.Diff(m, gotRest); diff != "" {
			t.Fatalf("rest (-want +got):\n%s", diff)
		}
	})
}

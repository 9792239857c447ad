package sigv4_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/lambdahost/lambdahost/sigv4"
)

// newSDKServer serves a stand-in for the HTTP layer: it verifies every
// request as that layer will (Start, stream-hash the body, Finish) and
// answers 200 {} or the error the way Lambda does.
func newSDKServer(t *testing.T) *httptest.Server {
	t.Helper()
	v := &sigv4.Verifier{Lookup: lookup(testCred), Service: "lambda"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(err error) {
			var e *sigv4.Error
			if !errors.As(err, &e) {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("X-Amzn-ErrorType", string(e.Code))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"`+e.Message+`"}`)
		}
		p, err := v.Start(r)
		if err != nil {
			fail(err)
			return
		}
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			fail(err)
			return
		}
		if _, err := p.Finish(hex.EncodeToString(h.Sum(nil))); err != nil {
			fail(err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newLambdaClient(url, secret string) *lambda.Client {
	return lambda.NewFromConfig(aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(testCred.AccessKey, secret, ""),
		BaseEndpoint: aws.String(url),
	}, func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
}

// TestVerifySDKClient drives a real aws-sdk-go-v2 Lambda client, with all
// of its middleware, against the verifier.
func TestVerifySDKClient(t *testing.T) {
	srv := newSDKServer(t)
	good := newLambdaClient(srv.URL, testCred.Secret)
	bad := newLambdaClient(srv.URL, "wrong-secret")
	tests := []struct {
		name string
		call func(c *lambda.Client) error
	}{
		{name: "get-function-arn-latest", call: func(c *lambda.Client) error {
			_, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(fnARN), Qualifier: aws.String("$LATEST")})
			return err
		}},
		{name: "list-functions-marker", call: func(c *lambda.Client) error {
			_, err := c.ListFunctions(t.Context(), &lambda.ListFunctionsInput{Marker: aws.String("a b+c/d=é"), MaxItems: aws.Int32(5)})
			return err
		}},
		{name: "invoke-payload", call: func(c *lambda.Client) error {
			_, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String(fnARN + ":live"), Payload: []byte(`{"key":"value"}`)})
			return err
		}},
		{name: "update-function-code-zip", call: func(c *lambda.Client) error {
			_, err := c.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("my-fn"), ZipFile: []byte("PK\x03\x04 not really a zip")})
			return err
		}},
		{name: "delete-function-qualifier", call: func(c *lambda.Client) error {
			_, err := c.DeleteFunction(t.Context(), &lambda.DeleteFunctionInput{FunctionName: aws.String("my-fn"), Qualifier: aws.String("3")})
			return err
		}},
		{name: "list-tags-arn-in-path", call: func(c *lambda.Client) error {
			_, err := c.ListTags(t.Context(), &lambda.ListTagsInput{Resource: aws.String(fnARN)})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(good); err != nil {
				t.Errorf("with the right secret: %v", err)
			}
			err := tt.call(bad)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != string(sigv4.InvalidSignatureException) {
				t.Errorf("with a wrong secret: error = %v, want %s", err, sigv4.InvalidSignatureException)
			}
		})
	}
}

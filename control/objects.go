package control

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/lambdahost/lambdahost"
)

// ObjectMessenger sends the records of failures whose destination is an
// S3 bucket (arn:aws:s3:::bucket) as objects, through an ObjectStore.
type ObjectMessenger struct {
	Objects lambdahost.ObjectStore
}

// Send implements lambdahost.Messenger: PutObject of the record as m.Key.
func (o ObjectMessenger) Send(ctx context.Context, m *lambdahost.Message) error {
	bucket, ok := strings.CutPrefix(m.Target, "arn:aws:s3:::")
	if !ok || bucket == "" || strings.Contains(bucket, "/") {
		return fmt.Errorf("not an S3 bucket ARN: %q", m.Target)
	}
	body := []byte(m.Body)
	return o.Objects.PutObject(ctx, m.Account, bucket, m.Key, bytes.NewReader(body), int64(len(body)))
}

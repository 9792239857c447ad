package control

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/lambdahost/lambdahost"
)

func TestReportedFailures(t *testing.T) {
	ids := []string{"m1", "m2", "m3"}
	tests := []struct {
		name    string
		payload string
		want    []int
		whole   bool
	}{
		{"empty", ``, nil, false},
		{"null", `null`, nil, false},
		{"empty-string", `""`, nil, false},
		{"empty-object", `{}`, nil, false},
		{"empty-list", `{"batchItemFailures": []}`, nil, false},
		{"null-list", `{"batchItemFailures": null}`, nil, false},
		{"some", `{"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}`, []int{1, 2}, false},
		{"unknown-id", `{"batchItemFailures": [{"itemIdentifier": "m9"}]}`, nil, true},
		{"empty-id", `{"batchItemFailures": [{"itemIdentifier": ""}]}`, nil, true},
		{"null-id", `{"batchItemFailures": [{"itemIdentifier": null}]}`, nil, true},
		{"number-id", `{"batchItemFailures": [{"itemIdentifier": 123}]}`, nil, true},
		{"no-id", `{"batchItemFailures": [{"foo": "notvalid"}]}`, nil, true},
		{"not-json", `{"batchItemFailures": [`, nil, true},
		{"wrong-shape", `{"batchItemFailures": "m1"}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failed, whole := reportedFailures([]byte(tt.payload), ids)
			var got []int
			for i := range failed {
				got = append(got, i)
			}
			slices.Sort(got)
			if whole != tt.whole || !slices.Equal(got, tt.want) {
				t.Errorf("reportedFailures(%s) = %v, whole %v; want %v, whole %v", tt.payload, got, whole, tt.want, tt.whole)
			}
		})
	}
}

// FuzzReportedFailures: whatever a function answers, the failures are
// items of the batch, or the whole batch.
func FuzzReportedFailures(f *testing.F) {
	for _, s := range []string{``, `null`, `{"batchItemFailures": [{"itemIdentifier": "m2"}]}`, `{"batchItemFailures": [{"foo": 1}]}`, `[1]`} {
		f.Add(s)
	}
	ids := []string{"m1", "m2", "m3"}
	f.Fuzz(func(t *testing.T, payload string) {
		failed, whole := reportedFailures([]byte(payload), ids)
		if whole && len(failed) != 0 {
			t.Fatalf("both whole and %v", failed)
		}
		for i := range failed {
			if i < 0 || i >= len(ids) {
				t.Fatalf("failure %d is no item", i)
			}
		}
	})
}

// TestSQSRecordShape pins the keys of an SQS record and their order, and
// what filters see of it.
func TestSQSRecordShape(t *testing.T) {
	v := "John Grisham"
	m := &EventSourceMapping{EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:q", Region: "us-east-1"}
	msg := &lambdahost.QueueMessage{MessageID: "id", ReceiptHandle: "rh", Body: `{"a": 1}`, MD5OfBody: "md5", MD5OfMessageAttributes: "md5a",
		Attributes:        map[string]string{"SenderId": "s", "ApproximateReceiveCount": "1", "SentTimestamp": "2", "ApproximateFirstReceiveTimestamp": "3", "MessageGroupId": "g"},
		MessageAttributes: map[string]lambdahost.QueueMessageAttribute{"Author": {DataType: "String", StringValue: &v}}}
	b, err := json.Marshal(newSQSRecord(m, msg))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messageId":"id","receiptHandle":"rh","body":"{\"a\": 1}","attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"2","MessageGroupId":"g","SenderId":"s","ApproximateFirstReceiveTimestamp":"3"},"messageAttributes":{"Author":{"stringValue":"John Grisham","stringListValues":[],"binaryListValues":[],"dataType":"String"}},"md5OfMessageAttributes":"md5a","md5OfBody":"md5","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:000000000000:q","awsRegion":"us-east-1"}`
	if string(b) != want {
		t.Errorf("record\n got %s\nwant %s", b, want)
	}
	d := filterData(newSQSRecord(m, msg), "body", []byte(msg.Body)).(map[string]any)
	if body, ok := d["body"].(map[string]any); !ok || body["a"] == nil {
		t.Errorf("filters see body %v, want the decoded JSON", d["body"])
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The async test: SQS event source mappings and Event invocations with an
// OnSuccess destination, on a lambdahost of its own whose SQS is a
// moto_server. The function is bench/sqsfn (Go, provided.al2023), which
// prints when each batch started; the bench reads that back through
// lambdahost's CloudWatch Logs API after each timed run.

// asyncAccount is the account of moto's queues: the one lambdahost's
// built-in test credentials map to, so that the mappings' queue ARNs are
// those moto answers.
const asyncAccount = "000000000000"

// asyncBatchSizes are the BatchSizes of the throughput runs.
var asyncBatchSizes = []int{1, 10}

// asyncResult is the outcome of the async test.
type asyncResult struct {
	tput []asyncTput
	// delay is, per message, from just before SendMessage to the start of
	// the function's handler (its own clock; same machine).
	delay        []time.Duration
	delayLost    int             // messages whose start was not logged
	destReceived []time.Duration // Invoke (Event) call → record received from the destination queue
	destSent     []time.Duration // Invoke (Event) call → the record's SentTimestamp (ms)
	destErrors   int
	stopErr      error
}

// asyncTput is one throughput run.
type asyncTput struct {
	batchSize int
	messages  int
	elapsed   time.Duration // first handler start → queue seen empty
	handed    int           // messages handed to the function (at least once each)
	batches   int
	// floor is the same queue work without lambdahost: five Go consumers
	// receiving up to batchSize messages and deleting them, as many
	// messages from as full a queue.
	floor time.Duration
	send  time.Duration // SendMessageBatch of all the messages
}

func (t asyncTput) floorRate() float64 { return float64(t.messages) / t.floor.Seconds() }

func (t asyncTput) rate() float64 { return float64(t.messages) / t.elapsed.Seconds() }

// asyncTest runs the async test.
func asyncTest(tmp, moduleDir, bin string, cfg *config) (*asyncResult, error) {
	if _, err := findBinary("moto_server"); err != nil {
		return nil, fmt.Errorf("the async test needs moto_server (pip install 'moto[server]'): %w", err)
	}
	dir := filepath.Join(tmp, "async")
	if err := os.MkdirAll(filepath.Join(dir, "fn"), 0o755); err != nil {
		return nil, err
	}
	logf("async: building bench/sqsfn")
	fnBin, err := buildGoPackage(moduleDir, filepath.Join(dir, "fn"), "./bench/sqsfn")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(fnBin)
	if err != nil {
		return nil, err
	}
	zip, err := zipOf(map[string][]byte{"bootstrap": b}, 0o755)
	if err != nil {
		return nil, err
	}
	logf("async: starting moto_server")
	moto, err := startMoto(dir, "MOTO_ACCOUNT_ID="+asyncAccount, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION="+region)
	if err != nil {
		return nil, err
	}
	defer moto.stop()
	motoURL := "http://" + moto.addr
	logf("async: starting lambdahost")
	srv, err := startLambdahost(bin, dir, nil, []string{"--sqs-endpoint", motoURL},
		[]string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=" + region})
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.stop()
		}
	}()

	ctx := context.Background()
	lc, _ := newLambdaClient(srv.addr, 8)
	a := &asyncRun{
		lc: lc,
		q: sqs.New(sqs.Options{BaseEndpoint: aws.String(motoURL), Region: region, Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), HTTPClient: &http.Client{Timeout: time.Minute}}),
		logs: cloudwatchlogs.New(cloudwatchlogs.Options{BaseEndpoint: aws.String("http://" + srv.addr), Region: region, Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")}),
	}
	const fn = "bench-sqs"
	if err := createInvokeFunction(ctx, lc, fn, invokeLang{name: "Go", runtime: types.RuntimeProvidedal2023, handler: "bootstrap", zip: zip}); err != nil {
		return nil, err
	}
	if err := waitUpdated(ctx, lc, fn, 30*time.Second); err != nil {
		return nil, err
	}
	// The mappings' pollers run up to five batches at once (lambdahost's
	// default for a standard queue): five sleeping invocations at once
	// leave five warm environments.
	warm := func() error {
		_, err := concurrentInvokes(ctx, &endpoint{lc: lc, fn: fn}, 5, []byte(`{"sleep_ms":300}`))
		return err
	}
	res := &asyncResult{}

	for _, bs := range asyncBatchSizes {
		if err := warm(); err != nil {
			return nil, err
		}
		t, err := a.throughput(ctx, fn, bs, cfg.asyncMessages)
		if err != nil {
			return nil, fmt.Errorf("BatchSize %d: %w", bs, err)
		}
		res.tput = append(res.tput, t)
	}
	if err := warm(); err != nil {
		return nil, err
	}
	if err := a.delay(ctx, fn, cfg.asyncN, cfg.asyncGap, res); err != nil {
		return nil, fmt.Errorf("delay: %w", err)
	}
	if err := a.destination(ctx, fn, cfg.asyncN, res); err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	stopped = true
	res.stopErr = srv.stop()
	return res, nil
}

// asyncRun holds the clients of the async test.
type asyncRun struct {
	lc   *lambda.Client
	q    *sqs.Client
	logs *cloudwatchlogs.Client
	n    int // queues made
}

// queue creates a queue and answers its URL and ARN.
func (a *asyncRun) queue(ctx context.Context, name string) (url, arn string, err error) {
	a.n++
	name = fmt.Sprintf("%s-%d", name, a.n)
	out, err := a.q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), "arn:aws:sqs:" + region + ":" + asyncAccount + ":" + name, nil
}

// mapping creates an enabled mapping of fn to arn and waits until it is.
func (a *asyncRun) mapping(ctx context.Context, fn, arn string, batchSize int) (string, error) {
	out, err := a.lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String(fn),
		EventSourceArn: aws.String(arn), BatchSize: aws.Int32(int32(batchSize)), MaximumBatchingWindowInSeconds: aws.Int32(0)})
	if err != nil {
		return "", fmt.Errorf("create mapping: %w", err)
	}
	uuid := aws.ToString(out.UUID)
	deadline := time.Now().Add(time.Minute)
	for {
		m, err := a.lc.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
		if err != nil {
			return "", err
		}
		if aws.ToString(m.State) == "Enabled" {
			return uuid, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("mapping %s is %s after a minute", uuid, aws.ToString(m.State))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sendAll sends bodies to url, ten at a time.
func (a *asyncRun) sendAll(ctx context.Context, url string, bodies []string) error {
	for c := range slices.Chunk(bodies, 10) {
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(url)}
		for i, b := range c {
			in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
		}
		out, err := a.q.SendMessageBatch(ctx, in)
		if err != nil {
			return err
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("send: %s", aws.ToString(out.Failed[0].Message))
		}
	}
	return nil
}

// waitEmpty polls url every 100 ms (moto counts a queue's messages one
// by one: a tighter poll would slow down the run it times) until it holds no message, visible or
// in flight, and answers when it saw that.
func (a *asyncRun) waitEmpty(ctx context.Context, url string, bound time.Duration) (time.Time, error) {
	deadline := time.Now().Add(bound)
	for {
		out, err := a.q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			return time.Time{}, err
		}
		if out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("queue not empty after %s: %v", bound, out.Attributes)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// starts reads the function's SQSAT lines since since, and answers, for
// every body with prefix, when its first batch started, and how many
// batches with such bodies there were. It waits until want bodies are
// there (log lines reach the store a little after they are printed).
func (a *asyncRun) starts(ctx context.Context, fn, prefix string, since time.Time, want int) (map[string]time.Time, int, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		first := map[string]time.Time{}
		batches := 0
		p := cloudwatchlogs.NewFilterLogEventsPaginator(a.logs, &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String("/aws/lambda/" + fn), StartTime: aws.Int64(since.Add(-time.Second).UnixMilli()), FilterPattern: aws.String(`"SQSAT"`)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, 0, fmt.Errorf("FilterLogEvents: %w", err)
			}
			for _, e := range page.Events {
				f := strings.Fields(aws.ToString(e.Message))
				if len(f) != 3 || f[0] != "SQSAT" || !strings.HasPrefix(f[2], prefix) {
					continue
				}
				ns, err := strconv.ParseInt(f[1], 10, 64)
				if err != nil {
					return nil, 0, fmt.Errorf("log line %q: %w", aws.ToString(e.Message), err)
				}
				batches++
				at := time.Unix(0, ns)
				for _, b := range strings.Split(f[2], ",") {
					if t, ok := first[b]; !ok || at.Before(t) {
						first[b] = at
					}
				}
			}
		}
		if len(first) >= want || time.Now().After(deadline) {
			return first, batches, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// throughput fills a queue with n messages, then maps it to fn with
// batchSize and times from the first handler start until the queue is
// empty: every message handed on and deleted.
func (a *asyncRun) throughput(ctx context.Context, fn string, batchSize, n int) (asyncTput, error) {
	res := asyncTput{batchSize: batchSize, messages: n}
	url, arn, err := a.queue(ctx, fmt.Sprintf("tput-%d", batchSize))
	if err != nil {
		return res, err
	}
	prefix := fmt.Sprintf("b%d-", batchSize)
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	logf("async: BatchSize %d: sending %d messages", batchSize, n)
	t0 := time.Now()
	if err := a.sendAll(ctx, url, bodies); err != nil {
		return res, err
	}
	res.send = time.Since(t0)
	since := time.Now()
	uuid, err := a.mapping(ctx, fn, arn, batchSize)
	if err != nil {
		return res, err
	}
	end, err := a.waitEmpty(ctx, url, 10*time.Minute)
	if err != nil {
		return res, err
	}
	if _, err := a.lc.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: aws.String(uuid)}); err != nil {
		return res, err
	}
	first, batches, err := a.starts(ctx, fn, prefix, since, n)
	if err != nil {
		return res, err
	}
	if len(first) == 0 {
		return res, errors.New("no handler start logged")
	}
	start := end
	for _, t := range first {
		if t.Before(start) {
			start = t
		}
	}
	res.elapsed, res.handed, res.batches = end.Sub(start), len(first), batches
	logf("async: BatchSize %d: %d messages in %s (%d batches)", batchSize, n, res.elapsed.Round(time.Millisecond), batches)

	// The floor: the same queue work, from the bench.
	url, _, err = a.queue(ctx, fmt.Sprintf("floor-%d", batchSize))
	if err != nil {
		return res, err
	}
	if err := a.sendAll(ctx, url, bodies); err != nil {
		return res, err
	}
	if res.floor, err = a.consume(ctx, url, batchSize, n); err != nil {
		return res, fmt.Errorf("floor: %w", err)
	}
	logf("async: BatchSize %d: moto alone: %d messages in %s", batchSize, n, res.floor.Round(time.Millisecond))
	return res, nil
}

// consume receives and deletes n messages of url with five goroutines,
// up to batchSize at a time, and answers how long that took.
func (a *asyncRun) consume(ctx context.Context, url string, batchSize, n int) (time.Duration, error) {
	var left atomic.Int64
	left.Store(int64(n))
	errs := make([]error, 5)
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Load() > 0 {
				out, err := a.q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: int32(batchSize), WaitTimeSeconds: 1,
					// What lambdahost's pollers ask for.
					MessageAttributeNames:       []string{"All"},
					MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
				if err != nil {
					errs[w] = err
					return
				}
				if len(out.Messages) == 0 {
					continue
				}
				in := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url)}
				for i, m := range out.Messages {
					in.Entries = append(in.Entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
				}
				if _, err := a.q.DeleteMessageBatch(ctx, in); err != nil {
					errs[w] = err
					return
				}
				left.Add(-int64(len(out.Messages)))
			}
		}()
	}
	wg.Wait()
	return time.Since(t0), errors.Join(errs...)
}

// delay maps a queue to fn with BatchSize 1 and sends n messages one at a
// time, gap apart, each timed from just before its SendMessage to the
// start of the handler it reached.
func (a *asyncRun) delay(ctx context.Context, fn string, n int, gap time.Duration, res *asyncResult) error {
	url, arn, err := a.queue(ctx, "delay")
	if err != nil {
		return err
	}
	uuid, err := a.mapping(ctx, fn, arn, 1)
	if err != nil {
		return err
	}
	// Untimed: the pollers' first receives, the environments' first batches.
	warm := make([]string, 20)
	for i := range warm {
		warm[i] = fmt.Sprintf("warm-%d", i)
	}
	if err := a.sendAll(ctx, url, warm); err != nil {
		return err
	}
	if _, err := a.waitEmpty(ctx, url, time.Minute); err != nil {
		return err
	}
	logf("async: delay: %d messages, %s apart", n, gap)
	since := time.Now()
	sent := make(map[string]time.Time, n)
	for i := range n {
		body := fmt.Sprintf("lat-%06d", i)
		t0 := time.Now()
		if _, err := a.q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
			return err
		}
		sent[body] = t0
		time.Sleep(time.Until(t0.Add(gap)))
	}
	if _, err := a.waitEmpty(ctx, url, 5*time.Minute); err != nil {
		return err
	}
	if _, err := a.lc.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: aws.String(uuid)}); err != nil {
		return err
	}
	first, _, err := a.starts(ctx, fn, "lat-", since, n)
	if err != nil {
		return err
	}
	for body, t0 := range sent {
		t, ok := first[body]
		if !ok {
			res.delayLost++
			continue
		}
		res.delay = append(res.delay, t.Sub(t0))
	}
	return nil
}

// destination sets an OnSuccess SQS destination on fn and invokes it
// with InvocationType Event n times, one at a time, each timed from the
// Invoke call until the record is received from the destination queue
// (a long poll that returns as soon as the record is there), and until
// its SentTimestamp.
func (a *asyncRun) destination(ctx context.Context, fn string, n int, res *asyncResult) error {
	url, arn, err := a.queue(ctx, "dest")
	if err != nil {
		return err
	}
	if _, err := a.lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(fn),
		DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String(arn)}}}); err != nil {
		return err
	}
	const warmup = 5
	logf("async: destination: %d + %d Event invocations, one at a time", warmup, n)
	for i := range warmup + n {
		t0 := time.Now()
		out, err := a.lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: types.InvocationTypeEvent,
			Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			return fmt.Errorf("invoke (Event): %w", err)
		}
		if out.StatusCode != http.StatusAccepted {
			return fmt.Errorf("invoke (Event): status %d, want 202", out.StatusCode)
		}
		var msg *sqstypes.Message
		deadline := time.Now().Add(time.Minute)
		for msg == nil {
			r, err := a.q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1, WaitTimeSeconds: 5,
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameSentTimestamp}})
			if err != nil {
				return err
			}
			if len(r.Messages) > 0 {
				msg = &r.Messages[0]
			} else if time.Now().After(deadline) {
				return fmt.Errorf("no record of invocation %d in a minute", i)
			}
		}
		got := time.Since(t0)
		if _, err := a.q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: msg.ReceiptHandle}); err != nil {
			return err
		}
		if !strings.Contains(aws.ToString(msg.Body), fmt.Sprintf(`"requestPayload":{"i":%d}`, i)) {
			res.destErrors++ // a record of another invocation: order is not promised
			continue
		}
		if i < warmup {
			continue
		}
		res.destReceived = append(res.destReceived, got)
		if ms, err := strconv.ParseInt(msg.Attributes["SentTimestamp"], 10, 64); err == nil {
			res.destSent = append(res.destSent, time.UnixMilli(ms).Sub(t0))
		}
	}
	return nil
}

// asyncHeader heads the async table.
var asyncHeader = row{"metric", "lambdahost", "moto alone", "", "lambdahost / moto alone", "", ""}

func asyncRows(res *asyncResult) []row {
	var rows []row
	for _, t := range res.tput {
		rows = append(rows, row{metric: fmt.Sprintf("SQS messages processed per second, warm Go, BatchSize %d", t.batchSize),
			ours: fmt.Sprintf("%.0f/s", t.rate()), moto: fmt.Sprintf("%.0f/s", t.floorRate()), ratio: fmtRatio(t.rate() / t.floorRate())})
	}
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		rows = append(rows, row{metric: "SendMessage → handler start, BatchSize 1, " + q.name, ours: fmtDur(percentile(res.delay, q.q))})
	}
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		rows = append(rows, row{metric: "Invoke (Event) → OnSuccess record received from SQS, " + q.name, ours: fmtDur(percentile(res.destReceived, q.q))})
	}
	rows = append(rows, row{metric: "Invoke (Event) → OnSuccess record's SentTimestamp, p50 (ms clock)", ours: fmtDur(percentile(res.destSent, 0.5))})
	return rows
}

func asyncNotes(w io.Writer, cfg *config, res *asyncResult) {
	fmt.Fprintf(w, "- Async: a lambdahost of its own with --sqs-endpoint at a moto_server (moto's SQS, account %s); function bench/sqsfn (Go, provided.al2023, MemorySize 128), made warm before each part by 5 concurrent invocations (the mapping's 5 pollers). ", asyncAccount)
	fmt.Fprintln(w, "Handler start times are the function's own clock, printed first thing and read back through lambdahost's CloudWatch Logs API (FilterLogEvents) after each run.")
	for _, t := range res.tput {
		fmt.Fprintf(w, "- Throughput, BatchSize %d: %d messages sent before the mapping was created (MaximumBatchingWindowInSeconds 0; sending them took %s); from the first handler start until GetQueueAttributes (polled every 100 ms) shows the queue empty, every message handed on and deleted: %s, %d batches, %d distinct messages handed on. "+
			"Moto alone: the same number of messages from a queue as full, received (up to %d at a time, long poll) and deleted (DeleteMessageBatch) by 5 Go consumers: %s.\n",
			t.batchSize, t.messages, t.send.Round(time.Millisecond), t.elapsed.Round(time.Millisecond), t.batches, t.handed, t.batchSize, t.floor.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "- Delay: %d messages sent one at a time, %s apart, to a queue with a BatchSize 1 mapping (after 20 untimed); from just before SendMessage (its round trip to moto included) to the handler's start. %d starts missing.\n",
		len(res.delay)+res.delayLost, cfg.asyncGap, res.delayLost)
	fmt.Fprintf(w, "- Destination: %d Event invocations one at a time (after 5 untimed), each timed from the Invoke call until ReceiveMessage (a long poll on the destination queue, which moto answers as soon as the record is sent) returns the record; SentTimestamp is moto's millisecond clock. %d records out of order.\n",
		len(res.destReceived), res.destErrors)
	fmt.Fprintln(w, "  No peer in the same run: moto's own Lambda runs functions only in Docker, and the bench machine has no Docker daemon; LocalStack needs Docker as well.")
	if res.stopErr != nil {
		fmt.Fprintf(w, "  The async test's server did not exit cleanly: %v.\n", res.stopErr)
	}
}

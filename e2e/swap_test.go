//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Parameters of TestSwapUnderLoad.
const (
	swapClients = 4
	swapUpdates = 100
)

// swapInvoke is one invocation of TestSwapUnderLoad.
type swapInvoke struct {
	sent, done time.Time
	version    int // the marker of the code that answered; -1 on failure
	err        string
}

// TestSwapUnderLoad updates a function's code 100 times while clients
// invoke it without pause. No invocation may fail, and every invocation
// sent after the update to marker i was seen Successful must answer
// marker i or later. Before the next update, the new code must have
// answered, so that every version serves some of the load.
func TestSwapUnderLoad(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 2 * swapClients
	client := NewSDKClient(srv.Endpoint, TestCredentials, "us-east-1", func(o *lambda.Options) {
		o.HTTPClient = &http.Client{Transport: transport, Timeout: waitTimeout}
	})
	d := &SDK{Client: client}
	name := "swap"
	createFunction(t, d, name, python312Fn, 0, nil)

	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		invokes []swapInvoke
		// served is the highest version any invocation answered.
		served atomic.Int64
		// latestSent is when the latest-sent invocation that has answered
		// was sent (UnixNano).
		latestSent atomic.Int64
	)
	for range swapClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []swapInvoke
			defer func() {
				mu.Lock()
				invokes = append(invokes, mine...)
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				inv := swapInvokeOnce(client, name)
				mine = append(mine, inv)
				for v := served.Load(); int64(inv.version) > v && !served.CompareAndSwap(v, int64(inv.version)); v = served.Load() {
				}
				for v := latestSent.Load(); inv.sent.UnixNano() > v && !latestSent.CompareAndSwap(v, inv.sent.UnixNano()); v = latestSent.Load() {
				}
			}
		}()
	}

	// Let the clients warm up, then update: after each update, poll until
	// the function says Successful and note when it did, then wait until
	// the new code has answered, so that every version takes load.
	time.Sleep(500 * time.Millisecond)
	begin := time.Now()
	successful := make([]time.Time, swapUpdates+1)
	for i := 1; i <= swapUpdates; i++ {
		zip := python312Fn.zip(t, i)
		if _, err := client.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: zip}); err != nil {
			stop()
			wg.Wait()
			t.Fatalf("update %d: %v", i, err)
		}
		for {
			out, err := client.GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
			if err != nil {
				stop()
				wg.Wait()
				t.Fatalf("update %d: GetFunctionConfiguration: %v", i, err)
			}
			if out.LastUpdateStatus == types.LastUpdateStatusSuccessful {
				successful[i] = time.Now()
				break
			}
			if out.LastUpdateStatus == types.LastUpdateStatusFailed {
				stop()
				wg.Wait()
				t.Fatalf("update %d failed: %s", i, aws.ToString(out.LastUpdateStatusReason))
			}
			time.Sleep(5 * time.Millisecond)
		}
		for deadline := time.Now().Add(waitTimeout); served.Load() < int64(i); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				stop()
				wg.Wait()
				t.Fatalf("update %d: no invocation answered it within %v", i, waitTimeout)
			}
		}
	}
	updating := time.Since(begin)
	// Keep invoking until an invocation sent after the last update was
	// seen Successful has answered.
	for deadline := time.Now().Add(waitTimeout); latestSent.Load() <= successful[swapUpdates].UnixNano(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			stop()
			wg.Wait()
			t.Fatalf("no invocation sent after the last update answered within %v", waitTimeout)
		}
	}
	stop()
	wg.Wait()

	sort.Slice(invokes, func(i, j int) bool { return invokes[i].sent.Before(invokes[j].sent) })
	var failed, stale, afterLast int
	var maxLatency time.Duration
	for _, inv := range invokes {
		maxLatency = max(maxLatency, inv.done.Sub(inv.sent))
		if inv.err != "" {
			failed++
			if failed <= 10 {
				t.Errorf("invocation sent at +%v failed: %s", inv.sent.Sub(begin), inv.err)
			}
			continue
		}
		// The latest update seen Successful before the invocation was sent.
		want := sort.Search(swapUpdates, func(i int) bool { return !successful[i+1].Before(inv.sent) })
		if want == swapUpdates {
			afterLast++
		}
		if inv.version < want {
			stale++
			if stale <= 10 {
				t.Errorf("invocation sent at +%v, %v after update %d was Successful, answered version %d",
					inv.sent.Sub(begin), inv.sent.Sub(successful[want]), want, inv.version)
			}
		}
	}
	if failed > 0 || stale > 0 {
		t.Errorf("%d of %d invocations failed, %d answered stale code", failed, len(invokes), stale)
	}
	if afterLast == 0 {
		t.Errorf("no invocation was sent after the last update")
	}
	t.Logf("swap under load: %d invocations by %d clients (%d after the last update), %d updates in %v (%.1f invocations/s, %v per update), longest invocation %v",
		len(invokes), swapClients, afterLast, swapUpdates, updating.Round(time.Millisecond),
		float64(len(invokes))/updating.Seconds(), (updating / swapUpdates).Round(time.Millisecond), maxLatency.Round(time.Millisecond))
}

// swapInvokeOnce invokes name once and notes what answered.
func swapInvokeOnce(client *lambda.Client, name string) swapInvoke {
	inv := swapInvoke{sent: time.Now(), version: -1}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte("{}")})
	inv.done = time.Now()
	switch {
	case err != nil:
		inv.err = err.Error()
	case out.FunctionError != nil:
		inv.err = fmt.Sprintf("function error %s: %s", aws.ToString(out.FunctionError), out.Payload)
	default:
		var reply struct{ Version *int }
		if err := json.Unmarshal(out.Payload, &reply); err != nil || reply.Version == nil {
			inv.err = fmt.Sprintf("reply %s: %v", out.Payload, err)
		} else {
			inv.version = *reply.Version
		}
	}
	return inv
}

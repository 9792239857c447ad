package bootstrap_test

import (
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/lambdahost/lambdahost/invoke/bootstrap"
)

// coldStartCases are the runtimes whose start-up is measured, with a
// handler that exists in the code of TestPython or TestNode.
func coldStartCases() []struct{ runtime, handler string } {
	var cases []struct{ runtime, handler string }
	for _, r := range pythonRuntimes {
		cases = append(cases, struct{ runtime, handler string }{r, "app.echo"})
	}
	// An ES module handler: the runtime client registers its resolve hook
	// (NODE_PATH for imports) before importing it.
	return append(cases, struct{ runtime, handler string }{nodeRuntime, "index.handler"}, struct{ runtime, handler string }{nodeRuntime, "esm.handler"})
}

// coldStart starts rt and returns the time from the process start to its
// first GET /next: the runtime's part of a cold start.
func coldStart(t testing.TB, rt *bootstrap.Runtime, taskRoot, handler string) time.Duration {
	p := start(t, rt, taskRoot, handler)
	d := p.waitNext()
	p.cmd.Process.Kill()
	<-p.exited
	return d
}

// bareStart is the time to start and stop the interpreter doing nothing,
// for comparison.
func bareStart(t testing.TB, rt *bootstrap.Runtime) time.Duration {
	args := []string{"-s", "-c", "pass"}
	if rt.Name == nodeRuntime {
		args = []string{"-e", "0"}
	}
	begin := time.Now()
	if out, err := exec.Command(rt.Interpreter, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", rt.Interpreter, args, err, out)
	}
	return time.Since(begin)
}

// TestColdStart logs how long each runtime client takes from process start
// to its first request for an invocation, next to the interpreter's own
// start-up time.
func TestColdStart(t *testing.T) {
	const runs = 7
	for _, c := range coldStartCases() {
		t.Run(c.runtime+"/"+c.handler, func(t *testing.T) {
			rt := resolve(t, c.runtime)
			taskRoot := writeFiles(t, pythonCode)
			if c.runtime == nodeRuntime {
				taskRoot = writeFiles(t, nodeCode)
			}
			coldStart(t, rt, taskRoot, c.handler) // warm the page cache
			var starts, bare []time.Duration
			for range runs {
				starts = append(starts, coldStart(t, rt, taskRoot, c.handler))
				bare = append(bare, bareStart(t, rt))
			}
			slices.Sort(starts)
			slices.Sort(bare)
			t.Logf("%s (%s): start to first /next median %v, min %v; bare interpreter median %v (%d runs)",
				c.runtime, rt.Interpreter, ms(starts[runs/2]), ms(starts[0]), ms(bare[runs/2]), runs)
			if starts[runs/2] > 5*time.Second {
				t.Errorf("median start %v; the runtime client hangs in init", starts[runs/2])
			}
		})
	}
}

// BenchmarkColdStart measures the time from process start to the first
// GET /next of each runtime client.
func BenchmarkColdStart(b *testing.B) {
	for _, c := range coldStartCases() {
		b.Run(c.runtime+"/"+c.handler, func(b *testing.B) {
			rt := resolve(b, c.runtime)
			taskRoot := writeFiles(b, pythonCode)
			if c.runtime == nodeRuntime {
				taskRoot = writeFiles(b, nodeCode)
			}
			var total time.Duration
			for b.Loop() {
				total += coldStart(b, rt, taskRoot, c.handler)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
		})
	}
}

func ms(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

package bootstrap_test

import (
	"os/exec"
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

// BenchmarkColdStart measures the time from process start to the first
// GET /next of each runtime client (ms/start), next to the interpreter's
// own start-up doing nothing (ms/bare). It is a benchmark, not a test:
// how long a start takes on a loaded machine decides nothing; every test
// of the package checks that the clients do reach /next.
func BenchmarkColdStart(b *testing.B) {
	for _, c := range coldStartCases() {
		b.Run(c.runtime+"/"+c.handler, func(b *testing.B) {
			rt := resolve(b, c.runtime)
			taskRoot := writeFiles(b, pythonCode)
			if c.runtime == nodeRuntime {
				taskRoot = writeFiles(b, nodeCode)
			}
			coldStart(b, rt, taskRoot, c.handler) // warm the page cache
			var total, bare time.Duration
			for b.Loop() {
				total += coldStart(b, rt, taskRoot, c.handler)
				b.StopTimer()
				bare += bareStart(b, rt)
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
			b.ReportMetric(float64(bare.Microseconds())/1000/float64(b.N), "ms/bare")
		})
	}
}

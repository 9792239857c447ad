package sandbox_test

import (
	"testing"
	"time"

	"github.com/lambdahost/lambdahost"
	"github.com/lambdahost/lambdahost/sandbox"
)

func TestDbg(t *testing.T) {
	l := mustNamespaces(t, sandbox.Options{})
	for range 3 {
		time.Sleep(50 * time.Millisecond)
		var out buffer
		p := mustLaunch(t, l, &lambdahost.LaunchSpec{Argv: []string{"/bin/true"}, Output: &out})
		<-p.Done()
		t.Log(out.String())
	}
}

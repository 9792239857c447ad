//go:build !linux

package s3_test

import "os/exec"

// dieWithParent does nothing outside Linux, which alone has Pdeathsig: a
// test binary killed before its cleanup leaves the gateway running.
func dieWithParent(*exec.Cmd) {}

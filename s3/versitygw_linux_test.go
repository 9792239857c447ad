package s3_test

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill cmd if the test binary dies first, as
// it does when go test times out, so that no gateway outlives its tests.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

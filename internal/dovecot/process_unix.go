//go:build unix

package dovecot

import (
	"os"
	"syscall"
)

// killGroup kills every process left in the master's process group.
func killGroup(p *os.Process) {
	syscall.Kill(-p.Pid, syscall.SIGKILL)
}

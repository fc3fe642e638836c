package dovecot

import "syscall"

// procAttr puts Dovecot in its own process group, so stop can reach every
// process it started, and has the kernel stop it if the test binary dies
// without cleaning up.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

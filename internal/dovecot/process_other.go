//go:build unix && !linux

package dovecot

import "syscall"

// procAttr puts Dovecot in its own process group, so stop can reach every
// process it started.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// groupGone reports whether process group pgid has no process left.
func groupGone(pgid int) bool {
	return syscall.Kill(-pgid, 0) == syscall.ESRCH
}

package dovecot

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procAttr puts Dovecot in its own process group, so stop can reach every
// process it started, and has the kernel stop it if the test binary dies
// without cleaning up.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// groupGone reports whether no live process is left in process group
// pgid. A killed process keeps its listening sockets until the kernel has
// finished its exit, and its zombie may wait long for a parent that does
// not reap it (an orphan in a container whose first process is not an
// init), so the group's members are read from /proc and zombies do not
// count.
func groupGone(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			return false
		}
	}
	return true
}

//go:build linux

package maildir

import (
	"os"
	"syscall"
	"time"
)

// untouchedSince reports whether a file was neither modified, read nor
// changed (ctime) since cutoff. The ctime matters: a deliverer that sets
// the message's date as mtime before its rename (mailferry and Dovecot
// both do) gives a fresh file an old mtime, but cannot make its ctime old.
func untouchedSince(info os.FileInfo, cutoff time.Time) bool {
	if !info.ModTime().Before(cutoff) {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	atime := time.Unix(int64(st.Atim.Sec), int64(st.Atim.Nsec))
	ctime := time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec))
	return atime.Before(cutoff) && ctime.Before(cutoff)
}

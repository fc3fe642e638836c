//go:build !linux

package maildir

import (
	"os"
	"time"
)

// untouchedSince reports whether a file was not modified since cutoff; only
// the mtime is read the same way everywhere.
func untouchedSince(info os.FileInfo, cutoff time.Time) bool {
	return info.ModTime().Before(cutoff)
}

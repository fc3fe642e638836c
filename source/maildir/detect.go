package maildir

import (
	"os"
	"path/filepath"
)

// IsMaildir reports whether path is the root of a Maildir: a directory
// with cur/ and new/ or tmp/. The command line uses it to tell a user who
// wrote mbox:PATH for a Maildir what to write instead, rather than read no
// mail from it (an mbox reader finds no mbox files there) and report
// success.
func IsMaildir(path string) bool {
	if !isDirectory(filepath.Join(path, "cur")) {
		return false
	}
	return isDirectory(filepath.Join(path, "new")) || isDirectory(filepath.Join(path, "tmp"))
}

func isDirectory(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

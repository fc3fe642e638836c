package mbox

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/formats"
)

// maxDetectEntries bounds how much of a large directory IsMbox looks at.
const maxDetectEntries = 1000

// IsMbox reports whether path holds mbox mail: a file that starts with a
// From_ line, or a directory (not a Maildir) with such a file or a
// <name>.mbox file at its top. The command line uses it to tell a user who
// wrote maildir:PATH for an mbox archive what to write instead.
func IsMbox(path string) bool {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return false
	case fi.Mode().IsRegular():
		return fi.Size() > 0 && startsWithFromLine(path)
	case !fi.IsDir():
		return false
	}
	if st, err := os.Stat(filepath.Join(path, "cur")); err == nil && st.IsDir() {
		return false
	}
	d, err := os.Open(path)
	if err != nil {
		return false
	}
	defer d.Close()
	entries, err := d.ReadDir(maxDetectEntries)
	if err != nil && err != io.EOF {
		return false
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		if strings.HasSuffix(name, formats.MboxExt) || startsWithFromLine(filepath.Join(path, name)) {
			return true
		}
	}
	return false
}

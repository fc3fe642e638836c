package mbox

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/formats"
)

// Apple Mail exports a mailbox as a bundle: a directory "<name>.mbox/"
// holding the messages in a file named "mbox", with an Info.plist and a
// table_of_contents (its index, never read here) beside it; the bundles
// of subfolders are inside it. mailferry's own layout never writes a file
// named "mbox" without extension, so the file tells a bundle from a
// subfolder directory of mailferry's.

// appleMailboxFile is the name of the messages file inside a bundle.
const appleMailboxFile = "mbox"

// appleMailbox returns the messages file of the bundle dir, if dir is one.
func appleMailbox(dir string) (string, bool) {
	p := filepath.Join(dir, appleMailboxFile)
	info, err := os.Stat(p)
	if err != nil || !info.Mode().IsRegular() {
		return "", false
	}
	return p, true
}

// isAppleBundle reports whether the directory p is an Apple Mail bundle.
func isAppleBundle(p string) bool {
	if !strings.HasSuffix(filepath.Base(p), formats.MboxExt) {
		return false
	}
	_, ok := appleMailbox(p)
	return ok
}

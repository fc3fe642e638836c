package mbox

import (
	"os"
	"strings"
)

// Thunderbird keeps each local folder as an mbox file without extension
// ("Inbox", "Sent"), its index beside it ("Inbox.msf", rebuilt by
// Thunderbird when missing, so never read here) and the folder's
// subfolders in a directory "<name>.sbd/". Its flags are in X-Mozilla-Status,
// X-Mozilla-Status2 and X-Mozilla-Keys headers, which formats.MboxReader
// maps; a message deleted but not yet compacted away carries the Expunged
// bit and is skipped (List counts it).

const thunderbirdSubdirExt = ".sbd"

// thunderbirdSubfolders returns the folder whose subfolders the directory
// name holds ("Archives.sbd" → "Archives"), or "".
func thunderbirdSubfolders(name string) string {
	if n := strings.TrimSuffix(name, thunderbirdSubdirExt); n != name && n != "" {
		return n
	}
	return ""
}

// thunderbirdIndex reports a Thunderbird index file.
func thunderbirdIndex(name string) bool { return strings.HasSuffix(name, ".msf") }

// emptyThunderbirdFolder reports whether the empty file p is a folder:
// Thunderbird leaves an empty file and its index when a folder holds no
// mail (or was compacted to nothing).
func emptyThunderbirdFolder(p string) bool {
	_, err := os.Stat(p + ".msf")
	return err == nil
}

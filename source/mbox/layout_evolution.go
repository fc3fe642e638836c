package mbox

import "strings"

// Evolution 2 kept local folders as Thunderbird does (extension-less mbox
// files, subfolders in "<name>.sbd/"), with its own summaries and indexes
// beside each file; its flags are in an X-Evolution header, which
// formats.MboxReader maps. Evolution 3 keeps local mail in a Maildir, read
// with maildir:.

// evolutionIndexExts are the files Evolution writes next to a folder.
var evolutionIndexExts = []string{".ev-summary", ".ev-summary-meta", ".ibex.index", ".ibex.index.data", ".cmeta"}

// evolutionIndex reports an Evolution summary or index file.
func evolutionIndex(name string) bool {
	for _, ext := range evolutionIndexExts {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

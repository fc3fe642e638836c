package mbox

import "strings"

// KMail's mbox folders are files without extension, each folder's
// subfolders in a hidden directory ".<name>.directory/" and its index in
// hidden ".<name>.index" files (skipped as hidden files). KMail's Maildir
// folders are read with maildir:.

// kmailSubfolders returns the folder whose subfolders the directory name
// holds (".Work.directory" → "Work"), or "".
func kmailSubfolders(name string) string {
	if !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".directory") {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(name, "."), ".directory")
}

package transfer

import "strings"

// refusedInNames are the characters some server refuses inside a folder
// name: another server's hierarchy separator ('.' for Dovecot's Maildir++
// and Cyrus, '\\'), LIST wildcards ('*', '%'), and the quote.
const refusedInNames = `.\*%"`

// RefusedFolderName is the one rule for a folder a destination refused to
// create: in every level of the name, each character some server refuses in
// names, and each control character, becomes '_'. A sink that is refused a
// folder stores it under this name instead (and says so), and Verify looks
// for a folder it does not find under this name too. It returns name itself
// when nothing needs replacing.
func RefusedFolderName(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return name
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(refusedInNames, r) {
			return '_'
		}
		return r
	}, name)
}

// FolderRenamer is an add-on interface for Sink: a sink that stored folders
// under other names than asked (RefusedFolderName) lists them, by the name
// asked for, for the run's summary.
type FolderRenamer interface {
	RenamedFolders() map[string]string
}

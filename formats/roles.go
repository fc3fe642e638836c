package formats

import "strings"

// RoleNames are the names mail programs and providers give the special-use
// folders (RFC 6154), in order of preference. Stores without special-use
// metadata of their own (Maildir, mbox) get their roles from these names,
// and a destination that marks no folder is searched for them.
var RoleNames = map[string][]string{
	`\Sent`:    {"Sent", "Sent Items", "Sent Messages", "Sent Mail", "sent-mail"},
	`\Trash`:   {"Trash", "Deleted Items", "Deleted Messages", "Bin"},
	`\Drafts`:  {"Drafts", "Draft"},
	`\Junk`:    {"Junk", "Spam", "Junk E-mail", "Junk Email", "Bulk Mail"},
	`\Archive`: {"Archive", "Archives"},
}

// RoleByName is the special-use role of a top-level folder named as mail
// programs name it ("Sent Items" is \Sent; Pine's "sent-mail" too), or ""
// for any other name, a subfolder included. Case is ignored.
func RoleByName(folder string) string {
	for role, names := range RoleNames {
		for _, n := range names {
			if strings.EqualFold(folder, n) {
				return role
			}
		}
	}
	return ""
}

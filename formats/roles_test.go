package formats

import "testing"

func TestRoleByName(t *testing.T) {
	for name, want := range map[string]string{
		"Sent": `\Sent`, "sent items": `\Sent`, "sent-mail": `\Sent`, "Drafts": `\Drafts`,
		"Trash": `\Trash`, "Deleted Items": `\Trash`, "Spam": `\Junk`, "Archive": `\Archive`,
		"INBOX": "", "Archive/2024": "", "Sent/Old": "", "Presents": "",
	} {
		if got := RoleByName(name); got != want {
			t.Errorf("RoleByName(%q) = %q, want %q", name, got, want)
		}
	}
}

package maildir

import (
	"context"
	"strings"
)

// roleFolders are the names Dovecot's default configuration gives the
// special-use folders, in order of preference.
var roleFolders = map[string][]string{
	`\sent`:   {"Sent", "Sent Messages"},
	`\trash`:  {"Trash"},
	`\drafts`: {"Drafts"},
	`\junk`:   {"Junk"},
}

// FolderForRole returns the folder Dovecot would use for a special-use role,
// but only when that folder already exists: a Maildir has no special-use
// metadata of its own, so without one the source's folder name is kept.
func (s *Sink) FolderForRole(ctx context.Context, role string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	for _, name := range roleFolders[strings.ToLower(role)] {
		f, err := s.folder(name, false)
		if err != nil {
			continue
		}
		if f.exists() {
			return name, true, nil
		}
	}
	return "", false, nil
}

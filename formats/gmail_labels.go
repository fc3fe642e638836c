package formats

import (
	"mime"
	"strings"
)

// Google Takeout's mbox file holds all of an account's mail once, with its
// Gmail labels in an X-Gmail-Labels header: a comma-separated list, a label
// holding a comma or a quote in double quotes (a quote inside doubled, as
// in CSV), and, when a label is not ASCII, the whole value as RFC 2047
// encoded-words. The system labels are those Gmail shows in English; they
// are flags, folders or nothing (see GmailPlacement), every other label is
// a folder, "/" separating levels as in Gmail.

// GmailArchiveFolder is where a Takeout message with no folder label goes
// (archived mail: only "Archived", "Opened", "Important"…), so that no
// message is left out.
const GmailArchiveFolder = "Archive"

// GmailFolder is a folder a Takeout message goes into.
type GmailFolder struct {
	Name string // mailferry folder name: "INBOX", "Sent", "Work/2024"
	Role string // special-use role (\Sent, \Drafts, \Junk, \Trash, \Archive) or ""
}

// gmailSystemFolders are the system labels that are folders, in the order
// a message with several goes when it is copied once
// (--dedupe-across-folders): deleted and junk mail first, as Gmail shows it
// only there, then drafts, the inbox and sent mail.
var gmailSystemFolders = []struct {
	label  string
	folder GmailFolder
	flag   string
}{
	{"Trash", GmailFolder{"Trash", `\Trash`}, ""},
	{"Spam", GmailFolder{"Junk", `\Junk`}, ""},
	{"Drafts", GmailFolder{"Drafts", `\Drafts`}, FlagDraft},
	{"Inbox", GmailFolder{"INBOX", ""}, ""},
	{"Sent", GmailFolder{"Sent", `\Sent`}, ""},
}

// gmailNoFolder are the system labels that place no folder: the flags,
// "Important" (Gmail's guess, a view of Gmail's rather than a folder) and
// "Archived" (not in the inbox). The inbox categories ("Category Social"…)
// are tabs of the inbox and place none either.
var gmailNoFolder = []string{"Important", "Archived", "Opened", "Unread", "Starred"}

// ParseGmailLabels splits an X-Gmail-Labels value into its labels, decoding
// encoded-words first. Empty labels are dropped; the order is kept.
func ParseGmailLabels(v string) []string {
	if strings.Contains(v, "=?") {
		dec := mime.WordDecoder{}
		if d, err := dec.DecodeHeader(v); err == nil {
			v = d
		}
	}
	var (
		labels []string
		cur    strings.Builder
		quoted bool
	)
	flush := func() {
		if l := strings.TrimSpace(cur.String()); l != "" {
			labels = append(labels, l)
		}
		cur.Reset()
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' && quoted && i+1 < len(v) && v[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"' && (quoted || strings.TrimSpace(cur.String()) == ""):
			quoted = !quoted
		case c == ',' && !quoted:
			flush()
		case c == '\r' || c == '\n':
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return labels
}

// GmailPlacement maps a Takeout message's labels to the folders it goes
// into (each once, system folders first in gmailSystemFolders' order, then
// the other labels in their order) and its flags: "Starred" is \Flagged,
// "Opened" \Seen unless "Unread" is there too, "Drafts" also \Draft. A
// message with no folder label goes to GmailArchiveFolder. "Important",
// "Archived" and the "Category …" labels place nothing.
func GmailPlacement(labels []string) (folders []GmailFolder, flags []string) {
	seen := map[string]bool{}
	add := func(f GmailFolder) {
		if !seen[f.Name] {
			seen[f.Name] = true
			folders = append(folders, f)
		}
	}
	has := func(name string) bool {
		for _, l := range labels {
			if strings.EqualFold(l, name) {
				return true
			}
		}
		return false
	}
	for _, s := range gmailSystemFolders {
		if has(s.label) {
			add(s.folder)
			if s.flag != "" {
				flags = append(flags, s.flag)
			}
		}
	}
	for _, l := range labels {
		if gmailSystemLabel(l) {
			continue
		}
		add(GmailFolder{Name: l})
	}
	if len(folders) == 0 {
		add(GmailFolder{GmailArchiveFolder, `\Archive`})
	}
	if has("Starred") {
		flags = append(flags, FlagFlagged)
	}
	if has("Opened") && !has("Unread") {
		flags = append(flags, FlagSeen)
	}
	return folders, NormalizeFlags(flags)
}

// gmailSystemLabel reports whether l is one of Gmail's own labels.
func gmailSystemLabel(l string) bool {
	for _, s := range gmailSystemFolders {
		if strings.EqualFold(l, s.label) {
			return true
		}
	}
	for _, s := range gmailNoFolder {
		if strings.EqualFold(l, s) {
			return true
		}
	}
	return strings.HasPrefix(l, "Category ")
}

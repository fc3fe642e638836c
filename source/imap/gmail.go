package imap

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

// Gmail shows one message in every folder of its labels, and again in All
// Mail, where an archived message (one with no label left) is all there
// is of it; Important and Starred are views of messages held elsewhere.
// Copied as folders, All Mail, Important and Starred would repeat every
// message. So on a Gmail server (X-GM-EXT-1, or a folder with \All) they
// are not listed; instead one folder, named by gmailArchive (the
// destination's \Archive folder, else "Archive"), holds the All Mail
// messages that are in no other folder listed.
//
// A message is recognised across folders by its identity key, its size and
// its INTERNALDATE, which Gmail keeps the same in every folder; the count
// decides, so two identical messages with one of them archived put one in
// the archive folder. X-GM-LABELS and X-GM-MSGID would say the same
// directly, but go-imap cannot ask for them.

// capGmail is Gmail's capability for its IMAP extensions.
const capGmail imap.Cap = "X-GM-EXT-1"

// gmailSkipped are the special-use roles of Gmail's folders that only show
// messages held in other folders.
var gmailSkipped = []string{string(imap.MailboxAttrAll), string(imap.MailboxAttrImportant), string(imap.MailboxAttrFlagged)}

// gmailArchive is the name of the folder archived Gmail messages are
// listed in: formats.GmailArchiveFolder, as for a Takeout, or All Mail's
// own name when a label already has that name.
func gmailArchive(list []imapconn.ListedFolder, allMail string) string {
	for _, l := range list {
		if strings.EqualFold(l.Name, formats.GmailArchiveFolder) {
			return allMail
		}
	}
	return formats.GmailArchiveFolder
}

// gmail is what the source knows about a Gmail account once it is listed.
type gmail struct {
	// archive is the archive folder's name; "" when there is no \All.
	archive string
	// order are the other listed folders in the order a message in several
	// goes to its first under --dedupe-across-folders: deleted and junk
	// mail, drafts, the inbox, sent mail, then the rest by name, as for a
	// Takeout (formats.GmailPlacement).
	order []string

	mu sync.Mutex
	// identities are each folder's messages by identity, counted, once
	// read; a folder is read once per run for the others.
	identities map[string]map[string]int
}

type identified struct {
	msg transfer.Message
	id  string
}

// gmailFolders turns a Gmail account's listing into the folders to copy,
// or returns nil when the server is not Gmail.
func (s *Source) gmailFolders(list []imapconn.ListedFolder) []imapconn.ListedFolder {
	isGmail := s.pool.Info().Caps.Has(capGmail)
	var allMail *imapconn.ListedFolder
	for i := range list {
		if list[i].Role == string(imap.MailboxAttrAll) {
			isGmail = true
			allMail = &list[i]
		}
	}
	if !isGmail {
		return nil
	}
	g := &gmail{identities: map[string]map[string]int{}}
	var out []imapconn.ListedFolder
	for _, l := range list {
		if gmailSkippedRole(l.Role) {
			continue
		}
		l.Name = gmailSystemName(list, l)
		if s.dedupe {
			// What the folder lists depends on the other folders too,
			// so its own state cannot vouch for it (Folder.State).
			l.State, l.StateFlags = "", false
		}
		out = append(out, l)
		g.order = append(g.order, l.Name)
	}
	sort.SliceStable(g.order, func(i, j int) bool {
		return gmailRank(out, g.order[i]) < gmailRank(out, g.order[j])
	})
	if allMail != nil {
		g.archive = gmailArchive(list, allMail.Name)
		out = append(out, imapconn.ListedFolder{
			Folder: transfer.Folder{Name: g.archive, Role: string(imap.MailboxAttrArchive), Messages: -1, Bytes: -1},
			Server: allMail.Server,
		})
	}
	s.mu.Lock()
	s.gmail = g
	s.mu.Unlock()
	return out
}

// gmailSystemName names Gmail's system folders ("[Gmail]/Sent Mail", or
// "[Google Mail]/…" in some countries) by their role, as other servers name
// them ("Sent"), unless a label already has that name: "[Gmail]" is no
// folder a user made.
func gmailSystemName(list []imapconn.ListedFolder, l imapconn.ListedFolder) string {
	names := formats.RoleNames[l.Role]
	if len(names) == 0 || !strings.HasPrefix(l.Name, "[") || !strings.Contains(l.Name, "]/") {
		return l.Name
	}
	for _, other := range list {
		if strings.EqualFold(other.Name, names[0]) {
			return l.Name
		}
	}
	return names[0]
}

func gmailSkippedRole(role string) bool {
	for _, r := range gmailSkipped {
		if strings.EqualFold(role, r) {
			return true
		}
	}
	return false
}

// gmailRank places a folder in the --dedupe-across-folders order.
func gmailRank(list []imapconn.ListedFolder, name string) int {
	if name == "INBOX" {
		return 3
	}
	for _, l := range list {
		if l.Name != name {
			continue
		}
		switch l.Role {
		case string(imap.MailboxAttrTrash):
			return 0
		case string(imap.MailboxAttrJunk):
			return 1
		case string(imap.MailboxAttrDrafts):
			return 2
		case string(imap.MailboxAttrSent):
			return 4
		}
	}
	return 5
}

// gmailView returns the Gmail account's state, or nil for another server.
func (s *Source) gmailView() *gmail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gmail
}

// gmailList is List of folder on a Gmail account: the archive folder holds
// the All Mail messages no other folder has; with --dedupe-across-folders,
// a folder holds only the messages no earlier folder in g.order has.
func (s *Source) gmailList(ctx context.Context, g *gmail, folder string, listed []transfer.Message) ([]transfer.Message, error) {
	var earlier []string
	switch {
	case folder == g.archive:
		earlier = g.order
	case s.dedupe:
		for _, f := range g.order {
			if f == folder {
				break
			}
			earlier = append(earlier, f)
		}
	default:
		return listed, nil
	}
	mine, err := s.gmailIdentify(ctx, g, folder, listed)
	if err != nil {
		return nil, err
	}
	// have is how many copies of each identity one earlier folder holds
	// at most: a message is in a folder once.
	have := map[string]int{}
	for _, e := range earlier {
		ids, err := s.gmailIdentities(ctx, g, e)
		if err != nil {
			return nil, err
		}
		for id, n := range ids {
			have[id] = max(have[id], n)
		}
	}
	out := make([]transfer.Message, 0, len(listed))
	for _, m := range mine {
		if have[m.id] > 0 {
			have[m.id]--
			continue
		}
		out = append(out, m.msg)
	}
	return out, nil
}

// gmailIdentities counts the messages of folder by identity, reading the
// folder's listing and headers the first time.
func (s *Source) gmailIdentities(ctx context.Context, g *gmail, folder string) (map[string]int, error) {
	g.mu.Lock()
	ids, ok := g.identities[folder]
	g.mu.Unlock()
	if ok {
		return ids, nil
	}
	listed, err := s.listAll(ctx, folder)
	if err != nil {
		return nil, err
	}
	if _, err := s.gmailIdentify(ctx, g, folder, listed); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.identities[folder], nil
}

// gmailIdentify gives each listed message of folder its identity and
// remembers the folder's counts.
func (s *Source) gmailIdentify(ctx context.Context, g *gmail, folder string, listed []transfer.Message) ([]identified, error) {
	keys, err := s.Keys(ctx, folder, listed)
	if err != nil {
		return nil, fmt.Errorf("folder %q: reading headers to find the messages Gmail shows in several folders: %w", folder, err)
	}
	out := make([]identified, 0, len(listed))
	counts := map[string]int{}
	for _, m := range listed {
		key, ok := keys[m.ID]
		if !ok {
			// Gone since the listing: it is in no folder now.
			continue
		}
		id := key + "\x00" + strconv.FormatInt(m.Size, 10) + "\x00" + strconv.FormatInt(m.Date.Unix(), 10)
		out = append(out, identified{msg: m, id: id})
		counts[id]++
	}
	g.mu.Lock()
	g.identities[folder] = counts
	g.mu.Unlock()
	return out, nil
}

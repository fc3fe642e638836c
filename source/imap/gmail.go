package imap

import (
	"context"
	"errors"
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
// Where the server offers X-GM-EXT-1, All Mail's X-GM-LABELS say which of
// its messages are archived: those with no label naming a folder listed
// (Important and Starred are no folders, nor is a label hidden from IMAP).
// Where it does not, or refuses that fetch, a message is recognised across
// folders by its identity key, its size and its INTERNALDATE, which Gmail
// keeps the same in every folder; the count decides, so of two identical
// messages one of them archived, one goes to the archive folder, and with
// identical ones in a label and in no label, which is which cannot be
// told: the labels can.

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
	// allMail is All Mail's server name; labels says X-GM-LABELS may be
	// asked for (X-GM-EXT-1).
	allMail string
	labels  bool
	// folderLabels are the X-GM-LABELS values that name a folder listed:
	// its server name, or a system label (lowercased: "\inbox").
	folderLabels map[string]bool
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
	g := &gmail{identities: map[string]map[string]int{}, labels: s.pool.Info().Caps.Has(capGmail), folderLabels: map[string]bool{}}
	var out []imapconn.ListedFolder
	for _, l := range list {
		if gmailSkippedRole(l.Role) {
			continue
		}
		g.folderLabels[l.Server] = true
		if sys := gmailSystemLabel(l); sys != "" {
			g.folderLabels[sys] = true
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
		g.allMail = allMail.Server
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

// gmailSystemLabel is the X-GM-LABELS name (lowercased) of the system
// label a folder shows, or "".
func gmailSystemLabel(l imapconn.ListedFolder) string {
	if strings.EqualFold(l.Server, "INBOX") {
		return `\inbox`
	}
	switch l.Role {
	case string(imap.MailboxAttrSent):
		return `\sent`
	case string(imap.MailboxAttrDrafts):
		return `\draft`
	case string(imap.MailboxAttrTrash):
		return `\trash`
	case string(imap.MailboxAttrJunk):
		return `\spam`
	}
	return ""
}

// inFolder reports whether a message with these labels is shown in a
// folder listed.
func (g *gmail) inFolder(labels []string) bool {
	for _, l := range labels {
		if g.folderLabels[l] || strings.HasPrefix(l, `\`) && g.folderLabels[strings.ToLower(l)] {
			return true
		}
	}
	return false
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
		if archived, ok, err := s.gmailArchived(ctx, g, listed); err != nil || ok {
			return archived, err
		}
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

// gmailArchived picks the archived messages of All Mail's listing by
// their X-GM-LABELS; ok is false when the server does not offer them,
// refuses the fetch or answers what cannot be read (said in a warning),
// and the identities must decide.
func (s *Source) gmailArchived(ctx context.Context, g *gmail, listed []transfer.Message) (archived []transfer.Message, ok bool, err error) {
	if !g.labels || len(listed) == 0 {
		return nil, false, nil
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, false, err
	}
	defer s.pool.Put(c)
	validity, labels, err := c.FetchGmailLabels(ctx, g.allMail)
	if errors.Is(err, imapconn.ErrGmailLabelsRefused) || errors.Is(err, imapconn.ErrGmailLabelsUnreadable) {
		warn(c, fmt.Sprintf("folder %q: %v; archived messages are told by comparing All Mail with the other folders", g.archive, err))
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("folder %q: %w", g.archive, err)
	}
	out := make([]transfer.Message, 0, len(listed))
	for _, m := range listed {
		v, uid, err := ParseID(m.ID)
		if err != nil {
			return nil, false, transfer.FatalError(fmt.Errorf("folder %q: %w", g.archive, err))
		}
		if v != validity {
			// Renumbered since the listing: the labels name other
			// messages.
			return nil, false, nil
		}
		l, known := labels[uid]
		// A message the labels do not name is gone since the listing;
		// listing it lets the fetch report it rather than lose it.
		if !known || !g.inFolder(l) {
			out = append(out, m)
		}
	}
	return out, true, nil
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

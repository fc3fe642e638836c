package imapconn

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/transfer"
)

// ListedFolder is one folder of a LIST: its transfer form and server name.
type ListedFolder struct {
	transfer.Folder
	Server string
}

// folderState is the transfer.Folder.State of a folder from its STATUS:
// UIDVALIDITY (a renumbered folder), UIDNEXT (a new message) and MESSAGES
// (an expunge), and HIGHESTMODSEQ (a flag change) when the server keeps
// it. "" when the server did not give the three.
func folderState(st *imap.StatusData) (state string, withFlags bool) {
	if st.NumMessages == nil || st.UIDValidity == 0 || st.UIDNext == 0 {
		return "", false
	}
	state = stateBase(st.UIDValidity, st.UIDNext, *st.NumMessages)
	if st.HighestModSeq != 0 {
		return fmt.Sprintf("%s:%d", state, st.HighestModSeq), true
	}
	return state, false
}

func stateBase(uidValidity uint32, uidNext imap.UID, messages uint32) string {
	return fmt.Sprintf("imap:%d:%d:%d", uidValidity, uidNext, messages)
}

// FolderState is the part of a folder's state (see folderState) that
// SELECT or EXAMINE tells: all but HIGHESTMODSEQ.
func FolderState(sel *imap.SelectData) string {
	return stateBase(sel.UIDValidity, sel.UIDNext, sel.NumMessages)
}

// SplitFolderState splits a state into what changes with the messages
// (the part FolderState gives) and the HIGHESTMODSEQ; ok is false for a
// state without HIGHESTMODSEQ.
func SplitFolderState(state string) (base string, modSeq uint64, ok bool) {
	i := strings.LastIndexByte(state, ':')
	if i < 0 || strings.Count(state, ":") != 4 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(state[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return state[:i], n, true
}

// ListFolders runs LIST "" "*" on c, with special-use attributes, whether
// each folder is subscribed (LIST-EXTENDED's RETURN (SUBSCRIBED)) (and,
// when withStatus and the server has LIST-STATUS, counts and sizes), and
// returns the selectable folders sorted by name. Two server names that map
// to one transfer name keep the first; the user is warned.
func ListFolders(ctx context.Context, c *Conn, withStatus bool) ([]ListedFolder, error) {
	caps := c.Info.Caps
	opts := &imap.ListOptions{}
	if caps.Has(imap.CapSpecialUse) && (caps.Has(imap.CapListExtended) || caps.Has(imap.CapIMAP4rev2)) {
		opts.ReturnSpecialUse = true
	}
	listExtended := caps.Has(imap.CapListExtended) || caps.Has(imap.CapIMAP4rev2)
	if listExtended {
		opts.ReturnSubscribed = true
	}
	if withStatus && (caps.Has(imap.CapListStatus) || caps.Has(imap.CapIMAP4rev2)) {
		opts.ReturnStatus = &imap.StatusOptions{NumMessages: true, Size: caps.Has(imap.CapStatusSize) || caps.Has(imap.CapIMAP4rev2),
			UIDNext: true, UIDValidity: true, HighestModSeq: caps.Has(imap.CapCondStore)}
	}
	var list []*imap.ListData
	err := c.Do(ctx, `LIST "" "*"`, func() error {
		var err error
		list, err = c.C.List("", "*", opts).Collect()
		return err
	})
	if err != nil {
		return nil, err
	}
	seen := make(map[string]string)
	var out []ListedFolder
	for _, l := range list {
		if HasAttr(l.Attrs, imap.MailboxAttrNoSelect) || HasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		name := c.Info.FromServer(l.Mailbox, l.Delim)
		if prev, dup := seen[name]; dup {
			c.Options().Warning(fmt.Sprintf("imap %s: folders %q and %q both map to %q; only the first is used", c.Options().Server(), prev, l.Mailbox, name))
			continue
		}
		seen[name] = l.Mailbox
		f := transfer.Folder{Name: name, Role: RoleOf(l.Attrs), Messages: -1, Bytes: -1}
		if listExtended {
			f.Subscription = transfer.Unsubscribed
			if HasAttr(l.Attrs, imap.MailboxAttrSubscribed) {
				f.Subscription = transfer.Subscribed
			}
		}
		if l.Status != nil {
			if l.Status.NumMessages != nil {
				f.Messages = int(*l.Status.NumMessages)
			}
			if l.Status.Size != nil {
				f.Bytes = *l.Status.Size
			}
			f.State, f.StateFlags = folderState(l.Status)
		}
		out = append(out, ListedFolder{Folder: f, Server: l.Mailbox})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func HasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

var roles = []imap.MailboxAttr{
	imap.MailboxAttrSent, imap.MailboxAttrTrash, imap.MailboxAttrDrafts, imap.MailboxAttrJunk,
	imap.MailboxAttrArchive, imap.MailboxAttrAll, imap.MailboxAttrFlagged, imap.MailboxAttrImportant,
}

// RoleOf returns the special-use attribute among attrs, spelled as in RFC
// 6154 (`\Sent`), or "".
func RoleOf(attrs []imap.MailboxAttr) string {
	for _, r := range roles {
		if HasAttr(attrs, r) {
			return string(r)
		}
	}
	return ""
}

package imapconn

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/transfer"
)

// ListedFolder is one folder of a LIST: its transfer form and server name.
type ListedFolder struct {
	transfer.Folder
	Server string
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
		opts.ReturnStatus = &imap.StatusOptions{NumMessages: true, Size: caps.Has(imap.CapStatusSize) || caps.Has(imap.CapIMAP4rev2)}
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

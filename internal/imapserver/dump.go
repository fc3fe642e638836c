package imapserver

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Stored is one message as a server holds it.
type Stored struct {
	UID   uint32
	Flags []string // as the server spells them, sorted ignoring case
	Date  time.Time
	Body  []byte
}

// Dump reads every message of every selectable folder of an account with
// plain go-imap (EXAMINE, BODY.PEEK[]), for tests to compare servers with
// what was copied. It works against any server: this one or Dovecot.
// Keys are the server's folder names. tlsConfig nil means plaintext.
func Dump(addr string, tlsConfig *tls.Config, user, password string) (map[string][]Stored, error) {
	var (
		c   *imapclient.Client
		err error
	)
	if tlsConfig != nil {
		c, err = imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: tlsConfig})
	} else {
		c, err = imapclient.DialInsecure(addr, nil)
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		return nil, err
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Stored)
	for _, l := range list {
		if hasAttr(l.Attrs, imap.MailboxAttrNoSelect) || hasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		sel, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return nil, fmt.Errorf("EXAMINE %q: %w", l.Mailbox, err)
		}
		msgs := []Stored{}
		if sel.NumMessages > 0 {
			bufs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: sel.NumMessages}}, &imap.FetchOptions{
				UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
			}).Collect()
			if err != nil {
				return nil, fmt.Errorf("FETCH %q: %w", l.Mailbox, err)
			}
			for _, b := range bufs {
				s := Stored{UID: uint32(b.UID), Date: b.InternalDate}
				for _, f := range b.Flags {
					if !strings.EqualFold(string(f), `\Recent`) {
						s.Flags = append(s.Flags, string(f))
					}
				}
				sortFlags(s.Flags)
				for _, sec := range b.BodySection {
					s.Body = sec.Bytes
				}
				msgs = append(msgs, s)
			}
		}
		out[l.Mailbox] = msgs
	}
	return out, nil
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

// sortFlags sorts flags ignoring case (IMAP flags are case-insensitive),
// so the order does not depend on how a server spells keywords.
func sortFlags(flags []string) {
	sort.Slice(flags, func(i, j int) bool {
		a, b := strings.ToLower(flags[i]), strings.ToLower(flags[j])
		if a != b {
			return a < b
		}
		return flags[i] < flags[j]
	})
}

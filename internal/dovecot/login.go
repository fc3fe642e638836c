package dovecot

import (
	"slices"
	"sort"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Login connects to the server's IMAPS port, trusting its certificate, and
// logs in as u; it fails the test if either step fails. The connection is
// closed when the test ends.
func (s *Server) Login(t testing.TB, u User) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
	if err != nil {
		t.Fatalf("dovecot %s: %v", s.IMAPSAddr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(u.Name, u.Password).Wait(); err != nil {
		t.Fatalf("dovecot %s: login as %s: %v", s.IMAPSAddr, u.Name, err)
	}
	return c
}

// Selectable returns, sorted, the mailboxes LIST "" "*" shows that can be
// selected (not \Noselect or \NonExistent); it fails the test if LIST does.
func Selectable(t testing.TB, c *imapclient.Client) []string {
	t.Helper()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	var out []string
	for _, l := range list {
		if !slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) && !slices.Contains(l.Attrs, imap.MailboxAttrNonExistent) {
			out = append(out, l.Mailbox)
		}
	}
	sort.Strings(out)
	return out
}

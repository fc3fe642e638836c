package dovecot

import (
	"testing"

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

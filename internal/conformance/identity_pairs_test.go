package conformance

import (
	"testing"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
)

// The identity property from every source kind into every sink kind.
func TestIdentityEveryPair(t *testing.T) {
	t.Parallel()
	sources := []Store{Maildir(), MaildirFS(), MboxDir(), MboxFile(), IMAP(t, imapserver.Options{}), Dovecot(t, dovecot.Options{}), POP3(t)}
	sinks := []Store{Maildir(), MboxDir(), IMAP(t, imapserver.Options{}), Dovecot(t, dovecot.Options{})}
	for _, from := range sources {
		for _, to := range sinks {
			t.Run(from.Name+"→"+to.Name, func(t *testing.T) {
				t.Parallel()
				Identity(t, from, to)
			})
		}
	}
}

package conformance

import (
	"testing"

	"github.com/mailferry/mailferry/internal/dovecot"
)

// mbox → IMAP → mbox through a real Dovecot: an old mbox archive uploaded
// to a server, and an IMAP account backed up into an mbox directory.
func TestRoundTripMboxDovecotMbox(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), MboxDir(), Dovecot(t, dovecot.Options{}), MboxDir())
}

// IMAP → IMAP between two Dovecots that name folders differently ("/" and
// no prefix, "." and "INBOX."), then back into a local store.
func TestRoundTripDovecotToDovecot(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), Maildir(), Dovecot(t, dovecot.Options{}),
		Dovecot(t, dovecot.Options{Separator: ".", Prefix: "INBOX."}), MboxDir())
}

package imap_test

import (
	"testing"

	"github.com/mailferry/mailferry/internal/conformance"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/sink/imap/imaptest"
	"github.com/mailferry/mailferry/sink/maildir/maildirtest"
	"github.com/mailferry/mailferry/sink/mbox/mboxtest"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
)

// The conformance suite (internal/conformance) run on the IMAP sink, against
// the in-process server and a real Dovecot.

// Local → IMAP → local: the IMAP store holds CRLF, the Maildir behind it LF.
// The whole hostile corpus comes back exactly, keyword spelling included.
func TestRoundTripMaildirIMAPMaildir(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), maildirtest.Maildir(), imaptest.IMAP(t, imapserver.Options{}), maildirtest.Maildir())
}

// The same with a server using "." as hierarchy delimiter and an "INBOX."
// namespace prefix, as Courier and old Dovecot setups do.
func TestRoundTripMaildirIMAPDotPrefixMaildir(t *testing.T) {
	t.Parallel()
	msgs := conformance.FromSample(sample.Generate(60, 11, 3000))
	conformance.Chain(t, msgs, maildirtest.Maildir(), imaptest.IMAP(t, imapserver.Options{Delimiter: '.', Prefix: "INBOX."}), maildirtest.Maildir())
}

// The whole hostile corpus through a real Dovecot.
func TestRoundTripMaildirDovecotMaildir(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), maildirtest.Maildir(), imaptest.Dovecot(t, dovecot.Options{}), maildirtest.Maildir())
}

func TestRoundTripMaildirDovecotDotPrefixMaildir(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), maildirtest.Maildir(), imaptest.Dovecot(t, dovecot.Options{Separator: ".", Prefix: "INBOX."}), maildirtest.Maildir())
}

// mbox → IMAP → mbox through a real Dovecot: an old mbox archive uploaded
// to a server, and an IMAP account backed up into an mbox directory.
func TestRoundTripMboxDovecotMbox(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), mboxtest.MboxDir(), imaptest.Dovecot(t, dovecot.Options{}), mboxtest.MboxDir())
}

// IMAP → IMAP between two Dovecots that name folders differently ("/" and
// no prefix, "." and "INBOX."), then back into a local store.
func TestRoundTripDovecotToDovecot(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), maildirtest.Maildir(), imaptest.Dovecot(t, dovecot.Options{}),
		imaptest.Dovecot(t, dovecot.Options{Separator: ".", Prefix: "INBOX."}), mboxtest.MboxDir())
}

// The identity property from every source kind into the in-process IMAP
// server and into Dovecot.
func TestIdentityIntoIMAP(t *testing.T) {
	t.Parallel()
	sinks := []conformance.Store{imaptest.IMAP(t, imapserver.Options{}), imaptest.Dovecot(t, dovecot.Options{})}
	sources := []conformance.Store{maildirtest.Maildir(), maildirtest.MaildirFS(), mboxtest.MboxDir(), mboxtest.MboxFile(),
		imaptest.IMAP(t, imapserver.Options{}), imaptest.Dovecot(t, dovecot.Options{}), pop3test.POP3(t)}
	for _, to := range sinks {
		for _, from := range sources {
			t.Run(from.Name+"→"+to.Name, func(t *testing.T) {
				t.Parallel()
				conformance.Identity(t, from, to)
			})
		}
	}
}

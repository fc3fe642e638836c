package conformance

import (
	"testing"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/sample"
)

// Local → IMAP → local: the IMAP store holds CRLF, the Maildir behind it LF.
// The whole hostile corpus comes back exactly, keyword spelling included.
func TestRoundTripMaildirIMAPMaildir(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), Maildir(), IMAP(t, imapserver.Options{}), Maildir())
}

// The same with a server using "." as hierarchy delimiter and an "INBOX."
// namespace prefix, as Courier and old Dovecot setups do.
func TestRoundTripMaildirIMAPDotPrefixMaildir(t *testing.T) {
	t.Parallel()
	msgs := FromSample(sample.Generate(60, 11, 3000))
	Chain(t, msgs, Maildir(), IMAP(t, imapserver.Options{Delimiter: '.', Prefix: "INBOX."}), Maildir())
}

// The whole hostile corpus through a real Dovecot.
func TestRoundTripMaildirDovecotMaildir(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), Maildir(), Dovecot(t, dovecot.Options{}), Maildir())
}

func TestRoundTripMaildirDovecotDotPrefixMaildir(t *testing.T) {
	t.Parallel()
	Chain(t, loadCorpus(t), Maildir(), Dovecot(t, dovecot.Options{Separator: ".", Prefix: "INBOX."}), Maildir())
}

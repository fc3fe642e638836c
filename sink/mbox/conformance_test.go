package mbox_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mailferry/mailferry/internal/conformance"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/sink/imap/imaptest"
	"github.com/mailferry/mailferry/sink/maildir/maildirtest"
	"github.com/mailferry/mailferry/sink/mbox/mboxtest"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
	"github.com/mailferry/mailferry/transfer"
)

// The conformance suite (internal/conformance) run on the mbox sink.

func TestRoundTripMaildirMboxMaildir(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), maildirtest.Maildir(), mboxtest.MboxDir(), maildirtest.Maildir())
}

func TestRoundTripMboxMaildirMbox(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), mboxtest.MboxDir(), maildirtest.Maildir(), mboxtest.MboxDir())
}

func TestRoundTripMaildirMboxFileMaildir(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), maildirtest.Maildir(), mboxtest.MboxFile(), maildirtest.Maildir())
}

func TestRoundTripMboxFileMaildirMboxFile(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), mboxtest.MboxFile(), maildirtest.Maildir(), mboxtest.MboxFile())
}

// A generated corpus: hundreds of realistic messages, threads and
// attachments, CRLF bodies stored as they are.
func TestRoundTripGenerated(t *testing.T) {
	t.Parallel()
	msgs := conformance.FromSample(sample.Generate(300, 7, 5000))
	conformance.Chain(t, msgs, maildirtest.Maildir(), mboxtest.MboxDir(), maildirtest.Maildir())
}

// The demo mailbox survives every local store.
func TestRoundTripDemoMailbox(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.FromSample(sample.Mailbox()), mboxtest.MboxDir(), maildirtest.Maildir(), mboxtest.MboxFile())
}

func TestLocalSinkAddOns(t *testing.T) {
	t.Parallel()
	conformance.CheckLocalSink(t, mboxtest.MboxDir())
	conformance.CheckLocalSink(t, mboxtest.MboxFile())
}

// The identity property from every source kind into an mbox directory.
func TestIdentityIntoMbox(t *testing.T) {
	t.Parallel()
	sources := []conformance.Store{maildirtest.Maildir(), maildirtest.MaildirFS(), mboxtest.MboxDir(), mboxtest.MboxFile(),
		imaptest.IMAP(t, imapserver.Options{}), imaptest.Dovecot(t, dovecot.Options{}), pop3test.POP3(t)}
	for _, from := range sources {
		t.Run(from.Name, func(t *testing.T) {
			t.Parallel()
			conformance.Identity(t, from, mboxtest.MboxDir())
		})
	}
}

// A destination mbox file that is a directory fails the copy, naming it.
func TestMalformedDirectoryForMboxFile(t *testing.T) {
	t.Parallel()
	msgs := corpus.InFolder(conformance.FromSample(sample.Generate(5, 5, 1500)), "INBOX")
	src := conformance.FillStore(t, maildirtest.Maildir(), msgs)
	dst := mboxtest.MboxDir().Path(t.TempDir())
	blocker := filepath.Join(dst, "INBOX")
	if err := os.MkdirAll(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := conformance.Copy(maildirtest.Maildir(), src, mboxtest.MboxDir(), dst, "", transfer.Options{})
	conformance.CheckError(t, sum, err, blocker, transfer.Fatal)
}

func TestFailingDestinationDiskFullMbox(t *testing.T) {
	t.Parallel()
	conformance.DiskFull(t, maildirtest.Maildir(), mboxtest.MboxDir())
}

package maildir_test

import (
	"os"
	"sync/atomic"
	"testing"

	"github.com/mailferry/mailferry/internal/conformance"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/sink/imap/imaptest"
	"github.com/mailferry/mailferry/sink/maildir/maildirtest"
	"github.com/mailferry/mailferry/sink/mbox/mboxtest"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
	"github.com/mailferry/mailferry/transfer"
)

// The conformance suite (internal/conformance) run on the Maildir sink.

func TestRoundTripMaildirLayouts(t *testing.T) {
	t.Parallel()
	conformance.Chain(t, conformance.Corpus(t), maildirtest.Maildir(), maildirtest.MaildirFS(), maildirtest.Maildir())
}

func TestLocalSinkAddOns(t *testing.T) {
	t.Parallel()
	conformance.CheckLocalSink(t, maildirtest.Maildir())
	conformance.CheckLocalSink(t, maildirtest.MaildirFS())
}

// The identity property from every source kind into a Maildir.
func TestIdentityIntoMaildir(t *testing.T) {
	t.Parallel()
	sources := []conformance.Store{maildirtest.Maildir(), maildirtest.MaildirFS(), mboxtest.MboxDir(), mboxtest.MboxFile(),
		imaptest.IMAP(t, imapserver.Options{}), imaptest.Dovecot(t, dovecot.Options{}), pop3test.POP3(t)}
	for _, from := range sources {
		t.Run(from.Name, func(t *testing.T) {
			t.Parallel()
			conformance.Identity(t, from, maildirtest.Maildir())
		})
	}
}

// The destination Maildir is replaced by a file in the middle of a run: the
// run stops with a fatal error naming the destination, and what had arrived
// is complete.
func TestFailingDestinationReplacedByFile(t *testing.T) {
	t.Parallel()
	md := maildirtest.Maildir()
	msgs := conformance.FromSample(sample.Generate(120, 6, 3000))
	src := conformance.FillStore(t, md, msgs)
	dst := md.Path(t.TempDir())
	moved := dst + ".moved"
	var copied atomic.Int32
	var swapped atomic.Bool
	progress := transfer.ProgressFunc(func(e transfer.Event) {
		if e.Kind == transfer.EventCopied && copied.Add(1) == 20 && swapped.CompareAndSwap(false, true) {
			if err := os.Rename(dst, moved); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(dst, []byte("not a directory\n"), 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	sum, err := conformance.Copy(md, src, md, dst, "", transfer.Options{Progress: progress})
	if !swapped.Load() {
		t.Fatalf("the run ended before the destination could be replaced: %+v, %v", sum, err)
	}
	conformance.CheckError(t, sum, err, dst, transfer.Fatal)
	if n := conformance.CheckConsistent(t, md, moved, msgs); n < 20 {
		t.Errorf("only %d messages in the moved destination; 20 were reported copied", n)
	}
}

func TestFailingDestinationDiskFullMaildir(t *testing.T) {
	t.Parallel()
	conformance.DiskFull(t, maildirtest.Maildir(), maildirtest.Maildir())
}

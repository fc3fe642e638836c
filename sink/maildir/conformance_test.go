package maildir_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/mailferry/mailferry/internal/conformance"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/sample"
	"github.com/mailferry/mailferry/sink/imap/imaptest"
	"github.com/mailferry/mailferry/sink/maildir"
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

// A data sync that fails in the middle of a run fails its batch: the run
// stops with a Fatal error naming the destination, the state file records
// exactly the messages in cur/ (those of the batch flushed before), and a
// new run copies the rest, each message once.
func TestFailedSyncJournalsNoMessageOfTheBatch(t *testing.T) {
	t.Parallel()
	md := maildirtest.Maildir()
	msgs := conformance.FromSample(sample.Generate(200, 9, 3000))
	src := conformance.FillStore(t, md, msgs)
	dst := md.Path(t.TempDir())
	state := filepath.Join(t.TempDir(), "state")
	failing := md
	failing.NewSink = func(path string) (transfer.Sink, error) {
		s, err := maildir.New(path, maildir.Options{})
		if err == nil {
			maildir.FailDataSync(t, s, 2, errors.New("input/output error"))
		}
		return s, err
	}
	sum, err := conformance.Copy(md, src, failing, dst, state, transfer.Options{})
	conformance.CheckError(t, sum, err, dst, transfer.Fatal)
	j, err := transfer.OpenJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	journaled := j.Len()
	j.Close()
	inCur := 0
	filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && filepath.Base(filepath.Dir(p)) == "cur" {
			inCur++
		}
		return nil
	})
	if journaled == 0 || journaled >= len(msgs) || journaled != inCur || sum.Copied != journaled {
		t.Fatalf("after the failed sync: %d journaled, %d in cur/, %d reported copied of %d; want one batch in all three",
			journaled, inCur, sum.Copied, len(msgs))
	}
	sum, err = conformance.CopyOnce(md, src, md, dst, state)
	if err != nil || sum.Copied != len(msgs)-journaled || sum.Failed != 0 {
		t.Fatalf("the run after: copied %d, failed %d, %v; want the %d not journaled", sum.Copied, sum.Failed, err, len(msgs)-journaled)
	}
	conformance.CheckStore(t, md, dst, msgs, conformance.Expect{})
}

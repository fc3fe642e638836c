package conformance

import (
	"testing"

	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/sink/imap/imaptest"
	"github.com/mailferry/mailferry/sink/maildir/maildirtest"
	"github.com/mailferry/mailferry/sink/mbox/mboxtest"
)

// The crash tests and the campaigns against the binary still run from this
// package: they name the stores they use through these.

// Maildir is maildirtest.Maildir.
func Maildir() Store { return maildirtest.Maildir() }

// MboxDir is mboxtest.MboxDir.
func MboxDir() Store { return mboxtest.MboxDir() }

// IMAP is imaptest.IMAP.
func IMAP(t testing.TB, opts imapserver.Options) Store { return imaptest.IMAP(t, opts) }

// StoreByName returns the store kind a crash test's child copies into.
func StoreByName(name string) (Store, bool) {
	for _, s := range []Store{Maildir(), MboxDir()} {
		if s.Name == name {
			return s, true
		}
	}
	return Store{}, false
}

// fillStore is FillStore.
func fillStore(t *testing.T, s Store, msgs []corpus.Message) string { return FillStore(t, s, msgs) }

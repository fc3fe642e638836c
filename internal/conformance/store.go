package conformance

import (
	"testing"

	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/transfer"
)

// Store describes one kind of mail store the suite can write into and read
// back.
type Store struct {
	// Name is used in test names and journal source keys: "maildir",
	// "mbox-dir", "mbox-file", "imap"…
	Name string
	// Path returns the location of a new, empty store inside the fresh
	// directory dir. For a server store it may return any string its
	// NewSink and OpenSource understand.
	Path func(dir string) string
	// NewSink opens a sink writing to the store at path; nil for a store
	// that is only a source (POP3).
	NewSink func(path string) (transfer.Sink, error)
	// Add, when set, stores msgs in the store at path by the store's own
	// means, for a store without a sink (a POP3 maildrop is the server's).
	// Put uses it in place of NewSink.
	Add func(path string, msgs []corpus.Message) error
	// Respell, when set, returns another spelling of path that names the
	// same store: localhost for 127.0.0.1 (LocalhostSpelling). nil means
	// SymlinkSpelling, for a local store.
	Respell func(t testing.TB, path string) string
	// OpenSource opens a source reading the store at path.
	OpenSource func(path string) (transfer.Source, error)
	// OneFolder is set for stores that hold a single folder (one mbox
	// file); its folder reads back as "INBOX".
	OneFolder bool
	// CRLF is set for network stores (IMAP, POP3): they hold bodies in
	// network form and their sources deliver Message.CRLF = true.
	CRLF bool
	// Body, when set, is the documented change the store makes to the
	// bytes it is given in its own form (Dovecot turns NUL into 0x80 and
	// drops a CR before CRLF); nil means it keeps them.
	Body func([]byte) []byte
	// FolderName, when set, is how the store names a folder it is given
	// (a server whose hierarchy delimiter is "." cannot keep a "." inside a
	// name); nil means unchanged.
	FolderName func(string) string
}

// localStores are the local store kinds compiled into this package, by name
// (see StoreByName).
var localStores []Store

// StoreByName returns the local store kind called name ("maildir",
// "maildir-fs", "mbox-dir", "mbox-file").
func StoreByName(name string) (Store, bool) {
	for _, s := range localStores {
		if s.Name == name {
			return s, true
		}
	}
	return Store{}, false
}

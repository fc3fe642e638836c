// Package kind holds the description of a store kind that the conformance
// suite (internal/conformance) runs on, apart from the suite itself, so
// that the packages describing the stores (sink/maildir/maildirtest and the
// others) need not import the suite: the suite's own tests may then use
// them. Tests only: the mailferry binary does not link it.
package kind

import (
	"os"
	"path/filepath"
	"strings"
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
	// The suite uses it in place of NewSink.
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

// SymlinkSpelling is the other spelling of a local store: a symbolic link to
// path in a new directory.
func SymlinkSpelling(t testing.TB, path string) string {
	link := filepath.Join(t.TempDir(), "link-"+filepath.Base(path))
	if err := os.Symlink(path, link); err != nil {
		t.Fatalf("another spelling of %s: %v", path, err)
	}
	return link
}

// LocalhostSpelling is the other spelling of a server at 127.0.0.1:PORT:
// localhost:PORT.
func LocalhostSpelling(t testing.TB, addr string) string {
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("address %q is not on 127.0.0.1", addr)
	}
	return "localhost:" + strings.TrimPrefix(addr, "127.0.0.1:")
}
